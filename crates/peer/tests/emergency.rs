//! Emergency (break-glass) access over real HTTP on 127.0.0.1 (SQLite, and PostgreSQL when
//! configured): a registered doctor's request with a reason, a second staff member's
//! confirmation, the summary limited to the emergency categories, the log entry of its own kind
//! in the patient's receipts; every refusal with its code and nothing stored; the patient's
//! policy (opt out, only named hospitals) and disputes, which the admin sees.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_ledger::merkle::{leaf_hash, verify_inclusion};
use spondon_ledger::{EntryKind, LogEntry, Opening, SignedCheckpoint, Verifier};
use spondon_peer::staff::Role;
use spondon_testkit::tiles::proof_hashes;

async fn staff(tp: &TestPeer, token: &str, method: &str, path: &str) -> Resp {
    let auth = format!("Bearer {token}");
    request(tp.addr, method, path, &[("Authorization", &auth)], b"").await
}

async fn issue(tp: &TestPeer, body: Value) -> String {
    let r = tp.staff_post("/staff/records", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

fn diagnosis(hid: &str) -> Value {
    json!({"health_id": hid, "kind": "diagnosis", "resources": [
        {"resourceType": "Condition",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}], "text": "Type 2 diabetes mellitus"}}]})
}

fn blood_group(hid: &str) -> Value {
    json!({"health_id": hid, "kind": "lab_report", "resources": [
        {"resourceType": "DiagnosticReport", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "882-1"}]}},
        {"resourceType": "Observation", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "882-1"}]},
         "valueCodeableConcept": {"text": "B Rh(D) positive"}}]})
}

async fn count(tp: &TestPeer, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_scalar(&sql).fetch_one(p).await.unwrap()
        }
    }
}

/// Moves a stored time of an access into the past: the hours (or the half hour to confirm)
/// have passed. Tests do not wait for the clock.
async fn age(tp: &TestPeer, column: &str, id: &str) {
    let sql = format!("UPDATE peer_emergency_access SET {column} = $1 WHERE id = $2");
    let past = NumericDate::now().seconds() - 1;
    let n = match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => sqlx::query(&sql)
            .bind(past)
            .bind(id)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        spondon_ledger::Database::Postgres(p) => sqlx::query(&sql)
            .bind(past)
            .bind(id)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(n, 1);
}

async fn summary(tp: &TestPeer, key: &Es256KeyPair, id: &str) -> Resp {
    signed(tp, key, "/emergency/summary", &json!({"access_id": id})).await
}

fn request_body(hid: &str) -> Value {
    json!({"health_id": hid, "reason": "unconscious",
           "details": "brought in unconscious after a road accident, no phone", "hours": 2})
}

/// The patient's receipts (signed pull), checked against the log: each entry opens with its
/// event and is included in the answer's checkpoint.
async fn receipts(tp: &TestPeer, patient: &Es256KeyPair) -> Vec<(EntryKind, Value)> {
    let r = signed(tp, patient, "/patient/receipts", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let verifier = Verifier::from_vkey(&tp.peer.log_vkey()).unwrap();
    let cp = SignedCheckpoint::verify(
        v["checkpoint"].as_str().unwrap().as_bytes(),
        &tp.peer.config.log_origin,
        &[verifier],
    )
    .unwrap();
    let std = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for rc in v["receipts"].as_array().unwrap() {
        let entry_bytes = std.decode(rc["entry"].as_str().unwrap()).unwrap();
        let entry = LogEntry::decode(&entry_bytes).unwrap();
        let salt: [u8; 32] = spondon_core::b64::decode_array(rc["salt"].as_str().unwrap()).unwrap();
        let payload = serde_json::to_vec(&rc["event"]).unwrap();
        assert!(entry.opens(&Opening { salt, payload }));
        let proof = proof_hashes(&rc["inclusion_proof"]);
        verify_inclusion(
            &leaf_hash(&entry_bytes),
            rc["log_index"].as_u64().unwrap(),
            cp.checkpoint.size,
            &proof,
            &cp.checkpoint.root,
        )
        .unwrap();
        out.push((entry.kind, rc["event"].clone()));
    }
    out
}

async fn scenario(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, patient) = enrolled_patient(&tp, "1975000777").await;
    let (bmdc, doctor) = register_doctor(&tp, "A-11111").await;
    let prescription_id = issue(&tp, prescription(&hid, &bmdc)).await;
    let diagnosis_id = issue(&tp, diagnosis(&hid)).await;
    let blood_id = issue(&tp, blood_group(&hid)).await;
    let cbc_id = issue(&tp, lab_report(&hid)).await;
    // The second staff member: an emergency desk's token; and a desk that may not confirm.
    let nurse = tp
        .peer
        .create_staff_token_with("emergency desk", &[Role::Records], 30)
        .await
        .unwrap()
        .token;
    let desk = tp
        .peer
        .create_staff_token_with("reception", &[Role::Registration], 30)
        .await
        .unwrap()
        .token;

    // --- Refusals of the request: each with its code, nothing stored. ---
    let req = "/emergency/requests";
    let r = signed(&tp, &doctor, req, &json!({"health_id": hid})).await;
    assert_eq!((r.status, r.code().as_str()), (400, "reason_required"));
    let r = signed(
        &tp,
        &doctor,
        req,
        &json!({"health_id": hid, "reason": "unconscious"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "reason_required"));
    let r = signed(
        &tp,
        &doctor,
        req,
        &json!({"health_id": hid, "reason": "", "details": "x"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "reason_required"));
    let r = signed(
        &tp,
        &doctor,
        req,
        &json!({"health_id": hid, "reason": "curious", "details": "x"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let mut long = request_body(&hid);
    long["details"] = json!("x".repeat(501));
    let r = signed(&tp, &doctor, req, &long).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let mut hours = request_body(&hid);
    hours["hours"] = json!(13);
    let r = signed(&tp, &doctor, req, &hours).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    // A key registered nowhere, and a doctor registered at another member hospital only.
    let stranger = Es256KeyPair::generate().unwrap();
    let r = signed(&tp, &stranger, req, &request_body(&hid)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "doctor_not_registered")
    );
    let (other_dir, other_token) = init_dir("https://other.example", None).await;
    let other = serve_dir(other_dir, other_token, None, |_| {}).await;
    let (_, elsewhere) = register_doctor(&other, "B-22222").await;
    other.stop().await;
    let r = signed(&tp, &elsewhere, req, &request_body(&hid)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "doctor_not_registered")
    );
    // A patient's key is not a doctor's.
    let r = signed(&tp, &patient, req, &request_body(&hid)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "doctor_not_registered")
    );
    // No signature at all.
    let r = request(
        tp.addr,
        "POST",
        req,
        &[("Content-Type", "application/json")],
        request_body(&hid).to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    let r = signed(&tp, &doctor, req, &request_body("1234-5678-9012-34")).await;
    assert_eq!((r.status, r.code().as_str()), (404, "unknown_patient"));
    assert_eq!(count(&tp, "peer_emergency_access").await, 0);
    let events = count(&tp, "peer_access_events").await;

    // --- The request waits for a second staff member. ---
    let r = signed(&tp, &doctor, req, &request_body(&hid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "pending_confirmation");
    let id = r.json()["access_id"].as_str().unwrap().to_owned();
    let r = summary(&tp, &doctor, &id).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "confirmation_required")
    );
    // Only a staff token confirms, and only one with the records (or admin) role.
    let confirm = format!("/staff/emergency/{id}/confirm");
    let r = request(tp.addr, "POST", &confirm, &[], b"").await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = staff(&tp, &desk, "POST", &confirm).await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    let r = staff(
        &tp,
        &nurse,
        "POST",
        "/staff/emergency/AAAAAAAAAAAAAAAAAAAAAA/confirm",
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "unknown_emergency_access")
    );
    assert_eq!(count(&tp, "peer_access_events").await, events);

    let r = staff(&tp, &nurse, "POST", &confirm).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let confirmed = r.json();
    assert_eq!(confirmed["records"], 3);
    let nurse_id = confirmed["confirmed_by"].as_str().unwrap().to_owned();
    let r = staff(&tp, &nurse, "POST", &confirm).await;
    assert_eq!((r.status, r.code().as_str()), (409, "already_confirmed"));

    // --- The summary: only the emergency categories, from this peer's signed records. ---
    let r = summary(&tp, &doctor, &id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let s = r.json();
    assert_eq!(s["patient"]["health_id"], hid.as_str());
    assert_eq!(s["patient"]["name"], "Fatema Begum");
    assert_eq!(
        s["medications"][0]["medication"],
        "Paracetamol 500 mg tablet"
    );
    assert_eq!(s["problems"][0]["code"], "E11.9");
    assert_eq!(s["blood_group"], "B Rh(D) positive");
    assert_eq!(s["allergies"], json!([]));
    let mut ids: Vec<&str> = s["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![
        prescription_id.as_str(),
        diagnosis_id.as_str(),
        blood_id.as_str(),
    ];
    want.sort_unstable();
    assert_eq!(ids, want, "the CBC ({cbc_id}) is not an emergency record");
    // Another registered doctor cannot read this access.
    let (_, colleague) = register_doctor(&tp, "A-33333").await;
    let r = summary(&tp, &colleague, &id).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "unknown_emergency_access")
    );

    // --- The receipt: an entry of its own kind, naming doctor, reason and the second person. ---
    let rs = receipts(&tp, &patient).await;
    let (kind, ev) = rs
        .iter()
        .find(|(_, e)| e["action"] == "emergency")
        .unwrap()
        .clone();
    assert_eq!(kind, EntryKind::EmergencyAccess);
    assert_eq!(ev["outcome"], "allowed");
    assert_eq!(ev["emergency"]["id"], id.as_str());
    assert_eq!(ev["emergency"]["doctor"]["bmdc"], bmdc.as_str());
    assert_eq!(ev["emergency"]["reason"], "unconscious");
    assert_eq!(ev["emergency"]["confirmed_by"], nurse_id.as_str());
    assert_eq!(ev["records"].as_array().unwrap().len(), 3);
    assert_eq!(ev["audience"], doctor.public_key().kid());

    // --- After the hours have passed: refused. ---
    age(&tp, "expires_at", &id).await;
    let r = summary(&tp, &doctor, &id).await;
    assert_eq!((r.status, r.code().as_str()), (403, "emergency_expired"));
    // A request nobody confirmed within the half hour lapses.
    let r = signed(&tp, &doctor, req, &request_body(&hid)).await;
    let lapsed = r.json()["access_id"].as_str().unwrap().to_owned();
    age(&tp, "confirm_by", &lapsed).await;
    let r = staff(
        &tp,
        &nurse,
        "POST",
        &format!("/staff/emergency/{lapsed}/confirm"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "emergency_expired"));

    // --- The patient's policy. ---
    let policy = "/patient/emergency-policy";
    let now = NumericDate::now().seconds();
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "only", "hospitals": [], "set_at": now}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "opt_out", "hospitals": [URL], "set_at": now}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "only", "hospitals": ["ftp://x"], "set_at": now}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "never", "set_at": now}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "malformed_json"));
    let r = signed(
        &tp,
        &stranger,
        policy,
        &json!({"mode": "opt_out", "set_at": now}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "not_enrolled"));
    assert_eq!(count(&tp, "peer_emergency_policies").await, 0);
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "opt_out", "set_at": now}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["allowed_here"], false);
    let before = count(&tp, "peer_emergency_access").await;
    let r = signed(&tp, &doctor, req, &request_body(&hid)).await;
    assert_eq!((r.status, r.code().as_str()), (403, "emergency_opted_out"));
    assert_eq!(count(&tp, "peer_emergency_access").await, before);
    // The refused attempt is the patient's receipt too (a denial, not an emergency entry).
    let rs = receipts(&tp, &patient).await;
    let (kind, ev) = rs.last().unwrap();
    assert_eq!(*kind, EntryKind::AccessDenied);
    assert_eq!(ev["action"], "emergency");
    assert_eq!(ev["reason"], "emergency_opted_out");
    // An older setting does not override a newer one.
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "allow", "set_at": now - 10}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "stale_emergency_policy")
    );
    // Only named hospitals: another one.
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "only", "hospitals": ["https://other.example"], "set_at": now + 1}),
    )
    .await;
    assert_eq!(r.json()["allowed_here"], false);
    let r = signed(&tp, &doctor, req, &request_body(&hid)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "emergency_hospital_not_allowed")
    );
    // … and this one.
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "only", "hospitals": ["https://other.example", URL], "set_at": now + 2}),
    )
    .await;
    assert_eq!(r.json()["allowed_here"], true);
    let r = signed(&tp, &doctor, req, &request_body(&hid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let pending = r.json()["access_id"].as_str().unwrap().to_owned();
    // Opting out after a request, before its confirmation, stops it.
    let r = signed(
        &tp,
        &patient,
        policy,
        &json!({"mode": "opt_out", "set_at": now + 3}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = staff(
        &tp,
        &nurse,
        "POST",
        &format!("/staff/emergency/{pending}/confirm"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "emergency_opted_out"));

    // --- Disputes, visible to the admin. ---
    let dispute = "/patient/emergency-disputes";
    let text = "I was not in Dhaka that day; I did not consent";
    let r = signed(
        &tp,
        &patient,
        dispute,
        &json!({"access_id": id, "text": ""}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = signed(
        &tp,
        &patient,
        dispute,
        &json!({"access_id": pending, "text": text}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "unknown_emergency_access")
    );
    let (_, someone) = enrolled_patient(&tp, "1975000888").await;
    let r = signed(
        &tp,
        &someone,
        dispute,
        &json!({"access_id": id, "text": text}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "unknown_emergency_access")
    );
    assert_eq!(count(&tp, "peer_emergency_disputes").await, 0);
    let r = signed(
        &tp,
        &patient,
        dispute,
        &json!({"access_id": id, "text": text}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = signed(
        &tp,
        &patient,
        dispute,
        &json!({"access_id": id, "text": text}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (409, "already_disputed"));
    let r = staff(&tp, &nurse, "GET", "/staff/emergency").await;
    assert_eq!((r.status, r.code().as_str()), (403, "role_required"));
    let r = staff(&tp, &tp.token, "GET", "/staff/emergency").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    let a = list["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["access_id"] == id.as_str())
        .unwrap();
    assert_eq!(a["dispute"]["text"], text);
    assert_eq!(a["status"], "expired");
    assert_eq!(a["confirmed_by"], nurse_id.as_str());
    assert_eq!(a["doctor_bmdc"], bmdc.as_str());
    let statuses: Vec<&str> = list["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"lapsed") && statuses.contains(&"pending"));
    tp.stop().await;
}

#[tokio::test]
async fn emergency_access_with_reason_confirmation_policy_and_disputes() {
    for db in engines("emergency_access_with_reason_confirmation_policy_and_disputes").await {
        scenario(db.as_deref()).await;
    }
}
