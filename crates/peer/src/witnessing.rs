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

use spondon_ledger::Verifier;
use spondon_ledger::witness::AddCheckpoint;

use crate::config::ConfigError;
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
        let net = spondon_net::Client::new(&spondon_net::ClientOptions {
            ca_files: peer.config.ca_files.clone(),
            timeout: PUSH_TIMEOUT,
            ..spondon_net::ClientOptions::default()
        })
        .map_err(|e| ConfigError::CaFiles(format!("ca_files: {e}")))?;
        for w in &peer.config.witnesses {
            spondon_net::check_base_url(&w.url)
                .map_err(|_| ConfigError::BadWitnessUrl(w.url.clone()))?;
            let url = format!("{}/add-checkpoint", w.url.trim_end_matches('/'));
            let verifier = Verifier::from_vkey(&w.vkey).map_err(|e| ConfigError::BadKey {
                what: "witnesses vkey",
                reason: e.to_string(),
            })?;
            let st = Arc::new(Mutex::new(WitnessStatus {
                name: verifier.name().to_owned(),
                ..WitnessStatus::default()
            }));
            status.push(st.clone());
            let target = Target {
                url,
                verifier,
                net: net.clone(),
            };
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
    /// The witness's `add-checkpoint` URL.
    url: String,
    verifier: Verifier,
    net: spondon_net::Client,
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
    #[error("{0}")]
    Net(#[from] spondon_net::NetError),
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
    let (status, text) = post(w, body).await?;
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
async fn post(w: &Target, body: String) -> std::result::Result<(u16, String), PushError> {
    let r = w
        .net
        .request(
            "POST",
            &w.url,
            &[("content-type", "text/plain; charset=utf-8")],
            body.into_bytes(),
            MAX_RESPONSE,
        )
        .await?;
    let text =
        String::from_utf8(r.body).map_err(|_| PushError::Malformed("response is not UTF-8"))?;
    Ok((r.status, text))
}
