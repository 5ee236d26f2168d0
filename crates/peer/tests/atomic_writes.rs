//! A log entry and the rows it commits to are written in one transaction (SQLite, and
//! PostgreSQL when configured): a patient's revocation, an emergency access's confirmation and
//! a refused emergency request. A failure injected in the database (a trigger that refuses the
//! row) leaves no entry behind: the log's stored size stays, nothing is half-written, and the
//! same request succeeds once the failure is gone, its entry and its row at one index.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Grant, Revocation, RevocationTarget};
use spondon_ledger::{Database, EntryKind, LogEntry};
use spondon_peer::staff::Role;
use spondon_testkit::inproc::*;

async fn signed(tp: &TestPeer, key: &Es256KeyPair, path: &str, body: &Value) -> Resp {
    spondon_testkit::patient::signed(tp.addr, URL, key, path, body)
        .await
        .unwrap()
}

async fn scalar(tp: &TestPeer, sql: &str) -> i64 {
    match &tp.peer.db {
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

async fn exec(tp: &TestPeer, sql: &str) {
    match &tp.peer.db {
        Database::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop).unwrap(),
        Database::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop).unwrap(),
    }
}

/// The log's stored size (the tree head the append's transaction writes).
async fn log_size(tp: &TestPeer) -> i64 {
    scalar(tp, "SELECT size FROM ledger_meta WHERE id = 1").await
}

/// The kind of the stored log entry at `index`.
async fn entry_kind(tp: &TestPeer, index: i64) -> EntryKind {
    let sql = "SELECT data FROM ledger_entries WHERE idx = $1";
    let data: Vec<u8> = match &tp.peer.db {
        Database::Sqlite(p) => sqlx::query_scalar(sql).bind(index).fetch_one(p).await,
        Database::Postgres(p) => sqlx::query_scalar(sql).bind(index).fetch_one(p).await,
    }
    .unwrap();
    LogEntry::decode(&data).unwrap().kind
}

/// Makes every insert into (or update of) `table` fail, as a full disk or a lost connection
/// would between the entry and its row.
async fn break_table(tp: &TestPeer, table: &str, op: &str) {
    match &tp.peer.db {
        Database::Sqlite(_) => {
            exec(
                tp,
                &format!(
                    "CREATE TRIGGER fail_{table} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                ),
            )
            .await
        }
        Database::Postgres(_) => {
            exec(
                tp,
                "CREATE OR REPLACE FUNCTION spondon_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            )
            .await;
            exec(
                tp,
                &format!(
                    "CREATE TRIGGER fail_{table} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION spondon_fail()"
                ),
            )
            .await
        }
    }
}

async fn mend_table(tp: &TestPeer, table: &str) {
    match &tp.peer.db {
        Database::Sqlite(_) => exec(tp, &format!("DROP TRIGGER fail_{table}")).await,
        Database::Postgres(_) => exec(tp, &format!("DROP TRIGGER fail_{table} ON {table}")).await,
    }
}

/// Registers and enrolls a patient; their Health ID and wallet key.
async fn enrolled_patient(tp: &TestPeer, nid: &str) -> (String, Es256KeyPair) {
    let r = tp.staff_post("/staff/patients", &patient_json(nid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let key = Es256KeyPair::generate().unwrap();
    let r = signed(
        tp,
        &key,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (hid, key)
}

async fn scenario(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, patient) = enrolled_patient(&tp, "1975000888").await;
    let (_, doctor) = register_doctor(&tp, "A-33333").await;
    let nurse = tp
        .peer
        .create_staff_token_with("emergency desk", &[Role::Records], 30)
        .await
        .unwrap()
        .token;

    // --- A patient's revocation. ---
    let revocation = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant {
            grant_id: Grant::new_id().unwrap(),
        },
        issued_at: NumericDate::now(),
    }
    .sign(&patient)
    .unwrap();
    let body = json!({"revocation": revocation});
    let size = log_size(&tp).await;
    break_table(&tp, "peer_revocations", "INSERT").await;
    let r = signed(&tp, &patient, "/patient/revocations", &body).await;
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert_eq!(log_size(&tp).await, size, "an entry without its revocation");
    assert_eq!(
        scalar(&tp, "SELECT COUNT(*) FROM peer_revocations").await,
        0
    );
    mend_table(&tp, "peer_revocations").await;
    let r = signed(&tp, &patient, "/patient/revocations", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let index = r.json()["log_index"].as_i64().unwrap();
    assert_eq!(index, size);
    assert_eq!(log_size(&tp).await, size + 1);
    assert_eq!(
        scalar(&tp, "SELECT log_index FROM peer_revocations").await,
        index
    );
    assert_eq!(
        entry_kind(&tp, index).await,
        EntryKind::RevocationRegistered
    );

    // --- An emergency access's confirmation: the entry, the confirmation and its event. ---
    let r = signed(
        &tp,
        &doctor,
        "/emergency/requests",
        &json!({"health_id": hid, "reason": "unconscious",
                "details": "brought in unconscious after a road accident", "hours": 2}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["access_id"].as_str().unwrap().to_owned();
    let confirm = format!("/staff/emergency/{id}/confirm");
    let auth = format!("Bearer {nurse}");
    let events = "SELECT COUNT(*) FROM peer_access_events";
    let (size, n_events) = (log_size(&tp).await, scalar(&tp, events).await);
    break_table(&tp, "peer_access_events", "INSERT").await;
    let r = request(tp.addr, "POST", &confirm, &[("Authorization", &auth)], b"").await;
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert_eq!(
        log_size(&tp).await,
        size,
        "an entry without its confirmation"
    );
    assert_eq!(scalar(&tp, events).await, n_events);
    let pending = "SELECT COUNT(*) FROM peer_emergency_access WHERE confirmed_at IS NULL AND log_index IS NULL";
    assert_eq!(
        scalar(&tp, pending).await,
        1,
        "the confirmation rolled back"
    );
    mend_table(&tp, "peer_access_events").await;
    let r = request(tp.addr, "POST", &confirm, &[("Authorization", &auth)], b"").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let index = r.json()["log_index"].as_i64().unwrap();
    assert_eq!(index, size);
    assert_eq!(log_size(&tp).await, size + 1);
    assert_eq!(scalar(&tp, pending).await, 0);
    assert_eq!(
        scalar(&tp, "SELECT log_index FROM peer_emergency_access").await,
        index
    );
    assert_eq!(
        scalar(&tp, "SELECT MAX(log_index) FROM peer_access_events").await,
        index
    );
    assert_eq!(entry_kind(&tp, index).await, EntryKind::EmergencyAccess);
    // Confirmed once: a second confirmation is refused and logs nothing.
    let r = request(tp.addr, "POST", &confirm, &[("Authorization", &auth)], b"").await;
    assert_eq!(r.code(), "already_confirmed");
    assert_eq!(log_size(&tp).await, size + 1);

    // --- A refused emergency request (the patient opted out): its entry and its event. ---
    let r = signed(
        &tp,
        &patient,
        "/patient/emergency-policy",
        &json!({"mode": "opt_out", "set_at": NumericDate::now().seconds()}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let request_body = json!({"health_id": hid, "reason": "unconscious",
                              "details": "brought in again", "hours": 1});
    let (size, n_events) = (log_size(&tp).await, scalar(&tp, events).await);
    break_table(&tp, "peer_access_events", "INSERT").await;
    let r = signed(&tp, &doctor, "/emergency/requests", &request_body).await;
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert_eq!(log_size(&tp).await, size, "an entry without its event");
    assert_eq!(scalar(&tp, events).await, n_events);
    mend_table(&tp, "peer_access_events").await;
    let r = signed(&tp, &doctor, "/emergency/requests", &request_body).await;
    assert_eq!((r.status, r.code().as_str()), (403, "emergency_opted_out"));
    assert_eq!(log_size(&tp).await, size + 1);
    assert_eq!(scalar(&tp, events).await, n_events + 1);
    assert_eq!(
        scalar(&tp, "SELECT MAX(log_index) FROM peer_access_events").await,
        size
    );
    assert_eq!(entry_kind(&tp, size).await, EntryKind::AccessDenied);
    tp.stop().await;
}

#[tokio::test]
async fn log_entries_and_their_rows_commit_together() {
    for db in engines("log_entries_and_their_rows_commit_together").await {
        scenario(db.as_deref()).await;
    }
}
