//! Key rotations (`peer_key_rotations`) and the enrollments (`peer_enrollments`) they retire
//! and bind.

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// A done rotation of a patient's key.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Rotation {
    pub health_id: String,
    pub rotated_at: i64,
    pub log_index: i64,
}

/// The rotation `old_kid → new_kid`, if it was done.
pub(crate) async fn rotation(
    db: &Database,
    old_kid: &str,
    new_kid: &str,
) -> Result<Option<Rotation>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Rotation>("SELECT health_id, rotated_at, log_index FROM peer_key_rotations WHERE old_kid = $1 AND new_kid = $2")
        .bind(old_kid).bind(new_kid).fetch_optional(p).await?),
    )
}

/// The enrollment credential of `kid` for `health_id`, if that key is still the bound one.
pub(crate) async fn active_credential(
    db: &Database,
    kid: &str,
    health_id: &str,
) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT credential FROM peer_enrollments WHERE kid = $1 AND health_id = $2 AND revoked_at IS NULL")
        .bind(kid).bind(health_id).fetch_optional(p).await?),
    )
}

/// The patient whose bound key is `kid`, if it is bound.
pub(crate) async fn active_holder(db: &Database, kid: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT health_id FROM peer_enrollments WHERE kid = $1 AND revoked_at IS NULL")
        .bind(kid).fetch_optional(p).await?),
    )
}

/// The patient whose key `kid` a rotation retired, if one did.
pub(crate) async fn rotated_holder(db: &Database, kid: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT health_id FROM peer_key_rotations WHERE old_kid = $1")
        .bind(kid).fetch_optional(p).await?),
    )
}

/// The patient's bound key (its public JWK, as JSON), if one is bound.
pub(crate) async fn bound_key(db: &Database, health_id: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT key_jwk FROM peer_enrollments WHERE health_id = $1 AND revoked_at IS NULL")
        .bind(health_id).fetch_optional(p).await?),
    )
}

/// Retires the patient's bound key (and with it every grant it signed).
pub(crate) async fn retire(
    tx: &mut Tx<'_>,
    health_id: &str,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE peer_enrollments SET revoked_at = $1 WHERE health_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(health_id).execute(c).await?.rows_affected());
    Ok(())
}

/// A rotation as its log entry at `log_index` commits to it.
#[derive(Debug)]
pub(crate) struct NewRotation<'a> {
    pub old_kid: &'a str,
    pub new_kid: &'a str,
    pub health_id: &'a str,
    /// `statement` or `identity_check`.
    pub via: &'a str,
    /// The statement's id and text, when one was signed.
    pub statement_id: Option<&'a [u8]>,
    pub statement: Option<&'a str>,
    pub rotated_at: i64,
    pub log_index: i64,
}

pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    r: &NewRotation<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_key_rotations (old_kid, new_kid, health_id, via, statement_id, statement, rotated_at, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(r.old_kid).bind(r.new_kid).bind(r.health_id).bind(r.via)
        .bind(r.statement_id).bind(r.statement).bind(r.rotated_at).bind(r.log_index)
        .execute(c).await?.rows_affected());
    Ok(())
}
