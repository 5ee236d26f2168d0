//! The peer's state: config, keys, database, transparency log, witness.

use std::sync::Arc;

use spondon_ledger::{Database, IntegrityCheck, Log, Signer, Verifier, Witness};
use tokio::sync::Mutex;

use crate::config::{Config, ConfigError, DataDir, Keys, check_url};
use crate::error::{PeerError, Result};

pub(crate) static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
pub(crate) static POSTGRES_MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate!("migrations/postgres");

/// PostgreSQL advisory lock (session) that serializes the peer's log writers across every
/// process on one database: a log append, the row that records it and the checkpoint signature
/// happen together, in log order, whatever process serves the request.
pub const WRITER_LOCK_KEY: i64 = 0x5350_4f4e_5752_5431; // "SPONWRT1"

/// Held while a log entry and its rows are written ([`Peer::write_lock`]).
pub(crate) struct WriteGuard<'a> {
    _local: tokio::sync::MutexGuard<'a, ()>,
    pg: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

async fn unlock(mut c: sqlx::pool::PoolConnection<sqlx::Postgres>) {
    let done = crate::db::server::advisory_unlock(&mut c, WRITER_LOCK_KEY).await;
    if done.is_err() {
        // Closing the session releases its locks.
        drop(c.detach());
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.pg.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(unlock(c));
                }
                Err(_) => drop(c.detach()),
            }
        }
    }
}

/// Prefix of staff bearer tokens.
pub const STAFF_TOKEN_PREFIX: &str = "spst_";

/// A running peer.
#[derive(Debug)]
pub struct Peer {
    /// The checked configuration (`peer.json`).
    pub config: Config,
    /// The peer's keys (record, log, witness).
    pub keys: Keys,
    /// The database (SQLite or PostgreSQL, migrated).
    pub db: Database,
    /// The transparency log of issued records, revocations and statistics.
    pub log: Arc<Log>,
    /// Signs this log's checkpoints (the log key).
    pub log_signer: Signer,
    /// Cosigns the checkpoints of the logs listed in `witness_logs`.
    pub witness: Arc<Witness>,
    /// Serializes issuance so a record's row and its log entry are written in order; take it
    /// with [`Peer::write_lock`], which on PostgreSQL also takes the database-wide writer lock.
    /// On SQLite the staff audit's group commit takes it too (see [`Peer::audit`]).
    pub(crate) issue_lock: Arc<Mutex<()>>,
    /// Records waiting for the next group commit (see `Peer::commit_prepared`).
    pub(crate) pending_records: std::sync::Mutex<Vec<crate::records::PendingRecord>>,
    /// Access events waiting for the next group commit (see `Peer::commit_event`).
    pub(crate) pending_events: std::sync::Mutex<Vec<crate::access::PendingEvent>>,
    /// Staff audit entries waiting for the next group commit (see [`Peer::audit`]).
    pub(crate) pending_audits:
        std::sync::Mutex<Vec<(crate::staff::AuditEntry, crate::staff::AuditReply)>>,
    /// Held by whoever writes the next batch of audit entries, until it has answered them.
    pub(crate) audit_lock: Arc<Mutex<()>>,
    /// The size of the latest signed checkpoint; witness pushers wait on it.
    pub(crate) signed_size: tokio::sync::watch::Sender<u64>,
    /// Makes and checks the server nonces (the key shared through the database).
    pub(crate) nonce_key: crate::nonce::NonceKey,
    /// The nonces this process handed out and has not seen spent, unexpired (the estimate
    /// behind `max_outstanding_nonces`).
    pub(crate) nonce_window: std::sync::Mutex<crate::nonce::Outstanding>,
    /// When the expired nonces and proof-of-possession ids were last purged (Unix seconds):
    /// the purges scan their tables, so they run once per `patient::PURGE_EVERY` seconds, not
    /// on every request.
    pub(crate) purged: PurgeTimes,
    /// Refusals counted but not logged (no verified grant of a patient enrolled here, a bad
    /// staff token), by code.
    pub(crate) unlogged: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// The newest checkpoint note this process signed, with its size, on SQLite only (one
    /// process writes a SQLite log, `serve.lock`, so it is the stored one; on PostgreSQL another
    /// process may have signed a newer one): [`Peer::current_checkpoint`] answers it without a
    /// read. Kept only when it is stored and carries no cosignature yet: with the count of
    /// [`Log::cosignatures_stored`] before it was signed, and used only while that count has
    /// not moved (cosignatures stored since may be its own).
    pub(crate) latest_note: std::sync::Mutex<Option<(u64, String, u64)>>,
    /// Request counts, latencies and log gauges for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The primary followed across candidates, when `database_url` lists several
    /// (`crate::failover`).
    pub(crate) failover: Option<Arc<crate::failover::Failover>>,
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
    /// Refusals that were counted instead of logged (those concerning nobody known here), by code.
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
            return Err(ConfigError::OutOfRange {
                what: "--name",
                range: "1–200 printable characters",
            }
            .into());
        }
        let log_origin = check_url(url)?;
        if dir.path.join(crate::config::CONFIG_FILE).exists() {
            return Err(ConfigError::AlreadyInitialized(dir.path.clone()).into());
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
            read_database_url: None,
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
            unreferenced_file_secs: crate::config::DEFAULT_UNREFERENCED_FILE_SECS,
        };
        dir.create(&config)?;
        let peer = Self::open(dir, None).await?;
        let token = peer.create_staff_token("initial").await?;
        Ok((peer, token))
    }

    /// Opens an initialized data directory; `database_url` overrides the config's.
    pub async fn open(dir: &DataDir, database_url: Option<&str>) -> Result<Peer> {
        Self::open_with(dir, database_url, None).await
    }

    /// [`Peer::open`], with the standby that serves reads (`read_database_url`) overridden too.
    pub async fn open_with(
        dir: &DataDir,
        database_url: Option<&str>,
        read_database_url: Option<&str>,
    ) -> Result<Peer> {
        let mut config = dir.config()?;
        if let Some(u) = database_url {
            config.database_url = u.to_owned();
        }
        if let Some(u) = read_database_url {
            config.read_database_url = Some(u.to_owned());
        }
        let keys = dir.keys()?;
        // On the heap: opening is a large future (database, migrations, log, failover watcher),
        // and every caller's future would otherwise carry it (a debug build's test thread ran
        // out of its 2 MiB stack).
        Box::pin(Self::from_parts(config, keys)).await
    }

    /// Opens the database and log for `config` and `keys`.
    pub async fn from_parts(config: Config, keys: Keys) -> Result<Peer> {
        crate::config::check_config(&config)?;
        // One URL, or a list of PostgreSQL candidates (a primary and its standbys).
        let (db, failover) = crate::failover::connect(&config.database_url).await?;
        // Under the schema lock on PostgreSQL: several `serve` processes may start at once.
        db.migrate(&SQLITE_MIGRATOR, &POSTGRES_MIGRATOR).await?;
        let log = Log::open(db.clone(), &config.log_origin, IntegrityCheck::Quick).await?;
        // The nonce key: made by the first process to open the database, read by the others.
        let fresh: [u8; 32] = spondon_core::keys::random_bytes()?;
        let nonce_key = crate::nonce::NonceKey::new(&crate::db::nonces::key(&db, &fresh).await?)?;
        let log = match &config.read_database_url {
            Some(url) => log.read_from(Database::connect_replica(url)?),
            None => log,
        };
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
            let v = Verifier::from_vkey(vkey).map_err(|e| ConfigError::BadKey {
                what: "witness_logs entry",
                reason: e.to_string(),
            })?;
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
            issue_lock: Arc::new(Mutex::new(())),
            pending_records: std::sync::Mutex::new(Vec::new()),
            pending_events: std::sync::Mutex::new(Vec::new()),
            pending_audits: std::sync::Mutex::new(Vec::new()),
            audit_lock: Arc::new(Mutex::new(())),
            signed_size: tokio::sync::watch::Sender::new(signed.size),
            nonce_key,
            nonce_window: std::sync::Mutex::new(crate::nonce::Outstanding::default()),
            purged: PurgeTimes::default(),
            latest_note: std::sync::Mutex::new(None),
            unlogged: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            metrics,
            failover,
        })
    }

    /// The failover state when the peer follows a primary across several database candidates.
    pub fn failover(&self) -> Option<&crate::failover::Failover> {
        self.failover.as_deref()
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

    /// Takes the writer lock: the process's own lock, and on PostgreSQL the database-wide
    /// advisory lock [`WRITER_LOCK_KEY`] on a connection of its own (waiting for writers of
    /// other processes). SQLite needs no more: one process writes it (`serve.lock`).
    pub(crate) async fn write_lock(&self) -> Result<WriteGuard<'_>> {
        self.write_lock_from(self.issue_lock.lock().await).await
    }

    /// [`Peer::write_lock`] for a caller that already holds the process's own lock.
    pub(crate) async fn write_lock_from<'a>(
        &'a self,
        local: tokio::sync::MutexGuard<'a, ()>,
    ) -> Result<WriteGuard<'a>> {
        // During a failover nothing is written until the new primary's log was re-read; a
        // writer that was waiting for a connection while the primary was lost gives up too
        // (it may have reached the new primary before the watcher re-read its log).
        let losses = self.failover.as_ref().map(|f| f.losses());
        self.check_available()?;
        let guard = self.write_lock_unchecked_from(local).await?;
        if self.failover.as_ref().map(|f| f.losses()) != losses {
            drop(guard);
            return Err(PeerError::DatabaseUnavailable);
        }
        self.check_available()?;
        Ok(guard)
    }

    /// [`Peer::write_lock`] even while a failover is under way (for the failover watcher).
    pub(crate) async fn write_lock_unchecked(&self) -> Result<WriteGuard<'_>> {
        self.write_lock_unchecked_from(self.issue_lock.lock().await)
            .await
    }

    async fn write_lock_unchecked_from<'a>(
        &'a self,
        local: tokio::sync::MutexGuard<'a, ()>,
    ) -> Result<WriteGuard<'a>> {
        let pg = match &self.db {
            Database::Sqlite(_) => None,
            Database::Postgres(p) => {
                let mut c = p.acquire().await?;
                crate::db::server::advisory_lock(&mut c, WRITER_LOCK_KEY).await?;
                Some(c)
            }
        };
        Ok(WriteGuard { _local: local, pg })
    }

    /// Signs a new checkpoint for everything appended so far.
    pub async fn sign_checkpoint(&self) -> Result<()> {
        let cosigned = self.log.cosignatures_stored();
        let note = self.log.sign_checkpoint(&self.log_signer).await?;
        self.checkpoint_signed(note, cosigned)
    }

    /// Appends `entries` with `rows` in one transaction and signs a checkpoint over them, in
    /// that same transaction when the log allows it
    /// ([`spondon_ledger::Log::append_signed`]): when this returns `Ok`, the entries, the rows
    /// and a signed checkpoint covering them are durable.
    pub(crate) async fn append_signed<E: AsRef<[u8]>>(
        &self,
        entries: &[E],
        rows: spondon_ledger::ExtraRows,
    ) -> Result<spondon_ledger::Appended> {
        let cosigned = self.log.cosignatures_stored();
        let (appended, note) = self
            .log
            .append_signed(entries, Some(rows), &self.log_signer)
            .await?;
        self.checkpoint_signed(note, cosigned)?;
        Ok(appended)
    }

    /// Publishes a signed checkpoint note's size (metrics, and to waiters on the signed size)
    /// and, on SQLite, keeps the note; `cosigned` is the log's count of stored cosignatures
    /// read before it was signed.
    fn checkpoint_signed(&self, text: String, cosigned: u64) -> Result<()> {
        self.metrics.checkpoint_signed();
        let note = spondon_ledger::Note::parse(text.as_bytes())?;
        let cp = spondon_ledger::Checkpoint::from_text(&note.text)
            .map_err(|e| PeerError::Integrity(format!("signed checkpoint: {e}")))?;
        let newer = self.signed_size.send_if_modified(|s| {
            let newer = cp.size > *s;
            if newer {
                *s = cp.size;
            }
            newer
        });
        // On SQLite a size larger than any signed before is a note this process just stored:
        // no witness can have cosigned it before cosignatures were next stored.
        if newer
            && matches!(self.db, Database::Sqlite(_))
            && let Ok(mut kept) = self.latest_note.lock()
            && kept.as_ref().is_none_or(|(size, _, _)| *size < cp.size)
        {
            *kept = Some((cp.size, text, cosigned));
        }
        Ok(())
    }

    /// The size of the newest signed checkpoint: on SQLite the one this process knows it
    /// signed last (one process writes a SQLite log), else read from the database.
    pub(crate) async fn signed_size_now(&self) -> Result<u64> {
        if matches!(self.db, Database::Sqlite(_)) {
            return Ok(*self.signed_size.borrow());
        }
        Ok(self.log.signed_checkpoint().await?.0.size)
    }

    /// The latest cosigned checkpoint note and its tree size, read together (so proofs made
    /// for that size match the note even while appends continue). On SQLite, the note this
    /// process signed last ([`Peer::latest_note`]) while no cosignature was stored since,
    /// without a read.
    pub async fn current_checkpoint(&self) -> Result<(u64, String)> {
        let kept = self.latest_note.lock().ok().and_then(|k| {
            k.as_ref()
                .filter(|(_, _, c)| *c == self.log.cosignatures_stored())
                .map(|(size, note, _)| (*size, note.clone()))
        });
        if let Some(kept) = kept {
            return Ok(kept);
        }
        let note = self.log.cosigned_checkpoint().await?;
        let body = note
            .split_once("\n\n")
            .map(|(b, _)| format!("{b}\n"))
            .ok_or_else(|| PeerError::Integrity("checkpoint note has no signature".into()))?;
        let cp = spondon_ledger::Checkpoint::from_text(&body)
            .map_err(|e| PeerError::Integrity(format!("stored checkpoint: {e}")))?;
        Ok((cp.size, note))
    }

    /// Closes the database pool (and the log's own writing connection).
    pub async fn close(&self) {
        self.log.close().await;
        self.db.close().await;
    }
}

/// The last purge times of the single-use tables (`Peer::purged`).
#[derive(Debug, Default)]
pub(crate) struct PurgeTimes {
    pub(crate) nonces: std::sync::atomic::AtomicI64,
    pub(crate) pop_ids: std::sync::atomic::AtomicI64,
}

impl PurgeTimes {
    /// Whether a purge last run at `last` is due again at `now`; the caller that gets `true`
    /// runs it (one caller per interval, whatever the concurrency).
    pub(crate) fn due(last: &std::sync::atomic::AtomicI64, now: i64) -> bool {
        use std::sync::atomic::Ordering;
        let prev = last.load(Ordering::Acquire);
        now - prev >= crate::patient::PURGE_EVERY
            && last
                .compare_exchange(prev, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}
