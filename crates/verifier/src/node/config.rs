//! The node's data directory: `verifier.json` (config), `keys/doctor.p8` (the clinic/doctor
//! ES256 key), the SQLite database. Directories are 0700, files 0600.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, Jwk};

use super::{ConfigError, NodeError};

const CONFIG_FILE: &str = "verifier.json";
const KEY_FILE: &str = "keys/doctor.p8";

/// `verifier.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The clinic's name, shown on the page.
    pub clinic: String,
    /// `sqlite:…` or `postgres://…`.
    pub database_url: String,
    /// The health authority's root key (P-256 JWK) the trust list must be signed by.
    pub root_key: Jwk,
    /// Where a newer trust list is fetched from (optional; an `https://` or `http://` URL, or a
    /// local file path).
    #[serde(default)]
    pub trust_list_url: Option<String>,
    /// Where to reach a peer instead of its public URL (as in the trust list): public URL →
    /// `https://…` or `http://host:port` (e.g. the peer on the clinic's LAN). A peer with no
    /// entry is reached at its public URL.
    #[serde(default)]
    pub peer_addresses: BTreeMap<String, String>,
    /// CAs (PEM files) trusted for HTTPS to peers besides Mozilla's roots (a hospital network's
    /// private CA). Relative paths are inside the data directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_files: Vec<PathBuf>,
    /// Seconds between background refreshes of the trust list and revocation lists.
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Largest upload accepted by the API (bytes).
    #[serde(default = "default_upload")]
    pub max_upload_bytes: usize,
    /// Mark the session cookie `Secure` (set when the page is served behind TLS).
    #[serde(default)]
    pub secure_cookies: bool,
}

fn default_refresh() -> u64 {
    300
}

fn default_upload() -> usize {
    4 << 20
}

impl Config {
    /// The configured root key, parsed as an ES256 public key.
    pub fn root_key(&self) -> Result<Es256PublicKey, NodeError> {
        Es256PublicKey::from_jwk(&self.root_key).map_err(|source| {
            ConfigError::BadKey {
                what: "root_key".into(),
                source,
            }
            .into()
        })
    }

    fn check(&self) -> Result<(), NodeError> {
        self.root_key()?;
        if !(10..=86_400).contains(&self.refresh_secs) {
            return Err(ConfigError::OutOfRange {
                what: "refresh_secs",
                range: "between 10 and 86400",
            }
            .into());
        }
        if !(1024..=(64 << 20)).contains(&self.max_upload_bytes) {
            return Err(ConfigError::OutOfRange {
                what: "max_upload_bytes",
                range: "between 1 KiB and 64 MiB",
            }
            .into());
        }
        for (k, v) in &self.peer_addresses {
            spondon_net::check_base_url(v).map_err(|source| ConfigError::BadUrl {
                what: format!("peer_addresses[{k:?}]"),
                source,
            })?;
        }
        Ok(())
    }
}

/// The most a key or config file may hold.
const MAX_SECRET_BYTES: u64 = 1 << 20;

/// Writes a key or config file (0600, atomically): a new one only, or in place of the old one.
fn write_secret(path: &Path, bytes: &[u8], create_new: bool) -> Result<(), NodeError> {
    if create_new {
        spondon_fs::create_private(path, bytes)
    } else {
        spondon_fs::write_private(path, bytes)
    }
    .map_err(|e| ConfigError::File(e).into())
}

/// Reads a key or config file, refusing one readable by group or others.
fn read_secret(path: &Path) -> Result<Vec<u8>, NodeError> {
    spondon_fs::read_private(path, MAX_SECRET_BYTES).map_err(|e| ConfigError::File(e).into())
}

/// A data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
}

impl DataDir {
    /// The data directory at `path` (nothing is read or created yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The default database: SQLite in the data directory.
    pub fn default_database_url(&self) -> String {
        format!("sqlite://{}", self.path.join("verifier.sqlite").display())
    }

    /// Creates the directory (0700), the config and a fresh doctor key. Fails if a config exists.
    pub fn create(&self, config: &Config) -> Result<Es256KeyPair, NodeError> {
        config.check()?;
        if self.path.join(CONFIG_FILE).exists() {
            return Err(ConfigError::AlreadyInitialized(self.path.clone()).into());
        }
        fs::create_dir_all(self.path.join("keys"))?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))?;
        fs::set_permissions(self.path.join("keys"), fs::Permissions::from_mode(0o700))?;
        let key = Es256KeyPair::generate()?;
        write_secret(&self.path.join(KEY_FILE), &key.to_pkcs8(), true)?;
        self.write_config(config, true)?;
        Ok(key)
    }

    fn write_config(&self, config: &Config, create_new: bool) -> Result<(), NodeError> {
        let bytes = serde_json::to_vec_pretty(config).map_err(|e| ConfigError::Malformed {
            path: self.path.join(CONFIG_FILE),
            reason: format!("cannot encode: {e}"),
        })?;
        write_secret(&self.path.join(CONFIG_FILE), &bytes, create_new)
    }

    /// Reads and checks `verifier.json`.
    pub fn config(&self) -> Result<Config, NodeError> {
        let path = self.path.join(CONFIG_FILE);
        let bytes = read_secret(&path)?;
        let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| ConfigError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Adds a CA (PEM) trusted for HTTPS to peers; checked now.
    pub fn add_ca_file(&self, file: &Path) -> Result<Config, NodeError> {
        let mut cfg = self.config()?;
        let file = std::path::absolute(file).map_err(|e| {
            ConfigError::File(spondon_fs::FileError::Io {
                op: "resolve",
                path: file.to_owned(),
                source: e,
            })
        })?;
        spondon_net::Client::new(&spondon_net::ClientOptions {
            ca_files: vec![file.clone()],
            ..spondon_net::ClientOptions::default()
        })
        .map_err(ConfigError::CaFiles)?;
        if !cfg.ca_files.contains(&file) {
            cfg.ca_files.push(file);
        }
        self.write_config(&cfg, false)?;
        Ok(cfg)
    }

    /// `path` inside the data directory when relative.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.path.join(path)
        }
    }

    /// Sets (or, with `None`, removes) the address a peer URL is reached at.
    pub fn set_peer_address(&self, url: &str, address: Option<&str>) -> Result<Config, NodeError> {
        let mut cfg = self.config()?;
        match address {
            Some(a) => {
                spondon_net::check_base_url(a).map_err(|source| ConfigError::BadUrl {
                    what: "ADDRESS".into(),
                    source,
                })?;
                cfg.peer_addresses.insert(url.to_owned(), a.to_owned());
            }
            None => {
                cfg.peer_addresses.remove(url);
            }
        }
        self.write_config(&cfg, false)?;
        Ok(cfg)
    }

    /// Reads the doctor key (refusing a file readable by group or others).
    pub fn key(&self) -> Result<Es256KeyPair, NodeError> {
        let p = self.path.join(KEY_FILE);
        Es256KeyPair::from_pkcs8(&read_secret(&p)?).map_err(|source| {
            ConfigError::BadKey {
                what: p.display().to_string(),
                source,
            }
            .into()
        })
    }
}
