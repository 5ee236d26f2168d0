//! Every way a Spondon token can be rejected, each with a stable snake_case code.

use crate::keys::KeyError;

/// Why a Spondon token (or a proof-of-possession proof) was rejected or could not be made.
///
/// [`TokenError::code`] is stable and documented in `docs/protocol.md` §9; the `Display` text is
/// for people and may change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token text or bytes were empty.
    #[error("the input is empty")]
    Empty,
    /// The input is longer than the token format allows; nothing of it was parsed.
    #[error("the input is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// The input's length in bytes.
        len: usize,
        /// The largest accepted, in bytes.
        max: usize,
    },
    /// Token text must start with `SPONDON:1:`; this text does not.
    #[error("the text does not start with the Spondon prefix \"SPONDON:1:\"")]
    WrongPrefix,
    /// The text after the prefix is not valid base45; the reason names the fault.
    #[error("the text after the prefix is not valid base45 (RFC 9285): {0}")]
    Base45(&'static str),
    /// A base64url field (a proof of possession) is not unpadded base64url.
    #[error("the proof is not unpadded base64url")]
    Base64,
    /// The bytes are not exactly one well-formed CBOR item (or break the deterministic rules).
    #[error("the bytes are not one well-formed CBOR item: {0}")]
    Cbor(String),
    /// The CBOR is not a COSE_Sign1 array of the expected shape.
    #[error("not a COSE_Sign1: {0}")]
    CoseStructure(&'static str),
    /// The protected header is malformed or lacks `alg` / `kid`.
    #[error("the protected header is invalid: {0}")]
    ProtectedHeader(String),
    /// Spondon tokens carry nothing unprotected; the unprotected header was not empty.
    #[error("the unprotected header must be an empty map")]
    UnprotectedHeaderNotEmpty,
    /// The algorithm is not ES256 (-7), the only one accepted.
    #[error("unsupported algorithm {0}; Spondon tokens use ES256 (-7) only")]
    UnsupportedAlgorithm(String),
    /// A header parameter is marked critical that this version does not understand.
    #[error("header parameter {0} is marked critical but is not understood")]
    UnknownCriticalHeader(String),
    /// The COSE payload is detached or not a byte string.
    #[error("the payload is detached or not a byte string")]
    PayloadMissing,
    /// The payload is not a CBOR map with integer keys.
    #[error("the claims are not a CBOR map with integer keys: {0}")]
    ClaimsNotMap(String),
    /// A map key appears twice; duplicates are refused rather than resolved.
    #[error("map key {0} appears more than once")]
    DuplicateKey(String),
    /// A field this token kind requires is absent (the claim's name).
    #[error("the required field {0} is missing")]
    MissingField(&'static str),
    /// A field is present with the wrong CBOR type.
    #[error("field {field} has the wrong type: expected {expected}")]
    WrongType {
        /// The claim's name.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A field has the right type but a value outside what the format allows.
    #[error("field {field} is out of range: {reason}")]
    OutOfRange {
        /// The claim's name.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// A field that this token kind does not define is present (unknown fields are refused).
    #[error("field {0} is not allowed in this token")]
    UnknownField(String),
    /// A claim is listed as critical that this version does not understand.
    #[error("claim {0} is listed as critical but is not understood")]
    UnknownCriticalClaim(String),
    /// The Spondon claim (-65537) is missing: a CWT, but not a Spondon token.
    #[error("the Spondon claim (-65537) is missing: this is not a Spondon token")]
    NotSpondon,
    /// The token kind code is not one this version knows.
    #[error("unknown token kind {0}")]
    UnknownKind(u64),
    /// A token of one kind was given where another kind was required.
    #[error("expected a {expected} token, found a {found} token")]
    KindMismatch {
        /// The kind required.
        expected: &'static str,
        /// The kind given.
        found: &'static str,
    },
    /// An embedded public key is not an uncompressed SEC1 P-256 point.
    #[error("the embedded public key is not a P-256 point in uncompressed SEC1 form")]
    InvalidKey,
    /// A URL field is not an acceptable `https` URL (or `http` on loopback).
    #[error("invalid URL in field {field}: {reason}")]
    InvalidUrl {
        /// The claim's name.
        field: &'static str,
        /// Why the URL is refused.
        reason: String,
    },
    /// The validity window is empty: `nbf` is after `exp` (seconds since the Unix epoch).
    #[error("nbf ({nbf}) is after exp ({exp})")]
    NbfAfterExp {
        /// Not before, seconds since the Unix epoch.
        nbf: i64,
        /// Expiry, seconds since the Unix epoch.
        exp: i64,
    },
    /// `exp - nbf` exceeds the longest lifetime allowed for this kind (seconds).
    #[error("the token is valid for {lifetime} s; at most {max} s are allowed for this kind")]
    LifetimeTooLong {
        /// `exp - nbf`, in seconds.
        lifetime: i64,
        /// The longest allowed for this kind, in seconds.
        max: i64,
    },
    /// The token's `nbf` is still in the future at the given time.
    #[error("the token is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// Not before, seconds since the Unix epoch.
        nbf: i64,
        /// The verification time, seconds since the Unix epoch.
        now: i64,
    },
    /// `iat` is later than now plus the allowed clock skew.
    #[error("issued at {iat}, later than now ({now}) plus the allowed clock skew")]
    IssuedInFuture {
        /// Issued at, seconds since the Unix epoch.
        iat: i64,
        /// The verification time, seconds since the Unix epoch.
        now: i64,
    },
    /// The token's `exp` has passed at the given time.
    #[error("the token expired at {exp} (now {now})")]
    Expired {
        /// Expiry, seconds since the Unix epoch.
        exp: i64,
        /// The verification time, seconds since the Unix epoch.
        now: i64,
    },
    /// The header `kid` is not the signer key's thumbprint.
    #[error("the header kid does not match the signer's key")]
    KidMismatch,
    /// The ES256 signature does not verify under the signer's key.
    #[error("the signature does not verify")]
    BadSignature,
    /// Verifying this kind needs a trust anchor (trust list or root key) the caller did not pass.
    #[error("verifying this token needs {0}, which was not given")]
    TrustAnchorMissing(&'static str),
    /// The issuing hospital is not in the trust list (its id).
    #[error("issuer {0:?} is not in the trust list")]
    UnknownIssuer(String),
    /// The signing key is not one of the issuer's record-signing keys in the trust list (its kid).
    #[error("key {0:?} is not a record-signing key of the issuer in the trust list")]
    UnknownSigningKey(String),
    /// A trust list older than the pinned one was offered; pinned lists never go back.
    #[error("trust list sequence {found} is older than the pinned sequence {pinned}")]
    TrustListRollback {
        /// The offered list's sequence number.
        found: u64,
        /// The pinned list's sequence number.
        pinned: u64,
    },
    /// A bearer grant (no audience key) lacks the passcode flag or a use limit of 1.
    #[error("a bearer grant (no audience key) needs the passcode flag and a use limit of 1: {0}")]
    BearerGrantInvalid(&'static str),
    /// The proof of possession was signed by a key other than the grant's audience key.
    #[error("the proof of possession was signed by a key other than the grant's audience key")]
    PopKeyMismatch,
    /// The proof of possession names another grant, method, URL or body than the request.
    #[error("the proof of possession does not match the request: {0}")]
    PopMismatch(&'static str),
    /// The proof of possession was made outside the accepted window around now.
    #[error("the proof of possession was made at {iat}, outside the accepted window around {now}")]
    PopStale {
        /// When the proof was made, seconds since the Unix epoch.
        iat: i64,
        /// The verification time, seconds since the Unix epoch.
        now: i64,
    },
    /// A proof of possession was asked of a bearer grant, which has no key to prove.
    #[error("the grant is a bearer grant; it has no audience key to prove possession of")]
    PopNotBound,
    /// A delegate's grant names another patient than its delegation.
    #[error("the delegate's grant names another patient than its delegation")]
    DelegationMismatch,
    /// A delegate's grant goes beyond the scope, categories or time of its delegation.
    #[error("the delegate's grant goes beyond its delegation: {0}")]
    DelegationExceeded(&'static str),
    /// The embedded delegation is not signed by the patient key it names.
    #[error("the embedded delegation is not signed by the patient key it names")]
    BadDelegationSignature,
    /// A key rotation statement was made too long ago to be accepted now.
    #[error("the key rotation statement was made at {iat}, too long before now ({now})")]
    RotationStale {
        /// When the statement was made, seconds since the Unix epoch.
        iat: i64,
        /// The verification time, seconds since the Unix epoch.
        now: i64,
    },
    /// Making a signature failed (a key or encoding fault on the signer's side).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The fields are individually valid but inconsistent with each other.
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
