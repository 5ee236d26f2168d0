//! Hospital systems (`peer_systems`), their access tokens (`peer_system_tokens`) and the
//! `jti`s of their assertions (`peer_system_jtis`).

use spondon_ledger::{Database, Tx};

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

/// A system as it is registered.
#[derive(Debug)]
pub(crate) struct NewSystem<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    /// Its public JWKS, as JSON.
    pub jwks: &'a str,
    /// Its allowed scopes, space-separated.
    pub scopes: &'a str,
    pub created_at: i64,
}

pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    s: &NewSystem<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_systems (client_id, name, jwks, scopes, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(s.client_id).bind(s.name).bind(s.jwks).bind(s.scopes).bind(s.created_at)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// Disables an active system at `now` and drops its tokens; false if there is no active
/// system with this id.
pub(crate) async fn disable(
    tx: &mut Tx<'_>,
    client_id: &str,
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    on_tx!(tx, c => {
        let n = sqlx::query("UPDATE peer_systems SET disabled_at = $1 WHERE client_id = $2 AND disabled_at IS NULL")
            .bind(now).bind(client_id).execute(&mut *c).await?.rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM peer_system_tokens WHERE client_id = $1")
            .bind(client_id).execute(&mut *c).await?;
    });
    Ok(true)
}

/// Records an assertion's `jti` for its client until `expires_at`, after dropping the expired
/// ones (at `now`); false if it is recorded already (a replay).
pub(crate) async fn remember_jti(
    db: &Database,
    client_id: &str,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool> {
    let n = on_db!(db, p => {
        sqlx::query("DELETE FROM peer_system_jtis WHERE expires_at <= $1").bind(now).execute(p).await?;
        sqlx::query("INSERT INTO peer_system_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(client_id).bind(jti).bind(expires_at).execute(p).await?.rows_affected()
    });
    Ok(n == 1)
}

/// An access token as it is issued.
#[derive(Debug)]
pub(crate) struct NewToken<'a> {
    /// SHA-256 of the token (the token itself is never stored).
    pub token_hash: &'a [u8],
    pub client_id: &'a str,
    /// The granted scopes, space-separated.
    pub scopes: &'a str,
    pub expires_at: i64,
}

/// Stores an access token, after dropping the expired ones (at `now`).
pub(crate) async fn insert_token(db: &Database, t: &NewToken<'_>, now: i64) -> Result<()> {
    on_db!(db, p => {
        sqlx::query("DELETE FROM peer_system_tokens WHERE expires_at <= $1").bind(now).execute(p).await?;
        sqlx::query("INSERT INTO peer_system_tokens (token_hash, client_id, scopes, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(t.token_hash).bind(t.client_id).bind(t.scopes).bind(t.expires_at)
            .execute(p).await?.rows_affected()
    });
    Ok(())
}
