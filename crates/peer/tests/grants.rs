//! The authorization matrix over real HTTP on 127.0.0.1: grant states × checks; every denial
//! holds, is logged, and (when the patient is known) shows up in the patient's receipts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use std::collections::BTreeSet;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::ParsedCard;
use spondon_core::token::{
    Audience, Category, Grant, PopProof, PopRequest, Purpose, Revocation, RevocationTarget,
};
use spondon_ledger::merkle::{leaf_hash, verify_inclusion};
use spondon_ledger::{LogEntry, Opening, SignedCheckpoint, Verifier};
use spondon_testkit::tiles::proof_hashes;

fn grant(
    patient: &Es256KeyPair,
    doctor: &Es256KeyPair,
    edit: impl FnOnce(&mut Grant),
) -> (Grant, String) {
    let now = NumericDate::now();
    let mut g = Grant {
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
    edit(&mut g);
    let text = g.sign(patient).unwrap();
    (g, text)
}

/// Redeems with a fresh nonce and a PoP by `pop_key`.
async fn redeem(
    tp: &TestPeer,
    g: &Grant,
    text: &str,
    pop_key: &Es256KeyPair,
    extra: Value,
) -> (Resp, String, Vec<u8>) {
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/records");
    let mut body = json!({"grant": text});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    let body = body.to_string().into_bytes();
    let pop = PopProof::create(
        pop_key,
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
    let r = request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await;
    (r, pop, body)
}

async fn denied_events(tp: &TestPeer) -> u64 {
    tp.peer.log.tree_head().await.0
}

async fn matrix(db: Option<&str>) {
    let tp = start(db).await;
    // A patient with an enrolled wallet key, a doctor, records of three categories.
    let r = tp
        .staff_post("/staff/patients", &patient_json("1975000111"))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": patient.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (bmdc, doctor) = register_doctor(&tp, "A-2001").await;
    let other_doctor = Es256KeyPair::generate().unwrap();
    let rx = tp
        .staff_post("/staff/records", &prescription(&hid, &bmdc))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lab = tp
        .staff_post("/staff/records", &lab_report(&hid))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dx = tp.staff_post("/staff/records", &json!({"health_id": hid, "kind": "diagnosis", "resources": [
        {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]}}]})).await.json()["id"].as_str().unwrap().to_owned();
    // Another patient's records are never served.
    let hid2 = register_patient(&tp, "1975000222").await;
    assert_eq!(
        tp.staff_post("/staff/records", &prescription(&hid2, &bmdc))
            .await
            .status,
        201
    );

    // Valid: exactly the granted set, each card verifiable and proven in the checkpoint.
    let (g, text) = grant(&patient, &doctor, |_| {});
    let (r, pop, body) = redeem(&tp, &g, &text, &doctor, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    let got: BTreeSet<String> = out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, BTreeSet::from([rx.clone(), lab.clone()]));
    let vkey = Verifier::from_vkey(&tp.peer.log_vkey()).unwrap();
    let cp = SignedCheckpoint::verify(
        out["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        std::slice::from_ref(&vkey),
    )
    .unwrap();
    for rec in out["records"].as_array().unwrap() {
        ParsedCard::parse(rec["jws"].as_str().unwrap()).unwrap();
        let entry = base64::engine::general_purpose::STANDARD
            .decode(rec["entry"].as_str().unwrap())
            .unwrap();
        let proof = proof_hashes(&rec["inclusion_proof"]);
        verify_inclusion(
            &leaf_hash(&entry),
            rec["log_index"].as_u64().unwrap(),
            cp.checkpoint.size,
            &proof,
            &cp.checkpoint.root,
        )
        .unwrap();
    }
    // Only asked-for ids, when covered.
    let (r, _, _) = redeem(&tp, &g, &text, &doctor, json!({"record_ids": [lab]})).await;
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 1);

    // Every denial, with its specific code.
    let mut expect_receipts: Vec<&str> = Vec::new();
    let deny = |r: &Resp, status: u16, code: &str| {
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{}",
            r.text()
        );
    };
    // Replayed: the same request again (the nonce is single-use).
    let r = request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await;
    deny(&r, 401, "nonce_reused");
    expect_receipts.push("nonce_reused");
    // Expired, not yet valid.
    let now = NumericDate::now().0;
    let (ge, te) = grant(&patient, &doctor, |g| {
        g.issued_at = NumericDate(now - 7200);
        g.not_before = NumericDate(now - 7200);
        g.expires = NumericDate(now - 3600);
    });
    deny(
        &redeem(&tp, &ge, &te, &doctor, json!({})).await.0,
        403,
        "expired",
    );
    expect_receipts.push("expired");
    let (gn, tn) = grant(&patient, &doctor, |g| {
        g.not_before = NumericDate(now + 3600);
        g.expires = NumericDate(now + 7200);
    });
    deny(
        &redeem(&tp, &gn, &tn, &doctor, json!({})).await.0,
        403,
        "not_yet_valid",
    );
    expect_receipts.push("not_yet_valid");
    // Dated beyond the clock skew: a thief's grant meant to outlive a revocation.
    let (gf, tf) = grant(&patient, &doctor, |g| {
        g.issued_at = NumericDate(now + 86_400);
        g.expires = NumericDate(now + 2 * 86_400);
    });
    deny(
        &redeem(&tp, &gf, &tf, &doctor, json!({})).await.0,
        403,
        "iat_in_future",
    );
    expect_receipts.push("iat_in_future");
    // Wrong audience: a PoP by another key.
    deny(
        &redeem(&tp, &g, &text, &other_doctor, json!({})).await.0,
        401,
        "pop_key_mismatch",
    );
    expect_receipts.push("pop_key_mismatch");
    // The proof covers the body: replaying its header on another body (other record ids) with
    // a fresh nonce is refused.
    {
        let n = nonce(&tp).await;
        let url = format!("{URL}/grant/records");
        let signed_body = json!({"grant": text}).to_string();
        let pop = PopProof::create(
            &doctor,
            g.id,
            &PopRequest {
                method: "POST",
                url: &url,
                nonce: &n,
                body: signed_body.as_bytes(),
            },
            NumericDate::now(),
        )
        .unwrap();
        let other = json!({"grant": text, "record_ids": [lab]}).to_string();
        let r = request(
            tp.addr,
            "POST",
            "/grant/records",
            &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
            other.as_bytes(),
        )
        .await;
        deny(&r, 401, "pop_mismatch");
        expect_receipts.push("pop_mismatch");
    }
    // No PoP at all.
    let r = request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json")],
        json!({"grant": text}).to_string().as_bytes(),
    )
    .await;
    deny(&r, 401, "pop_required");
    expect_receipts.push("pop_required");
    // Out of scope: a diagnosis the grant does not cover; an unknown id.
    deny(
        &redeem(&tp, &g, &text, &doctor, json!({"record_ids": [dx]}))
            .await
            .0,
        403,
        "out_of_scope",
    );
    deny(
        &redeem(
            &tp,
            &g,
            &text,
            &doctor,
            json!({"record_ids": ["AAAAAAAAAAAAAAAAAAAAAA"]}),
        )
        .await
        .0,
        403,
        "out_of_scope",
    );
    expect_receipts.extend(["out_of_scope", "out_of_scope"]);
    // Another peer's grant.
    let (gw, tw) = grant(&patient, &doctor, |g| {
        g.peers = vec!["https://other.example".into()]
    });
    deny(
        &redeem(&tp, &gw, &tw, &doctor, json!({})).await.0,
        403,
        "wrong_peer",
    );
    expect_receipts.push("wrong_peer");
    // Use limit: two uses, then refused (and the refused attempt does not count).
    let (gl, tl) = grant(&patient, &doctor, |g| g.use_limit = Some(2));
    for _ in 0..2 {
        assert_eq!(
            redeem(&tp, &gl, &tl, &doctor, json!({})).await.0.status,
            200
        );
    }
    deny(
        &redeem(&tp, &gl, &tl, &doctor, json!({})).await.0,
        403,
        "use_limit_exceeded",
    );
    expect_receipts.push("use_limit_exceeded");
    // Revoked, effective at once: one grant by id, then all grants issued before a time.
    let rev = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: g.id },
        issued_at: NumericDate::now(),
    }
    .sign(&patient)
    .unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/revocations",
        &json!({"revocation": rev}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = signed(
        &tp,
        &patient,
        "/patient/revocations",
        &json!({"revocation": rev}),
    )
    .await;
    assert_eq!(r.code(), "duplicate_revocation");
    deny(
        &redeem(&tp, &g, &text, &doctor, json!({})).await.0,
        403,
        "revoked",
    );
    expect_receipts.push("revoked");
    let (g2, t2) = grant(&patient, &doctor, |_| {});
    assert_eq!(
        redeem(&tp, &g2, &t2, &doctor, json!({})).await.0.status,
        200
    );
    let all = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::IssuedBefore {
            before: NumericDate(NumericDate::now().0 + 1),
        },
        issued_at: NumericDate::now(),
    }
    .sign(&patient)
    .unwrap();
    assert_eq!(
        signed(
            &tp,
            &patient,
            "/patient/revocations",
            &json!({"revocation": all})
        )
        .await
        .status,
        201
    );
    deny(
        &redeem(&tp, &g2, &t2, &doctor, json!({})).await.0,
        403,
        "revoked",
    );
    expect_receipts.push("revoked");
    // Revoke-all covers every grant of the key, even one dated after the revocation (within the
    // clock skew, so usable now) and one signed after it.
    let (gd, td) = grant(&patient, &doctor, |g| {
        g.issued_at = NumericDate(NumericDate::now().0 + 200);
    });
    deny(
        &redeem(&tp, &gd, &td, &doctor, json!({})).await.0,
        403,
        "revoked",
    );
    expect_receipts.push("revoked");
    // A revocation must come from the patient's own enrolled key.
    let stranger = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &stranger,
        "/patient/revocations",
        &json!({"revocation": rev}),
    )
    .await;
    deny(&r, 401, "not_enrolled");

    // Not attributable to any patient, but still logged: forged signature, unenrolled key.
    let before = denied_events(&tp).await;
    let mut cose = spondon_core::token::raw::from_text(&t2).unwrap();
    let n = cose.len();
    cose[n - 1] ^= 1;
    let forged = spondon_core::token::raw::to_text(&cose);
    deny(
        &redeem(&tp, &g2, &forged, &doctor, json!({})).await.0,
        403,
        "bad_signature",
    );
    let (gu, tu) = grant(&stranger, &doctor, |_| {});
    deny(
        &redeem(&tp, &gu, &tu, &doctor, json!({})).await.0,
        403,
        "patient_not_enrolled",
    );
    // Neither carries a verified grant of a patient enrolled here: counted, not logged (anyone
    // could otherwise fill the log with junk).
    assert_eq!(denied_events(&tp).await, before, "no log entry for junk");
    let counted = tp.peer.unlogged_refusals();
    assert_eq!(counted.get("bad_signature"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("patient_not_enrolled"), Some(&1), "{counted:?}");
    // Malformed input is refused before any check (nothing to attribute, nothing logged).
    let r = request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json")],
        b"{\"grant\": 5}",
    )
    .await;
    deny(&r, 400, "malformed_json");

    // The patient's receipts: every allowed access and every attributable denial, each opening
    // its log entry, proven in the checkpoint.
    let r = signed(&tp, &patient, "/patient/receipts", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = r.json();
    let cp = SignedCheckpoint::verify(
        rec["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        std::slice::from_ref(&vkey),
    )
    .unwrap();
    let mut denied: Vec<String> = Vec::new();
    let mut allowed = 0;
    for x in rec["receipts"].as_array().unwrap() {
        let entry_bytes = base64::engine::general_purpose::STANDARD
            .decode(x["entry"].as_str().unwrap())
            .unwrap();
        let entry = LogEntry::decode(&entry_bytes).unwrap();
        let salt: [u8; 32] = spondon_core::b64::decode(x["salt"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(
            entry.opens(&Opening {
                salt,
                payload: x["event"].to_string().into_bytes()
            }),
            "{}",
            x["event"]
        );
        let proof = proof_hashes(&x["inclusion_proof"]);
        verify_inclusion(
            &leaf_hash(&entry_bytes),
            x["log_index"].as_u64().unwrap(),
            cp.checkpoint.size,
            &proof,
            &cp.checkpoint.root,
        )
        .unwrap();
        match x["event"]["outcome"].as_str().unwrap() {
            "allowed" => {
                allowed += 1;
                assert_eq!(x["event"]["audience"], doctor.public_key().kid());
            }
            _ => denied.push(x["event"]["reason"].as_str().unwrap().to_owned()),
        }
    }
    assert_eq!(allowed, 5);
    let mut want: Vec<String> = expect_receipts.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    denied.sort();
    assert_eq!(denied, want);
    tp.stop().await;
}

#[tokio::test]
async fn authorization_matrix_over_http() {
    for db in engines("authorization_matrix_over_http").await {
        matrix(db.as_deref()).await;
    }
}

/// A second peer serving the data directory and database of `tp` (on PostgreSQL: what another
/// `serve` process is, with its own pools, locks and memory); stopped when the sender drops.
async fn second_peer(tp: &TestPeer) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let data = spondon_peer::config::DataDir::new(tp.dir.path().join("peer"));
    let peer = std::sync::Arc::new(
        Box::pin(spondon_peer::Peer::from_parts(
            data.config().unwrap(),
            data.keys().unwrap(),
        ))
        .await
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = spondon_peer::http::router(peer);
    tokio::spawn(async move {
        spondon_peer::http::serve(listener, app, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// One redemption (one nonce, one proof of possession) sent many times at once, so that the
/// copies race into the same group commits (the proof is spent in the access event's
/// transaction): exactly one is answered with the records, every other copy is refused
/// `nonce_reused` and logged as the patient's receipt, and the next redemption is answered. On
/// PostgreSQL the copies are spread over two peers sharing the database.
async fn racing_replays(db: Option<&str>) {
    let tp = start(db).await;
    let second = match db {
        Some(_) => Some(second_peer(&tp).await),
        None => None,
    };
    let mut addrs = vec![tp.addr];
    addrs.extend(second.as_ref().map(|(a, _)| *a));
    let r = tp
        .staff_post("/staff/patients", &patient_json("1975000333"))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": patient.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (bmdc, doctor) = register_doctor(&tp, "A-2003").await;
    assert_eq!(
        tp.staff_post("/staff/records", &prescription(&hid, &bmdc))
            .await
            .status,
        201
    );
    let (g, text) = grant(&patient, &doctor, |_| {});
    const COPIES: usize = 12;
    for round in 0..3 {
        let n = nonce(&tp).await;
        let body = json!({"grant": text}).to_string().into_bytes();
        let pop = PopProof::create(
            &doctor,
            g.id,
            &PopRequest {
                method: "POST",
                url: &format!("{URL}/grant/records"),
                nonce: &n,
                body: &body,
            },
            NumericDate::now(),
        )
        .unwrap();
        let mut set = tokio::task::JoinSet::new();
        for k in 0..COPIES {
            let (addr, pop, body) = (addrs[k % addrs.len()], pop.clone(), body.clone());
            set.spawn(async move {
                let r = request(
                    addr,
                    "POST",
                    "/grant/records",
                    &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
                    &body,
                )
                .await;
                if r.status == 200 {
                    (
                        200,
                        String::new(),
                        r.json()["records"].as_array().unwrap().len(),
                    )
                } else {
                    (r.status, r.code(), 0)
                }
            });
        }
        let mut answered = 0;
        while let Some(r) = set.join_next().await {
            match r.unwrap() {
                (200, _, n) => {
                    assert_eq!(n, 1);
                    answered += 1;
                }
                (s, code, _) => {
                    assert_eq!((s, code.as_str()), (401, "nonce_reused"), "round {round}")
                }
            }
        }
        assert_eq!(answered, 1, "round {round}: one copy answered");
    }
    // Every copy is the patient's receipt: 3 allowed, the rest refused as replays.
    let r = signed(&tp, &patient, "/patient/receipts", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (mut allowed, mut replayed) = (0, 0);
    for x in r.json()["receipts"].as_array().unwrap() {
        match (
            x["event"]["outcome"].as_str(),
            x["event"]["reason"].as_str(),
        ) {
            (Some("allowed"), _) => allowed += 1,
            (Some("denied"), Some("nonce_reused")) => replayed += 1,
            other => panic!("unexpected receipt {other:?}"),
        }
    }
    assert_eq!((allowed, replayed), (3, 3 * (COPIES - 1)));
    let (r, _, _) = redeem(&tp, &g, &text, &doctor, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    drop(second);
    tp.stop().await;
}

#[tokio::test]
async fn racing_copies_of_one_redemption_are_answered_once() {
    for db in engines("racing_copies_of_one_redemption_are_answered_once").await {
        racing_replays(db.as_deref()).await;
    }
}

async fn write(tp: &TestPeer, key: &Es256KeyPair, g: &Grant, text: &str, resources: Value) -> Resp {
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/write");
    let body = json!({"grant": text, "kind": "prescription", "resources": resources}).to_string();
    let pop = PopProof::create(
        key,
        g.id,
        &PopRequest {
            method: "POST",
            url: &url,
            nonce: &n,
            body: body.as_bytes(),
        },
        NumericDate::now(),
    )
    .unwrap();
    request(
        tp.addr,
        "POST",
        "/grant/write",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        body.as_bytes(),
    )
    .await
}

async fn writes(db: Option<&str>) {
    let tp = start(db).await;
    let r = tp
        .staff_post("/staff/patients", &patient_json("1975000333"))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": patient.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201);
    let (_, doctor) = register_doctor(&tp, "W-1").await;
    let unregistered = Es256KeyPair::generate().unwrap();
    let rx = prescription(&hid, "unused");
    let (gw, tw) = grant(&patient, &doctor, |g| {
        g.write = true;
        g.categories = vec![Category::Prescription];
    });
    let r = write(&tp, &doctor, &gw, &tw, rx["resources"].clone()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let (stored, _) = tp.peer.stored_record(&id).await.unwrap();
    let card = ParsedCard::parse(&stored.jws).unwrap();
    assert_eq!(
        card.fhir_bundle()["entry"][1]["resource"]["identifier"][0]["value"],
        "W-1"
    );
    // Invalid FHIR: refused, nothing stored.
    let before = tp.peer.record_count(None).await.unwrap();
    let r = write(
        &tp,
        &doctor,
        &gw,
        &tw,
        json!([{"resourceType": "MedicationRequest", "intent": "order"}]),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_fhir"));
    assert_eq!(tp.peer.record_count(None).await.unwrap(), before);
    // A read-only grant cannot write; nor a write grant for another category.
    let (gr, tr) = grant(&patient, &doctor, |_| {});
    let r = write(&tp, &doctor, &gr, &tr, rx["resources"].clone()).await;
    assert_eq!((r.status, r.code().as_str()), (403, "out_of_scope"));
    let (gc, tc) = grant(&patient, &doctor, |g| {
        g.write = true;
        g.categories = vec![Category::LabResult];
    });
    assert_eq!(
        write(&tp, &doctor, &gc, &tc, rx["resources"].clone())
            .await
            .code(),
        "out_of_scope"
    );
    // The audience must be a registered doctor.
    let (gu, tu) = grant(&patient, &unregistered, |g| {
        g.write = true;
        g.categories = vec![Category::Prescription];
    });
    let r = write(&tp, &unregistered, &gu, &tu, rx["resources"].clone()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "doctor_not_registered")
    );
    assert_eq!(tp.peer.record_count(None).await.unwrap(), before);
    // All of it is in the patient's receipts.
    let r = signed(&tp, &patient, "/patient/receipts", &json!({})).await;
    let reasons: Vec<Value> = r.json()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["event"]["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        vec![
            Value::Null,
            json!("out_of_scope"),
            json!("out_of_scope"),
            json!("doctor_not_registered")
        ]
    );
    // Proof of possession comes first: without it nothing about the record is looked at (no
    // FHIR verdict, no record-id oracle through `supersedes`), and the refusal is logged.
    let size = denied_events(&tp).await;
    let r = write(
        &tp,
        &unregistered,
        &gw,
        &tw,
        json!([{"resourceType": "MedicationRequest", "intent": "order"}]),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "pop_key_mismatch"));
    let body = json!({"grant": tw, "kind": "prescription", "supersedes": "no-such-record",
        "resources": rx["resources"]});
    let r = request(
        tp.addr,
        "POST",
        "/grant/write",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "pop_required"));
    assert_eq!(
        denied_events(&tp).await,
        size + 2,
        "both refusals are logged"
    );
    // Supersede: only a record the grant covers and this doctor wrote.
    let dx = tp.staff_post("/staff/records", &json!({"health_id": hid, "kind": "diagnosis", "resources": [
        {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]}}]})).await.json()["id"].as_str().unwrap().to_owned();
    let (other_bmdc, _) = register_doctor(&tp, "W-2").await;
    let theirs = tp
        .staff_post("/staff/records", &prescription(&hid, &other_bmdc))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = tp.peer.record_count(None).await.unwrap();
    for old in [&dx, &theirs] {
        let r = write_superseding(&tp, &doctor, &gw, &tw, rx["resources"].clone(), old).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "out_of_scope"),
            "{old}"
        );
    }
    assert_eq!(tp.peer.record_count(None).await.unwrap(), before);
    // The hospital's own correction of its diagnosis still goes through.
    let r = tp.staff_post("/staff/records", &json!({"health_id": hid, "kind": "diagnosis", "supersedes": dx, "resources": [
        {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.65"}]}}]})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The doctor corrects their own prescription.
    let r = write_superseding(&tp, &doctor, &gw, &tw, rx["resources"].clone(), &id).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["supersedes"], id.as_str());
    tp.stop().await;
}

async fn write_superseding(
    tp: &TestPeer,
    key: &Es256KeyPair,
    g: &Grant,
    text: &str,
    resources: Value,
    supersedes: &str,
) -> Resp {
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/write");
    let body = json!({"grant": text, "kind": "prescription", "supersedes": supersedes, "resources": resources}).to_string();
    let pop = PopProof::create(
        key,
        g.id,
        &PopRequest {
            method: "POST",
            url: &url,
            nonce: &n,
            body: body.as_bytes(),
        },
        NumericDate::now(),
    )
    .unwrap();
    request(
        tp.addr,
        "POST",
        "/grant/write",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn doctors_write_under_write_grants_only() {
    for db in engines("doctors_write_under_write_grants_only").await {
        writes(db.as_deref()).await;
    }
}

async fn bearer(db: Option<&str>) {
    let tp = start(db).await;
    let r = tp
        .staff_post("/staff/patients", &patient_json("1975000444"))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": patient.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        tp.staff_post("/staff/records", &lab_report(&hid))
            .await
            .status,
        201
    );
    let nobody = Es256KeyPair::generate().unwrap();
    let bearer_grant = |peers: Vec<String>| {
        grant(&patient, &nobody, move |g| {
            g.audience = Audience::Bearer;
            g.use_limit = Some(1);
            g.peers = peers;
        })
    };
    let stranger = Es256KeyPair::generate().unwrap();
    let register = |text: String, pass: &'static str, key: &'static str| {
        let tp = &tp;
        let k = if key == "patient" {
            &patient
        } else {
            &stranger
        };
        async move {
            let g = Grant::decode_and_verify(&text, NumericDate::now()).unwrap();
            let verifier = spondon_core::b64::encode(Grant::passcode_verifier(&g.id, pass));
            signed(
                tp,
                k,
                "/patient/grant-passcodes",
                &json!({"grant": text, "verifier": verifier}),
            )
            .await
        }
    };
    let post = |body: Value| async move {
        request(
            tp.addr,
            "POST",
            "/grant/records",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };
    let here = vec![URL.to_owned()];
    let (_, text) = bearer_grant(here.clone());
    // The QR alone is useless: nothing to test offline, and no peer serves it unregistered.
    let r = post(json!({"grant": text, "passcode": "4711-2938"})).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "passcode_not_registered")
    );
    // Only the grant's own (enrolled) patient key registers the verifier, once.
    let r = register(text.clone(), "4711-2938", "stranger").await;
    assert_eq!((r.status, r.code().as_str()), (401, "not_enrolled"));
    let r = register(text.clone(), "4711-2938", "patient").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["max_failures"], 5);
    let r = register(text.clone(), "0000-0000", "patient").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "passcode_already_registered")
    );
    let (_, key_bound) = grant(&patient, &nobody, |_| {});
    let r = register(key_bound, "4711-2938", "patient").await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = post(json!({"grant": text})).await;
    assert_eq!((r.status, r.code().as_str()), (401, "passcode_required"));
    let r = post(json!({"grant": text, "passcode": "0000-0000"})).await;
    assert_eq!((r.status, r.code().as_str()), (401, "bad_passcode"));
    let r = post(json!({"grant": text, "passcode": "4711-2938"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 1);
    let r = post(json!({"grant": text, "passcode": "4711-2938"})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "use_limit_exceeded"));
    // Guessing is limited: after 5 wrong passcodes even the right one is refused.
    let (_, text) = bearer_grant(here.clone());
    assert_eq!(
        register(text.clone(), "1234-5678", "patient").await.status,
        201
    );
    for _ in 0..5 {
        assert_eq!(
            post(json!({"grant": text, "passcode": "guess"}))
                .await
                .code(),
            "bad_passcode"
        );
    }
    let r = post(json!({"grant": text, "passcode": "1234-5678"})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "passcode_locked"));
    // Across the consortium: a grant naming 3 peers allows one wrong guess at each.
    let (_, text) = bearer_grant(vec![
        URL.to_owned(),
        "https://cmch.example".to_owned(),
        "https://labaid.example".to_owned(),
    ]);
    let r = register(text.clone(), "1234-5678", "patient").await;
    assert_eq!(r.json()["max_failures"], 1);
    assert_eq!(
        post(json!({"grant": text, "passcode": "guess"}))
            .await
            .code(),
        "bad_passcode"
    );
    let r = post(json!({"grant": text, "passcode": "1234-5678"})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "passcode_locked"));
    // Counted atomically: 12 concurrent guesses get exactly 5 comparisons.
    let (_, text) = bearer_grant(here.clone());
    assert_eq!(
        register(text.clone(), "9999-0000", "patient").await.status,
        201
    );
    let guesses = (0..12).map(|i| json!({"grant": text, "passcode": format!("guess-{i}")}));
    let codes: Vec<String> = concurrent_redemptions(tp.addr, guesses).await;
    assert_eq!(
        codes.iter().filter(|c| *c == "bad_passcode").count(),
        5,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| *c == "passcode_locked").count(),
        7,
        "{codes:?}"
    );
    // Every attempt is receipted.
    let r = signed(&tp, &patient, "/patient/receipts", &json!({})).await;
    assert_eq!(
        r.json()["receipts"].as_array().unwrap().len(),
        5 + 6 + 2 + 12
    );
    tp.stop().await;
}

/// Posts the redemptions concurrently; their problem codes.
async fn concurrent_redemptions(
    addr: std::net::SocketAddr,
    bodies: impl Iterator<Item = Value>,
) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for body in bodies {
        set.spawn(async move {
            request(
                addr,
                "POST",
                "/grant/records",
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .await
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap().code());
    }
    out
}

#[tokio::test]
async fn bearer_grants_need_their_passcode_once_and_limit_guesses() {
    for db in engines("bearer_grants_need_their_passcode_once_and_limit_guesses").await {
        bearer(db.as_deref()).await;
    }
}

fn revocation(key: &Es256KeyPair, id: [u8; 16], grant_id: [u8; 16]) -> String {
    Revocation {
        id,
        patient_key: key.public_key().clone(),
        target: RevocationTarget::Grant { grant_id },
        issued_at: NumericDate::now(),
    }
    .sign(key)
    .unwrap()
}

async fn scoped(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, victim) = enrolled_patient(&tp, "1975000555").await;
    let (_, attacker) = enrolled_patient(&tp, "1975000666").await;
    assert_eq!(
        tp.staff_post("/staff/records", &lab_report(&hid))
            .await
            .status,
        201
    );
    let doctor = Es256KeyPair::generate().unwrap();
    let accomplice = Es256KeyPair::generate().unwrap();
    let (g, text) = grant(&victim, &doctor, |g| g.use_limit = Some(2));
    // The attacker read the victim's grant id off the QR and signs a grant of their own with it:
    // redeeming that must not use up the victim's grant.
    let (ga, ta) = grant(&attacker, &accomplice, |x| {
        x.id = g.id;
        x.use_limit = Some(2);
    });
    for _ in 0..2 {
        let (r, _, _) = redeem(&tp, &ga, &ta, &accomplice, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let (r, _, _) = redeem(&tp, &g, &text, &doctor, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 1);
    // The attacker learns the victim's revocation id and registers it first, for themselves.
    let rev_id = Grant::new_id().unwrap();
    let theirs = revocation(&attacker, rev_id, ga.id);
    let r = signed(
        &tp,
        &attacker,
        "/patient/revocations",
        &json!({"revocation": theirs}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The victim's revocation still registers and takes effect at once.
    let mine = revocation(&victim, rev_id, g.id);
    let r = signed(
        &tp,
        &victim,
        "/patient/revocations",
        &json!({"revocation": mine}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (r, _, _) = redeem(&tp, &g, &text, &doctor, json!({})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "revoked"));
    // Sending the same revocation again confirms it; another one under the same id does not.
    let r = signed(
        &tp,
        &victim,
        "/patient/revocations",
        &json!({"revocation": mine}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (409, "duplicate_revocation"));
    let other = revocation(&victim, rev_id, Grant::new_id().unwrap());
    let r = signed(
        &tp,
        &victim,
        "/patient/revocations",
        &json!({"revocation": other}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "revocation_id_conflict")
    );
    tp.stop().await;
}

#[tokio::test]
async fn revocation_ids_and_use_counts_are_scoped_per_patient_key() {
    for db in engines("revocation_ids_and_use_counts_are_scoped_per_patient_key").await {
        scoped(db.as_deref()).await;
    }
}

async fn huge_cursors(db: Option<&str>) {
    let tp = start(db).await;
    let (_, key) = enrolled_patient(&tp, "1975000777").await;
    for (path, body) in [
        ("/patient/records", json!({"since": u64::MAX})),
        (
            "/patient/records",
            json!({"since": 1u64 << 63, "known_size": 0}),
        ),
        ("/patient/receipts", json!({"since": u64::MAX})),
    ] {
        let r = signed(&tp, &key, path, &body).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_field"),
            "{path}"
        );
        assert!(r.json()["detail"].as_str().unwrap().contains("since"));
    }
    // The largest valid cursor is fine (nothing after it).
    let r = signed(&tp, &key, "/patient/receipts", &json!({"since": i64::MAX})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    tp.stop().await;
}

#[tokio::test]
async fn cursors_beyond_the_database_range_are_client_errors() {
    for db in engines("cursors_beyond_the_database_range_are_client_errors").await {
        huge_cursors(db.as_deref()).await;
    }
}

async fn junk(db: Option<&str>) {
    let tp = start_with(db, |c| {
        c.rate_limit.failures_per_minute = 0.001;
        c.rate_limit.failure_burst = 3;
    })
    .await;
    let stranger = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let before = denied_events(&tp).await;
    for _ in 0..3 {
        let (g, t) = grant(&stranger, &doctor, |_| {});
        let (r, _, _) = redeem(&tp, &g, &t, &doctor, json!({})).await;
        assert_eq!((r.status, r.code().as_str()), (403, "patient_not_enrolled"));
    }
    // The failure budget is spent: this client is refused before any work, on every route.
    let (g, t) = grant(&stranger, &doctor, |_| {});
    let r = request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json")],
        json!({"grant": t, "passcode": "x"}).to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    let _ = g;
    let r = tp
        .staff_post("/staff/patients", &patient_json("1975000888"))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(denied_events(&tp).await, before, "nothing logged");
    assert_eq!(
        tp.peer.unlogged_refusals().get("patient_not_enrolled"),
        Some(&3)
    );
    tp.stop().await;
    // Bad staff tokens spend the same budget.
    let tp = start_with(db, |c| {
        c.rate_limit.failures_per_minute = 0.001;
        c.rate_limit.failure_burst = 2;
    })
    .await;
    for _ in 0..2 {
        let r = request(
            tp.addr,
            "GET",
            "/staff/patients/1234",
            &[("Authorization", "Bearer spst_wrong")],
            b"",
        )
        .await;
        assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    }
    let r = tp.get("/staff/patients/1234").await;
    assert_eq!(r.status, 429);
    assert_eq!(tp.peer.unlogged_refusals().get("unauthorized"), Some(&2));
    tp.stop().await;
}

#[tokio::test]
async fn unauthenticated_refusals_are_counted_and_limited_not_logged() {
    for db in engines("unauthenticated_refusals_are_counted_and_limited_not_logged").await {
        junk(db.as_deref()).await;
    }
}
