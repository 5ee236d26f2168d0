//! Staff tokens: roles, expiry, revocation, failure limit and the audit trail, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::json;
use spondon_peer::staff::Role;

async fn post_as(tp: &TestPeer, token: &str, path: &str, body: &serde_json::Value) -> Resp {
    spondon_testkit::http::post_json(tp.addr, path, token, body).await
}

async fn expire(tp: &TestPeer, id: &str) {
    let q = "UPDATE peer_staff_tokens SET expires_at = 1 WHERE token_id = $1";
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query(q).bind(id).execute(p).await.unwrap();
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query(q).bind(id).execute(p).await.unwrap();
        }
    }
}

async fn roles(db: Option<&str>) {
    let tp = start(db).await;
    let desk = tp
        .peer
        .create_staff_token_with("reception desk", &[Role::Registration], 30)
        .await
        .unwrap();
    let lab = tp
        .peer
        .create_staff_token_with("laboratory", &[Role::Records], 30)
        .await
        .unwrap();
    // Registration: patients and enrollment codes, not doctors, not records.
    let r = post_as(
        &tp,
        &desk.token,
        "/staff/patients",
        &patient_json("1975001111"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let doctor = json!({"bmdc_number": "A-777", "name": "Dr. X", "department": "Medicine",
        "public_key": spondon_core::keys::Es256KeyPair::generate().unwrap().public_key().to_jwk()});
    let r = post_as(&tp, &desk.token, "/staff/doctors", &doctor).await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    let r = post_as(&tp, &desk.token, "/staff/records", &lab_report(&hid)).await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    // Records: records, not patients or enrollment codes (re-binding a patient's wallet).
    let r = post_as(&tp, &lab.token, "/staff/records", &lab_report(&hid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post_as(
        &tp,
        &lab.token,
        &format!("/staff/patients/{hid}/enrollment-code"),
        &json!({}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    let r = post_as(
        &tp,
        &lab.token,
        "/staff/patients",
        &patient_json("1975001112"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    assert_eq!(tp.peer.record_count(None).await.unwrap(), 1);
    // Admin (the first token): doctors too.
    let r = tp.staff_post("/staff/doctors", &doctor).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // Expired and revoked tokens are refused.
    expire(&tp, &lab.id).await;
    let r = post_as(&tp, &lab.token, "/staff/records", &lab_report(&hid)).await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    tp.peer.revoke_staff_token(&desk.id).await.unwrap();
    let r = post_as(
        &tp,
        &desk.token,
        "/staff/patients",
        &patient_json("1975001113"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    assert_eq!(
        tp.peer
            .revoke_staff_token(&desk.id)
            .await
            .unwrap_err()
            .code(),
        "unknown_staff_token"
    );
    // Lifetimes are bounded.
    for days in [0, 367] {
        assert_eq!(
            tp.peer
                .create_staff_token_with("x", &[Role::Admin], days)
                .await
                .unwrap_err()
                .code(),
            "invalid_field"
        );
    }
    // One audit entry per staff action, refused ones included; who, what, outcome.
    let audit = tp.peer.staff_audit().await.unwrap();
    let http: Vec<(String, String, i64)> = audit
        .iter()
        .filter(|a| a.action.starts_with("POST "))
        .map(|a| (a.token_id.clone(), a.action.clone(), a.status))
        .collect();
    let want = [
        (desk.id.clone(), "POST /staff/patients".to_owned(), 201),
        (desk.id.clone(), "POST /staff/doctors".to_owned(), 403),
        (desk.id.clone(), "POST /staff/records".to_owned(), 403),
        (lab.id.clone(), "POST /staff/records".to_owned(), 201),
        (
            lab.id.clone(),
            "POST /staff/patients/{health_id}/enrollment-code".to_owned(),
            403,
        ),
        (lab.id.clone(), "POST /staff/patients".to_owned(), 403),
    ];
    assert_eq!(http[..6], want[..], "{audit:?}");
    assert_eq!(http[6].1, "POST /staff/doctors");
    assert_eq!(http[6].2, 201);
    assert_eq!(
        (http[7].0.as_str(), http[7].2),
        ("-", 401),
        "expired: no token id"
    );
    assert_eq!((http[8].0.as_str(), http[8].2), ("-", 401), "revoked");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "revoke staff token"
                && a.target.as_deref() == Some(desk.id.as_str()))
    );
    let code_entry = audit
        .iter()
        .find(|a| a.action.ends_with("enrollment-code"))
        .unwrap();
    assert_eq!(
        code_entry.target.as_deref(),
        Some(format!("/staff/patients/{hid}/enrollment-code").as_str())
    );
    tp.stop().await;
}

#[tokio::test]
async fn staff_tokens_have_roles_expiry_revocation_and_an_audit_trail() {
    for db in engines("staff_tokens_have_roles_expiry_revocation_and_an_audit_trail").await {
        roles(db.as_deref()).await;
    }
}

/// Every staff issuance is audited exactly once, whatever its outcome: issued (the entry
/// written with the record, naming it), replayed by its idempotency key (naming the first
/// record), issued without a key, refused.
async fn issuance_audit(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "1975002221").await;
    let lab = tp
        .peer
        .create_staff_token_with("laboratory", &[Role::Records], 30)
        .await
        .unwrap();
    let auth = format!("Bearer {}", lab.token);
    let keyed = |key: &'static str| {
        let auth = auth.clone();
        let body = lab_report(&hid).to_string();
        async move {
            request(
                tp.addr,
                "POST",
                "/staff/records",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                    ("Idempotency-Key", key),
                ],
                body.as_bytes(),
            )
            .await
        }
    };
    let first = keyed("audit-key-1").await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = keyed("audit-key-1").await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json()["id"], first.json()["id"], "replayed");
    let plain = post_as(&tp, &lab.token, "/staff/records", &lab_report(&hid)).await;
    assert_eq!(plain.status, 201, "{}", plain.text());
    let refused = post_as(
        &tp,
        &lab.token,
        "/staff/records",
        &json!({"health_id": hid, "kind": "lab_report", "resources": []}),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(tp.peer.record_count(None).await.unwrap(), 2);
    let got: Vec<(String, i64, Option<String>)> = tp
        .peer
        .staff_audit()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "POST /staff/records")
        .map(|a| (a.token_id, a.status, a.target))
        .collect();
    // An issuance's entry names the record it answered with (the replay the first one).
    let id = |r: &spondon_testkit::http::Resp| Some(r.json()["id"].as_str().unwrap().to_owned());
    let want: Vec<(String, i64, Option<String>)> = [
        (201, id(&first)),
        (201, id(&first)),
        (201, id(&plain)),
        (422, None),
    ]
    .into_iter()
    .map(|(s, t)| (lab.id.clone(), s, t))
    .collect();
    assert_eq!(got, want);
    tp.stop().await;
}

#[tokio::test]
async fn an_issuance_is_audited_once_whatever_its_outcome() {
    for db in engines("an_issuance_is_audited_once_whatever_its_outcome").await {
        issuance_audit(db.as_deref()).await;
    }
}

/// Concurrent staff requests share the audit trail's group commit: each is audited exactly
/// once, in its own client's order, and its entry is stored before its answer arrives (a
/// client that has heard `k` answers finds exactly `k` entries of its token).
async fn concurrent_audit(db: Option<&str>) {
    let tp = std::sync::Arc::new(start(db).await);
    let hid = register_patient(&tp, "1975002231").await;
    let mut clients = Vec::new();
    for c in 0..8 {
        let tok = tp
            .peer
            .create_staff_token_with(&format!("desk {c}"), &[Role::Records], 30)
            .await
            .unwrap();
        let (tp, hid) = (tp.clone(), hid.clone());
        clients.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for k in 0..6 {
                let body = if k % 2 == 0 {
                    lab_report(&hid)
                } else {
                    json!({"health_id": hid, "kind": "lab_report", "resources": []})
                };
                let r = post_as(&tp, &tok.token, "/staff/records", &body).await;
                assert_eq!(r.status, if k % 2 == 0 { 201 } else { 422 }, "{}", r.text());
                statuses.push(i64::from(r.status));
                let mine: Vec<i64> = tp
                    .peer
                    .staff_audit()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|a| a.token_id == tok.id && a.action == "POST /staff/records")
                    .map(|a| a.status)
                    .collect();
                assert_eq!(mine, statuses, "client {c} after {} answers", k + 1);
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(tp.peer.record_count(None).await.unwrap(), 24);
    let audited = tp
        .peer
        .staff_audit()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "POST /staff/records")
        .count();
    assert_eq!(audited, 48);
    std::sync::Arc::into_inner(tp).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_staff_requests_are_each_audited_once_before_their_answer() {
    for db in engines("concurrent_staff_requests_are_each_audited_once_before_their_answer").await {
        concurrent_audit(db.as_deref()).await;
    }
}
