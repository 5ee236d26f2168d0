//! The peer's state: config, keys, database, transparency log, witness.

use std::sync::Arc;

use spondon_ledger::{Database, IntegrityCheck, Log, Signer, Verifier, Witness};
use tokio::sync::Mutex;

use crate::config::{Config, DataDir, Keys, check_url};
use crate::error::{PeerError, Result};

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Runs `$body` with `$pool` bound to the SQLite or PostgreSQL pool.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            spondon_ledger::Database::Sqlite($pool) => $body,
            spondon_ledger::Database::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// Prefix of staff bearer tokens.
pub const STAFF_TOKEN_PREFIX: &str = "spst_";

/// A running peer.
#[derive(Debug)]
pub struct Peer {
    pub config: Config,
    pub keys: Keys,
    pub db: Database,
    pub log: Arc<Log>,
    pub log_signer: Signer,
    pub witness: Arc<Witness>,
    /// Serializes issuance so a record's row and its log entry are written in order.
    pub(crate) issue_lock: Mutex<()>,
    /// The size of the latest signed checkpoint; witness pushers wait on it.
    pub(crate) signed_size: tokio::sync::watch::Sender<u64>,
    /// Expiry times of the nonces handed out in the last nonce lifetime (a fast upper bound of
    /// the outstanding ones).
    pub(crate) nonce_window: std::sync::Mutex<std::collections::VecDeque<i64>>,
    /// Refusals counted but not logged (no verified grant of a patient enrolled here, a bad
    /// staff token), by code.
    pub(crate) unlogged: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Request counts, latencies and log gauges for `/metrics`.
    pub metrics: crate::metrics::Metrics,
}

pub(crate) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| PeerError::Integrity(format!("number {v} too large")))
}

/// A cursor from a request (`since`): a database integer, so at most 2^63 − 1; anything larger
/// is the client's error (400), not an inconsistency of stored data.
pub(crate) fn cursor(v: u64, field: &'static str) -> Result<i64> {
    i64::try_from(v).map_err(|_| PeerError::field(field, "must be at most 9223372036854775807"))
}

pub(crate) fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| PeerError::Integrity(format!("negative number {v} stored")))
}

/// `sha256(token)` as stored.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    spondon_core::keys::sha256(token.as_bytes())
}

impl Peer {
    /// Refusals that were counted instead of logged (see [`Peer::count_unlogged`]), by code.
    pub fn unlogged_refusals(&self) -> std::collections::BTreeMap<String, u64> {
        self.unlogged
            .lock()
            .map(|m| m.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
            .unwrap_or_default()
    }

    /// Counts a refusal that is not worth a permanent log entry (nobody it could concern is
    /// known here); the client is charged a failure token ([`PeerError::Unattributed`]).
    pub(crate) fn count_unlogged(&self, e: PeerError) -> PeerError {
        let code = e.code();
        if let Ok(mut m) = self.unlogged.lock() {
            *m.entry(code).or_insert(0) += 1;
        }
        tracing::info!(reason = code, "refusal counted (not logged)");
        PeerError::Unattributed(Box::new(e))
    }

    /// `spondon-peer init`: creates the data directory, keys, database and log; returns the peer
    /// and the first staff token (shown once, stored hashed).
    pub async fn init(
        dir: &DataDir,
        name: &str,
        url: &str,
        database_url: Option<&str>,
    ) -> Result<(Peer, String)> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(PeerError::Config(
                "--name must be 1–200 printable characters".into(),
            ));
        }
        let log_origin = check_url(url)?;
        if dir.path.join(crate::config::CONFIG_FILE).exists() {
            return Err(PeerError::Config(format!(
                "{} already holds a peer",
                dir.path.display()
            )));
        }
        let database_url = match database_url {
            Some(u) => u.to_owned(),
            None => {
                let abs = std::path::absolute(dir.path.join("peer.db"))?;
                format!("sqlite://{}", abs.display())
            }
        };
        let config = Config {
            name: name.to_owned(),
            url: url.to_owned(),
            database_url,
            log_origin,
            max_body_bytes: crate::config::DEFAULT_MAX_BODY,
            request_timeout_secs: 30,
            witness_logs: Vec::new(),
            witnesses: Vec::new(),
            rate_limit: crate::config::RateLimit::default(),
            max_outstanding_nonces: 100_000,
            console_secure_cookie: true,
            stats_authority_keys: Vec::new(),
            tls: None,
            ca_files: Vec::new(),
        };
        dir.create(&config)?;
        let peer = Self::open(dir, None).await?;
        let db_file = dir.path.join("peer.db");
        if db_file.exists() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&db_file, std::fs::Permissions::from_mode(0o600))?;
        }
        let token = peer.create_staff_token("initial").await?;
        Ok((peer, token))
    }

    /// Opens an initialized data directory; `database_url` overrides the config's.
    pub async fn open(dir: &DataDir, database_url: Option<&str>) -> Result<Peer> {
        let mut config = dir.config()?;
        if let Some(u) = database_url {
            config.database_url = u.to_owned();
        }
        let keys = dir.keys()?;
        Self::from_parts(config, keys).await
    }

    /// Opens the database and log for `config` and `keys`.
    pub async fn from_parts(config: Config, keys: Keys) -> Result<Peer> {
        crate::config::check_config(&config)?;
        let db = Database::connect(&config.database_url).await?;
        match &db {
            Database::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            Database::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        let log = Log::open(db.clone(), &config.log_origin, IntegrityCheck::Quick).await?;
        let log_signer = Signer::ed25519(
            &config.log_origin,
            spondon_core::keys::Ed25519KeyPair::from_seed(keys.log.seed())?,
        )?;
        // A checkpoint over the whole log: after a crash between an append and its checkpoint
        // signature, the entries appended (and committed) last would otherwise stay out of
        // every proof, and out of patients' pulls, until the next write.
        let metrics = crate::metrics::Metrics::new();
        let (log_size, _) = log.tree_head().await;
        match log.signed_checkpoint().await {
            Ok((cp, _)) if cp.size >= log_size => {}
            _ => {
                log.sign_checkpoint(&log_signer).await?;
                metrics.checkpoint_signed();
            }
        }
        let (signed, _) = log.signed_checkpoint().await?;
        let witness_name = format!("{}/witness", config.url.trim_start_matches("https://"));
        let mut witness = Witness::new(
            db.clone(),
            Signer::cosigner(
                &witness_name,
                spondon_core::keys::Ed25519KeyPair::from_seed(keys.witness.seed())?,
            )?,
        );
        for vkey in &config.witness_logs {
            let v = Verifier::from_vkey(vkey)
                .map_err(|e| PeerError::Config(format!("witness_logs entry: {e}")))?;
            let origin = v.name().to_owned();
            witness.trust_log(&origin, vec![v]);
        }
        Ok(Peer {
            config,
            keys,
            db,
            log: Arc::new(log),
            log_signer,
            witness: Arc::new(witness),
            issue_lock: Mutex::new(()),
            signed_size: tokio::sync::watch::Sender::new(signed.size),
            nonce_window: std::sync::Mutex::new(std::collections::VecDeque::new()),
            unlogged: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            metrics,
        })
    }

    /// The log's public key in note `vkey` form.
    pub fn log_vkey(&self) -> String {
        self.log_signer.verifier().to_vkey()
    }

    /// Creates an admin staff token with a label, valid 90 days; returns it (only its hash is
    /// stored). See [`Peer::create_staff_token_with`] for roles and lifetime.
    pub async fn create_staff_token(&self, label: &str) -> Result<String> {
        Ok(self
            .create_staff_token_with(
                label,
                &[crate::staff::Role::Admin],
                crate::staff::DEFAULT_STAFF_TOKEN_DAYS,
            )
            .await?
            .token)
    }

    /// Whether `token` is an active staff token (looked up by its SHA-256).
    pub async fn check_staff_token(&self, token: &str) -> Result<bool> {
        Ok(self.staff_auth(token).await?.is_some())
    }

    /// Signs a new checkpoint for everything appended so far.
    pub async fn sign_checkpoint(&self) -> Result<()> {
        let note = self.log.sign_checkpoint(&self.log_signer).await?;
        self.metrics.checkpoint_signed();
        let note = spondon_ledger::Note::parse(note.as_bytes())?;
        let cp = spondon_ledger::Checkpoint::from_text(&note.text)
            .map_err(|e| PeerError::Integrity(format!("signed checkpoint: {e}")))?;
        self.signed_size.send_if_modified(|s| {
            let newer = cp.size > *s;
            if newer {
                *s = cp.size;
            }
            newer
        });
        Ok(())
    }

    /// The latest cosigned checkpoint note and its tree size, read together (so proofs made
    /// for that size match the note even while appends continue).
    pub async fn current_checkpoint(&self) -> Result<(u64, String)> {
        let note = self.log.cosigned_checkpoint().await?;
        let body = note
            .split_once("\n\n")
            .map(|(b, _)| format!("{b}\n"))
            .ok_or_else(|| PeerError::Integrity("checkpoint note has no signature".into()))?;
        let cp = spondon_ledger::Checkpoint::from_text(&body)
            .map_err(|e| PeerError::Integrity(format!("stored checkpoint: {e}")))?;
        Ok((cp.size, note))
    }

    /// Closes the database pool.
    pub async fn close(&self) {
        self.db.close().await;
    }
}
