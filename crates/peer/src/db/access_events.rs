//! Access events (`peer_access_events`, with the grants of allowed accesses kept for share
//! proofs in `peer_access_grants`): what a patient's receipts are read from.

use spondon_ledger::{Database, Tx};

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

/// An access event as it is logged: the row its log entry at `log_index` commits to.
#[derive(Debug)]
pub(crate) struct NewEvent<'a> {
    /// The patient, when the access is attributable.
    pub health_id: Option<&'a str>,
    /// `allowed` or `denied`.
    pub outcome: &'a str,
    /// The refusal's code of a denied access.
    pub reason: Option<&'a str>,
    /// The event's JSON, as committed.
    pub payload: &'a str,
    pub salt: &'a [u8; 32],
    pub log_index: i64,
    pub at: i64,
    /// The grant text of an allowed access under a grant, kept for share proofs.
    pub grant: Option<&'a str>,
}

/// Stores an event (and its grant) in the transaction that appends its log entry.
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    e: &NewEvent<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO peer_access_events (health_id, outcome, reason, payload, salt, log_index, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(e.health_id).bind(e.outcome).bind(e.reason).bind(e.payload).bind(&e.salt[..])
            .bind(e.log_index).bind(e.at).execute(&mut *c).await?;
        if let Some(g) = e.grant {
            sqlx::query("INSERT INTO peer_access_grants (log_index, grant_text) VALUES ($1, $2)")
                .bind(e.log_index).bind(g).execute(&mut *c).await?;
        }
    });
    Ok(())
}

/// Rows per multi-row insert of [`insert_all`].
const INSERT_CHUNK: usize = 100;

/// Stores a batch's events (and their grants) in the transaction that appends their log
/// entries, with multi-row inserts (one statement per table per 100 events instead of one per
/// row); the events get their `seq` in the order given, as one insert each would.
pub(crate) async fn insert_all(
    tx: &mut Tx<'_>,
    events: &[NewEvent<'_>],
) -> std::result::Result<(), sqlx::Error> {
    for chunk in events.chunks(INSERT_CHUNK) {
        on_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO peer_access_events (health_id, outcome, reason, payload, salt, log_index, at) ");
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.health_id).push_bind(e.outcome).push_bind(e.reason).push_bind(e.payload)
                    .push_bind(&e.salt[..]).push_bind(e.log_index).push_bind(e.at);
            });
            qb.build().execute(&mut *c).await?;
            if chunk.iter().any(|e| e.grant.is_some()) {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO peer_access_grants (log_index, grant_text) ");
                qb.push_values(chunk.iter().filter_map(|e| Some((e.log_index, e.grant?))), |mut b, (i, g)| {
                    b.push_bind(i).push_bind(g);
                });
                qb.build().execute(&mut *c).await?;
            }
        });
    }
    Ok(())
}

/// An access event by its log index, as a proof of sharing needs it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventAt {
    /// `allowed` or `denied`.
    pub outcome: String,
    pub salt: Vec<u8>,
    /// The event's JSON, as logged.
    pub payload: String,
}

pub(crate) async fn event_at(db: &Database, log_index: i64) -> Result<Option<EventAt>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, EventAt>("SELECT outcome, salt, payload FROM peer_access_events WHERE log_index = $1")
        .bind(log_index).fetch_optional(p).await?),
    )
}

/// The grant kept with the allowed access at `log_index`, if it was kept.
pub(crate) async fn grant_at(db: &Database, log_index: i64) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT grant_text FROM peer_access_grants WHERE log_index = $1")
        .bind(log_index).fetch_optional(p).await?),
    )
}
