//! SMART Health Cards (HL7 "SMART Health Cards and Links" IG 1.0.0): issue and verify.
//!
//! - [`CardBuilder`] issues a card: minified FHIR R4 bundle inside a VC payload, raw DEFLATE,
//!   compact JWS with the header exactly `{"zip":"DEF","alg":"ES256","kid":…}` and a raw `R‖S`
//!   ES256 signature.
//! - [`ParsedCard::parse`] checks the structure (size, header, inflation with an output cap,
//!   payload JSON) and exposes what the card claims; [`ParsedCard::verify`] then checks it against
//!   a [`Directory`] of trusted issuers at a caller-supplied time.
//! - [`qr`] encodes and decodes `shc:/` numeric QR content (legacy chunks are decoded, never
//!   produced); [`file`](mod@file) reads and writes `.smart-health-card` files; [`fhir`] holds the FHIR
//!   bundle rules the SMART validator enforces.
//!
//! Every failure is a specific [`ShcError`] variant with a stable [`ShcError::code`].

mod borrowed;
pub mod codes;
pub mod directory;
pub mod fhir;
pub mod file;
pub mod jws;
pub mod qr;
pub mod units;
pub mod x5c;

pub use directory::{Crl, Directory, IssuerEntry};
pub use file::HealthCardFile;
pub use jws::{
    CardBuilder, ParsedCard, Verdict, VerdictError, VerifiedCard, VerifyOptions, check_jws,
};
pub use qr::{QrDecoded, decode_numeric_chunks, encode_numeric, extract_jws};

/// Longest compact JWS accepted anywhere (bytes). A V40 QR holds far less; files may carry
/// larger cards, but never this large.
pub const MAX_JWS_LEN: usize = 256 * 1024;
/// Largest inflated payload accepted (bytes). Inflation stops as soon as it would exceed this.
pub const MAX_PAYLOAD_LEN: usize = 2 * 1024 * 1024;
/// Largest text input (file, QR text, directory, CRL) accepted by the parsers of this module.
pub const MAX_INPUT_LEN: usize = 4 * 1024 * 1024;
/// Longest JWS that fits a single version-22 QR (numeric mode, ECC L), per the specification.
pub const MAX_SINGLE_QR_JWS_LEN: usize = 1195;
/// Longest JWS chunk allowed in one legacy chunked QR.
pub const MAX_QR_CHUNK_JWS_LEN: usize = 1191;

/// The VC type every SMART Health Card carries.
pub const VC_TYPE_HEALTH_CARD: &str = "https://smarthealth.cards#health-card";
/// Optional VC type: the card holds an Immunization.
pub const VC_TYPE_IMMUNIZATION: &str = "https://smarthealth.cards#immunization";
/// Optional VC type: the card holds a laboratory result.
pub const VC_TYPE_LABORATORY: &str = "https://smarthealth.cards#laboratory";
/// Optional VC type: COVID-19 related.
pub const VC_TYPE_COVID19: &str = "https://smarthealth.cards#covid19";
/// Allowed but unnecessary W3C type.
pub const VC_TYPE_VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";

/// A non-fatal finding: the card is accepted, but the SMART validator would warn.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// Stable snake_case code (see `docs/shc.md`).
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
        }
    }
}

/// Everything that can make a SMART Health Card (or its QR / file / directory) unacceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShcError {
    // ---- input framing ----
    /// The input is longer than accepted; nothing was parsed (its length, the limit, in bytes).
    #[error("input is {0} bytes, more than the {1}-byte limit")]
    InputTooLarge(usize, usize),
    /// The JWS is surrounded by whitespace or other characters.
    #[error("input has leading or trailing whitespace or other characters")]
    TrailingCharacters,
    /// Not three base64url parts separated by dots.
    #[error("not a compact JWS (expected base64url.base64url.base64url): {0}")]
    MalformedJws(&'static str),

    // ---- JWS header ----
    /// The JWS header is not a JSON object.
    #[error("JWS header is not a JSON object")]
    HeaderNotJson,
    /// The JWS header has no `alg`.
    #[error("JWS header has no \"alg\"")]
    MissingAlg,
    /// The `alg` is not `ES256`.
    #[error("JWS header \"alg\" is {0:?}, expected \"ES256\"")]
    UnsupportedAlg(String),
    /// The JWS header has no `zip`; cards are always DEFLATE-compressed.
    #[error("JWS header has no \"zip\" (SMART Health Cards are always DEFLATE-compressed)")]
    MissingZip,
    /// The `zip` is not `DEF`.
    #[error("JWS header \"zip\" is {0:?}, expected \"DEF\"")]
    UnsupportedZip(String),
    /// The JWS header has no `kid`.
    #[error("JWS header has no \"kid\"")]
    MissingKid,
    /// The JWS header has `crit`, which cards do not use.
    #[error("JWS header has the critical extension \"crit\", which SMART Health Cards do not use")]
    CriticalHeader,

    // ---- signature encoding ----
    /// The signature is DER-encoded instead of the 64-byte raw `R ‖ S`.
    #[error("signature is DER-encoded; ES256 JWS signatures are the 64-byte raw R‖S form")]
    SignatureDerEncoded,
    /// The signature is not 64 bytes (its length).
    #[error("signature is {0} bytes; ES256 signatures are exactly 64 bytes")]
    SignatureLength(usize),

    // ---- payload ----
    /// The payload does not inflate as raw DEFLATE.
    #[error("payload does not inflate as raw DEFLATE: {0}")]
    BadDeflate(String),
    /// The inflated payload is larger than the limit (in bytes); inflation stopped there.
    #[error("inflated payload exceeds the {0}-byte limit")]
    PayloadTooLarge(usize),
    /// The payload starts with a UTF-8 byte order mark.
    #[error("payload starts with a UTF-8 byte order mark")]
    PayloadBom,
    /// The payload is not UTF-8.
    #[error("payload is not valid UTF-8")]
    PayloadNotUtf8,
    /// The payload is not a JSON object.
    #[error("payload is not a JSON object: {0}")]
    PayloadNotJson(String),
    /// The payload has no string `iss`.
    #[error("payload has no string \"iss\"")]
    MissingIss,
    /// The payload has no numeric `nbf`.
    #[error("payload has no numeric \"nbf\"")]
    MissingNbf,
    /// A time claim (`nbf`, `exp`) is not a JSON number.
    #[error("payload \"{0}\" is not a JSON number")]
    BadTimestamp(&'static str),
    /// The payload has no `vc` object.
    #[error("payload has no \"vc\" object")]
    MissingVc,
    /// `vc.type` lacks the health card type.
    #[error("vc.type does not contain \"{VC_TYPE_HEALTH_CARD}\"")]
    MissingHealthCardType,
    /// `vc.credentialSubject.fhirVersion` is missing or not a string.
    #[error("vc.credentialSubject.fhirVersion is missing or not a string")]
    MissingFhirVersion,
    /// `vc.credentialSubject.fhirBundle` is missing or not an object.
    #[error("vc.credentialSubject.fhirBundle is missing or not an object")]
    MissingFhirBundle,
    /// `vc.rid` is not a valid revocation id.
    #[error("vc.rid is invalid: {0}")]
    BadRid(String),
    /// `exp` is not after `nbf`.
    #[error("\"exp\" ({exp}) is not after \"nbf\" ({nbf})")]
    ExpBeforeNbf {
        /// `nbf`, seconds since the Unix epoch.
        nbf: f64,
        /// `exp`, seconds since the Unix epoch.
        exp: f64,
    },

    // ---- issuer and key ----
    /// The issuer is not an `https` URL.
    #[error("issuer {0:?} is not an https URL")]
    IssNotHttps(String),
    /// The issuer URL ends with `/`.
    #[error("issuer {0:?} ends with a \"/\"")]
    IssTrailingSlash(String),
    /// The issuer is not in the trusted directory.
    #[error("issuer {0:?} is not in the trusted directory")]
    IssuerNotTrusted(String),
    /// The `kid` is listed under another issuer than the card's.
    #[error("kid {kid:?} belongs to another issuer ({owner}), not to {iss}")]
    IssuerKidMismatch {
        /// The key id.
        kid: String,
        /// The card's issuer.
        iss: String,
        /// The issuer that lists the key.
        owner: String,
    },
    /// The issuer's key set has no key with this `kid`.
    #[error("kid {kid:?} is not in the key set of issuer {iss}")]
    UnknownKid {
        /// The key id.
        kid: String,
        /// The card's issuer.
        iss: String,
    },
    /// The issuer key's `kty` is not `EC`.
    #[error("issuer key has \"kty\" {0:?}, expected \"EC\"")]
    KeyWrongKty(String),
    /// The issuer key's `crv` is not `P-256`.
    #[error("issuer key has \"crv\" {0:?}, expected \"P-256\"")]
    KeyWrongCrv(String),
    /// The issuer key's `alg` is not `ES256`.
    #[error("issuer key has \"alg\" {0:?}, expected \"ES256\"")]
    KeyWrongAlg(String),
    /// The issuer key's `use` is not `sig`.
    #[error("issuer key has \"use\" {0:?}, expected \"sig\"")]
    KeyWrongUse(String),
    /// The issuer key carries the private scalar `d`.
    #[error("issuer key contains private key material (\"d\")")]
    KeyPrivate,
    /// The issuer key's `kid` is not its RFC 7638 thumbprint.
    #[error("issuer key \"kid\" {kid:?} is not its RFC 7638 thumbprint {thumbprint:?}")]
    KeyWrongKid {
        /// The key's `kid`.
        kid: String,
        /// Its thumbprint.
        thumbprint: String,
    },
    /// The issuer key cannot be used (not a valid P-256 point, …).
    #[error("issuer key is unusable: {0}")]
    KeyInvalid(String),
    /// The signature does not verify under the issuer key.
    #[error("signature does not verify with the issuer key")]
    BadSignature,

    // ---- X.509 (x5c) ----
    /// The key's `x5c` chain cannot be parsed.
    #[error("x5c: {0}")]
    X5cInvalid(String),
    /// The leaf certificate's key is not the JWK's key.
    #[error("x5c: leaf certificate public key does not match the JWK")]
    X5cKeyMismatch,
    /// The leaf certificate has no subjectAltName URI equal to the issuer.
    #[error("x5c: leaf certificate has no subjectAltName URI equal to the issuer {0:?}")]
    X5cSanMismatch(String),
    /// Certificate number `n` of the chain (0: the leaf) has expired at the validation time.
    #[error("x5c: certificate {0} is expired at the validation time")]
    X5cExpired(usize),
    /// Certificate number `n` of the chain (0: the leaf) is not yet valid at the validation time.
    #[error("x5c: certificate {0} is not yet valid at the validation time")]
    X5cNotYetValid(usize),
    /// The chain's signatures or constraints do not verify.
    #[error("x5c: chain does not verify: {0}")]
    X5cChainInvalid(String),
    /// The chain does not end at a trusted anchor.
    #[error("x5c: chain does not end at a trusted anchor")]
    X5cUntrustedRoot,

    // ---- time ----
    /// The card's `nbf` is after the validation time.
    #[error("card is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// `nbf`, seconds since the Unix epoch.
        nbf: f64,
        /// The validation time, seconds since the Unix epoch.
        now: i64,
    },
    /// `nbf` is so large it must be in milliseconds rather than seconds.
    #[error("card \"nbf\" {0} looks like milliseconds, not seconds")]
    NbfInMilliseconds(f64),
    /// The card's `exp` is before the validation time.
    #[error("card expired at {exp} (now {now})")]
    Expired {
        /// `exp`, seconds since the Unix epoch.
        exp: f64,
        /// The validation time, seconds since the Unix epoch.
        now: i64,
    },

    // ---- revocation ----
    /// The card's `rid` is on the issuer key's revocation list.
    #[error("card is revoked by the issuer's revocation list (rid {0:?})")]
    Revoked(String),
    /// The key declares a `crlVersion` but no revocation list was loaded for it: the card cannot be cleared.
    #[error("the issuer key declares crlVersion {0} but no revocation list for it is loaded")]
    CrlUnavailable(u64),
    /// The revocation list is malformed.
    #[error("revocation list: {0}")]
    CrlInvalid(String),
    /// The list's `kid` is not the key's.
    #[error("revocation list \"kid\" {crl:?} is not the key's kid {key:?}")]
    CrlKidMismatch {
        /// The list's `kid`.
        crl: String,
        /// The key's `kid`.
        key: String,
    },
    /// The list's `method` is not `rid`.
    #[error("revocation list \"method\" is {0:?}, expected \"rid\"")]
    CrlBadMethod(String),
    /// The list's `ctr` does not match the key's `crlVersion`.
    #[error("revocation list \"ctr\" {ctr} does not match the key's crlVersion {crl_version}")]
    CrlVersionMismatch {
        /// The list's `ctr`, as written.
        ctr: String,
        /// The key's `crlVersion`.
        crl_version: u64,
    },
    /// The list names the same `rid` twice.
    #[error("revocation list lists rid {0:?} more than once")]
    CrlDuplicateRid(String),
    /// A list entry is not a valid `rid`.
    #[error("revocation list entry {0:?} is not a valid rid")]
    CrlBadRid(String),

    // ---- FHIR bundle and VC content ----
    /// The FHIR content is not a `Bundle` of type `collection`.
    #[error("FHIR: {0}")]
    FhirNotBundle(String),
    /// A bundle entry is malformed.
    #[error("FHIR: {0}")]
    FhirBadEntry(String),
    /// An entry's `fullUrl` is not of the `resource:N` form.
    #[error("FHIR: {0}")]
    FhirBadFullUrl(String),
    /// A reference is not to a `resource:N` of the bundle.
    #[error("FHIR: {0}")]
    FhirBadReference(String),
    /// An element is empty (`""`, `[]`, `{}`), which FHIR forbids.
    #[error("FHIR: {0}")]
    FhirEmptyElement(String),
    /// `meta.security` is present with other content than cards allow.
    #[error("FHIR: {0}")]
    FhirBadMetaSecurity(String),
    /// An immunization's `status` is not `completed` or `entered-in-error`.
    #[error("FHIR: {0}")]
    FhirImmunizationStatus(String),
    /// An immunization has no `occurrenceDateTime` or `occurrenceString`.
    #[error("FHIR: {0}")]
    FhirImmunizationOccurrence(String),
    /// A resource breaks the FHIR R4 schema rules checked.
    #[error("FHIR: {0}")]
    FhirSchema(String),

    // ---- numeric QR ----
    /// The QR text does not start with `shc:/`.
    #[error("QR text does not start with \"shc:/\"")]
    QrBadPrefix,
    /// The chunk header (`shc:/N/M/`) is malformed.
    #[error("QR chunk header is malformed: {0}")]
    QrBadChunkHeader(String),
    /// The numeric data has an odd number of digits.
    #[error("QR numeric data has an odd number of digits")]
    QrOddDigits,
    /// The numeric data contains a non-digit.
    #[error("QR numeric data contains a non-digit character")]
    QrNonDigit,
    /// A digit pair is above 77 (the pair's value).
    #[error("QR digit pair {0} is out of range (00..=77)")]
    QrDigitPairOutOfRange(u32),
    /// A character cannot appear in a compact JWS, so it has no numeric QR encoding.
    #[error("character {0:?} cannot appear in a compact JWS and has no numeric QR encoding")]
    QrUnencodable(char),
    /// A chunk index is 0 or above the total.
    #[error("QR chunk {index} of {total} is out of range")]
    QrChunkIndexOutOfRange {
        /// The chunk's index.
        index: usize,
        /// The total chunk count.
        total: usize,
    },
    /// A chunk index appears twice.
    #[error("QR chunk {0} appears more than once")]
    QrDuplicateChunk(usize),
    /// The chunks disagree on the total count.
    #[error("QR chunks disagree on the total count")]
    QrChunkCountMismatch,
    /// A chunk is missing (its index).
    #[error("QR chunk {0} is missing")]
    QrMissingChunk(usize),
    /// A chunk carries more than 1191 JWS characters.
    #[error("QR chunk carries {0} JWS characters, more than the 1191 allowed")]
    QrChunkTooBig(usize),
    /// The JWS fits one QR code, so chunking it is not allowed (its length in characters).
    #[error("the JWS is {0} characters and fits one QR: chunking it is not allowed")]
    QrUnneededChunks(usize),
    /// The QR version is above 22, the largest the specification allows.
    #[error("QR version {0} is above 22, the largest the specification allows")]
    QrVersionTooHigh(usize),
    /// No card was found in the input.
    #[error("no SMART Health Card found in the input")]
    NoCardFound,

    // ---- .smart-health-card file / directory ----
    /// A `.smart-health-card` file is not `{"verifiableCredential": [...]}` of JWS strings.
    #[error(".smart-health-card file: {0}")]
    BadFile(String),
    /// An issuer directory is malformed.
    #[error("issuer directory: {0}")]
    BadDirectory(String),
    /// An issuer's key set is malformed.
    #[error("issuer key set: {0}")]
    BadJwks(String),

    // ---- issuing ----
    /// Issuing a card failed (a key, FHIR or size fault on the issuer's side).
    #[error("cannot issue: {0}")]
    Issue(String),
}

impl ShcError {
    /// A stable snake_case identifier of the failure, for JSON output and tests.
    pub fn code(&self) -> &'static str {
        use ShcError::*;
        match self {
            InputTooLarge(..) => "input_too_large",
            TrailingCharacters => "trailing_characters",
            MalformedJws(_) => "malformed_jws",
            HeaderNotJson => "header_not_json",
            MissingAlg => "missing_alg",
            UnsupportedAlg(_) => "unsupported_alg",
            MissingZip => "missing_zip",
            UnsupportedZip(_) => "unsupported_zip",
            MissingKid => "missing_kid",
            CriticalHeader => "critical_header",
            SignatureDerEncoded => "signature_der_encoded",
            SignatureLength(_) => "signature_length",
            BadDeflate(_) => "bad_deflate",
            PayloadTooLarge(_) => "payload_too_large",
            PayloadBom => "payload_bom",
            PayloadNotUtf8 => "payload_not_utf8",
            PayloadNotJson(_) => "payload_not_json",
            MissingIss => "missing_iss",
            MissingNbf => "missing_nbf",
            BadTimestamp(_) => "bad_timestamp",
            MissingVc => "missing_vc",
            MissingHealthCardType => "missing_health_card_type",
            MissingFhirVersion => "missing_fhir_version",
            MissingFhirBundle => "missing_fhir_bundle",
            BadRid(_) => "bad_rid",
            ExpBeforeNbf { .. } => "exp_before_nbf",
            IssNotHttps(_) => "iss_not_https",
            IssTrailingSlash(_) => "iss_trailing_slash",
            IssuerNotTrusted(_) => "issuer_not_trusted",
            IssuerKidMismatch { .. } => "issuer_kid_mismatch",
            UnknownKid { .. } => "unknown_kid",
            KeyWrongKty(_) => "key_wrong_kty",
            KeyWrongCrv(_) => "key_wrong_crv",
            KeyWrongAlg(_) => "key_wrong_alg",
            KeyWrongUse(_) => "key_wrong_use",
            KeyPrivate => "key_private",
            KeyWrongKid { .. } => "key_wrong_kid",
            KeyInvalid(_) => "key_invalid",
            BadSignature => "bad_signature",
            X5cInvalid(_) => "x5c_invalid",
            X5cKeyMismatch => "x5c_key_mismatch",
            X5cSanMismatch(_) => "x5c_san_mismatch",
            X5cExpired(_) => "x5c_expired",
            X5cNotYetValid(_) => "x5c_not_yet_valid",
            X5cChainInvalid(_) => "x5c_chain_invalid",
            X5cUntrustedRoot => "x5c_untrusted_root",
            NotYetValid { .. } => "not_yet_valid",
            NbfInMilliseconds(_) => "nbf_in_milliseconds",
            Expired { .. } => "expired",
            Revoked(_) => "revoked",
            CrlUnavailable(_) => "crl_unavailable",
            CrlInvalid(_) => "crl_invalid",
            CrlKidMismatch { .. } => "crl_kid_mismatch",
            CrlBadMethod(_) => "crl_bad_method",
            CrlVersionMismatch { .. } => "crl_version_mismatch",
            CrlDuplicateRid(_) => "crl_duplicate_rid",
            CrlBadRid(_) => "crl_bad_rid",
            FhirNotBundle(_) => "fhir_not_bundle",
            FhirBadEntry(_) => "fhir_bad_entry",
            FhirBadFullUrl(_) => "fhir_bad_full_url",
            FhirBadReference(_) => "fhir_bad_reference",
            FhirEmptyElement(_) => "fhir_empty_element",
            FhirBadMetaSecurity(_) => "fhir_bad_meta_security",
            FhirImmunizationStatus(_) => "fhir_immunization_status",
            FhirImmunizationOccurrence(_) => "fhir_immunization_occurrence",
            FhirSchema(_) => "fhir_schema",
            QrBadPrefix => "qr_bad_prefix",
            QrBadChunkHeader(_) => "qr_bad_chunk_header",
            QrOddDigits => "qr_odd_digits",
            QrNonDigit => "qr_non_digit",
            QrDigitPairOutOfRange(_) => "qr_digit_pair_out_of_range",
            QrUnencodable(_) => "qr_unencodable",
            QrChunkIndexOutOfRange { .. } => "qr_chunk_index_out_of_range",
            QrDuplicateChunk(_) => "qr_duplicate_chunk",
            QrChunkCountMismatch => "qr_chunk_count_mismatch",
            QrMissingChunk(_) => "qr_missing_chunk",
            QrChunkTooBig(_) => "qr_chunk_too_big",
            QrUnneededChunks(_) => "qr_unneeded_chunks",
            QrVersionTooHigh(_) => "qr_version_too_high",
            NoCardFound => "no_card_found",
            BadFile(_) => "bad_file",
            BadDirectory(_) => "bad_directory",
            BadJwks(_) => "bad_jwks",
            Issue(_) => "issue_failed",
        }
    }

    /// `{"code": …, "message": …}` as the CLI prints it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }
}

/// Rejects text longer than `limit` bytes.
pub(crate) fn check_len(text: &str, limit: usize) -> Result<(), ShcError> {
    if text.len() > limit {
        Err(ShcError::InputTooLarge(text.len(), limit))
    } else {
        Ok(())
    }
}

/// Checks a `rid` (optionally `rid.timestamp`) as the specification defines it: base64url
/// alphabet, at most 24 characters, at most one `.` followed by a decimal timestamp.
/// Returns the bare rid and the optional timestamp.
pub(crate) fn parse_rid(value: &str) -> Result<(&str, Option<i64>), String> {
    let mut parts = value.split('.');
    let rid = parts.next().unwrap_or_default();
    let ts = parts.next();
    if parts.next().is_some() {
        return Err(format!("{value:?} has more than one \".\""));
    }
    if rid.is_empty()
        || !rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{rid:?} is not in the base64url alphabet"));
    }
    if rid.len() > 24 {
        return Err(format!("{rid:?} is longer than 24 characters"));
    }
    let ts = match ts {
        None => None,
        Some(t) => {
            if t.is_empty() || t.len() > 15 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("timestamp {t:?} is not a number of seconds"));
            }
            Some(
                t.parse::<i64>()
                    .map_err(|_| format!("timestamp {t:?} is out of range"))?,
            )
        }
    };
    Ok((rid, ts))
}

/// A JSON value as text for error messages (strings without quotes).
pub(crate) fn jws_value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
