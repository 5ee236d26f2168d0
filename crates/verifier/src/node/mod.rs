//! The clinic verifier node: configuration, database, trust state, grant checks, peers.

mod config;
pub(crate) mod db;
pub(crate) mod emergency;
pub(crate) mod files;
pub(crate) mod grant;
pub(crate) mod metrics;
pub(crate) mod peers;
pub(crate) mod records;
pub mod refresh;
pub(crate) mod state;

pub use config::{Config, DataDir};
pub use db::{Db, Receipt, RefreshStatus, StoredCrl};
pub use state::{CredentialInfo, Node, TrustState};

/// What is wrong with the node's configuration: its files, or a value given in them or on
/// the command line. Each says what is wrong, with a stable [`ConfigError::code`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration or key file cannot be read or written (missing, too large, readable by
    /// others, already there, …).
    #[error(transparent)]
    File(#[from] spondon_fs::FileError),
    /// `verifier.json` is not a valid configuration.
    #[error("{}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What the parser said is wrong (a field, a type; never a value from the file).
        reason: String,
    },
    /// A URL or address is refused.
    #[error("{what}: {source}")]
    BadUrl {
        /// Which setting (e.g. a peer's `peer_url`).
        what: String,
        /// Why it is refused.
        source: spondon_net::NetError,
    },
    /// A key is refused (not an ES256 public JWK, not a PKCS#8 key pair).
    #[error("{what}: {source}")]
    BadKey {
        /// Which key (a setting or a file).
        what: String,
        /// Why it is refused.
        source: spondon_core::keys::KeyError,
    },
    /// A number outside its range, or a name that is too long or empty.
    #[error("{what} must be {range}")]
    OutOfRange {
        /// Which setting or value.
        what: &'static str,
        /// The allowed range, in words (e.g. `1–300`).
        range: &'static str,
    },
    /// The database URL names no engine the node knows.
    #[error("the database URL must start with sqlite: or postgres://")]
    DatabaseUrl,
    /// The CA files for reaching peers are refused.
    #[error("CA files: {0}")]
    CaFiles(spondon_net::NetError),
    /// `init` on a data directory that already holds a node.
    #[error("{} already holds a verifier; refusing to overwrite it", .0.display())]
    AlreadyInitialized(std::path::PathBuf),
}

impl ConfigError {
    /// A stable machine-readable code (docs/verifier.md, "Configuration errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::File(e) => e.code(),
            Self::Malformed { .. } => "config_malformed",
            Self::BadUrl { .. } => "config_bad_url",
            Self::BadKey { .. } => "config_bad_key",
            Self::OutOfRange { .. } => "config_out_of_range",
            Self::DatabaseUrl => "config_database_url",
            Self::CaFiles(_) => "config_ca_files",
            Self::AlreadyInitialized(_) => "already_initialized",
        }
    }
}

/// Errors of the node (not of a verdict: a refused grant is a verdict, not an error).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node's configuration is refused: a file, or a value in it or on the command line.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("I/O: {0}")]
    /// A file of the data directory cannot be read or written.
    Io(#[from] std::io::Error),
    /// The database refused or failed a query, or cannot be reached.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The database schema cannot be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The node's key file is refused.
    #[error("key: {0}")]
    Key(#[from] spondon_core::keys::KeyError),
    /// The trust list's signature, sequence or content is refused.
    #[error("the trust list cannot be accepted: {0}")]
    TrustList(spondon_core::token::TokenError),
    /// The text is another kind of Spondon token (named), not a trust list.
    #[error("the trust list cannot be accepted: this is a {0}, not a trust list")]
    NotATrustList(&'static str),
    /// The trust list is past its `expires`.
    #[error("the trust list cannot be accepted: it has expired")]
    TrustListExpired,
    /// The trust list's sequence number is beyond what the database stores.
    #[error("the trust list cannot be accepted: sequence {0} is too large")]
    TrustListSequence(u64),
    /// A hospital's record keys cannot be made into a SMART Health Card issuer.
    #[error("the trust list cannot be accepted: hospital {hospital:?}: {source}")]
    HospitalKeys {
        /// The hospital's id.
        hospital: String,
        /// Why its keys are refused.
        source: spondon_core::shc::ShcError,
    },
    /// No trust list is pinned in the database (the node was not initialised).
    #[error("no trust list is pinned")]
    NoTrustList,
    /// The doctor credential's signature or content is refused.
    #[error("the doctor credential cannot be accepted: {0}")]
    Credential(spondon_core::token::TokenError),
    /// The text is another kind of Spondon token (named), not a doctor credential.
    #[error("the doctor credential cannot be accepted: this is a {0}, not a doctor credential")]
    NotACredential(&'static str),
    /// The doctor credential binds another key than this node's.
    #[error(
        "the doctor credential cannot be accepted: it was issued for key {issued_for}, but this node's key is {node_key}"
    )]
    CredentialForAnotherKey {
        /// The key id the credential names.
        issued_for: String,
        /// This node's key id.
        node_key: String,
    },
    /// A staff member of this name already exists.
    #[error("staff member {0:?} already exists")]
    DuplicateStaff(String),
}

impl NodeError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(e) => e.code(),
            Self::Io(_) => "io",
            Self::Db(_) | Self::Migrate(_) => "database",
            Self::Key(e) => e.code(),
            Self::TrustList(_)
            | Self::NotATrustList(_)
            | Self::TrustListSequence(_)
            | Self::HospitalKeys { .. } => "bad_trust_list",
            Self::TrustListExpired => "trust_list_expired",
            Self::NoTrustList => "no_trust_list",
            Self::Credential(_) | Self::NotACredential(_) => "bad_credential",
            Self::CredentialForAnotherKey { .. } => "credential_for_another_key",
            Self::DuplicateStaff(_) => "duplicate_staff",
        }
    }
}
