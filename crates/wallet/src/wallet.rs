//! Wallet lifecycle: create, unlock/open, lock, change passphrase, authorization, trust list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, Jwk};
use spondon_core::token::TrustList;
use spondon_keystore::{KeyStore, passphrase};
use zeroize::Zeroizing;

use crate::crypto::{CacheKeys, random};
use crate::error::{Result, WalletError, io_err};
use crate::net::PeerClient;
use crate::store::{Store, Table};

/// The wallet directory's plain (non-secret) description.
pub const META_FILE: &str = "wallet.json";
/// The data key and signing key, sealed with the passphrase (Argon2id + AES-256-GCM).
pub const SEALED_KEYS_FILE: &str = "keys.sealed";
/// The encrypted cache.
pub const DB_FILE: &str = "wallet.db";
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE: usize = 8;
/// How long an [`Authorization`] lasts.
pub const AUTHORIZATION_LIFETIME: Duration = Duration::from_secs(120);

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format: u32,
    wallet_id: String,
}

#[derive(Serialize, Deserialize)]
struct SealedKeys {
    v: u32,
    wallet_id: String,
    /// base64url data key (32 bytes).
    data_key: String,
    /// base64url PKCS#8 DER of the patient's ES256 key.
    signing_key: String,
}

const ENDPOINTS_SETTING: &str = "endpoints";

/// Transport addresses of peers: `https://dmch.example` → `http://127.0.0.1:8400` (a local peer
/// behind no TLS proxy). Requests are still signed for the peer URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints(pub BTreeMap<String, String>);

impl Endpoints {
    /// Parses `PEER_URL=BASE_URL` items (the CLI's `--endpoint`, the app's
    /// `SPONDON_PEER_ENDPOINTS`, comma-separated there). Empty items are skipped.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self> {
        let mut m = BTreeMap::new();
        for item in items {
            let item = item.as_ref().trim();
            if item.is_empty() {
                continue;
            }
            let (k, v) = item.split_once('=').ok_or_else(|| {
                WalletError::BadSetting(format!("endpoint {item:?}: expected PEER_URL=BASE_URL"))
            })?;
            let (k, v) = (k.trim(), v.trim().trim_end_matches('/'));
            for u in [k, v] {
                if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 256 {
                    return Err(WalletError::BadSetting(format!(
                        "endpoint {item:?}: {u:?} is not an http(s) URL"
                    )));
                }
            }
            m.insert(k.to_owned(), v.to_owned());
        }
        Ok(Self(m))
    }

    /// Parses a comma-separated list.
    pub fn parse_list(text: &str) -> Result<Self> {
        Self::parse(&text.split(',').collect::<Vec<_>>())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Proof that the user gave the passphrase again just now. Creating grants, revoking and
/// exporting require one ([`Wallet::authorize`]); it expires after [`AUTHORIZATION_LIFETIME`].
#[derive(Debug)]
pub struct Authorization {
    wallet_id: String,
    until: Instant,
}

/// The pinned consortium trust list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TrustSettings {
    pub root_key: Jwk,
    pub trust_list: String,
    pub sequence: u64,
}

/// An open (unlocked) wallet.
pub struct Wallet {
    pub(crate) dir: PathBuf,
    pub(crate) id: String,
    pub(crate) store: Store,
    pub(crate) signing: Arc<Es256KeyPair>,
    pub(crate) keystore: Arc<dyn KeyStore>,
    pub(crate) net: PeerClient,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("dir", &self.dir)
            .field("keystore", &self.keystore.describe())
            .finish_non_exhaustive()
    }
}

fn item(id: &str, what: &str) -> String {
    format!("spondon-wallet:{id}:{what}")
}

/// Key-store calls may block (the OS keychain talks D-Bus, Keychain Services …): they run on the
/// blocking pool.
pub(crate) async fn ks_put(
    store: &Arc<dyn KeyStore>,
    id: &str,
    items: Vec<(&str, Zeroizing<Vec<u8>>)>,
) -> Result<()> {
    let store = store.clone();
    let items: Vec<(String, Zeroizing<Vec<u8>>)> = items
        .into_iter()
        .map(|(what, v)| (item(id, what), v))
        .collect();
    blocking(move || {
        for (name, v) in &items {
            store.put(name, v)?;
        }
        Ok(())
    })
    .await
}

async fn ks_get(
    store: &Arc<dyn KeyStore>,
    id: &str,
    what: &'static [&'static str],
) -> Result<Vec<Option<spondon_keystore::Secret>>> {
    let store = store.clone();
    let names: Vec<String> = what.iter().map(|w| item(id, w)).collect();
    blocking(move || names.iter().map(|n| Ok(store.get(n)?)).collect()).await
}

async fn ks_delete(store: &Arc<dyn KeyStore>, id: &str) -> Result<()> {
    let store = store.clone();
    let names = [item(id, "data-key"), item(id, "signing-key")];
    blocking(move || {
        for n in &names {
            store.delete(n)?;
        }
        Ok(())
    })
    .await
}

/// Runs CPU-heavy or blocking work (Argon2id, file writes) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WalletError::Internal(format!("background task failed: {e}")))?
}

/// Writes `bytes` to `path` atomically with mode 0600 ([`spondon_fs::write_private`]:
/// temporary file, fsync, rename, directory fsync), off the executor. Every file the wallet, its
/// CLI or the app writes with health data or keys in it (backups, exports, grant QR images) goes
/// through here.
pub async fn write_private(path: &Path, bytes: Vec<u8>) -> Result<()> {
    let path = path.to_owned();
    blocking(move || Ok(spondon_fs::write_private(&path, &bytes)?)).await
}

async fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join(META_FILE);
    let text = match tokio::fs::read(&path).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WalletError::NoWallet(dir.display().to_string()));
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    let meta: Meta = serde_json::from_slice(&text).map_err(|e| WalletError::Corrupt {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if meta.format != 1
        || meta.wallet_id.len() != 32
        || !meta.wallet_id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(WalletError::Corrupt {
            file: path.display().to_string(),
            reason: "unknown format or wallet id".into(),
        });
    }
    Ok(meta)
}

/// Whether `dir` holds a wallet (its description file exists).
pub async fn exists(dir: &Path) -> Result<bool> {
    let path = dir.join(META_FILE);
    tokio::fs::try_exists(&path).await.map_err(io_err(&path))
}

fn parse_keys(id: &str, data_key: &[u8], signing: &[u8]) -> Result<([u8; 32], Es256KeyPair)> {
    let dk: [u8; 32] = data_key.try_into().map_err(|_| WalletError::Corrupt {
        file: "key store".into(),
        reason: format!("the data key of wallet {id} has the wrong length"),
    })?;
    let key = Es256KeyPair::from_pkcs8(signing).map_err(|e| WalletError::Corrupt {
        file: "key store".into(),
        reason: format!("the signing key of wallet {id} is not readable: {e}"),
    })?;
    Ok((dk, key))
}

/// Opens `keys.sealed` with the passphrase (Argon2id runs on a blocking thread).
pub(crate) async fn open_sealed(
    dir: &Path,
    passphrase_bytes: &[u8],
) -> Result<(String, Zeroizing<[u8; 32]>, Es256KeyPair)> {
    let meta = read_meta(dir).await?;
    let path = dir.join(SEALED_KEYS_FILE);
    let sealed = tokio::fs::read(&path).await.map_err(io_err(&path))?;
    let pass = Zeroizing::new(passphrase_bytes.to_vec());
    blocking(move || {
        let plain = passphrase::open(&pass, &sealed).map_err(|e| match e {
            spondon_keystore::KeyStoreError::WrongPassphrase => WalletError::WrongPassphrase,
            spondon_keystore::KeyStoreError::Corrupt(r) => WalletError::Corrupt {
                file: path.display().to_string(),
                reason: r,
            },
            other => WalletError::KeyStore(other),
        })?;
        let keys: SealedKeys =
            serde_json::from_slice(&plain).map_err(|e| WalletError::Corrupt {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if keys.wallet_id != meta.wallet_id {
            return Err(WalletError::Corrupt {
                file: path.display().to_string(),
                reason: "the sealed keys belong to another wallet".into(),
            });
        }
        let dk = Zeroizing::new(spondon_core::b64::decode(&keys.data_key).unwrap_or_default());
        let sk = Zeroizing::new(spondon_core::b64::decode(&keys.signing_key).unwrap_or_default());
        let (dk, key) = parse_keys(&meta.wallet_id, &dk, &sk)?;
        Ok((meta.wallet_id, Zeroizing::new(dk), key))
    })
    .await
}

/// Seals the keys under the passphrase (Argon2id runs on a blocking thread).
pub(crate) async fn seal_keys(
    id: &str,
    data_key: &[u8; 32],
    signing: &Es256KeyPair,
    passphrase_bytes: &[u8],
) -> Result<Vec<u8>> {
    let keys = SealedKeys {
        v: 1,
        wallet_id: id.to_owned(),
        data_key: spondon_core::b64::encode(data_key),
        signing_key: spondon_core::b64::encode(&signing.to_pkcs8()[..]),
    };
    let json = Zeroizing::new(
        serde_json::to_vec(&keys).map_err(|e| WalletError::Internal(e.to_string()))?,
    );
    let pass = Zeroizing::new(passphrase_bytes.to_vec());
    blocking(move || Ok(passphrase::seal(&pass, &json)?)).await
}

/// Refuses a passphrase shorter than [`MIN_PASSPHRASE`] characters.
pub fn check_passphrase(p: &[u8]) -> Result<()> {
    if std::str::from_utf8(p)
        .map(|s| s.chars().count())
        .unwrap_or(p.len())
        < MIN_PASSPHRASE
    {
        return Err(WalletError::WeakPassphrase(MIN_PASSPHRASE));
    }
    Ok(())
}

impl Wallet {
    /// Creates a new wallet in `dir` (created, mode 0700): a random data key and a new ES256
    /// signing key, kept in `keystore` and sealed with `passphrase` in `keys.sealed`.
    pub async fn create(
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        passphrase_bytes: &[u8],
    ) -> Result<Wallet> {
        check_passphrase(passphrase_bytes)?;
        let taken = |f: &str| {
            let p = dir.join(f);
            async move { tokio::fs::try_exists(&p).await.unwrap_or(true) }
        };
        if taken(META_FILE).await || taken(DB_FILE).await {
            return Err(WalletError::AlreadyExists(dir.display().to_string()));
        }
        let data_key = Zeroizing::new(random::<32>()?);
        let signing = Es256KeyPair::generate()?;
        Self::install(dir, keystore, passphrase_bytes, data_key, signing, None).await
    }

    /// Creates a new wallet and pins the consortium trust list (verified with `root_key`) and,
    /// if given, the issuer directory for imported cards. When any step fails the half-created
    /// wallet is removed again (files and key-store items): the directory is as it was.
    pub async fn create_with_trust_list(
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        passphrase_bytes: &[u8],
        trust_list: &str,
        root_key: &Jwk,
        issuer_directory: Option<&str>,
    ) -> Result<(Wallet, TrustList)> {
        // Check the list before anything is written (the wallet re-checks it when pinning).
        let root = Es256PublicKey::from_jwk(root_key)
            .map_err(|e| WalletError::TrustList(format!("root key: {e}")))?;
        TrustList::decode_and_verify(trust_list.trim(), &root, 0, NumericDate::now())
            .map_err(trust_list_error)?;
        let w = Self::create(dir, keystore, passphrase_bytes).await?;
        let pinned = async {
            let list = w.set_trust_list(trust_list, root_key).await?;
            if let Some(d) = issuer_directory {
                w.set_issuer_directory(d).await?;
            }
            Ok::<_, WalletError>(list)
        }
        .await;
        match pinned {
            Ok(list) => Ok((w, list)),
            Err(e) => {
                w.discard().await;
                Err(e)
            }
        }
    }

    /// Removes this wallet entirely (a half-created one): its key-store items and its files.
    /// Best effort: errors are ignored, as the caller is already reporting one.
    pub(crate) async fn discard(self) {
        let dir = self.dir.clone();
        self.lock().await.ok();
        for f in [
            META_FILE,
            SEALED_KEYS_FILE,
            DB_FILE,
            "wallet.db-wal",
            "wallet.db-shm",
            "wallet.db-journal",
        ] {
            let _ = tokio::fs::remove_file(dir.join(f)).await;
        }
    }

    /// Lays out a wallet directory with the given keys (new wallet or restore).
    pub(crate) async fn install(
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        passphrase_bytes: &[u8],
        data_key: Zeroizing<[u8; 32]>,
        signing: Es256KeyPair,
        id: Option<String>,
    ) -> Result<Wallet> {
        tokio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .await
                .map_err(io_err(dir))?;
        }
        let id = match id {
            Some(i) => i,
            None => hex::encode(random::<16>()?),
        };
        let sealed = seal_keys(&id, &data_key, &signing, passphrase_bytes).await?;
        ks_put(
            &keystore,
            &id,
            vec![
                ("data-key", Zeroizing::new(data_key.to_vec())),
                ("signing-key", signing.to_pkcs8()),
            ],
        )
        .await?;
        write_private(&dir.join(SEALED_KEYS_FILE), sealed).await?;
        let store = Store::open(&dir.join(DB_FILE), CacheKeys::new(&data_key)?, true).await?;
        let meta = serde_json::to_vec_pretty(&Meta {
            format: 1,
            wallet_id: id.clone(),
        })
        .map_err(|e| WalletError::Internal(e.to_string()))?;
        write_private(&dir.join(META_FILE), meta).await?;
        Ok(Wallet {
            dir: dir.to_owned(),
            id,
            store,
            signing: Arc::new(signing),
            keystore,
            net: PeerClient::new(&[])?,
        })
    }

    /// Opens a wallet whose keys are in `keystore` (after [`Wallet::unlock`] or create).
    pub async fn open(dir: &Path, keystore: Arc<dyn KeyStore>) -> Result<Wallet> {
        let meta = read_meta(dir).await?;
        let mut got = ks_get(&keystore, &meta.wallet_id, &["data-key", "signing-key"])
            .await?
            .into_iter();
        let (Some(Some(dk)), Some(Some(sk))) = (got.next(), got.next()) else {
            return Err(WalletError::Locked(keystore.describe()));
        };
        let (dk, signing) = parse_keys(&meta.wallet_id, &dk, &sk)?;
        let dk = Zeroizing::new(dk);
        let store = Store::open(&dir.join(DB_FILE), CacheKeys::new(&dk)?, false).await?;
        let mut net = PeerClient::new(&[])?;
        if let Some(saved) = store
            .get::<BTreeMap<String, String>>(Table::Settings, ENDPOINTS_SETTING)
            .await?
        {
            net.endpoints = saved;
        }
        Ok(Wallet {
            dir: dir.to_owned(),
            id: meta.wallet_id,
            store,
            signing: Arc::new(signing),
            keystore,
            net,
        })
    }

    /// Opens the wallet the way a front end does: from `keychain` when its keys are there (the
    /// user unlocked it into the OS keychain), else with the passphrase `ask` gives, into a
    /// process-memory key store (nothing is written to the keychain). `ask` is called only when
    /// the passphrase is needed.
    pub async fn open_with<E: From<WalletError>>(
        dir: &Path,
        keychain: Option<Arc<dyn KeyStore>>,
        ask: impl FnOnce() -> std::result::Result<Zeroizing<Vec<u8>>, E>,
    ) -> std::result::Result<Wallet, E> {
        if !exists(dir).await? {
            return Err(WalletError::NoWallet(dir.display().to_string()).into());
        }
        if let Some(k) = keychain {
            match Wallet::open(dir, k).await {
                Ok(w) => return Ok(w),
                Err(WalletError::Locked(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let pass = ask()?;
        Ok(Wallet::unlock(
            dir,
            Arc::new(spondon_keystore::MemoryKeyStore::new()),
            &pass,
        )
        .await?)
    }

    /// Opens the sealed keys with the passphrase, puts them into `keystore`, and opens the wallet.
    pub async fn unlock(
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        passphrase_bytes: &[u8],
    ) -> Result<Wallet> {
        let (id, dk, signing) = open_sealed(dir, passphrase_bytes).await?;
        ks_put(
            &keystore,
            &id,
            vec![
                ("data-key", Zeroizing::new(dk.to_vec())),
                ("signing-key", signing.to_pkcs8()),
            ],
        )
        .await?;
        Self::open(dir, keystore).await
    }

    /// Removes the keys from the key store and closes the wallet; the passphrase is needed to
    /// open it again.
    pub async fn lock(self) -> Result<()> {
        self.store.close().await;
        ks_delete(&self.keystore, &self.id).await?;
        Ok(())
    }

    /// Closes the wallet (keys stay in the key store).
    pub async fn close(self) {
        self.store.close().await;
    }

    /// Checks the passphrase again and returns a short-lived [`Authorization`].
    pub async fn authorize(&self, passphrase_bytes: &[u8]) -> Result<Authorization> {
        let (id, _, _) = open_sealed(&self.dir, passphrase_bytes).await?;
        if id != self.id {
            return Err(WalletError::WrongPassphrase);
        }
        Ok(Authorization {
            wallet_id: id,
            until: Instant::now() + AUTHORIZATION_LIFETIME,
        })
    }

    /// A short-lived [`Authorization`] vouched for by the operating system instead of the
    /// passphrase: call it only right after the platform verified the user (a phone's
    /// biometric prompt, run by the app's shell, never by the page). Refused unless this
    /// wallet's key is in the platform keystore (a passphrase-only wallet needs its passphrase).
    #[cfg(feature = "platform-auth")]
    pub async fn authorize_by_platform(&self) -> Result<Authorization> {
        if !Wallet::keys_in(&self.dir, &self.keystore).await? {
            return Err(WalletError::AuthorizationRequired);
        }
        Ok(Authorization {
            wallet_id: self.id.clone(),
            until: Instant::now() + AUTHORIZATION_LIFETIME,
        })
    }

    pub(crate) fn check_auth(&self, auth: &Authorization) -> Result<()> {
        if auth.wallet_id != self.id || Instant::now() > auth.until {
            return Err(WalletError::AuthorizationRequired);
        }
        Ok(())
    }

    /// Re-seals the keys under a new passphrase (the old one must be right).
    pub async fn change_passphrase(&self, old: &[u8], new: &[u8]) -> Result<()> {
        check_passphrase(new)?;
        let (id, dk, signing) = open_sealed(&self.dir, old).await?;
        let sealed = seal_keys(&id, &dk, &signing, new).await?;
        write_private(&self.dir.join(SEALED_KEYS_FILE), sealed).await
    }

    /// The wallet's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The patient's public key (bound at enrollment, signs grants and revocations).
    pub fn public_key(&self) -> &Es256PublicKey {
        self.signing.public_key()
    }

    /// Whether this wallet's keys are in `keystore` now (e.g. kept in the OS keychain), without
    /// opening it.
    pub async fn keys_in(dir: &Path, keystore: &Arc<dyn KeyStore>) -> Result<bool> {
        let meta = read_meta(dir).await?;
        let got = ks_get(keystore, &meta.wallet_id, &["data-key"]).await?;
        Ok(got.into_iter().next().flatten().is_some())
    }

    /// Sets the transport addresses and keeps them in the wallet, so that later opens use them.
    pub async fn save_endpoints(&mut self, endpoints: &Endpoints) -> Result<()> {
        self.store
            .put(Table::Settings, ENDPOINTS_SETTING, &endpoints.0)
            .await?;
        self.net.endpoints = endpoints.0.clone();
        Ok(())
    }

    /// The transport addresses in use.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints(self.net.endpoints.clone())
    }

    /// Transport addresses for peer URLs (e.g. `https://dmch.example` → `http://127.0.0.1:8400`
    /// when a local peer runs behind no TLS proxy). Signatures still name the peer URL.
    pub fn set_endpoints(&mut self, endpoints: BTreeMap<String, String>) {
        self.net.endpoints = endpoints;
    }

    /// Also trusts these CAs (PEM files) for HTTPS to peers, besides Mozilla's roots: a
    /// hospital network's private CA, or a test CA. Refused (`invalid`) if a file is unreadable
    /// or holds no certificate.
    pub fn set_ca_files(&mut self, files: &[std::path::PathBuf]) -> Result<()> {
        let endpoints = std::mem::take(&mut self.net.endpoints);
        self.net = PeerClient::new(files)?;
        self.net.endpoints = endpoints;
        Ok(())
    }

    /// Installs (or updates) the consortium trust list, verified with `root_key` (pinned at the
    /// first install; a later list must be signed by the same key and not be older).
    pub async fn set_trust_list(&self, text: &str, root_key: &Jwk) -> Result<TrustList> {
        let root = Es256PublicKey::from_jwk(root_key)
            .map_err(|e| WalletError::TrustList(format!("root key: {e}")))?;
        let old: Option<TrustSettings> = self.store.get(Table::Settings, "trust").await?;
        let min = match &old {
            Some(o) => {
                let pinned = Es256PublicKey::from_jwk(&o.root_key)
                    .map_err(|e| WalletError::Internal(e.to_string()))?;
                if pinned != root {
                    return Err(WalletError::TrustList(
                        "signed by a different root key than the pinned one".into(),
                    ));
                }
                o.sequence
            }
            None => 0,
        };
        let list = TrustList::decode_and_verify(text.trim(), &root, min, NumericDate::now())
            .map_err(trust_list_error)?;
        self.store
            .put(
                Table::Settings,
                "trust",
                &TrustSettings {
                    root_key: root.to_jwk(),
                    trust_list: text.trim().to_owned(),
                    sequence: list.sequence,
                },
            )
            .await?;
        Ok(list)
    }

    /// Installs a newer trust list signed by the pinned root key.
    pub async fn update_trust_list(&self, text: &str) -> Result<TrustList> {
        let t: TrustSettings = self
            .store
            .get(Table::Settings, "trust")
            .await?
            .ok_or(WalletError::NoTrustList)?;
        self.set_trust_list(text, &t.root_key).await
    }

    /// The pinned root key.
    pub(crate) async fn trust_root(&self) -> Result<Es256PublicKey> {
        let t: TrustSettings = self
            .store
            .get(Table::Settings, "trust")
            .await?
            .ok_or(WalletError::NoTrustList)?;
        Es256PublicKey::from_jwk(&t.root_key).map_err(|e| WalletError::TrustList(e.to_string()))
    }

    /// The pinned trust list, re-verified now.
    pub async fn trust_list(&self) -> Result<TrustList> {
        let t: TrustSettings = self
            .store
            .get(Table::Settings, "trust")
            .await?
            .ok_or(WalletError::NoTrustList)?;
        let root = Es256PublicKey::from_jwk(&t.root_key)
            .map_err(|e| WalletError::TrustList(e.to_string()))?;
        TrustList::decode_and_verify(&t.trust_list, &root, t.sequence, NumericDate::now())
            .map_err(trust_list_error)
    }

    /// Row counts per table (for `spondon status`).
    pub async fn counts(&self) -> Result<BTreeMap<&'static str, u64>> {
        let mut m = BTreeMap::new();
        for t in Table::ALL {
            m.insert(t.name(), self.store.count(t).await?);
        }
        Ok(m)
    }
}

/// Why a trust list was refused, in words: a list signed by another key than the given root key
/// says so (the usual mistake is a root key file from another authority or test setup).
fn trust_list_error(e: spondon_core::TokenError) -> WalletError {
    use spondon_core::TokenError as T;
    match e {
        T::KidMismatch | T::BadSignature | T::UnknownSigningKey(_) => WalletError::TrustList(
            "the root key does not match: the trust list is not signed by this root key".into(),
        ),
        other => WalletError::TrustList(other.to_string()),
    }
}
