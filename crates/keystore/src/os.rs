//! The operating system's keychain, through `keyring-core` and one platform store per target.
//!
//! | target            | store                                                  | persistence        |
//! |-------------------|--------------------------------------------------------|--------------------|
//! | Linux, FreeBSD    | Secret Service over D-Bus (GNOME Keyring, KWallet, …)  | on disk, encrypted |
//! | Linux (on demand) | kernel keyutils (session + persistent keyring)         | lost at reboot     |
//! | macOS             | the login keychain                                     | on disk            |
//! | iOS               | the data-protection keychain                           | on disk            |
//! | Windows           | Credential Manager                                     | on disk            |
//! | Android           | Android Keystore + SharedPreferences                   | on disk            |
//!
//! Only the platform store crates are used, never `keyring-core`'s process-wide default store and
//! never its mock: if the platform store cannot be reached, [`OsKeyStore::open`] fails with
//! [`KeyStoreError::Unavailable`]. [`OsBackend::Auto`] never picks the kernel keyring, whose
//! contents do not survive a reboot; the caller must ask for [`OsBackend::Keyutils`] by name.
//!
//! Items are stored under the service name (default [`OsKeyStore::DEFAULT_SERVICE`]) and the item
//! name as the user name. The stored value is one format byte (`0x01`) followed by the secret's
//! bytes, so empty secrets can be stored in keyrings that refuse empty values.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialPersistence, CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::{KeyStore, KeyStoreError, Secret, check_name};

/// The format byte in front of every stored value.
const VALUE_FORMAT: u8 = 1;

/// Which OS keychain to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OsBackend {
    /// The platform's persistent keychain: the Secret Service on Linux and FreeBSD (never the
    /// kernel keyring), the Keychain on Apple systems, Credential Manager on Windows, the
    /// Keystore on Android.
    #[default]
    Auto,
    /// The freedesktop.org Secret Service over the D-Bus session bus (Linux, FreeBSD).
    SecretService,
    /// The Linux kernel key retention service. Secrets live in kernel memory only: they are
    /// lost at reboot, and after a few days without use.
    Keyutils,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "each target constructs only its own kinds")]
enum Kind {
    SecretService,
    Keyutils,
    MacKeychain,
    IosKeychain,
    WindowsCredentials,
    AndroidKeystore,
}

/// A [`KeyStore`] in the operating system's keychain.
pub struct OsKeyStore {
    store: Arc<CredentialStore>,
    service: String,
    kind: Kind,
}

impl std::fmt::Debug for OsKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsKeyStore")
            .field("kind", &self.kind)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl OsKeyStore {
    /// The service name items are stored under unless another is given.
    pub const DEFAULT_SERVICE: &'static str = "spondon";

    /// Opens the OS keychain under [`OsKeyStore::DEFAULT_SERVICE`].
    ///
    /// Fails with [`KeyStoreError::Unavailable`] (the reason in plain words) if the chosen
    /// keychain cannot be reached, for example when there is no Secret Service on the D-Bus
    /// session.
    pub fn open(backend: OsBackend) -> Result<Self, KeyStoreError> {
        Self::open_with_service(backend, Self::DEFAULT_SERVICE)
    }

    /// Like [`open`](Self::open) with another service name (same rule as item names), e.g. one
    /// per wallet or per test.
    pub fn open_with_service(backend: OsBackend, service: &str) -> Result<Self, KeyStoreError> {
        check_name(service)?;
        let (store, kind) = platform::open(backend)?;
        match store.persistence() {
            CredentialPersistence::UntilDelete => {}
            CredentialPersistence::UntilReboot if kind == Kind::Keyutils => {}
            _ => {
                return Err(KeyStoreError::Unavailable {
                    reason: format!(
                        "the keychain store {:?} would not keep secrets; refusing to use it",
                        store.vendor()
                    ),
                });
            }
        }
        let this = Self {
            store,
            service: service.to_owned(),
            kind,
        };
        this.probe()?;
        Ok(this)
    }

    /// Whether secrets survive a reboot (false only for the kernel keyring).
    pub fn is_persistent(&self) -> bool {
        self.kind != Kind::Keyutils
    }

    /// The service name items are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Makes one harmless call so that an unreachable keychain is reported at open, not at the
    /// first use.
    fn probe(&self) -> Result<(), KeyStoreError> {
        match self.kind {
            Kind::SecretService => {
                let spec = HashMap::from([
                    ("service", self.service.as_str()),
                    ("username", "spondon-probe"),
                ]);
                self.store
                    .search(&spec)
                    .map(drop)
                    .map_err(|e| self.unavailable(e))
            }
            _ => match self.entry("spondon-probe")?.get_secret() {
                Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(self.unavailable(e)),
            },
        }
    }

    fn unavailable(&self, e: keyring_core::Error) -> KeyStoreError {
        let reason = match self.kind {
            Kind::SecretService => format!(
                "the Secret Service on the D-Bus session cannot be used ({e}): unlock or start \
                 gnome-keyring, or use a passphrase key file"
            ),
            Kind::Keyutils => format!("the kernel keyring cannot be used ({e})"),
            _ => format!("the system keychain cannot be used ({e})"),
        };
        KeyStoreError::Unavailable { reason }
    }

    fn entry(&self, name: &str) -> Result<Entry, KeyStoreError> {
        let label = format!("Spondon {name}");
        let modifiers = HashMap::from([("label", label.as_str())]);
        let modifiers = (self.kind == Kind::SecretService).then_some(&modifiers);
        self.store
            .build(&self.service, name, modifiers)
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: keyring_core::Error) -> KeyStoreError {
        use keyring_core::Error as E;
        match e {
            E::NoStorageAccess(_) => match self.kind {
                Kind::SecretService => KeyStoreError::Unavailable {
                    reason: format!(
                        "the Secret Service refused access: its default keyring is locked or \
                         missing and could not be unlocked here ({e}); unlock it (log in to the \
                         desktop), or use a passphrase key file"
                    ),
                },
                _ => self.unavailable(e),
            },
            E::BadEncoding(_) | E::BadDataFormat(..) | E::BadStoreFormat(_) => {
                KeyStoreError::Corrupt(format!("keychain item: {e}"))
            }
            E::Ambiguous(items) => KeyStoreError::Corrupt(format!(
                "{} keychain items match one name; remove the extra ones",
                items.len()
            )),
            other => KeyStoreError::Backend(other.to_string()),
        }
    }
}

impl KeyStore for OsKeyStore {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), KeyStoreError> {
        check_name(name)?;
        let mut value = Zeroizing::new(Vec::with_capacity(secret.len() + 1));
        value.push(VALUE_FORMAT);
        value.extend_from_slice(secret);
        self.entry(name)?
            .set_secret(&value)
            .map_err(|e| self.error(e))
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, KeyStoreError> {
        check_name(name)?;
        let value = match self.entry(name)?.get_secret() {
            Ok(v) => Zeroizing::new(v),
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.error(e)),
        };
        match value.split_first() {
            Some((&VALUE_FORMAT, secret)) => Ok(Some(Zeroizing::new(secret.to_vec()))),
            _ => Err(KeyStoreError::Corrupt(format!(
                "keychain item {name:?} of service {:?} is not in Spondon's format",
                self.service
            ))),
        }
    }

    fn delete(&self, name: &str) -> Result<(), KeyStoreError> {
        check_name(name)?;
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::SecretService => format!(
                "Secret Service keychain on the D-Bus session (e.g. GNOME Keyring), service {:?}",
                self.service
            ),
            Kind::Keyutils => format!(
                "Linux kernel keyring (keyutils), service {:?}: NOT persistent, secrets are lost \
                 at reboot and after a few days unused; keep a passphrase key file as backup",
                self.service
            ),
            Kind::MacKeychain => format!("macOS login keychain, service {:?}", self.service),
            Kind::IosKeychain => format!("iOS keychain, service {:?}", self.service),
            Kind::WindowsCredentials => {
                format!("Windows Credential Manager, service {:?}", self.service)
            }
            Kind::AndroidKeystore => format!("Android Keystore, service {:?}", self.service),
        }
    }
}

#[cfg_attr(
    target_os = "linux",
    allow(dead_code, reason = "used on other targets")
)]
fn not_here(what: &str) -> KeyStoreError {
    KeyStoreError::Unavailable {
        reason: format!(
            "{what} is not available on {}; use OsBackend::Auto or a passphrase key file",
            std::env::consts::OS
        ),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
fn secret_service() -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
    match dbus_secret_service_keyring_store::Store::new() {
        Ok(store) => Ok((store as Arc<CredentialStore>, Kind::SecretService)),
        Err(e) => Err(KeyStoreError::Unavailable {
            reason: format!(
                "no Secret Service on the D-Bus session: start gnome-keyring or use a passphrase \
                 key file ({e})"
            ),
        }),
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub(super) fn open(backend: OsBackend) -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        match backend {
            OsBackend::Auto | OsBackend::SecretService => secret_service(),
            OsBackend::Keyutils => {
                let store = linux_keyutils_keyring_store::Store::new().map_err(|e| {
                    KeyStoreError::Unavailable {
                        reason: format!("the kernel keyring cannot be used ({e})"),
                    }
                })?;
                Ok((store as Arc<CredentialStore>, Kind::Keyutils))
            }
        }
    }
}

#[cfg(target_os = "freebsd")]
mod platform {
    use super::*;

    pub(super) fn open(backend: OsBackend) -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        match backend {
            OsBackend::Auto | OsBackend::SecretService => secret_service(),
            OsBackend::Keyutils => Err(not_here("the kernel keyring (keyutils)")),
        }
    }
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "android"
))]
mod platform {
    use super::*;

    pub(super) fn open(backend: OsBackend) -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        match backend {
            OsBackend::Auto => native(),
            OsBackend::SecretService => Err(not_here("the Secret Service")),
            OsBackend::Keyutils => Err(not_here("the kernel keyring (keyutils)")),
        }
    }

    fn unavailable(e: keyring_core::Error) -> KeyStoreError {
        KeyStoreError::Unavailable {
            reason: format!("the system keychain cannot be used ({e})"),
        }
    }

    #[cfg(target_os = "macos")]
    fn native() -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        let store = apple_native_keyring_store::keychain::Store::new().map_err(unavailable)?;
        Ok((store as Arc<CredentialStore>, Kind::MacKeychain))
    }

    #[cfg(target_os = "ios")]
    fn native() -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        let store = apple_native_keyring_store::protected::Store::new().map_err(unavailable)?;
        Ok((store as Arc<CredentialStore>, Kind::IosKeychain))
    }

    #[cfg(target_os = "windows")]
    fn native() -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        let store = windows_native_keyring_store::Store::new().map_err(unavailable)?;
        Ok((store as Arc<CredentialStore>, Kind::WindowsCredentials))
    }

    /// Needs the NDK context initialized by the app (see `android-native-keyring-store`).
    #[cfg(target_os = "android")]
    fn native() -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        let store = android_native_keyring_store::Store::new().map_err(unavailable)?;
        Ok((store as Arc<CredentialStore>, Kind::AndroidKeystore))
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "android"
)))]
mod platform {
    use super::*;

    pub(super) fn open(_backend: OsBackend) -> Result<(Arc<CredentialStore>, Kind), KeyStoreError> {
        Err(not_here("an OS keychain"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_os = "linux"))]
    #[test]
    fn keyutils_only_on_linux() {
        assert!(matches!(
            OsKeyStore::open(OsBackend::Keyutils),
            Err(KeyStoreError::Unavailable { .. })
        ));
    }

    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    #[test]
    fn secret_service_only_on_linux_and_freebsd() {
        assert!(matches!(
            OsKeyStore::open(OsBackend::SecretService),
            Err(KeyStoreError::Unavailable { .. })
        ));
    }

    #[test]
    fn service_names_are_checked() {
        assert!(matches!(
            OsKeyStore::open_with_service(OsBackend::Auto, "no spaces"),
            Err(KeyStoreError::InvalidName(_))
        ));
    }
}
