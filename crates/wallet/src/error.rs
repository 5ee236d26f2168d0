//! The wallet's one error type. Messages are for people: they say what went wrong, in words
//! that fit any front end (the CLI adds its own command hints); they never contain health data.
//! [`WalletError::code`] is the stable machine code the app localizes.

use spondon_keystore::KeyStoreError;

/// Everything the wallet engine can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// No wallet exists in the directory given (the `String`) to open or unlock.
    #[error("there is no wallet in {0}")]
    NoWallet(String),
    /// Creating or restoring a wallet in a directory (the `String`) that already holds one.
    #[error("a wallet already exists in {0}")]
    AlreadyExists(String),
    /// The passphrase does not open the wallet's key store.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The wallet's keys are not unlocked in the key store named by the `String`.
    #[error("the wallet is locked: its keys are not in {0}")]
    Locked(String),
    /// The app's session is locked (by the user or the inactivity timer).
    #[error("the wallet is locked")]
    SessionLocked,
    /// A new passphrase shorter than the minimum length (the `usize`, in characters).
    #[error("the passphrase must be at least {0} characters")]
    WeakPassphrase(usize),
    /// A grant, revocation or export was asked without a valid [`crate::Authorization`]
    /// (none given, or it expired).
    #[error("this needs the passphrase again (authorization missing or expired)")]
    AuthorizationRequired,
    /// A wallet file (or a stored value) cannot be read back as written.
    #[error("the wallet file {file} is damaged: {reason}")]
    Corrupt {
        /// The damaged file, or the stored item, as shown to the user.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key store (OS keychain or passphrase file) failed, other than a wrong passphrase.
    #[error("key store: {0}")]
    KeyStore(KeyStoreError),
    /// The encrypted cache (SQLite) failed.
    #[error("wallet database: {0}")]
    Database(#[from] sqlx::Error),
    /// The encrypted cache's schema could not be brought up to date.
    #[error("wallet database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Reading or writing a file failed.
    #[error("file {path}: {source}")]
    Io {
        /// The file's path, as shown to the user.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file written or read through [`spondon_fs`] (it names the file).
    #[error(transparent)]
    Fs(#[from] spondon_fs::FileError),
    /// The wallet needs the consortium trust list and none is pinned yet.
    #[error("no consortium trust list is installed")]
    NoTrustList,
    /// A trust list failed verification or cannot replace the pinned one (the reason).
    #[error("trust list rejected: {0}")]
    TrustList(String),
    /// An enrollment code that cannot be parsed or used (the reason).
    #[error("the enrollment code is not valid: {0}")]
    BadEnrollmentCode(String),
    /// A hospital (the `String`, its id) that the pinned trust list does not name.
    #[error("{0} is not a hospital in the consortium trust list")]
    UntrustedPeer(String),
    /// The wallet has no enrollment at the hospital named by the `String`.
    #[error("not enrolled at {0}")]
    NotEnrolled(String),
    /// A hospital answered with an error (its `Problem` body).
    #[error("{peer} refused the request ({status} {code}): {detail}")]
    PeerRefused {
        /// The hospital that refused.
        peer: String,
        /// The HTTP status code of its answer.
        status: u16,
        /// Its machine error code (`"unknown"` when it sent none), e.g. `key_rotated`.
        code: String,
        /// Its human-readable explanation.
        detail: String,
    },
    /// A hospital could not be reached (connection, TLS or timeout).
    #[error("cannot reach {peer}: {reason}")]
    Network {
        /// The hospital the wallet tried to reach.
        peer: String,
        /// What went wrong on the way.
        reason: String,
    },
    /// A hospital's answer cannot be read (bad JSON, a missing field, an unexpected shape).
    #[error("{peer} sent an invalid answer: {reason}")]
    BadResponse {
        /// The hospital that answered.
        peer: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// The peer's log contradicts what it showed before, or it served a record that fails
    /// verification. Nothing from that sync is kept.
    #[error("SECURITY ALERT: {peer} {violation}; nothing from this sync was kept")]
    HistoryViolation {
        /// The hospital whose log broke its promises.
        peer: String,
        /// How it broke them.
        violation: Violation,
    },
    /// A signed token (grant, delegation, credential …) fails to parse or verify.
    #[error("invalid token: {0}")]
    Token(#[from] spondon_core::TokenError),
    /// A QR code payload cannot be decoded.
    #[error("QR code: {0}")]
    Qr(#[from] spondon_core::QrError),
    /// A SMART Health Card cannot be decoded or verified.
    #[error("SMART Health Card: {0}")]
    Shc(#[from] spondon_core::shc::ShcError),
    /// No doctor with that key id (or BMDC number) is known: add their credential first.
    #[error("no doctor {0:?} is known to the wallet: add their credential first")]
    UnknownDoctor(String),
    /// The file is not a Spondon backup, or it is damaged.
    #[error("not a usable backup: {0}")]
    BadBackup(String),
    /// Imported cards whose signature or issuer could not be verified, refused because the
    /// caller asked for verified cards only; nothing was stored.
    #[error("{count} of the cards could not be verified ({reason}); nothing was imported")]
    NotVerified {
        /// How many of the cards could not be verified.
        count: usize,
        /// Why (the first failure).
        reason: String,
    },
    /// A document's file does not match its signed card (`docs/protocol.md` §18.2), or the card
    /// names a malformed attachment. Nothing of the file was kept or shown.
    #[error("the file of record {record}: {source}")]
    File {
        /// The record id whose file was refused.
        record: String,
        /// How the file or attachment fails.
        source: spondon_document::DocumentError,
    },
    /// An id prefix that names more than one thing (`what`: "record", "grant" …).
    #[error("{prefix} matches several {what}s; give more of the id")]
    Ambiguous {
        /// The id prefix the caller gave.
        prefix: String,
        /// The kind of thing it was to name, singular ("record", "grant" …).
        what: &'static str,
    },
    /// The wallet is not enrolled at any hospital yet, and this needs one.
    #[error("the wallet is not enrolled at any hospital yet")]
    NoHospitals,
    /// A duration the wallet cannot read or will not use (grants, delegations).
    #[error("{0}")]
    BadDuration(String),
    /// A word the wallet does not know: a record category, a purpose, a language.
    #[error("unknown {what} {value:?} ({allowed})")]
    UnknownWord {
        /// The kind of word ("category", "purpose", "language" …).
        what: &'static str,
        /// The word the caller gave.
        value: String,
        /// The words accepted, for the message.
        allowed: &'static str,
    },
    /// A date or a range of dates the wallet cannot use.
    #[error("{0}")]
    BadDate(String),
    /// A name or a free text outside its limits (a delegate's name, a dispute's reason).
    #[error("{0}")]
    BadText(String),
    /// A grant the wallet will not issue as asked (a passcode too short, a write grant to a
    /// passcode).
    #[error("{0}")]
    BadGrant(String),
    /// A delegation that cannot be issued, accepted or used as asked.
    #[error("{0}")]
    BadDelegation(String),
    /// An export that cannot be made as asked (nothing chosen, a document's file missing, a
    /// SMART Health Link for several parts).
    #[error("{0}")]
    BadExport(String),
    /// The export library refused to build the export.
    #[error("export: {0}")]
    Export(#[from] spondon_export::ExportError),
    /// A setting the wallet cannot use: an endpoint, a CA file, the lock time, the hospitals
    /// allowed emergency access.
    #[error("{0}")]
    BadSetting(String),
    /// A proof of sharing that cannot be made from what the wallet holds.
    #[error("{0}")]
    BadShareProof(String),
    /// The input holds no doctor credential (or another kind of token).
    #[error("{0}")]
    NotADoctorCredential(String),
    /// The record is not a document: it carries no file.
    #[error("record {0} carries no file")]
    NotADocument(String),
    /// The thing asked for (a record, grant, doctor … named in the `String`) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A failure that should not happen (a key operation, a broken invariant); a bug.
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
    BadCheckpoint {
        /// Why the signature check failed.
        reason: String,
    },
    /// The log is smaller than one the wallet already accepted: an old checkpoint replayed.
    #[error("replayed an old checkpoint (tree size {got}, already saw {known})")]
    Rollback {
        /// The tree size the wallet already accepted.
        known: u64,
        /// The smaller tree size the peer sent.
        got: u64,
    },
    /// The consistency proof from the accepted checkpoint fails: the log was rewritten (fork).
    #[error("rewrote its log: no consistency from tree size {from} to {to} ({reason})")]
    Fork {
        /// The tree size of the checkpoint the wallet accepted before.
        from: u64,
        /// The tree size of the new checkpoint.
        to: u64,
        /// Why the consistency proof fails.
        reason: String,
    },
    /// A record fails verification (signature, commitment opening, inclusion).
    #[error("served a tampered record (log index {log_index}): {reason}")]
    TamperedRecord {
        /// The record's position in the peer's log.
        log_index: u64,
        /// Which check failed.
        reason: String,
    },
    /// A receipt fails verification.
    #[error("served a tampered access receipt (log index {log_index}): {reason}")]
    TamperedReceipt {
        /// The receipt's position in the peer's log.
        log_index: u64,
        /// Which check failed.
        reason: String,
    },
    /// The authority's publish URL serves a trust list older than the pinned one.
    #[error("published trust list #{published}, older than the pinned #{pinned}")]
    TrustListRollback {
        /// The sequence number of the trust list the wallet has pinned.
        pinned: u64,
        /// The older sequence number the publish URL serves.
        published: u64,
    },
}

impl WalletError {
    /// A stable machine code for the failure (snake_case), as the app's `ApiError.code`.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::NoWallet(_) => "no_wallet",
            WalletError::AlreadyExists(_) => "already_exists",
            WalletError::WrongPassphrase => "wrong_passphrase",
            WalletError::Locked(_) | WalletError::SessionLocked => "locked",
            WalletError::WeakPassphrase(_) => "weak_passphrase",
            WalletError::AuthorizationRequired => "authorization_required",
            WalletError::Corrupt { .. } => "corrupt",
            WalletError::KeyStore(KeyStoreError::Unavailable { .. }) => "keychain_unavailable",
            WalletError::KeyStore(e) => e.code(),
            WalletError::Database(_) | WalletError::Migrate(_) => "database",
            WalletError::Io { .. } | WalletError::Fs(_) => "io",
            WalletError::NoTrustList => "no_trust_list",
            WalletError::TrustList(_) => "bad_trust_list",
            WalletError::BadEnrollmentCode(_) => "bad_enrollment_code",
            WalletError::UntrustedPeer(_) => "untrusted_peer",
            WalletError::NotEnrolled(_) => "not_enrolled",
            WalletError::PeerRefused { .. } => "peer_refused",
            WalletError::Network { .. } => "peer_unreachable",
            WalletError::BadResponse { .. } => "peer_bad_response",
            WalletError::HistoryViolation { .. } => "history_violation",
            WalletError::Token(_) => "bad_token",
            WalletError::Qr(_) => "bad_qr",
            WalletError::Shc(_) => "bad_card",
            WalletError::UnknownDoctor(_) => "unknown_doctor",
            WalletError::BadBackup(_) => "bad_backup",
            WalletError::NotVerified { .. } => "card_not_verified",
            WalletError::File { source, .. } => source.code(),
            WalletError::Ambiguous { .. } => "ambiguous",
            WalletError::NoHospitals => "not_enrolled",
            WalletError::BadDuration(_) => "bad_duration",
            WalletError::UnknownWord { .. } => "unknown_word",
            WalletError::BadDate(_) => "bad_date",
            WalletError::BadText(_) => "bad_text",
            WalletError::BadGrant(_) => "bad_grant",
            WalletError::BadDelegation(_) => "bad_delegation",
            WalletError::BadExport(_) => "bad_export",
            WalletError::Export(e) => e.code(),
            WalletError::BadSetting(_) => "bad_setting",
            WalletError::BadShareProof(_) => "bad_share_proof",
            WalletError::NotADoctorCredential(_) => "bad_token",
            WalletError::NotADocument(_) => "not_a_document",
            WalletError::NotFound(_) => "not_found",
            WalletError::Internal(_) => "internal",
        }
    }
}

/// The wallet's result type: [`WalletError`] unless another error is named.
pub type Result<T, E = WalletError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |source| WalletError::Io {
        path: path.display().to_string(),
        source,
    }
}
