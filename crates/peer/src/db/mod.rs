//! The peer's SQL, by table group: each function is one statement (or one short sequence)
//! written once for both engines with the ledger's [`on_db!`], and rows come back as named
//! structs (`#[derive(sqlx::FromRow)]`), never positional tuples. The modules above decide;
//! these only read and write.
//!
//! Writes that belong to a transaction take a `&mut` [`Tx`] (an append's, for the rows its
//! entries commit to, or a [`Transaction`] the peer began) and run on either engine with
//! `on_tx!`.
//!
//! Every statement of the peer is here (the ledger keeps its own tables' statements), including
//! the connection-level ones of the writer lock, the readiness probe and failover (`server.rs`).

pub(crate) use spondon_ledger::on_db;
use spondon_ledger::{Database, Tx};

/// Runs `$body` with `$conn` bound to the connection of an open transaction (a
/// `&mut spondon_ledger::Tx`) on either engine. The rows a log entry refers to are written
/// with it in the append's own transaction ([`spondon_ledger::Log::append_with`]), so that the
/// entry and its rows commit together or not at all; a write of the peer's own opens the same
/// [`spondon_ledger::Tx`] over a transaction it began. (In scope in the modules below, which
/// are declared after it.)
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            spondon_ledger::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            spondon_ledger::Tx::Postgres(t) => {
                let $conn = &mut ***t;
                $body
            }
        }
    };
}

/// A transaction the peer begins itself, on either engine: the functions below that write in a
/// transaction take its [`Tx`] ([`Transaction::tx`]), as they take an append's.
pub(crate) enum Transaction {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Transaction {
    pub(crate) async fn begin(db: &Database) -> std::result::Result<Self, sqlx::Error> {
        Ok(match db {
            Database::Sqlite(p) => Self::Sqlite(p.begin().await?),
            Database::Postgres(p) => Self::Postgres(p.begin().await?),
        })
    }

    /// The open transaction, for the writes of this module's functions.
    pub(crate) fn tx(&mut self) -> Tx<'_> {
        match self {
            Self::Sqlite(t) => Tx::Sqlite(t),
            Self::Postgres(t) => Tx::Postgres(t),
        }
    }

    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t) => t.commit().await,
            Self::Postgres(t) => t.commit().await,
        }
    }
}

/// Migrated peer databases for the unit tests of the modules below.
#[cfg(test)]
pub(crate) mod testing {
    use spondon_ledger::Database;

    async fn migrated(db: Database) -> Database {
        db.migrate(
            &crate::peer::SQLITE_MIGRATOR,
            &crate::peer::POSTGRES_MIGRATOR,
        )
        .await
        .expect("the peer's migrations apply");
        db
    }

    /// A migrated peer database in a new SQLite file, and its pool; the file lives as long as
    /// the directory returned.
    pub(crate) async fn sqlite() -> (tempfile::TempDir, Database, sqlx::SqlitePool) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Database::sqlite(&dir.path().join("peer.db"))
            .await
            .expect("a new SQLite file opens");
        let db = migrated(db).await;
        let Database::Sqlite(pool) = &db else {
            unreachable!("Database::sqlite opens SQLite")
        };
        let pool = pool.clone();
        (dir, db, pool)
    }

    /// A migrated fresh PostgreSQL database for the test `test`, and its pool, when the test
    /// run has a server (`SPONDON_TEST_POSTGRES_URL`).
    pub(crate) async fn postgres(test: &str) -> Option<(Database, sqlx::PgPool)> {
        let url = spondon_testkit::db::postgres_url(test).await?;
        let db = Database::connect(&url)
            .await
            .expect("the test's PostgreSQL database opens");
        let db = migrated(db).await;
        let Database::Postgres(pool) = &db else {
            unreachable!("a postgres:// URL opens PostgreSQL")
        };
        let pool = pool.clone();
        Some((db, pool))
    }
}

pub(crate) mod access_events;
pub(crate) mod console;
pub(crate) mod delegations;
pub(crate) mod doctors;
pub(crate) mod emergency;
pub(crate) mod grants;
pub(crate) mod nonces;
pub(crate) mod patients;
pub(crate) mod record_revocations;
pub(crate) mod records;
pub(crate) mod rotations;
pub(crate) mod server;
pub(crate) mod staff;
pub(crate) mod stats;
pub(crate) mod systems;
