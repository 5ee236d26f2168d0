//! Witnessing this peer's own log: every new checkpoint is pushed to the configured witnesses
//! with C2SP `tlog-witness` `add-checkpoint` (old size + consistency proof), and the
//! cosignatures they return are stored with the checkpoint, so `/checkpoint`, pulls, grant
//! redemptions and proof bundles serve it cosigned.
//!
//! One background task per witness. Issuance never waits for a witness: a witness that is down
//! or failing is retried with exponential backoff (1 s doubling to 60 s) and logged at `warn`
//! (witness name, status, sizes — never health data). A `409 Conflict` carries the size the
//! witness last cosigned (after a restart of this peer, or a lost response): the task resyncs
//! to it and pushes again at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use spondon_ledger::Verifier;
use spondon_ledger::witness::AddCheckpoint;

use crate::error::{PeerError, Result};
use crate::peer::Peer;

const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Connect + request + response time limit of one push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest witness response read.
const MAX_RESPONSE: usize = 64 * 1024;
/// Conflicts in a row before the task backs off (a witness that keeps moving its size).
const MAX_CONFLICTS: u32 = 3;

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: String,
    pub port: u16,
    /// Path without a trailing slash (empty for the root).
    pub path: String,
}

/// Parses a witness URL: `http://host[:port][/path]`, no query, fragment or credentials.
pub fn parse_http_url(url: &str) -> std::result::Result<HttpUrl, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("must start with http:// (reach an https witness through a local TLS proxy)")?;
    if !rest.is_ascii()
        || rest.chars().any(|c| c.is_ascii_control())
        || rest.contains(['?', '#', '@', ' ', '\\'])
    {
        return Err(
            "must be http://host[:port][/path] without query, fragment or credentials".into(),
        );
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| "bad port".to_owned())?)
        }
        _ => (authority, 80),
    };
    if host.is_empty() || port == 0 {
        return Err("missing host or port".into());
    }
    Ok(HttpUrl {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// What one witness task has seen (for operators and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WitnessStatus {
    /// The witness's key name.
    pub name: String,
    /// The largest checkpoint size this witness cosigned and whose cosignature is stored.
    pub cosigned_size: Option<u64>,
    /// Failed pushes (unreachable, timeouts, refusals other than 409).
    pub failures: u64,
    /// `409 Conflict` answers (resyncs).
    pub conflicts: u64,
}

/// The running witness tasks; dropping it (or [`Witnessing::stop`]) stops them.
#[derive(Debug)]
pub struct Witnessing {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    status: Vec<Arc<Mutex<WitnessStatus>>>,
}

impl Witnessing {
    /// Starts one push task per configured witness.
    pub fn start(peer: Arc<Peer>) -> Result<Witnessing> {
        let mut tasks = Vec::new();
        let mut status = Vec::new();
        for w in &peer.config.witnesses {
            let url = parse_http_url(&w.url)
                .map_err(|e| PeerError::Config(format!("witnesses url {:?}: {e}", w.url)))?;
            let verifier = Verifier::from_vkey(&w.vkey)
                .map_err(|e| PeerError::Config(format!("witnesses vkey: {e}")))?;
            let st = Arc::new(Mutex::new(WitnessStatus {
                name: verifier.name().to_owned(),
                ..WitnessStatus::default()
            }));
            status.push(st.clone());
            let target = Target { url, verifier };
            tasks.push(tokio::spawn(push_loop(peer.clone(), target, st)));
        }
        Ok(Witnessing { tasks, status })
    }

    /// A snapshot of every witness task's status, in config order.
    pub fn status(&self) -> Vec<WitnessStatus> {
        self.status
            .iter()
            .map(|s| s.lock().map(|s| s.clone()).unwrap_or_default())
            .collect()
    }

    /// Stops the tasks (a push in flight is abandoned; storing cosignatures is idempotent).
    pub fn stop(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Witnessing {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Debug)]
struct Target {
    url: HttpUrl,
    verifier: Verifier,
}

/// The outcome of one push.
enum Pushed {
    /// Cosigned at this size and stored.
    Cosigned(u64),
    /// Cosigned at this size, but a newer checkpoint was signed meanwhile (nothing stored).
    Superseded(u64),
    /// 409: the witness's latest cosigned size.
    Conflict(u64),
}

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error("cannot reach the witness: {0}")]
    Connect(std::io::Error),
    #[error("HTTP error: {0}")]
    Http(#[from] hyper::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("witness answered {0}")]
    Status(u16),
    #[error("malformed witness response: {0}")]
    Malformed(&'static str),
    #[error("{0}")]
    Peer(#[from] PeerError),
}

impl From<spondon_ledger::LedgerError> for PushError {
    fn from(e: spondon_ledger::LedgerError) -> Self {
        PushError::Peer(e.into())
    }
}

fn set(status: &Mutex<WitnessStatus>, f: impl FnOnce(&mut WitnessStatus)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

async fn push_loop(peer: Arc<Peer>, w: Target, status: Arc<Mutex<WitnessStatus>>) {
    let mut signed = peer.signed_size.subscribe();
    // The size we believe the witness cosigned last; a 409 corrects it.
    let mut old: u64 = 0;
    let mut cosigned: Option<u64> = None;
    let mut backoff = MIN_BACKOFF;
    let mut conflicts = 0u32;
    let name = w.verifier.name().to_owned();
    loop {
        let size = *signed.borrow_and_update();
        if cosigned.is_some_and(|c| c >= size) {
            if signed.changed().await.is_err() {
                return;
            }
            continue;
        }
        match push_once(&peer, &w, old).await {
            Ok(Pushed::Cosigned(s)) => {
                tracing::debug!(witness = %name, size = s, "checkpoint cosigned");
                (old, cosigned, backoff, conflicts) = (s, Some(s), MIN_BACKOFF, 0);
                set(&status, |st| st.cosigned_size = Some(s));
            }
            Ok(Pushed::Superseded(s)) => {
                (old, backoff, conflicts) = (s, MIN_BACKOFF, 0);
            }
            Ok(Pushed::Conflict(latest)) => {
                set(&status, |st| st.conflicts += 1);
                tracing::info!(witness = %name, sent_old_size = old, witness_size = latest, "witness resync (409)");
                old = latest;
                conflicts += 1;
                if conflicts > MAX_CONFLICTS {
                    tracing::warn!(witness = %name, retry_in_secs = backoff.as_secs(), "witness keeps answering 409; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            Err(e) => {
                set(&status, |st| st.failures += 1);
                tracing::warn!(witness = %name, error = %e, retry_in_secs = backoff.as_secs(), "witness push failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn push_once(peer: &Peer, w: &Target, old: u64) -> std::result::Result<Pushed, PushError> {
    let (cp, _) = peer.log.signed_checkpoint().await?;
    // A witness claiming more than we signed cannot be answered with a proof: start over.
    let old = if old > cp.size { 0 } else { old };
    let body = peer.log.witness_request(old).await?;
    let size = AddCheckpoint::parse(body.as_bytes())
        .map_err(|_| PushError::Malformed("own add-checkpoint request"))?
        .checkpoint
        .size;
    let (status, text) = tokio::time::timeout(PUSH_TIMEOUT, post(&w.url, body))
        .await
        .map_err(|_| PushError::Timeout(PUSH_TIMEOUT))??;
    match status {
        200 => {
            if peer.log.signed_checkpoint().await?.0.size != size {
                return Ok(Pushed::Superseded(size));
            }
            peer.log.add_cosignatures(&w.verifier, &text).await?;
            Ok(Pushed::Cosigned(size))
        }
        409 => text
            .trim_end_matches('\n')
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == text.trim_end_matches('\n'))
            .map(Pushed::Conflict)
            .ok_or(PushError::Malformed("409 without a size")),
        s => Err(PushError::Status(s)),
    }
}

/// POSTs an `add-checkpoint` body; returns the status and the (bounded) response text.
async fn post(url: &HttpUrl, body: String) -> std::result::Result<(u16, String), PushError> {
    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(PushError::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let conn = tokio::spawn(conn);
    let authority = if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let req = Request::post(format!("{}/add-checkpoint", url.path))
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| PushError::Malformed("cannot build the request"))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = Limited::new(resp.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|_| PushError::Malformed("response body too large or broken"))?
        .to_bytes();
    conn.abort();
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| PushError::Malformed("response is not UTF-8"))?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn witness_urls() {
        let u = parse_http_url("http://127.0.0.1:8401/witness").unwrap();
        assert_eq!(
            u,
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8401,
                path: "/witness".into()
            }
        );
        assert_eq!(parse_http_url("http://w.example").unwrap().port, 80);
        assert_eq!(parse_http_url("http://w.example/").unwrap().path, "");
        assert_eq!(parse_http_url("http://[::1]:9/w").unwrap().host, "::1");
        for bad in [
            "https://w.example",
            "http://",
            "http://a:b@w.example",
            "http://w.example?x",
            "http://w.example:0",
            "http://w.example:99999",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
    }
}
