//! What the wallet keeps of each peer, record and receipt, and what a sync reports.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Violation;

/// A peer the wallet is enrolled at, with its sync state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerState {
    /// The peer's base URL (its `iss` in records and credentials), as enrolled.
    pub url: String,
    /// The hospital's id in the consortium trust list.
    pub hospital_id: String,
    /// The hospital's display name, from the trust list.
    pub hospital_name: String,
    /// The patient's Health ID at this hospital, from the enrollment code.
    pub health_id: String,
    /// The enrollment credential the peer issued (a compact JWS), verified before it was stored.
    pub enrollment_credential: String,
    /// When the wallet enrolled here (seconds since the epoch); kept when re-enrolling.
    pub enrolled_at: i64,
    /// Record cursor (`since` of the next pull).
    pub cursor: u64,
    /// Receipt cursor (`since` of the next `/patient/receipts` pull).
    pub receipts_cursor: u64,
    /// The last accepted checkpoint (signed note text), its size and root (base64).
    pub checkpoint: Option<String>,
    /// The tree size of the last accepted checkpoint (0 before the first sync).
    pub tree_size: u64,
    /// The root hash of the last accepted checkpoint (base64); `None` before the first sync.
    pub root: Option<String>,
    /// When a sync from this peer last completed (seconds since the epoch); `None` if never.
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
    /// Store keys of this peer's records whose proofs wait for the witness quorum.
    pub records: BTreeSet<String>,
    /// Store keys of this peer's receipts whose proofs wait for the witness quorum.
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
    /// The record id: the card's `rid` (for an import without one, the start of the card's
    /// SHA-256 in hex).
    pub id: String,
    /// `iss` of the card.
    pub issuer: String,
    /// The issuer's display name: the hospital's for synced records, the trusted directory's
    /// for imports; `None` when the issuer is not trusted.
    pub issuer_name: Option<String>,
    /// Peer record kind (`prescription`, `lab_report`, …) or, for imports, derived from content.
    pub kind: String,
    /// The id of the record this one replaces, if any.
    pub supersedes: Option<String>,
    /// When the record was issued (seconds since the epoch).
    pub issued_at: i64,
    /// The signed card itself (a SMART Health Card JWS), as received.
    pub jws: String,
    /// The peer URL it was pulled from; `None` for imported records.
    pub peer: Option<String>,
    /// Its position in the peer's log; `None` for imported records.
    pub log_index: Option<u64>,
    /// The 42-byte log entry (base64, log bytes) whose leaf is proven; `None` for imports.
    pub entry: Option<String>,
    /// The 32-byte commitment salt (base64url): `salt ‖ jws` opens the entry's commitment;
    /// `None` for imports.
    pub salt: Option<String>,
    /// RFC 9162 inclusion proof of `entry` in `checkpoint` (base64 hashes); empty for imports.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (note text) the inclusion proof is against; `None` for imports.
    pub checkpoint: Option<String>,
    /// Where the record came from and how far it is trusted.
    pub trust: Trust,
    /// `checkpoint` carries the trust list's quorum of witness cosignatures (always true when
    /// the list requires none). A later sync upgrades the proof of one that does not.
    #[serde(default)]
    pub witnessed: bool,
}

/// A verified access receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredReceipt {
    /// The cache key (peer URL, NUL, log index).
    pub key: String,
    /// The URL of the peer that logged the access.
    pub peer: String,
    /// The receipt's position in the peer's log.
    pub log_index: u64,
    /// When the access happened (seconds since the epoch), as the peer logged it.
    pub at: i64,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// The refusal's code, for a denied access; `None` when allowed.
    pub reason: Option<String>,
    /// The id of the grant used (base64url), when there was one.
    pub grant_id: Option<String>,
    /// The key id of the grant's audience (the doctor), if any.
    pub audience: Option<String>,
    /// The ids of the records read or written.
    pub records: Vec<String>,
    /// What the access did: `view` (read records) or `write` (added one under a write grant);
    /// events logged before peers said so have none (a view).
    #[serde(default)]
    pub action: Option<String>,
    /// The committed event text, its opening salt, log entry, inclusion proof and checkpoint
    /// (kept so that exports can carry the receipt with its proof).
    #[serde(default)]
    pub event_json: Option<String>,
    /// The 32-byte salt (base64url) that opens the entry's commitment with `event_json`.
    #[serde(default)]
    pub salt: Option<String>,
    /// The 42-byte log entry (base64, log bytes).
    #[serde(default)]
    pub entry: Option<String>,
    /// RFC 9162 inclusion proof of `entry` in `checkpoint` (base64 hashes).
    #[serde(default)]
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (note text) the inclusion proof is against.
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
    /// When the wallet detected the violation (seconds since the epoch).
    pub at: i64,
    /// The URL of the peer that misbehaved.
    pub peer: String,
    /// What it did.
    pub violation: Violation,
}

/// Progress of a sync, for a progress bar.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    /// The sync began.
    Started {
        /// How many enrolled peers it syncs.
        peers: usize,
    },
    /// Records verified and stored from one peer so far; `more` says whether pages remain.
    Records {
        /// The peer's URL.
        peer: String,
        /// Records newly verified and stored from this peer in this sync so far.
        done: u64,
        /// Whether more pages of records remain to be pulled.
        more: bool,
    },
    /// New access receipts were verified and stored from one peer.
    Receipts {
        /// The peer's URL.
        peer: String,
        /// How many new receipts this page brought.
        new: u64,
    },
    /// One peer finished without error.
    PeerDone {
        /// The peer's URL.
        peer: String,
        /// Records newly stored from it in this sync.
        records: u64,
        /// Receipts newly stored from it in this sync.
        receipts: u64,
    },
    /// One peer failed; the others go on. What it stored before failing is kept.
    PeerFailed {
        /// The peer's URL.
        peer: String,
        /// The error, in words for people.
        error: String,
        /// The stable code of the error ([`WalletError::code`](crate::WalletError::code)).
        code: &'static str,
    },
    /// Proofs received before witnesses had cosigned were replaced by proofs against a
    /// checkpoint that carries the quorum.
    Witnessed {
        /// The peer's URL.
        peer: String,
        /// How many stored proofs were upgraded.
        upgraded: u64,
    },
    /// The trust list was refreshed from the authority's publish URL.
    TrustList {
        /// What the refresh gave.
        refresh: TrustListRefresh,
    },
    /// A peer rewrote history or served tampered data: loud, typed.
    Violation {
        /// The peer's URL.
        peer: String,
        /// What it did.
        violation: Violation,
    },
    /// Bytes of a document's file so far (`docs/protocol.md` §18), fetched after the records.
    File {
        /// The peer's URL.
        peer: String,
        /// The document record's id.
        record_id: String,
        /// Bytes fetched so far.
        done: u64,
        /// The file's size in bytes.
        total: u64,
    },
    /// A document's file was checked against its card and kept.
    FileKept {
        /// The peer's URL.
        peer: String,
        /// The document record's id.
        record_id: String,
    },
    /// A document's file could not be fetched or does not match its card: nothing of it was
    /// kept, and the next sync tries again.
    FileFailed {
        /// The peer's URL.
        peer: String,
        /// The document record's id.
        record_id: String,
        /// What went wrong, in words for people.
        error: String,
        /// The stable code of the error ([`WalletError::code`](crate::WalletError::code)).
        code: &'static str,
    },
}

/// What refreshing the trust list from the authority's publish URL gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TrustListRefresh {
    /// A newer list (higher sequence) was verified and installed.
    Updated {
        /// The sequence number of the list now pinned.
        sequence: u64,
    },
    /// The published list is the one already pinned.
    Unchanged {
        /// The sequence number of the pinned (and published) list.
        sequence: u64,
    },
    /// The published list is older than the pinned one: refused, and kept as an alert.
    RolledBack {
        /// The sequence number of the pinned list, which stays.
        pinned: u64,
        /// The lower sequence number of the published list.
        published: u64,
    },
    /// It could not be fetched or does not verify; the pinned list stays.
    Failed {
        /// Why, in words for people.
        error: String,
    },
}

/// What one sync did, per peer.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// One outcome per enrolled peer, in peer URL order.
    pub peers: Vec<PeerOutcome>,
    /// `None` when the trust list names no publish URL.
    pub trust_list: Option<TrustListRefresh>,
    /// The emergency access policy sent to hospitals that had not acknowledged it yet.
    pub emergency_policy: Vec<crate::emergency::PolicyResult>,
}

/// What one sync did at one peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerOutcome {
    /// The peer's URL.
    pub peer: String,
    /// Records newly verified and stored from it in this sync.
    pub new_records: u64,
    /// Access receipts newly verified and stored from it in this sync.
    pub new_receipts: u64,
    /// `None` when all went well.
    pub error: Option<String>,
    /// The stable code of `error` ([`WalletError::code`](crate::WalletError::code)).
    pub error_code: Option<&'static str>,
    /// The history violation the peer committed, if any (then nothing from it was kept).
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
