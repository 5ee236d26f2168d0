//! Enrollment redemption and the patient's signed incremental pull, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget, TokenClaims};
use spondon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use spondon_ledger::{LogEntry, Opening, SignedCheckpoint, Verifier};
use spondon_testkit::tiles::proof_hashes;

async fn nonce(tp: &TestPeer) -> Vec<u8> {
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 201, "{}", r.text());
    spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap()
}

/// A signed POST with a fresh nonce; returns the response and the signature used.
async fn signed(
    tp: &TestPeer,
    key: &Es256KeyPair,
    path: &str,
    body: &Value,
) -> (Resp, String, Vec<u8>) {
    let body = body.to_string().into_bytes();
    let n = nonce(tp).await;
    let url = format!("{URL}{path}");
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
    let r = send(tp, path, &sig, &body).await;
    (r, sig, body)
}

async fn send(tp: &TestPeer, path: &str, sig: &str, body: &[u8]) -> Resp {
    request(
        tp.addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", sig),
        ],
        body,
    )
    .await
}

async fn enroll(tp: &TestPeer, key: &Es256KeyPair, hid: &str, code: &str) -> Resp {
    let body = json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()});
    signed(tp, key, "/patient/enroll", &body).await.0
}

async fn enrollment_and_pull(db: Option<&str>) {
    let tp = start(db).await;
    let r = tp
        .staff_post("/staff/patients", &patient_json("1990123456"))
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let phone = Es256KeyPair::generate().unwrap();

    // Refusals before a good enrollment: no signature, wrong signer, wrong code, forged.
    let body = json!({"health_id": hid, "code": code, "public_key": phone.public_key().to_jwk()});
    let r = request(
        tp.addr,
        "POST",
        "/patient/enroll",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    let other = Es256KeyPair::generate().unwrap();
    let (r, _, _) = signed(&tp, &other, "/patient/enroll", &body).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    assert_eq!(
        enroll(&tp, &phone, &hid, "AAAAA-AAAAA").await.code(),
        "enrollment_code_invalid"
    );
    let (_, sig, bytes) = {
        let n = nonce(&tp).await;
        let bytes = body.to_string().into_bytes();
        let url = format!("{URL}/patient/enroll");
        let sig = SignedRequest::create(
            &phone,
            &SignedRequestTarget {
                method: "POST",
                url: &url,
                nonce: &n,
                body: &bytes,
            },
            NumericDate::now(),
        )
        .unwrap();
        ((), sig, bytes)
    };
    let mut raw = spondon_core::b64::decode(&sig).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x55;
    let r = send(
        &tp,
        "/patient/enroll",
        &spondon_core::b64::encode(&raw),
        &bytes,
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "bad_signature"));
    // The body is covered by the signature.
    let mut tampered = body.clone();
    tampered["code"] = json!("BBBBB-BBBBB");
    let r = send(
        &tp,
        "/patient/enroll",
        &sig,
        tampered.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "pop_mismatch"));

    // Enroll.
    let r = send(&tp, "/patient/enroll", &sig, &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let cred = r.json()["enrollment_credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed = spondon_core::token::decode_any(&cred).unwrap();
    let TokenClaims::Enrollment(e) = &parsed.claims else {
        panic!("not an enrollment")
    };
    assert_eq!(e.health_id, hid);
    assert_eq!(&e.patient_key, phone.public_key());
    assert_eq!(parsed.signer_kid, tp.peer.keys.record.kid());
    // Replay of the same signed request: the nonce is spent.
    let r = send(&tp, "/patient/enroll", &sig, &bytes).await;
    assert_eq!((r.status, r.code().as_str()), (401, "nonce_reused"));
    // The code is one-time.
    assert_eq!(
        enroll(&tp, &other, &hid, &code).await.code(),
        "enrollment_code_invalid"
    );

    // Records, then the first pull.
    let (bmdc, _) = register_doctor(&tp, "A-1").await;
    for _ in 0..3 {
        assert_eq!(
            tp.staff_post("/staff/records", &prescription(&hid, &bmdc))
                .await
                .status,
            201
        );
    }
    // Another patient's record is never pulled.
    let hid2 = register_patient(&tp, "1990123457").await;
    assert_eq!(
        tp.staff_post("/staff/records", &lab_report(&hid2))
            .await
            .status,
        201
    );
    let vkey = Verifier::from_vkey(&tp.peer.log_vkey()).unwrap();
    let (r, _, _) = signed(&tp, &phone, "/patient/records", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pull = r.json();
    let recs = pull["records"].as_array().unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(pull["more"], false);
    let cp = SignedCheckpoint::verify(
        pull["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        std::slice::from_ref(&vkey),
    )
    .unwrap();
    let size1 = cp.checkpoint.size;
    let root1 = cp.checkpoint.root;
    assert_eq!(pull["tree_size"].as_u64().unwrap(), size1);
    for rec in recs {
        let entry_bytes = base64::engine::general_purpose::STANDARD
            .decode(rec["entry"].as_str().unwrap())
            .unwrap();
        let entry = LogEntry::decode(&entry_bytes).unwrap();
        let salt: [u8; 32] = spondon_core::b64::decode(rec["salt"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(entry.opens(&Opening {
            salt,
            payload: rec["jws"].as_str().unwrap().as_bytes().to_vec()
        }));
        verify_inclusion(
            &leaf_hash(&entry_bytes),
            rec["log_index"].as_u64().unwrap(),
            size1,
            &proof_hashes(&rec["inclusion_proof"]),
            &root1,
        )
        .unwrap();
    }
    // Incremental: one new record, consistency from the last checkpoint.
    let cursor = pull["cursor"].as_u64().unwrap();
    assert_eq!(
        tp.staff_post("/staff/records", &lab_report(&hid))
            .await
            .status,
        201
    );
    let (r, _, _) = signed(
        &tp,
        &phone,
        "/patient/records",
        &json!({"since": cursor, "known_size": size1}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pull2 = r.json();
    assert_eq!(pull2["records"].as_array().unwrap().len(), 1);
    assert_eq!(pull2["records"][0]["kind"], "lab_report");
    let cp2 = SignedCheckpoint::verify(
        pull2["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        std::slice::from_ref(&vkey),
    )
    .unwrap();
    verify_consistency(
        size1,
        cp2.checkpoint.size,
        &proof_hashes(&pull2["consistency_proof"]),
        &root1,
        &cp2.checkpoint.root,
    )
    .unwrap();
    let (r, _, _) = signed(
        &tp,
        &phone,
        "/patient/records",
        &json!({"known_size": 10_000}),
    )
    .await;
    assert_eq!(r.code(), "invalid_field");
    // An unenrolled key pulls nothing.
    let (r, _, _) = signed(&tp, &other, "/patient/records", &json!({})).await;
    assert_eq!((r.status, r.code().as_str()), (401, "not_enrolled"));

    // Re-enrollment (new phone) retires the old key: key_rotated from then on.
    let auth = tp.auth();
    let r = request(
        tp.addr,
        "POST",
        &format!("/staff/patients/{hid}/enrollment-code"),
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let code2 = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let new_phone = Es256KeyPair::generate().unwrap();
    assert_eq!(enroll(&tp, &new_phone, &hid, &code2).await.status, 201);
    let (r, _, _) = signed(&tp, &phone, "/patient/records", &json!({})).await;
    assert_eq!(r.code(), "key_rotated");
    let (r, _, _) = signed(&tp, &new_phone, "/patient/records", &json!({})).await;
    assert_eq!(r.json()["records"].as_array().unwrap().len(), 4);

    // The standard $health-cards-issue, by credential type.
    let path = format!("/Patient/{hid}/$health-cards-issue");
    let params = |t: &str| json!({"resourceType": "Parameters", "parameter": [{"name": "credentialType", "valueUri": t}]});
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        &path,
        &params("https://smarthealth.cards#health-card"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/fhir+json"));
    let cards = r.json()["parameter"].as_array().unwrap().clone();
    assert_eq!(cards.len(), 4);
    assert!(cards.iter().all(|c| c["name"] == "verifiableCredential"));
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        &path,
        &params("https://smarthealth.cards#laboratory"),
    )
    .await;
    assert_eq!(r.json()["parameter"].as_array().unwrap().len(), 1);
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        &format!("/Patient/{hid2}/$health-cards-issue"),
        &params("https://smarthealth.cards#health-card"),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "not_enrolled"));
    let (r, _, _) = signed(&tp, &new_phone, &path, &json!({"resourceType": "Bundle"})).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let (r, _, _) = signed(
        &tp,
        &phone,
        &path,
        &params("https://smarthealth.cards#health-card"),
    )
    .await;
    assert_eq!(r.code(), "key_rotated");

    // The patient updates their own phone and district, never identity fields.
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/details",
        &json!({"phone": "+8801912345678", "district": "sylhet", "upazila": "Beanibazar"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        tp.peer.patient(&hid).await.unwrap().details.phone,
        "+8801912345678"
    );
    assert_eq!(
        tp.peer.patient(&hid).await.unwrap().details.district,
        "Sylhet"
    );
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/details",
        &json!({"name": "Someone Else"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "malformed_json"));
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/details",
        &json!({"phone": "999"}),
    )
    .await;
    assert_eq!(r.code(), "invalid_field");
    assert_eq!(
        tp.peer.patient(&hid).await.unwrap().details.name,
        "Fatema Begum"
    );

    // Receipts come with a consistency proof from the size the wallet accepted.
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/receipts",
        &json!({"known_size": 1}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let size = v["tree_size"].as_u64().unwrap();
    let cp = SignedCheckpoint::verify(
        v["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        &[log_verifier(&tp)],
    )
    .unwrap();
    verify_consistency(
        1,
        size,
        &proof_hashes(&v["consistency_proof"]),
        &tp.peer.log.root_at(1).await.unwrap(),
        &cp.checkpoint.root,
    )
    .unwrap();
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/receipts",
        &json!({"known_size": size + 1000}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));

    // Proofs against a witnessed checkpoint: none is cosigned yet, then a witness cosigns.
    let proofs = json!({"log_indices": [0, 1, 2, 999_999], "min_cosignatures": 1, "known_size": 1});
    let (r, _, _) = signed(&tp, &new_phone, "/patient/proofs", &proofs).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "not_witnessed"),
        "{}",
        r.text()
    );
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/proofs",
        &json!({"log_indices": [0], "min_cosignatures": 0}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let many: Vec<u64> = (0..1001).collect();
    let (r, _, _) = signed(
        &tp,
        &new_phone,
        "/patient/proofs",
        &json!({"log_indices": many, "min_cosignatures": 1}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let (r, _, _) = signed(&tp, &phone, "/patient/proofs", &proofs).await;
    assert_eq!(r.code(), "key_rotated");
    let wdir = tempfile::tempdir().unwrap();
    let wseed = spondon_core::keys::Ed25519KeyPair::generate().unwrap();
    let wkey = spondon_ledger::Signer::cosigner(
        "witness.example",
        spondon_core::keys::Ed25519KeyPair::from_seed(wseed.seed()).unwrap(),
    )
    .unwrap();
    let mut witness = spondon_ledger::Witness::new(
        spondon_ledger::Database::sqlite(&wdir.path().join("w.db"))
            .await
            .unwrap(),
        spondon_ledger::Signer::cosigner("witness.example", wseed).unwrap(),
    );
    witness.trust_log(tp.peer.log.origin(), vec![log_verifier(&tp)]);
    let lines = witness
        .add_checkpoint(tp.peer.log.witness_request(0).await.unwrap().as_bytes())
        .await
        .unwrap();
    tp.peer
        .log
        .add_cosignatures(wkey.verifier(), &lines)
        .await
        .unwrap();
    let (r, _, _) = signed(&tp, &new_phone, "/patient/proofs", &proofs).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let cp = SignedCheckpoint::verify(
        v["checkpoint"].as_str().unwrap().as_bytes(),
        tp.peer.log.origin(),
        &[log_verifier(&tp)],
    )
    .unwrap();
    assert_eq!(
        cp.count_cosignatures(std::slice::from_ref(wkey.verifier()))
            .unwrap(),
        1
    );
    assert_eq!(v["tree_size"].as_u64(), Some(cp.checkpoint.size));
    let listed: Vec<u64> = v["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["log_index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        listed,
        [0, 1, 2],
        "indices beyond the checkpoint are left out"
    );
    for p in v["proofs"].as_array().unwrap() {
        let i = p["log_index"].as_u64().unwrap();
        let entry = tp.peer.log.entry(i).await.unwrap();
        verify_inclusion(
            &leaf_hash(&entry),
            i,
            cp.checkpoint.size,
            &proof_hashes(&p["inclusion_proof"]),
            &cp.checkpoint.root,
        )
        .unwrap();
    }
    verify_consistency(
        1,
        cp.checkpoint.size,
        &proof_hashes(&v["consistency_proof"]),
        &tp.peer.log.root_at(1).await.unwrap(),
        &cp.checkpoint.root,
    )
    .unwrap();
    // The peer's own witness has refused no fork.
    let r = tp.get("/witness/forks").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"forks": []}));
    tp.stop().await;
}

fn log_verifier(tp: &TestPeer) -> Verifier {
    Verifier::from_vkey(&tp.peer.log_vkey()).unwrap()
}

#[tokio::test]
async fn enrollment_redemption_and_signed_incremental_pull() {
    for db in engines("enrollment_redemption_and_signed_incremental_pull").await {
        enrollment_and_pull(db.as_deref()).await;
    }
}

#[tokio::test]
async fn unknown_and_stale_nonces_are_refused() {
    let tp = start(None).await;
    let key = Es256KeyPair::generate().unwrap();
    let url = format!("{URL}/patient/records");
    let body = b"{}";
    let sig = SignedRequest::create(
        &key,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: b"not-from-peer!!!",
            body,
        },
        NumericDate::now(),
    )
    .unwrap();
    let r = send(&tp, "/patient/records", &sig, body).await;
    assert_eq!(r.code(), "nonce_unknown");
    let n = nonce(&tp).await;
    let old = NumericDate(NumericDate::now().0 - 600);
    let sig = SignedRequest::create(
        &key,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: &n,
            body,
        },
        old,
    )
    .unwrap();
    assert_eq!(
        send(&tp, "/patient/records", &sig, body).await.code(),
        "pop_stale"
    );
    let r = send(&tp, "/patient/records", "garbage!", body).await;
    assert_eq!(r.code(), "base64_invalid");
    tp.stop().await;
}

#[tokio::test]
async fn rate_limits_and_nonce_capacity() {
    let tp = start_with(None, |c| {
        c.rate_limit.per_second = 0.001;
        c.rate_limit.burst = 4;
        c.max_outstanding_nonces = 3;
    })
    .await;
    // Three nonces fill the capacity: the fourth is refused, nothing stored.
    for _ in 0..3 {
        nonce(&tp).await;
    }
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.code(), "too_many_nonces");
    assert_eq!(r.header("retry-after"), Some("60"));
    // The bucket (4) is now empty: every limited route answers 429 with Retry-After.
    for path in [
        "/nonce",
        "/patient/records",
        "/grant/records",
        "/.well-known/jwks.json",
        "/checkpoint",
    ] {
        let method = if path.starts_with("/.well") || path == "/checkpoint" {
            "GET"
        } else {
            "POST"
        };
        let r = request(tp.addr, method, path, &[], b"").await;
        assert_eq!(r.status, 429, "{path}");
        assert_eq!(r.code(), "rate_limited");
        let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!(secs >= 1);
    }
    // Staff routes are not limited.
    let hid = register_patient(&tp, "1357913579").await;
    let auth = tp.auth();
    let r = request(
        tp.addr,
        "GET",
        &format!("/staff/patients/{hid}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let n: i64 = match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM peer_nonces")
                .fetch_one(p)
                .await
                .unwrap()
        }
        spondon_ledger::Database::Postgres(_) => unreachable!(),
    };
    // Handing out a nonce stores nothing (it is stored when spent), nor does a refused request.
    assert_eq!(n, 0, "no nonce is stored before it is spent");
    tp.stop().await;

    // Behind a proxy: the client address comes from the configured header.
    let tp = start_with(None, |c| {
        c.rate_limit.per_second = 0.001;
        c.rate_limit.burst = 1;
        c.rate_limit.client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let get = |ip: &'static str| {
        let addr = tp.addr;
        async move {
            request(
                addr,
                "GET",
                "/.well-known/jwks.json",
                &[("X-Forwarded-For", ip)],
                b"",
            )
            .await
            .status
        }
    };
    assert_eq!(get("198.51.100.1").await, 200);
    assert_eq!(get("198.51.100.1").await, 429);
    assert_eq!(
        get("203.0.113.9, 198.51.100.2").await,
        200,
        "last entry counts"
    );
    tp.stop().await;
}
