//! The one check that a record is signed, committed and included — and, for any committed
//! payload (an access event, a card), that it is committed and included.
//!
//! The wallet's sync, the clinic node's redemption and the export's offline verification all
//! call it: a card verifies with a key of its issuer, names the record id the peer gave, its log
//! entry is of the expected kind and commits to exactly these bytes under the salt, and the
//! entry's leaf is included in a checkpoint the caller has already verified (signature,
//! consistency, witnesses). Verification only: no I/O.

use spondon_core::shc::{ParsedCard, ShcError, VerifiedCard, VerifyOptions};
use spondon_protocol::{PulledRecord, Receipt};

use crate::checkpoint::Checkpoint;
use crate::entry::{EntryError, EntryKind, LogEntry, Opening};
use crate::merkle::{Hash, ProofError, leaf_hash, verify_inclusion};

/// Where an item sits in the log, decoded from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The 42-byte log entry.
    pub entry: Vec<u8>,
    /// The salt opening the entry's commitment.
    pub salt: [u8; 32],
    /// The entry's index.
    pub log_index: u64,
    /// RFC 9162 inclusion proof of the entry's leaf.
    pub inclusion_proof: Vec<Hash>,
}

impl Logged {
    /// From the wire's base64 fields (`spondon_protocol::b64`: the entry and proof as log
    /// bytes, the salt as base64url).
    pub fn from_wire(
        entry: Option<Vec<u8>>,
        salt: Option<[u8; 32]>,
        log_index: u64,
        inclusion_proof: Option<Vec<Hash>>,
    ) -> Result<Self, LoggedError> {
        Ok(Self {
            entry: entry.ok_or(LoggedError::EntryEncoding)?,
            salt: salt.ok_or(LoggedError::SaltEncoding)?,
            log_index,
            inclusion_proof: inclusion_proof.ok_or(LoggedError::ProofEncoding)?,
        })
    }

    /// A pulled (or redeemed) record's place in the log.
    pub fn of_record(r: &PulledRecord) -> Result<Self, LoggedError> {
        Self::from_wire(
            r.entry_bytes(),
            r.salt_bytes(),
            r.log_index,
            r.proof_hashes(),
        )
    }

    /// A receipt's place in the log.
    pub fn of_receipt(r: &Receipt) -> Result<Self, LoggedError> {
        Self::from_wire(
            r.entry_bytes(),
            r.salt_bytes(),
            r.log_index,
            r.proof_hashes(),
        )
    }
}

/// What a log entry must be, and what its payload is called in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// The entry kinds accepted.
    pub kinds: &'static [EntryKind],
    /// The kind in words (`"a record issuance"`).
    pub name: &'static str,
    /// The payload in words (`"card"`).
    pub payload: &'static str,
}

impl Expected {
    /// A record issuance, committing to the card's JWS.
    pub const RECORD: Expected = Expected {
        kinds: &[EntryKind::RecordIssued],
        name: "a record issuance",
        payload: "card",
    };
    /// An access event of any kind a receipt may carry, committing to the event's text.
    pub const ACCESS_EVENT: Expected = Expected {
        kinds: &[
            EntryKind::AccessGranted,
            EntryKind::AccessDenied,
            EntryKind::EmergencyAccess,
            EntryKind::KeyRotation,
        ],
        name: "an access event",
        payload: "event",
    };
    /// An allowed access (a share), committing to the event's text.
    pub const ACCESS_GRANTED: Expected = Expected {
        kinds: &[EntryKind::AccessGranted],
        name: "an allowed access",
        payload: "event",
    };
}

/// Why an item is not shown to be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggedError {
    /// The entry is not base64 (log bytes).
    #[error("log entry is not base64")]
    EntryEncoding,
    /// The salt is not 32 bytes of base64url.
    #[error("salt is not 32 bytes of base64url")]
    SaltEncoding,
    /// A hash of the inclusion proof is not base64 of 32 bytes.
    #[error("malformed inclusion proof")]
    ProofEncoding,
    /// The entry does not decode.
    #[error("log entry: {0}")]
    Entry(EntryError),
    /// The entry is of another kind.
    #[error("log entry is not {expected}")]
    Kind {
        /// The entry's kind.
        got: EntryKind,
        /// The kind expected, in words.
        expected: &'static str,
    },
    /// The entry's commitment does not open to the payload under the salt.
    #[error("the log entry does not commit to this {what}")]
    Commitment {
        /// The payload, in words.
        what: &'static str,
    },
    /// The entry's leaf is not included in the checkpoint.
    #[error("inclusion: {0}")]
    Inclusion(ProofError),
}

impl LoggedError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            LoggedError::EntryEncoding | LoggedError::SaltEncoding | LoggedError::ProofEncoding => {
                "log_proof_malformed"
            }
            LoggedError::Entry(_) => "log_entry_malformed",
            LoggedError::Kind { .. } => "log_entry_kind",
            LoggedError::Commitment { .. } => "log_commitment_mismatch",
            LoggedError::Inclusion(_) => "log_inclusion_invalid",
        }
    }
}

/// Checks that `payload` is logged: the entry decodes and is of an `expected` kind, it commits
/// to `payload` under the salt, and its leaf is included in `checkpoint` (already verified by the
/// caller). Returns the entry.
pub fn check_logged(
    item: &Logged,
    expected: Expected,
    payload: &[u8],
    checkpoint: &Checkpoint,
) -> Result<LogEntry, LoggedError> {
    let entry = LogEntry::decode(&item.entry).map_err(LoggedError::Entry)?;
    if !expected.kinds.contains(&entry.kind) {
        return Err(LoggedError::Kind {
            got: entry.kind,
            expected: expected.name,
        });
    }
    let opening = Opening {
        salt: item.salt,
        payload: payload.to_vec(),
    };
    if !entry.opens(&opening) {
        return Err(LoggedError::Commitment {
            what: expected.payload,
        });
    }
    verify_inclusion(
        &leaf_hash(&item.entry),
        item.log_index,
        checkpoint.size,
        &item.inclusion_proof,
        &checkpoint.root,
    )
    .map_err(LoggedError::Inclusion)?;
    Ok(entry)
}

/// A record as a peer names it: its card, its id and the issuer it must come from.
#[derive(Debug, Clone, Copy)]
pub struct RecordClaim<'a> {
    /// The SMART Health Card (compact JWS).
    pub jws: &'a str,
    /// The record id the peer gave (must be the card's `rid`).
    pub id: &'a str,
    /// The issuer it must come from (the hospital's peer URL, the card's `iss`).
    pub issuer: &'a str,
}

/// Why a record is refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The card does not parse.
    #[error("card: {0}")]
    Malformed(ShcError),
    /// The card names another issuer.
    #[error("card issuer is not this peer")]
    Issuer {
        /// The card's `iss`.
        got: String,
    },
    /// The card's signature (or validity) does not verify with the issuer's keys.
    #[error("card: {0}")]
    Signature(ShcError),
    /// The card's `rid` is not the record id.
    #[error("card rid does not match the record id")]
    Rid,
    /// The card is not shown to be logged.
    #[error(transparent)]
    Logged(LoggedError),
}

impl RecordError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Malformed(_) => "card_malformed",
            RecordError::Issuer { .. } => "card_issuer",
            RecordError::Signature(_) => "card_invalid",
            RecordError::Rid => "card_rid",
            RecordError::Logged(e) => e.code(),
        }
    }
}

/// The one check of a record: its card is signed by a key of `directory` for the claimed
/// issuer and valid under `options`, it is the record named, and it is committed and included
/// in `checkpoint` (verified by the caller) as a record issuance.
pub fn check_record(
    claim: RecordClaim<'_>,
    logged: &Logged,
    directory: &spondon_core::shc::Directory,
    options: &VerifyOptions,
    checkpoint: &Checkpoint,
) -> Result<(VerifiedCard, LogEntry), RecordError> {
    let card = ParsedCard::parse(claim.jws).map_err(RecordError::Malformed)?;
    if card.iss() != claim.issuer {
        return Err(RecordError::Issuer {
            got: card.iss().to_owned(),
        });
    }
    let rid_matches = card.rid() == Some(claim.id);
    let verified = card
        .into_verified(directory, options)
        .map_err(RecordError::Signature)?;
    if !rid_matches {
        return Err(RecordError::Rid);
    }
    let entry = check_logged(logged, Expected::RECORD, claim.jws.as_bytes(), checkpoint)
        .map_err(RecordError::Logged)?;
    Ok((verified, entry))
}

#[cfg(test)]
mod tests {
    use spondon_core::NumericDate;

    use super::*;
    use crate::merkle::node_hash;

    /// A two-entry log: the payload's entry at index 0, another at 1.
    fn log(kind: EntryKind, payload: &[u8]) -> (Logged, Checkpoint) {
        let opening = Opening {
            salt: [3; 32],
            payload: payload.to_vec(),
        };
        let entry = LogEntry::commit(kind, NumericDate(1_763_790_000), &opening).encode();
        let other = LogEntry::commit(EntryKind::Enrollment, NumericDate(5), &opening).encode();
        let root = node_hash(&leaf_hash(&entry), &leaf_hash(&other));
        let logged = Logged {
            entry: entry.to_vec(),
            salt: opening.salt,
            log_index: 0,
            inclusion_proof: vec![leaf_hash(&other)],
        };
        let checkpoint = Checkpoint {
            origin: "example.org/log".into(),
            size: 2,
            root,
            extensions: vec![],
        };
        (logged, checkpoint)
    }

    #[test]
    fn a_logged_payload_passes_and_its_entry_is_returned() {
        let (logged, cp) = log(EntryKind::RecordIssued, b"card");
        let entry = check_logged(&logged, Expected::RECORD, b"card", &cp).expect("logged");
        assert_eq!(entry.kind, EntryKind::RecordIssued);
        assert_eq!(entry.time, NumericDate(1_763_790_000));
    }

    #[test]
    fn each_failure_has_its_own_variant_and_code() {
        let (logged, cp) = log(EntryKind::RecordIssued, b"card");
        let e = check_logged(&logged, Expected::RECORD, b"card!", &cp).unwrap_err();
        assert_eq!(e, LoggedError::Commitment { what: "card" });
        assert_eq!(e.code(), "log_commitment_mismatch");
        assert_eq!(e.to_string(), "the log entry does not commit to this card");

        let e = check_logged(&logged, Expected::ACCESS_EVENT, b"card", &cp).unwrap_err();
        assert!(matches!(
            e,
            LoggedError::Kind {
                got: EntryKind::RecordIssued,
                ..
            }
        ));
        assert_eq!(e.to_string(), "log entry is not an access event");

        let moved = Logged {
            log_index: 1,
            ..logged.clone()
        };
        let e = check_logged(&moved, Expected::RECORD, b"card", &cp).unwrap_err();
        assert!(matches!(e, LoggedError::Inclusion(_)), "{e}");

        let other_root = Checkpoint {
            root: [0; 32],
            ..cp.clone()
        };
        let e = check_logged(&logged, Expected::RECORD, b"card", &other_root).unwrap_err();
        assert_eq!(e.code(), "log_inclusion_invalid");

        let short = Logged {
            entry: logged.entry[..41].to_vec(),
            ..logged.clone()
        };
        let e = check_logged(&short, Expected::RECORD, b"card", &cp).unwrap_err();
        assert!(matches!(e, LoggedError::Entry(_)), "{e}");
    }

    #[test]
    fn wire_fields_that_do_not_decode_are_named() {
        let e = Logged::from_wire(None, Some([0; 32]), 0, Some(vec![])).unwrap_err();
        assert_eq!(e, LoggedError::EntryEncoding);
        let e = Logged::from_wire(Some(vec![]), None, 0, Some(vec![])).unwrap_err();
        assert_eq!(e.to_string(), "salt is not 32 bytes of base64url");
        let e = Logged::from_wire(Some(vec![]), Some([0; 32]), 0, None).unwrap_err();
        assert_eq!(e, LoggedError::ProofEncoding);
    }
}
