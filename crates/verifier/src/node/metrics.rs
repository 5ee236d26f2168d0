//! Operations for the clinic node: `/metrics` (Prometheus text format), `/healthz`, `/readyz`.
//!
//! Requests are counted by route (the server's table of routes; anything else is
//! `unmatched`), with latency histograms; read at each scrape: the trust list (sequence, seconds
//! to expiry, age), the age of the oldest record-revocation list, and the database pool. No
//! patient, grant or record identifier reaches a label.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::Node;

/// The label a request path is counted under: its route template from the server's one
/// table of routes ([`crate::server::ROUTES`]), never the concrete path.
pub fn route_label(path: &str) -> &'static str {
    crate::server::route_template(path).unwrap_or("unmatched")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    trust_sequence: Gauge,
    trust_expires_in: Gauge,
    trust_age: Gauge,
    revocations_age: Gauge,
    pool: Family<PoolLabels, Gauge>,
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
        let mut registry = Registry::with_prefix("spondon_verifier");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route",
            latency.clone(),
        );
        let trust_sequence = Gauge::default();
        registry.register(
            "trust_list_sequence",
            "Sequence number of the trust list in use",
            trust_sequence.clone(),
        );
        let trust_expires_in = Gauge::default();
        registry.register(
            "trust_list_expires_in_seconds",
            "Seconds until the trust list in use expires (negative: expired)",
            trust_expires_in.clone(),
        );
        let trust_age = Gauge::default();
        registry.register(
            "trust_list_age_seconds",
            "Seconds since the trust list in use was fetched or pinned",
            trust_age.clone(),
        );
        let revocations_age = Gauge::default();
        registry.register(
            "revocation_lists_age_seconds",
            "Seconds since the oldest hospital's record-revocation list was refreshed (-1: never)",
            revocations_age.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            trust_sequence,
            trust_expires_in,
            trust_age,
            revocations_age,
            pool,
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &'static str, status: u16, started: Instant) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(started.elapsed().as_secs_f64());
    }

    /// The text exposition, after reading the trust and pool gauges.
    pub fn render(&self, node: &Node) -> String {
        let now = spondon_core::NumericDate::now().seconds();
        let trust = node.trust();
        self.trust_sequence
            .set(i64::try_from(trust.list.sequence).unwrap_or(i64::MAX));
        self.trust_expires_in
            .set(trust.list.expires.seconds().saturating_sub(now));
        self.trust_age.set(now.saturating_sub(trust.fetched_at));
        self.revocations_age.set(
            trust
                .revocations_as_of
                .map_or(-1, |t| now.saturating_sub(t)),
        );
        let (total, idle) = node.db.pool_stats();
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(idle));
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(total.saturating_sub(idle)));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_identifier_becomes_a_label() {
        assert_eq!(
            super::route_label("/api/grant/records"),
            "/api/grant/records"
        );
        assert_eq!(super::route_label("/qr/decoder.wasm"), "/qr/{file}");
        assert_eq!(
            super::route_label("/api/document/file/abc"),
            "/api/document/file/{id}"
        );
        assert_eq!(super::route_label("/api/patients/1234-5678"), "unmatched");
    }
}
