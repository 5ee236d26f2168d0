//! Library errors and their RFC 9457 `application/problem+json` form with stable codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Errors of the peer. Messages never carry health data; [`PeerError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The configuration (`peer.json`, a command-line value, a key given to add) is refused;
    /// its [`ConfigError::code`](crate::ConfigError::code) says what is wrong.
    #[error("configuration error: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// Another `spondon-peer` process (serve, issue or seed) holds the data directory's writer
    /// lock (the directory is named); a peer has a single writer.
    #[error(
        "another spondon-peer process (serve, issue or seed) is using the data directory {0}; a peer has a single writer"
    )]
    Locked(String),
    /// A key file is missing, readable by others, or not a key.
    #[error("key file error: {0}")]
    KeyFile(#[from] KeyFileError),
    /// Reading or writing a file of the data directory failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The database refused a query (details go to the operator's log, not the client).
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// The database does not answer or does not accept writes (a PostgreSQL failover under
    /// way); nothing was written, or what was is answered on retry (`Idempotency-Key`).
    #[error("the database is unavailable (a failover may be under way); retry shortly")]
    DatabaseUnavailable,
    /// The database's schema migrations failed at start.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The transparency log refused an operation.
    #[error("transparency log error: {0}")]
    Ledger(#[from] spondon_ledger::LedgerError),
    /// A signed log note (checkpoint, cosignature) is refused.
    #[error("log note error: {0}")]
    Note(#[from] spondon_ledger::NoteError),
    /// A key operation failed (generation, signing, parsing).
    #[error("key error: {0}")]
    Key(#[from] spondon_core::KeyError),
    /// Stored data contradicts itself (a bug or tampering; the message says where).
    #[error("stored data is inconsistent: {0}")]
    Integrity(String),
    // --- request errors (4xx) ---
    /// The request body is not valid JSON, or not of the expected shape.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// Expected Content-Type application/json.
    #[error("expected Content-Type application/json")]
    UnsupportedMediaType,
    /// The request body is larger than the limit (in bytes).
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// A request field is refused; `field` names it, `reason` says why.
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Missing or invalid staff credentials.
    #[error("missing or invalid staff credentials")]
    Unauthorized,
    /// No such patient.
    #[error("no such patient")]
    UnknownPatient,
    /// No such doctor.
    #[error("no such doctor")]
    UnknownDoctor,
    /// No such record.
    #[error("no such record")]
    UnknownRecord,
    /// The `Idempotency-Key` header is malformed (the reason is given).
    #[error("invalid Idempotency-Key header: {0}")]
    BadIdempotencyKey(&'static str),
    /// This Idempotency-Key was used for a different request.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// A patient with this national ID / birth registration number is already registered.
    #[error("a patient with this national ID / birth registration number is already registered")]
    DuplicatePatient,
    /// A doctor with this BMDC number is already registered.
    #[error("a doctor with this BMDC number is already registered")]
    DuplicateDoctor,
    /// The superseded record belongs to another patient or is already superseded.
    #[error("the superseded record belongs to another patient or is already superseded")]
    BadSupersede,
    /// The FHIR content of a record is refused (the reason is given).
    #[error("invalid FHIR content: {0}")]
    InvalidFhir(String),
    /// This record is already revoked.
    #[error("this record is already revoked")]
    AlreadyRevoked,
    /// No such resource.
    #[error("no such resource")]
    NotFound,
    /// No checkpoint of this log carries the asked number of witness cosignatures yet.
    #[error("no checkpoint of this log carries {0} witness cosignatures yet")]
    NotWitnessed(u8),
    /// This request must carry a Spondon-Signature header.
    #[error("this request must carry a Spondon-Signature header")]
    SignatureRequired,
    /// A signed patient request (`Spondon-Signature`) is refused; the token error's code is
    /// answered.
    #[error("signed request rejected: {0}")]
    Token(#[from] spondon_core::TokenError),
    /// Too many outstanding nonces; retry in a minute.
    #[error("too many outstanding nonces; retry in a minute")]
    TooManyNonces,
    /// The nonce was already used.
    #[error("the nonce was already used")]
    NonceReused,
    /// The nonce has expired; get a new one.
    #[error("the nonce has expired; get a new one")]
    NonceExpired,
    /// The nonce was not issued by this peer.
    #[error("the nonce was not issued by this peer")]
    NonceUnknown,
    /// The enrollment code is unknown, used, expired, or for another Health ID.
    #[error("the enrollment code is unknown, used, expired, or for another Health ID")]
    EnrollmentCodeInvalid,
    /// The signing key is not enrolled (or its enrollment was replaced).
    #[error("the signing key is not enrolled (or its enrollment was replaced)")]
    NotEnrolled,
    /// An access grant is refused (expired, bad signature, …); the token error's code is
    /// answered.
    #[error("grant rejected: {0}")]
    Grant(spondon_core::TokenError),
    /// This request must carry a Spondon-PoP header.
    #[error("this request must carry a Spondon-PoP header")]
    PopRequired,
    /// This proof of possession was already used.
    #[error("this proof of possession was already used")]
    Replayed,
    /// The grant does not name this peer.
    #[error("the grant does not name this peer")]
    WrongPeer,
    /// The grant's patient key is not enrolled here.
    #[error("the grant's patient key is not enrolled here")]
    PatientNotEnrolled,
    /// This patient key was retired by a key rotation or a re-binding after an identity check; the
    /// patient's new key is the one bound now.
    #[error(
        "this patient key was retired by a key rotation or a re-binding after an identity check; the patient's new key is the one bound now"
    )]
    KeyRotated,
    /// A key rotation statement does not fit the request it came with (the mismatch is named).
    #[error("the key rotation does not fit this request: {0}")]
    RotationMismatch(&'static str),
    /// The new key is already enrolled here.
    #[error("the new key is already enrolled here")]
    KeyInUse,
    /// The grant has been revoked.
    #[error("the grant has been revoked")]
    Revoked,
    /// The grant's use limit is reached.
    #[error("the grant's use limit is reached")]
    UseLimitExceeded,
    /// The grant does not cover the requested records.
    #[error("the grant does not cover the requested records")]
    OutOfScope,
    /// This revocation is already registered.
    #[error("this revocation is already registered")]
    DuplicateRevocation,
    /// Another revocation of this key with the same id is registered.
    #[error("another revocation of this key with the same id is registered")]
    RevocationIdConflict,
    /// The grant's audience is not a doctor registered at this peer.
    #[error("the grant's audience is not a doctor registered at this peer")]
    DoctorNotRegistered,
    /// This bearer grant needs its passcode.
    #[error("this bearer grant needs its passcode")]
    PasscodeRequired,
    /// Wrong passcode.
    #[error("wrong passcode")]
    BadPasscode,
    /// Too many wrong passcodes: this grant is locked.
    #[error("too many wrong passcodes: this grant is locked")]
    PasscodeLocked,
    /// The patient has not registered a passcode for this bearer grant here.
    #[error("the patient has not registered a passcode for this bearer grant here")]
    PasscodeNotRegistered,
    /// A passcode is already registered for this grant.
    #[error("a passcode is already registered for this grant")]
    PasscodeAlreadyRegistered,
    /// The delegate's grant is under a delegation the patient has not registered here.
    #[error("the delegate's grant is under a delegation the patient has not registered here")]
    DelegationNotRegistered,
    /// The delegation has been revoked.
    #[error("the delegation has been revoked")]
    DelegationRevoked,
    /// The delegation has expired (or is not yet valid).
    #[error("the delegation has expired (or is not yet valid)")]
    DelegationExpired,
    /// The signing key holds no delegation of this patient here that allows this.
    #[error("the signing key holds no delegation of this patient here that allows this")]
    NotADelegate,
    /// Another delegation of this key with the same id is registered.
    #[error("another delegation of this key with the same id is registered")]
    DelegationIdConflict,
    /// The staff token lacks the role the route needs (named).
    #[error("this staff token lacks the role {0}")]
    RoleRequired(&'static str),
    /// No active staff token with this id.
    #[error("no active staff token with this id")]
    UnknownStaffToken,
    /// A console form field (its name carries the line: `tests[2].value`).
    #[error("invalid field {field}: {reason}")]
    InvalidFormField {
        /// The field's name, with its line (`tests[2].value`).
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// The session has ended; log in again.
    #[error("the session has ended; log in again")]
    SessionExpired,
    /// This request lacks the session's CSRF token or comes from another origin.
    #[error("this request lacks the session's CSRF token or comes from another origin")]
    Csrf,
    /// Patients with the same mobile number, or the same name and date of birth, are registered:
    /// check them, then confirm.
    #[error(
        "patients with the same mobile number, or the same name and date of birth, are registered: check them, then confirm"
    )]
    PossibleDuplicate,
    /// Statistics are served only to the health authority: the request is not signed by a key
    /// listed in stats_authority_keys.
    #[error(
        "statistics are served only to the health authority: the request is not signed by a key listed in stats_authority_keys"
    )]
    NotAuthority,
    /// An emergency access needs a reason from the list and a free-text explanation.
    #[error("an emergency access needs a reason from the list and a free-text explanation")]
    EmergencyReasonRequired,
    /// The request is not signed by a doctor registered at this hospital.
    #[error("the request is not signed by a doctor registered at this hospital")]
    EmergencyDoctorNotRegistered,
    /// This emergency access has not been confirmed by a second staff member.
    #[error("this emergency access has not been confirmed by a second staff member")]
    EmergencyNotConfirmed,
    /// This emergency access has expired.
    #[error("this emergency access has expired")]
    EmergencyExpired,
    /// The patient has opted out of emergency access.
    #[error("the patient has opted out of emergency access")]
    EmergencyOptedOut,
    /// The patient allows emergency access only at other hospitals.
    #[error("the patient allows emergency access only at other hospitals")]
    EmergencyHospitalNotAllowed,
    /// No such emergency access.
    #[error("no such emergency access")]
    UnknownEmergencyAccess,
    /// This emergency access is already confirmed.
    #[error("this emergency access is already confirmed")]
    EmergencyAlreadyConfirmed,
    /// This emergency access is already disputed.
    #[error("this emergency access is already disputed")]
    AlreadyDisputed,
    /// A newer emergency access setting of this patient is registered.
    #[error("a newer emergency access setting of this patient is registered")]
    StaleEmergencyPolicy,
    /// No active hospital system with this client_id.
    #[error("no active hospital system with this client_id")]
    UnknownSystem,
    /// Missing, expired or revoked system access token (get one at the token endpoint).
    #[error("missing, expired or revoked system access token (get one at the token endpoint)")]
    SystemUnauthorized,
    /// A hospital system's access token lacks the SMART scope the request needs (named).
    #[error("the access token lacks the scope {0}")]
    ScopeMissing(String),
    /// This Bundle.identifier was used for a different Bundle.
    #[error("this Bundle.identifier was used for a different Bundle")]
    BundleConflict,
    /// A statistics request or aggregate is refused.
    #[error("statistics error: {0}")]
    Stats(#[from] spondon_core::stats::StatsError),
    /// A document's file or its `DocumentReference` refused (`docs/protocol.md` §18).
    #[error("{0}")]
    Document(#[from] spondon_document::DocumentError),
    /// No file with this SHA-256 was uploaded (POST /staff/files), or it was deleted unused.
    #[error("no file with this SHA-256 was uploaded (POST /staff/files), or it was deleted unused")]
    FileNotUploaded,
    /// This record carries no file.
    #[error("this record carries no file")]
    NotADocument,
    /// No such record.
    #[error("no such record")]
    RecordNotFound,
    /// A refusal charged to the client's failure budget (`rate_limit.failures_per_minute`):
    /// answered exactly like the inner error.
    #[error("{0}")]
    Unattributed(Box<PeerError>),
    /// A refusal that was logged but is still charged to the client's failure budget.
    #[error("{0}")]
    Charged(Box<PeerError>),
}

/// Why a key file of the data directory could not be used (code `key_file`).
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Missing, readable by group or others, too large, unreadable, or (when written) already
    /// there.
    #[error(transparent)]
    File(#[from] spondon_fs::FileError),
    /// The Ed25519 seed file does not hold exactly 32 bytes.
    #[error("{} is not a 32-byte seed", path.display())]
    NotASeed {
        /// The file.
        path: std::path::PathBuf,
    },
    /// The record signing key is not the PKCS#8 ES256 key `init` writes.
    #[error("{}: {source}", path.display())]
    NotAKey {
        /// The file.
        path: std::path::PathBuf,
        /// Why the key was refused.
        source: spondon_core::keys::KeyError,
    },
}

impl PeerError {
    /// The stable problem code (the last path segment of the problem `type`).
    pub fn code(&self) -> &'static str {
        if self.is_unavailable() {
            return "database_unavailable";
        }
        match self {
            PeerError::Config(e) => e.code(),
            PeerError::KeyFile(_) => "key_file",
            PeerError::Locked(_) => "locked",
            PeerError::Io(_) => "io",
            PeerError::Db(_) => "database",
            PeerError::DatabaseUnavailable => "database_unavailable",
            PeerError::Migrate(_) => "migration",
            PeerError::Ledger(_) => "ledger",
            PeerError::Note(_) => "ledger_note",
            PeerError::Key(_) => "key",
            PeerError::Integrity(_) => "integrity",
            PeerError::MalformedJson(_) => "malformed_json",
            PeerError::UnsupportedMediaType => "unsupported_media_type",
            PeerError::BodyTooLarge(_) => "body_too_large",
            PeerError::InvalidField { .. } => "invalid_field",
            PeerError::Unauthorized => "unauthorized",
            PeerError::UnknownPatient => "unknown_patient",
            PeerError::UnknownDoctor => "unknown_doctor",
            PeerError::UnknownRecord => "unknown_record",
            PeerError::BadIdempotencyKey(_) => "bad_idempotency_key",
            PeerError::IdempotencyKeyReused => "idempotency_key_reused",
            PeerError::DuplicatePatient => "duplicate_patient",
            PeerError::DuplicateDoctor => "duplicate_doctor",
            PeerError::BadSupersede => "bad_supersede",
            PeerError::InvalidFhir(_) => "invalid_fhir",
            PeerError::NotFound => "not_found",
            PeerError::NotWitnessed(_) => "not_witnessed",
            PeerError::AlreadyRevoked => "already_revoked",
            PeerError::SignatureRequired => "signature_required",
            PeerError::Token(e) => e.code(),
            PeerError::NonceReused => "nonce_reused",
            PeerError::TooManyNonces => "too_many_nonces",
            PeerError::NonceExpired => "nonce_expired",
            PeerError::NonceUnknown => "nonce_unknown",
            PeerError::EnrollmentCodeInvalid => "enrollment_code_invalid",
            PeerError::NotEnrolled => "not_enrolled",
            PeerError::Grant(e) => e.code(),
            PeerError::PopRequired => "pop_required",
            PeerError::Replayed => "replayed",
            PeerError::WrongPeer => "wrong_peer",
            PeerError::PatientNotEnrolled => "patient_not_enrolled",
            PeerError::KeyRotated => "key_rotated",
            PeerError::RotationMismatch(_) => "rotation_mismatch",
            PeerError::KeyInUse => "key_in_use",
            PeerError::Revoked => "revoked",
            PeerError::UseLimitExceeded => "use_limit_exceeded",
            PeerError::OutOfScope => "out_of_scope",
            PeerError::DuplicateRevocation => "duplicate_revocation",
            PeerError::RevocationIdConflict => "revocation_id_conflict",
            PeerError::DoctorNotRegistered => "doctor_not_registered",
            PeerError::PasscodeRequired => "passcode_required",
            PeerError::BadPasscode => "bad_passcode",
            PeerError::PasscodeLocked => "passcode_locked",
            PeerError::PasscodeNotRegistered => "passcode_not_registered",
            PeerError::PasscodeAlreadyRegistered => "passcode_already_registered",
            PeerError::DelegationNotRegistered => "delegation_not_registered",
            PeerError::DelegationRevoked => "delegation_revoked",
            PeerError::DelegationExpired => "delegation_expired",
            PeerError::NotADelegate => "not_a_delegate",
            PeerError::DelegationIdConflict => "delegation_id_conflict",
            PeerError::Unattributed(e) | PeerError::Charged(e) => e.code(),
            PeerError::RoleRequired(_) => "role_required",
            PeerError::UnknownStaffToken => "unknown_staff_token",
            PeerError::InvalidFormField { .. } => "invalid_field",
            PeerError::SessionExpired => "session_expired",
            PeerError::Csrf => "csrf",
            PeerError::PossibleDuplicate => "possible_duplicate",
            PeerError::NotAuthority => "not_authority",
            PeerError::Stats(e) => e.code(),
            PeerError::Document(e) => e.code(),
            PeerError::FileNotUploaded => "file_not_uploaded",
            PeerError::NotADocument => "not_a_document",
            PeerError::RecordNotFound => "record_not_found",
            PeerError::EmergencyReasonRequired => "reason_required",
            PeerError::EmergencyDoctorNotRegistered => "doctor_not_registered",
            PeerError::EmergencyNotConfirmed => "confirmation_required",
            PeerError::EmergencyExpired => "emergency_expired",
            PeerError::EmergencyOptedOut => "emergency_opted_out",
            PeerError::EmergencyHospitalNotAllowed => "emergency_hospital_not_allowed",
            PeerError::UnknownEmergencyAccess => "unknown_emergency_access",
            PeerError::EmergencyAlreadyConfirmed => "already_confirmed",
            PeerError::AlreadyDisputed => "already_disputed",
            PeerError::StaleEmergencyPolicy => "stale_emergency_policy",
            PeerError::UnknownSystem => "unknown_system",
            PeerError::SystemUnauthorized => "system_unauthorized",
            PeerError::ScopeMissing(_) => "scope_missing",
            PeerError::BundleConflict => "bundle_identifier_reused",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        if self.is_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            PeerError::Unattributed(e) | PeerError::Charged(e) => e.status(),
            PeerError::RoleRequired(_) => StatusCode::FORBIDDEN,
            PeerError::UnknownStaffToken => StatusCode::NOT_FOUND,
            PeerError::MalformedJson(_)
            | PeerError::InvalidField { .. }
            | PeerError::InvalidFormField { .. } => StatusCode::BAD_REQUEST,
            PeerError::SessionExpired => StatusCode::UNAUTHORIZED,
            PeerError::Csrf => StatusCode::FORBIDDEN,
            PeerError::NotAuthority => StatusCode::FORBIDDEN,
            PeerError::EmergencyReasonRequired => StatusCode::BAD_REQUEST,
            PeerError::EmergencyDoctorNotRegistered
            | PeerError::EmergencyNotConfirmed
            | PeerError::EmergencyExpired
            | PeerError::EmergencyOptedOut
            | PeerError::EmergencyHospitalNotAllowed => StatusCode::FORBIDDEN,
            PeerError::UnknownEmergencyAccess => StatusCode::NOT_FOUND,
            PeerError::EmergencyAlreadyConfirmed
            | PeerError::AlreadyDisputed
            | PeerError::StaleEmergencyPolicy => StatusCode::CONFLICT,
            PeerError::Stats(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PeerError::UnknownSystem => StatusCode::NOT_FOUND,
            PeerError::SystemUnauthorized => StatusCode::UNAUTHORIZED,
            PeerError::ScopeMissing(_) => StatusCode::FORBIDDEN,
            PeerError::BundleConflict => StatusCode::CONFLICT,
            PeerError::Document(e) => match e {
                spondon_document::DocumentError::FileTooLarge { .. } => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                spondon_document::DocumentError::UnsupportedFileType => {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            PeerError::FileNotUploaded | PeerError::NotADocument => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            PeerError::RecordNotFound => StatusCode::NOT_FOUND,
            PeerError::PossibleDuplicate => StatusCode::CONFLICT,
            PeerError::InvalidFhir(_)
            | PeerError::BadSupersede
            | PeerError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            PeerError::BadIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            PeerError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PeerError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PeerError::Unauthorized
            | PeerError::SignatureRequired
            | PeerError::Token(_)
            | PeerError::NonceReused
            | PeerError::NonceExpired
            | PeerError::NonceUnknown
            | PeerError::NotEnrolled => StatusCode::UNAUTHORIZED,
            PeerError::EnrollmentCodeInvalid | PeerError::RotationMismatch(_) => {
                StatusCode::BAD_REQUEST
            }
            PeerError::KeyInUse => StatusCode::CONFLICT,
            PeerError::PopRequired
            | PeerError::Replayed
            | PeerError::PasscodeRequired
            | PeerError::BadPasscode => StatusCode::UNAUTHORIZED,
            PeerError::PasscodeLocked | PeerError::PasscodeNotRegistered => StatusCode::FORBIDDEN,
            PeerError::Grant(_)
            | PeerError::WrongPeer
            | PeerError::PatientNotEnrolled
            | PeerError::KeyRotated
            | PeerError::Revoked
            | PeerError::UseLimitExceeded
            | PeerError::OutOfScope
            | PeerError::DoctorNotRegistered
            | PeerError::DelegationNotRegistered
            | PeerError::DelegationRevoked
            | PeerError::DelegationExpired
            | PeerError::NotADelegate => StatusCode::FORBIDDEN,
            PeerError::DuplicateRevocation
            | PeerError::RevocationIdConflict
            | PeerError::AlreadyRevoked
            | PeerError::PasscodeAlreadyRegistered
            | PeerError::DelegationIdConflict => StatusCode::CONFLICT,
            PeerError::TooManyNonces => StatusCode::SERVICE_UNAVAILABLE,
            PeerError::UnknownPatient
            | PeerError::UnknownDoctor
            | PeerError::UnknownRecord
            | PeerError::NotFound
            | PeerError::NotWitnessed(_) => StatusCode::NOT_FOUND,
            PeerError::DuplicatePatient | PeerError::DuplicateDoctor => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether this is the database being away (unreachable, restarting, read-only: a
    /// failover), answered 503 `database_unavailable`, rather than an error of the request or
    /// of stored data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            PeerError::DatabaseUnavailable => true,
            PeerError::Db(e) => db_unavailable(e),
            PeerError::Ledger(spondon_ledger::LedgerError::Db(e)) => db_unavailable(e),
            PeerError::Unattributed(e) | PeerError::Charged(e) => e.is_unavailable(),
            _ => false,
        }
    }

    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        PeerError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

impl From<spondon_core::emergency::EmergencyError> for PeerError {
    fn from(e: spondon_core::emergency::EmergencyError) -> Self {
        use spondon_core::emergency::EmergencyError as E;
        match e {
            E::Malformed(m) => PeerError::MalformedJson(m),
            E::ReasonRequired => PeerError::EmergencyReasonRequired,
            E::Field { field, reason } => PeerError::InvalidField { field, reason },
        }
    }
}

/// Whether a database error means the server is away rather than the query wrong: the
/// connection failed or broke, the pool timed out, the server is shutting down or starting,
/// or it is a standby (read-only transaction, SQLSTATE 25006).
pub fn db_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "25006" | "53300")
        }),
        _ => false,
    }
}

/// Base of problem `type` URIs; the code is appended.
pub const PROBLEM_BASE: &str = "https://spondon.example/problems/";

/// An RFC 9457 problem response of the peer ([`spondon_net::server::problem`] under
/// [`PROBLEM_BASE`]).
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    spondon_net::server::problem(PROBLEM_BASE, status, code, detail)
}

impl IntoResponse for PeerError {
    fn into_response(self) -> Response {
        if let PeerError::Unattributed(e) | PeerError::Charged(e) = self {
            let mut r = e.into_response();
            r.extensions_mut().insert(crate::ratelimit::ChargedFailure);
            return r;
        }
        let status = self.status();
        if matches!(self, PeerError::TooManyNonces) {
            let mut r = problem(status, self.code(), &self.to_string());
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return r;
        }
        if self.is_unavailable() {
            tracing::warn!(code = "database_unavailable", error = %self, "request refused: database unavailable");
            let mut r = problem(
                status,
                self.code(),
                &PeerError::DatabaseUnavailable.to_string(),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        if status.is_server_error() {
            // Internal details go to the operator's log (they hold no health data), not the client.
            tracing::error!(code = self.code(), error = %self, "request failed");
            problem(status, self.code(), "internal error")
        } else {
            problem(status, self.code(), &self.to_string())
        }
    }
}

/// A result whose error is a [`PeerError`].
pub type Result<T, E = PeerError> = std::result::Result<T, E>;
