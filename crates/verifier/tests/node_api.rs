//! The verifier node's API over real HTTP on 127.0.0.1 (the real binary): init, staff, every
//! grant verdict, and bad input of every kind (clear problem+json, nothing stored).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod node;

use node::*;
use serde_json::json;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Audience, Category, EnrollmentCredential, Grant, Purpose, raw};

const DMCH: &str = "https://dmch.example";

fn grant(patient: &Es256KeyPair, audience_kid: &str, edit: impl FnOnce(&mut Grant)) -> String {
    let now = NumericDate::now();
    let mut g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: audience_kid.to_owned(),
        },
        categories: vec![Category::Prescription, Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![DMCH.to_owned()],
    };
    edit(&mut g);
    g.sign(patient).unwrap()
}

async fn verdict(n: &TestNode, body: serde_json::Value) -> serde_json::Value {
    let r = n.post_json("/api/grant/check", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

async fn matrix(database_url: Option<&str>) {
    let root = Es256KeyPair::generate().unwrap();
    let dmch = hospital("dmch", "Dhaka Medical College Hospital", DMCH);
    let list = trust_list(vec![dmch.entry.clone()], 3);
    let mut n = init_node(&root, &list, database_url);
    // The data directory and key file are private.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&n.data), 0o700);
    assert_eq!(mode(&n.data.join("keys/doctor.p8")), 0o600);
    assert_eq!(mode(&n.data.join("verifier.json")), 0o600);
    // The database and its WAL hold records and receipts: private too (checked again below,
    // once the node has written).
    for f in [
        "verifier.sqlite",
        "verifier.sqlite-wal",
        "verifier.sqlite-shm",
    ] {
        let p = n.data.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    // A second init refuses to overwrite.
    let again = std::process::Command::new(BIN)
        .args([
            "init",
            "--clinic",
            "X",
            "--data",
            n.data_str(),
            "--trust",
            "/nonexistent",
            "--root-key",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    serve(&mut n, &["--no-refresh"]).await;
    let kid = n.doctor_kid();
    let patient = Es256KeyPair::generate().unwrap();

    // Status: clinic, freshness words.
    let s = n.get("/api/status").await;
    assert_eq!(s.status, 200, "{}", s.text());
    let s = s.json();
    assert_eq!(s["clinic"], "Trishal Community Clinic");
    assert_eq!(s["freshness"]["trust_list"]["sequence"], 3);
    assert!(
        s["freshness"]["words"]
            .as_str()
            .unwrap()
            .contains("Trust list #3")
    );
    let before = n.stored().await;

    // Valid.
    let v = verdict(&n, json!({"grant": grant(&patient, &kid, |_| {})})).await;
    assert_eq!(
        (v["accepted"].as_bool(), v["code"].as_str()),
        (Some(true), Some("ok")),
        "{v}"
    );
    assert!(v["summary"].as_str().unwrap().starts_with("Valid:"), "{v}");
    assert_eq!(v["grant"]["for_this_clinic"], true);
    assert_eq!(v["grant"]["audience"], "this clinic");
    assert_eq!(
        v["grant"]["scopes"],
        json!(["prescriptions", "lab results"])
    );
    assert_eq!(v["grant"]["purpose"], "treatment");
    assert_eq!(
        v["grant"]["peers"][0]["hospital"],
        "Dhaka Medical College Hospital"
    );

    // With the enrollment credential: the Health ID.
    let now = NumericDate::now();
    let enrollment = EnrollmentCredential {
        hospital_id: "dmch".into(),
        health_id: "HID-1988-0412-7781".into(),
        patient_key: patient.public_key().clone(),
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(365 * 86_400),
    }
    .sign(&dmch.record)
    .unwrap();
    let v = verdict(
        &n,
        json!({"grant": grant(&patient, &kid, |_| {}), "enrollment": enrollment}),
    )
    .await;
    assert_eq!(v["patient"]["health_id"], "HID-1988-0412-7781", "{v}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("HID-1988-0412-7781")
    );
    // Another patient's enrollment: refused.
    let other = Es256KeyPair::generate().unwrap();
    let v = verdict(
        &n,
        json!({"grant": grant(&other, &kid, |_| {}), "enrollment": enrollment}),
    )
    .await;
    assert_eq!(v["code"], "enrollment_mismatch", "{v}");

    // Every refusal, with its reason.
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            grant(&patient, &kid, |g| {
                g.issued_at = now.saturating_add(-7200);
                g.not_before = now.saturating_add(-7200);
                g.expires = now.saturating_add(-60);
            }),
        ),
        (
            "not_yet_valid",
            grant(&patient, &kid, |g| {
                g.not_before = now.saturating_add(3600);
                g.expires = now.saturating_add(7200);
            }),
        ),
        (
            "not_for_this_clinic",
            grant(&patient, Es256KeyPair::generate().unwrap().kid(), |_| {}),
        ),
        (
            "unknown_peer",
            grant(&patient, &kid, |g| {
                g.peers = vec!["https://unknown.example".into()]
            }),
        ),
        ("bad_signature", {
            let text = grant(&patient, &kid, |_| {});
            let mut cose = raw::from_text(&text).unwrap();
            let last = cose.len() - 1;
            cose[last] ^= 1;
            raw::to_text(&cose)
        }),
    ];
    for (code, text) in cases {
        let v = verdict(&n, json!({"grant": text})).await;
        assert_eq!(
            (v["accepted"].as_bool(), v["code"].as_str()),
            (Some(false), Some(code)),
            "{v}"
        );
        assert!(
            v["summary"].as_str().unwrap().starts_with("Refused:"),
            "{v}"
        );
    }
    let v = verdict(&n, json!({"grant": grant(&patient, &kid, |g| {
        g.expires = now.saturating_add(-60); g.not_before = now.saturating_add(-120); g.issued_at = g.not_before;
    })})).await;
    assert!(v["summary"].as_str().unwrap().contains("expired at"), "{v}");

    // Not a grant / not a token / truncated base45 / empty: 422 with a specific code.
    let text = grant(&patient, &kid, |_| {});
    // Base45 text whose length is 1 mod 3 can never decode; cut the grant to such a length,
    // not just before a space (the node trims pasted text, and whole base45 never ends in one).
    let payload_len = text.len() - "SPONDON:1:".len();
    let cut = (7..40)
        .find(|c| (payload_len - c) % 3 == 1 && !text[..text.len() - c].ends_with(' '))
        .unwrap();
    let bad = [
        (json!({"grant": list.sign(&root).unwrap()}), "not_a_grant"),
        (json!({"grant": "hello"}), "not_a_token"),
        (
            json!({"grant": &text[..text.len() - cut]}),
            "base45_invalid",
        ),
        (json!({"grant": &text[..text.len() - 30]}), ""),
        (json!({"grant": ""}), "empty"),
    ];
    for (body, code) in bad {
        let r = n.post_json("/api/grant/check", &body).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let c = r.code();
        if !code.is_empty() {
            assert_eq!(c, code, "{}", r.text());
        }
    }
    // Malformed requests.
    let auth = format!("Bearer {}", n.token);
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        text.as_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (415, "unsupported_media_type")
    );
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        b"{\"grant\": ",
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "bad_json"));
    let r = n
        .post_json("/api/grant/check", &json!({"grant": text, "extra": 1}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "bad_json"));
    let big = vec![b'a'; 300 * 1024];
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &big,
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (413, "too_large"));
    // Authentication.
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[("Content-Type", "application/json")],
        json!({"grant": text}).to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[
            ("Authorization", "Bearer spvs_nope"),
            ("Content-Type", "application/json"),
        ],
        json!({"grant": text}).to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    // Login: an HttpOnly, SameSite=Strict session cookie; page POSTs need the CSRF header.
    let r = request(
        n.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": "spvs_wrong"}).to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "bad_login"));
    let r = request(
        n.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": n.token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let body = json!({"grant": text}).to_string();
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "csrf"));
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/json"),
            ("X-Spondon-Request", "1"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(n.addr, "POST", "/api/logout", &[("Cookie", &cookie)], b"").await;
    assert_eq!(r.status, 200);
    let r = request(
        n.addr,
        "POST",
        "/api/grant/check",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/json"),
            ("X-Spondon-Request", "1"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "session_expired"));

    // Records of a refused grant are not fetched: the refusal comes first.
    let r = n
        .post_json(
            "/api/grant/records",
            &json!({"grant": grant(&patient, Es256KeyPair::generate().unwrap().kid(), |_| {})}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_for_this_clinic"));
    let r = n.post_json("/api/grant/write", &json!({"grant": grant(&patient, &kid, |_| {}), "kind": "prescription", "resources": [{"resourceType": "MedicationRequest"}]})).await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_write_scoped"));

    // Document check: bad uploads.
    let r = n
        .upload("image/png", b"\x89PNG\r\n\x1a\ngarbage garbage")
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.code(), "unreadable");
    let r = n
        .upload("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = n.upload("text/html", b"<html>").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (415, "unsupported_media_type")
    );
    let r = n
        .upload("application/octet-stream", &vec![0u8; (4 << 20) + 10])
        .await;
    assert_eq!((r.status, r.code().as_str()), (413, "too_large"));
    let r = n.upload("text/plain", b"").await;
    assert_eq!((r.status, r.code().as_str()), (400, "empty"));
    let r = n.upload("text/plain", b"shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133314564376531415906402203064504590856435503414245413640370636654171372412363803043756220467374075323239254334433260573601064529295312707424284350386122127671665437102572713671033607736144").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["report"]["valid"], false);
    // A Spondon token as text: judged with the node's trust list.
    let r = n
        .upload("text/plain", grant(&patient, &kid, |_| {}).as_bytes())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["report"]["valid"], true, "{}", r.text());

    // Unknown route, wrong method: problems.
    let r = n.get("/api/nope").await;
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    let r = n.get("/api/grant/check").await;
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
    // Health, readiness and metrics: requests by route, never a concrete identifier.
    let r = n.get("/healthz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let r = n.get("/readyz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ready\n"));
    let r = n.get("/metrics").await;
    assert_eq!(r.status, 200);
    let m = r.text();
    for line in [
        "spondon_verifier_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
        "spondon_verifier_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "spondon_verifier_http_requests_total{method=\"POST\",route=\"/api/document/check\",status=\"200\"}",
        "spondon_verifier_trust_list_sequence ",
        "# TYPE spondon_verifier_http_request_duration_seconds histogram",
        "spondon_verifier_db_pool_connections{state=\"idle\"}",
    ] {
        assert!(m.contains(line), "{line} missing:\n{m}");
    }
    assert!(!m.contains("/api/nope"), "a concrete path became a label");
    // OpenAPI lists every route.
    let o = n.get("/openapi.json").await.json();
    for p in [
        "/api/grant/check",
        "/api/grant/records",
        "/api/grant/write",
        "/api/document/check",
        "/api/status",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(o["paths"][p].is_object(), "{p} missing");
    }
    // The page is served, with a CSP and no external resource.
    let r = request(n.addr, "GET", "/", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(
        !r.text().contains("http://") && !r.text().contains("https://"),
        "the page loads nothing from elsewhere"
    );

    // None of the checks or bad inputs stored anything.
    assert_eq!(n.stored().await, before);
    if database_url.is_none() {
        for f in [
            "verifier.sqlite",
            "verifier.sqlite-wal",
            "verifier.sqlite-shm",
        ] {
            assert_eq!(mode(&n.data.join(f)), 0o600, "{f}");
        }
    }
    let log = stop(&mut n);
    assert!(log.contains("shutting down"), "{log}");
    for word in ["HID-1988", "Paracetamol", "SPONDON:1:"] {
        assert!(!log.contains(word), "the log mentions {word}: {log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_verdicts_and_bad_input_sqlite() {
    matrix(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_verdicts_and_bad_input_postgres() {
    if let Some(url) = postgres_url("grant_verdicts_and_bad_input_postgres").await {
        matrix(Some(&url)).await;
    }
}

async fn login(n: &TestNode) -> String {
    let r = request(
        n.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": n.token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn status_with(n: &TestNode, cookie: &str) -> Resp {
    request(n.addr, "GET", "/api/status", &[("Cookie", cookie)], b"").await
}

/// Page sessions live in the database: a restart keeps them, logout and removing the staff
/// member end them, and only the hash of the session id is stored.
async fn sessions(database_url: Option<&str>) {
    let root = Es256KeyPair::generate().unwrap();
    let dmch = hospital("dmch", "Dhaka Medical College Hospital", DMCH);
    let list = trust_list(vec![dmch.entry.clone()], 1);
    let mut n = init_node(&root, &list, database_url);
    serve(&mut n, &["--no-refresh"]).await;
    let first = login(&n).await;
    let second = login(&n).await;
    assert_ne!(first, second);
    assert_eq!(status_with(&n, &first).await.status, 200);
    assert_eq!(n.stored().await["verifier_sessions"], 2);
    stop(&mut n);
    if database_url.is_none() {
        // The id itself is nowhere in the database file.
        let id = first.split_once('=').unwrap().1;
        let db = std::fs::read(n.data.join("verifier.sqlite")).unwrap();
        assert!(!db.windows(id.len()).any(|w| w == id.as_bytes()));
    }
    // A restart: the sessions are still good.
    serve(&mut n, &["--no-refresh"]).await;
    let r = status_with(&n, &first).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["staff"], "Nasrin Akter");
    // Logout ends that session only.
    let r = request(n.addr, "POST", "/api/logout", &[("Cookie", &first)], b"").await;
    assert_eq!(r.status, 200);
    let r = status_with(&n, &first).await;
    assert_eq!((r.status, r.code().as_str()), (401, "session_expired"));
    assert_eq!(status_with(&n, &second).await.status, 200);
    // A made-up session id is refused the same way.
    let r = status_with(&n, "spondon_session=AAAA").await;
    assert_eq!((r.status, r.code().as_str()), (401, "session_expired"));
    // Removing the staff member ends their sessions at once.
    stop(&mut n);
    run(&["staff", "remove", "--data", n.data_str(), "Nasrin Akter"]);
    serve(&mut n, &["--no-refresh"]).await;
    let r = status_with(&n, &second).await;
    assert_eq!((r.status, r.code().as_str()), (401, "session_expired"));
    stop(&mut n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sessions_survive_a_restart_sqlite() {
    sessions(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sessions_survive_a_restart_postgres() {
    if let Some(url) = postgres_url("staff_sessions_survive_a_restart_postgres").await {
        sessions(Some(&url)).await;
    }
}

#[tokio::test]
async fn init_refuses_a_trust_list_not_signed_by_the_root_key() {
    let root = Es256KeyPair::generate().unwrap();
    let other = Es256KeyPair::generate().unwrap();
    let dmch = hospital("dmch", "Dhaka Medical College Hospital", DMCH);
    let list = trust_list(vec![dmch.entry], 1);
    let dir = tempfile::tempdir().unwrap();
    let trust = write(dir.path(), "t.txt", &list.sign(&other).unwrap());
    let jwk = write(
        dir.path(),
        "root.jwk",
        &serde_json::to_string(&root.public_key().to_jwk()).unwrap(),
    );
    let data = dir.path().join("node");
    let out = std::process::Command::new(BIN)
        .args([
            "init",
            "--clinic",
            "C",
            "--data",
            data.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--root-key",
            jwk.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trust list"), "{err}");
    assert!(!data.join("verifier.json").exists());
}

/// A small PNG tiled with QR finder patterns (the detector's worst case).
fn finder_tiles(side: u32, module: u32) -> Vec<u8> {
    let cell = 8 * module;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x % cell) / module, (y % cell) / module);
        let ring = mx == 0 || mx == 6 || my == 0 || my == 6;
        let core = (2..=4).contains(&mx) && (2..=4).contains(&my);
        image::Luma([if mx < 7 && my < 7 && (ring || core) {
            0
        } else {
            255
        }])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_images_are_bounded() {
    let root = Es256KeyPair::generate().unwrap();
    let dmch = hospital("dmch", "Dhaka Medical College Hospital", DMCH);
    let list = trust_list(vec![dmch.entry.clone()], 3);
    let mut n = init_node(&root, &list, None);
    serve(&mut n, &[]).await;
    // Finder-pattern tiles: the decoder gives up at its time budget instead of running for
    // minutes.
    let png = finder_tiles(1600, 3);
    let r = n.upload("image/png", &png).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "unreadable"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("time budget"), "{}", r.text());
    // 16 bits per channel: refused from the header, nothing decoded.
    let deep = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::new(2000, 2000);
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma16(deep)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    let r = n.upload("image/png", &bytes).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "unreadable"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("bits per channel"), "{}", r.text());
    stop(&mut n);
}
