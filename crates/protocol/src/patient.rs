//! A patient's (or a delegate's) calls to a hospital peer: enrollment, the record pull, the
//! receipts, and the upgrade of proofs to a witnessed checkpoint (`docs/peer.md`).

use serde::{Deserialize, Serialize};

use crate::b64::{self, Hash};

/// A fresh single-use server nonce (`POST /nonce`), for a proof of possession or a signed
/// request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nonce {
    /// 16 random bytes ([`b64::url`]).
    pub nonce: String,
    /// When it stops being accepted (seconds since the epoch). Readers do not need it (a
    /// nonce is used at once): an answer without it reads as 0.
    #[serde(default)]
    pub expires: i64,
}

impl Nonce {
    /// The nonce's bytes; `None` if not base64url.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        b64::url::decode(&self.nonce)
    }
}

/// The answer to an enrollment (`POST /patient/enroll`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The patient's Health ID.
    pub health_id: String,
    /// The key id (RFC 7638 thumbprint) of the wallet key now bound.
    pub kid: String,
    /// The enrollment credential (`SPONDON:1:…`), signed by the peer's record key.
    pub enrollment_credential: String,
    /// Index of the `Enrollment` log entry (commitment to the credential text).
    pub log_index: u64,
}

/// A pull request (`POST /patient/records`). Request fields are declared in key order, so
/// that the signed body is the bytes the peer's examples show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The tree size of the checkpoint the wallet last accepted (0 for none).
    #[serde(default)]
    pub known_size: u64,
    /// The `cursor` of the previous pull (0 for everything).
    #[serde(default)]
    pub since: u64,
}

/// A request for inclusion proofs against the newest witnessed checkpoint
/// (`POST /patient/proofs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProofsRequest {
    /// The tree size of the checkpoint the wallet last accepted (0 for none).
    #[serde(default)]
    pub known_size: u64,
    /// The log entries to prove.
    pub log_indices: Vec<u64>,
    /// Cosignatures the checkpoint must carry (the trust list's quorum), 1..=255.
    pub min_cosignatures: u8,
}

/// One entry's inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    /// The entry's index in the log.
    pub log_index: u64,
    /// RFC 9162 inclusion proof, log bytes ([`b64::log`]).
    pub inclusion_proof: Vec<String>,
}

impl EntryProof {
    /// The inclusion proof's hashes; `None` if one is malformed.
    pub fn proof_hashes(&self) -> Option<Vec<Hash>> {
        b64::log::hashes(&self.inclusion_proof)
    }
}

/// Inclusion proofs against the newest checkpoint carrying the cosignatures asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedProofs {
    /// The checkpoint with its cosignatures.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Consistency proof between `known_size` and `tree_size`, from the smaller to the larger.
    pub consistency_proof: Vec<String>,
    /// Proofs for the requested entries inside the checkpoint (entries beyond it are left out).
    pub proofs: Vec<EntryProof>,
}

/// One record in a pull or a redemption, with what a reader needs to check it offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledRecord {
    /// The record id (the card's `rid`).
    pub id: String,
    /// The peer's record kind (`prescription`, `lab_report`, `document`, …).
    pub kind: String,
    /// The record this one replaces, if any.
    pub supersedes: Option<String>,
    /// When it was issued (seconds since the epoch).
    pub issued_at: i64,
    /// The SMART Health Card.
    pub jws: String,
    /// Index of its `RecordIssued` log entry.
    pub log_index: u64,
    /// The 42-byte log entry, log bytes ([`b64::log`]); its leaf hash is proven.
    pub entry: String,
    /// The 32-byte salt ([`b64::url`]); `salt ‖ jws` opens the log entry's commitment.
    pub salt: String,
    /// RFC 9162 inclusion proof of the entry in the answer's checkpoint ([`b64::log`]).
    pub inclusion_proof: Vec<String>,
}

impl PulledRecord {
    /// The log entry's bytes; `None` if not base64.
    pub fn entry_bytes(&self) -> Option<Vec<u8>> {
        b64::log::decode(&self.entry)
    }
    /// The salt; `None` if not 32 bytes of base64url.
    pub fn salt_bytes(&self) -> Option<[u8; 32]> {
        b64::url::array(&self.salt)
    }
    /// The inclusion proof's hashes; `None` if one is malformed.
    pub fn proof_hashes(&self) -> Option<Vec<Hash>> {
        b64::log::hashes(&self.inclusion_proof)
    }
}

/// The answer to a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    /// The records of this page.
    pub records: Vec<PulledRecord>,
    /// Pass as `since` next time.
    pub cursor: u64,
    /// More records are waiting (pull again with `cursor`).
    pub more: bool,
    /// The cosigned checkpoint every proof refers to.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Consistency proof from `known_size` to `tree_size`.
    pub consistency_proof: Vec<String>,
}

/// A receipt request (`POST /patient/receipts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsRequest {
    /// The tree size of the checkpoint the wallet last accepted (0 for none).
    #[serde(default)]
    pub known_size: u64,
    /// The `cursor` of the previous answer (0 for everything).
    #[serde(default)]
    pub since: u64,
}

/// One access receipt: the committed event, its opening and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Its place in the patient's receipts (compared with the answer's cursor).
    pub seq: u64,
    /// The event as committed: its compact serialization (keys sorted) is the committed
    /// payload. Read its fields with [`AccessEvent`](crate::AccessEvent).
    pub event: serde_json::Value,
    /// Index of the event's log entry.
    pub log_index: u64,
    /// The 42-byte log entry ([`b64::log`]).
    pub entry: String,
    /// The 32-byte salt ([`b64::url`]).
    pub salt: String,
    /// RFC 9162 inclusion proof ([`b64::log`]).
    pub inclusion_proof: Vec<String>,
}

impl Receipt {
    /// The committed payload: the event's compact JSON text, byte for byte what the peer
    /// committed.
    pub fn event_text(&self) -> String {
        self.event.to_string()
    }
    /// The log entry's bytes; `None` if not base64.
    pub fn entry_bytes(&self) -> Option<Vec<u8>> {
        b64::log::decode(&self.entry)
    }
    /// The salt; `None` if not 32 bytes of base64url.
    pub fn salt_bytes(&self) -> Option<[u8; 32]> {
        b64::url::array(&self.salt)
    }
    /// The inclusion proof's hashes; `None` if one is malformed.
    pub fn proof_hashes(&self) -> Option<Vec<Hash>> {
        b64::log::hashes(&self.inclusion_proof)
    }
}

/// Receipts since a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipts {
    /// The receipts of this page.
    pub receipts: Vec<Receipt>,
    /// Pass as `since` next time.
    pub cursor: u64,
    /// The cosigned checkpoint every proof refers to.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Consistency proof from `known_size` to `tree_size`.
    pub consistency_proof: Vec<String>,
}
