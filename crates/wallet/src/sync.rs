//! Enrollment at a peer, and the verified incremental sync of records and access receipts.
//!
//! Verification rules (docs/wallet.md "Sync verification"): every checkpoint is signed by the
//! hospital's log key from the trust list; it is never smaller than the last accepted one and a
//! consistency proof from that one verifies; every record is a SMART Health Card signed by one of
//! the hospital's record keys, with `iss` = the peer URL and `rid` = the record id; its log entry
//! is a `RecordIssued` entry whose commitment `salt ‖ JWS` opens; the entry's leaf is included in
//! the checkpoint. A peer failing any of these is reported as a [`Violation`] and everything
//! stored from it during that sync is removed again.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::{Directory, ParsedCard};
use spondon_core::token::{Hospital, TokenClaims, TrustAnchors, TrustList};
use spondon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use spondon_ledger::{EntryKind, Hash, LogEntry, Opening, SignedCheckpoint, Verifier};
use tokio::sync::mpsc;

use crate::error::{Result, Violation, WalletError};
use crate::net::PeerClient;
use crate::store::{Table, Write};
use crate::wallet::Wallet;

/// `SPONDON-ENROLL:1:<code>:<health id>:<peer url>`, as a hospital prints or shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentCode {
    pub code: String,
    pub health_id: String,
    pub peer_url: String,
}

impl EnrollmentCode {
    /// Parses the enrollment text.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |m: &str| WalletError::BadEnrollmentCode(m.to_owned());
        let text = text.trim();
        let mut parts = text.splitn(5, ':');
        if parts.next() != Some("SPONDON-ENROLL") {
            return Err(bad("it does not start with SPONDON-ENROLL:"));
        }
        if parts.next() != Some("1") {
            return Err(bad("unknown version (expected 1)"));
        }
        let (Some(code), Some(hid), Some(url)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(
                "expected SPONDON-ENROLL:1:<code>:<health id>:<peer url>",
            ));
        };
        let code_ok = code.len() == 11
            && code.bytes().enumerate().all(|(i, b)| {
                if i == 5 {
                    b == b'-'
                } else {
                    b.is_ascii_alphanumeric()
                }
            });
        if !code_ok {
            return Err(bad("the code is not of the form XXXXX-XXXXX"));
        }
        let digits: String = hid.chars().filter(|c| *c != '-').collect();
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the Health ID is not 14 digits (XXXX-XXXX-XXXX-XX)"));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 256 {
            return Err(bad("the peer URL is not an https URL"));
        }
        Ok(Self {
            code: code.to_owned(),
            health_id: hid.to_owned(),
            peer_url: url.to_owned(),
        })
    }

    /// Reads the enrollment QR code from a PNG or JPEG image.
    pub fn from_image(bytes: &[u8]) -> Result<Self> {
        let texts = spondon_core::qr::decode_image(bytes)?;
        let mut last = WalletError::BadEnrollmentCode("no enrollment QR code in the image".into());
        for t in texts {
            match Self::parse(&t) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A peer the wallet is enrolled at, with its sync state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerState {
    pub url: String,
    pub hospital_id: String,
    pub hospital_name: String,
    pub health_id: String,
    pub enrollment_credential: String,
    pub enrolled_at: i64,
    /// Record cursor (`since` of the next pull).
    pub cursor: u64,
    pub receipts_cursor: u64,
    /// The last accepted checkpoint (signed note text), its size and root (base64).
    pub checkpoint: Option<String>,
    pub tree_size: u64,
    pub root: Option<String>,
    pub last_sync: Option<i64>,
}

/// Where a stored record came from and how far it is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trust {
    /// Pulled from an enrolled peer: signature, commitment, inclusion and log consistency checked.
    Verified,
    /// Imported; issuer in the trusted directory (or trust list), signature valid.
    ImportedTrusted,
    /// Imported; the signature is valid but the issuer is not trusted.
    IssuerNotTrusted,
    /// Imported; the issuer is unknown and its keys could not be fetched: signature not checked.
    SignatureNotChecked,
}

/// A record in the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecord {
    /// The cache key (peer URL or issuer, NUL, id).
    pub key: String,
    pub id: String,
    /// `iss` of the card.
    pub issuer: String,
    pub issuer_name: Option<String>,
    /// Peer record kind (`prescription`, `lab_report`, …) or, for imports, derived from content.
    pub kind: String,
    pub supersedes: Option<String>,
    pub issued_at: i64,
    pub jws: String,
    pub peer: Option<String>,
    pub log_index: Option<u64>,
    pub entry: Option<String>,
    pub salt: Option<String>,
    pub inclusion_proof: Vec<String>,
    pub checkpoint: Option<String>,
    pub trust: Trust,
}

/// A verified access receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredReceipt {
    pub key: String,
    pub peer: String,
    pub log_index: u64,
    pub at: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub audience: Option<String>,
    pub records: Vec<String>,
    /// The committed event text, its opening salt, log entry, inclusion proof and checkpoint
    /// (kept so that exports can carry the receipt with its proof).
    #[serde(default)]
    pub event_json: Option<String>,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default)]
    pub entry: Option<String>,
    #[serde(default)]
    pub inclusion_proof: Vec<String>,
    #[serde(default)]
    pub checkpoint: Option<String>,
}

/// A security alert kept in the wallet (a peer that rewrote history).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub at: i64,
    pub peer: String,
    pub violation: Violation,
}

/// Progress of a sync, for a progress bar.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    Started {
        peers: usize,
    },
    /// Records verified and stored from one peer so far; `more` says whether pages remain.
    Records {
        peer: String,
        done: u64,
        more: bool,
    },
    Receipts {
        peer: String,
        new: u64,
    },
    PeerDone {
        peer: String,
        records: u64,
        receipts: u64,
    },
    PeerFailed {
        peer: String,
        error: String,
        /// The stable code of the error ([`WalletError::code`]).
        code: &'static str,
    },
    /// A peer rewrote history or served tampered data: loud, typed.
    Violation {
        peer: String,
        violation: Violation,
    },
}

/// What one sync did, per peer.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub peers: Vec<PeerOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeerOutcome {
    pub peer: String,
    pub new_records: u64,
    pub new_receipts: u64,
    /// `None` when all went well.
    pub error: Option<String>,
    /// The stable code of `error` ([`WalletError::code`]).
    pub error_code: Option<&'static str>,
    pub violation: Option<Violation>,
}

impl SyncReport {
    /// The first history violation, if any peer misbehaved.
    pub fn violation(&self) -> Option<(&str, &Violation)> {
        self.peers
            .iter()
            .find_map(|p| p.violation.as_ref().map(|v| (p.peer.as_str(), v)))
    }
}

#[derive(Debug, Deserialize)]
struct EnrolledResp {
    enrollment_credential: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PulledRecord {
    pub id: String,
    pub kind: String,
    pub supersedes: Option<String>,
    pub issued_at: i64,
    pub jws: String,
    pub log_index: u64,
    pub entry: String,
    pub salt: String,
    pub inclusion_proof: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Pull {
    records: Vec<PulledRecord>,
    cursor: u64,
    more: bool,
    checkpoint: String,
    tree_size: u64,
    consistency_proof: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ReceiptResp {
    seq: u64,
    event: serde_json::Value,
    log_index: u64,
    entry: String,
    salt: String,
    inclusion_proof: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Receipts {
    receipts: Vec<ReceiptResp>,
    cursor: u64,
    checkpoint: String,
    tree_size: u64,
}

fn std_b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn hashes(v: &[String]) -> Option<Vec<Hash>> {
    v.iter()
        .map(|h| std_b64(h).and_then(|b| b.try_into().ok()))
        .collect()
}

/// The last accepted tree head of a peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    size: u64,
    root: Option<Hash>,
}

/// Everything needed to check one hospital's data offline.
#[derive(Debug, Clone)]
pub(crate) struct HospitalCheck {
    pub hospital: Hospital,
    pub directory: Directory,
    pub log: Verifier,
}

impl HospitalCheck {
    pub(crate) fn new(h: &Hospital) -> Result<Self> {
        let mut directory = Directory::new();
        directory.add_issuer(&h.peer_url, Some(&h.name))?;
        directory.add_jwks(&h.peer_url, h.jwks())?;
        let log = Verifier::ed25519(&h.log_origin, h.log_key)
            .map_err(|e| WalletError::TrustList(format!("log key of {}: {e}", h.id)))?;
        Ok(Self {
            hospital: h.clone(),
            directory,
            log,
        })
    }

    /// Verifies a checkpoint against the log key and the last accepted head; returns the new head.
    fn checkpoint(
        &self,
        text: &str,
        size: u64,
        proof: Option<&[String]>,
        known: Accepted,
    ) -> Result<(Accepted, SignedCheckpoint), Violation> {
        let cp = SignedCheckpoint::verify(
            text.as_bytes(),
            &self.hospital.log_origin,
            std::slice::from_ref(&self.log),
        )
        .map_err(|e| Violation::BadCheckpoint {
            reason: e.to_string(),
        })?;
        let c = &cp.checkpoint;
        if c.size != size {
            return Err(Violation::BadCheckpoint {
                reason: format!("answer names tree size {size}, checkpoint says {}", c.size),
            });
        }
        if c.size < known.size {
            return Err(Violation::Rollback {
                known: known.size,
                got: c.size,
            });
        }
        if let Some(old) = known.root {
            if c.size == known.size {
                if c.root != old {
                    return Err(Violation::Fork {
                        from: known.size,
                        to: c.size,
                        reason: "same size, different root".into(),
                    });
                }
            } else if let Some(proof) = proof {
                let p = hashes(proof).ok_or_else(|| Violation::Fork {
                    from: known.size,
                    to: c.size,
                    reason: "malformed consistency proof".into(),
                })?;
                verify_consistency(known.size, c.size, &p, &old, &c.root).map_err(|e| {
                    Violation::Fork {
                        from: known.size,
                        to: c.size,
                        reason: e.to_string(),
                    }
                })?;
            }
        }
        Ok((
            Accepted {
                size: c.size,
                root: Some(c.root),
            },
            cp,
        ))
    }

    /// Verifies one pulled record against a checkpoint (card, commitment, inclusion).
    pub(crate) fn record(
        &self,
        r: &PulledRecord,
        cp: &SignedCheckpoint,
        now: NumericDate,
    ) -> Result<StoredRecord, Violation> {
        let bad = |reason: String| Violation::TamperedRecord {
            log_index: r.log_index,
            reason,
        };
        let card = ParsedCard::parse(&r.jws).map_err(|e| bad(format!("card: {e}")))?;
        if card.iss() != self.hospital.peer_url {
            return Err(bad("card issuer is not this peer".into()));
        }
        card.verify(&self.directory, now)
            .map_err(|e| bad(format!("card: {e}")))?;
        if card.rid() != Some(r.id.as_str()) {
            return Err(bad("card rid does not match the record id".into()));
        }
        check_logged(
            &Logged {
                entry: &r.entry,
                salt: &r.salt,
                log_index: r.log_index,
                inclusion_proof: &r.inclusion_proof,
            },
            |k| k == EntryKind::RecordIssued,
            "a record issuance",
            r.jws.as_bytes().to_vec(),
            "card",
            cp,
        )
        .map_err(bad)?;
        Ok(StoredRecord {
            key: record_key(&self.hospital.peer_url, &r.id),
            id: r.id.clone(),
            issuer: self.hospital.peer_url.clone(),
            issuer_name: Some(self.hospital.name.clone()),
            kind: r.kind.clone(),
            supersedes: r.supersedes.clone(),
            issued_at: r.issued_at,
            jws: r.jws.clone(),
            peer: Some(self.hospital.peer_url.clone()),
            log_index: Some(r.log_index),
            entry: Some(r.entry.clone()),
            salt: Some(r.salt.clone()),
            inclusion_proof: r.inclusion_proof.clone(),
            checkpoint: None,
            trust: Trust::Verified,
        })
    }

    fn receipt(&self, r: &ReceiptResp, cp: &SignedCheckpoint) -> Result<StoredReceipt, Violation> {
        let bad = |reason: String| Violation::TamperedReceipt {
            log_index: r.log_index,
            reason,
        };
        let payload = serde_json::to_vec(&r.event).map_err(|e| bad(e.to_string()))?;
        let payload_text = payload.clone();
        let entry = check_logged(
            &Logged {
                entry: &r.entry,
                salt: &r.salt,
                log_index: r.log_index,
                inclusion_proof: &r.inclusion_proof,
            },
            |k| matches!(k, EntryKind::AccessGranted | EntryKind::AccessDenied),
            "an access event",
            payload,
            "event",
            cp,
        )
        .map_err(bad)?;
        let ev = &r.event;
        let s = |k: &str| ev.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        if s("peer").as_deref() != Some(self.hospital.peer_url.as_str()) {
            return Err(bad("event names another peer".into()));
        }
        let outcome = s("outcome").ok_or_else(|| bad("event has no outcome".into()))?;
        if (outcome == "allowed") != (entry.kind == EntryKind::AccessGranted) {
            return Err(bad("event outcome contradicts the log entry".into()));
        }
        Ok(StoredReceipt {
            key: format!("{}\u{0}{}", self.hospital.peer_url, r.log_index),
            peer: self.hospital.peer_url.clone(),
            log_index: r.log_index,
            at: ev
                .get("at")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0),
            outcome,
            reason: s("reason"),
            grant_id: s("grant_id"),
            audience: s("audience"),
            records: ev
                .get("records")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            event_json: String::from_utf8(payload_text).ok(),
            salt: Some(r.salt.clone()),
            entry: Some(r.entry.clone()),
            inclusion_proof: r.inclusion_proof.clone(),
            checkpoint: Some(cp.note.to_text()),
        })
    }
}

/// Where a pulled item sits in the log, as the peer sent it.
struct Logged<'a> {
    /// The log entry, standard base64.
    entry: &'a str,
    /// The salt opening the entry's commitment, base64url.
    salt: &'a str,
    log_index: u64,
    inclusion_proof: &'a [String],
}

/// Checks that a pulled item is in the log: its entry decodes and is of an `expected` kind, it
/// commits to `payload` under the salt, and it is included in `cp`. Returns the entry, or why
/// not (`what` names the payload in that reason).
fn check_logged(
    item: &Logged<'_>,
    kind_ok: impl Fn(EntryKind) -> bool,
    expected: &str,
    payload: Vec<u8>,
    what: &str,
    cp: &SignedCheckpoint,
) -> Result<LogEntry, String> {
    let entry_bytes = std_b64(item.entry).ok_or("log entry is not base64")?;
    let entry = LogEntry::decode(&entry_bytes).map_err(|e| format!("log entry: {e}"))?;
    if !kind_ok(entry.kind) {
        return Err(format!("log entry is not {expected}"));
    }
    let salt: [u8; 32] =
        spondon_core::b64::decode_array(item.salt).ok_or("salt is not 32 bytes of base64url")?;
    if !entry.opens(&Opening { salt, payload }) {
        return Err(format!("the log entry does not commit to this {what}"));
    }
    let proof = hashes(item.inclusion_proof).ok_or("malformed inclusion proof")?;
    verify_inclusion(
        &leaf_hash(&entry_bytes),
        item.log_index,
        cp.checkpoint.size,
        &proof,
        &cp.checkpoint.root,
    )
    .map_err(|e| format!("inclusion: {e}"))?;
    Ok(entry)
}

pub(crate) fn record_key(source: &str, id: &str) -> String {
    format!("{source}\u{0}{id}")
}

/// Verifies records on all cores.
fn verify_records(
    check: &HospitalCheck,
    records: &[PulledRecord],
    cp: &SignedCheckpoint,
) -> Result<Vec<StoredRecord>, Violation> {
    let now = NumericDate::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16);
    if records.len() < 32 || threads == 1 {
        return records.iter().map(|r| check.record(r, cp, now)).collect();
    }
    let chunk = records.len().div_ceil(threads);
    let results: Vec<Result<Vec<StoredRecord>, Violation>> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| check.record(r, cp, now))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Violation::TamperedRecord {
                        log_index: 0,
                        reason: "verification thread failed".into(),
                    })
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(records.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// A spawned task that is cancelled when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Messages from the per-peer fetch-and-verify tasks to the storing loop.
enum Msg {
    Page {
        peer: String,
        records: Vec<StoredRecord>,
        cursor: u64,
        accepted: (String, Accepted),
        more: bool,
    },
    Receipts {
        peer: String,
        receipts: Vec<StoredReceipt>,
        cursor: u64,
    },
    Done {
        peer: String,
    },
    Failed {
        peer: String,
        error: WalletError,
    },
}

async fn peer_task(
    net: PeerClient,
    key: Arc<Es256KeyPair>,
    check: HospitalCheck,
    state: PeerState,
    tx: mpsc::Sender<Msg>,
) {
    let peer = state.url.clone();
    let res = peer_task_inner(&net, &key, &check, state, &tx).await;
    let msg = match res {
        Ok(()) => Msg::Done { peer },
        Err(error) => Msg::Failed { peer, error },
    };
    let _ = tx.send(msg).await;
}

fn violation(peer: &str, v: Violation) -> WalletError {
    WalletError::HistoryViolation {
        peer: peer.to_owned(),
        violation: v,
    }
}

async fn peer_task_inner(
    net: &PeerClient,
    key: &Arc<Es256KeyPair>,
    check: &HospitalCheck,
    state: PeerState,
    tx: &mpsc::Sender<Msg>,
) -> Result<()> {
    let peer = state.url.clone();
    let mut known = Accepted {
        size: state.tree_size,
        root: state
            .root
            .as_deref()
            .and_then(std_b64)
            .and_then(|b| b.try_into().ok()),
    };
    let mut cursor = state.cursor;
    // The next page is fetched while this one is verified (its consistency proof starts at the
    // size this page claims, which verification then confirms before the next page is checked).
    let fetch = |since: u64, known_size: u64| {
        let net = net.clone();
        let key = key.clone();
        let peer = peer.clone();
        AbortOnDrop(tokio::spawn(async move {
            net.signed_post::<Pull>(
                &key,
                &peer,
                "/patient/records",
                &serde_json::json!({"since": since, "known_size": known_size}),
            )
            .await
        }))
    };
    let mut next = Some(fetch(cursor, known.size));
    while let Some(mut h) = next.take() {
        let pull: Pull = (&mut h.0)
            .await
            .map_err(|e| WalletError::Internal(e.to_string()))??;
        if pull.more && pull.cursor > cursor {
            next = Some(fetch(pull.cursor, pull.tree_size));
        }
        let check2 = check.clone();
        let known2 = known;
        let (records, accepted, cp_text) =
            tokio::task::spawn_blocking(move || -> Result<_, Violation> {
                let (accepted, cp) = check2.checkpoint(
                    &pull.checkpoint,
                    pull.tree_size,
                    Some(&pull.consistency_proof),
                    known2,
                )?;
                let records = verify_records(&check2, &pull.records, &cp)?;
                Ok((records, accepted, (pull.checkpoint, pull.cursor, pull.more)))
            })
            .await
            .map_err(|e| WalletError::Internal(e.to_string()))?
            .map_err(|v| violation(&peer, v))?;
        let (cp, new_cursor, more) = cp_text;
        if new_cursor < cursor || (more && new_cursor == cursor) {
            return Err(WalletError::BadResponse {
                peer,
                reason: "the cursor did not advance".into(),
            });
        }
        let records: Vec<StoredRecord> = records
            .into_iter()
            .map(|mut r| {
                r.checkpoint = Some(cp.clone());
                r
            })
            .collect();
        known = accepted;
        cursor = new_cursor;
        if tx
            .send(Msg::Page {
                peer: peer.clone(),
                records,
                cursor,
                accepted: (cp, accepted),
                more,
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        if !more {
            break;
        }
    }
    // Receipts.
    let mut rcursor = state.receipts_cursor;
    loop {
        let r: Receipts = net
            .signed_post(
                key,
                &peer,
                "/patient/receipts",
                &serde_json::json!({"since": rcursor}),
            )
            .await?;
        let (_, cp) = check
            .checkpoint(
                &r.checkpoint,
                r.tree_size,
                None,
                Accepted {
                    size: known.size,
                    root: None,
                },
            )
            .map_err(|v| violation(&peer, v))?;
        if cp.checkpoint.size == known.size && Some(cp.checkpoint.root) != known.root {
            return Err(violation(
                &peer,
                Violation::Fork {
                    from: known.size,
                    to: known.size,
                    reason: "receipts checkpoint has another root than the records checkpoint"
                        .into(),
                },
            ));
        }
        let mut out = Vec::with_capacity(r.receipts.len());
        for x in &r.receipts {
            out.push(check.receipt(x, &cp).map_err(|v| violation(&peer, v))?);
            if x.seq > r.cursor {
                return Err(WalletError::BadResponse {
                    peer,
                    reason: "receipt beyond the cursor".into(),
                });
            }
        }
        let n = out.len();
        if r.cursor < rcursor || (n > 0 && r.cursor == rcursor) {
            return Err(WalletError::BadResponse {
                peer,
                reason: "the receipts cursor did not advance".into(),
            });
        }
        rcursor = r.cursor;
        if tx
            .send(Msg::Receipts {
                peer: peer.clone(),
                receipts: out,
                cursor: rcursor,
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        if n < 500 {
            break;
        }
    }
    Ok(())
}

impl Wallet {
    /// Enrolls at the hospital named in an enrollment code: checks it is in the trust list,
    /// binds this wallet's key, verifies and stores the enrollment credential.
    pub async fn enroll(&self, code: &EnrollmentCode) -> Result<PeerState> {
        let list = self.trust_list().await?;
        let hospital = list
            .hospitals
            .iter()
            .find(|h| h.peer_url == code.peer_url)
            .ok_or_else(|| WalletError::UntrustedPeer(code.peer_url.clone()))?;
        let body = serde_json::json!({
            "health_id": code.health_id,
            "code": code.code,
            "public_key": self.signing.public_key().to_jwk(),
        });
        let resp: EnrolledResp = self
            .net
            .signed_post(&self.signing, &code.peer_url, "/patient/enroll", &body)
            .await?;
        self.check_enrollment(
            &list,
            hospital,
            &code.health_id,
            &resp.enrollment_credential,
        )?;
        let state = PeerState {
            url: hospital.peer_url.clone(),
            hospital_id: hospital.id.clone(),
            hospital_name: hospital.name.clone(),
            health_id: code.health_id.clone(),
            enrollment_credential: resp.enrollment_credential,
            enrolled_at: NumericDate::now().seconds(),
            cursor: 0,
            receipts_cursor: 0,
            checkpoint: None,
            tree_size: 0,
            root: None,
            last_sync: None,
        };
        // Re-enrolling at the same peer keeps the accepted checkpoint (history must stay consistent).
        let state = match self
            .store
            .get::<PeerState>(Table::Peers, &state.url)
            .await?
        {
            Some(old) => PeerState {
                cursor: old.cursor,
                receipts_cursor: old.receipts_cursor,
                checkpoint: old.checkpoint,
                tree_size: old.tree_size,
                root: old.root,
                last_sync: old.last_sync,
                ..state
            },
            None => state,
        };
        self.store.put(Table::Peers, &state.url, &state).await?;
        Ok(state)
    }

    fn check_enrollment(
        &self,
        list: &TrustList,
        hospital: &Hospital,
        health_id: &str,
        text: &str,
    ) -> Result<()> {
        let bad = |m: String| WalletError::BadResponse {
            peer: hospital.peer_url.clone(),
            reason: format!("enrollment credential: {m}"),
        };
        let parsed = spondon_core::token::decode_any(text).map_err(|e| bad(e.to_string()))?;
        let TokenClaims::Enrollment(e) = &parsed.claims else {
            return Err(bad("not an enrollment credential".into()));
        };
        parsed
            .verify(
                &TrustAnchors {
                    trust_list: Some(list),
                    ..Default::default()
                },
                NumericDate::now(),
            )
            .map_err(|e| bad(e.to_string()))?;
        let issuer = list
            .hospital(&e.hospital_id)
            .ok_or_else(|| bad("unknown issuer".into()))?;
        if issuer.peer_url != hospital.peer_url {
            return Err(bad("issued by another hospital".into()));
        }
        if e.health_id != health_id {
            return Err(bad("for another Health ID".into()));
        }
        if &e.patient_key != self.signing.public_key() {
            return Err(bad("binds another key".into()));
        }
        Ok(())
    }

    /// The peers this wallet is enrolled at.
    pub async fn peers(&self) -> Result<Vec<PeerState>> {
        let mut v: Vec<PeerState> = self.store.all(Table::Peers).await?;
        v.sort_by(|a, b| a.hospital_name.cmp(&b.hospital_name));
        Ok(v)
    }

    /// Security alerts recorded by earlier syncs.
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        let mut v: Vec<Alert> = self.store.all(Table::Alerts).await?;
        v.sort_by_key(|a| a.at);
        Ok(v)
    }

    /// Syncs from every enrolled peer concurrently (see the module docs for what is verified).
    /// Each verified page is stored at once with its cursor (resumable); a peer that breaks the
    /// rules has everything from this sync removed again and an alert recorded.
    pub async fn sync(&self, progress: &(dyn Fn(SyncEvent) + Send + Sync)) -> Result<SyncReport> {
        let list = self.trust_list().await?;
        let peers = self.peers().await?;
        progress(SyncEvent::Started { peers: peers.len() });
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let mut original: BTreeMap<String, PeerState> = BTreeMap::new();
        let mut outcomes: BTreeMap<String, PeerOutcome> = BTreeMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for p in peers {
            let outcome = PeerOutcome {
                peer: p.url.clone(),
                new_records: 0,
                new_receipts: 0,
                error: None,
                error_code: None,
                violation: None,
            };
            let Some(h) = list.hospitals.iter().find(|h| h.peer_url == p.url) else {
                outcomes.insert(
                    p.url.clone(),
                    PeerOutcome {
                        error: Some(format!(
                            "{} is no longer in the trust list; not synced",
                            p.url
                        )),
                        error_code: Some("untrusted_peer"),
                        ..outcome
                    },
                );
                continue;
            };
            let check = HospitalCheck::new(h)?;
            outcomes.insert(p.url.clone(), outcome);
            original.insert(p.url.clone(), p.clone());
            tasks.spawn(peer_task(
                self.net.clone(),
                self.signing.clone(),
                check,
                p,
                tx.clone(),
            ));
        }
        drop(tx);
        let mut current = original.clone();
        let mut inserted: BTreeMap<String, Vec<(Table, String)>> = BTreeMap::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Page {
                    peer,
                    records,
                    cursor,
                    accepted,
                    more,
                } => {
                    let Some(state) = current.get_mut(&peer) else {
                        continue;
                    };
                    let mut writes = Vec::with_capacity(records.len() + 1);
                    let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
                    let existing = self.store.existing(Table::Records, &keys).await?;
                    let mut new = Vec::new();
                    for r in &records {
                        if !existing.contains(&r.key) {
                            new.push((Table::Records, r.key.clone()));
                        }
                        writes.push(self.store.encode(Table::Records, &r.key, r)?);
                    }
                    state.cursor = cursor;
                    state.checkpoint = Some(accepted.0);
                    state.tree_size = accepted.1.size;
                    state.root = accepted
                        .1
                        .root
                        .map(|r| base64::engine::general_purpose::STANDARD.encode(r));
                    writes.push(self.store.encode(Table::Peers, &peer, &*state)?);
                    self.store.apply(writes).await?;
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    o.new_records += new.len() as u64;
                    inserted.entry(peer.clone()).or_default().extend(new);
                    progress(SyncEvent::Records {
                        peer: peer.clone(),
                        done: o.new_records,
                        more,
                    });
                }
                Msg::Receipts {
                    peer,
                    receipts,
                    cursor,
                } => {
                    let Some(state) = current.get_mut(&peer) else {
                        continue;
                    };
                    let mut writes = Vec::new();
                    let mut new = Vec::new();
                    for r in &receipts {
                        if !self.store.contains(Table::Receipts, &r.key).await? {
                            new.push((Table::Receipts, r.key.clone()));
                        }
                        writes.push(self.store.encode(Table::Receipts, &r.key, r)?);
                    }
                    state.receipts_cursor = cursor;
                    writes.push(self.store.encode(Table::Peers, &peer, &*state)?);
                    self.store.apply(writes).await?;
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    o.new_receipts += new.len() as u64;
                    progress(SyncEvent::Receipts {
                        peer: peer.clone(),
                        new: new.len() as u64,
                    });
                    inserted.entry(peer).or_default().extend(new);
                }
                Msg::Done { peer } => {
                    if let Some(state) = current.get_mut(&peer) {
                        state.last_sync = Some(NumericDate::now().seconds());
                        self.store.put(Table::Peers, &peer, &*state).await?;
                    }
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    progress(SyncEvent::PeerDone {
                        peer,
                        records: o.new_records,
                        receipts: o.new_receipts,
                    });
                }
                Msg::Failed { peer, error } => {
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    if let WalletError::HistoryViolation { violation, .. } = &error {
                        // Undo everything stored from this peer during this sync.
                        let mut writes: Vec<Write> = inserted
                            .remove(&peer)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(t, k)| Write::Delete(t, k))
                            .collect();
                        if let Some(orig) = original.get(&peer) {
                            writes.push(self.store.encode(Table::Peers, &peer, orig)?);
                            current.insert(peer.clone(), orig.clone());
                        }
                        let alert = Alert {
                            at: NumericDate::now().seconds(),
                            peer: peer.clone(),
                            violation: violation.clone(),
                        };
                        let key = format!(
                            "{}\u{0}{}\u{0}{}",
                            peer,
                            alert.at,
                            hex::encode(crate::crypto::random::<8>()?)
                        );
                        writes.push(self.store.encode(Table::Alerts, &key, &alert)?);
                        self.store.apply(writes).await?;
                        o.new_records = 0;
                        o.new_receipts = 0;
                        o.violation = Some(violation.clone());
                        progress(SyncEvent::Violation {
                            peer: peer.clone(),
                            violation: violation.clone(),
                        });
                    } else {
                        progress(SyncEvent::PeerFailed {
                            peer: peer.clone(),
                            error: error.to_string(),
                            code: error.code(),
                        });
                    }
                    o.error = Some(error.to_string());
                    o.error_code = Some(error.code());
                }
            }
        }
        while tasks.join_next().await.is_some() {}
        Ok(SyncReport {
            peers: outcomes.into_values().collect(),
        })
    }
}

fn empty_outcome(peer: &str) -> PeerOutcome {
    PeerOutcome {
        peer: peer.to_owned(),
        new_records: 0,
        new_receipts: 0,
        error: None,
        error_code: None,
        violation: None,
    }
}
