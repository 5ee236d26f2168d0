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
