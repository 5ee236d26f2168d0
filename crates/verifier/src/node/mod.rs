//! The clinic verifier node: configuration, database, trust state, grant checks, peers.

pub mod config;
pub mod db;
pub mod emergency;
pub mod files;
pub mod grant;
pub mod metrics;
pub mod peers;
pub mod records;
pub mod refresh;
pub mod state;

pub use state::Node;

/// Errors of the node (not of a verdict: a refused grant is a verdict, not an error).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("key: {0}")]
    Key(#[from] spondon_core::keys::KeyError),
    #[error("the trust list cannot be accepted: {0}")]
    TrustList(String),
    #[error("the doctor credential cannot be accepted: {0}")]
    Credential(String),
    #[error("staff member {0:?} already exists")]
    DuplicateStaff(String),
    #[error("stored data is inconsistent: {0}")]
    Integrity(String),
}

impl NodeError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Io(_) => "io",
            Self::Db(_) | Self::Migrate(_) => "database",
            Self::Key(e) => e.code(),
            Self::TrustList(_) => "bad_trust_list",
            Self::Credential(_) => "bad_credential",
            Self::DuplicateStaff(_) => "duplicate_staff",
            Self::Integrity(_) => "integrity",
        }
    }
}
