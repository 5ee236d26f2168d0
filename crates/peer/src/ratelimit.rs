//! Per-client token buckets for the unauthenticated, patient and doctor routes
//! (`rate_limit` in `peer.json`): a refused request gets `429` problem+json `rate_limited` with
//! `Retry-After`. Staff routes (authenticated by bearer token) are not limited.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::RateLimit;
use crate::error::problem;

/// Most client buckets kept; beyond it, clients without a bucket are refused until old
/// buckets refill and are dropped.
const MAX_CLIENTS: usize = 100_000;
/// Bucket count above which full (idle) buckets are pruned.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by client address (IPv6 by its /64).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    header: Option<HeaderName>,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter for `cfg` (`per_second` 0 = off).
    pub fn new(cfg: &RateLimit) -> Self {
        Self {
            per_second: cfg.per_second,
            burst: f64::from(cfg.burst),
            header: cfg
                .client_ip_header
                .as_deref()
                .and_then(|h| HeaderName::try_from(h).ok()),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// A limiter of refused requests (`failures_per_minute`, `failure_burst`).
    pub fn failures(cfg: &RateLimit) -> Self {
        Self {
            per_second: cfg.failures_per_minute / 60.0,
            burst: f64::from(cfg.failure_burst),
            header: cfg
                .client_ip_header
                .as_deref()
                .and_then(|h| HeaderName::try_from(h).ok()),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must wait for a token, without taking one (`None`: a token is there).
    pub fn wait(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if !self.enabled() {
            return None;
        }
        let key = bucket_key(ip);
        let map = self.buckets.lock().ok()?;
        let b = map.get(&key)?;
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        let tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / self.per_second))
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    /// Takes one token for `ip`; `Err(retry_after)` when the bucket is empty.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let key = bucket_key(ip);
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        let refill = Duration::from_secs_f64(self.burst / self.per_second);
        if map.len() > PRUNE_ABOVE && !map.contains_key(&key) {
            map.retain(|_, b| now.saturating_duration_since(b.at) < refill);
        }
        if map.len() >= MAX_CLIENTS && !map.contains_key(&key) {
            return Err(refill.max(Duration::from_secs(1)));
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second))
        }
    }

    fn client(&self, req: &Request) -> IpAddr {
        if let Some(h) = &self.header
            && let Some(ip) = req
                .headers()
                .get_all(h)
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return ip;
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
    }
}

/// The bucket of an address: IPv6 by its /64.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Marks a response whose refusal is charged to the client's failure bucket.
#[derive(Debug, Clone, Copy)]
pub struct ChargedFailure;

fn too_many(wait: Duration, detail: &str) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The failure middleware: a client whose failure bucket is empty is refused at once (every
/// route, staff included); a response marked [`ChargedFailure`] takes a token.
pub async fn limit_failures(
    State(limiter): State<std::sync::Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    if !limiter.enabled() {
        return next.run(req).await;
    }
    let ip = limiter.client(&req);
    if let Some(wait) = limiter.wait(ip, Instant::now()) {
        return too_many(
            wait,
            "too many refused requests from this address; retry later",
        );
    }
    let r = next.run(req).await;
    if r.extensions().get::<ChargedFailure>().is_some() {
        let _ = limiter.take(ip, Instant::now());
    }
    r
}

/// Whether a path is limited: everything but the staff API.
fn limited(path: &str) -> bool {
    !(path == "/staff" || path.starts_with("/staff/"))
}

/// The middleware.
pub async fn limit(
    State(limiter): State<std::sync::Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    if limiter.enabled() && limited(req.uri().path()) {
        let ip = limiter.client(&req);
        if let Err(wait) = limiter.take(ip, Instant::now()) {
            return too_many(wait, "too many requests from this address; retry later");
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill() {
        let l = RateLimiter::new(&RateLimit {
            per_second: 2.0,
            burst: 3,
            ..RateLimit::default()
        });
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.take(a, t0).is_ok());
        }
        let wait = l.take(a, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(l.take(b, t0).is_ok(), "per client");
        assert!(l.take(a, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take(a, t0 + Duration::from_millis(500)).is_err());
        // Same /64, same bucket.
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.take(v6a, t0).is_ok());
        }
        assert!(l.take(v6b, t0).is_err());
        let off = RateLimiter::new(&RateLimit {
            per_second: 0.0,
            burst: 0,
            ..RateLimit::default()
        });
        for _ in 0..1000 {
            assert!(off.take(a, t0).is_ok());
        }
    }
}
