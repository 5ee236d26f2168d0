//! Revoked records (`peer_record_revocations`): the card revocation list's source.

use spondon_ledger::{Database, Tx};

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

/// A record's revocation as it is logged.
#[derive(Debug)]
pub(crate) struct NewRevocation<'a> {
    pub record_id: &'a str,
    /// The reason's code (`wrong_patient`, `entered_in_error`, `duplicate`, `other`).
    pub reason: &'a str,
    /// The JSON its log entry commits to.
    pub payload: &'a str,
    pub salt: &'a [u8; 32],
    pub log_index: i64,
    pub revoked_at: i64,
}

/// Stores a revocation in the transaction that appends its log entry.
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    r: &NewRevocation<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_record_revocations (record_id, reason, payload, salt, log_index, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(r.record_id).bind(r.reason).bind(r.payload).bind(&r.salt[..])
        .bind(r.log_index).bind(r.revoked_at).execute(c).await?.rows_affected());
    Ok(())
}
