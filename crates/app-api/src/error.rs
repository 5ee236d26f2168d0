//! The one error every command answers with.

use serde::{Deserialize, Serialize};

/// A refused or failed command: a stable machine `code` the UI localizes, and an English
/// `message` for people (the fallback when the UI has no translation). Neither ever contains
/// health data, a key or a passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable snake_case code, one of [`codes`] (new codes may be added; treat unknown ones by
    /// showing `message`).
    pub code: String,
    /// English, for people.
    pub message: String,
}

impl ApiError {
    /// An error with the given code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

/// What every command returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// The stable error codes. The UI localizes these; any other code falls back to the message.
pub mod codes {
    /// There is no wallet yet: show the first-run screen.
    pub const NO_WALLET: &str = "no_wallet";
    /// A wallet exists already where one was to be created or restored.
    pub const ALREADY_EXISTS: &str = "already_exists";
    /// The wallet is locked: show the unlock screen.
    pub const LOCKED: &str = "locked";
    /// The passphrase is wrong.
    pub const WRONG_PASSPHRASE: &str = "wrong_passphrase";
    /// The new passphrase is too weak (too short).
    pub const WEAK_PASSPHRASE: &str = "weak_passphrase";
    /// The action needs the passphrase again.
    pub const AUTHORIZATION_REQUIRED: &str = "authorization_required";
    /// No consortium trust list is installed, and none was given.
    pub const NO_TRUST_LIST: &str = "no_trust_list";
    /// The trust list (or its root key) was refused.
    pub const BAD_TRUST_LIST: &str = "bad_trust_list";
    /// The enrollment code (text or QR) is not valid.
    pub const BAD_ENROLLMENT_CODE: &str = "bad_enrollment_code";
    /// The image holds no readable QR code, or not the expected one.
    pub const BAD_QR: &str = "bad_qr";
    /// The input is not a valid Spondon token (doctor credential, grant …) or fails its signature.
    pub const BAD_TOKEN: &str = "bad_token";
    /// The SMART Health Card is not valid.
    pub const BAD_CARD: &str = "bad_card";
    /// The file is not a Spondon backup, or is damaged.
    pub const BAD_BACKUP: &str = "bad_backup";
    /// The doctor is not one the wallet knows (add their credential first).
    pub const UNKNOWN_DOCTOR: &str = "unknown_doctor";
    /// The hospital is not in the consortium trust list.
    pub const UNTRUSTED_PEER: &str = "untrusted_peer";
    /// The wallet is not enrolled at that hospital (or at any hospital yet).
    pub const NOT_ENROLLED: &str = "not_enrolled";
    /// The hospital's peer cannot be reached.
    pub const PEER_UNREACHABLE: &str = "peer_unreachable";
    /// The hospital's peer refused the request.
    pub const PEER_REFUSED: &str = "peer_refused";
    /// The hospital's peer sent an answer that is not valid.
    pub const PEER_BAD_RESPONSE: &str = "peer_bad_response";
    /// SECURITY: the hospital's peer rewrote its history or served tampered data.
    pub const HISTORY_VIOLATION: &str = "history_violation";
    /// Nothing with that id.
    pub const NOT_FOUND: &str = "not_found";
    /// The request is not valid (the message says how).
    pub const INVALID: &str = "invalid";
    /// The OS keychain cannot be used now.
    pub const KEYCHAIN_UNAVAILABLE: &str = "keychain_unavailable";
    /// A wallet file is damaged.
    pub const CORRUPT: &str = "corrupt";
    /// The wallet's database failed (disk full, locked by another program …).
    pub const DATABASE: &str = "database";
    /// The OS keychain refused an operation (other keychain failures are `keystore_corrupt`,
    /// `keystore_invalid_name`, `keystore_already_exists`).
    pub const KEYSTORE_BACKEND: &str = "keystore_backend";
    /// A file could not be read or written.
    pub const IO: &str = "io";
    /// The export did not verify; it was not saved.
    pub const EXPORT_INVALID: &str = "export_invalid";
    /// The phone's biometric check failed, was cancelled, or is not set up: use the passphrase.
    pub const BIOMETRIC_FAILED: &str = "biometric_failed";
    /// Not on this kind of device (e.g. biometrics on a desktop).
    pub const UNSUPPORTED: &str = "unsupported";
    /// Something failed inside the app (a bug): the message says what.
    pub const INTERNAL: &str = "internal";
}
