//! Delegations the patients registered (`peer_delegations`).

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// A registered delegation: the patient and the signed token.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredDelegation {
    pub health_id: String,
    pub token: String,
}

/// The delegation `id` of `patient_kid`, if registered.
pub(crate) async fn by_id(
    db: &Database,
    patient_kid: &str,
    id: &[u8; 16],
) -> Result<Option<StoredDelegation>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, StoredDelegation>("SELECT health_id, token FROM peer_delegations WHERE patient_kid = $1 AND id = $2")
        .bind(patient_kid).bind(&id[..]).fetch_optional(p).await?),
    )
}

/// The delegations of `patient_kid`, newest first, at most 64.
pub(crate) async fn of_patient(db: &Database, patient_kid: &str) -> Result<Vec<StoredDelegation>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, StoredDelegation>("SELECT health_id, token FROM peer_delegations WHERE patient_kid = $1 ORDER BY registered_at DESC LIMIT 64")
        .bind(patient_kid).fetch_all(p).await?),
    )
}

/// The token of the delegation `id` of `patient_kid`, if one is registered.
pub(crate) async fn token(
    db: &Database,
    patient_kid: &str,
    id: &[u8; 16],
) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT token FROM peer_delegations WHERE patient_kid = $1 AND id = $2")
        .bind(patient_kid).bind(&id[..]).fetch_optional(p).await?),
    )
}

/// A delegation as its patient registers it.
#[derive(Debug)]
pub(crate) struct NewDelegation<'a> {
    pub patient_kid: &'a str,
    pub id: &'a [u8; 16],
    pub health_id: &'a str,
    pub delegate_kid: &'a str,
    /// Space-separated.
    pub scopes: &'a str,
    /// Space-separated.
    pub guardians: &'a str,
    pub token: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    pub registered_at: i64,
}

pub(crate) async fn insert(db: &Database, d: &NewDelegation<'_>) -> Result<()> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_delegations (patient_kid, id, health_id, delegate_kid, scopes, guardians, token, issued_at, expires_at, registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(d.patient_kid).bind(&d.id[..]).bind(d.health_id).bind(d.delegate_kid)
        .bind(d.scopes).bind(d.guardians).bind(d.token)
        .bind(d.issued_at).bind(d.expires_at).bind(d.registered_at)
        .execute(p).await?.rows_affected());
    Ok(())
}

/// How many delegations are registered (all patients).
pub(crate) async fn count(db: &Database) -> Result<i64> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_delegations").fetch_one(p).await?),
    )
}
