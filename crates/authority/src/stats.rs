//! `spondon-authority stats`: pulls each member hospital's signed, logged aggregate, verifies it
//! (`docs/authority.md`, "Statistics"), merges, suppresses again and hands the result to
//! [`crate::report`].
//!
//! Verification of one hospital's answer, in order — nothing from the network is trusted yet:
//! 1. the aggregate's JWS verifies with one of the hospital's record keys from `authority.json`
//!    (`stats_tampered` otherwise), and its `issuer` is the hospital's peer URL;
//! 2. it answers *this* request: same period and our fresh challenge (`stats_replayed`), a
//!    sequence number above the last one accepted from that hospital and a `generated_at`
//!    within [`MAX_SKEW`] of now (`stats_replayed` / `stats_stale`);
//! 3. the proof bundle's checkpoint is signed by the hospital's log key, the bundle's entry is
//!    included in it, is of kind 6 (statistics published), was logged at `generated_at`, and the
//!    salt and the aggregate open its commitment (`stats_not_logged`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use spondon_core::keys::{Es256KeyPair, Es256PublicKey};
use spondon_core::stats::{self, Aggregate, IsoWeek, MergedCell};
use spondon_core::time::NumericDate;
use spondon_core::token::{SignedRequest, SignedRequestTarget};
use spondon_ledger::{EntryKind, Opening, ProofBundle, Verifier};

use crate::{Authority, AuthorityError, Member};

/// The authority's statistics signing key (not the root key, which stays offline).
pub const STATS_KEY_FILE: &str = "stats.key";
/// What the authority remembers of each hospital's last accepted aggregate.
pub const STATS_STATE_FILE: &str = "stats-state.json";
/// Largest `generated_at` difference from now accepted, seconds.
pub const MAX_SKEW: i64 = 600;
/// Largest response read from a peer.
pub const MAX_RESPONSE: usize = stats::MAX_JWS_BYTES + 64 * 1024;

/// Why one hospital's statistics were not used. Messages carry no health data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatsFetchError {
    /// The peer could not be reached (connection, TLS, time-out).
    #[error("{hospital}: cannot reach the peer at {url}: {message}")]
    Unreachable {
        /// The hospital's id in the trust list.
        hospital: String,
        /// The peer URL tried.
        url: String,
        /// What failed, in words.
        message: String,
    },
    /// The peer answered with an error.
    #[error("{hospital}: the peer refused the request (HTTP {status}, {code}): {detail}")]
    Refused {
        /// The hospital's id in the trust list.
        hospital: String,
        /// The HTTP status.
        status: u16,
        /// The peer's error code.
        code: String,
        /// The peer's error detail.
        detail: String,
    },
    /// The answer is not the expected JSON, JWS or proof.
    #[error("{hospital}: malformed answer: {message}")]
    Malformed {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
    /// The aggregate's signature does not verify with the hospital's record keys, or it names
    /// another issuer.
    #[error("{hospital}: the aggregate is refused as tampered: {message}")]
    Tampered {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
    /// The aggregate covers another period, does not carry this run's challenge, or its sequence
    /// is not above the last one accepted.
    #[error("{hospital}: the aggregate is refused as a replay: {message}")]
    Replayed {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
    /// The aggregate's time is too far from now (made long ago, or in the future).
    #[error("{hospital}: the aggregate is refused as stale: {message}")]
    Stale {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
    /// The aggregate's log proof does not verify against the hospital's log key and witness quorum.
    #[error("{hospital}: the aggregate is not proven to be in the hospital's log: {message}")]
    NotLogged {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
    /// The request could not be made: the hospital's peer URL is unusable, or signing the
    /// request failed.
    #[error("{hospital}: {message}")]
    Config {
        /// The hospital's id in the trust list.
        hospital: String,
        /// What is wrong.
        message: String,
    },
}

impl StatsFetchError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            StatsFetchError::Unreachable { .. } => "peer_unreachable",
            StatsFetchError::Refused { .. } => "peer_refused",
            StatsFetchError::Malformed { .. } => "stats_malformed",
            StatsFetchError::Tampered { .. } => "stats_tampered",
            StatsFetchError::Replayed { .. } => "stats_replayed",
            StatsFetchError::Stale { .. } => "stats_stale",
            StatsFetchError::NotLogged { .. } => "stats_not_logged",
            StatsFetchError::Config { .. } => "config",
        }
    }
}

/// A peer's answer to `POST /authority/stats` (`docs/protocol.md` §13).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsAnswer {
    /// The signed aggregate, a compact JWS.
    pub aggregate: String,
    /// base64url of the salt that opens the aggregate's logged commitment.
    pub salt: String,
    /// The index of the aggregate's entry in the hospital's log.
    pub log_index: u64,
    /// The `c2sp.org/tlog-proof@v1` bundle of that entry.
    pub proof: String,
}

/// What was asked of every hospital.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// First week counted.
    pub from: IsoWeek,
    /// Last week counted (inclusive).
    pub to: IsoWeek,
    /// base64url of 32 random bytes, fresh for this run.
    pub challenge: String,
}

impl StatsQuery {
    /// A query with a fresh random challenge.
    pub fn new(from: IsoWeek, to: IsoWeek) -> Result<Self, AuthorityError> {
        stats::check_period(from, to).map_err(AuthorityError::BadPeriod)?;
        Ok(Self {
            from,
            to,
            challenge: spondon_core::b64::encode(spondon_core::keys::random_bytes::<32>()?),
        })
    }
    fn body(&self) -> String {
        serde_json::json!({"from": self.from, "to": self.to, "challenge": self.challenge})
            .to_string()
    }
}

/// The last aggregate accepted from a hospital.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The aggregate's sequence number; the next must be higher.
    pub sequence: u64,
    /// When the peer made it (POSIX seconds).
    pub generated_at: i64,
    /// Its entry's index in the hospital's log.
    pub log_index: u64,
}

/// `stats-state.json`: hospital id → last accepted aggregate.
pub type StatsState = BTreeMap<String, Accepted>;

/// A verified aggregate and where it is logged.
#[derive(Debug, Clone)]
pub struct VerifiedAggregate {
    /// The hospital's id in the trust list.
    pub hospital: String,
    /// The aggregate, its signature and log proof verified.
    pub aggregate: Aggregate,
    /// Its entry's index in the hospital's log.
    pub log_index: u64,
    /// The checkpoint (tree size) that proves it.
    pub tree_size: u64,
    /// The answer as received, for the record.
    pub answer: StatsAnswer,
}

impl Authority {
    /// The statistics key: created (0600) at first use. Peers list its public JWK in
    /// `stats_authority_keys`.
    pub fn stats_key(&self) -> Result<Es256KeyPair, AuthorityError> {
        let path = self.dir.join(STATS_KEY_FILE);
        if !path.exists() {
            let key = Es256KeyPair::generate()?;
            crate::write_new_secret(&path, &key.to_pkcs8())?;
        }
        let der = spondon_fs::read_private(&path, crate::MAX_KEY_BYTES)?;
        Es256KeyPair::from_pkcs8(&der).map_err(|e| AuthorityError::File {
            path,
            message: format!("not a statistics key: {e}"),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last aggregates accepted.
    pub fn stats_state(&self) -> Result<StatsState, AuthorityError> {
        let path = self.dir.join(STATS_STATE_FILE);
        if !path.exists() {
            return Ok(StatsState::new());
        }
        let bytes = crate::read_limited(&path, 16 * 1024 * 1024)?;
        serde_json::from_slice(&bytes).map_err(|e| AuthorityError::File {
            path,
            message: format!("not a statistics state file: {e}"),
        })
    }

    /// Records accepted aggregates (atomically).
    pub fn save_stats_state(&self, state: &StatsState) -> Result<(), AuthorityError> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|source| AuthorityError::Json {
            what: "the statistics state",
            source,
        })?;
        crate::write_atomic(&self.dir.join(STATS_STATE_FILE), &bytes)
    }
}

/// One POST to `base` + `path` with a JSON body.
async fn http(
    net: &spondon_net::Client,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<(u16, Vec<u8>), String> {
    let mut hs = vec![("content-type", "application/json")];
    hs.extend_from_slice(headers);
    let r = net
        .request(
            "POST",
            &format!("{base}{path}"),
            &hs,
            body.into_bytes(),
            MAX_RESPONSE,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((r.status, r.body))
}

fn refused(hospital: &str, status: u16, body: &[u8]) -> StatsFetchError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect::<String>()
    };
    StatsFetchError::Refused {
        hospital: hospital.to_owned(),
        status,
        code: text("code"),
        detail: text("detail"),
    }
}

/// Asks one peer (at `base_url`, default its trust-list URL) for the query's aggregate, signing
/// the request with `key`. Returns the raw answer; see [`verify_answer`].
pub async fn fetch(
    member: &Member,
    base_url: &str,
    key: &Es256KeyPair,
    query: &StatsQuery,
    net: &spondon_net::Client,
    timeout: Duration,
) -> Result<StatsAnswer, StatsFetchError> {
    let h = member.id.as_str();
    let base = spondon_net::check_base_url(base_url)
        .ok()
        .filter(|u| u.path() == "/")
        .map(|_| base_url.trim_end_matches('/'))
        .ok_or_else(|| StatsFetchError::Config {
            hospital: h.to_owned(),
            message: format!(
                "peer URL {base_url:?}: must be https://host[:port] (or http://) without a path, query or credentials"
            ),
        })?;
    let unreachable = |message: String| StatsFetchError::Unreachable {
        hospital: h.to_owned(),
        url: base_url.to_owned(),
        message,
    };
    let malformed = |message: String| StatsFetchError::Malformed {
        hospital: h.to_owned(),
        message,
    };
    let run = async {
        let (status, body) = http(net, base, "/nonce", &[], String::new())
            .await
            .map_err(unreachable)?;
        if !matches!(status, 200 | 201) {
            return Err(refused(h, status, &body));
        }
        #[derive(Deserialize)]
        struct Nonce {
            nonce: String,
        }
        let nonce: Nonce =
            serde_json::from_slice(&body).map_err(|e| malformed(format!("nonce answer: {e}")))?;
        let nonce = spondon_core::b64::decode(&nonce.nonce)
            .map_err(|_| malformed("nonce is not base64url".into()))?;
        let body = query.body();
        let url = format!("{}/authority/stats", member.peer_url.trim_end_matches('/'));
        let signature = SignedRequest::create(
            key,
            &SignedRequestTarget {
                method: "POST",
                url: &url,
                nonce: &nonce,
                body: body.as_bytes(),
            },
            NumericDate::now(),
        )
        .map_err(|e| StatsFetchError::Config {
            hospital: h.to_owned(),
            message: format!("cannot sign the request: {e}"),
        })?;
        let (status, body) = http(
            net,
            base,
            "/authority/stats",
            &[("spondon-signature", &signature)],
            body,
        )
        .await
        .map_err(unreachable)?;
        if status != 200 {
            return Err(refused(h, status, &body));
        }
        serde_json::from_slice::<StatsAnswer>(&body)
            .map_err(|e| malformed(format!("statistics answer: {e}")))
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", timeout.as_secs())))?
}

/// Verifies one hospital's answer to `query` (see the module docs for the order of checks).
pub fn verify_answer(
    member: &Member,
    answer: StatsAnswer,
    query: &StatsQuery,
    last: Option<&Accepted>,
    now: NumericDate,
) -> Result<VerifiedAggregate, StatsFetchError> {
    let h = member.id.clone();
    let keys: Vec<Es256PublicKey> = member
        .record_keys
        .keys
        .iter()
        .filter_map(|j| Es256PublicKey::from_jwk(j).ok())
        .collect();
    // 1. Signature by the hospital's record key.
    let aggregate = Aggregate::verify(&answer.aggregate, &keys).map_err(|e| match e {
        stats::StatsError::BadSignature | stats::StatsError::UnknownKey(_) => {
            StatsFetchError::Tampered {
                hospital: h.clone(),
                message: e.to_string(),
            }
        }
        other => StatsFetchError::Malformed {
            hospital: h.clone(),
            message: other.to_string(),
        },
    })?;
    if aggregate.issuer.trim_end_matches('/') != member.peer_url.trim_end_matches('/') {
        return Err(StatsFetchError::Tampered {
            hospital: h,
            message: "the aggregate names another issuer".into(),
        });
    }
    // 2. Freshness: this request's period and challenge, a newer sequence, a recent time.
    if aggregate.from != query.from || aggregate.to != query.to {
        return Err(StatsFetchError::Replayed {
            hospital: h,
            message: format!(
                "it covers {}–{}, not the period asked for ({}–{})",
                aggregate.from, aggregate.to, query.from, query.to
            ),
        });
    }
    if aggregate.challenge != query.challenge {
        return Err(StatsFetchError::Replayed {
            hospital: h,
            message: "it does not carry this request's challenge".into(),
        });
    }
    if let Some(last) = last
        && aggregate.sequence <= last.sequence
    {
        return Err(StatsFetchError::Replayed {
            hospital: h,
            message: format!(
                "sequence {} is not newer than the last accepted ({})",
                aggregate.sequence, last.sequence
            ),
        });
    }
    if (aggregate.generated_at - now.seconds()).abs() > MAX_SKEW {
        return Err(StatsFetchError::Stale {
            hospital: h,
            message: format!(
                "generated {} s from now",
                aggregate.generated_at - now.seconds()
            ),
        });
    }
    // 3. Inclusion in the hospital's log.
    let not_logged = |message: String| StatsFetchError::NotLogged {
        hospital: member.id.clone(),
        message,
    };
    let log_key = Verifier::from_vkey(&member.log_vkey)
        .map_err(|e| not_logged(format!("the hospital's log key: {e}")))?;
    let bundle = ProofBundle::parse(answer.proof.as_bytes())
        .map_err(|e| not_logged(format!("proof bundle: {e}")))?;
    if bundle.index != answer.log_index {
        return Err(not_logged("the proof is for another log index".into()));
    }
    let verified = bundle
        .verify(log_key.name(), std::slice::from_ref(&log_key), &[], 0)
        .map_err(|e| not_logged(e.to_string()))?;
    if verified.entry.kind != EntryKind::StatsPublished {
        return Err(not_logged(
            "the logged entry is not a statistics entry".into(),
        ));
    }
    if verified.entry.time.seconds() != aggregate.generated_at {
        return Err(not_logged(
            "the logged entry's time is not the aggregate's".into(),
        ));
    }
    let salt = spondon_core::b64::decode_array::<32>(&answer.salt)
        .ok_or_else(|| not_logged("the salt is not 32 bytes of base64url".into()))?;
    let opening = Opening {
        salt,
        payload: answer.aggregate.clone().into_bytes(),
    };
    if !verified.entry.opens(&opening) {
        return Err(not_logged(
            "the logged commitment is not to this aggregate".into(),
        ));
    }
    Ok(VerifiedAggregate {
        hospital: member.id.clone(),
        aggregate,
        log_index: answer.log_index,
        tree_size: verified.checkpoint.size,
        answer,
    })
}

/// The outcome of a statistics run.
#[derive(Debug)]
pub struct Collected {
    /// What was asked.
    pub query: StatsQuery,
    /// The aggregates that verified, one per hospital.
    pub accepted: Vec<VerifiedAggregate>,
    /// Why each other hospital's statistics were not used.
    pub refused: Vec<StatsFetchError>,
    /// The merged, re-suppressed cells of the accepted aggregates.
    pub merged: Vec<MergedCell>,
    /// Milliseconds spent verifying and merging (not fetching).
    pub merge_millis: f64,
}

/// Fetches from every member (`urls`: id → base URL overrides), verifies, records the
/// accepted sequence numbers, merges and suppresses again. A refused hospital is reported in
/// [`Collected::refused`] and left out of the merge.
pub async fn collect(
    authority: &Authority,
    urls: &BTreeMap<String, String>,
    query: StatsQuery,
    net: &spondon_net::Client,
    timeout: Duration,
) -> Result<Collected, AuthorityError> {
    for id in urls.keys() {
        if !authority.members().iter().any(|m| &m.id == id) {
            return Err(AuthorityError::UnknownHospital(id.clone()));
        }
    }
    let key = authority.stats_key()?;
    let mut state = authority.stats_state()?;
    let mut answers = Vec::new();
    for m in authority.members() {
        let base = urls.get(&m.id).unwrap_or(&m.peer_url);
        answers.push((m, fetch(m, base, &key, &query, net, timeout).await));
    }
    let started = std::time::Instant::now();
    let now = NumericDate::now();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (m, answer) in answers {
        match answer.and_then(|a| verify_answer(m, a, &query, state.get(&m.id), now)) {
            Ok(v) => {
                state.insert(
                    m.id.clone(),
                    Accepted {
                        sequence: v.aggregate.sequence,
                        generated_at: v.aggregate.generated_at,
                        log_index: v.log_index,
                    },
                );
                accepted.push(v);
            }
            Err(e) => refused.push(e),
        }
    }
    let aggs: Vec<&Aggregate> = accepted.iter().map(|v| &v.aggregate).collect();
    let merged = stats::merge(&aggs, stats::K);
    let merge_millis = started.elapsed().as_secs_f64() * 1000.0;
    authority.save_stats_state(&state)?;
    Ok(Collected {
        query,
        accepted,
        refused,
        merged,
        merge_millis,
    })
}
