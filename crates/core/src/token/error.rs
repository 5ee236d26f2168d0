//! Every way a Spondon token can be rejected, each with a stable snake_case code.

use crate::keys::KeyError;

/// Why a Spondon token (or a proof-of-possession proof) was rejected or could not be made.
///
/// [`TokenError::code`] is stable and documented in `docs/protocol.md` §9; the `Display` text is
/// for people and may change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {len} bytes; at most {max} are accepted")]
    TooLarge { len: usize, max: usize },
    #[error("the text does not start with the Spondon prefix \"SPONDON:1:\"")]
    WrongPrefix,
    #[error("the text after the prefix is not valid base45 (RFC 9285): {0}")]
    Base45(&'static str),
    #[error("the proof is not unpadded base64url")]
    Base64,
    #[error("the bytes are not one well-formed CBOR item: {0}")]
    Cbor(String),
    #[error("not a COSE_Sign1: {0}")]
    CoseStructure(&'static str),
    #[error("the protected header is invalid: {0}")]
    ProtectedHeader(String),
    #[error("the unprotected header must be an empty map")]
    UnprotectedHeaderNotEmpty,
    #[error("unsupported algorithm {0}; Spondon tokens use ES256 (-7) only")]
    UnsupportedAlgorithm(String),
    #[error("header parameter {0} is marked critical but is not understood")]
    UnknownCriticalHeader(String),
    #[error("the payload is detached or not a byte string")]
    PayloadMissing,
    #[error("the claims are not a CBOR map with integer keys: {0}")]
    ClaimsNotMap(String),
    #[error("map key {0} appears more than once")]
    DuplicateKey(String),
    #[error("the required field {0} is missing")]
    MissingField(&'static str),
    #[error("field {field} has the wrong type: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field {field} is out of range: {reason}")]
    OutOfRange { field: &'static str, reason: String },
    #[error("field {0} is not allowed in this token")]
    UnknownField(String),
    #[error("claim {0} is listed as critical but is not understood")]
    UnknownCriticalClaim(String),
    #[error("the Spondon claim (-65537) is missing: this is not a Spondon token")]
    NotSpondon,
    #[error("unknown token kind {0}")]
    UnknownKind(u64),
    #[error("expected a {expected} token, found a {found} token")]
    KindMismatch {
        expected: &'static str,
        found: &'static str,
    },
    #[error("the embedded public key is not a P-256 point in uncompressed SEC1 form")]
    InvalidKey,
    #[error("invalid URL in field {field}: {reason}")]
    InvalidUrl { field: &'static str, reason: String },
    #[error("nbf ({nbf}) is after exp ({exp})")]
    NbfAfterExp { nbf: i64, exp: i64 },
    #[error("the token is valid for {lifetime} s; at most {max} s are allowed for this kind")]
    LifetimeTooLong { lifetime: i64, max: i64 },
    #[error("the token is not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("issued at {iat}, later than now ({now}) plus the allowed clock skew")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the header kid does not match the signer's key")]
    KidMismatch,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("verifying this token needs {0}, which was not given")]
    TrustAnchorMissing(&'static str),
    #[error("issuer {0:?} is not in the trust list")]
    UnknownIssuer(String),
    #[error("key {0:?} is not a record-signing key of the issuer in the trust list")]
    UnknownSigningKey(String),
    #[error("trust list sequence {found} is older than the pinned sequence {pinned}")]
    TrustListRollback { found: u64, pinned: u64 },
    #[error("a bearer grant (no audience key) needs the passcode flag and a use limit of 1: {0}")]
    BearerGrantInvalid(&'static str),
    #[error("the proof of possession was signed by a key other than the grant's audience key")]
    PopKeyMismatch,
    #[error("the proof of possession does not match the request: {0}")]
    PopMismatch(&'static str),
    #[error("the proof of possession was made at {iat}, outside the accepted window around {now}")]
    PopStale { iat: i64, now: i64 },
    #[error("the grant is a bearer grant; it has no audience key to prove possession of")]
    PopNotBound,
    #[error("the delegate's grant names another patient than its delegation")]
    DelegationMismatch,
    #[error("the delegate's grant goes beyond its delegation: {0}")]
    DelegationExceeded(&'static str),
    #[error("the embedded delegation is not signed by the patient key it names")]
    BadDelegationSignature,
    #[error("the key rotation statement was made at {iat}, too long before now ({now})")]
    RotationStale { iat: i64, now: i64 },
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("the token fields are inconsistent: {0}")]
    Invalid(&'static str),
}

impl TokenError {
    /// The stable machine-readable code of this error (`docs/protocol.md` §9).
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Empty => "empty",
            TokenError::TooLarge { .. } => "too_large",
            TokenError::WrongPrefix => "wrong_prefix",
            TokenError::Base45(_) => "base45_invalid",
            TokenError::Base64 => "base64_invalid",
            TokenError::Cbor(_) => "cbor_invalid",
            TokenError::CoseStructure(_) => "cose_structure",
            TokenError::ProtectedHeader(_) => "protected_header_invalid",
            TokenError::UnprotectedHeaderNotEmpty => "unprotected_header_not_empty",
            TokenError::UnsupportedAlgorithm(_) => "unsupported_alg",
            TokenError::UnknownCriticalHeader(_) => "unknown_critical_header",
            TokenError::PayloadMissing => "payload_missing",
            TokenError::ClaimsNotMap(_) => "claims_not_map",
            TokenError::DuplicateKey(_) => "duplicate_key",
            TokenError::MissingField(_) => "missing_field",
            TokenError::WrongType { .. } => "wrong_type",
            TokenError::OutOfRange { .. } => "out_of_range",
            TokenError::UnknownField(_) => "unknown_field",
            TokenError::UnknownCriticalClaim(_) => "unknown_critical_claim",
            TokenError::NotSpondon => "not_spondon",
            TokenError::UnknownKind(_) => "unknown_kind",
            TokenError::KindMismatch { .. } => "kind_mismatch",
            TokenError::InvalidKey => "invalid_key",
            TokenError::InvalidUrl { .. } => "invalid_url",
            TokenError::NbfAfterExp { .. } => "nbf_after_exp",
            TokenError::LifetimeTooLong { .. } => "lifetime_too_long",
            TokenError::NotYetValid { .. } => "not_yet_valid",
            TokenError::IssuedInFuture { .. } => "iat_in_future",
            TokenError::Expired { .. } => "expired",
            TokenError::KidMismatch => "kid_mismatch",
            TokenError::BadSignature => "bad_signature",
            TokenError::TrustAnchorMissing(_) => "trust_anchor_missing",
            TokenError::UnknownIssuer(_) => "unknown_issuer",
            TokenError::UnknownSigningKey(_) => "unknown_kid",
            TokenError::TrustListRollback { .. } => "trust_list_rollback",
            TokenError::BearerGrantInvalid(_) => "bearer_grant_invalid",
            TokenError::PopKeyMismatch => "pop_key_mismatch",
            TokenError::PopMismatch(_) => "pop_mismatch",
            TokenError::PopStale { .. } => "pop_stale",
            TokenError::PopNotBound => "pop_not_bound",
            TokenError::DelegationMismatch => "delegation_mismatch",
            TokenError::DelegationExceeded(_) => "delegation_exceeded",
            TokenError::BadDelegationSignature => "bad_delegation_signature",
            TokenError::RotationStale { .. } => "rotation_stale",
            TokenError::Signing(_) => "signing_failed",
            TokenError::Invalid(_) => "invalid",
        }
    }
}

impl From<KeyError> for TokenError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::BadSignature | KeyError::SignatureLength(_) => TokenError::BadSignature,
            KeyError::InvalidPublicKey => TokenError::InvalidKey,
            other => TokenError::Signing(other.to_string()),
        }
    }
}
