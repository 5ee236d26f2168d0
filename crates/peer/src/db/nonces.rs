//! Single-use nonces of signed requests (`peer_nonces`).

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// Drops the nonces that expired before `before`.
pub(crate) async fn purge(db: &Database, before: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("DELETE FROM peer_nonces WHERE expires_at < $1")
        .bind(before).execute(p).await?.rows_affected());
    Ok(())
}

/// How many nonces are unused and unexpired at `now`.
pub(crate) async fn outstanding(db: &Database, now: i64) -> Result<i64> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_nonces WHERE used_at IS NULL AND expires_at >= $1")
        .bind(now).fetch_one(p).await?),
    )
}

pub(crate) async fn insert(db: &Database, nonce: &[u8], expires_at: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(nonce).bind(expires_at).execute(p).await?.rows_affected());
    Ok(())
}

/// Uses the nonce if it is unused and unexpired at `now`, in one conditional update; false
/// otherwise.
pub(crate) async fn consume(db: &Database, nonce: &[u8], now: i64) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query("UPDATE peer_nonces SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL AND expires_at >= $1")
        .bind(now).bind(nonce).execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// A stored nonce's use time: `None` for an unknown nonce, `Some(None)` for an unused one.
pub(crate) async fn used_at(db: &Database, nonce: &[u8]) -> Result<Option<Option<i64>>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT used_at FROM peer_nonces WHERE nonce = $1")
        .bind(nonce).fetch_optional(p).await?),
    )
}

/// [`consume`] in an open transaction (the access event's group commit): the use commits with
/// the event, and a concurrent use of the same nonce waits for it and then finds it used.
pub(crate) async fn consume_in(
    tx: &mut Tx<'_>,
    nonce: &[u8],
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE peer_nonces SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL AND expires_at >= $1")
        .bind(now).bind(nonce).execute(&mut *c).await?.rows_affected());
    Ok(n == 1)
}
