//! Revoked records (`peer_record_revocations`): the card revocation list's source.

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// Whether a record exists and is revoked, and how many records are revoked in all (the CRL's
/// version follows from it), read in one statement.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RevocationState {
    /// 1 if the record exists, else 0.
    pub record_exists: i64,
    /// 1 if it is already revoked, else 0.
    pub record_revoked: i64,
    /// Every revoked record.
    pub all_revoked: i64,
}

pub(crate) async fn state(db: &Database, record_id: &str) -> Result<RevocationState> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, RevocationState>("SELECT (SELECT COUNT(*) FROM peer_records WHERE id = $1) AS record_exists, (SELECT COUNT(*) FROM peer_record_revocations WHERE record_id = $1) AS record_revoked, (SELECT COUNT(*) FROM peer_record_revocations) AS all_revoked")
        .bind(record_id).fetch_one(p).await?),
    )
}

/// The `rid`s of revoked records, in revocation order.
pub(crate) async fn rids(db: &Database) -> Result<Vec<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT record_id FROM peer_record_revocations ORDER BY seq")
        .fetch_all(p).await?),
    )
}

/// How many records are revoked.
pub(crate) async fn count(db: &Database) -> Result<i64> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_record_revocations")
        .fetch_one(p).await?),
    )
}
