//! Lost phone (`docs/protocol.md` §17) over real HTTP, on SQLite and PostgreSQL: a key rotation
//! statement re-binds the patient, retires the old key for pulls, signed requests and grants
//! (`key_rotated`), is idempotent on retry, and every bad statement is refused with its code
//! and stores nothing; the identity-check path (a staff-issued code) retires a key the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Audience, Category, Grant, KeyRotation, PopProof, PopRequest, Purpose};

fn grant(patient: &Es256KeyPair, doctor: &Es256KeyPair) -> (Grant, String) {
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.public_key().kid().to_owned(),
        },
        categories: vec![Category::Prescription, Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    };
    let text = g.sign(patient).unwrap();
    (g, text)
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

/// A statement made by hand (any time, any keys), so that refusals can be built.
#[allow(clippy::too_many_arguments)]
fn statement(
    old: &Es256KeyPair,
    new: &Es256KeyPair,
    new_sig_by: &Es256KeyPair,
    hid: &str,
    peer: &str,
    at: NumericDate,
) -> String {
    let id = Grant::new_id().unwrap();
    let msg = KeyRotation::new_key_message(old.public_key(), new.public_key(), hid, peer, at, &id)
        .unwrap();
    KeyRotation {
        id,
        old_key: old.public_key().clone(),
        new_key: new.public_key().clone(),
        health_id: hid.to_owned(),
        peer: peer.to_owned(),
        issued_at: at,
        new_key_signature: new_sig_by.sign(&msg).unwrap(),
    }
    .sign(old)
    .unwrap()
}

async fn rotate(tp: &TestPeer, signer: &Es256KeyPair, statement: &str) -> Resp {
    signed(
        tp,
        signer,
        "/patient/rotate-key",
        &json!({"statement": statement}),
    )
    .await
}

/// The log size: every rotation appends to the log, so a refused one must leave it unchanged
/// (and the old key must still pull, which the test checks after the refusals).
async fn state(tp: &TestPeer) -> u64 {
    tp.peer.log.tree_head().await.0
}

async fn lost_phone(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, old) = enrolled_patient(&tp, "1990123456").await;
    let (hid2, other_patient) = enrolled_patient(&tp, "1985123456").await;
    let (_, doctor) = register_doctor(&tp, "A-10001").await;
    let r = tp
        .staff_post("/staff/records", &prescription(&hid, "A-10001"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (g, gtext) = grant(&old, &doctor);
    assert_eq!(redeem(&tp, &g, &gtext, &doctor).await.status, 200);
    let new = Es256KeyPair::generate().unwrap();
    let third = Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();

    // Refusals first; none of them changes anything.
    let before = state(&tp).await;
    let good = KeyRotation::create(&old, &new, &hid, URL, now).unwrap();
    // Signed by the old key instead of the new one.
    let r = rotate(&tp, &old, &good).await;
    assert_eq!((r.status, r.code().as_str()), (400, "rotation_mismatch"));
    // The new key's signature (field 6) by a third key.
    let forged = statement(&old, &new, &third, &hid, URL, now);
    let r = rotate(&tp, &new, &forged).await;
    assert_eq!((r.status, r.code().as_str()), (403, "bad_signature"));
    // Stale (held back or replayed): made 20 minutes ago.
    let stale = statement(&old, &new, &new, &hid, URL, now.saturating_add(-1200));
    let r = rotate(&tp, &new, &stale).await;
    assert_eq!((r.status, r.code().as_str()), (403, "rotation_stale"));
    // For another peer.
    let elsewhere = statement(&old, &new, &new, &hid, "https://cmch.example", now);
    let r = rotate(&tp, &new, &elsewhere).await;
    assert_eq!((r.status, r.code().as_str()), (403, "wrong_peer"));
    // Another patient's Health ID.
    let wrong_hid = statement(&old, &new, &new, &hid2, URL, now);
    let r = rotate(&tp, &new, &wrong_hid).await;
    assert_eq!((r.status, r.code().as_str()), (400, "rotation_mismatch"));
    // An old key never enrolled here.
    let stranger = statement(&third, &new, &new, &hid, URL, now);
    let r = rotate(&tp, &new, &stranger).await;
    assert_eq!((r.status, r.code().as_str()), (401, "not_enrolled"));
    // A new key already bound to someone (another patient's key).
    let taken = statement(&old, &other_patient, &other_patient, &hid, URL, now);
    let r = rotate(&tp, &other_patient, &taken).await;
    assert_eq!((r.status, r.code().as_str()), (409, "key_in_use"));
    // Not a statement at all.
    let r = rotate(&tp, &new, &gtext).await;
    assert_eq!((r.status, r.code().as_str()), (403, "kind_mismatch"));
    let r = signed(
        &tp,
        &new,
        "/patient/rotate-key",
        &json!({"statement": good, "extra": 1}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(state(&tp).await, before, "nothing stored on refusals");
    // The old key still works until the rotation.
    assert_eq!(
        signed(&tp, &old, "/patient/records", &json!({}))
            .await
            .status,
        200
    );

    // The rotation.
    let r = rotate(&tp, &new, &good).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let done = r.json();
    assert_eq!(done["health_id"], hid.as_str());
    assert_eq!(done["old_kid"], old.kid());
    assert_eq!(done["kid"], new.kid());
    assert_eq!(done["already"], false);
    let cred =
        spondon_core::token::decode_any(done["enrollment_credential"].as_str().unwrap()).unwrap();
    let spondon_core::token::TokenClaims::Enrollment(e) = cred.claims else {
        panic!("not an enrollment credential")
    };
    assert_eq!(&e.patient_key, new.public_key());
    assert_eq!(e.health_id, hid);

    // The old key is refused everywhere with key_rotated; its grant too (and that refusal is
    // the patient's receipt).
    let r = signed(&tp, &old, "/patient/records", &json!({})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "key_rotated"));
    let r = signed(&tp, &old, "/patient/receipts", &json!({})).await;
    assert_eq!(r.code(), "key_rotated");
    let r = redeem(&tp, &g, &gtext, &doctor).await;
    assert_eq!((r.status, r.code().as_str()), (403, "key_rotated"));
    // A grant the thief makes with the old key after the rotation is refused the same way.
    let (g2, g2text) = grant(&old, &doctor);
    assert_eq!(
        redeem(&tp, &g2, &g2text, &doctor).await.code(),
        "key_rotated"
    );
    // The new key pulls everything.
    let r = signed(&tp, &new, "/patient/records", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 1);
    // The audit shows the rotation and the refused grants.
    let r = signed(&tp, &new, "/patient/receipts", &json!({})).await;
    let receipts = r.json()["receipts"].as_array().unwrap().clone();
    let rotation: Vec<&Value> = receipts
        .iter()
        .filter(|x| x["event"]["action"] == "key_rotation")
        .collect();
    assert_eq!(rotation.len(), 1);
    assert_eq!(rotation[0]["event"]["old_kid"], old.kid());
    assert_eq!(rotation[0]["event"]["new_kid"], new.kid());
    assert_eq!(rotation[0]["event"]["via"], "statement");
    assert_eq!(
        rotation[0]["log_index"].as_u64(),
        done["log_index"].as_u64()
    );
    let refused = receipts
        .iter()
        .filter(|x| x["event"]["reason"] == "key_rotated")
        .count();
    assert_eq!(refused, 2);

    // Retry (a wallet that lost the answer): a fresh statement for the same keys is answered
    // with the binding as it is, and nothing is logged again.
    let size = tp.peer.log.tree_head().await.0;
    let again = KeyRotation::create(&old, &new, &hid, URL, NumericDate::now()).unwrap();
    let r = rotate(&tp, &new, &again).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["already"], true);
    assert_eq!(r.json()["log_index"], done["log_index"]);
    // The very same statement again (replayed by whoever holds the new key): the same answer.
    assert_eq!(rotate(&tp, &new, &good).await.json()["already"], true);
    assert_eq!(tp.peer.log.tree_head().await.0, size);
    // A thief holding the old key cannot rotate it to their own key now.
    let theirs = KeyRotation::create(&old, &third, &hid, URL, NumericDate::now()).unwrap();
    let r = rotate(&tp, &third, &theirs).await;
    assert_eq!((r.status, r.code().as_str()), (403, "key_rotated"));

    // Identity check: the desk issues a new code and a third key redeems it; the key bound so
    // far is retired the same way, and the first rotation's retry is no longer "already".
    let r = tp
        .staff_post(
            &format!("/staff/patients/{hid}/enrollment-code"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let desk = Es256KeyPair::generate().unwrap();
    // A key already enrolled cannot take the code (and does not use it up).
    assert_eq!(enroll(&tp, &other_patient, &hid, &code).await.status, 400);
    let r = enroll(&tp, &desk, &hid, &code).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = signed(&tp, &new, "/patient/records", &json!({})).await;
    assert_eq!(r.code(), "key_rotated");
    let again = KeyRotation::create(&old, &new, &hid, URL, NumericDate::now()).unwrap();
    assert_eq!(rotate(&tp, &new, &again).await.code(), "key_rotated");
    let r = signed(&tp, &desk, "/patient/records", &json!({})).await;
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 1);
    let r = signed(&tp, &desk, "/patient/receipts", &json!({})).await;
    let vias: Vec<String> = r.json()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["event"]["action"] == "key_rotation")
        .map(|x| x["event"]["via"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(vias, ["statement", "identity_check"]);
    // The code is used up.
    let fourth = Es256KeyPair::generate().unwrap();
    assert_eq!(
        enroll(&tp, &fourth, &hid, &code).await.code(),
        "enrollment_code_invalid"
    );
    // The other patient is untouched.
    assert_eq!(
        signed(&tp, &other_patient, "/patient/records", &json!({}))
            .await
            .status,
        200
    );
    tp.stop().await;
}

#[tokio::test]
async fn a_lost_phones_key_is_rotated_and_refused_from_then_on() {
    for db in engines("a_lost_phones_key_is_rotated_and_refused_from_then_on").await {
        lost_phone(db.as_deref()).await;
    }
}
