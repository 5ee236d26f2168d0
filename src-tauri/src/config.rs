//! Where the app keeps things and which consortium it is set up for, from the environment.

use std::path::PathBuf;

use spondon_core::keys::Jwk;
use spondon_wallet::{Endpoints, Keychain};
use tauri::{Manager as _, Runtime};

/// The app's configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The wallet directory.
    pub wallet_dir: PathBuf,
    /// Where exports and backups are saved.
    pub export_dir: PathBuf,
    /// The OS keychain, or why there is none.
    pub keychain: Keychain,
    /// The consortium (trust list text, root key) the app is configured for.
    pub consortium: Option<(String, Jwk)>,
    /// Peer transport addresses.
    pub endpoints: Endpoints,
}

/// A configuration error (the app does not start: the message says which variable).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl AppConfig {
    /// Reads the environment:
    /// - `SPONDON_WALLET_DIR`: the wallet directory (default: the OS app-data directory);
    /// - `SPONDON_TRUST_LIST` + `SPONDON_ROOT_KEY`: files with the consortium's trust list and
    ///   the health authority's root key (JWK); without them the first-run screen asks;
    /// - `SPONDON_PEER_ENDPOINTS`: `PEER_URL=BASE_URL,…`, as the CLI's `--endpoint`;
    /// - `SPONDON_EXPORT_DIR`: where exports and backups go (default: Downloads, else
    ///   Documents, else the wallet directory);
    /// - `SPONDON_KEYSTORE`: `none` to use no OS keychain (passphrase only), `os` to require
    ///   it, else (`auto`) the keychain when available.
    pub fn from_env<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<Self, ConfigError> {
        let paths = app.path();
        let wallet_dir = match var("SPONDON_WALLET_DIR") {
            Some(d) => PathBuf::from(d),
            None => paths.app_data_dir().map_err(|e| {
                ConfigError(format!(
                    "no app data directory ({e}): set SPONDON_WALLET_DIR"
                ))
            })?,
        };
        let export_dir = match var("SPONDON_EXPORT_DIR") {
            Some(d) => PathBuf::from(d),
            None => paths
                .download_dir()
                .or_else(|_| paths.document_dir())
                .unwrap_or_else(|_| wallet_dir.clone()),
        };
        Self::from_parts(wallet_dir, export_dir)
    }

    /// The configuration with these directories and the rest from the environment.
    pub fn from_parts(wallet_dir: PathBuf, export_dir: PathBuf) -> Result<Self, ConfigError> {
        let consortium = match (var("SPONDON_TRUST_LIST"), var("SPONDON_ROOT_KEY")) {
            (Some(l), Some(k)) => {
                let list = std::fs::read_to_string(&l)
                    .map_err(|e| ConfigError(format!("SPONDON_TRUST_LIST {l}: {e}")))?;
                let key = std::fs::read(&k)
                    .map_err(|e| ConfigError(format!("SPONDON_ROOT_KEY {k}: {e}")))?;
                let jwk: Jwk = serde_json::from_slice(&key)
                    .map_err(|e| ConfigError(format!("SPONDON_ROOT_KEY {k} is not a JWK: {e}")))?;
                Some((list, jwk))
            }
            (None, None) => None,
            _ => {
                return Err(ConfigError(
                    "set both SPONDON_TRUST_LIST and SPONDON_ROOT_KEY, or neither".into(),
                ));
            }
        };
        let endpoints = match var("SPONDON_PEER_ENDPOINTS") {
            Some(e) => Endpoints::parse_list(&e)
                .map_err(|e| ConfigError(format!("SPONDON_PEER_ENDPOINTS: {e}")))?,
            None => Endpoints::default(),
        };
        let keychain = match var("SPONDON_KEYSTORE").as_deref() {
            Some("none") => Keychain::Unavailable {
                reason: "the app is set to use no keychain (SPONDON_KEYSTORE=none)".into(),
            },
            Some("os") => match Keychain::detect() {
                k @ Keychain::Available { .. } => k,
                Keychain::Unavailable { reason } => {
                    return Err(ConfigError(format!("SPONDON_KEYSTORE=os: {reason}")));
                }
            },
            _ => Keychain::detect(),
        };
        Ok(Self {
            wallet_dir,
            export_dir,
            keychain,
            consortium,
            endpoints,
        })
    }
}
