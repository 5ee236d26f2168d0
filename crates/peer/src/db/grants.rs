//! Grants at redemption: bearer grants' passcode verifiers and their attempt counts, proof of
//! possession ids (replay), use counts, and patients' revocations.

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// Counts one passcode attempt at a bearer grant of `patient_kid` when attempts are left, in
/// one conditional update (concurrent guesses cannot exceed the limit); the stored verifier,
/// or `None` when none is registered or the grant is locked.
pub(crate) async fn passcode_attempt(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
) -> Result<Option<Vec<u8>>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("UPDATE peer_grant_passcodes SET attempts = attempts + 1 WHERE patient_kid = $1 AND grant_id = $2 AND attempts < max_failures RETURNING verifier")
        .bind(patient_kid).bind(&grant_id[..]).fetch_optional(p).await?),
    )
}

/// Whether a passcode verifier is registered for this grant (locked or not).
pub(crate) async fn passcode_registered(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
) -> Result<bool> {
    let n: i64 = on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_grant_passcodes WHERE patient_kid = $1 AND grant_id = $2")
        .bind(patient_kid).bind(&grant_id[..]).fetch_one(p).await?);
    Ok(n > 0)
}

/// Gives back the attempt a right passcode counted.
pub(crate) async fn passcode_attempt_refund(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
) -> Result<()> {
    on_db!(db, p => sqlx::query("UPDATE peer_grant_passcodes SET attempts = attempts - 1 WHERE patient_kid = $1 AND grant_id = $2 AND attempts > 0")
        .bind(patient_kid).bind(&grant_id[..]).execute(p).await?.rows_affected());
    Ok(())
}

/// A bearer grant's passcode verifier as its patient registers it.
#[derive(Debug)]
pub(crate) struct NewPasscode<'a> {
    pub patient_kid: &'a str,
    pub grant_id: &'a [u8; 16],
    pub verifier: &'a [u8; 32],
    pub max_failures: i64,
    pub registered_at: i64,
}

/// Stores a passcode verifier; the database error as is (a unique violation: one is already
/// registered for this grant).
pub(crate) async fn insert_passcode(
    db: &Database,
    n: &NewPasscode<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_grant_passcodes (patient_kid, grant_id, verifier, attempts, max_failures, registered_at) VALUES ($1, $2, $3, 0, $4, $5)")
        .bind(n.patient_kid).bind(&n.grant_id[..]).bind(&n.verifier[..]).bind(n.max_failures).bind(n.registered_at)
        .execute(p).await?.rows_affected());
    Ok(())
}

/// Drops the proof-of-possession ids that expired before `now`.
pub(crate) async fn purge_pop_ids(db: &Database, now: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("DELETE FROM peer_pop_ids WHERE expires_at < $1")
        .bind(now).execute(p).await?.rows_affected());
    Ok(())
}

/// Records a proof of possession's id until `expires_at`, in one statement; false if it is
/// already recorded and unexpired at `now` (a replay). An id still stored but expired (not yet
/// purged, [`purge_pop_ids`]) is taken over, as if it had been purged.
pub(crate) async fn remember_pop(
    db: &Database,
    id: &[u8; 16],
    now: i64,
    expires_at: i64,
) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query("INSERT INTO peer_pop_ids (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE peer_pop_ids.expires_at < $3")
        .bind(&id[..]).bind(expires_at).bind(now).execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// [`remember_pop`] in an open transaction (the access event's group commit): the id is
/// remembered with the event, and a concurrent use of the same id waits for it and is refused.
pub(crate) async fn remember_pop_in(
    tx: &mut Tx<'_>,
    id: &[u8; 16],
    now: i64,
    expires_at: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query("INSERT INTO peer_pop_ids (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE peer_pop_ids.expires_at < $3")
        .bind(&id[..]).bind(expires_at).bind(now).execute(&mut *c).await?.rows_affected());
    Ok(n == 1)
}

/// What a redemption needs to know of a grant's patient key, in one statement: the patient
/// whose active key it is, the patient whose key a rotation retired, and whether a revocation
/// of the key covers the grant ([`is_revoked`]).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct GrantKeyStatus {
    pub active: Option<String>,
    pub rotated: Option<String>,
    pub revoked: bool,
}

pub(crate) async fn key_status(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
) -> Result<GrantKeyStatus> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, GrantKeyStatus>("SELECT (SELECT health_id FROM peer_enrollments WHERE kid = $1 AND revoked_at IS NULL) AS active, (SELECT health_id FROM peer_key_rotations WHERE old_kid = $1) AS rotated, EXISTS (SELECT 1 FROM peer_revocations WHERE patient_kid = $1 AND (grant_id = $2 OR before_ts IS NOT NULL)) AS revoked")
        .bind(patient_kid).bind(&grant_id[..]).fetch_one(p).await?),
    )
}

/// On SQLite, [`key_status`] and the patient's records that the log of `size` entries holds
/// (oldest first, as `records::of_patient` reads them), read in **one query of two statements**
/// (one round trip to the connection's thread). The records are read only for a key that is
/// the active key of an enrolled patient with no revocation covering the grant (the same
/// judgement as [`key_status`]'s columns); otherwise none are. `None` on PostgreSQL.
pub(crate) async fn key_status_with_records(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
    size: i64,
) -> Result<Option<(GrantKeyStatus, Vec<crate::db::records::RecordRow>)>> {
    let Database::Sqlite(p) = db else {
        return Ok(None);
    };
    use sqlx::FromRow;
    let rows = sqlx::query(concat!(
        "SELECT (SELECT health_id FROM peer_enrollments WHERE kid = $1 AND revoked_at IS NULL) AS active, (SELECT health_id FROM peer_key_rotations WHERE old_kid = $1) AS rotated, EXISTS (SELECT 1 FROM peer_revocations WHERE patient_kid = $1 AND (grant_id = $2 OR before_ts IS NOT NULL)) AS revoked; ",
        "SELECT seq, id, category, kind, supersedes, issued_at, jws, log_index, salt FROM peer_records WHERE health_id = (SELECT health_id FROM peer_enrollments WHERE kid = $1 AND revoked_at IS NULL) AND NOT EXISTS (SELECT 1 FROM peer_revocations WHERE patient_kid = $1 AND (grant_id = $2 OR before_ts IS NOT NULL)) AND log_index < $3 ORDER BY seq"
    ))
    .bind(patient_kid)
    .bind(&grant_id[..])
    .bind(size)
    .fetch_all(p)
    .await?;
    let mut rows = rows.iter();
    let status = rows
        .next()
        .ok_or_else(|| sqlx::Error::RowNotFound)
        .and_then(GrantKeyStatus::from_row)?;
    let records = rows
        .map(crate::db::records::RecordRow::from_row)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Some((status, records)))
}

/// Counts one use of a grant (per patient key and grant id) while fewer than `limit` were
/// counted; false when the limit is reached.
pub(crate) async fn count_use(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
    limit: i64,
) -> Result<bool> {
    let n = on_db!(db, p => {
        // Counts kept before uses were scoped (under the empty kid) carry over.
        sqlx::query("INSERT INTO peer_grant_uses (patient_kid, grant_id, uses) VALUES ($1, $2, COALESCE((SELECT uses FROM peer_grant_uses WHERE patient_kid = '' AND grant_id = $2), 0)) ON CONFLICT (patient_kid, grant_id) DO NOTHING")
            .bind(patient_kid).bind(&grant_id[..]).execute(p).await?;
        sqlx::query("UPDATE peer_grant_uses SET uses = uses + 1 WHERE patient_kid = $1 AND grant_id = $2 AND uses < $3")
            .bind(patient_kid).bind(&grant_id[..]).bind(limit).execute(p).await?.rows_affected()
    });
    Ok(n == 1)
}

/// Whether a revocation of `patient_kid` covers this grant: one naming it, or a revoke-all
/// (which covers every grant of the key whatever its iat, since a thief holding the key can
/// date a grant after it).
pub(crate) async fn is_revoked(
    db: &Database,
    patient_kid: &str,
    grant_id: &[u8; 16],
) -> Result<bool> {
    let n: i64 = on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_revocations WHERE patient_kid = $1 AND (grant_id = $2 OR before_ts IS NOT NULL)")
        .bind(patient_kid).bind(&grant_id[..])
        .fetch_one(p).await?);
    Ok(n > 0)
}

/// The token of the revocation `id` of `patient_kid`, if one is registered (ids are scoped per
/// patient key).
pub(crate) async fn revocation_token(
    db: &Database,
    patient_kid: &str,
    id: &[u8; 16],
) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT token FROM peer_revocations WHERE patient_kid = $1 AND id = $2")
        .bind(patient_kid).bind(&id[..]).fetch_optional(p).await?),
    )
}

/// A revocation as it is registered.
#[derive(Debug)]
pub(crate) struct NewRevocation<'a> {
    pub id: &'a [u8; 16],
    pub patient_kid: &'a str,
    /// The grant it revokes, or `None` for a revoke-all…
    pub grant_id: Option<Vec<u8>>,
    /// …of the grants issued before this time.
    pub before_ts: Option<i64>,
    pub token: &'a str,
    pub registered_at: i64,
    pub log_index: i64,
}

/// Stores a revocation in the transaction that appends its log entry.
pub(crate) async fn insert_revocation(
    tx: &mut Tx<'_>,
    r: &NewRevocation<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_revocations (id, patient_kid, grant_id, before_ts, token, registered_at, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&r.id[..]).bind(r.patient_kid).bind(&r.grant_id).bind(r.before_ts).bind(r.token)
        .bind(r.registered_at).bind(r.log_index).execute(c).await?.rows_affected());
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The PoP-id replay memory on a real database: a live id is refused, an expired one still
    /// stored is taken over (as if the purge had run), and the purge drops only expired ids.
    async fn pop_ids(db: &Database) {
        let (a, b) = ([1u8; 16], [2u8; 16]);
        assert!(remember_pop(db, &a, 1000, 1240).await.unwrap());
        // A replay inside the window, up to its last second.
        assert!(!remember_pop(db, &a, 1000, 1240).await.unwrap());
        assert!(!remember_pop(db, &a, 1240, 1480).await.unwrap());
        // Expired but not purged: taken over, and then live again until its new expiry.
        assert!(remember_pop(db, &a, 1241, 1481).await.unwrap());
        assert!(!remember_pop(db, &a, 1300, 1540).await.unwrap());
        assert!(remember_pop(db, &b, 1300, 1540).await.unwrap());
        // The purge drops `a` (expired at 1481) and keeps `b` (live until 1540).
        purge_pop_ids(db, 1500).await.unwrap();
        assert!(!remember_pop(db, &b, 1500, 1740).await.unwrap());
        let left: i64 = on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_pop_ids")
            .fetch_one(p).await.unwrap());
        assert_eq!(left, 1);
        purge_pop_ids(db, 1541).await.unwrap();
        let left: i64 = on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_pop_ids")
            .fetch_one(p).await.unwrap());
        assert_eq!(left, 0);
    }

    /// The key's status read with the records (SQLite's one query) on a real file: the same
    /// status as [`key_status`] for an active, a retired, an unknown key and a revoked grant,
    /// and the patient's records under the size given, oldest first, only for an active key and
    /// an unrevoked grant.
    #[tokio::test]
    async fn key_status_with_records_agrees_with_key_status() {
        let (_dir, db, pool) = crate::db::testing::sqlite().await;
        let p = &pool;
        for (hid, nid) in [("P1", "1"), ("P2", "2")] {
            sqlx::query("INSERT INTO peer_patients (health_id, name, birth_date, sex, national_id, phone, district, upazila, created_at) VALUES ($1, 'n', '2000-01-01', 'F', $2, 'p', 'd', 'u', 0)")
                .bind(hid).bind(nid).execute(p).await.unwrap();
        }
        sqlx::query("INSERT INTO peer_enrollments (kid, health_id, key_jwk, credential, created_at) VALUES ('k1', 'P1', '{}', 'c', 0)")
            .execute(p).await.unwrap();
        sqlx::query("INSERT INTO peer_key_rotations (old_kid, new_kid, health_id, via, rotated_at, log_index) VALUES ('k2', 'k9', 'P2', 'identity_check', 0, 100)")
            .execute(p).await.unwrap();
        sqlx::query("INSERT INTO peer_revocations (id, patient_kid, grant_id, token, registered_at, log_index) VALUES ($1, 'k1', $2, 't', 0, 101)")
            .bind(&[1u8; 16][..]).bind(&[7u8; 16][..]).execute(p).await.unwrap();
        // P1's records at log indexes 5, 0, 1 (in that order of seq), and one of P2.
        for (id, hid, index) in [
            ("r5", "P1", 5i64),
            ("r0", "P1", 0),
            ("r1", "P1", 1),
            ("q", "P2", 2),
        ] {
            sqlx::query("INSERT INTO peer_records (id, health_id, category, kind, jws, salt, log_index, issued_at) VALUES ($1, $2, 1, 'prescription', 'j', $3, $4, 0)")
                .bind(id).bind(hid).bind(&[0u8; 32][..]).bind(index).execute(p).await.unwrap();
        }
        let cases: [(&str, [u8; 16], &[&str]); 5] = [
            ("k1", [3; 16], &["r0", "r1"]), // active, unrevoked: records under size 3
            ("k1", [7; 16], &[]),           // revoked grant
            ("k2", [3; 16], &[]),           // retired by a rotation
            ("k3", [3; 16], &[]),           // unknown
            ("k9", [3; 16], &[]),           // the new key, not enrolled here
        ];
        for (kid, grant, want) in cases {
            let (status, rows) = key_status_with_records(&db, kid, &grant, 3)
                .await
                .unwrap()
                .unwrap();
            let alone = key_status(&db, kid, &grant).await.unwrap();
            assert_eq!(
                (&status.active, &status.rotated, status.revoked),
                (&alone.active, &alone.rotated, alone.revoked),
                "{kid}"
            );
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, want, "{kid}");
        }
        // All of P1's records under a larger size, in seq order.
        let (_, rows) = key_status_with_records(&db, "k1", &[3; 16], 6)
            .await
            .unwrap()
            .unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r5", "r0", "r1"]);
        if let Some(url) =
            spondon_testkit::db::postgres_url("key_status_with_records_agrees_with_key_status")
                .await
        {
            let db = Database::connect(&url).await.unwrap();
            assert!(
                key_status_with_records(&db, "k1", &[3; 16], 3)
                    .await
                    .unwrap()
                    .is_none()
            );
            db.close().await;
        }
    }

    #[tokio::test]
    async fn pop_ids_refuse_live_ids_and_take_over_expired_ones() {
        let (_dir, db, _) = crate::db::testing::sqlite().await;
        pop_ids(&db).await;
        // PostgreSQL too, on a fresh database, when the test run has one.
        if let Some((db, _)) =
            crate::db::testing::postgres("pop_ids_refuse_live_ids_and_take_over_expired_ones").await
        {
            pop_ids(&db).await;
            db.close().await;
        }
    }
}
