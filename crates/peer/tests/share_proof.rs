//! The hospital's proof of sharing over real HTTP (`POST /staff/share-proofs`): a doctor reads
//! records under a patient's grant; the hospital's share proof of that access verifies against
//! a trust list of this peer, holds no record content, and is refused for refused accesses,
//! unknown indices, bad investigator ids and tokens without the admin role.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{
    Audience, Category, Grant, Hospital, Investigator, PopProof, PopRequest, Purpose,
    SignedRequest, SignedRequestTarget, TrustList,
};
use spondon_ledger::share_proof::{self, Maker};

async fn nonce(tp: &TestPeer) -> Vec<u8> {
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 201);
    spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap()
}

async fn enroll(tp: &TestPeer, hid: &str, code: &str, key: &Es256KeyPair) {
    let body = json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()})
        .to_string()
        .into_bytes();
    let n = nonce(tp).await;
    let url = format!("{URL}/patient/enroll");
    let sig = SignedRequest::create(
        key,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: &n,
            body: &body,
        },
        NumericDate::now(),
    )
    .unwrap();
    let r = request(
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
}

async fn redeem(tp: &TestPeer, g: &Grant, text: &str, doctor: &Es256KeyPair) -> Resp {
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/records");
    let body = json!({"grant": text}).to_string().into_bytes();
    let pop = PopProof::create(
        doctor,
        g.id,
        &PopRequest {
            method: "POST",
            url: &url,
            nonce: &n,
            body: &body,
        },
        NumericDate::now(),
    )
    .unwrap();
    request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await
}

fn trust_list(tp: &TestPeer) -> TrustList {
    let now = NumericDate::now();
    TrustList {
        authority: "DGHS".into(),
        sequence: 1,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
        hospitals: vec![Hospital {
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: URL.into(),
            record_keys: vec![tp.peer.keys.record.public_key().clone()],
            log_key: *tp.peer.keys.log.public_key(),
            log_origin: tp.peer.log_signer.verifier().name().to_owned(),
        }],
        witnessing: Default::default(),
        publish_url: None,
        investigators: vec![Investigator {
            id: "cid.dmp".into(),
            name: "Criminal Investigation Department, DMP".into(),
        }],
    }
}

async fn scenario(db: Option<&str>) {
    let tp = start(db).await;
    let r = tp
        .staff_post("/staff/patients", &patient_json("1987654321"))
        .await;
    assert_eq!(r.status, 201);
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    enroll(&tp, &hid, &code, &patient).await;
    let (_, doctor) = register_doctor(&tp, "A-54321").await;
    let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let lab_id = r.json()["id"].as_str().unwrap().to_owned();
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    };
    let text = g.sign(&patient).unwrap();
    let r = redeem(&tp, &g, &text, &doctor).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let index = r.json()["access_log_index"].as_u64().unwrap();

    // The hospital's share proof of that access.
    let r = tp
        .staff_post(
            "/staff/share-proofs",
            &json!({"log_index": index, "investigator": "cid.dmp"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["records"], 1);
    let proof = answer["share_proof"].as_str().unwrap();
    let list = trust_list(&tp);
    let v = share_proof::verify(proof.as_bytes(), &list).unwrap();
    assert_eq!(v.maker, Maker::Hospital);
    assert_eq!(v.records[0].id, lab_id);
    assert_eq!(v.records[0].kind, "lab_report");
    assert_eq!(v.doctor.as_ref().unwrap().bmdc_number, "A-54321");
    assert_eq!(v.grant.id, spondon_core::b64::encode(g.id));
    assert_eq!(v.grant.patient_kid, patient.kid());
    assert_eq!(v.at, answer["at"].as_i64().unwrap());
    // No record content.
    let payload = spondon_core::b64::decode(proof.split('.').nth(1).unwrap()).unwrap();
    for secret in [
        "Platelets",
        "CBC panel",
        "58410-2",
        "Fatema Begum",
        "1987654321",
        hid.as_str(),
    ] {
        assert!(!proof.contains(secret) && !String::from_utf8_lossy(&payload).contains(secret));
    }
    // Altered: refused.
    let mut parts: Vec<String> = proof.split('.').map(str::to_owned).collect();
    let mut p: Value = serde_json::from_slice(&payload).unwrap();
    p["records"][0]["kind"] = json!("prescription");
    parts[1] = spondon_core::b64::encode(serde_json::to_vec(&p).unwrap());
    let e = share_proof::verify(parts.join(".").as_bytes(), &list).unwrap_err();
    assert_eq!(e.code(), "bad_signature");

    // A doctor's write under a write grant: the access names the record it added, logged just
    // before it.
    let now = NumericDate::now();
    let wg = Grant {
        id: Grant::new_id().unwrap(),
        categories: vec![Category::Prescription],
        write: true,
        issued_at: now,
        not_before: now,
        ..g.clone()
    };
    let wtext = wg.sign(&patient).unwrap();
    let body = json!({"grant": wtext, "kind": "prescription", "resources": [
        {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
         "medicationCodeableConcept": {"text": "Amoxicillin 500 mg capsule"},
         "dosageInstruction": [{"text": "1 capsule three times daily for 7 days"}]}]})
    .to_string()
    .into_bytes();
    let n = nonce(&tp).await;
    let pop = PopProof::create(
        &doctor,
        wg.id,
        &PopRequest {
            method: "POST",
            url: &format!("{URL}/grant/write"),
            nonce: &n,
            body: &body,
        },
        NumericDate::now(),
    )
    .unwrap();
    let r = request(
        tp.addr,
        "POST",
        "/grant/write",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let written = r.json()["id"].as_str().unwrap().to_owned();
    let (size, _) = tp.peer.log.tree_head().await;
    let r = tp
        .staff_post(
            "/staff/share-proofs",
            &json!({"log_index": size - 1, "investigator": "cid.dmp"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let w =
        share_proof::verify(r.json()["share_proof"].as_str().unwrap().as_bytes(), &list).unwrap();
    assert_eq!(w.action, "write");
    assert_eq!(w.records[0].id, written);
    assert_eq!(w.records[0].kind, "prescription");
    assert!(!r.text().contains("Amoxicillin"));

    // A refused access: nothing was shared.
    let other = Es256KeyPair::generate().unwrap();
    let r = redeem(&tp, &g, &text, &other).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let (size, _) = tp.peer.log.tree_head().await;
    let r = tp
        .staff_post(
            "/staff/share-proofs",
            &json!({"log_index": size - 1, "investigator": "cid.dmp"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "invalid_field");
    // Not an access at all, a bad investigator id, unknown fields.
    for body in [
        json!({"log_index": 0, "investigator": "cid.dmp"}),
        json!({"log_index": index, "investigator": "CID DMP"}),
        json!({"log_index": index, "investigator": "cid.dmp", "extra": 1}),
    ] {
        let r = tp.staff_post("/staff/share-proofs", &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
    // No witness has cosigned anything: asking for a witnessed checkpoint is 404 not_witnessed.
    let r = tp
        .staff_post(
            "/staff/share-proofs",
            &json!({"log_index": index, "investigator": "cid.dmp", "min_cosignatures": 1}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.code(), "not_witnessed");
    // Without a token: refused.
    let r = request(
        tp.addr,
        "POST",
        "/staff/share-proofs",
        &[("Content-Type", "application/json")],
        json!({"log_index": index, "investigator": "cid.dmp"})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(r.status, 401);
    tp.stop().await;
}

#[tokio::test]
async fn the_hospital_makes_a_share_proof_that_verifies() {
    for db in engines("share_proof").await {
        scenario(db.as_deref()).await;
    }
}
