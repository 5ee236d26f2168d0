//! The wallet's one error type. Messages are for people: they say what went wrong and, where
//! it helps, what to do. They never contain health data.

use spondon_keystore::KeyStoreError;

/// Everything the wallet engine can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    #[error("there is no wallet in {0} (create one with `spondon init`)")]
    NoWallet(String),
    #[error("a wallet already exists in {0}")]
    AlreadyExists(String),
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("the wallet is locked: its keys are not in {0} (unlock it with the passphrase)")]
    Locked(String),
    #[error("the passphrase must be at least {0} characters")]
    WeakPassphrase(usize),
    #[error("this needs the passphrase again (authorization missing or expired)")]
    AuthorizationRequired,
    #[error("the wallet file {file} is damaged: {reason}")]
    Corrupt { file: String, reason: String },
    #[error("key store: {0}")]
    KeyStore(KeyStoreError),
    #[error("wallet database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("wallet database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no trust list is installed (`spondon init --trust-list FILE --root-key FILE`)")]
    NoTrustList,
    #[error("trust list rejected: {0}")]
    TrustList(String),
    #[error("the enrollment code is not valid: {0}")]
    BadEnrollmentCode(String),
    #[error("{0} is not a hospital in the consortium trust list")]
    UntrustedPeer(String),
    #[error("not enrolled at {0}")]
    NotEnrolled(String),
    #[error("{peer} refused the request ({status} {code}): {detail}")]
    PeerRefused {
        peer: String,
        status: u16,
        code: String,
        detail: String,
    },
    #[error("cannot reach {peer}: {reason}")]
    Network { peer: String, reason: String },
    #[error("{peer} sent an invalid answer: {reason}")]
    BadResponse { peer: String, reason: String },
    /// The peer's log contradicts what it showed before, or it served a record that fails
    /// verification. Nothing from that sync is kept.
    #[error("SECURITY ALERT: {peer} {violation}; nothing from this sync was kept")]
    HistoryViolation { peer: String, violation: Violation },
    #[error("invalid token: {0}")]
    Token(#[from] spondon_core::TokenError),
    #[error("QR code: {0}")]
    Qr(#[from] spondon_core::QrError),
    #[error("SMART Health Card: {0}")]
    Shc(#[from] spondon_core::shc::ShcError),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<KeyStoreError> for WalletError {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::WrongPassphrase => WalletError::WrongPassphrase,
            other => WalletError::KeyStore(other),
        }
    }
}

impl From<spondon_core::keys::KeyError> for WalletError {
    fn from(e: spondon_core::keys::KeyError) -> Self {
        WalletError::Internal(format!("key operation failed: {e}"))
    }
}

/// How a peer broke its promises (the typed reason of [`WalletError::HistoryViolation`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Violation {
    /// The checkpoint is not signed by the log key in the trust list.
    #[error("sent a checkpoint not signed by its log key ({reason})")]
    BadCheckpoint { reason: String },
    /// The log is smaller than one the wallet already accepted: an old checkpoint replayed.
    #[error("replayed an old checkpoint (tree size {got}, already saw {known})")]
    Rollback { known: u64, got: u64 },
    /// The consistency proof from the accepted checkpoint fails: the log was rewritten (fork).
    #[error("rewrote its log: no consistency from tree size {from} to {to} ({reason})")]
    Fork { from: u64, to: u64, reason: String },
    /// A record fails verification (signature, commitment opening, inclusion).
    #[error("served a tampered record (log index {log_index}): {reason}")]
    TamperedRecord { log_index: u64, reason: String },
    /// A receipt fails verification.
    #[error("served a tampered access receipt (log index {log_index}): {reason}")]
    TamperedReceipt { log_index: u64, reason: String },
}

pub type Result<T, E = WalletError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |source| WalletError::Io {
        path: path.display().to_string(),
        source,
    }
}
