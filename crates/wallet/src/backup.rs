//! Encrypted backup and restore.
//!
//! File: `SPNDBKP1` ‖ u32 BE n ‖ n bytes `passphrase::seal(passphrase, backup key)` ‖
//! AES-256-GCM(backup key, JSON of keys and every table; AAD = everything before it).
//! The random backup key keeps the (possibly large) body out of the passphrase sealer's size limit.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use spondon_core::keys::Es256KeyPair;
use spondon_keystore::{KeyStore, passphrase};
use zeroize::Zeroizing;

use crate::crypto::{open_blob, random, seal_blob};
use crate::error::{Result, WalletError, io_err};
use crate::progress::{OnProgress, Progress, Step};
use crate::store::Table;
use crate::wallet::{Authorization, Wallet, blocking, write_private};

const MAGIC: &[u8; 8] = b"SPNDBKP1";
/// Largest backup file read.
pub const MAX_BACKUP: u64 = 1 << 30;

#[derive(Serialize, Deserialize)]
struct Body {
    v: u32,
    signing_key: String,
    settings: Vec<(String, Value)>,
    peers: Vec<Value>,
    records: Vec<Value>,
    grants: Vec<Value>,
    receipts: Vec<Value>,
    doctors: Vec<Value>,
    alerts: Vec<Value>,
}

/// What a restore brought back.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    /// How many enrolled peers (with their sync state) were restored.
    pub peers: usize,
    /// How many records were restored.
    pub records: usize,
    /// How many grants were restored.
    pub grants: usize,
    /// How many access receipts were restored.
    pub receipts: usize,
}

fn corrupt(path: &Path, reason: &str) -> WalletError {
    WalletError::Corrupt {
        file: path.display().to_string(),
        reason: reason.to_owned(),
    }
}

fn key_of(table: Table, v: &Value) -> Option<String> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match table {
        Table::Peers => s("url"),
        Table::Records | Table::Receipts => s("key"),
        Table::Grants => s("id"),
        Table::Doctors => s("kid"),
        Table::Alerts => Some(format!(
            "{}\u{0}{}\u{0}{}",
            s("peer")?,
            v.get("at")?.as_i64()?,
            hex::encode(random::<8>().ok()?)
        )),
        Table::Settings | Table::Files => None,
    }
}

impl Wallet {
    /// Writes an encrypted backup of keys, records, grants, receipts and checkpoints to `path`,
    /// sealed with `backup_passphrase`. Needs a fresh [`Authorization`].
    pub async fn backup(
        &self,
        auth: &Authorization,
        path: &Path,
        backup_passphrase: &[u8],
    ) -> Result<()> {
        self.check_auth(auth)?;
        let mut settings = Vec::new();
        for name in ["trust", "directory", "emergency_policy"] {
            if let Some(v) = self.store.get::<Value>(Table::Settings, name).await? {
                settings.push((name.to_owned(), v));
            }
        }
        let body = Body {
            v: 1,
            signing_key: spondon_core::b64::encode(&self.signing.to_pkcs8()[..]),
            settings,
            peers: self.store.dump(Table::Peers).await?,
            records: self.store.dump(Table::Records).await?,
            grants: self.store.dump(Table::Grants).await?,
            receipts: self.store.dump(Table::Receipts).await?,
            doctors: self.store.dump(Table::Doctors).await?,
            alerts: self.store.dump(Table::Alerts).await?,
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&body).map_err(|e| WalletError::Internal(e.to_string()))?,
        );
        let key = Zeroizing::new(random::<32>()?);
        let sealed_key = {
            let pass = Zeroizing::new(backup_passphrase.to_vec());
            let key = key.clone();
            blocking(move || Ok(passphrase::seal(&pass, &key[..])?)).await?
        };
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(
            &u32::try_from(sealed_key.len())
                .map_err(|_| WalletError::Internal("sealed key size".into()))?
                .to_be_bytes(),
        );
        out.extend_from_slice(&sealed_key);
        let blob = seal_blob(&key, &out, &json)?;
        out.extend_from_slice(&blob);
        write_private(path, out).await
    }

    /// The checks of [`Wallet::restore`] that need no passphrase: the file is readable and is a
    /// Spondon backup of a plausible size, and `dir` holds no wallet yet. Callers run it before
    /// asking for passphrases, so that a wrong path fails at once.
    pub async fn check_restore(backup: &Path, dir: &Path) -> Result<()> {
        let meta = tokio::fs::metadata(backup).await.map_err(io_err(backup))?;
        if meta.len() > MAX_BACKUP {
            return Err(corrupt(backup, "larger than any backup"));
        }
        let mut head = [0u8; 12];
        let mut f = tokio::fs::File::open(backup)
            .await
            .map_err(io_err(backup))?;
        use tokio::io::AsyncReadExt as _;
        match f.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(corrupt(backup, "not a Spondon backup file"));
            }
            Err(e) => return Err(io_err(backup)(e)),
        }
        if &head[..8] != MAGIC {
            return Err(corrupt(backup, "not a Spondon backup file"));
        }
        if crate::wallet::exists(dir).await? {
            return Err(WalletError::AlreadyExists(dir.display().to_string()));
        }
        Ok(())
    }

    /// Restores a backup into a fresh directory, with a new data key and `new_passphrase`.
    pub async fn restore(
        backup: &Path,
        backup_passphrase: &[u8],
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        new_passphrase: &[u8],
    ) -> Result<(Wallet, RestoreSummary)> {
        let meta = tokio::fs::metadata(backup).await.map_err(io_err(backup))?;
        if meta.len() > MAX_BACKUP {
            return Err(corrupt(backup, "larger than any backup"));
        }
        let bytes = tokio::fs::read(backup).await.map_err(io_err(backup))?;
        Self::restore_bytes(
            bytes,
            backup,
            backup_passphrase,
            dir,
            keystore,
            new_passphrase,
            &crate::progress::ignore,
        )
        .await
    }

    /// Restores a backup given as bytes (`name` is how errors call it), reporting progress.
    /// Nothing is left in `dir` when it fails.
    pub async fn restore_bytes(
        bytes: Vec<u8>,
        name: &Path,
        backup_passphrase: &[u8],
        dir: &Path,
        keystore: Arc<dyn KeyStore>,
        new_passphrase: &[u8],
        progress: OnProgress<'_>,
    ) -> Result<(Wallet, RestoreSummary)> {
        let backup = name;
        crate::wallet::check_passphrase(new_passphrase)?;
        if bytes.len() as u64 > MAX_BACKUP {
            return Err(corrupt(backup, "larger than any backup"));
        }
        if crate::wallet::exists(dir).await? {
            return Err(WalletError::AlreadyExists(dir.display().to_string()));
        }
        progress(Progress::new(Step::CheckingPassphrase, 0, 4));
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(corrupt(backup, "not a Spondon backup file"));
        }
        let n = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        let Some(end) = 12usize.checked_add(n).filter(|e| *e <= bytes.len()) else {
            return Err(corrupt(backup, "truncated"));
        };
        let sealed = bytes[12..end].to_vec();
        let pass = Zeroizing::new(backup_passphrase.to_vec());
        let path = backup.to_owned();
        let key = blocking(move || {
            passphrase::open(&pass, &sealed).map_err(|e| match e {
                spondon_keystore::KeyStoreError::WrongPassphrase => WalletError::WrongPassphrase,
                spondon_keystore::KeyStoreError::Corrupt(r) => corrupt(&path, &r),
                other => WalletError::KeyStore(other),
            })
        })
        .await?;
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(backup, "bad backup key"))?;
        let key = Zeroizing::new(key);
        progress(Progress::new(Step::Decrypting, 1, 4));
        let json = open_blob(&key, &bytes[..end], &bytes[end..])
            .ok_or_else(|| corrupt(backup, "the contents do not decrypt (damaged)"))?;
        let body: Body =
            serde_json::from_slice(&json).map_err(|e| corrupt(backup, &e.to_string()))?;
        if body.v != 1 {
            return Err(corrupt(backup, "unknown backup version"));
        }
        let pk = Zeroizing::new(
            spondon_core::b64::decode(&body.signing_key)
                .map_err(|_| corrupt(backup, "signing key"))?,
        );
        let signing = Es256KeyPair::from_pkcs8(&pk).map_err(|_| corrupt(backup, "signing key"))?;
        progress(Progress::new(Step::Saving, 2, 4));
        let data_key = Zeroizing::new(random::<32>()?);
        let wallet =
            Wallet::install(dir, keystore, new_passphrase, data_key, signing, None).await?;
        match Self::restore_rows(&wallet, &body, backup).await {
            Ok(()) => {}
            Err(e) => {
                wallet.discard().await;
                return Err(e);
            }
        }
        progress(Progress::new(Step::Done, 4, 4));
        Ok((
            wallet,
            RestoreSummary {
                peers: body.peers.len(),
                records: body.records.len(),
                grants: body.grants.len(),
                receipts: body.receipts.len(),
            },
        ))
    }

    async fn restore_rows(wallet: &Wallet, body: &Body, backup: &Path) -> Result<()> {
        let mut writes = Vec::new();
        for (name, v) in &body.settings {
            writes.push(wallet.store.encode(Table::Settings, name, v)?);
        }
        let tables = [
            (Table::Peers, &body.peers),
            (Table::Records, &body.records),
            (Table::Grants, &body.grants),
            (Table::Receipts, &body.receipts),
            (Table::Doctors, &body.doctors),
            (Table::Alerts, &body.alerts),
        ];
        for (t, rows) in tables {
            for v in rows {
                let k = key_of(t, v).ok_or_else(|| corrupt(backup, "a row without its key"))?;
                if t == Table::Peers {
                    // Files are not in backups: the peer's index of files still wanted is
                    // dropped, so the first sync reads the history once and fetches them all.
                    let mut peer = v.clone();
                    if let Some(o) = peer.as_object_mut() {
                        o.remove("files_wanted");
                    }
                    writes.push(wallet.store.encode(t, &k, &peer)?);
                    continue;
                }
                writes.push(wallet.store.encode(t, &k, v)?);
            }
        }
        wallet.store.apply(writes).await?;
        Ok(())
    }
}
