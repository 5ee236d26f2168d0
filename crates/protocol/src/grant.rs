//! The rest of a patient's, a doctor's and a delegate's requests to a hospital peer: the
//! enrollment (also how a lost phone's new key is bound after an identity check), bearer
//! passcodes, revocations, a write under a grant and the files of document records
//! (`docs/peer.md`). Request fields are declared in key order (as [`crate::PullRequest`]), so
//! that a body serializes to the bytes a `json!` map did.

use serde::{Deserialize, Serialize};

/// What a wallet posts to bind its key (`POST /patient/enroll`, signed by that key): a first
/// enrollment, or a re-binding after an identity check at the registration desk (a lost
/// phone, `docs/protocol.md` §17). Answered by [`crate::Enrolled`].
///
/// `K` is the public key's JWK type (`spondon_core::keys::Jwk`): this crate stays serde-only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest<K> {
    /// The one-time enrollment code from the registration desk.
    pub code: String,
    /// The patient's Health ID, as the code names it.
    pub health_id: String,
    /// The wallet's ES256 public key; the request must be signed by it.
    pub public_key: K,
}

/// A patient registers the passcode verifier of a bearer grant (`POST /patient/grant-passcodes`,
/// signed by the key that signed the grant).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasscodeRegistration {
    /// The bearer grant (`SPONDON:1:…`).
    pub grant: String,
    /// `Grant::passcode_verifier(grant id, passcode)`, base64url (32 bytes).
    pub verifier: String,
}

/// The answer to a passcode registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasscodeRegistered {
    /// The grant's id (base64url).
    pub grant_id: String,
    /// Wrong passcodes this peer tolerates for the grant.
    pub max_failures: u64,
}

/// A patient's revocation (`POST /patient/revocations`, signed by the patient key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The revocation (`SPONDON:1:…`).
    pub revocation: String,
}

/// A write under a grant (`POST /grant/write`, with the grant's proof of possession): a
/// registered doctor, the grant's audience, adds a record.
///
/// `K` is the record kind: the peer reads its own `RecordKind` (an unknown kind is refused
/// as the body is parsed); a client may send a `String`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest<K> {
    /// The write grant (`SPONDON:1:…`).
    pub grant: String,
    /// The kind of record (`prescription`, `lab_report`, …).
    pub kind: K,
    /// The record's FHIR resources.
    pub resources: Vec<serde_json::Value>,
    /// The record it replaces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

/// A patient asks for the file of one of their document records (`POST /patient/files`,
/// signed). The answer is the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// The document record.
    pub record_id: String,
}

/// A doctor (or a bearer grant's holder) asks for the file of one record the grant covers
/// (`POST /grant/files`, with the grant's proof of possession or its passcode).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrantFileRequest {
    /// The grant (`SPONDON:1:…`).
    pub grant: String,
    /// The passcode of a bearer grant (no proof of possession then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// The document record.
    pub record_id: String,
}

/// A delegate asks for the file of one of the patient's records (`POST /delegate/files`,
/// signed by the delegate's key).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateFileRequest {
    /// The patient's key id (RFC 7638 thumbprint, as in the delegation).
    pub patient: String,
    /// The document record.
    pub record_id: String,
}
