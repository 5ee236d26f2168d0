//! PostgreSQL high availability: a peer given several candidate database URLs (a primary and its
//! streaming standbys, comma-separated in `--database-url`) writes to the one that accepts
//! writes (`pg_is_in_recovery()` is false) and follows a failover by itself.
//!
//! While the primary is gone every database request fails, and the peer answers 503
//! `database_unavailable` (nothing half-written: each write is one transaction, or a log append
//! whose record rows are missing, which the client's retry with its `Idempotency-Key` repairs).
//! A watcher task ([`Peer::start_failover_watch`], started by `serve`) checks the primary every
//! [`CHECK_EVERY`]; when it stops answering or turns read-only it probes every candidate with
//! bounded backoff, points the pool at the one that accepts writes (connections opened before
//! the switch are closed instead of reused), re-reads the log's per-process state from it
//! ([`spondon_ledger::Log::resync`], which refuses a database that lacks entries acknowledged
//! before) and signs a checkpoint over its whole log. Only then are writes let through again.
//! See docs/operations.md, "High availability".

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use spondon_ledger::Database;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::config::ConfigError;
use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::Peer;

/// How long a request waits for a database connection before it is answered 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the watcher checks that the primary still answers and accepts writes.
pub const CHECK_EVERY: Duration = Duration::from_millis(200);
/// Longest wait for one candidate's answer to the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait between two rounds of probes while no candidate accepts writes (a probe is
/// one connection per candidate: cheap enough to find a promoted standby within half a second).
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Connections of the pool (as [`Database::connect`]).
const POOL_SIZE: u32 = 8;

/// The URLs of a `--database-url` list: comma-separated, blanks ignored.
pub fn split_urls(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect()
}

/// Whether `url` is a PostgreSQL URL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The state of a peer that follows a PostgreSQL primary across candidates.
#[derive(Debug)]
pub struct Failover {
    candidates: Vec<PgConnectOptions>,
    /// `host:port/database` of each candidate (never credentials), for logs.
    labels: Vec<String>,
    current: AtomicUsize,
    /// When the pool last changed candidate: older connections are closed, not reused.
    switched: std::sync::Mutex<Instant>,
    /// Whether writes may go through: false from the moment the primary is lost until the new
    /// one has been checked and its log re-read.
    available: AtomicBool,
    /// Incremented each time the primary is lost: a write that began before cannot go on after.
    losses: AtomicU64,
}

impl Failover {
    /// Whether the database accepts this process's writes now.
    pub fn available(&self) -> bool {
        self.available.load(Ordering::Acquire)
    }

    /// How many times the primary was lost so far.
    pub fn losses(&self) -> u64 {
        self.losses.load(Ordering::Acquire)
    }

    /// `host:port/database` of the candidate in use.
    pub fn current(&self) -> &str {
        &self.labels[self.current.load(Ordering::Acquire)]
    }

    /// The candidates' labels, in the order given.
    pub fn candidates(&self) -> &[String] {
        &self.labels
    }

    fn since_switch(&self) -> Duration {
        self.switched
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or(Duration::ZERO)
    }
}

fn label(o: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("")
    )
}

/// Connects to a candidate: the connection if it answers and accepts writes.
async fn probe(o: &PgConnectOptions) -> std::result::Result<PgConnection, &'static str> {
    let check = async {
        let mut c = o.connect().await.map_err(|_| "unreachable")?;
        let standby = db::server::in_recovery(&mut c)
            .await
            .map_err(|_| "unreachable")?;
        if standby {
            let _ = c.close().await;
            return Err("read-only (a standby)");
        }
        Ok(c)
    };
    tokio::time::timeout(PROBE_TIMEOUT, check)
        .await
        .map_err(|_| "no answer")?
}

/// The first candidate that accepts writes, the one in use first.
async fn find_primary(f: &Failover) -> Option<(usize, PgConnection)> {
    let start = f.current.load(Ordering::Acquire);
    for k in 0..f.candidates.len() {
        let i = (start + k) % f.candidates.len();
        match probe(&f.candidates[i]).await {
            Ok(c) => return Some((i, c)),
            Err(why) => tracing::debug!(database = %f.labels[i], why, "database candidate"),
        }
    }
    None
}

/// Opens `url`: one URL as before ([`Database::connect`]); a comma-separated list of
/// PostgreSQL URLs as a pool on the candidate that accepts writes, with the [`Failover`]
/// state that follows it.
pub async fn connect(url: &str) -> Result<(Database, Option<Arc<Failover>>)> {
    let urls = split_urls(url);
    if urls.len() <= 1 {
        return Ok((Database::connect(url.trim()).await?, None));
    }
    let mut candidates = Vec::with_capacity(urls.len());
    for u in &urls {
        if !is_postgres(u) {
            return Err(ConfigError::DatabaseUrl(
                "a list of database URLs is for PostgreSQL only (postgres://…,postgres://…)".into(),
            )
            .into());
        }
        let o =
            PgConnectOptions::from_str(u).map_err(|e| ConfigError::DatabaseUrl(e.to_string()))?;
        candidates.push(o);
    }
    let labels: Vec<String> = candidates.iter().map(label).collect();
    let f = Arc::new(Failover {
        candidates,
        labels,
        current: AtomicUsize::new(0),
        switched: std::sync::Mutex::new(Instant::now()),
        available: AtomicBool::new(false),
        losses: AtomicU64::new(0),
    });
    // A primary may be on its way (a failover under way): a few rounds before giving up.
    let mut found = None;
    let mut wait = Duration::from_millis(200);
    for _ in 0..5 {
        found = find_primary(&f).await;
        if found.is_some() {
            break;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
    let Some((i, c)) = found else {
        return Err(ConfigError::NoWritableDatabase(f.labels.join(", ")).into());
    };
    let _ = c.close().await;
    f.current.store(i, Ordering::Release);
    let hook = f.clone();
    let pool = spondon_ledger::without_maintenance(PgPoolOptions::new())
        .max_connections(POOL_SIZE)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .before_acquire(move |_, meta| {
            // A connection opened before the last switch may be to the old primary.
            let fresh = meta.age < hook.since_switch();
            Box::pin(async move { Ok(fresh) })
        })
        .connect_lazy_with(f.candidates[i].clone());
    let db = Database::from_postgres_pool(pool).await?;
    f.available.store(true, Ordering::Release);
    tracing::info!(database = %f.labels[i], candidates = f.labels.len(), "database primary");
    Ok((db, Some(f)))
}

impl Peer {
    /// Starts the task that follows the PostgreSQL primary across a failover (when the peer
    /// was given several candidate URLs; `None` otherwise). It ends when the pool is closed
    /// ([`Peer::close`]).
    pub fn start_failover_watch(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let f = self.failover.clone()?;
        let peer = self.clone();
        Some(tokio::spawn(async move { watch(peer, f).await }))
    }

    /// Refuses a write while the failover watcher has not confirmed a writable primary.
    pub(crate) fn check_available(&self) -> Result<()> {
        match &self.failover {
            Some(f) if !f.available() => Err(PeerError::DatabaseUnavailable),
            _ => Ok(()),
        }
    }

    /// After a switch: re-reads the log from the new primary (refusing one that lacks
    /// acknowledged entries) and signs a checkpoint over its whole log, under the writer lock.
    async fn resync(&self) -> Result<()> {
        let guard = self.write_lock_unchecked().await?;
        let (size, _) = self.log.resync().await?;
        self.sign_checkpoint().await?;
        drop(guard);
        tracing::info!(
            log_size = size,
            "log re-read from the database after a switch"
        );
        Ok(())
    }
}

async fn still_primary(c: &mut PgConnection) -> bool {
    let q = db::server::in_recovery(c);
    matches!(tokio::time::timeout(PROBE_TIMEOUT, q).await, Ok(Ok(false)))
}

async fn watch(peer: Arc<Peer>, f: Arc<Failover>) {
    let Database::Postgres(pool) = peer.db.clone() else {
        return;
    };
    let mut mon = probe(&f.candidates[f.current.load(Ordering::Acquire)])
        .await
        .ok();
    let mut backoff = FIRST_BACKOFF;
    let mut lost_at: Option<Instant> = None;
    loop {
        if pool.is_closed() {
            return;
        }
        if let Some(c) = mon.as_mut() {
            if still_primary(c).await {
                tokio::time::sleep(CHECK_EVERY).await;
                continue;
            }
            mon = None;
        }
        if f.available.swap(false, Ordering::AcqRel) {
            f.losses.fetch_add(1, Ordering::AcqRel);
            lost_at = Some(Instant::now());
            tracing::warn!(
                database = %f.current(),
                "database primary lost (unreachable or read-only): writes answer 503 database_unavailable until a candidate accepts writes"
            );
        }
        let Some((i, conn)) = find_primary(&f).await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        };
        if i != f.current.swap(i, Ordering::AcqRel) {
            if let Ok(mut t) = f.switched.lock() {
                *t = Instant::now();
            }
            pool.set_connect_options(f.candidates[i].clone());
            tracing::warn!(database = %f.labels[i], "database primary switched");
        }
        match peer.resync().await {
            Ok(()) => {
                f.available.store(true, Ordering::Release);
                backoff = FIRST_BACKOFF;
                mon = Some(conn);
                let ms = lost_at
                    .take()
                    .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX));
                tracing::info!(database = %f.labels[i], unavailable_ms = ?ms, "database primary available");
            }
            Err(e) => {
                // Also an old primary that lost acknowledged entries: stay unavailable.
                tracing::error!(database = %f.labels[i], code = e.code(), error = %e, "database primary not usable yet");
                let _ = conn.close().await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
