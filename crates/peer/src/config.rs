//! The data directory: `peer.json` (config), `keys/` (0600 key files).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};

use crate::error::{PeerError, Result};

/// Config file name inside the data directory.
pub const CONFIG_FILE: &str = "peer.json";
const RECORD_KEY_FILE: &str = "keys/record-es256.p8";
const LOG_KEY_FILE: &str = "keys/log-ed25519.seed";
const WITNESS_KEY_FILE: &str = "keys/witness-ed25519.seed";
/// Default request body limit.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// `peer.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hospital name.
    pub name: String,
    /// Public base URL (`https://…`, no trailing slash): the SMART Health Card `iss`.
    pub url: String,
    /// `sqlite:…` or `postgres://…`.
    pub database_url: String,
    /// Transparency log origin (URL host and path + `/log`, no scheme).
    pub log_origin: String,
    /// Largest accepted request body in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Longest time one request may take, reading its body included (1–300 s).
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// Logs this peer witnesses: note verifier keys (`name+hash+key`); the name is the origin.
    #[serde(default)]
    pub witness_logs: Vec<String>,
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY
}

fn default_timeout() -> u64 {
    30
}

/// Checks a public base URL: `https://host[:port][/path]`, no query, fragment, credentials or
/// trailing slash. Returns the log origin `host[:port][/path]/log`.
pub fn check_url(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| PeerError::Config("--url must start with https://".into()))?;
    if rest.is_empty()
        || url.ends_with('/')
        || rest.contains(['?', '#', '@', ' ', '\\'])
        || !rest.is_ascii()
        || rest.chars().any(|c| c.is_ascii_control())
    {
        return Err(PeerError::Config(
            "--url must be https://host[/path] without a trailing slash, query, fragment or credentials"
                .into(),
        ));
    }
    Ok(format!("{rest}/log"))
}

/// The peer's keys.
#[derive(Debug)]
pub struct Keys {
    /// ES256 record-signing key (SMART Health Cards, credentials).
    pub record: Es256KeyPair,
    /// Ed25519 log key (checkpoints).
    pub log: Ed25519KeyPair,
    /// Ed25519 witness key (cosignatures of other peers' checkpoints).
    pub witness: Ed25519KeyPair,
}

fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| PeerError::KeyFile(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn read_secret(path: &Path) -> Result<Vec<u8>> {
    let meta =
        fs::metadata(path).map_err(|e| PeerError::KeyFile(format!("{}: {e}", path.display())))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(PeerError::KeyFile(format!(
            "{} is readable by group or others; chmod 600 it",
            path.display()
        )));
    }
    Ok(fs::read(path)?)
}

fn seed(bytes: &[u8], path: &Path) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| PeerError::KeyFile(format!("{} is not a 32-byte seed", path.display())))
}

/// A data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
}

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Creates the directory (0700), the config file and fresh keys. Fails if a config exists.
    pub fn create(&self, config: &Config) -> Result<Keys> {
        fs::create_dir_all(self.path.join("keys"))?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))?;
        fs::set_permissions(self.path.join("keys"), fs::Permissions::from_mode(0o700))?;
        let keys = Keys {
            record: Es256KeyPair::generate()?,
            log: Ed25519KeyPair::generate()?,
            witness: Ed25519KeyPair::generate()?,
        };
        let cfg = serde_json::to_vec_pretty(config)
            .map_err(|e| PeerError::Config(format!("cannot encode config: {e}")))?;
        write_secret(&self.path.join(CONFIG_FILE), &cfg)?;
        write_secret(&self.path.join(RECORD_KEY_FILE), &keys.record.to_pkcs8())?;
        write_secret(&self.path.join(LOG_KEY_FILE), keys.log.seed())?;
        write_secret(&self.path.join(WITNESS_KEY_FILE), keys.witness.seed())?;
        Ok(keys)
    }

    /// Reads and checks `peer.json`.
    pub fn config(&self) -> Result<Config> {
        let path = self.path.join(CONFIG_FILE);
        let bytes = read_secret(&path)?;
        let cfg: Config = serde_json::from_slice(&bytes)
            .map_err(|e| PeerError::Config(format!("{}: {e}", path.display())))?;
        let origin = check_url(&cfg.url)?;
        if origin != cfg.log_origin {
            return Err(PeerError::Config(format!(
                "log_origin {:?} does not match url (expected {origin:?})",
                cfg.log_origin
            )));
        }
        if cfg.max_body_bytes < 1024 || cfg.max_body_bytes > 16 << 20 {
            return Err(PeerError::Config(
                "max_body_bytes must be between 1 KiB and 16 MiB".into(),
            ));
        }
        Ok(cfg)
    }

    /// Adds a log this peer witnesses (its note verifier key; the key name is the log origin)
    /// to `peer.json`, replacing the file atomically. Takes effect at the next start.
    pub fn add_witness_log(&self, vkey: &str) -> Result<Config> {
        let v = spondon_ledger::Verifier::from_vkey(vkey.trim())
            .map_err(|e| PeerError::Config(format!("--vkey: {e}")))?;
        let mut cfg = self.config()?;
        if v.name() == cfg.log_origin {
            return Err(PeerError::Config(
                "a peer does not witness its own log".into(),
            ));
        }
        let vkey = v.to_vkey();
        cfg.witness_logs.retain(|k| {
            spondon_ledger::Verifier::from_vkey(k).map_or(true, |o| o.name() != v.name())
        });
        cfg.witness_logs.push(vkey);
        let bytes = serde_json::to_vec_pretty(&cfg)
            .map_err(|e| PeerError::Config(format!("cannot encode config: {e}")))?;
        let tmp = self.path.join(format!("{CONFIG_FILE}.new"));
        let _ = fs::remove_file(&tmp);
        write_secret(&tmp, &bytes)?;
        fs::rename(&tmp, self.path.join(CONFIG_FILE))?;
        if !(1..=300).contains(&cfg.request_timeout_secs) {
            return Err(PeerError::Config(
                "request_timeout_secs must be between 1 and 300".into(),
            ));
        }
        Ok(cfg)
    }

    /// Reads the keys (refusing files readable by group or others).
    pub fn keys(&self) -> Result<Keys> {
        let rp = self.path.join(RECORD_KEY_FILE);
        let record = Es256KeyPair::from_pkcs8(&read_secret(&rp)?)
            .map_err(|e| PeerError::KeyFile(format!("{}: {e}", rp.display())))?;
        let lp = self.path.join(LOG_KEY_FILE);
        let log = Ed25519KeyPair::from_seed(&seed(&read_secret(&lp)?, &lp)?)?;
        let wp = self.path.join(WITNESS_KEY_FILE);
        let witness = Ed25519KeyPair::from_seed(&seed(&read_secret(&wp)?, &wp)?)?;
        Ok(Keys {
            record,
            log,
            witness,
        })
    }
}
