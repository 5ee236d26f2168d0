//! `Idempotency-Key` on every staff write (both engines), one table of routes: patient
//! registration, a new enrollment code, doctor registration, record revocation, emergency
//! confirmation, system registration and disabling. For each: the first request writes; a
//! retry with the same key and request answers the first answer with `Idempotent-Replayed:
//! true` and writes nothing (for enrollment codes: the same patient with a fresh code, the
//! earlier code no longer valid); the same key with another request is 422
//! `idempotency_key_reused`; six racing retries with a new key write once; a malformed key is
//! 400 and writes nothing. Record issuance's own key is tested in `http.rs`/`group_commit.rs`
//! and under SIGKILL in `crash.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget};

async fn count(tp: &TestPeer, sql: &str) -> i64 {
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        }
    }
}

async fn post(tp: &TestPeer, path: &str, key: &str, body: Option<&Value>) -> Resp {
    let auth = tp.auth();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut headers = vec![("Authorization", auth.as_str()), ("Idempotency-Key", key)];
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    request(tp.addr, "POST", path, &headers, body.as_bytes()).await
}

/// An emergency access requested by a registered doctor, pending confirmation; its id.
async fn emergency_request(tp: &TestPeer, hid: &str, doctor: &Es256KeyPair) -> String {
    let body = json!({"health_id": hid, "reason": "unconscious",
        "details": "brought in unconscious after a road accident", "hours": 2})
    .to_string()
    .into_bytes();
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    let n = spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap();
    let url = format!("{URL}/emergency/requests");
    let sig = SignedRequest::create(
        doctor,
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
        "/emergency/requests",
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", &sig),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["access_id"].as_str().unwrap().to_owned()
}

fn system_jwk() -> Value {
    use ring::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    let rng = ring::rand::SystemRandom::new();
    let pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let k = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pk8.as_ref(), &rng).unwrap();
    let p = k.public_key().as_ref();
    let b64 = |b: &[u8]| spondon_core::b64::encode(b);
    json!({"kty": "EC", "crv": "P-384", "kid": "k1", "x": b64(&p[1..49]), "y": b64(&p[49..97])})
}

/// One staff write: where, what, and what else to send under the same key.
struct Case {
    path: String,
    body: Option<Value>,
    other_path: String,
    other_body: Option<Value>,
    status: u16,
    /// The answer holds an enrollment code: a replay gets a fresh one.
    fresh_code: bool,
    /// Counts what the write adds (must move by exactly one).
    count: String,
}

const ROUTES: &[&str] = &[
    "patients",
    "enrollment-code",
    "doctors",
    "revoke",
    "emergency-confirm",
    "systems",
    "systems-disable",
];

/// A fresh case of `route` (`n` makes its targets unique).
async fn case(tp: &TestPeer, route: &str, n: usize) -> Case {
    let nid = |k: usize| format!("19{:08}", 10_000 * n + k);
    match route {
        "patients" => Case {
            path: "/staff/patients".into(),
            body: Some(patient_json(&nid(1))),
            other_path: "/staff/patients".into(),
            other_body: Some(patient_json(&nid(2))),
            status: 201,
            fresh_code: true,
            count: "SELECT COUNT(*) FROM peer_patients".into(),
        },
        "enrollment-code" => {
            let hid = register_patient(tp, &nid(3)).await;
            let other = register_patient(tp, &nid(4)).await;
            Case {
                path: format!("/staff/patients/{hid}/enrollment-code"),
                body: None,
                other_path: format!("/staff/patients/{other}/enrollment-code"),
                other_body: None,
                status: 201,
                fresh_code: true,
                count: format!(
                    "SELECT COUNT(*) FROM peer_enrollment_codes WHERE health_id = '{hid}'"
                ),
            }
        }
        "doctors" => {
            let key = Es256KeyPair::generate().unwrap();
            let doc = |b: String| {
                json!({"bmdc_number": b, "name": "Dr. Abul Kalam Azad", "department": "Medicine",
                       "public_key": key.public_key().to_jwk()})
            };
            Case {
                path: "/staff/doctors".into(),
                body: Some(doc(format!("A-{n}1"))),
                other_path: "/staff/doctors".into(),
                other_body: Some(doc(format!("A-{n}2"))),
                status: 201,
                fresh_code: false,
                count: "SELECT COUNT(*) FROM peer_doctors".into(),
            }
        }
        "revoke" => {
            let hid = register_patient(tp, &nid(5)).await;
            let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
            let id = r.json()["id"].as_str().unwrap().to_owned();
            Case {
                path: format!("/staff/records/{id}/revoke"),
                body: Some(json!({"reason": "entered_in_error"})),
                other_path: format!("/staff/records/{id}/revoke"),
                other_body: Some(json!({"reason": "wrong_patient"})),
                status: 201,
                fresh_code: false,
                count: "SELECT COUNT(*) FROM peer_record_revocations".into(),
            }
        }
        "emergency-confirm" => {
            let hid = register_patient(tp, &nid(6)).await;
            let (_, doctor) = register_doctor(tp, &format!("E-{n}")).await;
            let id = emergency_request(tp, &hid, &doctor).await;
            let other = emergency_request(tp, &hid, &doctor).await;
            Case {
                path: format!("/staff/emergency/{id}/confirm"),
                body: None,
                other_path: format!("/staff/emergency/{other}/confirm"),
                other_body: None,
                status: 201,
                fresh_code: false,
                count: "SELECT COUNT(*) FROM peer_emergency_access WHERE confirmed_at IS NOT NULL"
                    .into(),
            }
        }
        "systems" => {
            let sys = |name: &str| {
                json!({"name": name, "jwks": {"keys": [system_jwk()]},
                       "scopes": ["system/DiagnosticReport.c"]})
            };
            Case {
                path: "/staff/systems".into(),
                body: Some(sys("DMCH LIS")),
                other_path: "/staff/systems".into(),
                other_body: Some(sys("DMCH RIS")),
                status: 201,
                fresh_code: false,
                count: "SELECT COUNT(*) FROM peer_systems".into(),
            }
        }
        "systems-disable" => {
            let body = json!({"name": "LIS", "jwks": {"keys": [system_jwk()]},
                              "scopes": ["system/DiagnosticReport.c"]});
            let a = tp.staff_post("/staff/systems", &body).await;
            let b = tp.staff_post("/staff/systems", &body).await;
            let (a, b) = (
                a.json()["client_id"].as_str().unwrap().to_owned(),
                b.json()["client_id"].as_str().unwrap().to_owned(),
            );
            Case {
                path: format!("/staff/systems/{a}/disable"),
                body: None,
                other_path: format!("/staff/systems/{b}/disable"),
                other_body: None,
                status: 200,
                fresh_code: false,
                count: "SELECT COUNT(*) FROM peer_systems WHERE disabled_at IS NOT NULL".into(),
            }
        }
        _ => unreachable!(),
    }
}

fn replayed(r: &Resp) -> bool {
    r.header("idempotent-replayed") == Some("true")
}

async fn every_staff_write_takes_a_key(db: Option<&str>) {
    let tp = start(db).await;
    for (i, route) in ROUTES.iter().enumerate() {
        // First use, retry, reuse for another request.
        let c = case(&tp, route, 2 * i).await;
        let before = count(&tp, &c.count).await;
        let key = format!("key-{route}");
        let first = post(&tp, &c.path, &key, c.body.as_ref()).await;
        assert_eq!(first.status, c.status, "{route}: {}", first.text());
        assert!(!replayed(&first), "{route}");
        assert_eq!(count(&tp, &c.count).await, before + 1, "{route}");
        let again = post(&tp, &c.path, &key, c.body.as_ref()).await;
        assert_eq!(again.status, c.status, "{route}: {}", again.text());
        assert!(replayed(&again), "{route}: no Idempotent-Replayed");
        if c.fresh_code {
            assert_eq!(
                again.json()["health_id"],
                first.json()["health_id"],
                "{route}"
            );
            assert_ne!(
                again.json()["enrollment_code"],
                first.json()["enrollment_code"],
                "{route}"
            );
            // The first code stopped working: one valid code for the patient.
            let hid = first.json()["health_id"].as_str().unwrap().to_owned();
            let valid = count(
                &tp,
                &format!("SELECT COUNT(*) FROM peer_enrollment_codes WHERE health_id = '{hid}' AND used_at IS NULL"),
            )
            .await;
            assert_eq!(valid, 1, "{route}");
        } else {
            assert_eq!(again.json(), first.json(), "{route}");
            assert_eq!(
                count(&tp, &c.count).await,
                before + 1,
                "{route}: written twice"
            );
        }
        let other = post(&tp, &c.other_path, &key, c.other_body.as_ref()).await;
        assert_eq!(
            (other.status, other.code().as_str()),
            (422, "idempotency_key_reused"),
            "{route}"
        );
        if !c.fresh_code {
            assert_eq!(count(&tp, &c.count).await, before + 1, "{route}");
        }

        // A malformed key: 400, nothing written.
        let c = case(&tp, route, 2 * i + 1).await;
        let before = count(&tp, &c.count).await;
        let bad = post(&tp, &c.path, "two words", c.body.as_ref()).await;
        assert_eq!(
            (bad.status, bad.code().as_str()),
            (400, "bad_idempotency_key"),
            "{route}"
        );
        assert_eq!(count(&tp, &c.count).await, before, "{route}");

        // Six racing retries of one new write: written once, every caller answered.
        let race_key = format!("race-{route}");
        let racers: Vec<_> = (0..6)
            .map(|_| {
                let (addr, auth) = (tp.addr, tp.auth());
                let (path, key) = (c.path.clone(), race_key.clone());
                let body = c.body.as_ref().map(Value::to_string).unwrap_or_default();
                tokio::spawn(async move {
                    let mut h = vec![("Authorization", auth.as_str()), ("Idempotency-Key", &key)];
                    if !body.is_empty() {
                        h.push(("Content-Type", "application/json"));
                    }
                    request(addr, "POST", &path, &h, body.as_bytes()).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for r in racers {
            answers.push(r.await.unwrap());
        }
        for a in &answers {
            assert_eq!(a.status, c.status, "{route} race: {}", a.text());
        }
        assert_eq!(
            answers.iter().filter(|a| !replayed(a)).count(),
            1,
            "{route}: one write answered as new"
        );
        if c.fresh_code {
            let hid = &answers[0].json()["health_id"];
            assert!(answers.iter().all(|a| &a.json()["health_id"] == hid));
            if *route == "patients" {
                assert_eq!(count(&tp, &c.count).await, before + 1, "{route} race");
            }
        } else {
            assert_eq!(count(&tp, &c.count).await, before + 1, "{route} race");
            assert!(answers.iter().all(|a| a.json() == answers[0].json()));
        }
    }
    tp.stop().await;
}

/// The OpenAPI document lists the header on every staff write (and on no read).
#[tokio::test]
async fn openapi_lists_the_key_on_every_staff_write() {
    let tp = start(None).await;
    let doc = tp.get("/openapi.json").await.json();
    let mut keyed = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let has = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            if has {
                assert_eq!(method, "post", "{path}");
                keyed.push(path.clone());
            }
        }
    }
    keyed.sort();
    let mut want: Vec<String> = [
        "/staff/patients",
        "/staff/patients/{health_id}/enrollment-code",
        "/staff/doctors",
        "/staff/records",
        "/staff/records/{id}/revoke",
        "/staff/emergency/{id}/confirm",
        "/staff/systems",
        "/staff/systems/{id}/disable",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    assert_eq!(keyed, want);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_staff_write_takes_an_idempotency_key() {
    for db in engines("every_staff_write_takes_an_idempotency_key").await {
        every_staff_write_takes_a_key(db.as_deref()).await;
    }
}

/// The console's forms send their per-form key: a double submit of a registration, a record
/// and a doctor writes once (both engines).
async fn console_double_submit(db: Option<&str>) {
    let tp = start(db).await;
    let r = request(
        tp.addr,
        "POST",
        "/console/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": tp.token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = r.json()["csrf"].as_str().unwrap().to_owned();
    let post = |path: &'static str, body: Value, key: &'static str| {
        let (addr, cookie, csrf) = (tp.addr, cookie.clone(), csrf.clone());
        async move {
            request(
                addr,
                "POST",
                &format!("/console/api{path}"),
                &[
                    ("Cookie", &cookie),
                    ("Content-Type", "application/json"),
                    ("X-CSRF-Token", &csrf),
                    ("Idempotency-Key", key),
                ],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    let patients = "SELECT COUNT(*) FROM peer_patients";
    let reg = json!({"patient": patient_json("1990123456789")});
    let a = post("/patients", reg.clone(), "form-1").await;
    let b = post("/patients", reg, "form-1").await;
    assert_eq!((a.status, b.status), (201, 201), "{}", b.text());
    assert!(!replayed(&a) && replayed(&b));
    assert_eq!(a.json()["health_id"], b.json()["health_id"]);
    assert_eq!(count(&tp, patients).await, 1);
    let hid = a.json()["health_id"].as_str().unwrap().to_owned();

    let form = json!({"health_id": hid, "form": {"kind": "diagnosis", "conditions": [
        {"code": "A97.1", "status": "confirmed"}]}});
    let a = post("/records", form.clone(), "form-2").await;
    let b = post("/records", form, "form-2").await;
    assert_eq!((a.status, b.status), (201, 201), "{}", b.text());
    assert!(!replayed(&a) && replayed(&b));
    assert_eq!(a.json()["record"], b.json()["record"]);
    assert_eq!(count(&tp, "SELECT COUNT(*) FROM peer_records").await, 1);

    let key = Es256KeyPair::generate().unwrap();
    let doctor = json!({"bmdc_number": "A-9001", "name": "Dr. Rahim", "specialty": "Medicine",
                        "public_key": serde_json::to_string(&key.public_key().to_jwk()).unwrap()});
    let a = post("/doctors", doctor.clone(), "form-3").await;
    let b = post("/doctors", doctor, "form-3").await;
    assert_eq!((a.status, b.status), (201, 201), "{}", b.text());
    assert!(!replayed(&a) && replayed(&b));
    assert_eq!(a.json(), b.json());
    assert_eq!(count(&tp, "SELECT COUNT(*) FROM peer_doctors").await, 1);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_forms_write_once_on_a_double_submit() {
    for db in engines("console_forms_write_once_on_a_double_submit").await {
        console_double_submit(db.as_deref()).await;
    }
}
