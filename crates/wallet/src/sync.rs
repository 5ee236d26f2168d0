//! Enrollment at a peer, and the verified incremental sync of records and access receipts.
//!
//! Verification rules (docs/wallet.md "Sync verification"): every checkpoint is signed by the
//! hospital's log key from the trust list; it is never smaller than the last accepted one and a
//! consistency proof from that one verifies; every record is a SMART Health Card signed by one of
//! the hospital's record keys, with `iss` = the peer URL and `rid` = the record id; its log entry
//! is a `RecordIssued` entry whose commitment `salt ‖ JWS` opens; the entry's leaf is included in
//! the checkpoint. A peer failing any of these is reported as a [`Violation`] and everything
//! stored from it during that sync is removed again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::{Directory, ParsedCard};
use spondon_core::token::{Hospital, TokenClaims, TrustAnchors, TrustList};
use spondon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use spondon_ledger::{
    EntryKind, Hash, LogEntry, Opening, SignedCheckpoint, Verifier, WitnessPolicy,
};
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

    /// Reads the enrollment QR code from a PNG or JPEG image (decoding can take up to its time
    /// budget: async callers use [`EnrollmentCode::from_image_async`]).
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

impl EnrollmentCode {
    /// [`EnrollmentCode::from_image`] on the blocking pool, so decoding never holds an async
    /// runtime thread.
    pub async fn from_image_async(bytes: Vec<u8>) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::from_image(&bytes))
            .await
            .map_err(|e| WalletError::Internal(format!("QR decoding: {e}")))?
    }
}

/// Decodes the QR codes of an image on the blocking pool (the decoder may work up to its time
/// budget).
pub(crate) async fn decode_qr(bytes: &[u8]) -> Result<Vec<String>> {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || spondon_core::qr::decode_image(&bytes))
        .await
        .map_err(|e| WalletError::Internal(format!("QR decoding: {e}")))?
        .map_err(Into::into)
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
    /// This peer's stored records and receipts whose proofs still wait for the witnesses'
    /// quorum, so that a sync finds them without reading the whole history. `None` (state
    /// stored before this field) means not known: the next upgrade reads every record once and
    /// fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unwitnessed: Option<Unwitnessed>,
}

/// Store keys of records and receipts not yet covered by a witnessed checkpoint (see
/// [`PeerState::unwitnessed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unwitnessed {
    pub records: BTreeSet<String>,
    pub receipts: BTreeSet<String>,
}

impl Unwitnessed {
    /// Notes `key`'s proof as waiting (`witnessed` false) or covered.
    fn note(set: &mut BTreeSet<String>, key: &str, witnessed: bool) {
        if witnessed {
            set.remove(key);
        } else {
            set.insert(key.to_owned());
        }
    }
}

impl PeerState {
    /// Records a newly accepted head (already proven consistent with the previous one).
    fn accept(&mut self, (note, head): (String, Accepted)) {
        self.checkpoint = Some(note);
        self.tree_size = head.size;
        self.root = head
            .root
            .map(|r| base64::engine::general_purpose::STANDARD.encode(r));
    }
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
    /// `checkpoint` carries the trust list's quorum of witness cosignatures (always true when
    /// the list requires none). A later sync upgrades the proof of one that does not.
    #[serde(default)]
    pub witnessed: bool,
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
    /// What the access did: `view` (read records) or `write` (added one under a write grant);
    /// events logged before peers said so have none (a view).
    #[serde(default)]
    pub action: Option<String>,
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
    /// As for records: `checkpoint` carries the witness quorum.
    #[serde(default)]
    pub witnessed: bool,
    /// An emergency (break-glass) access: who, why, until when (`docs/peer.md`).
    #[serde(default)]
    pub emergency: Option<EmergencyInfo>,
    /// The key id of the delegate who acted for the patient (`docs/protocol.md` §16): pulled
    /// the records, or signed the grant redeemed.
    #[serde(default)]
    pub delegate: Option<String>,
}

pub use spondon_core::emergency::EmergencyInfo;

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
    /// Proofs received before witnesses had cosigned were replaced by proofs against a
    /// checkpoint that carries the quorum.
    Witnessed {
        peer: String,
        upgraded: u64,
    },
    /// The trust list was refreshed from the authority's publish URL.
    TrustList {
        refresh: TrustListRefresh,
    },
    /// A peer rewrote history or served tampered data: loud, typed.
    Violation {
        peer: String,
        violation: Violation,
    },
    /// Bytes of a document's file so far (`docs/protocol.md` §18), fetched after the records.
    File {
        peer: String,
        record_id: String,
        done: u64,
        total: u64,
    },
    /// A document's file was checked against its card and kept.
    FileKept {
        peer: String,
        record_id: String,
    },
    /// A document's file could not be fetched or does not match its card: nothing of it was
    /// kept, and the next sync tries again.
    FileFailed {
        peer: String,
        record_id: String,
        error: String,
        code: &'static str,
    },
}

/// What refreshing the trust list from the authority's publish URL gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TrustListRefresh {
    /// A newer list (higher sequence) was verified and installed.
    Updated { sequence: u64 },
    /// The published list is the one already pinned.
    Unchanged { sequence: u64 },
    /// The published list is older than the pinned one: refused, and kept as an alert.
    RolledBack { pinned: u64, published: u64 },
    /// It could not be fetched or does not verify; the pinned list stays.
    Failed { error: String },
}

/// What one sync did, per peer.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub peers: Vec<PeerOutcome>,
    /// `None` when the trust list names no publish URL.
    pub trust_list: Option<TrustListRefresh>,
    /// The emergency access policy sent to hospitals that had not acknowledged it yet.
    pub emergency_policy: Vec<crate::emergency::PolicyResult>,
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
    /// Records and receipts of this peer whose proofs still wait for witness cosignatures.
    pub pending_witness: u64,
    /// Files of document records fetched, checked against their cards and kept.
    pub new_files: u64,
    /// Files of document records that could not be fetched or checked (tried again next time;
    /// each was a [`SyncEvent::FileFailed`]).
    pub files_failed: u64,
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
    consistency_proof: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct EntryProof {
    log_index: u64,
    inclusion_proof: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct WitnessedProofs {
    checkpoint: String,
    tree_size: u64,
    consistency_proof: Vec<String>,
    proofs: Vec<EntryProof>,
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

impl Accepted {
    fn of(state: &PeerState) -> Self {
        Self {
            size: state.tree_size,
            root: state
                .root
                .as_deref()
                .and_then(std_b64)
                .and_then(|b| b.try_into().ok()),
        }
    }
}

/// Everything needed to check one hospital's data offline.
#[derive(Debug, Clone)]
pub(crate) struct HospitalCheck {
    pub hospital: Hospital,
    pub directory: Directory,
    pub log: Verifier,
    /// The trust list's witnesses and quorum for this hospital's log.
    pub policy: WitnessPolicy,
}

impl HospitalCheck {
    pub(crate) fn new(list: &TrustList, h: &Hospital) -> Result<Self> {
        let mut directory = Directory::new();
        directory.add_issuer(&h.peer_url, Some(&h.name))?;
        directory.add_jwks(&h.peer_url, h.jwks())?;
        let log = Verifier::ed25519(&h.log_origin, h.log_key)
            .map_err(|e| WalletError::TrustList(format!("log key of {}: {e}", h.id)))?;
        let policy = WitnessPolicy::for_hospital(list, h)
            .map_err(|e| WalletError::TrustList(format!("witness keys: {e}")))?;
        Ok(Self {
            hospital: h.clone(),
            directory,
            log,
            policy,
        })
    }

    /// Whether a verified checkpoint carries the quorum; a cosignature from a listed witness
    /// that does not verify is a violation.
    fn witnessed(&self, cp: &SignedCheckpoint) -> Result<bool, Violation> {
        self.policy
            .check(cp)
            .map(|w| w.met())
            .map_err(|e| Violation::BadCheckpoint {
                reason: format!("a witness cosignature does not verify: {e}"),
            })
    }

    /// Verifies a checkpoint against the log key, its witness cosignatures and the last
    /// accepted head (a consistency proof from it is required whenever the size grows);
    /// returns the new head.
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
            } else {
                let proof = proof.ok_or_else(|| Violation::Fork {
                    from: known.size,
                    to: c.size,
                    reason: "no consistency proof from the accepted checkpoint".into(),
                })?;
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
        self.witnessed(&cp)?;
        Ok((
            Accepted {
                size: c.size,
                root: Some(c.root),
            },
            cp,
        ))
    }

    /// Verifies the checkpoint of a proofs answer: the log's signature, and consistency with
    /// the accepted head in whichever direction (a witnessed checkpoint may be older than the
    /// newest one accepted). Returns it, and the new head when it is newer.
    fn witnessed_checkpoint(
        &self,
        answer: &WitnessedProofs,
        known: Accepted,
    ) -> Result<(SignedCheckpoint, Option<Accepted>), Violation> {
        let cp = SignedCheckpoint::verify(
            answer.checkpoint.as_bytes(),
            &self.hospital.log_origin,
            std::slice::from_ref(&self.log),
        )
        .map_err(|e| Violation::BadCheckpoint {
            reason: e.to_string(),
        })?;
        let c = &cp.checkpoint;
        if c.size != answer.tree_size {
            return Err(Violation::BadCheckpoint {
                reason: format!(
                    "answer names tree size {}, checkpoint says {}",
                    answer.tree_size, c.size
                ),
            });
        }
        let Some(known_root) = known.root else {
            return Ok((cp, None));
        };
        let fork = |reason: String| Violation::Fork {
            from: known.size,
            to: c.size,
            reason,
        };
        let proof = hashes(&answer.consistency_proof)
            .ok_or_else(|| fork("malformed consistency proof".into()))?;
        if c.size == known.size {
            if c.root != known_root {
                return Err(fork("same size, different root".into()));
            }
            return Ok((cp, None));
        }
        if c.size < known.size {
            verify_consistency(c.size, known.size, &proof, &c.root, &known_root)
                .map_err(|e| fork(e.to_string()))?;
            return Ok((cp, None));
        }
        verify_consistency(known.size, c.size, &proof, &known_root, &c.root)
            .map_err(|e| fork(e.to_string()))?;
        let head = Accepted {
            size: c.size,
            root: Some(c.root),
        };
        Ok((cp, Some(head)))
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
            witnessed: false,
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
            |k| {
                matches!(
                    k,
                    EntryKind::AccessGranted
                        | EntryKind::AccessDenied
                        | EntryKind::EmergencyAccess
                        | EntryKind::KeyRotation
                )
            },
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
        // An allowed emergency access is its own kind of entry; a refused one is a denial.
        let emergency = s("action").as_deref() == Some("emergency");
        // A key rotation (docs/protocol.md §17) is its own kind of entry too, always allowed.
        let rotation = s("action").as_deref() == Some("key_rotation");
        let allowed_kind = if emergency {
            EntryKind::EmergencyAccess
        } else if rotation {
            EntryKind::KeyRotation
        } else {
            EntryKind::AccessGranted
        };
        if (outcome == "allowed") != (entry.kind == allowed_kind)
            || (entry.kind == EntryKind::EmergencyAccess && !emergency)
            || ((entry.kind == EntryKind::KeyRotation) != rotation)
        {
            return Err(bad("event outcome contradicts the log entry".into()));
        }
        let emergency = if emergency {
            Some(EmergencyInfo::from_event(ev).map_err(|e| bad(format!("emergency event: {e}")))?)
        } else {
            None
        };
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
            action: s("action"),
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
            witnessed: false,
            emergency,
            delegate: s("delegate"),
        })
    }
}

/// Most pages one delegate pull follows.
const MAX_DELEGATE_PAGES: usize = 100;

/// A delegate's pull of a patient's records from one peer (`POST /delegate/records`, signed by
/// the delegate's key), every record verified like the wallet's own against a checkpoint
/// signed by the hospital's log key. No head is kept between calls.
pub(crate) async fn delegate_records(
    net: &crate::net::PeerClient,
    key: &spondon_core::keys::Es256KeyPair,
    check: &HospitalCheck,
    body: &serde_json::Value,
) -> Result<Vec<StoredRecord>> {
    let peer = &check.hospital.peer_url;
    let mut out = Vec::new();
    let mut since = 0u64;
    for _ in 0..MAX_DELEGATE_PAGES {
        let mut b = body.clone();
        b["since"] = serde_json::json!(since);
        let pull: Pull = net.signed_post(key, peer, "/delegate/records", &b).await?;
        let known = Accepted {
            size: 0,
            root: None,
        };
        let (_, cp) = check
            .checkpoint(&pull.checkpoint, pull.tree_size, None, known)
            .map_err(|v| violation(peer, v))?;
        out.extend(verify_records(check, &pull.records, &cp).map_err(|v| violation(peer, v))?);
        if !pull.more || pull.cursor <= since {
            break;
        }
        since = pull.cursor;
    }
    Ok(out)
}

/// A delegate's (or a minor's guardian's) read of a patient's receipts at one peer
/// (`POST /delegate/receipts`), each verified like the patient's own.
pub(crate) async fn delegate_receipts(
    net: &crate::net::PeerClient,
    key: &spondon_core::keys::Es256KeyPair,
    check: &HospitalCheck,
    body: &serde_json::Value,
) -> Result<Vec<StoredReceipt>> {
    let peer = &check.hospital.peer_url;
    let r: Receipts = net
        .signed_post(key, peer, "/delegate/receipts", body)
        .await?;
    let known = Accepted {
        size: 0,
        root: None,
    };
    let (_, cp) = check
        .checkpoint(&r.checkpoint, r.tree_size, None, known)
        .map_err(|v| violation(peer, v))?;
    r.receipts
        .iter()
        .map(|x| check.receipt(x, &cp).map_err(|v| violation(peer, v)))
        .collect()
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
        /// The receipts' checkpoint, proven consistent with the last accepted one.
        accepted: (String, Accepted),
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
    let mut known = Accepted::of(&state);
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
                let witnessed = check2.witnessed(&cp)?;
                let mut records = verify_records(&check2, &pull.records, &cp)?;
                for r in &mut records {
                    r.witnessed = witnessed;
                }
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
                &serde_json::json!({"since": rcursor, "known_size": known.size}),
            )
            .await?;
        // Every checkpoint accepted, for any purpose, must extend the history already accepted.
        let (accepted, cp) = check
            .checkpoint(
                &r.checkpoint,
                r.tree_size,
                Some(&r.consistency_proof),
                known,
            )
            .map_err(|v| violation(&peer, v))?;
        let witnessed = check.witnessed(&cp).map_err(|v| violation(&peer, v))?;
        let mut out = Vec::with_capacity(r.receipts.len());
        for x in &r.receipts {
            let mut receipt = check.receipt(x, &cp).map_err(|v| violation(&peer, v))?;
            receipt.witnessed = witnessed;
            out.push(receipt);
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
        known = accepted;
        if tx
            .send(Msg::Receipts {
                peer: peer.clone(),
                receipts: out,
                cursor: rcursor,
                accepted: (r.checkpoint, accepted),
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
            unwitnessed: Some(Unwitnessed::default()),
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
                unwitnessed: old.unwitnessed,
                ..state
            },
            None => state,
        };
        self.store.put(Table::Peers, &state.url, &state).await?;
        Ok(state)
    }

    pub(crate) fn check_enrollment(
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
        let (list, trust_list) = self.refresh_trust_list(self.trust_list().await?).await?;
        if let Some(refresh) = &trust_list {
            progress(SyncEvent::TrustList {
                refresh: refresh.clone(),
            });
        }
        let peers = self.peers().await?;
        progress(SyncEvent::Started { peers: peers.len() });
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let mut original: BTreeMap<String, PeerState> = BTreeMap::new();
        let mut outcomes: BTreeMap<String, PeerOutcome> = BTreeMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut checks: BTreeMap<String, HospitalCheck> = BTreeMap::new();
        for p in peers {
            let outcome = PeerOutcome {
                peer: p.url.clone(),
                new_records: 0,
                new_receipts: 0,
                error: None,
                error_code: None,
                violation: None,
                pending_witness: 0,
                new_files: 0,
                files_failed: 0,
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
            let check = HospitalCheck::new(&list, h)?;
            checks.insert(p.url.clone(), check.clone());
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
                        if let Some(u) = state.unwitnessed.as_mut() {
                            Unwitnessed::note(&mut u.records, &r.key, r.witnessed);
                        }
                    }
                    state.cursor = cursor;
                    state.accept(accepted);
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
                    accepted,
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
                        if let Some(u) = state.unwitnessed.as_mut() {
                            Unwitnessed::note(&mut u.receipts, &r.key, r.witnessed);
                        }
                    }
                    state.receipts_cursor = cursor;
                    state.accept(accepted);
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
                        writes.push(self.alert_write(&peer, violation)?);
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
        // Proofs that waited for witnesses: upgraded where a checkpoint now carries the quorum.
        for (peer, check) in &checks {
            let Some(o) = outcomes.get_mut(peer) else {
                continue;
            };
            if o.error.is_some() || check.policy.quorum() == 0 {
                continue;
            }
            match self.upgrade_proofs(check).await {
                Ok((upgraded, pending)) => {
                    o.pending_witness = pending;
                    if upgraded > 0 {
                        progress(SyncEvent::Witnessed {
                            peer: peer.clone(),
                            upgraded,
                        });
                    }
                }
                Err(WalletError::HistoryViolation { violation, .. }) => {
                    self.store
                        .apply(vec![self.alert_write(peer, &violation)?])
                        .await?;
                    progress(SyncEvent::Violation {
                        peer: peer.clone(),
                        violation: violation.clone(),
                    });
                    let e = WalletError::HistoryViolation {
                        peer: peer.clone(),
                        violation: violation.clone(),
                    };
                    o.error = Some(e.to_string());
                    o.error_code = Some(e.code());
                    o.violation = Some(violation);
                }
                Err(e) => {
                    progress(SyncEvent::PeerFailed {
                        peer: peer.clone(),
                        error: e.to_string(),
                        code: e.code(),
                    });
                    o.error = Some(e.to_string());
                    o.error_code = Some(e.code());
                }
            }
        }
        // The emergency access policy, to the hospitals that have not acknowledged it (newly
        // enrolled, or unreachable when it was set); a failure is retried at the next sync.
        let emergency_policy = self.push_emergency_policy().await?;
        // The files of document records, from the peers that synced without error.
        let healthy: std::collections::BTreeSet<String> = outcomes
            .values()
            .filter(|o| o.error.is_none())
            .map(|o| o.peer.clone())
            .collect();
        let files = self
            .fetch_files_from(Some(&healthy), &|e| match e {
                crate::documents::FileEvent::Progress {
                    peer,
                    record_id,
                    done,
                    total,
                } => progress(SyncEvent::File {
                    peer,
                    record_id,
                    done,
                    total,
                }),
                crate::documents::FileEvent::Kept { peer, record_id } => {
                    progress(SyncEvent::FileKept { peer, record_id })
                }
                crate::documents::FileEvent::Failed {
                    peer,
                    record_id,
                    error,
                    code,
                } => progress(SyncEvent::FileFailed {
                    peer,
                    record_id,
                    error,
                    code,
                }),
                crate::documents::FileEvent::Started { .. } => {}
            })
            .await?;
        for k in &files.kept {
            if let Some(o) = outcomes.get_mut(&k.peer) {
                o.new_files += 1;
            }
        }
        for f in &files.failed {
            if let Some(o) = outcomes.get_mut(&f.peer) {
                o.files_failed += 1;
            }
        }
        Ok(SyncReport {
            peers: outcomes.into_values().collect(),
            trust_list,
            emergency_policy,
        })
    }

    /// The write that keeps a security alert.
    fn alert_write(&self, source: &str, violation: &Violation) -> Result<Write> {
        let alert = Alert {
            at: NumericDate::now().seconds(),
            peer: source.to_owned(),
            violation: violation.clone(),
        };
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            source,
            alert.at,
            hex::encode(crate::crypto::random::<8>()?)
        );
        self.store.encode(Table::Alerts, &key, &alert)
    }

    /// Fetches the trust list from the authority's publish URL (if the pinned list names one)
    /// and installs it when newer. A failure leaves the pinned list; an older list is refused
    /// and kept as an alert. Returns the list to sync with.
    async fn refresh_trust_list(
        &self,
        pinned: TrustList,
    ) -> Result<(TrustList, Option<TrustListRefresh>)> {
        let Some(url) = pinned.publish_url.clone() else {
            return Ok((pinned, None));
        };
        let text = match self.net.get_text(&url).await {
            Ok(t) => t,
            Err(e) => {
                let error = e.to_string();
                return Ok((pinned, Some(TrustListRefresh::Failed { error })));
            }
        };
        let root = self.trust_root().await?;
        let published =
            match TrustList::decode_and_verify(text.trim(), &root, 0, NumericDate::now()) {
                Ok(l) => l,
                Err(e) => {
                    let error = format!("the published list does not verify: {e}");
                    return Ok((pinned, Some(TrustListRefresh::Failed { error })));
                }
            };
        use std::cmp::Ordering;
        match published.sequence.cmp(&pinned.sequence) {
            Ordering::Equal => {
                let sequence = pinned.sequence;
                Ok((pinned, Some(TrustListRefresh::Unchanged { sequence })))
            }
            Ordering::Less => {
                let rolled_back = TrustListRefresh::RolledBack {
                    pinned: pinned.sequence,
                    published: published.sequence,
                };
                let violation = Violation::TrustListRollback {
                    pinned: pinned.sequence,
                    published: published.sequence,
                };
                self.store
                    .apply(vec![self.alert_write(&url, &violation)?])
                    .await?;
                Ok((pinned, Some(rolled_back)))
            }
            Ordering::Greater => {
                let list = self.update_trust_list(&text).await?;
                let sequence = list.sequence;
                Ok((list, Some(TrustListRefresh::Updated { sequence })))
            }
        }
    }

    /// Replaces the proofs of this peer's records and receipts that wait for witness
    /// cosignatures with proofs against the newest checkpoint carrying the quorum, after
    /// checking that checkpoint against the history already accepted. Returns how many were
    /// upgraded and how many still wait.
    async fn upgrade_proofs(&self, check: &HospitalCheck) -> Result<(u64, u64)> {
        let peer = check.hospital.peer_url.as_str();
        let quorum = u8::try_from(check.policy.quorum()).unwrap_or(u8::MAX);
        let Some(mut state) = self.store.get::<PeerState>(Table::Peers, peer).await? else {
            return Ok((0, 0));
        };
        let mut records: BTreeMap<u64, StoredRecord> = BTreeMap::new();
        let mut receipts: BTreeMap<u64, StoredReceipt> = BTreeMap::new();
        match &state.unwitnessed {
            // Only the ones known to wait.
            Some(u) => {
                for key in &u.records {
                    if let Some(r) = self.store.get::<StoredRecord>(Table::Records, key).await?
                        && !r.witnessed
                        && let Some(i) = r.log_index
                    {
                        records.insert(i, r);
                    }
                }
                for key in &u.receipts {
                    if let Some(r) = self
                        .store
                        .get::<StoredReceipt>(Table::Receipts, key)
                        .await?
                        && !r.witnessed
                    {
                        receipts.insert(r.log_index, r);
                    }
                }
            }
            // Not known yet (state from before the field): read the whole history once.
            None => {
                records = self
                    .store
                    .all::<StoredRecord>(Table::Records)
                    .await?
                    .into_iter()
                    .filter(|r| r.peer.as_deref() == Some(peer) && !r.witnessed)
                    .filter_map(|r| r.log_index.map(|i| (i, r)))
                    .collect();
                receipts = self
                    .store
                    .all::<StoredReceipt>(Table::Receipts)
                    .await?
                    .into_iter()
                    .filter(|r| r.peer == peer && !r.witnessed)
                    .map(|r| (r.log_index, r))
                    .collect();
            }
        }
        // What still waits, as found (a filled-in set, or stale keys dropped).
        let mut pending = Unwitnessed {
            records: records.values().map(|r| r.key.clone()).collect(),
            receipts: receipts.values().map(|r| r.key.clone()).collect(),
        };
        let total = (records.len() + receipts.len()) as u64;
        if total == 0 {
            if state.unwitnessed.as_ref() != Some(&pending) {
                state.unwitnessed = Some(pending);
                self.store.put(Table::Peers, peer, &state).await?;
            }
            return Ok((0, 0));
        }
        let indices: Vec<u64> = records.keys().chain(receipts.keys()).copied().collect();
        let mut upgraded = 0u64;
        for chunk in indices.chunks(1000) {
            let known = Accepted::of(&state);
            let answer: WitnessedProofs = match self
                .net
                .signed_post(
                    &self.signing,
                    peer,
                    "/patient/proofs",
                    &serde_json::json!({
                        "log_indices": chunk,
                        "min_cosignatures": quorum,
                        "known_size": known.size,
                    }),
                )
                .await
            {
                Ok(a) => a,
                Err(WalletError::PeerRefused { code, .. }) if code == "not_witnessed" => break,
                Err(e) => return Err(e),
            };
            let (cp, head) = check
                .witnessed_checkpoint(&answer, known)
                .map_err(|v| violation(peer, v))?;
            if !check.witnessed(&cp).map_err(|v| violation(peer, v))? {
                // The peer counts cosignatures of witnesses the trust list does not name.
                break;
            }
            let mut writes = Vec::new();
            for p in &answer.proofs {
                let bad = |reason: String| {
                    violation(
                        peer,
                        Violation::TamperedRecord {
                            log_index: p.log_index,
                            reason,
                        },
                    )
                };
                let logged = |entry: &str| -> Result<()> {
                    let bytes = std_b64(entry).ok_or_else(|| bad("stored entry".into()))?;
                    let proof = hashes(&p.inclusion_proof)
                        .ok_or_else(|| bad("malformed inclusion proof".into()))?;
                    verify_inclusion(
                        &leaf_hash(&bytes),
                        p.log_index,
                        cp.checkpoint.size,
                        &proof,
                        &cp.checkpoint.root,
                    )
                    .map_err(|e| bad(format!("inclusion in the witnessed checkpoint: {e}")))
                };
                if let Some(r) = records.get_mut(&p.log_index) {
                    logged(r.entry.as_deref().unwrap_or_default())?;
                    r.inclusion_proof = p.inclusion_proof.clone();
                    r.checkpoint = Some(answer.checkpoint.clone());
                    r.witnessed = true;
                    writes.push(self.store.encode(Table::Records, &r.key, &*r)?);
                    pending.records.remove(&r.key);
                } else if let Some(r) = receipts.get_mut(&p.log_index) {
                    logged(r.entry.as_deref().unwrap_or_default())?;
                    r.inclusion_proof = p.inclusion_proof.clone();
                    r.checkpoint = Some(answer.checkpoint.clone());
                    r.witnessed = true;
                    writes.push(self.store.encode(Table::Receipts, &r.key, &*r)?);
                    pending.receipts.remove(&r.key);
                } else {
                    continue;
                }
                upgraded += 1;
            }
            if let Some(head) = head {
                state.accept((answer.checkpoint.clone(), head));
            }
            // The upgraded proofs and what still waits, in one write.
            state.unwitnessed = Some(pending.clone());
            writes.push(self.store.encode(Table::Peers, peer, &state)?);
            self.store.apply(writes).await?;
        }
        if state.unwitnessed.as_ref() != Some(&pending) {
            state.unwitnessed = Some(pending);
            self.store.put(Table::Peers, peer, &state).await?;
        }
        Ok((upgraded, total - upgraded))
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
        pending_witness: 0,
        new_files: 0,
        files_failed: 0,
    }
}
