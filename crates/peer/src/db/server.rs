//! Connection-level statements: the readiness probe, PostgreSQL's session advisory lock of the
//! writer (`Peer::write_lock`), and whether a server is a standby (failover).

use spondon_ledger::Database;
use sqlx::postgres::PgConnection;

use super::on_db;

/// Whether the database answers (`SELECT 1`); the database error as is.
pub(crate) async fn ping(db: &Database) -> std::result::Result<(), sqlx::Error> {
    on_db!(db, p => sqlx::query("SELECT 1").execute(p).await.map(drop))
}

/// Takes the session advisory lock `key` on this connection, waiting for it.
pub(crate) async fn advisory_lock(
    c: &mut PgConnection,
    key: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(c)
        .await
        .map(drop)
}

/// Releases the session advisory lock `key` of this connection.
pub(crate) async fn advisory_unlock(
    c: &mut PgConnection,
    key: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(c)
        .await
        .map(drop)
}

/// Whether the server of this connection is a standby (in recovery: read-only).
pub(crate) async fn in_recovery(c: &mut PgConnection) -> std::result::Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(c)
        .await
}
