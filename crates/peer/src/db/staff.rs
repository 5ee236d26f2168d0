//! Staff bearer tokens (`peer_staff_tokens`), the staff audit trail (`peer_staff_audit`) and
//! staff writes' idempotency keys (`peer_write_keys`).

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

/// A staff token as it is created.
#[derive(Debug)]
pub(crate) struct NewToken<'a> {
    /// SHA-256 of the token (the token itself is never stored).
    pub token_hash: &'a [u8],
    pub label: &'a str,
    pub created_at: i64,
    pub token_id: &'a str,
    /// A comma-separated list.
    pub roles: &'a str,
    pub expires_at: i64,
}

pub(crate) async fn insert_token(db: &Database, t: &NewToken<'_>) -> Result<()> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_staff_tokens (token_hash, label, created_at, token_id, roles, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(t.token_hash).bind(t.label).bind(t.created_at).bind(t.token_id).bind(t.roles).bind(t.expires_at)
        .execute(p).await?.rows_affected());
    Ok(())
}

/// Revokes the active token `token_id` at `now`; false if there is none.
pub(crate) async fn revoke_token(db: &Database, token_id: &str, now: i64) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query("UPDATE peer_staff_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(token_id).execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// One entry of the staff audit trail.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    /// The staff token's id, or `cli` for the operator's command line.
    pub token_id: String,
    /// What was done (`POST /staff/records`, `create staff token`, …).
    pub action: String,
    /// What it was done to, if anything is named.
    pub target: Option<String>,
    /// The answer's HTTP status.
    pub status: i64,
    /// When (seconds).
    pub at: i64,
}

/// The head of a multi-row insert of audit entries (`push_values` adds the rows: `token_id`,
/// `action`, `target`, `status`, `at`).
pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO peer_staff_audit (token_id, action, target, status, at) ";

/// Audit entries per statement of [`insert_audits`] (5 binds each).
const AUDIT_CHUNK: usize = 200;

/// Stores audit entries in their order, all or none: one multi-row insert (its own commit)
/// for up to [`AUDIT_CHUNK`] entries, a transaction around several such inserts beyond.
pub(crate) async fn insert_audits(db: &Database, entries: &[AuditEntry]) -> Result<()> {
    let chunks = entries.len().div_ceil(AUDIT_CHUNK);
    on_db!(db, p => {
        let mut tx = if chunks > 1 { Some(p.begin().await?) } else { None };
        for chunk in entries.chunks(AUDIT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::new(INSERT_AUDIT);
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(&e.token_id).push_bind(&e.action).push_bind(&e.target)
                    .push_bind(e.status).push_bind(e.at);
            });
            match tx.as_mut() {
                Some(t) => qb.build().execute(&mut **t).await?,
                None => qb.build().execute(p).await?,
            };
        }
        if let Some(t) = tx {
            t.commit().await?;
        }
    });
    Ok(())
}

/// The audit trail, oldest first.
pub(crate) async fn audit(db: &Database) -> Result<Vec<AuditEntry>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, AuditEntry>("SELECT token_id, action, target, status, at FROM peer_staff_audit ORDER BY seq")
        .fetch_all(p).await?),
    )
}
