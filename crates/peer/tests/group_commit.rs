//! Group commit keeps every record's own checks: concurrent issuances are written together
//! (one append, one row transaction, one checkpoint per batch), but within a batch an
//! idempotency key still issues once and a record is still superseded once; every caller is
//! answered after the checkpoint that covers its record (both engines). Concurrent grant
//! redemptions, allowed and denied, are logged the same way: one entry and one row each, every
//! caller answered after a checkpoint covering its event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use std::collections::BTreeSet;

use common::{Resp, engines, lab_report, register_patient, start};
use serde_json::json;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{
    Audience, Category, Grant, PopProof, PopRequest, Purpose, SignedRequest, SignedRequestTarget,
};
use spondon_peer::records::{Idempotency, IssueRequest};

const TASKS: usize = 12;

async fn checks_hold_in_batches(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "5551234568").await;
    let peer = tp.peer.clone();
    let req: IssueRequest = serde_json::from_value(lab_report(&hid)).unwrap();

    // Many at once, each with its own key: all issued, distinct indexes, each covered by the
    // signed checkpoint when its caller hears of it.
    let all = futures(
        (0..TASKS)
            .map(|i| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: format!("own-{i}"),
                        request_hash: [1; 32],
                    };
                    let (r, replayed) = peer.issue_record_idempotent(&req, key).await.unwrap();
                    assert!(!replayed);
                    let (size, _) = peer.current_checkpoint().await.unwrap();
                    assert!(r.log_index < size, "answered before its checkpoint");
                    r
                })
            })
            .collect(),
    )
    .await;
    let idx: BTreeSet<u64> = all.iter().map(|r| r.log_index).collect();
    assert_eq!(idx, (0..TASKS as u64).collect());

    // One key, the same request, many at once: issued once, every other caller gets that
    // record as a replay.
    let same = futures(
        (0..TASKS)
            .map(|_| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: "shared".into(),
                        request_hash: [2; 32],
                    };
                    peer.issue_record_idempotent(&req, key).await.unwrap()
                })
            })
            .collect(),
    )
    .await;
    let ids: BTreeSet<&str> = same.iter().map(|(r, _)| r.id.as_str()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(same.iter().filter(|(_, replayed)| !replayed).count(), 1);

    // One key, different requests, at once: one issued, the others refused.
    let reused = futures(
        (0..TASKS)
            .map(|i| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: "reused".into(),
                        request_hash: [10 + i as u8; 32],
                    };
                    peer.issue_record_idempotent(&req, key)
                        .await
                        .map_err(|e| e.code())
                })
            })
            .collect(),
    )
    .await;
    assert_eq!(reused.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &reused {
        if let Err(code) = r {
            assert_eq!(*code, "idempotency_key_reused");
        }
    }

    // The same record superseded by many at once: once.
    let old = all[0].id.clone();
    let sup = futures(
        (0..TASKS)
            .map(|_| {
                let peer = peer.clone();
                let mut req = req.clone();
                req.supersedes = Some(old.clone());
                tokio::spawn(async move { peer.issue_record(&req).await.map_err(|e| e.code()) })
            })
            .collect(),
    )
    .await;
    assert_eq!(sup.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &sup {
        if let Err(code) = r {
            assert_eq!(*code, "bad_supersede");
        }
    }

    // Nothing refused reached the log: one entry per stored record, all signed.
    let records = peer.record_count(Some(&hid)).await.unwrap();
    assert_eq!(records, TASKS as u64 + 3);
    let (size, _) = peer.current_checkpoint().await.unwrap();
    assert_eq!(size, records);
    drop(peer);
    tp.stop().await;
}

async fn futures<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_keeps_each_records_checks() {
    for db in engines("group_commit_keeps_each_records_checks").await {
        checks_hold_in_batches(db.as_deref()).await;
    }
}

// --- Access events: concurrent redemptions are logged in batches. ---

async fn nonce(addr: std::net::SocketAddr) -> Vec<u8> {
    let r = common::request(addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 201);
    spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap()
}

/// Registers and enrolls a patient; their Health ID and wallet key.
async fn enrolled(tp: &common::TestPeer, nid: &str) -> (String, Es256KeyPair) {
    let r = tp
        .staff_post("/staff/patients", &common::patient_json(nid))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let key = Es256KeyPair::generate().unwrap();
    let body = json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()})
        .to_string()
        .into_bytes();
    let n = nonce(tp.addr).await;
    let url = format!("{}/patient/enroll", common::URL);
    let target = SignedRequestTarget {
        method: "POST",
        url: &url,
        nonce: &n,
        body: &body,
    };
    let sig = SignedRequest::create(&key, &target, NumericDate::now()).unwrap();
    let r = common::request(
        tp.addr,
        "POST",
        "/patient/enroll",
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", &sig),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (hid, key)
}

/// A grant to `doctor`, valid for an hour (`expired`: ended a minute ago).
fn grant(patient: &Es256KeyPair, doctor: &Es256KeyPair, expired: bool) -> (Grant, String) {
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.public_key().kid().to_owned(),
        },
        categories: vec![Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now.saturating_add(-7200),
        not_before: now.saturating_add(-7200),
        expires: if expired {
            now.saturating_add(-60)
        } else {
            now.saturating_add(3600)
        },
        use_limit: None,
        peers: vec![common::URL.to_owned()],
    };
    let text = g.sign(patient).unwrap();
    (g, text)
}

async fn redeem(addr: std::net::SocketAddr, g: &Grant, text: &str, doctor: &Es256KeyPair) -> Resp {
    let (body, pop) = redemption(addr, g, text, doctor).await;
    send(addr, &body, &pop).await
}

async fn events(tp: &common::TestPeer, outcome: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM peer_access_events WHERE outcome = '{outcome}'");
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
    }
}

const REDEEMERS: usize = 24;

async fn redemptions_in_batches(db: Option<&str>) {
    let tp = common::start_with(db, |c| c.rate_limit.per_second = 0.0).await;
    let (hid, patient) = enrolled(&tp, "1975000333").await;
    let doctor = Es256KeyPair::generate().unwrap();
    for _ in 0..2 {
        let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
        assert_eq!(r.status, 201);
    }
    let (size0, _) = tp.peer.current_checkpoint().await.unwrap();
    let (allowed0, denied0) = (events(&tp, "allowed").await, events(&tp, "denied").await);
    let doctor = std::sync::Arc::new(doctor);
    // Many at once, a third of them with an expired grant (a logged denial).
    let handles: Vec<_> = (0..REDEEMERS)
        .map(|i| {
            let expired = i % 3 == 0;
            let (g, text) = grant(&patient, &doctor, expired);
            let (addr, doctor) = (tp.addr, doctor.clone());
            tokio::spawn(async move {
                let r = redeem(addr, &g, &text, &doctor).await;
                // Answered only once its event is under a stored checkpoint.
                let note = common::request(addr, "GET", "/checkpoint", &[], b"").await;
                let size: u64 = note.text().lines().nth(1).unwrap().parse().unwrap();
                (expired, r, size)
            })
        })
        .collect();
    let mut indexes = BTreeSet::new();
    let mut denied = 0;
    for h in handles {
        let (expired, r, size) = h.await.unwrap();
        if expired {
            assert_eq!((r.status, r.code().as_str()), (403, "expired"));
            denied += 1;
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
            let out = r.json();
            let i = out["access_log_index"].as_u64().unwrap();
            assert_eq!(out["records"].as_array().unwrap().len(), 2);
            // The proofs' checkpoint covers the access's own event.
            assert!(i < out["tree_size"].as_u64().unwrap());
            assert!(i < size, "answered before a checkpoint covered its event");
            assert!(indexes.insert(i), "index {i} answered twice");
        }
    }
    let allowed = (REDEEMERS - denied) as u64;
    // Exact counts: one entry and one row per attempt, every entry signed.
    assert_eq!(indexes.len() as u64, allowed);
    assert_eq!(events(&tp, "allowed").await - allowed0, allowed as i64);
    assert_eq!(events(&tp, "denied").await - denied0, denied as i64);
    let (size, _) = tp.peer.current_checkpoint().await.unwrap();
    assert_eq!(size, size0 + REDEEMERS as u64);
    assert_eq!(tp.peer.log.stored_head().await.unwrap().0, size);
    // Every allowed event's grant is kept (share proofs), in its transaction.
    let grants: i64 = match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM peer_access_grants")
                .fetch_one(p)
                .await
                .unwrap()
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM peer_access_grants")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(grants, allowed as i64);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_are_logged_in_batches() {
    for db in engines("concurrent_redemptions_are_logged_in_batches").await {
        redemptions_in_batches(db.as_deref()).await;
    }
}

/// A redemption's request (its body and `Spondon-PoP` header) under a fresh nonce.
async fn redemption(
    addr: std::net::SocketAddr,
    g: &Grant,
    text: &str,
    doctor: &Es256KeyPair,
) -> (Vec<u8>, String) {
    let n = nonce(addr).await;
    let url = format!("{}/grant/records", common::URL);
    let body = json!({"grant": text}).to_string().into_bytes();
    let req = PopRequest {
        method: "POST",
        url: &url,
        nonce: &n,
        body: &body,
    };
    let pop = PopProof::create(doctor, g.id, &req, NumericDate::now()).unwrap();
    (body, pop)
}

async fn send(addr: std::net::SocketAddr, body: &[u8], pop: &str) -> Resp {
    common::request(
        addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", pop)],
        body,
    )
    .await
}

/// Fresh redemptions racing into the same group commits as replays of one already answered
/// (its nonce and proof spent before): every replay is refused `nonce_reused` and logged as
/// the patient's receipt, every fresh one is answered with its records, once, under a
/// checkpoint that covers its event — a spent proof in a batch costs the others nothing.
async fn replays_in_batches(db: Option<&str>) {
    let tp = common::start_with(db, |c| c.rate_limit.per_second = 0.0).await;
    let (hid, patient) = enrolled(&tp, "1975000444").await;
    let doctor = std::sync::Arc::new(Es256KeyPair::generate().unwrap());
    for _ in 0..2 {
        let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
        assert_eq!(r.status, 201);
    }
    let (g, text) = grant(&patient, &doctor, false);
    let (body, pop) = redemption(tp.addr, &g, &text, &doctor).await;
    let first = send(tp.addr, &body, &pop).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let (allowed0, denied0) = (events(&tp, "allowed").await, events(&tp, "denied").await);
    let (size0, _) = tp.peer.current_checkpoint().await.unwrap();
    let handles: Vec<_> = (0..REDEEMERS)
        .map(|i| {
            let replay = i % 4 == 0;
            let (addr, doctor, g, text) = (tp.addr, doctor.clone(), g.clone(), text.clone());
            let (body, pop) = (body.clone(), pop.clone());
            tokio::spawn(async move {
                let r = if replay {
                    send(addr, &body, &pop).await
                } else {
                    redeem(addr, &g, &text, &doctor).await
                };
                (replay, r)
            })
        })
        .collect();
    let (mut indexes, mut replays) = (BTreeSet::new(), 0);
    for h in handles {
        let (replay, r) = h.await.unwrap();
        if replay {
            assert_eq!((r.status, r.code().as_str()), (401, "nonce_reused"));
            replays += 1;
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
            let out = r.json();
            let i = out["access_log_index"].as_u64().unwrap();
            assert_eq!(out["records"].as_array().unwrap().len(), 2);
            assert!(i < out["tree_size"].as_u64().unwrap());
            assert!(indexes.insert(i), "index {i} answered twice");
        }
    }
    let fresh = REDEEMERS - replays;
    assert_eq!(indexes.len(), fresh);
    assert_eq!(events(&tp, "allowed").await - allowed0, fresh as i64);
    assert_eq!(events(&tp, "denied").await - denied0, replays as i64);
    let (size, _) = tp.peer.current_checkpoint().await.unwrap();
    assert_eq!(size, size0 + REDEEMERS as u64);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spent_proof_in_a_batch_is_refused_and_the_others_answered() {
    for db in engines("a_spent_proof_in_a_batch_is_refused_and_the_others_answered").await {
        replays_in_batches(db.as_deref()).await;
    }
}

// --- A unit of records (a FHIR transaction Bundle): all or nothing, consecutive indexes. ---

async fn units_are_all_or_nothing(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "5551234570").await;
    let peer = tp.peer.clone();
    let req: IssueRequest = serde_json::from_value(lab_report(&hid)).unwrap();
    let old = peer.issue_record(&req).await.unwrap();
    let size = |peer: std::sync::Arc<spondon_peer::Peer>| async move {
        peer.current_checkpoint().await.unwrap().0
    };

    // A unit's records get consecutive log indexes, in order.
    let unit: Vec<_> = futures(
        (0..4)
            .map(|_| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move { peer.prepare_record(&req).await.unwrap() })
            })
            .collect(),
    )
    .await;
    let ids: Vec<String> = unit.iter().map(|p| p.id.clone()).collect();
    let done = peer.commit_records(unit).await.unwrap();
    let idx: Vec<u64> = done.iter().map(|(r, _)| r.log_index).collect();
    assert_eq!(idx, vec![1, 2, 3, 4]);
    assert!(done.iter().all(|(_, replayed)| !replayed));
    assert_eq!(
        done.iter().map(|(r, _)| r.id.clone()).collect::<Vec<_>>(),
        ids
    );

    // A supersede race under the writer lock: the unit's later record was checked before
    // another caller superseded the same record; the whole unit is refused, its first record
    // is not stored either, and the log does not grow.
    let first = peer.prepare_record(&req).await.unwrap();
    let mut sup = req.clone();
    sup.supersedes = Some(old.id.clone());
    let late = peer.prepare_record(&sup).await.unwrap();
    let winner = peer.issue_record(&sup).await.unwrap();
    let before = size(peer.clone()).await;
    let first_id = first.id.clone();
    let e = peer.commit_records(vec![first, late]).await.unwrap_err();
    assert_eq!(e.code(), "bad_supersede");
    assert_eq!(size(peer.clone()).await, before);
    assert_eq!(
        peer.stored_record(&first_id).await.unwrap_err().code(),
        "unknown_record"
    );
    assert_eq!(peer.stored_record(&winner.id).await.unwrap().0, winner);

    // A taken key (another request's) on the unit's last record: none is written.
    let key = |k: &str, h: u8| Idempotency {
        scope: "fhir:t".into(),
        key: k.into(),
        request_hash: [h; 32],
    };
    let (taken, _) = peer
        .issue_record_idempotent(&req, key("taken", 1))
        .await
        .unwrap();
    let mut a = peer.prepare_record(&req).await.unwrap();
    a.idempotency = Some(key("fresh-0", 2));
    let mut b = peer.prepare_record(&req).await.unwrap();
    b.idempotency = Some(key("taken", 2));
    let before = size(peer.clone()).await;
    let e = peer.commit_records(vec![a.clone(), b]).await.unwrap_err();
    assert_eq!(e.code(), "idempotency_key_reused");
    assert_eq!(size(peer.clone()).await, before);
    assert_eq!(
        peer.stored_record(&a.id).await.unwrap_err().code(),
        "unknown_record"
    );
    // Its key stayed free: the same unit without the taken key goes through, and a unit
    // repeating a known key and request answers that record as a replay.
    let mut again = peer.prepare_record(&req).await.unwrap();
    again.idempotency = Some(key("taken", 1));
    let done = peer.commit_records(vec![a, again]).await.unwrap();
    assert_eq!(done[0].0.log_index, before);
    assert!(!done[0].1);
    assert_eq!(done[1], (taken, true));
    assert_eq!(size(peer.clone()).await, before + 1);

    // Units and single records at once, some units failing under the lock: every accepted
    // unit is written whole at consecutive indexes, nothing of a refused one is, and the
    // single records fall in between.
    let mut racing = req.clone();
    racing.supersedes = Some(done[0].0.id.clone());
    // Every unit is prepared (and checked) before any is committed.
    let mut prepared = Vec::new();
    for i in 0..TASKS {
        let mut unit = Vec::new();
        for _ in 0..3 {
            unit.push(peer.prepare_record(&req).await.unwrap());
        }
        // Every third unit's last record supersedes the same record: one of them is written.
        if i % 3 == 0 {
            unit.push(peer.prepare_record(&racing).await.unwrap());
        }
        prepared.push(unit);
    }
    let units = futures(
        prepared
            .into_iter()
            .map(|unit| {
                let peer = peer.clone();
                tokio::spawn(async move {
                    let n = unit.len();
                    let ids: Vec<String> = unit.iter().map(|p| p.id.clone()).collect();
                    (
                        n,
                        ids,
                        peer.commit_records(unit).await.map_err(|e| e.code()),
                    )
                })
            })
            .collect(),
    );
    let singles = futures(
        (0..TASKS)
            .map(|_| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move { peer.issue_record(&req).await.unwrap() })
            })
            .collect(),
    );
    let (units, singles) = tokio::join!(units, singles);
    let mut seen = BTreeSet::new();
    let mut written = 0;
    let mut refused = 0;
    for (n, ids, r) in &units {
        match r {
            Ok(done) => {
                assert_eq!(done.len(), *n);
                let first = done[0].0.log_index;
                for (k, (rec, replayed)) in done.iter().enumerate() {
                    assert!(!replayed);
                    assert_eq!(rec.log_index, first + k as u64, "not consecutive");
                    assert_eq!(rec.id, ids[k]);
                    assert!(seen.insert(rec.log_index));
                }
                written += n;
            }
            Err(code) => {
                assert_eq!(*code, "bad_supersede");
                refused += 1;
                for id in ids {
                    assert_eq!(
                        peer.stored_record(id).await.unwrap_err().code(),
                        "unknown_record"
                    );
                }
            }
        }
    }
    assert_eq!(refused, TASKS / 3 - 1, "one superseding unit wins");
    for s in &singles {
        assert!(seen.insert(s.log_index));
    }
    let after = size(peer.clone()).await;
    assert_eq!(after, before + 1 + (written + TASKS) as u64);
    assert_eq!(seen, (before + 1..after).collect());
    assert_eq!(peer.record_count(None).await.unwrap(), after);
    drop(peer);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unit_of_records_is_written_whole_or_not_at_all() {
    for db in engines("a_unit_of_records_is_written_whole_or_not_at_all").await {
        units_are_all_or_nothing(db.as_deref()).await;
    }
}
