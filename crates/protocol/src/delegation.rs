//! Delegates at a hospital peer (`docs/protocol.md` §16): the patient registers a delegation
//! they signed; a delegate pulls the patient's records and reads their receipts with the
//! delegate's own key. Request fields are declared in key order (as [`crate::PullRequest`]).

use serde::{Deserialize, Serialize};

/// A patient registers a delegation they signed (`POST /patient/delegations`, signed by the
/// same key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationRegistration {
    /// The delegation (`SPONDON:1:…`).
    pub delegation: String,
}

/// The answer to a delegation registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationRegistered {
    /// The delegation's id (base64url).
    pub delegation_id: String,
    /// The delegate's key id.
    pub delegate: String,
    /// When the delegation ends (seconds since the epoch).
    pub expires_at: i64,
}

/// A delegate's pull or receipt request (`POST /delegate/records`, `POST /delegate/receipts`,
/// signed by the delegate's key): the patient, and the cursors of [`crate::PullRequest`].
/// A pull answers a [`crate::Pull`], a receipt read [`crate::Receipts`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DelegateRequest {
    /// The tree size of the checkpoint the delegate last accepted (0 for none).
    #[serde(default)]
    pub known_size: u64,
    /// The patient's key id (RFC 7638 thumbprint, as in the delegation).
    pub patient: String,
    /// The `cursor` of the previous answer (0 for everything).
    #[serde(default)]
    pub since: u64,
}
