//! The log over sqlx: SQLite (embedded default) or PostgreSQL, behind one interface.
//!
//! Tables (all insert-only except the two single-row heads, which change only by compare-and-swap):
//! - `ledger_meta`: origin and tree head (size, root), advanced by CAS inside each append batch.
//! - `ledger_entries (idx, data)`: the entries.
//! - `ledger_hashes (level, idx, hash)`: hashes of completed subtrees at tree heights `8 * level`,
//!   i.e. exactly the hashes of C2SP `tlog-tiles` tiles. Level 0 holds the leaf hashes.
//! - `ledger_checkpoint`: the latest signed checkpoint, updated by CAS.
//! - `ledger_cosignatures`: witness cosignatures collected for signed checkpoints.
//! - `witness_state`: see [`crate::witness`].

use std::collections::HashMap;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _};
use tokio::sync::Mutex;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::merkle::{
    self, CompactRange, Hash, NodeId, ProofError, empty_root, leaf_hash, plan_consistency,
    plan_inclusion,
};
use crate::note::{Note, NoteError, NoteSignature, Signer, Verifier};

/// Largest entry, in bytes (entry bundles use a 16-bit length prefix).
pub const MAX_ENTRY_BYTES: usize = 65_535;
/// Most entries in one append batch.
pub const MAX_BATCH: usize = 100_000;
/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;

const CHUNK_ROWS: usize = 1000;

/// PostgreSQL advisory lock (session) held while the schema is created or migrated, so that
/// several processes starting at once on one database do not race on DDL ("tuple concurrently
/// updated"). Shared with the peer's migrations.
pub const SCHEMA_LOCK_KEY: i64 = 0x5350_4f4e_5343_4831; // "SPONSCH1"
/// PostgreSQL advisory lock (transaction) taken by every append transaction: appends from any
/// number of processes on one database are serialized by the database.
pub const APPEND_LOCK_KEY: i64 = 0x5350_4f4e_4150_5031; // "SPONAPP1"

/// Errors of the stored log.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database failed (connection, I/O, a constraint).
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The URL is neither `sqlite:…` nor `postgres://…`.
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// The database holds another log than the origin asked for.
    #[error("database holds log {stored:?}, opened as {requested:?}")]
    OriginMismatch {
        /// The origin stored in the database.
        stored: String,
        /// The origin the caller asked for.
        requested: String,
    },
    /// The stored log does not agree with itself (what disagreed); the operator must look.
    #[error("log integrity check failed: {0}")]
    Integrity(String),
    /// An append of no entries.
    #[error("append batch is empty")]
    EmptyBatch,
    /// An append of more than [`MAX_BATCH`] entries (how many).
    #[error("append batch has {0} entries, more than {MAX_BATCH}")]
    BatchTooLarge(usize),
    /// An entry of the batch is larger than [`MAX_ENTRY_BYTES`].
    #[error("entry {position} of the batch is {len} bytes, more than {MAX_ENTRY_BYTES}")]
    EntryTooLarge {
        /// Its position in the batch.
        position: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// Another writer appended meanwhile; reopen the log and retry.
    #[error("another writer changed the log concurrently; reopen it")]
    ConcurrentAppend,
    /// The index is outside the log.
    #[error("index {index} is outside the log of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The log's size.
        size: u64,
    },
    /// A tree size larger than the log was asked for.
    #[error("tree size {requested} is larger than the log size {size}")]
    SizeOutOfRange {
        /// The size asked for.
        requested: u64,
        /// The log's size.
        size: u64,
    },
    /// A different tree of this size was already signed: signing would fork the log.
    #[error("refusing to sign: a different tree of size {0} was already signed")]
    ForkRefused(u64),
    /// The tree to sign is smaller than the one already signed.
    #[error("refusing to sign: tree size {new} is smaller than the signed size {signed}")]
    SizeRegression {
        /// The size already signed.
        signed: u64,
        /// The size asked to sign.
        new: u64,
    },
    /// Another writer changed the checkpoint meanwhile; retry.
    #[error("the checkpoint row changed concurrently")]
    CheckpointRace,
    /// The log has no signed checkpoint yet.
    #[error("the log has no signed checkpoint yet")]
    NotSigned,
    /// A cosignature is not for the current checkpoint or not by the witness key.
    #[error("cosignature does not match the current checkpoint or witness key")]
    BadCosignature,
    /// A number does not fit the database's signed 64-bit integers.
    #[error("number too large for the database: {0}")]
    NumberTooLarge(u64),
    /// A proof could not be computed from the stored hashes.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A stored signed note is invalid.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A stored checkpoint is invalid.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl LedgerError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Db(_) => "database",
            Self::UnsupportedUrl => "unsupported_url",
            Self::OriginMismatch { .. } => "origin_mismatch",
            Self::Integrity(_) => "integrity",
            Self::EmptyBatch => "empty_batch",
            Self::BatchTooLarge(_) => "batch_too_large",
            Self::EntryTooLarge { .. } => "entry_too_large",
            Self::ConcurrentAppend => "concurrent_append",
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::SizeOutOfRange { .. } => "size_out_of_range",
            Self::ForkRefused(_) => "fork_refused",
            Self::SizeRegression { .. } => "size_regression",
            Self::CheckpointRace => "checkpoint_race",
            Self::NotSigned => "not_signed",
            Self::BadCosignature => "bad_cosignature",
            Self::NumberTooLarge(_) => "number_too_large",
            Self::Proof(e) => e.code(),
            Self::Note(e) => e.code(),
            Self::Checkpoint(e) => e.code(),
        }
    }
}

type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// A connection pool to one of the two engines.
#[derive(Debug, Clone)]
pub enum Database {
    /// SQLite, WAL mode, `synchronous=FULL`, with a busy timeout.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool of a [`Database`]
/// (the one statement written once for both engines; `sqlx` binds `$1` on both). Every crate
/// that keeps rows in a [`Database`] uses this one macro.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Database::Sqlite($pool) => $body,
            $crate::Database::Postgres($pool) => $body,
        }
    };
}

/// The writes of one append transaction: compare-and-swap of the tree head, the entries, the
/// new subtree hashes (the caller begins and commits `$tx`).
macro_rules! write_batch_in {
    ($tx:ident, $old_i:expr, $new_i:expr, $root:expr, $entries:expr, $rows:expr) => {{
        let (old_i, new_i, root): (i64, i64, Hash) = ($old_i, $new_i, $root);
        let done =
            sqlx::query("UPDATE ledger_meta SET size = $1, root = $2 WHERE id = 1 AND size = $3")
                .bind(new_i)
                .bind(&root[..])
                .bind(old_i)
                .execute(&mut *$tx)
                .await?;
        if done.rows_affected() != 1 {
            return Err(LedgerError::ConcurrentAppend);
        }
        for (c, chunk) in $entries.chunks(CHUNK_ROWS).enumerate() {
            let base = old_i + (c * CHUNK_ROWS) as i64;
            let mut qb = QueryBuilder::new("INSERT INTO ledger_entries (idx, data) ");
            qb.push_values(chunk.iter().enumerate(), |mut b, (k, e)| {
                b.push_bind(base + k as i64).push_bind(e.as_slice());
            });
            qb.build().execute(&mut *$tx).await?;
        }
        for chunk in $rows.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::new("INSERT INTO ledger_hashes (level, idx, hash) ");
            qb.push_values(chunk.iter(), |mut b, (level, idx, h)| {
                b.push_bind(*level).push_bind(*idx).push_bind(&h[..]);
            });
            qb.build().execute(&mut *$tx).await?;
        }
    }};
}

/// Stores a signed checkpoint note for `(size, root)` in the open transaction `$tx`, by
/// compare-and-swap against the stored row `(csize, croot)`, with its history row; `false` (and
/// nothing written) when the stored row is not `(csize, croot)`.
macro_rules! store_checkpoint_in {
    ($tx:ident, $size:expr, $root:expr, $text:expr, $csize:expr, $croot:expr) => {{
        let (size, root, csize, croot): (i64, Hash, i64, Hash) = ($size, $root, $csize, $croot);
        let text: &str = $text;
        let done = sqlx::query("UPDATE ledger_checkpoint SET size = $1, root = $2, note = $3 WHERE id = 1 AND size = $4 AND root = $5")
            .bind(size).bind(&root[..]).bind(text).bind(csize).bind(&croot[..])
            .execute(&mut *$tx).await?.rows_affected();
        if done == 1 {
            // Kept so that a reader can later be proven against an older checkpoint once
            // witnesses have cosigned it (the single row above only holds the newest).
            sqlx::query("INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
                .bind(size).bind(&root[..]).bind(text).execute(&mut *$tx).await?;
        }
        done == 1
    }};
}

/// The SQLite append's `BEGIN` and writes as one multi-statement query, one round trip to the
/// connection's sqlx thread instead of one per statement (each round trip is a hand-off
/// between threads, and those dominated an append's cost on SQLite): the transaction's start,
/// the tree head's compare-and-swap, the entries, the new subtree hashes and, with `checkpoint`
/// (a signed note and the stored row it replaces), the checkpoint's compare-and-swap and its
/// history row, written only if the swap happened. Each swap answers a row (`RETURNING`) when
/// it happened. The caller runs its rows and `COMMIT` after it on the same connection, and
/// drops the connection (which rolls the transaction back) when anything fails. Answers whether
/// the checkpoint was stored.
///
/// This relies on sqlx-sqlite 0.8 preparing every statement of a query string, binding
/// SQLite's `?` parameters in order across them and answering their rows (sqlx is pinned at
/// 0.8.6; sqlx#3108 discusses retiring multi-statement prepared queries, and the ledger's tests
/// fail if a statement is skipped).
async fn sqlite_write_batch(
    conn: &mut sqlx::SqliteConnection,
    (old_i, new_i, root): (i64, i64, Hash),
    entries: &[Vec<u8>],
    rows: &HashRows,
    checkpoint: Option<(&str, i64, Hash)>,
) -> Result<bool> {
    let mut qb = QueryBuilder::<sqlx::Sqlite>::new("BEGIN; UPDATE ledger_meta SET size = ");
    qb.push_bind(new_i)
        .push(", root = ")
        .push_bind(&root[..])
        .push(" WHERE id = 1 AND size = ")
        .push_bind(old_i)
        .push(" RETURNING 'head'");
    for (c, chunk) in entries.chunks(CHUNK_ROWS).enumerate() {
        let base = old_i + (c * CHUNK_ROWS) as i64;
        qb.push("; INSERT INTO ledger_entries (idx, data) ");
        qb.push_values(chunk.iter().enumerate(), |mut b, (k, e)| {
            b.push_bind(base + k as i64).push_bind(e.as_slice());
        });
    }
    for chunk in rows.chunks(CHUNK_ROWS) {
        qb.push("; INSERT INTO ledger_hashes (level, idx, hash) ");
        qb.push_values(chunk.iter(), |mut b, (level, idx, h)| {
            b.push_bind(*level).push_bind(*idx).push_bind(&h[..]);
        });
    }
    if let Some((text, csize, croot)) = checkpoint {
        qb.push("; UPDATE ledger_checkpoint SET size = ")
            .push_bind(new_i)
            .push(", root = ")
            .push_bind(&root[..])
            .push(", note = ")
            .push_bind(text)
            .push(" WHERE id = 1 AND size = ")
            .push_bind(csize)
            .push(" AND root = ")
            .push_bind(croot.to_vec())
            .push(" RETURNING 'checkpoint'");
        // `changes()`: the rows the swap just above changed. The history row is kept so that
        // a reader can later be proven against an older checkpoint once witnesses have
        // cosigned it (the single row above only holds the newest).
        qb.push("; INSERT INTO ledger_checkpoints (size, root, note) SELECT ")
            .push_bind(new_i)
            .push(", ")
            .push_bind(&root[..])
            .push(", ")
            .push_bind(text)
            .push(" WHERE changes() = 1 ON CONFLICT (size) DO NOTHING");
    }
    let swapped: Vec<String> = match qb.build_query_scalar().fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        // A row already there (the statements after a failed swap still run): another writer
        // appended.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(LedgerError::ConcurrentAppend);
        }
        Err(e) => return Err(e.into()),
    };
    if !swapped.iter().any(|w| w == "head") {
        return Err(LedgerError::ConcurrentAppend);
    }
    Ok(swapped.iter().any(|w| w == "checkpoint"))
}

/// The log's checkpoint note for `(size, root)`, signed by `signer`.
fn signed_note(origin: &str, size: u64, root: Hash, signer: &Signer) -> Result<String> {
    let cp = Checkpoint::new(origin, size, root);
    let mut note = Note::new(cp.to_text())?;
    note.signatures.push(signer.sign(&note.text, 0)?);
    Ok(note.to_text())
}

pub(crate) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| LedgerError::NumberTooLarge(v))
}

pub(crate) fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| LedgerError::Integrity(format!("negative number {v} stored")))
}

pub(crate) fn to_hash(v: &[u8]) -> Result<Hash> {
    Hash::try_from(v)
        .map_err(|_| LedgerError::Integrity(format!("stored hash is {} bytes", v.len())))
}

const SQLITE_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ledger_meta (id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_hashes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_cosignatures (size INTEGER NOT NULL, root BLOB NOT NULL, name TEXT NOT NULL, key_id INTEGER NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, name, key_id))",
    "CREATE TABLE IF NOT EXISTS witness_state (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS witness_forks (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, cosigned TEXT NOT NULL, refused TEXT NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_insert_only_u BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is insert-only'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_insert_only_d BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is insert-only'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_hashes_insert_only_u BEFORE UPDATE ON ledger_hashes BEGIN SELECT RAISE(ABORT, 'ledger_hashes is insert-only'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_hashes_insert_only_d BEFORE DELETE ON ledger_hashes BEGIN SELECT RAISE(ABORT, 'ledger_hashes is insert-only'); END",
];

const POSTGRES_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ledger_meta (id BIGINT PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL, size BIGINT NOT NULL, root BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_entries (idx BIGINT PRIMARY KEY, data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_hashes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoint (id BIGINT PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root BYTEA NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_cosignatures (size BIGINT NOT NULL, root BYTEA NOT NULL, name TEXT NOT NULL, key_id BIGINT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, name, key_id))",
    "CREATE TABLE IF NOT EXISTS witness_state (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, root BYTEA NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS witness_forks (id BIGSERIAL PRIMARY KEY, origin TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL, cosigned TEXT NOT NULL, refused TEXT NOT NULL)",
    "CREATE OR REPLACE FUNCTION ledger_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME; END $$",
    "CREATE OR REPLACE TRIGGER ledger_entries_insert_only BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_insert_only()",
    "CREATE OR REPLACE TRIGGER ledger_hashes_insert_only BEFORE UPDATE OR DELETE ON ledger_hashes FOR EACH ROW EXECUTE FUNCTION ledger_insert_only()",
];

/// Pool options without sqlx's maintenance task: no idle timeout, no maximum lifetime, no
/// minimum size (then sqlx starts none). Every pool of the project is made from these.
///
/// That task (sqlx 0.8.6) sweeps `for _ in 0..pool.num_idle()` without an `.await`, and
/// `num_idle` drops transiently below zero (to `usize::MAX`) when a connection is taken from the
/// idle queue before its release has counted it (upstream issue launchbadge/sqlx#3645, fixed
/// after 0.8.6): a sweep that reads it then spins a runtime worker for good, and the process
/// never exits (a `spondon-peer staff-token` hung so, at 100 % of a core; a `serve` or a clinic
/// node could lose a worker at any sweep, every ten minutes by sqlx's defaults). Closing idle
/// in-process SQLite handles saves nothing; a PostgreSQL connection that died while idle is
/// found by the ping before it is handed out (`test_before_acquire`, kept on for PostgreSQL).
pub fn without_maintenance<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .idle_timeout(None)
        .max_lifetime(None)
        .min_connections(0)
}

/// The pool of a SQLite database: four connections, each an in-process SQLite handle on its
/// own sqlx worker thread, without the maintenance task ([`without_maintenance`]) and without a
/// ping before a connection is handed out (`test_before_acquire`): a ping is a round trip to
/// the connection's thread that checks nothing an in-process handle can lose (there is no
/// network or server in between), and it was about a third of the round trips of a write.
/// sqlx still pings on release, which waits for a dropped transaction's rollback before the
/// connection is reused.
fn sqlite_pool_options() -> SqlitePoolOptions {
    without_maintenance(SqlitePoolOptions::new())
        .max_connections(4)
        .test_before_acquire(false)
}

impl Database {
    /// Connects to `sqlite:PATH` (created if missing) or `postgres://…`, and creates the schema.
    pub async fn connect(url: &str) -> Result<Self> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Database::Postgres(
                without_maintenance(PgPoolOptions::new())
                    .max_connections(8)
                    .connect(url)
                    .await?,
            )
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            spondon_fs::private_sqlite_file(opts.get_filename())
                .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?;
            Database::Sqlite(sqlite_pool_options().connect_with(opts).await?)
        } else {
            return Err(LedgerError::UnsupportedUrl);
        };
        db.create_schema().await?;
        Ok(db)
    }

    /// A pool for a read-only copy of a log's PostgreSQL database (a streaming standby), for
    /// [`Log::read_from`]: no schema is created, every transaction is read-only, connections
    /// are opened when first needed (a standby that is down when the peer starts is no reason
    /// not to start), and one that cannot be had within a second fails fast (reads then go to
    /// the primary). Only the URL is checked here.
    pub fn connect_replica(url: &str) -> Result<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(LedgerError::UnsupportedUrl);
        }
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
            .options([("default_transaction_read_only", "on")]);
        let pool = without_maintenance(PgPoolOptions::new())
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(1))
            .connect_lazy_with(opts);
        Ok(Database::Postgres(pool))
    }

    /// Wraps a PostgreSQL pool the caller built (its own connect options and hooks, e.g. a
    /// peer that follows a primary across a failover) and creates the schema.
    pub async fn from_postgres_pool(pool: PgPool) -> Result<Self> {
        let db = Database::Postgres(pool);
        db.create_schema().await?;
        Ok(db)
    }

    /// Opens (creating if missing) a SQLite database file.
    pub async fn sqlite(path: &std::path::Path) -> Result<Self> {
        spondon_fs::private_sqlite_file(path)
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let db = Database::Sqlite(sqlite_pool_options().connect_with(opts).await?);
        db.create_schema().await?;
        Ok(db)
    }

    async fn create_schema(&self) -> Result<()> {
        match self {
            Database::Sqlite(p) => {
                for s in SQLITE_SCHEMA {
                    sqlx::query(s).execute(p).await?;
                }
            }
            Database::Postgres(p) => {
                // One connection holds the schema lock for the whole DDL; closing it (on any
                // error) ends the session and releases the lock.
                let mut conn = p.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(SCHEMA_LOCK_KEY)
                    .execute(&mut *conn)
                    .await?;
                let mut res = Ok(());
                for s in POSTGRES_SCHEMA {
                    if let Err(e) = sqlx::query(s).execute(&mut *conn).await {
                        res = Err(e);
                        break;
                    }
                }
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(SCHEMA_LOCK_KEY)
                    .execute(&mut *conn)
                    .await;
                if unlocked.is_err() {
                    drop(conn.detach());
                }
                res?;
            }
        }
        Ok(())
    }

    /// Runs a sqlx migrator under the schema lock ([`SCHEMA_LOCK_KEY`] on PostgreSQL), so that
    /// processes starting together migrate one after the other.
    pub async fn migrate(
        &self,
        sqlite: &sqlx::migrate::Migrator,
        postgres: &sqlx::migrate::Migrator,
    ) -> std::result::Result<(), sqlx::migrate::MigrateError> {
        match self {
            Database::Sqlite(p) => sqlite.run(p).await,
            Database::Postgres(p) => {
                let mut conn = p.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(SCHEMA_LOCK_KEY)
                    .execute(&mut *conn)
                    .await?;
                let res = postgres.run(&mut *conn).await;
                let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(SCHEMA_LOCK_KEY)
                    .execute(&mut *conn)
                    .await;
                if unlocked.is_err() {
                    drop(conn.detach());
                }
                res
            }
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }
}

/// How much of the stored log to re-verify when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityCheck {
    /// Re-hash every entry and every stored subtree hash, streaming (memory stays flat), and check
    /// the tree head and the signed checkpoint against them. `O(n)` time.
    Full,
    /// Recompute the root from the stored right-edge subtree hashes and check it against the tree
    /// head and the signed checkpoint. `O(log n)`.
    Quick,
}

/// The open transaction of an append, for [`Log::append_with`]'s rows.
#[derive(Debug)]
pub enum Tx<'t> {
    /// The connection of an open SQLite transaction.
    Sqlite(&'t mut sqlx::SqliteConnection),
    /// A PostgreSQL transaction.
    Postgres(&'t mut sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A caller's rows written in an append's transaction ([`Log::append_with`]): given the
/// transaction and the batch's first index. It runs in the append's own task (cancel-safe), so
/// it owns what it writes.
pub type ExtraRows = Box<
    dyn for<'t> FnOnce(
            Tx<'t>,
            u64,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::result::Result<(), sqlx::Error>> + Send + 't>,
        > + Send,
>;

/// The result of an append batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Index of the first entry of the batch.
    pub first_index: u64,
    /// Tree size after the batch.
    pub size: u64,
    /// Root hash after the batch.
    pub root: Hash,
}

/// A transparency log stored in a database.
#[derive(Debug)]
pub struct Log {
    db: Database,
    origin: String,
    /// The tree head. An append holds it (owned) in its own task until the head is updated.
    state: std::sync::Arc<Mutex<CompactRange>>,
    /// Bounded cache of tiles' stored hashes and the subtrees inside them ([`TileCache`]),
    /// shared with the append task, which adds what it commits.
    tiles: std::sync::Arc<std::sync::Mutex<TileCache>>,
    /// The last signed `(size, root)` this process saw.
    signed: std::sync::Arc<std::sync::Mutex<Option<(u64, Hash)>>>,
    /// The largest tree size known to be committed (by this process or, on PostgreSQL, read
    /// from the database): reads up to it need no look-up of the head.
    known_size: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// A read-only copy that serves entries and hashes when it holds them ([`Log::read_from`]).
    replica: Option<Replica>,
    /// How many times this process stored cosignatures ([`Log::cosignatures_stored`]).
    cosignatures_stored: std::sync::atomic::AtomicU64,
    /// On SQLite, the connection appends write through (see [`SqliteWriter`]).
    writer: Option<std::sync::Arc<SqliteWriter>>,
}

/// The one connection a SQLite log's appends write through, opened when first needed and
/// again after a failed append. Its own, not a pool's: its page cache stays valid from one
/// append to the next (SQLite drops a connection's cache whenever another connection committed
/// since its last transaction, and a pool hands out any of its connections), and no ping to
/// its thread runs between two appends (a pool pings a connection when it is released).
#[derive(Debug)]
struct SqliteWriter {
    options: SqliteConnectOptions,
    conn: Mutex<Option<sqlx::SqliteConnection>>,
}

/// How long reads leave a replica alone after it failed to answer (so that a lost standby costs
/// one connection timeout, not one per read).
const REPLICA_REST: Duration = Duration::from_secs(5);

/// A read-only copy of the log's database, and what it served.
#[derive(Debug)]
struct Replica {
    db: Database,
    /// Reads go to the primary until then, after the replica failed to answer.
    resting_until: std::sync::Mutex<Option<std::time::Instant>>,
    served: std::sync::atomic::AtomicU64,
    fell_back: std::sync::atomic::AtomicU64,
}

impl Replica {
    fn usable(&self) -> bool {
        let now = std::time::Instant::now();
        self.resting_until
            .lock()
            .map(|r| r.is_none_or(|t| now >= t))
            .unwrap_or(true)
    }

    /// Counts a read the replica answered, or one that went to the primary instead: `e` is why.
    fn note<T>(&self, r: &Result<T>) {
        use std::sync::atomic::Ordering;
        match r {
            Ok(_) => {
                self.served.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.fell_back.fetch_add(1, Ordering::Relaxed);
                // Missing rows (the replica lags) are expected; a failing database rests.
                if matches!(e, LedgerError::Db(_))
                    && let Ok(mut r) = self.resting_until.lock()
                {
                    *r = Some(std::time::Instant::now() + REPLICA_REST);
                }
            }
        }
    }
}

/// Reads a replica answered, and reads that went to the primary because it could not (it
/// lagged behind what was asked, or did not answer): see [`Log::replica_reads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicaReads {
    /// Reads the replica answered.
    pub served: u64,
    /// Reads that went to the primary instead.
    pub fell_back: u64,
}

impl Log {
    /// Opens (or creates) the log `origin` in `db` and runs the integrity check.
    ///
    /// Fails with [`LedgerError::Integrity`] if any stored byte disagrees with the rest.
    pub async fn open(db: Database, origin: &str, check: IntegrityCheck) -> Result<Self> {
        Checkpoint::from_text(&format!("{origin}\n0\n{}\n", base64_hash(&empty_root())))?;
        let empty = empty_root();
        on_db!(&db, p => {
            sqlx::query("INSERT INTO ledger_meta (id, origin, size, root) VALUES (1, $1, 0, $2) ON CONFLICT (id) DO NOTHING")
                .bind(origin).bind(&empty[..]).execute(p).await?;
            sqlx::query("INSERT INTO ledger_checkpoint (id, size, root, note) VALUES (1, 0, $1, '') ON CONFLICT (id) DO NOTHING")
                .bind(&empty[..]).execute(p).await?;
        });
        let (stored, size, root): (String, i64, Vec<u8>) = on_db!(&db, p => {
            let r = sqlx::query("SELECT origin, size, root FROM ledger_meta WHERE id = 1").fetch_one(p).await?;
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)
        });
        if stored != origin {
            return Err(LedgerError::OriginMismatch {
                stored,
                requested: origin.to_owned(),
            });
        }
        let size = to_u64(size)?;
        let root = to_hash(&root)?;
        let writer = match &db {
            Database::Sqlite(p) => Some(std::sync::Arc::new(SqliteWriter {
                options: (*p.connect_options()).clone(),
                conn: Mutex::new(None),
            })),
            Database::Postgres(_) => None,
        };
        let log = Self {
            db,
            origin: origin.to_owned(),
            state: std::sync::Arc::new(Mutex::new(CompactRange::new())),
            tiles: std::sync::Arc::new(std::sync::Mutex::new(TileCache::default())),
            signed: std::sync::Arc::new(std::sync::Mutex::new(None)),
            known_size: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(size)),
            replica: None,
            cosignatures_stored: std::sync::atomic::AtomicU64::new(0),
            writer,
        };
        let ids = CompactRange::node_ids(size);
        let nodes = log.node_hashes(&ids, size).await?;
        let hashes = ids
            .iter()
            .map(|id| nodes.get(id).copied().ok_or_else(|| missing(*id)))
            .collect::<Result<Vec<_>>>()?;
        let compact = CompactRange::from_parts(size, hashes)
            .ok_or_else(|| LedgerError::Integrity("cannot rebuild the tree edge".into()))?;
        if compact.root() != root {
            return Err(LedgerError::Integrity(format!(
                "stored subtree hashes do not match the tree head at size {size}"
            )));
        }
        *log.state.lock().await = compact;
        if check == IntegrityCheck::Full {
            log.full_check(size, &root).await?;
        }
        log.check_signed_checkpoint(size).await?;
        Ok(log)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Closes the connection appends write through (SQLite; the database's own pool is its
    /// owner's to close).
    pub async fn close(&self) {
        if let Some(w) = &self.writer
            && let Some(conn) = w.conn.lock().await.take()
        {
            use sqlx::Connection as _;
            let _ = conn.close().await;
        }
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Serves reads of entries and subtree hashes (tiles, entry bundles, proofs) from
    /// `replica`, a read-only copy of this log's database (a PostgreSQL streaming standby, see
    /// [`Database::connect_replica`]), whenever it holds what is asked; otherwise, and for
    /// 5 seconds after it failed to answer, from the primary. A replica can only be behind,
    /// never different: what it serves is exactly what the primary would (rows are checked for
    /// completeness, and proofs against the signed checkpoint, as from the primary).
    pub fn read_from(mut self, replica: Database) -> Self {
        self.replica = Some(Replica {
            db: replica,
            resting_until: std::sync::Mutex::new(None),
            served: Default::default(),
            fell_back: Default::default(),
        });
        self
    }

    /// What the replica of [`Log::read_from`] served so far (`None` without one).
    pub fn replica_reads(&self) -> Option<ReplicaReads> {
        use std::sync::atomic::Ordering;
        self.replica.as_ref().map(|r| ReplicaReads {
            served: r.served.load(Ordering::Relaxed),
            fell_back: r.fell_back.load(Ordering::Relaxed),
        })
    }

    /// The database to read rows that were committed with the first `size` entries from: the
    /// replica when it already holds a tree of at least `size` (rows written in the same
    /// transaction as their entries, as [`Log::append_with`] writes them, are then there too),
    /// else the primary.
    pub async fn reader_for(&self, size: u64) -> &Database {
        let Some(r) = self.replica.as_ref().filter(|r| r.usable()) else {
            return &self.db;
        };
        let held = stored_head_in(&r.db).await.and_then(|(held, _)| {
            if held >= size {
                Ok(held)
            } else {
                Err(LedgerError::SizeOutOfRange {
                    requested: size,
                    size: held,
                })
            }
        });
        r.note(&held);
        if held.is_ok() { &r.db } else { &self.db }
    }

    /// Current tree size and root (including appends not yet signed) as this process last saw
    /// it; see [`Log::stored_head`] for the database's (other processes may append too).
    pub async fn tree_head(&self) -> (u64, Hash) {
        let s = self.state.lock().await;
        (s.size(), s.root())
    }

    /// The tree head stored in the database: the size and root after the last committed append
    /// of any process.
    pub async fn stored_head(&self) -> Result<(u64, Hash)> {
        let (size, root) = stored_head_in(&self.db).await?;
        self.known_size
            .fetch_max(size, std::sync::atomic::Ordering::AcqRel);
        Ok((size, root))
    }

    /// Forgets what this process remembers of the stored log and reads it again, after the
    /// database behind the pool changed (a PostgreSQL failover to a promoted standby): the
    /// committed size known here is reset to the stored head, and the tree edge is read again
    /// by the next append (PostgreSQL appends always compare it with the stored head).
    ///
    /// Fails with [`LedgerError::Integrity`] if the database's signed checkpoint is older than
    /// one this process signed or saw committed, or its head smaller than a size this process
    /// saw committed: acknowledged entries are missing (asynchronous replication lost them),
    /// and writing on would sign a fork. Nothing is changed then.
    pub async fn resync(&self) -> Result<(u64, Hash)> {
        // No append runs while the log is re-read. One still under way (an append finishes in
        // a task of its own even when its caller has gone) commits first: its entries count in
        // the sizes compared below, and the hashes it adds to the tile cache are cleared with
        // the rest instead of landing after the clearing.
        let _appends = self.state.lock().await;
        let (csize, croot, _) = self.checkpoint_row().await?;
        let r: (i64, Vec<u8>) = on_db!(&self.db, p => {
            let r = sqlx::query("SELECT size, root FROM ledger_meta WHERE id = 1").fetch_one(p).await?;
            (r.try_get(0)?, r.try_get(1)?)
        });
        let (size, root) = (to_u64(r.0)?, to_hash(&r.1)?);
        let known = self.known_size.load(std::sync::atomic::Ordering::Acquire);
        if size < known {
            return Err(LedgerError::Integrity(format!(
                "the database's log has {size} entries, fewer than the {known} committed before: acknowledged entries are missing"
            )));
        }
        // Tiles are immutable in one history; read them from this database again all the same.
        if let Ok(mut c) = self.tiles.lock() {
            *c = TileCache::default();
        }
        let signed = self.signed.lock().ok().and_then(|s| *s);
        if let Some((ssize, sroot)) = signed {
            if csize < ssize || (csize == ssize && croot != sroot) {
                return Err(LedgerError::Integrity(format!(
                    "the database's signed checkpoint (size {csize}) is older than the one signed before (size {ssize}): acknowledged entries are missing"
                )));
            }
            if self.root_at(ssize).await? != sroot {
                return Err(LedgerError::Integrity(format!(
                    "the database's tree differs from the checkpoint signed before at size {ssize}"
                )));
            }
        }
        self.known_size
            .store(size, std::sync::atomic::Ordering::Release);
        Ok((size, root))
    }

    /// The committed tree size, at least `needed` if the database has that many entries: the
    /// size known to this process when it suffices, else the stored head (another process may
    /// have appended). Committed entries and hashes never change, so any size up to it can be
    /// read without a lock.
    async fn size_at_least(&self, needed: u64) -> Result<u64> {
        let known = self.known_size.load(std::sync::atomic::Ordering::Acquire);
        if known >= needed {
            return Ok(known);
        }
        Ok(self.stored_head().await?.0)
    }

    /// Appends a batch of entries in one transaction with one new tree head.
    ///
    /// When this returns `Ok`, the entries are durably stored at indexes
    /// `first_index..first_index + entries.len()`. Cancel-safe: once polled, the batch is
    /// written (or refused) to the end even if this future is dropped, and the in-memory head
    /// always follows what was committed (needs a tokio runtime).
    pub async fn append<E: AsRef<[u8]>>(&self, entries: &[E]) -> Result<Appended> {
        Ok(self.append_inner(entries, None, None).await?.0)
    }

    /// [`Log::append`], with the caller's own rows written by `rows` in the same transaction
    /// (after the entries, given the batch's first index): the entries and the rows that refer
    /// to them commit together or not at all, with one commit (one fsync). An error from `rows`
    /// rolls the whole batch back (returned as [`LedgerError::Db`]); the log is unchanged.
    pub async fn append_with<E: AsRef<[u8]>>(
        &self,
        entries: &[E],
        rows: ExtraRows,
    ) -> Result<Appended> {
        Ok(self.append_inner(entries, Some(rows), None).await?.0)
    }

    /// [`Log::append_with`] (`rows` optional), then a checkpoint of the new head signed by
    /// `signer` ([`Log::sign_checkpoint`]); returns the batch and the signed note.
    ///
    /// When the stored checkpoint is the head the batch extends (every append of a log signed
    /// this way, after the first), the checkpoint is signed and stored in the append's own
    /// transaction: the entries, the rows and the checkpoint over them commit together (one
    /// commit, one fsync), so a crash never leaves a checkpoint ahead of the log nor a batch
    /// without its checkpoint. On PostgreSQL the checkpoint row is locked in that transaction
    /// (as [`Log::sign_checkpoint`] locks it) and the head signed is the database's head, which
    /// the append's lock holds still. Otherwise (a checkpoint behind the head, or one this
    /// process has not seen yet) the batch commits first and [`Log::sign_checkpoint`] signs
    /// after it, with its checks. Either way, when this returns `Ok` the entries and a
    /// checkpoint covering them are durable.
    pub async fn append_signed<E: AsRef<[u8]>>(
        &self,
        entries: &[E],
        rows: Option<ExtraRows>,
        signer: &Signer,
    ) -> Result<(Appended, String)> {
        let (appended, note) = self
            .append_inner(entries, rows, Some(signer.clone()))
            .await?;
        match note {
            Some(note) => Ok((appended, note)),
            None => Ok((appended, self.sign_checkpoint(signer).await?)),
        }
    }

    async fn append_inner<E: AsRef<[u8]>>(
        &self,
        entries: &[E],
        extra: Option<ExtraRows>,
        signer: Option<Signer>,
    ) -> Result<(Appended, Option<String>)> {
        if entries.is_empty() {
            return Err(LedgerError::EmptyBatch);
        }
        if entries.len() > MAX_BATCH {
            return Err(LedgerError::BatchTooLarge(entries.len()));
        }
        for (position, e) in entries.iter().enumerate() {
            if e.as_ref().len() > MAX_ENTRY_BYTES {
                return Err(LedgerError::EntryTooLarge {
                    position,
                    len: e.as_ref().len(),
                });
            }
        }
        let mut state = self.state.clone().lock_owned().await;
        // The checkpoint this process last signed or saw stored: on SQLite (one writing
        // process) the stored row, unless the compare-and-swap below finds otherwise.
        let seen = self.signed.lock().ok().and_then(|s| *s);
        let (signed, origin) = (self.signed.clone(), self.origin.clone());
        // Cancel safety: the transaction and the head update run in their own task, which owns
        // the head's lock. If this future is dropped (a client disconnects, a timeout fires),
        // the task still finishes: a commit that lands always updates the head, and the next
        // append waits for it instead of finding a stale head (`ConcurrentAppend`).
        let db = self.db.clone();
        let writer = self.writer.clone();
        let known = self.known_size.clone();
        let tiles = self.tiles.clone();
        let entries: Vec<Vec<u8>> = entries.iter().map(|e| e.as_ref().to_vec()).collect();
        let task = tokio::spawn(async move {
            let appended = match &db {
                Database::Sqlite(_) => {
                    use sqlx::ConnectOptions as _;
                    let writer = writer.ok_or_else(|| {
                        LedgerError::Integrity("a SQLite log without its writer".into())
                    })?;
                    let mut slot = writer.conn.lock().await;
                    let conn = match slot.as_mut() {
                        Some(c) => c,
                        None => slot.insert(writer.options.connect().await?),
                    };
                    // One process writes a SQLite log (the peer's `serve.lock`): the head in
                    // memory is the stored one, and the CAS below catches anything else.
                    let (next, rows) = extend(&state, &entries)?;
                    let (old_i, new_i) = (to_i64(state.size())?, to_i64(next.size())?);
                    // The checkpoint in the same transaction when the stored one is the head
                    // this batch extends (so the new one is consistent with it).
                    let text = match &signer {
                        Some(signer) if seen == Some((state.size(), state.root())) => {
                            Some(signed_note(&origin, next.size(), next.root(), signer)?)
                        }
                        _ => None,
                    };
                    // The transaction begins in the batch's own query (one round trip fewer
                    // than sqlx's `begin`); nothing but this task uses the connection.
                    let written = async {
                        let stored = sqlite_write_batch(
                            conn,
                            (old_i, new_i, next.root()),
                            &entries,
                            &rows,
                            text.as_deref().map(|t| (t, old_i, state.root())),
                        )
                        .await?;
                        if let Some(extra) = extra {
                            extra(Tx::Sqlite(conn), state.size()).await?;
                        }
                        sqlx::query("COMMIT").execute(&mut *conn).await?;
                        Ok::<bool, LedgerError>(stored)
                    }
                    .await;
                    // A connection that failed an append is not trusted with the next one: it
                    // is closed (which rolls its transaction back) before the head is released.
                    let stored = match written {
                        Ok(stored) => stored,
                        Err(e) => {
                            if let Some(failed) = slot.take() {
                                use sqlx::Connection as _;
                                let _ = failed.close().await;
                            }
                            return Err(e);
                        }
                    };
                    let note = text.filter(|_| stored);
                    if let Ok(mut c) = tiles.lock() {
                        c.stored(&rows);
                    }
                    let a = Appended {
                        first_index: state.size(),
                        size: next.size(),
                        root: next.root(),
                    };
                    *state = next;
                    (a, note)
                }
                Database::Postgres(p) => {
                    // Several processes may append to one PostgreSQL log: the transaction takes
                    // the append lock, then reads the head; if another process moved it, the
                    // tree edge is read again from storage (inside the same transaction).
                    let mut tx = p.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(APPEND_LOCK_KEY)
                        .execute(&mut *tx)
                        .await?;
                    let r = sqlx::query("SELECT size, root FROM ledger_meta WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?;
                    let size = to_u64(r.try_get(0)?)?;
                    let root = to_hash(r.try_get::<&[u8], _>(1)?)?;
                    if size != state.size() || root != state.root() {
                        *state = pg_edge(&mut tx, size, root).await?;
                    }
                    let (next, rows) = extend(&state, &entries)?;
                    let (old_i, new_i) = (to_i64(state.size())?, to_i64(next.size())?);
                    write_batch_in!(tx, old_i, new_i, next.root(), entries, rows);
                    if let Some(extra) = extra {
                        extra(Tx::Postgres(&mut tx), state.size()).await?;
                    }
                    // The checkpoint in the same transaction when the stored one is the head
                    // this batch extends (read under the append lock, so it is the database's
                    // head); its row locked as `sign_checkpoint_pg` locks it.
                    let mut note = None;
                    if let Some(signer) = &signer {
                        let r = sqlx::query(
                            "SELECT size, root FROM ledger_checkpoint WHERE id = 1 FOR UPDATE",
                        )
                        .fetch_one(&mut *tx)
                        .await?;
                        let csize = to_u64(r.try_get(0)?)?;
                        let croot = to_hash(r.try_get::<&[u8], _>(1)?)?;
                        if (csize, croot) == (state.size(), state.root()) {
                            let text = signed_note(&origin, next.size(), next.root(), signer)?;
                            if store_checkpoint_in!(
                                tx,
                                new_i,
                                next.root(),
                                &text,
                                old_i,
                                state.root()
                            ) {
                                note = Some(text);
                            }
                        }
                    }
                    tx.commit().await?;
                    if let Ok(mut c) = tiles.lock() {
                        c.stored(&rows);
                    }
                    let a = Appended {
                        first_index: state.size(),
                        size: next.size(),
                        root: next.root(),
                    };
                    *state = next;
                    (a, note)
                }
            };
            known.fetch_max(appended.0.size, std::sync::atomic::Ordering::AcqRel);
            if appended.1.is_some()
                && let Ok(mut s) = signed.lock()
            {
                *s = Some((appended.0.size, appended.0.root));
            }
            Ok::<(Appended, Option<String>), LedgerError>(appended)
        });
        task.await
            .map_err(|e| LedgerError::Integrity(format!("append task failed: {e}")))?
    }

    /// Hashes of complete subtrees, tile by tile: each tile's stored hashes and the subtrees
    /// inside it from the [`TileCache`], and what it does not know yet read from storage (the
    /// hashes after its known prefix, in one query) and hashed up once for every later call.
    async fn node_hashes(&self, ids: &[NodeId], size: u64) -> Result<HashMap<NodeId, Hash>> {
        let mut tiles: HashMap<(u8, u64), std::sync::Arc<TileHashes>> = HashMap::new();
        for id in ids {
            let (l, r) = (id.level / 8, id.level % 8);
            let first = id.index << r;
            tiles.entry((l, first / TILE_WIDTH)).or_default();
        }
        // Each tile from the cache, or its hashes beyond the cached prefix read and hashed up.
        let mut widths: HashMap<(u8, u64), u64> = HashMap::with_capacity(tiles.len());
        for (&(l, t), hashes) in tiles.iter_mut() {
            let count = level_count(size, l);
            let start = t * TILE_WIDTH;
            let end = (start + TILE_WIDTH).min(count);
            let width = end.saturating_sub(start);
            widths.insert((l, t), width);
            let cached = self.tiles.lock().ok().and_then(|c| c.get(&(l, t)));
            *hashes = match cached {
                Some(h) if h.len() >= width => h,
                cached => {
                    let mut h = cached
                        .map(std::sync::Arc::unwrap_or_clone)
                        .unwrap_or_default();
                    let more = self.read_hashes(l, start + h.len(), end).await?;
                    h.extend(&more);
                    let h = std::sync::Arc::new(h);
                    if let Ok(mut c) = self.tiles.lock() {
                        c.put((l, t), h.clone());
                    }
                    h
                }
            };
        }
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            let (l, r) = (id.level / 8, id.level % 8);
            let first = id.index << r;
            let key = (l, first / TILE_WIDTH);
            let offset = first % TILE_WIDTH;
            // Only a subtree complete in the tree of `size` (a tile may hold more than that).
            let width = widths.get(&key).copied().unwrap_or(0);
            let node = tiles
                .get(&key)
                .filter(|_| offset + (1 << r) <= width)
                .and_then(|tile| tile.node(r, offset >> r))
                .ok_or_else(|| missing(*id))?;
            out.insert(*id, node);
        }
        Ok(out)
    }

    /// Reads stored hashes `[start, end)` of a level (from the replica when it holds them),
    /// failing if any is missing.
    async fn read_hashes(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
        if let Some(r) = self.replica.as_ref().filter(|r| r.usable()) {
            let got = read_hashes_in(&r.db, level, start, end).await;
            r.note(&got);
            if got.is_ok() {
                return got;
            }
        }
        read_hashes_in(&self.db, level, start, end).await
    }

    fn check_size(&self, requested: u64, size: u64) -> Result<()> {
        if requested > size {
            Err(LedgerError::SizeOutOfRange { requested, size })
        } else {
            Ok(())
        }
    }

    /// Root hash of the tree of `size` leaves, from storage.
    pub async fn root_at(&self, size: u64) -> Result<Hash> {
        let current = self.size_at_least(size).await?;
        self.check_size(size, current)?;
        let ids = CompactRange::node_ids(size);
        let nodes = self.node_hashes(&ids, size).await?;
        fold(&ids, &nodes)
    }

    /// Inclusion proof of entry `index` in the tree of `size`, with its leaf hash.
    ///
    /// The proof is checked against the stored leaf hash and root before it is returned, so a
    /// proof is never served from corrupted storage.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>)> {
        self.inclusion_proofs(&[index], size)
            .await?
            .pop()
            .ok_or_else(|| LedgerError::Integrity("no inclusion proof was built".into()))
    }

    /// Inclusion proofs of the entries `indices` in the tree of `size`, with their leaf hashes,
    /// in the order asked: [`Log::inclusion_proof`] for many entries at once, each proof checked
    /// against its stored leaf hash and the stored root as there, with the tiles read and the
    /// subtrees they share hashed once for all of them.
    pub async fn inclusion_proofs(
        &self,
        indices: &[u64],
        size: u64,
    ) -> Result<Vec<(Hash, Vec<Hash>)>> {
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.size_at_least(size).await?;
        self.check_size(size, current)?;
        let plans = indices
            .iter()
            .map(|&i| plan_inclusion(i, size))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let root_ids = CompactRange::node_ids(size);
        let mut ids: Vec<NodeId> = root_ids.clone();
        for (plan, &index) in plans.iter().zip(indices) {
            ids.extend(plan.nodes());
            ids.push(NodeId { level: 0, index });
        }
        let nodes = self.node_hashes(&ids, size).await?;
        let root = fold(&root_ids, &nodes)?;
        self.check_against_signed(size, &root).await?;
        let mut out = Vec::with_capacity(indices.len());
        for (plan, &index) in plans.iter().zip(indices) {
            let proof = plan.assemble(|id| nodes.get(&id).copied().ok_or_else(|| missing(id)))?;
            let leaf_id = NodeId { level: 0, index };
            let leaf = nodes
                .get(&leaf_id)
                .copied()
                .ok_or_else(|| missing(leaf_id))?;
            merkle::verify_inclusion(&leaf, index, size, &proof, &root).map_err(|e| {
                LedgerError::Integrity(format!("served inclusion proof would not verify: {e}"))
            })?;
            out.push((leaf, proof));
        }
        Ok(out)
    }

    /// Consistency proof from `old` to `new` (empty when `old` is 0 or equal to `new`).
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let current = self.size_at_least(new).await?;
        self.check_size(new, current)?;
        let plan = plan_consistency(old, new)?;
        let old_ids = CompactRange::node_ids(old);
        let new_ids = CompactRange::node_ids(new);
        let ids: Vec<NodeId> = plan
            .nodes()
            .chain(old_ids.iter().copied())
            .chain(new_ids.iter().copied())
            .collect();
        let nodes = self.node_hashes(&ids, new).await?;
        let proof = plan.assemble(|id| nodes.get(&id).copied().ok_or_else(|| missing(id)))?;
        if old > 0 {
            let (r1, r2) = (fold(&old_ids, &nodes)?, fold(&new_ids, &nodes)?);
            merkle::verify_consistency(old, new, &proof, &r1, &r2).map_err(|e| {
                LedgerError::Integrity(format!("served consistency proof would not verify: {e}"))
            })?;
            self.check_against_signed(old, &r1).await?;
            self.check_against_signed(new, &r2).await?;
        }
        Ok(proof)
    }

    async fn check_against_signed(&self, size: u64, root: &Hash) -> Result<()> {
        let known = self.signed.lock().ok().and_then(|s| *s);
        let (csize, croot) = match known {
            Some(v) => v,
            None => {
                let (csize, croot, note) = self.checkpoint_row().await?;
                if !note.is_empty()
                    && let Ok(mut s) = self.signed.lock()
                {
                    *s = Some((csize, croot));
                }
                (csize, croot)
            }
        };
        if csize == size && &croot != root {
            return Err(LedgerError::Integrity(format!(
                "stored tree of size {size} differs from the signed checkpoint"
            )));
        }
        Ok(())
    }

    /// Entries `[start, end)` (from the replica when it holds them).
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let size = self.size_at_least(end).await?;
        if end > size || start > end {
            return Err(LedgerError::IndexOutOfRange {
                index: end.saturating_sub(1).max(start),
                size,
            });
        }
        if let Some(r) = self.replica.as_ref().filter(|r| r.usable()) {
            let got = entries_in(&r.db, start, end).await;
            r.note(&got);
            if got.is_ok() {
                return got;
            }
        }
        entries_in(&self.db, start, end).await
    }

    /// One entry.
    pub async fn entry(&self, index: u64) -> Result<Vec<u8>> {
        let size = self.size_at_least(index.saturating_add(1)).await?;
        if index >= size {
            return Err(LedgerError::IndexOutOfRange { index, size });
        }
        let mut e = self.entries(index, index + 1).await?;
        e.pop().ok_or(LedgerError::IndexOutOfRange { index, size })
    }

    /// The entries at `indices` (any order, repeats allowed), in the order asked, read with a
    /// few queries instead of one per entry (from the replica when it holds them all).
    pub async fn entries_at(&self, indices: &[u64]) -> Result<Vec<Vec<u8>>> {
        let Some(&max) = indices.iter().max() else {
            return Ok(Vec::new());
        };
        let size = self.size_at_least(max.saturating_add(1)).await?;
        if max >= size {
            return Err(LedgerError::IndexOutOfRange { index: max, size });
        }
        let mut wanted: Vec<u64> = indices.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut got = None;
        if let Some(r) = self.replica.as_ref().filter(|r| r.usable()) {
            let read = entries_at_in(&r.db, &wanted).await;
            r.note(&read);
            got = read.ok();
        }
        let got = match got {
            Some(g) => g,
            None => entries_at_in(&self.db, &wanted).await?,
        };
        indices
            .iter()
            .map(|i| {
                got.get(i)
                    .cloned()
                    .ok_or(LedgerError::IndexOutOfRange { index: *i, size })
            })
            .collect()
    }

    /// The stored hashes of a `tlog-tiles` tile: level `level`, index `index`, `width` hashes
    /// (256 for a full tile), bounded by `size` (the published checkpoint size).
    pub async fn tile(&self, level: u8, index: u64, width: u64, size: u64) -> Result<Vec<u8>> {
        let (start, end) = tile_range(level, index, width, size)?;
        let hashes = self.read_hashes(level, start, end).await?;
        Ok(hashes.concat())
    }

    /// A `tlog-tiles` entry bundle: uint16 big-endian length-prefixed entries.
    pub async fn entry_bundle(&self, index: u64, width: u64, size: u64) -> Result<Vec<u8>> {
        let (start, end) = tile_range(0, index, width, size)?;
        let mut out = Vec::new();
        for e in self.entries(start, end).await? {
            let len = u16::try_from(e.len())
                .map_err(|_| LedgerError::Integrity("stored entry too large".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&e);
        }
        Ok(out)
    }

    async fn checkpoint_row(&self) -> Result<(u64, Hash, String)> {
        let (size, root, note): (i64, Vec<u8>, String) = on_db!(&self.db, p => {
            let r = sqlx::query("SELECT size, root, note FROM ledger_checkpoint WHERE id = 1").fetch_one(p).await?;
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)
        });
        Ok((to_u64(size)?, to_hash(&root)?, note))
    }

    async fn check_signed_checkpoint(&self, size: u64) -> Result<()> {
        let (csize, croot, note) = self.checkpoint_row().await?;
        if note.is_empty() {
            return Ok(());
        }
        if csize > size {
            return Err(LedgerError::Integrity(format!(
                "signed checkpoint size {csize} exceeds stored size {size}"
            )));
        }
        let parsed = Note::parse(note.as_bytes())
            .map_err(|e| LedgerError::Integrity(format!("stored checkpoint: {e}")))?;
        let cp = Checkpoint::from_text(&parsed.text)
            .map_err(|e| LedgerError::Integrity(format!("stored checkpoint: {e}")))?;
        if cp.size != csize || cp.root != croot || cp.origin != self.origin {
            return Err(LedgerError::Integrity(
                "checkpoint row disagrees with its note".into(),
            ));
        }
        if self.root_at(csize).await? != croot {
            return Err(LedgerError::Integrity(format!(
                "stored tree of size {csize} differs from the signed checkpoint"
            )));
        }
        Ok(())
    }

    /// Re-hashes every entry and stored hash, streaming.
    async fn full_check(&self, size: u64, root: &Hash) -> Result<()> {
        const PAGE: u64 = 4096;
        let mut compact = CompactRange::new();
        let mut start = 0;
        while start < size {
            let end = (start + PAGE).min(size);
            let entries = self.entries(start, end).await?;
            let leaves = self.read_hashes(0, start, end).await?;
            let mut upper: Vec<(u8, u64, Hash)> = Vec::new();
            for (k, e) in entries.iter().enumerate() {
                let h = leaf_hash(e);
                if h != leaves[k] {
                    return Err(LedgerError::Integrity(format!(
                        "entry {} does not match its stored leaf hash",
                        start + k as u64
                    )));
                }
                compact.push(h, |id, hash| {
                    if id.level % 8 == 0 && id.level > 0 {
                        upper.push((id.level / 8, id.index, *hash));
                    }
                });
            }
            let mut by_level: HashMap<u8, Vec<(u64, Hash)>> = HashMap::new();
            for (l, i, h) in upper {
                by_level.entry(l).or_default().push((i, h));
            }
            for (l, list) in by_level {
                let (first, last) = match (list.first(), list.last()) {
                    (Some(f), Some(z)) => (f.0, z.0),
                    _ => continue,
                };
                let stored = self.read_hashes(l, first, last + 1).await?;
                for ((i, h), s) in list.iter().zip(&stored) {
                    if h != s {
                        return Err(LedgerError::Integrity(format!(
                            "stored level-{l} hash {i} is wrong"
                        )));
                    }
                }
            }
            start = end;
        }
        if &compact.root() != root {
            return Err(LedgerError::Integrity(
                "recomputed root differs from the tree head".into(),
            ));
        }
        // Nothing may be stored beyond the tree head.
        let extra_entries: i64 = on_db!(&self.db, p => sqlx::query("SELECT COUNT(*) FROM ledger_entries WHERE idx >= $1 OR idx < 0")
            .bind(to_i64(size)?).fetch_one(p).await?.try_get(0)?);
        if extra_entries != 0 {
            return Err(LedgerError::Integrity(format!(
                "{extra_entries} entries stored beyond the tree head"
            )));
        }
        for l in 0..8u8 {
            let count = level_count(size, l);
            let extra: i64 = on_db!(&self.db, p => sqlx::query("SELECT COUNT(*) FROM ledger_hashes WHERE level = $1 AND (idx >= $2 OR idx < 0)")
                .bind(i64::from(l)).bind(to_i64(count)?).fetch_one(p).await?.try_get(0)?);
            if extra != 0 {
                return Err(LedgerError::Integrity(format!(
                    "{extra} level-{l} hashes stored beyond the tree head"
                )));
            }
        }
        Ok(())
    }

    /// Signs a checkpoint for the current tree and stores it by compare-and-swap.
    ///
    /// Refuses to sign a different root for an already signed size, or a smaller size. Returns
    /// the signed note.
    pub async fn sign_checkpoint(&self, signer: &Signer) -> Result<String> {
        if let Database::Postgres(p) = &self.db {
            return self.sign_checkpoint_pg(p, signer).await;
        }
        let state = self.state.lock().await;
        let (size, root) = (state.size(), state.root());
        let (csize, croot, cnote) = self.checkpoint_row().await?;
        if size < csize {
            return Err(LedgerError::SizeRegression {
                signed: csize,
                new: size,
            });
        }
        if size == csize && !cnote.is_empty() {
            if root != croot {
                return Err(LedgerError::ForkRefused(size));
            }
            if let Ok(mut s) = self.signed.lock() {
                *s = Some((size, root));
            }
            return Ok(cnote);
        }
        if !cnote.is_empty() {
            let ids = CompactRange::node_ids(csize);
            let nodes = self.node_hashes(&ids, size).await?;
            if fold(&ids, &nodes)? != croot {
                return Err(LedgerError::Integrity(
                    "stored tree differs from the signed checkpoint".into(),
                ));
            }
        }
        let cp = Checkpoint::new(&self.origin, size, root);
        let mut note = Note::new(cp.to_text())?;
        note.signatures.push(signer.sign(&note.text, 0)?);
        let text = note.to_text();
        // One transaction (one commit, one fsync) for the row and the history.
        on_db!(&self.db, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query("UPDATE ledger_checkpoint SET size = $1, root = $2, note = $3 WHERE id = 1 AND size = $4 AND root = $5")
                .bind(to_i64(size)?).bind(&root[..]).bind(&text).bind(to_i64(csize)?).bind(&croot[..]).execute(&mut *tx).await?.rows_affected();
            if done != 1 {
                return Err(LedgerError::CheckpointRace);
            }
            // Kept so that a reader can later be proven against an older checkpoint once
            // witnesses have cosigned it (the single row above only holds the newest).
            sqlx::query("INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
                .bind(to_i64(size)?).bind(&root[..]).bind(&text).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        if let Ok(mut s) = self.signed.lock() {
            *s = Some((size, root));
        }
        drop(state);
        Ok(text)
    }

    /// [`Log::sign_checkpoint`] on PostgreSQL, where several processes may append and sign:
    /// the checkpoint row is locked (`FOR UPDATE`) for the whole transaction, so signers take
    /// turns; each signs the stored head (whatever process appended it) unless the stored
    /// checkpoint already covers it, in which case that note is the answer. The row only ever
    /// moves forward (same checks and compare-and-swap as on SQLite).
    async fn sign_checkpoint_pg(&self, p: &PgPool, signer: &Signer) -> Result<String> {
        let mut tx = p.begin().await?;
        let r =
            sqlx::query("SELECT size, root, note FROM ledger_checkpoint WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *tx)
                .await?;
        let csize = to_u64(r.try_get(0)?)?;
        let croot = to_hash(r.try_get::<&[u8], _>(1)?)?;
        let cnote: String = r.try_get(2)?;
        let r = sqlx::query("SELECT size, root FROM ledger_meta WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let size = to_u64(r.try_get(0)?)?;
        let root = to_hash(r.try_get::<&[u8], _>(1)?)?;
        self.known_size
            .fetch_max(size, std::sync::atomic::Ordering::AcqRel);
        if size < csize {
            return Err(LedgerError::SizeRegression {
                signed: csize,
                new: size,
            });
        }
        if size == csize && !cnote.is_empty() {
            if root != croot {
                return Err(LedgerError::ForkRefused(size));
            }
            tx.rollback().await?;
            return Ok(cnote);
        }
        // The stored tree must still hold the signed root at the signed size, and give the
        // head's root at the head's size.
        if !cnote.is_empty() && self.root_at(csize).await? != croot {
            return Err(LedgerError::Integrity(
                "stored tree differs from the signed checkpoint".into(),
            ));
        }
        if self.root_at(size).await? != root {
            return Err(LedgerError::Integrity(format!(
                "stored subtree hashes do not match the tree head at size {size}"
            )));
        }
        let cp = Checkpoint::new(&self.origin, size, root);
        let mut note = Note::new(cp.to_text())?;
        note.signatures.push(signer.sign(&note.text, 0)?);
        let text = note.to_text();
        let done = sqlx::query("UPDATE ledger_checkpoint SET size = $1, root = $2, note = $3 WHERE id = 1 AND size = $4 AND root = $5")
            .bind(to_i64(size)?).bind(&root[..]).bind(&text).bind(to_i64(csize)?).bind(&croot[..])
            .execute(&mut *tx).await?.rows_affected();
        if done != 1 {
            return Err(LedgerError::CheckpointRace);
        }
        sqlx::query("INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
            .bind(to_i64(size)?).bind(&root[..]).bind(&text)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        if let Ok(mut s) = self.signed.lock() {
            *s = Some((size, root));
        }
        Ok(text)
    }

    /// The latest signed checkpoint note (log signature only).
    pub async fn signed_checkpoint(&self) -> Result<(Checkpoint, String)> {
        let (_, _, note) = self.checkpoint_row().await?;
        if note.is_empty() {
            return Err(LedgerError::NotSigned);
        }
        let parsed = Note::parse(note.as_bytes())?;
        Ok((Checkpoint::from_text(&parsed.text)?, note))
    }

    /// Stores the cosignature lines a witness returned for the current checkpoint, after
    /// verifying them with `witness`. Returns how many were stored.
    pub async fn add_cosignatures(&self, witness: &Verifier, lines: &str) -> Result<usize> {
        let (cp, note) = self.signed_checkpoint().await?;
        let mut parsed = Note::parse(note.as_bytes())?;
        let extra = Note::parse(format!("x\n\n{lines}").as_bytes())?;
        let mine: Vec<NoteSignature> = extra
            .signatures
            .into_iter()
            .filter(|s| s.name == witness.name() && s.key_id == witness.key_id())
            .collect();
        if mine.is_empty() {
            return Err(LedgerError::BadCosignature);
        }
        parsed.signatures = mine.clone();
        parsed
            .verify(std::slice::from_ref(witness))
            .map_err(|_| LedgerError::BadCosignature)?;
        for s in &mine {
            on_db!(&self.db, p => sqlx::query("INSERT INTO ledger_cosignatures (size, root, name, key_id, line) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size, name, key_id) DO NOTHING")
                .bind(to_i64(cp.size)?).bind(&cp.root[..]).bind(&s.name).bind(i64::from(s.key_id)).bind(s.to_line()).execute(p).await?.rows_affected());
        }
        self.cosignatures_stored
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(mine.len())
    }

    /// How many times this process stored cosignatures ([`Log::add_cosignatures`]): a caller
    /// keeping a checkpoint note in memory knows it may lack cosignatures once this moved.
    pub fn cosignatures_stored(&self) -> u64 {
        self.cosignatures_stored
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The latest signed checkpoint with every cosignature collected for it.
    pub async fn cosigned_checkpoint(&self) -> Result<String> {
        let (cp, mut note) = self.signed_checkpoint().await?;
        let rows = on_db!(&self.db, p => sqlx::query("SELECT line FROM ledger_cosignatures WHERE size = $1 AND root = $2 ORDER BY name, key_id")
            .bind(to_i64(cp.size)?).bind(&cp.root[..]).fetch_all(p).await?
            .into_iter().map(|r| r.try_get(0)).collect::<Result<Vec<String>, sqlx::Error>>()?);
        for r in rows {
            note.push_str(&r);
        }
        Ok(note)
    }

    /// The newest checkpoint carrying at least `min` cosignatures from distinct witnesses, with
    /// them all (the log verified each when it stored it): `(size, note)`. Only checkpoints
    /// signed since the history was kept are found; `None` if none qualifies yet.
    pub async fn witnessed_checkpoint(&self, min: usize) -> Result<Option<(u64, String)>> {
        // The newest sizes first; witnesses cosign recent checkpoints, so a short scan suffices.
        let rows: Vec<(i64, Vec<u8>, String)> = on_db!(&self.db, p => sqlx::query("SELECT c.size, c.root, c.line FROM ledger_cosignatures c WHERE c.size IN (SELECT DISTINCT size FROM ledger_cosignatures ORDER BY size DESC LIMIT 256) ORDER BY c.size DESC, c.name, c.key_id")
            .fetch_all(p).await?
            .into_iter().map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<std::result::Result<Vec<_>, _>>()?);
        let mut i = 0;
        while i < rows.len() {
            let (size, root) = (rows[i].0, rows[i].1.clone());
            let group: Vec<&String> = rows[i..]
                .iter()
                .take_while(|r| r.0 == size && r.1 == root)
                .map(|r| &r.2)
                .collect();
            i += group.len();
            if group.len() < min.max(1) {
                continue;
            }
            let note: Option<String> = on_db!(&self.db, p => sqlx::query("SELECT note FROM ledger_checkpoints WHERE size = $1 AND root = $2")
                .bind(size).bind(&root[..]).fetch_optional(p).await?
                .map(|r| r.try_get(0)).transpose()?);
            if let Some(mut note) = note {
                for line in group {
                    note.push_str(line);
                }
                return Ok(Some((to_u64(size)?, note)));
            }
        }
        Ok(None)
    }

    /// The body of a C2SP `tlog-witness` `add-checkpoint` request from `old_size` (the size the
    /// witness last cosigned) to the latest signed checkpoint.
    pub async fn witness_request(&self, old_size: u64) -> Result<String> {
        let (cp, note) = self.signed_checkpoint().await?;
        let proof = self.consistency_proof(old_size, cp.size).await?;
        let mut body = format!("old {old_size}\n");
        for h in proof {
            body.push_str(&base64_hash(&h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&note);
        Ok(body)
    }

    /// A verified copy of the latest signed checkpoint (convenience for callers and tests).
    pub async fn verified_checkpoint(&self, log_key: &Verifier) -> Result<SignedCheckpoint> {
        let note = self.cosigned_checkpoint().await?;
        Ok(SignedCheckpoint::verify(
            note.as_bytes(),
            &self.origin,
            std::slice::from_ref(log_key),
        )?)
    }
}

/// Subtree hash rows to store: (tile level, index, hash).
type HashRows = Vec<(i64, i64, Hash)>;

/// The tree after appending `entries` to `state`, and the subtree hash rows to store.
fn extend(state: &CompactRange, entries: &[Vec<u8>]) -> Result<(CompactRange, HashRows)> {
    let mut next = state.clone();
    let mut rows: HashRows = Vec::with_capacity(entries.len() + entries.len() / 255 + 8);
    for e in entries {
        next.push(leaf_hash(e), |id, h| {
            if id.level % 8 == 0 {
                // Indexes are < 2^63 here: the size check of the caller rejects anything larger.
                rows.push((i64::from(id.level / 8), id.index as i64, *h));
            }
        });
    }
    to_i64(next.size())?;
    Ok((next, rows))
}

/// The tree edge (compact range) at `size`, read from storage inside `tx`, checked against
/// the stored head's `root`. One query per tile level.
async fn pg_edge(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    size: u64,
    root: Hash,
) -> Result<CompactRange> {
    let ids = CompactRange::node_ids(size);
    let mut hashes = Vec::with_capacity(ids.len());
    let mut k = 0;
    while k < ids.len() {
        let l = ids[k].level / 8;
        let group: Vec<NodeId> = ids[k..]
            .iter()
            .take_while(|id| id.level / 8 == l)
            .copied()
            .collect();
        k += group.len();
        let span = |id: &NodeId| (id.index << (id.level % 8), (id.index + 1) << (id.level % 8));
        let (start, end) = match (group.first(), group.last()) {
            (Some(f), Some(z)) => (span(f).0, span(z).1),
            _ => continue,
        };
        let rows = sqlx::query("SELECT hash FROM ledger_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
            .bind(i64::from(l)).bind(to_i64(start)?).bind(to_i64(end)?)
            .fetch_all(&mut **tx).await?;
        if rows.len() as u64 != end - start {
            return Err(LedgerError::Integrity(format!(
                "level {l} hashes {start}..{end}: {} stored, {} expected",
                rows.len(),
                end - start
            )));
        }
        let level: Vec<Hash> = rows
            .iter()
            .map(|r| to_hash(r.try_get::<&[u8], _>(0)?))
            .collect::<Result<_>>()?;
        for id in &group {
            let (a, b) = span(id);
            let mut layer = level[(a - start) as usize..(b - start) as usize].to_vec();
            while layer.len() > 1 {
                layer = layer
                    .chunks_exact(2)
                    .map(|p| merkle::node_hash(&p[0], &p[1]))
                    .collect();
            }
            hashes.push(layer[0]);
        }
    }
    let edge = CompactRange::from_parts(size, hashes)
        .ok_or_else(|| LedgerError::Integrity("cannot rebuild the tree edge".into()))?;
    if edge.root() != root {
        return Err(LedgerError::Integrity(format!(
            "stored subtree hashes do not match the tree head at size {size}"
        )));
    }
    Ok(edge)
}

fn missing(id: NodeId) -> LedgerError {
    LedgerError::Integrity(format!(
        "subtree hash level {} index {} is not stored",
        id.level, id.index
    ))
}

fn fold(ids: &[NodeId], nodes: &HashMap<NodeId, Hash>) -> Result<Hash> {
    let hashes = ids
        .iter()
        .map(|id| nodes.get(id).copied().ok_or_else(|| missing(*id)))
        .collect::<Result<Vec<_>>>()?;
    Ok(merkle::fold_range(&hashes).unwrap_or_else(empty_root))
}

/// Number of complete level-`l` tile hashes in a tree of `size` leaves.
fn level_count(size: u64, l: u8) -> u64 {
    let shift = 8 * u32::from(l);
    if shift >= 64 { 0 } else { size >> shift }
}

/// The stored tree head of `db`.
async fn stored_head_in(db: &Database) -> Result<(u64, Hash)> {
    let (size, root): (i64, Vec<u8>) = on_db!(db, p => {
        let r = sqlx::query("SELECT size, root FROM ledger_meta WHERE id = 1").fetch_one(p).await?;
        (r.try_get(0)?, r.try_get(1)?)
    });
    Ok((to_u64(size)?, to_hash(&root)?))
}

/// Reads stored hashes `[start, end)` of a level from `db`, failing if any is missing.
async fn read_hashes_in(db: &Database, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
    if start >= end {
        return Ok(Vec::new());
    }
    // (level, idx) is the primary key, so `end - start` rows in the range means no gap.
    let out: Vec<Hash> = on_db!(db, p => {
        let rows = sqlx::query("SELECT hash FROM ledger_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
            .bind(i64::from(level)).bind(to_i64(start)?).bind(to_i64(end)?).fetch_all(p).await?;
        let mut v = Vec::with_capacity(rows.len());
        for r in &rows {
            v.push(to_hash(r.try_get::<&[u8], _>(0)?)?);
        }
        v
    });
    if out.len() as u64 != end - start {
        return Err(LedgerError::Integrity(format!(
            "level {level} hashes {start}..{end}: {} stored, {} expected",
            out.len(),
            end - start
        )));
    }
    Ok(out)
}

/// Entries `[start, end)` from `db`, failing if any is missing.
async fn entries_in(db: &Database, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
    let rows = on_db!(db, p => sqlx::query("SELECT idx, data FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(to_i64(start)?).bind(to_i64(end)?).fetch_all(p).await?
            .into_iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<(i64, Vec<u8>)>, sqlx::Error>>()?);
    if rows.len() as u64 != end - start {
        return Err(LedgerError::Integrity(format!(
            "entries {start}..{end}: {} stored",
            rows.len()
        )));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (k, (idx, data)) in rows.into_iter().enumerate() {
        if to_u64(idx)? != start + k as u64 {
            return Err(LedgerError::Integrity("entry index gap".into()));
        }
        out.push(data);
    }
    Ok(out)
}

/// The entries at the sorted, distinct `indices` from `db`, by index; failing if any is missing.
async fn entries_at_in(db: &Database, indices: &[u64]) -> Result<HashMap<u64, Vec<u8>>> {
    let mut out = HashMap::with_capacity(indices.len());
    for chunk in indices.chunks(CHUNK_ROWS) {
        let idx = chunk
            .iter()
            .map(|&i| to_i64(i))
            .collect::<Result<Vec<i64>>>()?;
        let rows: Vec<(i64, Vec<u8>)> = match db {
            Database::Sqlite(p) => {
                let mut q = QueryBuilder::<sqlx::Sqlite>::new(
                    "SELECT idx, data FROM ledger_entries WHERE idx IN (",
                );
                let mut sep = q.separated(", ");
                for i in &idx {
                    sep.push_bind(*i);
                }
                q.push(")");
                q.build_query_as().fetch_all(p).await?
            }
            Database::Postgres(p) => {
                sqlx::query_as("SELECT idx, data FROM ledger_entries WHERE idx = ANY($1)")
                    .bind(&idx)
                    .fetch_all(p)
                    .await?
            }
        };
        for (i, data) in rows {
            out.insert(to_u64(i)?, data);
        }
    }
    if out.len() != indices.len() {
        return Err(LedgerError::Integrity(format!(
            "entries: {} of {} asked are stored",
            out.len(),
            indices.len()
        )));
    }
    Ok(out)
}

/// The hash index range of tile `(level, index)` of `width` hashes in a tree of `size`.
pub fn tile_range(level: u8, index: u64, width: u64, size: u64) -> Result<(u64, u64)> {
    let count = level_count(size, level);
    let out = || LedgerError::IndexOutOfRange { index, size };
    if width == 0 || width > TILE_WIDTH {
        return Err(out());
    }
    let start = index.checked_mul(TILE_WIDTH).ok_or_else(out)?;
    let end = start.checked_add(width).ok_or_else(out)?;
    if end > count {
        return Err(out());
    }
    Ok((start, end))
}

pub(crate) fn base64_hash(h: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// What is known of one tile: a prefix of its stored hashes (all [`TILE_WIDTH`] once the tile
/// is full) and the hashes of every complete subtree above them inside the tile, so that a
/// proof's nodes below the next stored level are looked up instead of hashed again. The log is
/// append-only, so a tile's known prefix is only ever extended.
#[derive(Debug, Clone, Default)]
struct TileHashes {
    /// `levels[r]`: the tile's complete subtrees of 2^r stored hashes, left to right.
    levels: [Vec<Hash>; 8],
}

impl TileHashes {
    /// How many of the tile's stored hashes are known.
    fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Appends the tile's next stored hashes, hashing up each subtree they complete.
    fn extend(&mut self, hashes: &[Hash]) {
        for h in hashes {
            self.levels[0].push(*h);
            for r in 0..7 {
                let node = match self.levels[r].as_slice() {
                    [.., left, right] if self.levels[r].len().is_multiple_of(2) => {
                        merkle::node_hash(left, right)
                    }
                    _ => break,
                };
                self.levels[r + 1].push(node);
            }
        }
    }

    /// The `i`-th complete subtree of 2^`r` stored hashes in the tile, if known.
    fn node(&self, r: u8, i: u64) -> Option<Hash> {
        self.levels
            .get(usize::from(r))?
            .get(usize::try_from(i).ok()?)
            .copied()
    }
}

/// A bounded FIFO cache of tiles' known hashes ([`TileHashes`], at most
/// [`TileCache::CAPACITY`] tiles of at most 16 KiB, so about 8 MiB), so memory stays flat
/// whatever the log size. A tile at the tree's right edge is one entry that grows: the append
/// task adds the hashes it commits ([`TileCache::stored`]) and a read adds the ones it had to
/// read, so a proof reads from storage only what this process has not seen yet.
#[derive(Debug, Default)]
struct TileCache {
    map: HashMap<(u8, u64), std::sync::Arc<TileHashes>>,
    order: std::collections::VecDeque<(u8, u64)>,
}

impl TileCache {
    const CAPACITY: usize = 512;

    fn get(&self, key: &(u8, u64)) -> Option<std::sync::Arc<TileHashes>> {
        self.map.get(key).cloned()
    }

    /// Keeps `tile` for `key`, unless the cache already knows more of it.
    fn put(&mut self, key: (u8, u64), tile: std::sync::Arc<TileHashes>) {
        match self.map.get_mut(&key) {
            Some(held) => {
                if held.len() < tile.len() {
                    *held = tile;
                }
            }
            None => {
                self.map.insert(key, tile);
                self.order.push_back(key);
                while self.order.len() > Self::CAPACITY {
                    if let Some(old) = self.order.pop_front() {
                        self.map.remove(&old);
                    }
                }
            }
        }
    }

    /// The subtree hashes an append has just committed (`(tile level, index, hash)`, in the
    /// order [`extend`] makes them): each extends the tile it continues, or starts the tile it
    /// is the first hash of. A hash after a gap (another process appended in between, or the
    /// tile was evicted) is left to a later read.
    fn stored(&mut self, rows: &HashRows) {
        for &(level, index, hash) in rows {
            let (Ok(l), Ok(i)) = (u8::try_from(level), u64::try_from(index)) else {
                continue;
            };
            let key = (l, i / TILE_WIDTH);
            let offset = i % TILE_WIDTH;
            match self.map.get_mut(&key) {
                Some(tile) if tile.len() == offset => {
                    std::sync::Arc::make_mut(tile).extend(&[hash]);
                }
                Some(_) => {}
                None if offset == 0 => {
                    let mut tile = TileHashes::default();
                    tile.extend(&[hash]);
                    self.put(key, std::sync::Arc::new(tile));
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// The hash of a complete subtree over `hashes` (a power of two of them), the long way.
    fn up(hashes: &[Hash]) -> Hash {
        match hashes {
            [one] => *one,
            _ => {
                let (l, r) = hashes.split_at(hashes.len() / 2);
                merkle::node_hash(&up(l), &up(r))
            }
        }
    }

    /// Extended a few hashes at a time, a tile knows every complete subtree of its prefix (and
    /// none beyond it), as hashing it up from scratch gives.
    #[test]
    fn tile_hashes_know_every_complete_subtree_of_their_prefix() {
        let all = leaves(256);
        let mut tile = TileHashes::default();
        let mut known = 0usize;
        for step in [1usize, 2, 3, 5, 8, 13, 21, 34, 55, 114] {
            tile.extend(&all[known..known + step]);
            known += step;
            assert_eq!(tile.len(), known as u64);
            for r in 0..8u8 {
                let span = 1usize << r;
                for i in 0..=(known / span) {
                    let want = (i < known / span).then(|| up(&all[i * span..(i + 1) * span]));
                    assert_eq!(tile.node(r, i as u64), want, "r {r} i {i} after {known}");
                }
            }
        }
        assert_eq!(known, 256);
    }

    /// The hashes an append commits extend the tiles they continue and start the tiles they
    /// begin; after a gap (another process's append) a tile is left as it was.
    #[test]
    fn the_cache_follows_what_appends_commit() {
        let entries: Vec<Vec<u8>> = (0..70_000u64).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut state = CompactRange::new();
        let mut cache = TileCache::default();
        let mut all: HashRows = Vec::new();
        for batch in entries.chunks(997) {
            let (next, rows) = extend(&state, batch).unwrap();
            cache.stored(&rows);
            all.extend(rows);
            state = next;
        }
        // Every tile the cache holds is exactly the stored hashes of its level, with the
        // subtrees above them.
        for (&(l, t), tile) in &cache.map {
            let stored: Vec<Hash> = all
                .iter()
                .filter(|(level, index, _)| {
                    *level == i64::from(l) && (*index as u64) / TILE_WIDTH == t
                })
                .map(|(_, _, h)| *h)
                .collect();
            assert_eq!(tile.levels[0], stored, "tile ({l}, {t})");
        }
        // The right edge of level 0 (70,000 = 273 × 256 + 112), of level 1 (273 hashes: one
        // full tile and 17) and of level 2 (one hash), and a full tile of level 1.
        assert_eq!(cache.get(&(0, 273)).map(|t| t.len()), Some(112));
        assert_eq!(cache.get(&(1, 1)).map(|t| t.len()), Some(17));
        assert_eq!(cache.get(&(1, 0)).map(|t| t.len()), Some(256));
        assert_eq!(cache.get(&(2, 0)).map(|t| t.len()), Some(1));
        assert_eq!(cache.map.len(), 274 + 2 + 1);
        // A gap: rows that do not continue a held tile change nothing, and a later start does.
        let before = cache.get(&(0, 273)).unwrap();
        cache.stored(&vec![(0, 273 * 256 + 113, [9u8; 32])]);
        assert_eq!(cache.get(&(0, 273)).unwrap().levels, before.levels);
        cache.stored(&vec![(0, 500 * 256 + 1, [9u8; 32])]);
        assert!(cache.get(&(0, 500)).is_none());
        cache.stored(&vec![(0, 500 * 256, [9u8; 32])]);
        assert_eq!(cache.get(&(0, 500)).map(|t| t.len()), Some(1));
        // A shorter prefix never replaces a longer one.
        cache.put((0, 500), std::sync::Arc::new(TileHashes::default()));
        assert_eq!(cache.get(&(0, 500)).map(|t| t.len()), Some(1));
    }
}
