//! A lost phone's key rotation at a hospital peer (`POST /patient/rotate-key`,
//! `docs/protocol.md` §17).

use serde::{Deserialize, Serialize};

/// `POST /patient/rotate-key` body (signed by the NEW key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// The key rotation statement (`SPONDON:1:…`, kind 10).
    pub statement: String,
}

/// The answer to a key rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotated {
    /// The patient's Health ID.
    pub health_id: String,
    /// The retired key's thumbprint.
    pub old_kid: String,
    /// The key bound now.
    pub kid: String,
    /// The new key's enrollment credential (`SPONDON:1:…`).
    pub enrollment_credential: String,
    /// Index of the `KeyRotation` log entry.
    pub log_index: u64,
    /// When the old key was retired (every grant it signed is revoked from then on).
    pub rotated_at: i64,
    /// True when this rotation was already done (a retry): nothing changed.
    pub already: bool,
}
