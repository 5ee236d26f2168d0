//! Staff bearer tokens (`peer_staff_tokens`) and staff writes' idempotency keys
//! (`peer_write_keys`).

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;
use crate::write_keys::WriteKey;

/// An active staff token: its id and roles (a comma-separated list).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ActiveToken {
    pub token_id: String,
    pub roles: String,
}

/// The token with this hash if it is neither revoked nor expired at `now`.
pub(crate) async fn active_token(
    db: &Database,
    hash: &[u8],
    now: i64,
) -> Result<Option<ActiveToken>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, ActiveToken>("SELECT token_id, roles FROM peer_staff_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2")
        .bind(hash).bind(now).fetch_optional(p).await?),
    )
}

/// The stored answer of an `Idempotency-Key`'s first use, and the hash of its request.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredWrite {
    pub request_hash: Vec<u8>,
    /// The answer's JSON.
    pub answer: String,
}

pub(crate) async fn stored_write(
    db: &Database,
    scope: &str,
    key: &str,
) -> Result<Option<StoredWrite>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, StoredWrite>("SELECT request_hash, answer FROM peer_write_keys WHERE scope = $1 AND key = $2")
        .bind(scope).bind(key).fetch_optional(p).await?),
    )
}

/// Stores a staff write's key (if it has one) with its `answer`, in the write's own transaction.
pub(crate) async fn insert_write_key(
    tx: &mut Tx<'_>,
    key: Option<&WriteKey>,
    answer: &serde_json::Value,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    if let Some(k) = key {
        on_tx!(tx, c => sqlx::query("INSERT INTO peer_write_keys (scope, key, request_hash, answer, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&k.scope).bind(&k.key).bind(&k.request_hash[..]).bind(answer.to_string()).bind(now)
            .execute(c).await?.rows_affected());
    }
    Ok(())
}
