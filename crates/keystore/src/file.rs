//! A key store in one passphrase-protected file.
//!
//! All items live in one map, sealed with [`crate::passphrase`] (Argon2id, AES-256-GCM). The file
//! is the source of truth: every operation rereads it and every change rewrites it whole and
//! atomically (temporary file in the same directory, `fsync`, `rename`, `fsync` of the directory),
//! with mode 0600 on Unix. Operations of this process and of other processes are serialized by an
//! exclusive lock on a sidecar file `<name>.lock` next to it.
//!
//! The key derived from the passphrase is kept in memory (wiped on drop) while the store is open,
//! so only [`PassphraseFileKeyStore::create`], [`PassphraseFileKeyStore::open`] and
//! [`PassphraseFileKeyStore::change_passphrase`] run Argon2id.
//!
//! ```
//! use spondon_keystore::{KeyStore, KeyStoreError, PassphraseFileKeyStore};
//!
//! # let dir = tempfile::tempdir().map_err(|e| KeyStoreError::Backend(e.to_string()))?;
//! let path = dir.path().join("wallet.keys");
//! let store = PassphraseFileKeyStore::create(&path, b"a long passphrase")?;
//! store.put("wallet:1:signing-key", b"key bytes")?;
//! drop(store);
//!
//! let store = PassphraseFileKeyStore::open(&path, b"a long passphrase")?;
//! assert_eq!(store.get("wallet:1:signing-key")?.as_deref().map(Vec::as_slice), Some(&b"key bytes"[..]));
//! # Ok::<(), KeyStoreError>(())
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::passphrase::{self, KdfParams, Parsed, SealingKey};
use crate::{KeyStore, KeyStoreError, Secret, check_name};

/// Version byte of the item map inside the sealed file.
const MAP_VERSION: u8 = 1;

/// A [`KeyStore`] over one passphrase-protected file.
pub struct PassphraseFileKeyStore {
    path: PathBuf,
    lock_path: PathBuf,
    key: Mutex<SealingKey>,
}

impl std::fmt::Debug for PassphraseFileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseFileKeyStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type Items = BTreeMap<String, Secret>;

impl PassphraseFileKeyStore {
    /// Creates a new, empty key file at `path` with [`KdfParams::default()`]. Fails with
    /// [`KeyStoreError::AlreadyExists`] if the file exists already.
    pub fn create(path: impl AsRef<Path>, passphrase: &[u8]) -> Result<Self, KeyStoreError> {
        Self::create_with(path, passphrase, KdfParams::default())
    }

    /// Like [`create`](Self::create) with explicit KDF parameters (within
    /// [`KdfParams::MIN`]..=[`KdfParams::MAX`]).
    pub fn create_with(
        path: impl AsRef<Path>,
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<Self, KeyStoreError> {
        params.check().map_err(|e| match e {
            KeyStoreError::Corrupt(m) => KeyStoreError::Backend(m),
            other => other,
        })?;
        let path = path.as_ref().to_path_buf();
        let store = Self {
            lock_path: lock_path(&path),
            key: Mutex::new(SealingKey::derive_new(passphrase, params)?),
            path,
        };
        let _lock = store.lock_file()?;
        if store.path.exists() {
            return Err(KeyStoreError::AlreadyExists(
                store.path.display().to_string(),
            ));
        }
        let key = store.key()?;
        store.write(&key, &Items::new())?;
        drop(key);
        Ok(store)
    }

    /// Opens the key file at `path`.
    ///
    /// Errors: [`KeyStoreError::Unavailable`] if there is no such file,
    /// [`KeyStoreError::WrongPassphrase`], [`KeyStoreError::Corrupt`] if the file is damaged.
    pub fn open(path: impl AsRef<Path>, passphrase: &[u8]) -> Result<Self, KeyStoreError> {
        let path = path.as_ref().to_path_buf();
        let lock_path = lock_path(&path);
        // A consistent snapshot under the lock; the slow derivation runs without holding it.
        let bytes = {
            let _lock = lock(&lock_path)?;
            read_file(&path)?
        };
        let parsed = Parsed::parse(&bytes)?;
        let key = SealingKey::derive(passphrase, parsed.params(), parsed.salt())?;
        decode(&key.open(&parsed)?)?;
        Ok(Self {
            path,
            lock_path,
            key: Mutex::new(key),
        })
    }

    /// Re-encrypts the file under `new`, with a fresh salt and the same KDF parameters, after
    /// checking `old` against the file. The store stays open under the new passphrase.
    pub fn change_passphrase(&self, old: &[u8], new: &[u8]) -> Result<(), KeyStoreError> {
        let _lock = self.lock_file()?;
        let mut key = self.key()?;
        let bytes = read_file(&self.path)?;
        let parsed = Parsed::parse(&bytes)?;
        let old_key = SealingKey::derive(old, parsed.params(), parsed.salt())?;
        let items = decode(&old_key.open(&parsed)?)?;
        let new_key = SealingKey::derive_new(new, parsed.params())?;
        self.write(&new_key, &items)?;
        *key = new_key;
        Ok(())
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The KDF parameters of the file.
    pub fn kdf_params(&self) -> Result<KdfParams, KeyStoreError> {
        Ok(self.key()?.params())
    }

    fn key(&self) -> Result<std::sync::MutexGuard<'_, SealingKey>, KeyStoreError> {
        self.key
            .lock()
            .map_err(|_| KeyStoreError::Backend("key file store lock poisoned".into()))
    }

    fn lock_file(&self) -> Result<File, KeyStoreError> {
        lock(&self.lock_path)
    }

    /// Reads and opens the file with the key in memory.
    fn read(&self, key: &SealingKey) -> Result<Items, KeyStoreError> {
        let bytes = read_file(&self.path)?;
        let parsed = Parsed::parse(&bytes)?;
        if parsed.salt() != key.salt() || parsed.params() != key.params() {
            return Err(KeyStoreError::Unavailable {
                reason: format!(
                    "{} was re-encrypted under another passphrase since it was opened; open it \
                     again",
                    self.path.display()
                ),
            });
        }
        decode(&key.open(&parsed)?)
    }

    /// Seals `items` and replaces the file atomically.
    fn write(&self, key: &SealingKey, items: &Items) -> Result<(), KeyStoreError> {
        let sealed = key.seal(&encode(items)?)?;
        write_atomically(&self.path, &sealed)
    }

    /// Reads the items, applies `change`, and writes them back, all under the file lock.
    fn update(&self, change: impl FnOnce(&mut Items)) -> Result<(), KeyStoreError> {
        let _lock = self.lock_file()?;
        let key = self.key()?;
        let mut items = self.read(&key)?;
        change(&mut items);
        self.write(&key, &items)
    }
}

impl KeyStore for PassphraseFileKeyStore {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), KeyStoreError> {
        check_name(name)?;
        self.update(|items| {
            items.insert(name.to_owned(), Zeroizing::new(secret.to_vec()));
        })
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, KeyStoreError> {
        check_name(name)?;
        let _lock = self.lock_file()?;
        let key = self.key()?;
        Ok(self.read(&key)?.remove(name))
    }

    fn delete(&self, name: &str) -> Result<(), KeyStoreError> {
        check_name(name)?;
        self.update(|items| {
            items.remove(name);
        })
    }

    fn describe(&self) -> String {
        let p = self.kdf_params().unwrap_or_default();
        format!(
            "passphrase-protected key file {} (Argon2id m={} MiB, t={}, p={}; AES-256-GCM)",
            self.path.display(),
            p.m_kib / 1024,
            p.t,
            p.p
        )
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> KeyStoreError {
    KeyStoreError::Backend(format!("{what} {}: {e}", path.display()))
}

/// Opens (creating it if needed) and exclusively locks the sidecar lock file; the lock is
/// released when the returned file is dropped.
fn lock(lock_path: &Path) -> Result<File, KeyStoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(lock_path)
        .map_err(|e| io_error("cannot open the lock file", lock_path, e))?;
    file.lock()
        .map_err(|e| io_error("cannot lock", lock_path, e))?;
    Ok(file)
}

fn read_file(path: &Path) -> Result<Vec<u8>, KeyStoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyStoreError::Unavailable {
                reason: format!("there is no key file at {}", path.display()),
            });
        }
        Err(e) => return Err(io_error("cannot open", path, e)),
    };
    let mut bytes = Vec::new();
    // One byte more than the limit, so that an oversized file is seen as such.
    file.take(passphrase::MAX_SEALED_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("cannot read", path, e))?;
    Ok(bytes)
}

/// Replaces the key file atomically, 0600 ([`spondon_fs::write_private`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    spondon_fs::write_private(path, bytes).map_err(|e| KeyStoreError::Backend(e.to_string()))
}

/// The item map: version byte, item count (u32), then per item the name length (u8), the name,
/// the secret length (u32) and the secret; integers big-endian, names strictly ascending.
fn encode(items: &Items) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    let too_large = || KeyStoreError::Backend("too many or too large items for a key file".into());
    let mut out = Zeroizing::new(Vec::new());
    out.push(MAP_VERSION);
    out.extend_from_slice(
        &u32::try_from(items.len())
            .map_err(|_| too_large())?
            .to_be_bytes(),
    );
    for (name, secret) in items {
        out.push(u8::try_from(name.len()).map_err(|_| too_large())?);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(
            &u32::try_from(secret.len())
                .map_err(|_| too_large())?
                .to_be_bytes(),
        );
        out.extend_from_slice(secret);
    }
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<Items, KeyStoreError> {
    let corrupt = |m: &str| KeyStoreError::Corrupt(format!("key file item map: {m}"));
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], KeyStoreError> {
        if rest.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let be_u32 = |b: &[u8]| b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
    if take(1)?[0] != MAP_VERSION {
        return Err(corrupt("unsupported version"));
    }
    let count = be_u32(take(4)?);
    let mut items = Items::new();
    for _ in 0..count {
        let name_len = usize::from(take(1)?[0]);
        let name = std::str::from_utf8(take(name_len)?).map_err(|_| corrupt("name not UTF-8"))?;
        check_name(name).map_err(|_| corrupt("invalid item name"))?;
        if items
            .last_key_value()
            .is_some_and(|(last, _)| last.as_str() >= name)
        {
            return Err(corrupt("names out of order"));
        }
        let name = name.to_owned();
        let len = be_u32(take(4)?);
        let secret = Zeroizing::new(take(len)?.to_vec());
        items.insert(name, secret);
    }
    if !rest.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_map_round_trip_and_bad_maps() {
        let mut items = Items::new();
        items.insert("a".into(), Zeroizing::new(b"1".to_vec()));
        items.insert("b:c".into(), Zeroizing::new(Vec::new()));
        let bytes = encode(&items).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back["a"].as_slice(), b"1");
        for n in 0..bytes.len() {
            assert!(matches!(
                decode(&bytes[..n]),
                Err(KeyStoreError::Corrupt(_))
            ));
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut bad_version = bytes.to_vec();
        bad_version[0] = 2;
        assert!(decode(&bad_version).is_err());
        // "a" then "b:c"; swap the first name for one sorting after the second.
        let mut out_of_order = bytes.to_vec();
        out_of_order[6] = b'z';
        assert!(decode(&out_of_order).is_err());
        let mut bad_name = bytes.to_vec();
        bad_name[6] = b' ';
        assert!(decode(&bad_name).is_err());
        // A huge count or length is refused, not allocated.
        assert!(decode(&[MAP_VERSION, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[MAP_VERSION, 0, 0, 0, 1, 1, b'a', 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
