//! The managed state: the wallet session and where files go.

use std::path::PathBuf;

use spondon_app_api as api;
use spondon_wallet::{Keychain, SessionConfig, SessionState, WalletSession};

use crate::config::AppConfig;

#[cfg(mobile)]
use crate::mobile::PLATFORM;
#[cfg(not(mobile))]
const PLATFORM: api::Platform = api::Platform::Desktop;

/// What every command reaches through `tauri::State`.
#[derive(Debug)]
pub struct AppState {
    /// The wallet session (locked or not).
    pub session: WalletSession,
    /// Where exports and backups are saved.
    pub export_dir: PathBuf,
    /// The link the app was opened with, until the page has asked once.
    opened_with: std::sync::Mutex<Option<String>>,
}

impl AppState {
    /// The state for a configuration (nothing is opened yet).
    pub fn new(config: AppConfig) -> Self {
        Self {
            session: WalletSession::new(SessionConfig {
                dir: config.wallet_dir,
                keychain: config.keychain,
                consortium: config.consortium,
                endpoints: config.endpoints,
            }),
            export_dir: config.export_dir,
            opened_with: std::sync::Mutex::new(None),
        }
    }

    /// Keeps the link the app was opened with for the page's first status call.
    pub fn set_opened_with(&self, text: String) {
        if let Ok(mut l) = self.opened_with.lock() {
            *l = Some(text);
        }
    }

    /// Where the keys can be kept, in the app's words.
    pub fn key_protection(&self) -> api::KeyProtection {
        match &self.session.config().keychain {
            Keychain::Available { name, .. } => api::KeyProtection::Keychain { name: name.clone() },
            Keychain::Unavailable { reason } => api::KeyProtection::PassphraseOnly {
                reason: reason.clone(),
            },
        }
    }

    /// The trust list to show: the wallet's own when unlocked, else the configured one.
    pub async fn trust_list(&self) -> Option<api::TrustListSummary> {
        if let Ok(w) = self.session.wallet_quiet().await
            && let Ok(Some(t)) = w.app_trust_list().await
        {
            return Some(t);
        }
        let (text, root) = self.session.config().consortium.as_ref()?;
        let key = spondon_core::keys::Es256PublicKey::from_jwk(root).ok()?;
        let list = spondon_core::token::TrustList::decode_and_verify(
            text.trim(),
            &key,
            0,
            spondon_core::NumericDate::now(),
        )
        .ok()?;
        Some(spondon_wallet::app::trust_list_summary(&list, key.kid()))
    }

    /// The app's status.
    pub async fn status(&self) -> Result<api::AppStatus, api::ApiError> {
        let prefs = self.session.preferences().await.unwrap_or_default();
        let state = match self.session.state().await? {
            SessionState::NoWallet => api::WalletState::NoWallet,
            SessionState::Locked => api::WalletState::Locked,
            SessionState::Unlocked => api::WalletState::Unlocked,
        };
        Ok(api::AppStatus {
            state,
            keys: self.key_protection(),
            key_in_keychain: state != api::WalletState::NoWallet
                && prefs.keep_in_keychain
                && self.session.keys_in_keychain().await,
            language: language(&prefs.language),
            lock_after_secs: prefs.lock_after_secs,
            consortium_configured: self.session.config().consortium.is_some(),
            trust_list: self.trust_list().await,
            platform: PLATFORM,
            opened_with: self.opened_with.lock().ok().and_then(|mut l| l.take()),
        })
    }
}

/// The app's language for a preference code.
pub fn language(code: &str) -> api::Language {
    match code {
        "bn" => api::Language::Bn,
        _ => api::Language::En,
    }
}
