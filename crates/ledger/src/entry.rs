//! Typed log entries that hold only salted commitments, never patient data.
//!
//! Wire form (42 bytes): `version (0x01) || kind || time (i64 big-endian, POSIX seconds) ||
//! commitment (32 bytes)`, where
//! `commitment = SHA-256("spondon-ledger/commitment/v1\n" || kind || salt (32 bytes) || payload)`.
//! The payload (e.g. the record's JWS, or a canonical access event) and the random salt stay
//! with the parties entitled to them (the patient's wallet, the hospital); the log only proves
//! that *this* commitment was logged at *this* index, and anyone given the opening can check it.

use std::fmt;

use sha2::{Digest, Sha256};
use spondon_core::NumericDate;
use spondon_core::keys::KeyError;

use crate::merkle::Hash;

/// Current entry format version.
pub const ENTRY_VERSION: u8 = 1;
/// Encoded entry length.
pub const ENTRY_LEN: usize = 42;
const COMMITMENT_LABEL: &[u8] = b"spondon-ledger/commitment/v1\n";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// A hospital issued a record (SMART Health Card) to a patient.
    RecordIssued = 1,
    /// A grant was redeemed and access given.
    AccessGranted = 2,
    /// An access attempt was refused.
    AccessDenied = 3,
    /// A patient's revocation was registered.
    RevocationRegistered = 4,
    /// A patient or doctor was enrolled (identity bound to a key).
    Enrollment = 5,
    /// A de-identified statistics aggregate was signed for the health authority; the payload
    /// is the aggregate's compact JWS (`docs/protocol.md` §13).
    StatsPublished = 6,
    /// A doctor opened a patient's emergency summary without a grant (break-glass), confirmed
    /// by a second staff member; the payload is the canonical emergency access event.
    EmergencyAccess = 7,
    /// A patient key was retired and replaced (a lost phone: a key rotation statement, or a
    /// re-binding after an identity check); the payload is the canonical key rotation event
    /// (`docs/protocol.md` §17). Kind 8 is left to delegations.
    KeyRotation = 9,
}

impl EntryKind {
    /// From the wire byte.
    pub fn from_byte(b: u8) -> Result<Self, EntryError> {
        Ok(match b {
            1 => Self::RecordIssued,
            2 => Self::AccessGranted,
            3 => Self::AccessDenied,
            4 => Self::RevocationRegistered,
            5 => Self::Enrollment,
            6 => Self::StatsPublished,
            7 => Self::EmergencyAccess,
            9 => Self::KeyRotation,
            other => return Err(EntryError::UnknownKind(other)),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_is_refused() {
        for b in 1..=7u8 {
            assert_eq!(EntryKind::from_byte(b).unwrap() as u8, b);
        }
        assert_eq!(EntryKind::from_byte(8), Err(EntryError::UnknownKind(8)));
        assert_eq!(EntryKind::from_byte(9).unwrap(), EntryKind::KeyRotation);
        assert_eq!(EntryKind::from_byte(10), Err(EntryError::UnknownKind(10)));
        let o = Opening::new(b"aggregate".to_vec()).unwrap();
        let e = LogEntry::commit(EntryKind::StatsPublished, NumericDate(1_780_000_000), &o);
        let d = LogEntry::decode(&e.encode()).unwrap();
        assert_eq!(d, e);
        assert!(d.opens(&o));
        // The kind is inside the commitment: the same opening does not open another kind.
        let other = LogEntry::commit(EntryKind::RecordIssued, e.time, &o);
        assert_ne!(other.commitment, e.commitment);
    }
}

/// Errors decoding or building entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The entry is not the fixed length (its length in bytes).
    #[error("entry is {0} bytes, expected {ENTRY_LEN}")]
    WrongLength(usize),
    /// The entry's version byte is not one this version knows.
    #[error("unknown entry version {0}")]
    UnknownVersion(u8),
    /// The entry's kind byte is not one this version knows.
    #[error("unknown entry kind {0}")]
    UnknownKind(u8),
    /// The entry's time is outside the range any Spondon format accepts.
    #[error("entry time {0} is out of range")]
    TimeOutOfRange(i64),
    /// Making the entry's salt failed: the random number generator failed.
    #[error("random generator failed: {0}")]
    Random(#[from] KeyError),
}

impl EntryError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongLength(_) => "wrong_length",
            Self::UnknownVersion(_) => "unknown_version",
            Self::UnknownKind(_) => "unknown_kind",
            Self::TimeOutOfRange(_) => "time_out_of_range",
            Self::Random(e) => e.code(),
        }
    }
}

/// The secret opening of a commitment: salt and payload. Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Opening {
    /// 32 random bytes.
    pub salt: [u8; 32],
    /// The committed data.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("salt", &"[redacted]")
            .field("payload", &"[redacted]")
            .finish()
    }
}

impl Opening {
    /// An opening with a fresh random salt.
    pub fn new(payload: Vec<u8>) -> Result<Self, EntryError> {
        Ok(Self {
            salt: spondon_core::keys::random_bytes()?,
            payload,
        })
    }

    /// The commitment to this opening for `kind`.
    pub fn commitment(&self, kind: EntryKind) -> Hash {
        let mut h = Sha256::new();
        h.update(COMMITMENT_LABEL);
        h.update([kind as u8]);
        h.update(self.salt);
        h.update(&self.payload);
        h.finalize().into()
    }
}

/// A log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// What happened.
    pub kind: EntryKind,
    /// When the hospital logged it.
    pub time: NumericDate,
    /// Salted commitment to the details.
    pub commitment: Hash,
}

impl LogEntry {
    /// An entry committing to `opening`.
    pub fn commit(kind: EntryKind, time: NumericDate, opening: &Opening) -> Self {
        Self {
            kind,
            time,
            commitment: opening.commitment(kind),
        }
    }

    /// Whether `opening` opens this entry's commitment.
    pub fn opens(&self, opening: &Opening) -> bool {
        opening.commitment(self.kind) == self.commitment
    }

    /// The 42-byte wire form (what is appended to the log).
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0] = ENTRY_VERSION;
        out[1] = self.kind as u8;
        out[2..10].copy_from_slice(&self.time.0.to_be_bytes());
        out[10..].copy_from_slice(&self.commitment);
        out
    }

    /// Decodes the wire form strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let b: &[u8; ENTRY_LEN] = bytes
            .try_into()
            .map_err(|_| EntryError::WrongLength(bytes.len()))?;
        if b[0] != ENTRY_VERSION {
            return Err(EntryError::UnknownVersion(b[0]));
        }
        let kind = EntryKind::from_byte(b[1])?;
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[2..10]);
        let time = i64::from_be_bytes(t);
        if !(NumericDate::MIN.0..=NumericDate::MAX.0).contains(&time) {
            return Err(EntryError::TimeOutOfRange(time));
        }
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(&b[10..]);
        Ok(Self {
            kind,
            time: NumericDate(time),
            commitment,
        })
    }
}
