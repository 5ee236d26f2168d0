//! Key rotations (`peer_key_rotations`) and the enrollment they leave bound.

use spondon_ledger::Database;

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
