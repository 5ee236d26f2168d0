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

/// The proof of possession an allowed redemption spends in its access event's transaction:
/// its server nonce (of the current form, `crate::nonce`) used, and its id remembered until
/// `pop_expires` — the same rows as `nonces::spend_in` and `grants::remember_pop_in` write.
#[derive(Debug)]
pub(crate) struct Spend<'a> {
    pub nonce: &'a [u8],
    pub nonce_expires: i64,
    pub now: i64,
    pub pop_id: &'a [u8; 16],
    pub pop_expires: i64,
}

/// Most events [`spend_and_insert`] writes in its one query (14 bound values an event at most,
/// far below SQLite's limit of 32,766).
const ONE_QUERY_EVENTS: usize = 100;

/// A batch's spends and rows on SQLite in **one query of several statements**, so one round
/// trip to the connection's thread instead of two per spend and two per batch: the nonces
/// inserted (`ON CONFLICT DO NOTHING`, as `nonces::spend_in`), the proof-of-possession ids
/// remembered (an unexpired one kept, an expired one taken over, as `grants::remember_pop_in`),
/// each `RETURNING` what it wrote, then the events and their grants as [`insert_all`] writes
/// them. `spends[k]` is what event `k` spends, if anything.
///
/// Returns the positions of the events whose spend was refused — a nonce or an id already
/// stored (and unexpired), or one a spend earlier in the batch uses (its copy later in the
/// batch is refused, as it would be by the statements one after the other): the caller must
/// then roll the transaction back (every row was written). `None` when this cannot be done in
/// one query (PostgreSQL, a batch too large, a spend whose id is kept for another window than
/// the rest): nothing was written, the caller writes them its usual way.
pub(crate) async fn spend_and_insert(
    tx: &mut Tx<'_>,
    spends: &[Option<Spend<'_>>],
    events: &[NewEvent<'_>],
) -> std::result::Result<Option<Vec<usize>>, sqlx::Error> {
    let Tx::Sqlite(t) = tx else {
        return Ok(None);
    };
    if spends.len() != events.len() || events.is_empty() || events.len() > ONE_QUERY_EVENTS {
        return Ok(None);
    }
    // The ids' conditional take-over compares the stored expiry with each spend's `now`; in one
    // statement that is `excluded.expires_at - window`, so every spend must share the window.
    let mut windows = spends.iter().flatten().map(|s| s.pop_expires - s.now);
    let window = windows.next();
    if windows.any(|w| Some(w) != window) {
        return Ok(None);
    }
    let mut refused = Vec::new();
    let mut written: Vec<(usize, &Spend<'_>)> = Vec::new();
    for (k, s) in spends.iter().enumerate() {
        let Some(s) = s else { continue };
        if written
            .iter()
            .any(|(_, w)| w.nonce == s.nonce || w.pop_id == s.pop_id)
        {
            refused.push(k);
        } else {
            written.push((k, s));
        }
    }
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    if let Some(window) = window.filter(|_| !written.is_empty()) {
        qb.push("INSERT INTO peer_nonces (nonce, expires_at, used_at) ");
        qb.push_values(&written, |mut b, (_, s)| {
            b.push_bind(s.nonce)
                .push_bind(s.nonce_expires)
                .push_bind(s.now);
        });
        qb.push(" ON CONFLICT (nonce) DO NOTHING RETURNING 0 AS spent, nonce AS what; ");
        qb.push("INSERT INTO peer_pop_ids (id, expires_at) ");
        qb.push_values(&written, |mut b, (_, s)| {
            b.push_bind(&s.pop_id[..]).push_bind(s.pop_expires);
        });
        qb.push(" ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE peer_pop_ids.expires_at < excluded.expires_at - ");
        qb.push_bind(window);
        qb.push(" RETURNING 1 AS spent, id AS what; ");
    }
    qb.push("INSERT INTO peer_access_events (health_id, outcome, reason, payload, salt, log_index, at) ");
    qb.push_values(events, |mut b, e| {
        b.push_bind(e.health_id)
            .push_bind(e.outcome)
            .push_bind(e.reason)
            .push_bind(e.payload)
            .push_bind(&e.salt[..])
            .push_bind(e.log_index)
            .push_bind(e.at);
    });
    if events.iter().any(|e| e.grant.is_some()) {
        qb.push("; INSERT INTO peer_access_grants (log_index, grant_text) ");
        qb.push_values(
            events.iter().filter_map(|e| Some((e.log_index, e.grant?))),
            |mut b, (i, g)| {
                b.push_bind(i).push_bind(g);
            },
        );
    }
    use sqlx::Row;
    let rows = qb.build().fetch_all(&mut **t).await?;
    let mut nonces = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        let what: Vec<u8> = r.try_get("what")?;
        match r.try_get::<i64, _>("spent")? {
            0 => nonces.insert(what),
            _ => ids.insert(what),
        };
    }
    for (k, s) in written {
        if !nonces.contains(s.nonce) || !ids.contains(&s.pop_id[..]) {
            refused.push(k);
        }
    }
    refused.sort_unstable();
    Ok(Some(refused))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event<'a>(log_index: i64, payload: &'a str, salt: &'a [u8; 32]) -> NewEvent<'a> {
        NewEvent {
            health_id: Some("h"),
            outcome: "allowed",
            reason: None,
            payload,
            salt,
            log_index,
            at: 1000,
            grant: Some("g"),
        }
    }

    async fn count(p: &sqlx::SqlitePool, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(p)
            .await
            .unwrap()
    }

    /// One query for a batch's spends and rows, on a real SQLite file: with every spend fresh
    /// the nonces, ids, events and grants are all written (in order, one `seq` each); a batch
    /// with one nonce spent before, one id still live, one copy of a spend earlier in the
    /// batch refuses exactly those (their positions), takes an expired id over and leaves
    /// nothing once rolled back. PostgreSQL is left to the usual statements (`None`).
    #[tokio::test]
    async fn one_query_spends_a_batch_and_names_the_spent() {
        let (_dir, _db, pool) = crate::db::testing::sqlite().await;
        let p = &pool;
        let salt = [7u8; 32];
        let spend = |nonce: &'static [u8], id: &'static [u8; 16]| Spend {
            nonce,
            nonce_expires: 1300,
            now: 1000,
            pop_id: id,
            pop_expires: 1240,
        };
        // All fresh, and an event that spends nothing.
        let spends = [
            Some(spend(b"nonce-a", &[1; 16])),
            None,
            Some(spend(b"nonce-b", &[2; 16])),
        ];
        let events = [
            event(10, "{\"e\":0}", &salt),
            event(11, "{\"e\":1}", &salt),
            event(12, "{\"e\":2}", &salt),
        ];
        let mut t = p.begin().await.unwrap();
        let refused = spend_and_insert(&mut Tx::Sqlite(&mut t), &spends, &events)
            .await
            .unwrap();
        t.commit().await.unwrap();
        assert_eq!(refused, Some(vec![]));
        assert_eq!(count(p, "peer_nonces").await, 2);
        assert_eq!(count(p, "peer_pop_ids").await, 2);
        assert_eq!(count(p, "peer_access_grants").await, 3);
        let order: Vec<i64> =
            sqlx::query_scalar("SELECT log_index FROM peer_access_events ORDER BY seq")
                .fetch_all(p)
                .await
                .unwrap();
        assert_eq!(order, vec![10, 11, 12]);
        let used: Option<i64> =
            sqlx::query_scalar("SELECT used_at FROM peer_nonces WHERE nonce = $1")
                .bind(&b"nonce-a"[..])
                .fetch_one(p)
                .await
                .unwrap();
        assert_eq!(used, Some(1000));

        // An id stored long ago (expired at 999 < now): taken over, not refused.
        sqlx::query("INSERT INTO peer_pop_ids (id, expires_at) VALUES ($1, 999)")
            .bind(&[9u8; 16][..])
            .execute(p)
            .await
            .unwrap();
        let spends = [
            Some(spend(b"nonce-a", &[3; 16])), // nonce spent before: refused
            Some(spend(b"nonce-c", &[1; 16])), // id live since the first batch: refused
            Some(spend(b"nonce-d", &[4; 16])), // fresh
            Some(spend(b"nonce-d", &[5; 16])), // the same nonce again in the batch: refused
            Some(spend(b"nonce-e", &[4; 16])), // the same id again in the batch: refused
            Some(spend(b"nonce-f", &[9; 16])), // expired id taken over: fresh
        ];
        let events: Vec<NewEvent<'_>> = (20..26).map(|i| event(i, "{}", &salt)).collect();
        let mut t = p.begin().await.unwrap();
        let refused = spend_and_insert(&mut Tx::Sqlite(&mut t), &spends, &events)
            .await
            .unwrap();
        t.rollback().await.unwrap();
        assert_eq!(refused, Some(vec![0, 1, 3, 4]));
        // Rolled back: nothing of the second batch stays.
        assert_eq!(count(p, "peer_nonces").await, 2);
        assert_eq!(count(p, "peer_access_events").await, 3);
        let expiry: i64 = sqlx::query_scalar("SELECT expires_at FROM peer_pop_ids WHERE id = $1")
            .bind(&[9u8; 16][..])
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(expiry, 999);

        // Without the refused ones the rest is written, the expired id with its new expiry.
        let rest = [
            Some(spend(b"nonce-d", &[4; 16])),
            Some(spend(b"nonce-f", &[9; 16])),
        ];
        let mut t = p.begin().await.unwrap();
        let refused = spend_and_insert(&mut Tx::Sqlite(&mut t), &rest, &events[..2])
            .await
            .unwrap();
        t.commit().await.unwrap();
        assert_eq!(refused, Some(vec![]));
        let expiry: i64 = sqlx::query_scalar("SELECT expires_at FROM peer_pop_ids WHERE id = $1")
            .bind(&[9u8; 16][..])
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(expiry, 1240);
        assert_eq!(count(p, "peer_access_events").await, 5);

        // Spends whose ids are kept for different windows are left to the usual statements.
        let mut odd = spend(b"nonce-g", &[6; 16]);
        odd.pop_expires = 1100;
        let mixed = [Some(spend(b"nonce-h", &[7; 16])), Some(odd)];
        let mut t = p.begin().await.unwrap();
        let refused = spend_and_insert(&mut Tx::Sqlite(&mut t), &mixed, &events[..2])
            .await
            .unwrap();
        t.rollback().await.unwrap();
        assert_eq!(refused, None);

        if let Some((db, pool)) =
            crate::db::testing::postgres("one_query_spends_a_batch_and_names_the_spent").await
        {
            let p = &pool;
            let mut t = p.begin().await.unwrap();
            let refused = spend_and_insert(&mut Tx::Postgres(&mut t), &rest, &events[..2])
                .await
                .unwrap();
            t.commit().await.unwrap();
            assert_eq!(refused, None);
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM peer_access_events")
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(n, 0);
            db.close().await;
        }
    }
}
