//! Hospital systems (`peer_systems`) and their access tokens (`peer_system_tokens`).

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// A registered hospital system.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SystemRow {
    pub client_id: String,
    pub name: String,
    /// Its public JWKS, as registered.
    pub jwks: String,
    /// Its allowed scopes, space-separated.
    pub scopes: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

pub(crate) async fn by_id(db: &Database, client_id: &str) -> Result<Option<SystemRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, SystemRow>("SELECT client_id, name, jwks, scopes, created_at, disabled_at FROM peer_systems WHERE client_id = $1")
        .bind(client_id).fetch_optional(p).await?),
    )
}

/// Every registered system, oldest first.
pub(crate) async fn all(db: &Database) -> Result<Vec<SystemRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, SystemRow>("SELECT client_id, name, jwks, scopes, created_at, disabled_at FROM peer_systems ORDER BY created_at, client_id")
        .fetch_all(p).await?),
    )
}

/// What an unexpired token of an enabled system grants.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenGrant {
    pub client_id: String,
    /// Space-separated.
    pub scopes: String,
}

/// The grant of the token with this hash, if it is unexpired at `now` and its system enabled.
pub(crate) async fn token(db: &Database, hash: &[u8], now: i64) -> Result<Option<TokenGrant>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, TokenGrant>("SELECT t.client_id, t.scopes FROM peer_system_tokens t JOIN peer_systems s ON s.client_id = t.client_id WHERE t.token_hash = $1 AND t.expires_at > $2 AND s.disabled_at IS NULL")
        .bind(hash).bind(now).fetch_optional(p).await?),
    )
}
