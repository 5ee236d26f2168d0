//! A wallet session for an app: one wallet that can be opened, used by many tasks at once, and
//! locked through `&self` (by the user or an inactivity timer), with the app's policy — create
//! with a trust list, keychain or passphrase only, endpoints, preferences — in one place.
//!
//! The passphrase is never kept: it unlocks (Argon2id on a blocking thread) and is dropped.
//! While unlocked the keys live in the [`Wallet`] (and, when the user chose it, in the OS
//! keychain); locking drops the [`Wallet`] and, for a passphrase-only wallet, its keys.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use spondon_core::keys::Jwk;
use spondon_core::token::TrustList;
use spondon_keystore::{KeyStore, MemoryKeyStore};
use tokio::sync::{RwLock, RwLockReadGuard};

use crate::backup::RestoreSummary;
use crate::error::{Result, WalletError, io_err};
use crate::progress::OnProgress;
use crate::wallet::{Endpoints, Wallet, write_private};

/// The non-secret preferences file in the wallet directory.
pub const PREFERENCES_FILE: &str = "preferences.json";
/// The default inactivity lock.
pub const DEFAULT_LOCK_AFTER: Duration = Duration::from_secs(300);
/// The shortest inactivity lock accepted (other than 0 = never).
pub const MIN_LOCK_AFTER: Duration = Duration::from_secs(30);
/// The longest inactivity lock accepted.
pub const MAX_LOCK_AFTER: Duration = Duration::from_secs(86_400);

/// Non-secret preferences, readable while locked (plain JSON, mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The UI language code (`en`, `bn`).
    pub language: String,
    /// Inactivity before the session locks itself, in seconds (0 = never).
    pub lock_after_secs: u64,
    /// Whether the wallet's keys stay in the OS keychain between sessions.
    pub keep_in_keychain: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: "en".into(),
            lock_after_secs: DEFAULT_LOCK_AFTER.as_secs(),
            keep_in_keychain: false,
        }
    }
}

impl Preferences {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.language.as_str(), "en" | "bn") {
            return Err(WalletError::UnknownWord {
                what: "language",
                value: self.language.clone(),
                allowed: "en, bn",
            });
        }
        let s = self.lock_after_secs;
        if s != 0 && !(MIN_LOCK_AFTER.as_secs()..=MAX_LOCK_AFTER.as_secs()).contains(&s) {
            return Err(WalletError::BadSetting(format!(
                "the lock time is 0 (never) or from {} seconds to {} hours",
                MIN_LOCK_AFTER.as_secs(),
                MAX_LOCK_AFTER.as_secs() / 3600
            )));
        }
        Ok(())
    }
}

/// Whether there is a wallet and whether it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No wallet in the directory.
    NoWallet,
    /// A wallet, locked.
    Locked,
    /// Open.
    Unlocked,
}

/// Where the keys can be kept on this machine.
#[derive(Clone)]
pub enum Keychain {
    /// The OS keychain, open.
    Available {
        /// The store.
        store: Arc<dyn KeyStore>,
        /// Its name for people.
        name: String,
    },
    /// None: passphrase only.
    Unavailable {
        /// Why (for people).
        reason: String,
    },
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keychain::Available { name, .. } => {
                f.debug_struct("Available").field("name", name).finish()
            }
            Keychain::Unavailable { reason } => f
                .debug_struct("Unavailable")
                .field("reason", reason)
                .finish(),
        }
    }
}

impl Keychain {
    /// Opens the OS keychain (Secret Service on Linux …), or says why there is none.
    pub fn detect() -> Self {
        match spondon_keystore::OsKeyStore::open(spondon_keystore::OsBackend::Auto) {
            Ok(s) => {
                let name = s.describe();
                Keychain::Available {
                    store: Arc::new(s),
                    name,
                }
            }
            Err(e) => Keychain::Unavailable {
                reason: e.to_string(),
            },
        }
    }

    fn store(&self) -> Option<Arc<dyn KeyStore>> {
        match self {
            Keychain::Available { store, .. } => Some(store.clone()),
            Keychain::Unavailable { .. } => None,
        }
    }
}

/// How a session is set up.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The wallet directory.
    pub dir: PathBuf,
    /// The OS keychain, if any.
    pub keychain: Keychain,
    /// The consortium the app is configured for (trust list text, root key), if any.
    pub consortium: Option<(String, Jwk)>,
    /// Transport addresses to use (saved into the wallet when it opens); empty: the saved ones.
    pub endpoints: Endpoints,
}

/// One wallet, shared by the app's tasks, lockable through `&self`.
#[derive(Debug)]
pub struct WalletSession {
    config: SessionConfig,
    wallet: RwLock<Option<Wallet>>,
    last_activity: Mutex<Instant>,
    /// Serializes create/restore/unlock/lock so they cannot interleave.
    lifecycle: tokio::sync::Mutex<()>,
}

/// A read handle on the open wallet (held while a command runs; locking waits for it).
pub type WalletRef<'a> = tokio::sync::RwLockReadGuard<'a, Wallet>;

impl WalletSession {
    /// A session (nothing is opened yet).
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            wallet: RwLock::new(None),
            last_activity: Mutex::new(Instant::now()),
            lifecycle: tokio::sync::Mutex::new(()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Records user activity (resets the inactivity timer).
    pub fn touch(&self) {
        if let Ok(mut t) = self.last_activity.lock() {
            *t = Instant::now();
        }
    }

    /// Time since the last activity.
    pub fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    /// No wallet / locked / unlocked.
    pub async fn state(&self) -> Result<SessionState> {
        if self.wallet.read().await.is_some() {
            return Ok(SessionState::Unlocked);
        }
        Ok(if crate::wallet::exists(self.dir()).await? {
            SessionState::Locked
        } else {
            SessionState::NoWallet
        })
    }

    /// The preferences (defaults when none were saved).
    pub async fn preferences(&self) -> Result<Preferences> {
        let path = self.dir().join(PREFERENCES_FILE);
        match tokio::fs::read(&path).await {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| WalletError::Corrupt {
                file: path.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Preferences::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Saves the preferences (creating the directory, mode 0700, if needed).
    pub async fn set_preferences(&self, p: &Preferences) -> Result<()> {
        p.validate()?;
        let dir = self.dir();
        tokio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .await
                .map_err(io_err(dir))?;
        }
        let json =
            serde_json::to_vec_pretty(p).map_err(|e| WalletError::Internal(e.to_string()))?;
        write_private(&dir.join(PREFERENCES_FILE), json).await
    }

    fn store_for(&self, keep_in_keychain: bool) -> Result<Arc<dyn KeyStore>> {
        if !keep_in_keychain {
            return Ok(Arc::new(MemoryKeyStore::new()));
        }
        match &self.config.keychain {
            Keychain::Available { store, .. } => Ok(store.clone()),
            Keychain::Unavailable { reason } => Err(WalletError::KeyStore(
                spondon_keystore::KeyStoreError::Unavailable {
                    reason: reason.clone(),
                },
            )),
        }
    }

    async fn install(&self, mut w: Wallet) -> Result<()> {
        if !self.config.endpoints.is_empty() {
            w.save_endpoints(&self.config.endpoints).await?;
        }
        *self.wallet.write().await = Some(w);
        self.touch();
        Ok(())
    }

    /// Creates the wallet: `trust` (list text and root key) or else the configured consortium
    /// is pinned; a failure leaves nothing behind.
    pub async fn create(
        &self,
        passphrase: &[u8],
        keep_in_keychain: bool,
        trust: Option<(String, Jwk)>,
    ) -> Result<TrustList> {
        let _guard = self.lifecycle.lock().await;
        let (list_text, root) = trust
            .or_else(|| self.config.consortium.clone())
            .ok_or(WalletError::NoTrustList)?;
        let store = self.store_for(keep_in_keychain)?;
        let (w, list) =
            Wallet::create_with_trust_list(self.dir(), store, passphrase, &list_text, &root, None)
                .await?;
        let mut prefs = self.preferences().await.unwrap_or_default();
        prefs.keep_in_keychain = keep_in_keychain;
        if let Err(e) = self.set_preferences(&prefs).await {
            w.discard().await;
            return Err(e);
        }
        self.install(w).await?;
        Ok(list)
    }

    /// Restores a backup (bytes) into the session's directory and opens it.
    pub async fn restore(
        &self,
        backup: Vec<u8>,
        backup_passphrase: &[u8],
        new_passphrase: &[u8],
        keep_in_keychain: bool,
        progress: OnProgress<'_>,
    ) -> Result<RestoreSummary> {
        let _guard = self.lifecycle.lock().await;
        let store = self.store_for(keep_in_keychain)?;
        let (w, summary) = Wallet::restore_bytes(
            backup,
            Path::new("the backup file"),
            backup_passphrase,
            self.dir(),
            store,
            new_passphrase,
            progress,
        )
        .await
        .map_err(|e| match e {
            WalletError::Corrupt { reason, .. } => WalletError::BadBackup(reason),
            other => other,
        })?;
        let mut prefs = self.preferences().await.unwrap_or_default();
        prefs.keep_in_keychain = keep_in_keychain;
        if let Err(e) = self.set_preferences(&prefs).await {
            w.discard().await;
            return Err(e);
        }
        self.install(w).await?;
        Ok(summary)
    }

    /// Opens the wallet with the passphrase. A wallet already open stays open.
    pub async fn unlock(&self, passphrase: &[u8]) -> Result<()> {
        let _guard = self.lifecycle.lock().await;
        if self.wallet.read().await.is_some() {
            self.touch();
            return Ok(());
        }
        let prefs = self.preferences().await?;
        let keep = prefs.keep_in_keychain && self.config.keychain.store().is_some();
        let store = self.store_for(keep)?;
        let w = Wallet::unlock(self.dir(), store, passphrase).await?;
        self.install(w).await
    }

    /// Opens the wallet from the platform keystore without the passphrase: call it only right
    /// after the operating system verified the user (a phone's biometric prompt, run by the
    /// app's shell). Refused (`Locked`) unless the user keeps the key in the keychain and it is
    /// there; then the passphrase is the way in.
    #[cfg(feature = "platform-auth")]
    pub async fn unlock_by_platform(&self) -> Result<()> {
        let _guard = self.lifecycle.lock().await;
        if self.wallet.read().await.is_some() {
            self.touch();
            return Ok(());
        }
        let prefs = self.preferences().await?;
        let store = match self.config.keychain.store() {
            Some(s) if prefs.keep_in_keychain => s,
            _ => return Err(WalletError::SessionLocked),
        };
        let w = Wallet::open(self.dir(), store).await?;
        self.install(w).await
    }

    /// Whether the wallet's keys are in the OS keychain now.
    pub async fn keys_in_keychain(&self) -> bool {
        match self.config.keychain.store() {
            Some(s) => Wallet::keys_in(self.dir(), &s).await.unwrap_or(false),
            None => false,
        }
    }

    /// Locks: the wallet is closed and, unless the user keeps the key in the OS keychain, its
    /// keys are gone from memory. Returns whether it was open. Waits for running commands.
    pub async fn lock(&self) -> Result<bool> {
        let _guard = self.lifecycle.lock().await;
        let Some(w) = self.wallet.write().await.take() else {
            return Ok(false);
        };
        let keep = self
            .preferences()
            .await
            .map(|p| p.keep_in_keychain)
            .unwrap_or(false);
        if keep && self.config.keychain.store().is_some() {
            w.close().await;
        } else {
            w.lock().await?;
        }
        Ok(true)
    }

    /// Locks if idle for at least `limit` (the inactivity timer calls this). Returns whether it
    /// locked. Does not wait behind a running command: a busy wallet is not idle.
    pub async fn lock_if_idle(&self, limit: Duration) -> Result<bool> {
        if limit.is_zero() || self.idle_for() < limit {
            return Ok(false);
        }
        match self.wallet.try_write() {
            Ok(g) if g.is_some() => {}
            _ => return Ok(false),
        }
        self.lock().await
    }

    /// The open wallet, or `Locked` / `NoWallet`. Counts as activity.
    pub async fn wallet(&self) -> Result<WalletRef<'_>> {
        let w = self.wallet_quiet().await?;
        self.touch();
        Ok(w)
    }

    /// The open wallet for a change of its own keys (the lost-phone procedure): waits until no
    /// other command holds it. Counts as activity.
    pub async fn wallet_mut(&self) -> Result<tokio::sync::RwLockMappedWriteGuard<'_, Wallet>> {
        let guard = self.wallet.write().await;
        match tokio::sync::RwLockWriteGuard::try_map(guard, Option::as_mut) {
            Ok(w) => {
                self.touch();
                Ok(w)
            }
            Err(_) => Err(if crate::wallet::exists(self.dir()).await? {
                WalletError::SessionLocked
            } else {
                WalletError::NoWallet(self.dir().display().to_string())
            }),
        }
    }

    /// The open wallet, without counting as activity (for status polls).
    pub async fn wallet_quiet(&self) -> Result<WalletRef<'_>> {
        let guard = self.wallet.read().await;
        match RwLockReadGuard::try_map(guard, Option::as_ref) {
            Ok(w) => Ok(w),
            Err(_) => Err(if crate::wallet::exists(self.dir()).await? {
                WalletError::SessionLocked
            } else {
                WalletError::NoWallet(self.dir().display().to_string())
            }),
        }
    }
}
