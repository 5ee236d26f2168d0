//! The data directory: `peer.json` (config), `keys/` (0600 key files).

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};

use crate::error::{KeyFileError, PeerError, Result};

/// What is wrong with the peer's configuration: `peer.json`, a value given on the command line,
/// or a key or file given to a setup command. Each kind has a stable [`ConfigError::code`]
/// (docs/peer.md, "Configuration errors"); the message names the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `peer.json` is not a valid configuration (the JSON error says where).
    #[error("{}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the JSON decoder refused.
        reason: String,
    },
    /// The configuration file cannot be written (see [`spondon_fs::FileError::code`]).
    #[error(transparent)]
    File(#[from] spondon_fs::FileError),
    /// A file of the data directory (the writer lock) or a path given cannot be opened or
    /// resolved.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The public base URL (`--url`, `url`) is not `https://host[/path]` without a trailing
    /// slash, query, fragment or credentials.
    #[error("{0}")]
    BadUrl(&'static str),
    /// `log_origin` in `peer.json` does not follow from `url`.
    #[error("log_origin {found:?} does not match url (expected {expected:?})")]
    LogOriginMismatch {
        /// The configured origin.
        found: String,
        /// The origin `url` gives.
        expected: String,
    },
    /// A witness URL is not `http(s)://host[:port][/path]` without query, fragment or
    /// credentials.
    #[error(
        "witnesses url {0:?}: must be http(s)://host[:port][/path] without query, fragment or credentials"
    )]
    BadWitnessUrl(String),
    /// A key is refused: a statistics key that is not a public ES256 JWK, a note verifier key
    /// (`--vkey`, `witnesses`, `witness_logs`) that does not parse or is of the wrong type.
    #[error("{what}: {reason}")]
    BadKey {
        /// Which setting or argument.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A number outside its range, a list too long, or a name too long or empty.
    #[error("{what} must be {range}")]
    OutOfRange {
        /// Which setting or argument.
        what: &'static str,
        /// What it must be.
        range: &'static str,
    },
    /// `tls` or `ca_files` holds a relative path.
    #[error("tls and ca_files need absolute paths, not {}", .0.display())]
    RelativePath(PathBuf),
    /// The TLS certificate and key `serve` would listen with are refused.
    #[error("tls: {0}")]
    Tls(String),
    /// A CA file for outgoing HTTPS (`--ca`, `ca_files`) holds no certificate or cannot be read.
    #[error("CA files: {0}")]
    CaFiles(String),
    /// `add-witness-log` with this peer's own log.
    #[error("a peer does not witness its own log")]
    OwnLog,
    /// The database URL is refused: a list of URLs that are not all PostgreSQL, or a URL that
    /// does not parse.
    #[error("database URL: {0}")]
    DatabaseUrl(String),
    /// Of a list of PostgreSQL URLs, none accepts writes (no primary found after a few rounds).
    #[error("none of the database candidates accepts writes ({0})")]
    NoWritableDatabase(String),
    /// `read_database_url` is set but it, or `database_url`, is not PostgreSQL.
    #[error("read_database_url must be a PostgreSQL standby of a PostgreSQL database_url")]
    ReadReplicaNotPostgres,
    /// `init` on a data directory that already holds a peer.
    #[error("{} already holds a peer", .0.display())]
    AlreadyInitialized(PathBuf),
}

impl ConfigError {
    /// A stable machine-readable code (docs/peer.md, "Configuration errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "config_malformed",
            Self::File(e) => e.code(),
            Self::Io { .. } => "config_io",
            Self::BadUrl(_) => "config_bad_url",
            Self::LogOriginMismatch { .. } => "config_log_origin_mismatch",
            Self::BadWitnessUrl(_) => "config_bad_witness_url",
            Self::BadKey { .. } => "config_bad_key",
            Self::OutOfRange { .. } => "config_out_of_range",
            Self::RelativePath(_) => "config_relative_path",
            Self::Tls(_) => "config_tls",
            Self::CaFiles(_) => "config_ca_files",
            Self::OwnLog => "config_own_log",
            Self::DatabaseUrl(_) => "config_database_url",
            Self::NoWritableDatabase(_) => "config_no_writable_database",
            Self::ReadReplicaNotPostgres => "config_bad_read_database_url",
            Self::AlreadyInitialized(_) => "already_initialized",
        }
    }
}

fn range(what: &'static str, range: &'static str) -> PeerError {
    ConfigError::OutOfRange { what, range }.into()
}

fn bad_key(what: &'static str, reason: impl ToString) -> PeerError {
    ConfigError::BadKey {
        what,
        reason: reason.to_string(),
    }
    .into()
}

/// Config file name inside the data directory.
pub const CONFIG_FILE: &str = "peer.json";
const RECORD_KEY_FILE: &str = "keys/record-es256.p8";
const LOG_KEY_FILE: &str = "keys/log-ed25519.seed";
const WITNESS_KEY_FILE: &str = "keys/witness-ed25519.seed";
/// The writer lock file inside the data directory.
pub const LOCK_FILE: &str = "serve.lock";
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
    /// A PostgreSQL streaming standby of `database_url` that serves reads where that is safe:
    /// log tiles, entry bundles and proofs, and patients' pulls once it has replayed the
    /// checkpoint they are pulled under; everything else, and whatever it does not hold yet,
    /// is read from the primary (docs/operations.md, "Reads from a standby").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_database_url: Option<String>,
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
    /// Witnesses this peer asks to cosign its own checkpoints.
    #[serde(default)]
    pub witnesses: Vec<WitnessEndpoint>,
    /// Per-client-address request limits of the unauthenticated, patient and doctor routes.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// The most nonces one process has handed out that are neither expired nor spent there, at
    /// any time (an estimate per process: nothing is stored when a nonce is handed out).
    #[serde(default = "default_max_nonces")]
    pub max_outstanding_nonces: u64,
    /// Whether the staff console's session cookie is `Secure` (sent over HTTPS only). Keep it
    /// on behind a TLS proxy; turn it off only to use the console over plain HTTP on a
    /// private network or loopback.
    #[serde(default = "default_true")]
    pub console_secure_cookie: bool,
    /// The health authority's statistics keys (public ES256 JWKs, `spondon-authority stats-key`
    /// prints it): only requests signed by one of them get de-identified statistics
    /// (`POST /authority/stats`). Empty: statistics are served to nobody.
    #[serde(default)]
    pub stats_authority_keys: Vec<spondon_core::keys::Jwk>,
    /// Serve HTTPS itself: the certificate chain and key (PEM files, absolute paths). Absent:
    /// plain HTTP, for loopback or behind a TLS-terminating proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<spondon_net::server::TlsFiles>,
    /// CAs (PEM files, absolute paths) trusted for outgoing HTTPS besides Mozilla's roots: a
    /// witness behind a hospital network's private CA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_files: Vec<PathBuf>,
    /// How long an uploaded file no record refers to is kept (`POST /staff/files`, then
    /// `POST /staff/records` with kind `document`): a day by default.
    #[serde(default = "default_unreferenced_file_secs")]
    pub unreferenced_file_secs: u64,
}

/// A day: how long an unreferenced upload is kept by default.
pub const DEFAULT_UNREFERENCED_FILE_SECS: u64 = 86_400;

fn default_unreferenced_file_secs() -> u64 {
    DEFAULT_UNREFERENCED_FILE_SECS
}

fn default_true() -> bool {
    true
}

/// A witness of this peer's log: where to send `add-checkpoint`, and its cosigner key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// The witness's submission prefix (`http://host:port/witness`); `/add-checkpoint` is
    /// appended: `https://…` (or `http://` on a private network).
    pub url: String,
    /// The witness's `cosignature/v1` note verifier key (`name+keyid+key`).
    pub vkey: String,
}

/// A token bucket per client address: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second per client address; 0 turns limiting off.
    #[serde(default = "default_rate")]
    pub per_second: f64,
    /// Bucket size: requests a client may make at once.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Take the client address from the last entry of this header (e.g. `x-forwarded-for`)
    /// instead of the TCP peer: set it only behind a proxy that overwrites the header.
    #[serde(default)]
    pub client_ip_header: Option<String>,
    /// Refused grant redemptions and staff authentications a client may accumulate, refilled
    /// at `failures_per_minute`; past it every request of that client is refused (429) until
    /// the bucket refills. 0 turns it off.
    #[serde(default = "default_failures_per_minute")]
    pub failures_per_minute: f64,
    #[serde(default = "default_failure_burst")]
    /// The most refusals a client may collect at once before `failures_per_minute` applies.
    pub failure_burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: default_rate(),
            burst: default_burst(),
            client_ip_header: None,
            failures_per_minute: default_failures_per_minute(),
            failure_burst: default_failure_burst(),
        }
    }
}

fn default_failures_per_minute() -> f64 {
    30.0
}

fn default_failure_burst() -> u32 {
    60
}

impl Eq for RateLimit {}

fn default_rate() -> f64 {
    20.0
}

fn default_burst() -> u32 {
    100
}

fn default_max_nonces() -> u64 {
    100_000
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
        .ok_or(ConfigError::BadUrl("--url must start with https://"))?;
    if rest.is_empty()
        || url.ends_with('/')
        || rest.contains(['?', '#', '@', ' ', '\\'])
        || !rest.is_ascii()
        || rest.chars().any(|c| c.is_ascii_control())
    {
        return Err(ConfigError::BadUrl(
            "--url must be https://host[/path] without a trailing slash, query, fragment or credentials",
        )
        .into());
    }
    Ok(format!("{rest}/log"))
}

/// Checks the witness and rate-limit settings.
pub fn check_config(cfg: &Config) -> Result<()> {
    for k in &cfg.stats_authority_keys {
        if k.d.is_some() {
            return Err(bad_key(
                "stats_authority_keys",
                "public keys only (a private key `d` was given)",
            ));
        }
        spondon_core::keys::Es256PublicKey::from_jwk(k)
            .map_err(|e| bad_key("stats_authority_keys", e))?;
    }
    if cfg.stats_authority_keys.len() > 8 {
        return Err(range("stats_authority_keys", "at most 8 keys"));
    }
    if let Some(read) = &cfg.read_database_url {
        let primary = crate::failover::split_urls(&cfg.database_url);
        if !crate::failover::is_postgres(read.trim())
            || !primary.iter().all(|u| crate::failover::is_postgres(u))
        {
            return Err(ConfigError::ReadReplicaNotPostgres.into());
        }
    }
    let tls_paths = cfg.tls.iter().flat_map(|t| [&t.cert, &t.key]);
    for p in tls_paths.chain(&cfg.ca_files) {
        if !p.is_absolute() {
            return Err(ConfigError::RelativePath(p.clone()).into());
        }
    }
    for w in &cfg.witnesses {
        spondon_net::check_base_url(&w.url)
            .map_err(|_| ConfigError::BadWitnessUrl(w.url.clone()))?;
        let v = spondon_ledger::Verifier::from_vkey(&w.vkey)
            .map_err(|e| bad_key("witnesses vkey", e))?;
        if v.sig_type() != spondon_ledger::note::SIG_TYPE_COSIGNATURE_V1 {
            return Err(bad_key(
                "witnesses vkey",
                "not a cosignature/v1 key (give the witness's `witness_vkey`)",
            ));
        }
    }
    let r = &cfg.rate_limit;
    if !r.per_second.is_finite() || r.per_second < 0.0 || r.per_second > 1e6 {
        return Err(range(
            "rate_limit.per_second",
            "between 0 (off) and 1000000",
        ));
    }
    if !r.failures_per_minute.is_finite()
        || r.failures_per_minute < 0.0
        || r.failures_per_minute > 1e6
    {
        return Err(range(
            "rate_limit.failures_per_minute",
            "between 0 (off) and 1000000",
        ));
    }
    if r.failure_burst == 0 && r.failures_per_minute > 0.0 {
        return Err(range("rate_limit.failure_burst", "at least 1"));
    }
    if r.burst == 0 && r.per_second > 0.0 {
        return Err(range("rate_limit.burst", "at least 1"));
    }
    if cfg.max_outstanding_nonces == 0 {
        return Err(range("max_outstanding_nonces", "at least 1"));
    }
    Ok(())
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

/// The most a key or config file may hold.
const MAX_SECRET_BYTES: u64 = 1 << 20;

/// Writes a new key or config file (0600, atomically), never over an existing one.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    spondon_fs::create_private(path, bytes).map_err(|e| KeyFileError::from(e).into())
}

/// Reads a key or config file, refusing one readable by group or others.
fn read_secret(path: &Path) -> Result<Vec<u8>> {
    spondon_fs::read_private(path, MAX_SECRET_BYTES).map_err(|e| KeyFileError::from(e).into())
}

fn seed(bytes: &[u8], path: &Path) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| {
        KeyFileError::NotASeed {
            path: path.to_owned(),
        }
        .into()
    })
}

/// A data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory (`peer.json`, `keys/`, the SQLite database if any, `serve.lock`).
    pub path: PathBuf,
}

impl DataDir {
    /// The data directory at `path` (nothing is read or created yet).
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
        let cfg = serde_json::to_vec_pretty(config).map_err(|e| ConfigError::Malformed {
            path: self.path.join(CONFIG_FILE),
            reason: e.to_string(),
        })?;
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
        let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| ConfigError::Malformed {
            reason: e.to_string(),
            path,
        })?;
        let origin = check_url(&cfg.url)?;
        if origin != cfg.log_origin {
            return Err(ConfigError::LogOriginMismatch {
                found: cfg.log_origin,
                expected: origin,
            }
            .into());
        }
        check_config(&cfg)?;
        if !(1..=300).contains(&cfg.request_timeout_secs) {
            return Err(range("request_timeout_secs", "between 1 and 300"));
        }
        if cfg.max_body_bytes < 1024 || cfg.max_body_bytes > 16 << 20 {
            return Err(range("max_body_bytes", "between 1 KiB and 16 MiB"));
        }
        Ok(cfg)
    }

    /// Adds a log this peer witnesses (its note verifier key; the key name is the log origin)
    /// to `peer.json`, replacing the file atomically. Takes effect at the next start.
    pub fn add_witness_log(&self, vkey: &str) -> Result<Config> {
        let v =
            spondon_ledger::Verifier::from_vkey(vkey.trim()).map_err(|e| bad_key("--vkey", e))?;
        let mut cfg = self.config()?;
        if v.name() == cfg.log_origin {
            return Err(ConfigError::OwnLog.into());
        }
        let vkey = v.to_vkey();
        cfg.witness_logs.retain(|k| {
            spondon_ledger::Verifier::from_vkey(k).map_or(true, |o| o.name() != v.name())
        });
        cfg.witness_logs.push(vkey);
        self.write_config(&cfg)?;
        Ok(cfg)
    }

    /// Adds the health authority's statistics key (a public ES256 JWK, as `spondon-authority
    /// stats-key` prints it) to `stats_authority_keys`; a key already listed is not repeated.
    /// Takes effect at the next start.
    pub fn add_stats_authority_key(&self, jwk_json: &[u8]) -> Result<Config> {
        let jwk: spondon_core::keys::Jwk = serde_json::from_slice(jwk_json)
            .map_err(|e| bad_key("--jwk", format!("not a JWK: {e}")))?;
        if jwk.d.is_some() {
            return Err(bad_key(
                "--jwk",
                "holds a private key: give the public JWK that `spondon-authority stats-key` prints",
            ));
        }
        let key =
            spondon_core::keys::Es256PublicKey::from_jwk(&jwk).map_err(|e| bad_key("--jwk", e))?;
        let mut cfg = self.config()?;
        let listed = cfg
            .stats_authority_keys
            .iter()
            .any(|k| spondon_core::keys::Es256PublicKey::from_jwk(k).is_ok_and(|k| k == key));
        if !listed {
            cfg.stats_authority_keys.push(key.to_jwk());
        }
        check_config(&cfg)?;
        self.write_config(&cfg)?;
        Ok(cfg)
    }

    /// Adds (or replaces, by key name) a witness of this peer's own log to `peer.json`.
    /// Takes effect at the next start.
    pub fn add_witness(&self, url: &str, vkey: &str) -> Result<Config> {
        let mut cfg = self.config()?;
        let v =
            spondon_ledger::Verifier::from_vkey(vkey.trim()).map_err(|e| bad_key("--vkey", e))?;
        cfg.witnesses.retain(|w| {
            spondon_ledger::Verifier::from_vkey(&w.vkey).map_or(true, |o| o.name() != v.name())
        });
        cfg.witnesses.push(WitnessEndpoint {
            url: url.trim().to_owned(),
            vkey: v.to_vkey(),
        });
        check_config(&cfg)?;
        self.write_config(&cfg)?;
        Ok(cfg)
    }

    /// Sets the TLS certificate and key `serve` listens with (checked: both readable, the key
    /// the certificate's), and adds CAs trusted for outgoing HTTPS.
    pub fn set_tls(
        &self,
        files: Option<spondon_net::server::TlsFiles>,
        ca_files: &[PathBuf],
    ) -> Result<Config> {
        let mut cfg = self.config()?;
        if let Some(f) = files {
            let f = spondon_net::server::TlsFiles {
                cert: absolute(&f.cert)?,
                key: absolute(&f.key)?,
            };
            spondon_net::server::server_config(&f).map_err(|e| ConfigError::Tls(e.to_string()))?;
            cfg.tls = Some(f);
        }
        for ca in ca_files {
            let ca = absolute(ca)?;
            spondon_net::Client::new(&spondon_net::ClientOptions {
                ca_files: vec![ca.clone()],
                ..spondon_net::ClientOptions::default()
            })
            .map_err(|e| ConfigError::CaFiles(format!("--ca: {e}")))?;
            if !cfg.ca_files.contains(&ca) {
                cfg.ca_files.push(ca);
            }
        }
        check_config(&cfg)?;
        self.write_config(&cfg)?;
        Ok(cfg)
    }

    fn write_config(&self, cfg: &Config) -> Result<()> {
        let path = self.path.join(CONFIG_FILE);
        let bytes = serde_json::to_vec_pretty(cfg).map_err(|e| ConfigError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        spondon_fs::write_private(&path, &bytes).map_err(|e| ConfigError::File(e).into())
    }

    /// Takes the data directory's exclusive writer lock (`serve.lock`, an advisory `flock`),
    /// held until the returned file is dropped. Fails at once if another process holds it.
    pub fn lock_writer(&self) -> Result<fs::File> {
        let path = self.path.join(LOCK_FILE);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| ConfigError::Io {
                path: path.clone(),
                source,
            })?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => {
                Err(PeerError::Locked(self.path.display().to_string()))
            }
            Err(fs::TryLockError::Error(e)) => Err(ConfigError::Io { path, source: e }.into()),
        }
    }

    /// Reads the keys (refusing files readable by group or others).
    pub fn keys(&self) -> Result<Keys> {
        let rp = self.path.join(RECORD_KEY_FILE);
        let record = Es256KeyPair::from_pkcs8(&read_secret(&rp)?).map_err(|source| {
            KeyFileError::NotAKey {
                path: rp.clone(),
                source,
            }
        })?;
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

/// An absolute form of a path given on the command line (the config outlives the shell's
/// working directory).
fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|source| {
        ConfigError::Io {
            path: p.to_owned(),
            source,
        }
        .into()
    })
}
