//! Operations: `/metrics` in the Prometheus text format, `/healthz` and `/readyz`.
//!
//! Counted per request: method, route template (never a concrete path: no Health ID or record
//! id reaches a label) and status; latency as a histogram per route. Read at each scrape: the
//! log's size and its signed and witnessed checkpoints, the age of the signed checkpoint, the
//! database pool, the reads a standby served. Nothing here carries health data or identifies a patient.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use spondon_ledger::Database;

use crate::peer::Peer;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    result: &'static str,
}

/// The peer's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    rate_limited: Counter,
    log_size: Gauge,
    signed_size: Gauge,
    witnessed_size: Gauge,
    witness_lag: Gauge,
    checkpoint_age: Gauge<f64, AtomicU64>,
    pool: Family<PoolLabels, Gauge>,
    replica_reads: Family<ReplicaLabels, Counter>,
    /// The log's replica counts (served, fell back) at the last scrape.
    replica_seen: [AtomicU64; 2],
    /// When the last checkpoint was signed (Unix seconds; 0 before the first).
    signed_at: AtomicI64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("spondon_peer");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to 10 s.
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route template",
            latency.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused by the rate limits (429)",
            rate_limited.clone(),
        );
        let log_size = Gauge::default();
        registry.register(
            "log_size",
            "Entries in the transparency log",
            log_size.clone(),
        );
        let signed_size = Gauge::default();
        registry.register(
            "log_signed_size",
            "Tree size of the latest signed checkpoint",
            signed_size.clone(),
        );
        let witnessed_size = Gauge::default();
        registry.register(
            "log_witnessed_size",
            "Tree size of the latest checkpoint with at least one witness cosignature",
            witnessed_size.clone(),
        );
        let witness_lag = Gauge::default();
        registry.register(
            "witness_lag_entries",
            "Entries signed but not yet covered by a witness cosignature",
            witness_lag.clone(),
        );
        let checkpoint_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since this process last signed a checkpoint",
            checkpoint_age.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool.clone(),
        );
        let replica_reads = Family::<ReplicaLabels, Counter>::default();
        registry.register(
            "replica_reads",
            "Log and pull reads sent to the read standby (read_database_url), by result: served \
             by it, or fell back to the primary (it lagged or did not answer)",
            replica_reads.clone(),
        );
        Metrics {
            registry,
            replica_reads,
            replica_seen: [AtomicU64::new(0), AtomicU64::new(0)],
            requests,
            latency,
            rate_limited,
            log_size,
            signed_size,
            witnessed_size,
            witness_lag,
            checkpoint_age,
            pool,
            signed_at: AtomicI64::new(0),
        }
    }

    /// Notes a signed checkpoint (for its age).
    pub fn checkpoint_signed(&self) {
        self.signed_at.store(
            spondon_core::NumericDate::now().seconds(),
            Ordering::Relaxed,
        );
    }

    /// Counts one answered request.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, started: Instant) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(started.elapsed().as_secs_f64());
        if status == 429 {
            self.rate_limited.inc();
        }
    }

    /// The text exposition, after reading the log and pool gauges.
    pub async fn render(&self, peer: &Peer) -> String {
        // The stored head: other processes on one PostgreSQL database append too.
        let size = match peer.log.stored_head().await {
            Ok((size, _)) => size,
            Err(_) => peer.log.tree_head().await.0,
        };
        self.log_size.set(gauge(size));
        let signed = *peer.signed_size.borrow();
        self.signed_size.set(gauge(signed));
        let witnessed = peer
            .log
            .witnessed_checkpoint(1)
            .await
            .ok()
            .flatten()
            .map_or(0, |(s, _)| s);
        self.witnessed_size.set(gauge(witnessed));
        self.witness_lag
            .set(gauge(signed.saturating_sub(witnessed)));
        let at = self.signed_at.load(Ordering::Relaxed);
        if at > 0 {
            let age = spondon_core::NumericDate::now()
                .seconds()
                .saturating_sub(at);
            self.checkpoint_age.set(age as f64);
        }
        let (total, idle) = match &peer.db {
            Database::Sqlite(p) => (p.size(), p.num_idle()),
            Database::Postgres(p) => (p.size(), p.num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(idle));
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(total.saturating_sub(idle)));
        if let Some(r) = peer.log.replica_reads() {
            for (seen, (result, now)) in self
                .replica_seen
                .iter()
                .zip([("served", r.served), ("fell_back", r.fell_back)])
            {
                let before = seen.swap(now, Ordering::Relaxed);
                self.replica_reads
                    .get_or_create(&ReplicaLabels { result })
                    .inc_by(now.saturating_sub(before));
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
