//! The clinic node's emergency (break-glass) routes over real HTTP against the real
//! `spondon-verifier serve`, with a scripted hospital on 127.0.0.1: the requests it sends are
//! §7a signed by this node's doctor key over the exact URL, nonce and body; fields are checked
//! before anything is sent; the hospital's refusals come back with their own codes; a summary
//! that does not verify shows nothing (`bad_response`); an unreachable hospital, a hospital not
//! in the trust list and a page request without `X-Spondon-Request` are refused; receipts only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod node;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use node::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget};

const FAKE: &str = "https://fake.example";
const NONCE: [u8; 16] = [7; 16];
const ACCESS: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// What the scripted hospital answers to `/emergency/summary`, and what it saw.
#[derive(Default)]
struct Script {
    summary: Vec<(u16, Value)>,
    /// (path, signing key's kid, body) of every signed request that verified.
    seen: Vec<(String, String, Value)>,
    /// Signed requests that did not verify.
    bad: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

fn check(s: &Shared, path: &str, headers: &HeaderMap, body: &Bytes) -> bool {
    let sig = headers
        .get("spondon-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let url = format!("{FAKE}{path}");
    match SignedRequest::verify(
        sig,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: &NONCE,
            body,
        },
        NumericDate::now(),
        120,
    ) {
        Ok(r) => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            s.lock()
                .unwrap()
                .seen
                .push((path.into(), r.key.kid().to_owned(), v));
            true
        }
        Err(e) => {
            s.lock().unwrap().bad.push(format!("{path}: {e}"));
            false
        }
    }
}

fn problem(status: u16, code: &str) -> axum::response::Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/problem+json")],
        json!({"code": code, "detail": format!("refused: {code}")}).to_string(),
    )
        .into_response()
}

async fn fake_hospital(s: Shared) -> std::net::SocketAddr {
    let app = Router::new()
        .route(
            "/nonce",
            post(|| async {
                (
                    StatusCode::CREATED,
                    json!({"nonce": spondon_core::b64::encode(NONCE)}).to_string(),
                )
            }),
        )
        .route(
            "/emergency/requests",
            post(
                |State(s): State<Shared>, headers: HeaderMap, body: Bytes| async move {
                    if !check(&s, "/emergency/requests", &headers, &body) {
                        return problem(401, "bad_signature");
                    }
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    if v["health_id"] == "1111-1111-1111-11" {
                        return problem(404, "unknown_patient");
                    }
                    if v["health_id"] == "2222-2222-2222-22" {
                        return problem(403, "emergency_hospital_not_allowed");
                    }
                    (
                        StatusCode::CREATED,
                        json!({"access_id": ACCESS, "status": "pending_confirmation",
                               "confirm_by": NumericDate::now().seconds() + 1800, "hours": v["hours"]})
                        .to_string(),
                    )
                        .into_response()
                },
            ),
        )
        .route(
            "/emergency/summary",
            post(
                |State(s): State<Shared>, headers: HeaderMap, body: Bytes| async move {
                    if !check(&s, "/emergency/summary", &headers, &body) {
                        return problem(401, "bad_signature");
                    }
                    let next = {
                        let mut g = s.lock().unwrap();
                        if g.summary.is_empty() {
                            (500, json!({}))
                        } else {
                            g.summary.remove(0)
                        }
                    };
                    if next.0 == 200 {
                        (StatusCode::OK, next.1.to_string()).into_response()
                    } else {
                        problem(next.0, next.1["code"].as_str().unwrap_or("internal"))
                    }
                },
            ),
        )
        .with_state(s);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

async fn api(n: &TestNode, path: &str, body: &Value) -> Resp {
    request(
        n.addr,
        "POST",
        path,
        &[
            ("Authorization", &format!("Bearer {}", n.token)),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .await
}

fn ask(hid: &str) -> Value {
    json!({"peer": FAKE, "health_id": hid, "reason": "unconscious",
           "details": "found on the road, no phone", "hours": 3})
}

#[tokio::test]
async fn the_node_signs_checks_and_verifies_emergency_requests() {
    let script: Shared = Arc::default();
    let addr = fake_hospital(script.clone()).await;
    let root = Es256KeyPair::generate().unwrap();
    let fake = hospital("fake", "Fake General Hospital", FAKE);
    let gone = hospital("gone", "Closed Hospital", "https://gone.example");
    let list = trust_list(vec![fake.entry.clone(), gone.entry.clone()], 1);
    let mut n = init_node(&root, &list, None);
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        FAKE,
        &format!("http://{addr}"),
    ]);
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        "https://gone.example",
        &format!("http://127.0.0.1:{}", free_port()),
    ]);
    serve(&mut n, &[]).await;
    let kid = n.doctor_kid();

    // Checked at the node; nothing sent.
    for (body, code) in [
        (
            json!({"peer": FAKE, "health_id": "", "reason": "unconscious", "details": "x"}),
            "invalid_field",
        ),
        (
            json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "", "details": "x"}),
            "reason_required",
        ),
        (
            json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "unconscious", "details": "  "}),
            "reason_required",
        ),
        (
            json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "bored", "details": "x"}),
            "invalid_field",
        ),
        (
            json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "other", "details": "x", "hours": 13}),
            "invalid_field",
        ),
        (
            json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "other", "details": "a\u{7}b"}),
            "invalid_field",
        ),
    ] {
        let r = api(&n, "/api/emergency/request", &body).await;
        assert_eq!((r.status, r.code()), (400, code.to_owned()), "{body}");
    }
    let r = api(
        &n,
        "/api/emergency/request",
        &json!({"peer": "https://nowhere.example", "health_id": "1234-5678-9012-34", "reason": "other", "details": "x"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "unknown_peer".to_owned()));
    let r = api(
        &n,
        "/api/emergency/request",
        &json!({"peer": FAKE, "health_id": "1234-5678-9012-34", "reason": "other", "details": "x", "extra": 1}),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "bad_json".to_owned()));
    assert!(script.lock().unwrap().seen.is_empty());

    // A page request without X-Spondon-Request is refused before anything.
    let login = request(
        n.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": n.token}).to_string().as_bytes(),
    )
    .await;
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = request(
        n.addr,
        "POST",
        "/api/emergency/request",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        ask("1234-5678-9012-34").to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "csrf".to_owned()));

    // The hospital's refusals, with its codes.
    let r = api(&n, "/api/emergency/request", &ask("1111-1111-1111-11")).await;
    assert_eq!((r.status, r.code()), (404, "unknown_patient".to_owned()));
    let r = api(&n, "/api/emergency/request", &ask("2222-2222-2222-22")).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "emergency_hospital_not_allowed".to_owned())
    );
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("Fake General Hospital refused")
    );
    // An unreachable hospital.
    let mut gone_ask = ask("1234-5678-9012-34");
    gone_ask["peer"] = json!("https://gone.example");
    let r = api(&n, "/api/emergency/request", &gone_ask).await;
    assert_eq!((r.status, r.code()), (502, "unreachable".to_owned()));

    // Accepted: signed by this node's doctor key over the exact body.
    let r = api(&n, "/api/emergency/request", &ask("1234-5678-9012-34")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["access_id"], ACCESS);
    assert_eq!(v["status"], "pending_confirmation");
    assert_eq!(v["hospital"], "Fake General Hospital");
    {
        let s = script.lock().unwrap();
        assert!(s.bad.is_empty(), "{:?}", s.bad);
        let (path, signer, body) = s.seen.last().unwrap();
        assert_eq!(path, "/emergency/requests");
        assert_eq!(signer, &kid);
        assert_eq!(
            body,
            &json!({"health_id": "1234-5678-9012-34", "reason": "unconscious",
                    "details": "found on the road, no phone", "hours": 3})
        );
    }

    // The summary: waiting, then answers that must not be shown, then a refusal.
    let forged_checkpoint = json!({"access_id": ACCESS, "expires_at": NumericDate::now().seconds() + 3600,
        "patient": {"health_id": "1234-5678-9012-34", "name": "Someone Else", "birth_date": "1990-01-01", "sex": "male"},
        "allergies": [], "medications": [{"medication": "Poison", "dosage": null, "record_id": "r1"}],
        "problems": [], "blood_group": "O+", "records": [], "checkpoint": "not a checkpoint", "tree_size": 1});
    script.lock().unwrap().summary = vec![
        (403, json!({"code": "confirmation_required"})),
        (200, forged_checkpoint),
        (403, json!({"code": "emergency_opted_out"})),
        (403, json!({"code": "emergency_expired"})),
        (401, json!({"code": "pop_stale"})),
    ];
    let sum = json!({"peer": FAKE, "access_id": ACCESS, "health_id": "1234-5678-9012-34"});
    let r = api(&n, "/api/emergency/summary", &sum).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "waiting");
    let r = api(&n, "/api/emergency/summary", &sum).await;
    assert_eq!((r.status, r.code()), (502, "bad_response".to_owned()));
    assert!(!r.text().contains("Poison") && !r.text().contains("Someone Else"));
    let r = api(&n, "/api/emergency/summary", &sum).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "emergency_opted_out".to_owned())
    );
    let r = api(&n, "/api/emergency/summary", &sum).await;
    assert_eq!((r.status, r.code()), (403, "emergency_expired".to_owned()));
    // The hospital refusing the signature (401) is not the node's session ending.
    let r = api(&n, "/api/emergency/summary", &sum).await;
    assert_eq!((r.status, r.code()), (502, "peer_refused".to_owned()));
    {
        let s = script.lock().unwrap();
        let (path, signer, body) = s.seen.last().unwrap();
        assert_eq!(path, "/emergency/summary");
        assert_eq!(signer, &kid);
        assert_eq!(body, &json!({"access_id": ACCESS}));
    }
    // A malformed access id is not sent.
    let before = script.lock().unwrap().seen.len();
    let r = api(
        &n,
        "/api/emergency/summary",
        &json!({"peer": FAKE, "access_id": "../../x", "health_id": "1234-5678-9012-34"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "invalid_field".to_owned()));
    assert_eq!(script.lock().unwrap().seen.len(), before);

    // Receipts only: the one request that was accepted, no summary shown.
    let r = request(
        n.addr,
        "GET",
        "/api/receipts",
        &[("Authorization", &format!("Bearer {}", n.token))],
        b"",
    )
    .await;
    let receipts = r.json()["receipts"].as_array().unwrap().clone();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0]["grant_id"], ACCESS);
    assert_eq!(receipts[0]["outcome"], "requested");
    let log = stop(&mut n);
    assert!(!log.contains("found on the road"), "{log}");
    assert!(!log.contains("1234-5678-9012-34"), "{log}");
}
