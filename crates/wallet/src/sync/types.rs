//! What the wallet keeps of each peer, record and receipt, and what a sync reports.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Violation;

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
    /// Store keys of this peer's document records whose file is not kept yet (new, or its fetch
    /// failed), so that fetching files after a sync reads only those instead of the whole
    /// history. `None` (state stored before this field) means not known: the next fetch reads
    /// every record once and fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_wanted: Option<BTreeSet<String>>,
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
    pub(super) fn note(set: &mut BTreeSet<String>, key: &str, witnessed: bool) {
        if witnessed {
            set.remove(key);
        } else {
            set.insert(key.to_owned());
        }
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

pub(crate) fn record_key(source: &str, id: &str) -> String {
    format!("{source}\u{0}{id}")
}

pub(super) fn empty_outcome(peer: &str) -> PeerOutcome {
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
