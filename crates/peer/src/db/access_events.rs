//! Access events (`peer_access_events`): what a patient's receipts are read from.

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// One stored access event, as a receipt is built from it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredEvent {
    /// The patient's receipt cursor.
    pub seq: i64,
    /// The event's JSON, as logged.
    pub payload: String,
    /// The salt of the log entry's commitment.
    pub salt: Vec<u8>,
    pub log_index: i64,
}

/// The patient's events after `since` that the log of `size` entries holds, oldest first, at
/// most `limit`.
pub(crate) async fn events_of(
    db: &Database,
    health_id: &str,
    since: i64,
    size: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, StoredEvent>("SELECT seq, payload, salt, log_index FROM peer_access_events WHERE health_id = $1 AND seq > $2 AND log_index < $3 ORDER BY seq LIMIT $4")
        .bind(health_id).bind(since).bind(size).bind(limit)
        .fetch_all(p).await?),
    )
}
