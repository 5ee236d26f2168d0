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

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    Ok(())
}

fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join(META_FILE);
    let text = match std::fs::read(&path) {
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

fn open_sealed(
    dir: &Path,
    passphrase_bytes: &[u8],
) -> Result<(String, Zeroizing<[u8; 32]>, Es256KeyPair)> {
    let meta = read_meta(dir)?;
    let path = dir.join(SEALED_KEYS_FILE);
    let sealed = std::fs::read(&path).map_err(io_err(&path))?;
    let plain = passphrase::open(passphrase_bytes, &sealed).map_err(|e| match e {
        spondon_keystore::KeyStoreError::WrongPassphrase => WalletError::WrongPassphrase,
        spondon_keystore::KeyStoreError::Corrupt(r) => WalletError::Corrupt {
            file: path.display().to_string(),
            reason: r,
        },
        other => WalletError::KeyStore(other),
    })?;
    let keys: SealedKeys = serde_json::from_slice(&plain).map_err(|e| WalletError::Corrupt {
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
}

fn seal_keys(
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
    Ok(passphrase::seal(passphrase_bytes, &json)?)
}

fn check_passphrase(p: &[u8]) -> Result<()> {
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
        if dir.join(META_FILE).exists() || dir.join(DB_FILE).exists() {
            return Err(WalletError::AlreadyExists(dir.display().to_string()));
        }
        let data_key = Zeroizing::new(random::<32>()?);
        let signing = Es256KeyPair::generate()?;
        Self::install(dir, keystore, passphrase_bytes, data_key, signing, None).await
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
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err(dir))?;
        }
        let id = match id {
            Some(i) => i,
            None => hex::encode(random::<16>()?),
        };
        let sealed = seal_keys(&id, &data_key, &signing, passphrase_bytes)?;
        keystore.put(&item(&id, "data-key"), &data_key[..])?;
        keystore.put(&item(&id, "signing-key"), &signing.to_pkcs8())?;
        write_private(&dir.join(SEALED_KEYS_FILE), &sealed)?;
        let store = Store::open(&dir.join(DB_FILE), CacheKeys::new(&data_key)?, true).await?;
        let meta = serde_json::to_vec_pretty(&Meta {
            format: 1,
            wallet_id: id.clone(),
        })
        .map_err(|e| WalletError::Internal(e.to_string()))?;
        write_private(&dir.join(META_FILE), &meta)?;
        Ok(Wallet {
            dir: dir.to_owned(),
            id,
            store,
            signing: Arc::new(signing),
            keystore,
            net: PeerClient::new()?,
        })
    }

    /// Opens a wallet whose keys are in `keystore` (after [`Wallet::unlock`] or create).
    pub async fn open(dir: &Path, keystore: Arc<dyn KeyStore>) -> Result<Wallet> {
        let meta = read_meta(dir)?;
        let dk = keystore.get(&item(&meta.wallet_id, "data-key"))?;
        let sk = keystore.get(&item(&meta.wallet_id, "signing-key"))?;
        let (Some(dk), Some(sk)) = (dk, sk) else {
            return Err(WalletError::Locked(keystore.describe()));
        };
        let (dk, signing) = parse_keys(&meta.wallet_id, &dk, &sk)?;
        let dk = Zeroizing::new(dk);
        let store = Store::open(&dir.join(DB_FILE), CacheKeys::new(&dk)?, false).await?;
        Ok(Wallet {
            dir: dir.to_owned(),
            id: meta.wallet_id,
            store,
            signing: Arc::new(signing),
            keystore,
            net: PeerClient::new()?,
        })
    }

    /// Opens the sealed keys with the passphrase, puts them into `keystore`, and opens the wallet.
    pub async fn unlock(
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        passphrase_bytes: &[u8],
    ) -> Result<Wallet> {
        let (id, dk, signing) = open_sealed(dir, passphrase_bytes)?;
        keystore.put(&item(&id, "data-key"), &dk[..])?;
        keystore.put(&item(&id, "signing-key"), &signing.to_pkcs8())?;
        Self::open(dir, keystore).await
    }

    /// Removes the keys from the key store and closes the wallet; the passphrase is needed to
    /// open it again.
    pub async fn lock(self) -> Result<()> {
        self.store.close().await;
        self.keystore.delete(&item(&self.id, "data-key"))?;
        self.keystore.delete(&item(&self.id, "signing-key"))?;
        Ok(())
    }

    /// Closes the wallet (keys stay in the key store).
    pub async fn close(self) {
        self.store.close().await;
    }

    /// Checks the passphrase again and returns a short-lived [`Authorization`].
    pub fn authorize(&self, passphrase_bytes: &[u8]) -> Result<Authorization> {
        let (id, _, _) = open_sealed(&self.dir, passphrase_bytes)?;
        if id != self.id {
            return Err(WalletError::WrongPassphrase);
        }
        Ok(Authorization {
            wallet_id: id,
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
    pub fn change_passphrase(&self, old: &[u8], new: &[u8]) -> Result<()> {
        check_passphrase(new)?;
        let (id, dk, signing) = open_sealed(&self.dir, old)?;
        let sealed = seal_keys(&id, &dk, &signing, new)?;
        write_private(&self.dir.join(SEALED_KEYS_FILE), &sealed)
    }

    /// The wallet's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The patient's public key (bound at enrollment, signs grants and revocations).
    pub fn public_key(&self) -> &Es256PublicKey {
        self.signing.public_key()
    }

    /// Transport addresses for peer URLs (e.g. `https://dmch.example` → `http://127.0.0.1:8400`
    /// when a local peer runs behind no TLS proxy). Signatures still name the peer URL.
    pub fn set_endpoints(&mut self, endpoints: BTreeMap<String, String>) {
        self.net.endpoints = endpoints;
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
            .map_err(|e| WalletError::TrustList(e.to_string()))?;
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
            .map_err(|e| WalletError::TrustList(e.to_string()))
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
