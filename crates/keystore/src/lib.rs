//! Where the wallet keeps its secrets: the patient's signing key and the data key that encrypts
//! the record cache.
//!
//! [`KeyStore`] is the one interface the wallet uses. Implementations:
//! - [`MemoryKeyStore`]: process memory only, for tests and for short-lived tools;
//! - [`PassphraseFileKeyStore`]: one file sealed under a passphrase (Argon2id at 64 MiB and 3
//!   passes, AES-256-GCM), for machines without a keychain and for backups;
//! - [`OsKeyStore`]: the OS keychain (Secret Service on Linux and FreeBSD, or on request the
//!   Linux kernel keyring; Keychain on Apple systems; Credential Manager on Windows; Keystore on
//!   Android).
//!
//! [`passphrase`] seals any bytes under a passphrase in the same format, e.g. for backup files.
//!
//! Which store keeps what where, the key file format, the KDF parameters and why, what happens to
//! kernel-keyring secrets at reboot, and backups: `docs/keystore.md` in the repository.
//!
//! A store never falls back silently to a weaker one: if the OS keychain cannot be reached,
//! opening it fails with [`KeyStoreError::Unavailable`] and the caller tells the user.
//!
//! ```
//! use spondon_keystore::{KeyStore, MemoryKeyStore, passphrase};
//!
//! let store = MemoryKeyStore::new();
//! store.put("data-key", &[7; 32])?;
//! assert_eq!(store.get("data-key")?.map(|s| s.to_vec()), Some(vec![7u8; 32]));
//! store.delete("data-key")?;
//! assert!(store.get("data-key")?.is_none());
//!
//! // A backup sealed under a passphrase (Argon2id, 64 MiB) opens only with it.
//! let sealed = passphrase::seal(b"correct horse", b"backup")?;
//! assert_eq!(&passphrase::open(b"correct horse", &sealed)?[..], b"backup");
//! assert!(passphrase::open(b"wrong", &sealed).is_err());
//! # Ok::<(), spondon_keystore::KeyStoreError>(())
//! ```

#![warn(missing_docs)]

mod file;
mod os;
pub mod passphrase;

pub use file::PassphraseFileKeyStore;
pub use os::{OsBackend, OsKeyStore};

use std::collections::BTreeMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

/// A secret as it leaves a store: wiped from memory when dropped.
pub type Secret = Zeroizing<Vec<u8>>;

/// Errors of every key store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The backing store (OS keychain, key file) cannot be used on this machine right now.
    #[error("the key store is unavailable: {reason}")]
    Unavailable {
        /// Why, in words a user can act on.
        reason: String,
    },
    /// The passphrase did not open the key file.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A stored item is damaged or not in a format this version reads.
    #[error("corrupt key store item: {0}")]
    Corrupt(String),
    /// The item name is not acceptable (empty, too long, or with characters outside `[A-Za-z0-9._:-]`).
    #[error("invalid key store item name: {0:?}")]
    InvalidName(String),
    /// The platform store refused the operation.
    #[error("key store error: {0}")]
    Backend(String),
    /// A new store was to be created where one exists already (e.g. a key file).
    #[error("{0} already exists; open it instead of creating it")]
    AlreadyExists(String),
}

impl KeyStoreError {
    /// A stable machine code for the failure (snake_case).
    pub fn code(&self) -> &'static str {
        match self {
            KeyStoreError::Unavailable { .. } => "keystore_unavailable",
            KeyStoreError::WrongPassphrase => "wrong_passphrase",
            KeyStoreError::Corrupt(_) => "keystore_corrupt",
            KeyStoreError::InvalidName(_) => "keystore_invalid_name",
            KeyStoreError::Backend(_) => "keystore_backend",
            KeyStoreError::AlreadyExists(_) => "keystore_already_exists",
        }
    }
}

/// A place to keep named secrets (a few hundred bytes each).
///
/// Names are short ASCII identifiers (`[A-Za-z0-9._:-]{1,128}`), for example
/// `wallet:<id>:signing-key`. Implementations must not write a secret anywhere unprotected.
pub trait KeyStore: Send + Sync {
    /// Stores `secret` under `name`, replacing any earlier value.
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), KeyStoreError>;
    /// The secret under `name`, or `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<Secret>, KeyStoreError>;
    /// Removes `name`; removing a missing item is not an error.
    fn delete(&self, name: &str) -> Result<(), KeyStoreError>;
    /// A short description for users, e.g. "Secret Service (GNOME Keyring)".
    fn describe(&self) -> String;
}

/// Checks an item name against the rule in [`KeyStore`].
pub fn check_name(name: &str) -> Result<(), KeyStoreError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(KeyStoreError::InvalidName(name.to_owned()))
    }
}

/// Secrets in process memory only; gone when the process ends. For tests and one-shot tools.
#[derive(Default)]
pub struct MemoryKeyStore {
    items: Mutex<BTreeMap<String, Secret>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn items(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Secret>>, KeyStoreError> {
        self.items
            .lock()
            .map_err(|_| KeyStoreError::Backend("memory store lock poisoned".into()))
    }
}

impl std::fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryKeyStore { .. }")
    }
}

impl KeyStore for MemoryKeyStore {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), KeyStoreError> {
        check_name(name)?;
        self.items()?
            .insert(name.to_owned(), Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, KeyStoreError> {
        check_name(name)?;
        Ok(self.items()?.get(name).cloned())
    }

    fn delete(&self, name: &str) -> Result<(), KeyStoreError> {
        check_name(name)?;
        self.items()?.remove(name);
        Ok(())
    }

    fn describe(&self) -> String {
        "in-memory store (not persistent)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_names() {
        let store = MemoryKeyStore::new();
        assert!(store.get("a").unwrap().is_none());
        store.put("wallet:1:key", b"secret").unwrap();
        assert_eq!(
            store.get("wallet:1:key").unwrap().unwrap().as_slice(),
            b"secret"
        );
        store.put("wallet:1:key", b"other").unwrap();
        assert_eq!(
            store.get("wallet:1:key").unwrap().unwrap().as_slice(),
            b"other"
        );
        store.delete("wallet:1:key").unwrap();
        store.delete("wallet:1:key").unwrap();
        assert!(store.get("wallet:1:key").unwrap().is_none());
        assert!(matches!(
            store.put("", b"x"),
            Err(KeyStoreError::InvalidName(_))
        ));
        assert!(matches!(
            store.put("a b", b"x"),
            Err(KeyStoreError::InvalidName(_))
        ));
        assert!(matches!(
            store.get(&"x".repeat(129)),
            Err(KeyStoreError::InvalidName(_))
        ));
    }
}
