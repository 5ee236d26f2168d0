//! The peer over real HTTP on 127.0.0.1, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard};
use spondon_ledger::{EntryKind, LogEntry, Opening};
use spondon_peer::http::{LEDGER_ROUTES, ROUTES};

async fn directory(tp: &TestPeer) -> Directory {
    let jwks = tp.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("content-type"), Some("application/json"));
    let kid = jwks.json()["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks.json()["keys"][0]["crlVersion"], 1);
    let crl = tp.get(&format!("/.well-known/crl/{kid}.json")).await;
    assert_eq!(crl.status, 200, "{}", crl.text());
    let mut d = Directory::new();
    d.add_issuer(URL, Some("DMCH")).unwrap();
    d.add_jwks_json(URL, &jwks.text()).unwrap();
    d.add_crl_json(URL, &crl.text()).unwrap();
    d
}

async fn check_logged(tp: &TestPeer, id: &str) {
    let (rec, salt) = tp.peer.stored_record(id).await.unwrap();
    let entry = LogEntry::decode(&tp.peer.log.entry(rec.log_index).await.unwrap()).unwrap();
    assert_eq!(entry.kind, EntryKind::RecordIssued);
    assert!(entry.opens(&Opening {
        salt,
        payload: rec.jws.clone().into_bytes()
    }));
    // The published checkpoint covers it.
    let (cp, _) = tp.peer.log.signed_checkpoint().await.unwrap();
    assert!(cp.size > rec.log_index);
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_is_served() {
    let tp = start(None).await;
    let doc = tp.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut n = 0;
    for r in ROUTES.iter().chain(LEDGER_ROUTES) {
        assert!(
            paths[r.path][r.method].is_object(),
            "{} {} missing",
            r.method,
            r.path
        );
        n += 1;
        // Substitute parameters; the route must exist (not the no_route / 405 fallbacks).
        let concrete = r
            .path
            .replace("{file}", "x.json")
            .replace("{health_id}", "1234-5678-9012-34")
            .replace("{id}", "1234-5678-9012-34")
            .replace("{path}", "0/000");
        let resp = request(tp.addr, &r.method.to_uppercase(), &concrete, &[], b"").await;
        if resp.header("content-type") == Some("application/problem+json") {
            let code = resp.code();
            assert_ne!(code, "no_route", "{} {}", r.method, r.path);
            assert_ne!(code, "method_not_allowed", "{} {}", r.method, r.path);
        }
        assert_ne!(resp.status, 405, "{} {}", r.method, r.path);
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, n, "the document lists only real routes");
    assert_eq!(tp.get("/no/such/route").await.code(), "no_route");
    let r = request(tp.addr, "DELETE", "/staff/patients", &[], b"").await;
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
    tp.stop().await;
}

async fn staff_flow(db: Option<&str>) {
    let tp = start(db).await;
    let dir = directory(&tp).await;
    // Register.
    let r = tp
        .staff_post("/staff/patients", &patient_json("1987654321"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    let hid = p["health_id"].as_str().unwrap().to_owned();
    assert!(spondon_peer::registry::is_health_id(&hid));
    let code = p["enrollment_code"].as_str().unwrap();
    assert_eq!(code.len(), 11);
    assert!(
        p["enrollment_text"]
            .as_str()
            .unwrap()
            .starts_with("SPONDON-ENROLL:1:")
    );
    assert!(p["enrollment_qr_svg"].as_str().unwrap().contains("<svg"));
    let decoded = spondon_core::qr::encode(p["enrollment_text"].as_str().unwrap()).unwrap();
    assert!(decoded.width() > 0);
    let auth = tp.auth();
    let got = request(
        tp.addr,
        "GET",
        &format!("/staff/patients/{hid}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["phone"], "+8801711234567");
    assert_eq!(got.json()["district"], "Mymensingh");
    // Same NID again: conflict.
    let dup = tp
        .staff_post("/staff/patients", &patient_json("1987654321"))
        .await;
    assert_eq!(
        (dup.status, dup.code().as_str()),
        (409, "duplicate_patient")
    );
    let (bmdc, _key) = register_doctor(&tp, "A-54321").await;
    let dupd = tp
        .staff_post("/staff/doctors", &json!({"bmdc_number": "A-54321", "name": "X", "department": "Y",
            "public_key": spondon_core::keys::Es256KeyPair::generate().unwrap().public_key().to_jwk()}))
        .await;
    assert_eq!(dupd.code(), "duplicate_doctor");

    // Every kind of record.
    let bodies = vec![
        prescription(&hid, &bmdc),
        lab_report(&hid),
        json!({"health_id": hid, "kind": "diagnosis", "doctor_bmdc": bmdc, "resources": [
            {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A97.0", "display": "Dengue without warning signs"}]},
             "onsetDateTime": "2026-11-18"}]}),
        json!({"health_id": hid, "kind": "immunization", "resources": [
            {"resourceType": "Immunization", "status": "completed",
             "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
             "occurrenceDateTime": "2026-01-10", "lotNumber": "HB2026-113"}]}),
        json!({"health_id": hid, "kind": "encounter", "resources": [
            {"resourceType": "Encounter", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
             "period": {"start": "2026-11-18T10:00:00+06:00"}}]}),
        json!({"health_id": hid, "kind": "payment", "resources": [
            {"resourceType": "Invoice", "status": "balanced", "totalGross": {"value": 1250, "currency": "BDT"}}]}),
    ];
    let mut ids = Vec::new();
    for b in &bodies {
        let r = tp.staff_post("/staff/records", b).await;
        assert_eq!(r.status, 201, "{}: {}", b["kind"], r.text());
        let rec = r.json();
        let card = ParsedCard::parse(rec["jws"].as_str().unwrap()).unwrap();
        card.verify(&dir, NumericDate::now()).unwrap();
        assert_eq!(card.rid(), rec["id"].as_str());
        let bundle = card.fhir_bundle();
        assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "Patient");
        ids.push(rec["id"].as_str().unwrap().to_owned());
        check_logged(&tp, rec["id"].as_str().unwrap()).await;
    }
    // The prescription names its doctor; the lab report links its observations.
    let (rx, _) = tp.peer.stored_record(&ids[0]).await.unwrap();
    let card = ParsedCard::parse(&rx.jws).unwrap();
    let b = card.fhir_bundle();
    assert_eq!(b["entry"][1]["resource"]["resourceType"], "Practitioner");
    assert_eq!(
        b["entry"][2]["resource"]["requester"]["reference"],
        "resource:1"
    );
    let (lab, _) = tp.peer.stored_record(&ids[1]).await.unwrap();
    let lb = ParsedCard::parse(&lab.jws).unwrap().fhir_bundle().clone();
    assert_eq!(
        lb["entry"][1]["resource"]["result"][0]["reference"],
        "resource:2"
    );

    // A correction supersedes; both stay verifiable; a record is superseded only once.
    let mut fix = prescription(&hid, &bmdc);
    fix["supersedes"] = json!(ids[0]);
    let r = tp.staff_post("/staff/records", &fix).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["supersedes"], json!(ids[0]));
    ParsedCard::parse(&rx.jws)
        .unwrap()
        .verify(&dir, NumericDate::now())
        .unwrap();
    let again = tp.staff_post("/staff/records", &fix).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (422, "bad_supersede")
    );
    let mut unknown = prescription(&hid, &bmdc);
    unknown["supersedes"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        tp.staff_post("/staff/records", &unknown).await.code(),
        "unknown_record"
    );
    assert_eq!(tp.peer.record_count(Some(&hid)).await.unwrap(), 7);
    // The log holds exactly the issued records, and the checkpoint verifies.
    let (size, _) = tp.peer.log.tree_head().await;
    assert_eq!(size, 7);
    let v = spondon_ledger::Verifier::from_vkey(&tp.peer.log_vkey()).unwrap();
    let cp = tp.peer.log.verified_checkpoint(&v).await.unwrap();
    assert_eq!(cp.checkpoint.size, 7);
    let note = tp.get("/checkpoint").await;
    assert_eq!(note.status, 200);
    assert!(note.text().starts_with("dmch.example/log\n7\n"));
    tp.stop().await;
}

#[tokio::test]
async fn staff_registers_and_issues_every_record_kind() {
    for db in engines("staff_registers_and_issues_every_record_kind").await {
        staff_flow(db.as_deref()).await;
    }
}

async fn bad_input(db: Option<&str>) {
    let tp = start_with(db, |c| c.max_body_bytes = 8 * 1024).await;
    let hid = register_patient(&tp, "19901234567890123").await;
    let (bmdc, _) = register_doctor(&tp, "B-777").await;
    let before_log = tp.peer.log.tree_head().await;
    let auth = tp.auth();
    let post = |path: &'static str, ct: &'static str, body: Vec<u8>| {
        let auth = auth.clone();
        let addr = tp.addr;
        async move {
            request(
                addr,
                "POST",
                path,
                &[("Authorization", &auth), ("Content-Type", ct)],
                &body,
            )
            .await
        }
    };
    // Authentication.
    let r = request(
        tp.addr,
        "POST",
        "/staff/records",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = request(
        tp.addr,
        "POST",
        "/staff/records",
        &[
            ("Authorization", "Bearer spst_forged"),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(r.code(), "unauthorized");
    // Transport-level problems.
    let r = post(
        "/staff/records",
        "application/json",
        b"{\"health_id\": ".to_vec(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "malformed_json"));
    let r = post(
        "/staff/records",
        "text/plain",
        prescription(&hid, &bmdc).to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (415, "unsupported_media_type")
    );
    let mut big = prescription(&hid, &bmdc);
    big["resources"][0]["note"] = json!([{"text": "x".repeat(9000)}]);
    let r = post(
        "/staff/records",
        "application/json",
        big.to_string().into_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (413, "body_too_large"));
    let mut extra = prescription(&hid, &bmdc);
    extra["surprise"] = json!(1);
    assert_eq!(
        post(
            "/staff/records",
            "application/json",
            extra.to_string().into_bytes()
        )
        .await
        .code(),
        "malformed_json"
    );
    // Invalid content: each with its specific code.
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"health_id": "1234-5678-9012-34", "kind": "lab_report", "resources": []}),
            404,
            "unknown_patient",
        ),
        (prescription(&hid, "Z-000"), 404, "unknown_doctor"),
        (
            {
                let mut b = prescription(&hid, &bmdc);
                b.as_object_mut().unwrap().remove("doctor_bmdc");
                b
            },
            400,
            "invalid_field",
        ),
        (
            {
                let mut b = lab_report(&hid);
                b["resources"][1]["code"]["coding"][0]["system"] = json!("http://snomed.info/sct");
                b
            },
            422,
            "invalid_fhir",
        ),
        (
            {
                let mut b = lab_report(&hid);
                b["resources"][1]["valueQuantity"]
                    .as_object_mut()
                    .unwrap()
                    .remove("unit");
                b
            },
            422,
            "invalid_fhir",
        ),
        (
            {
                let mut b = lab_report(&hid);
                b["resources"].as_array_mut().unwrap().remove(0);
                b
            },
            422,
            "invalid_fhir",
        ),
        (
            json!({"health_id": hid, "kind": "diagnosis", "resources": [{"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "dengue"}]}}]}),
            422,
            "invalid_fhir",
        ),
        (
            json!({"health_id": hid, "kind": "diagnosis", "resources": [{"resourceType": "MedicationRequest"}]}),
            422,
            "invalid_fhir",
        ),
        (
            json!({"health_id": hid, "kind": "immunization", "resources": [{"resourceType": "Immunization", "status": "not-done", "vaccineCode": {"coding": [{"code": "08"}]}, "occurrenceDateTime": "2026-01-01"}]}),
            422,
            "invalid_fhir",
        ),
        (
            {
                let mut b = prescription(&hid, &bmdc);
                b["resources"][0]["subject"] = json!({"reference": "Patient/other"});
                b
            },
            422,
            "invalid_fhir",
        ),
        (
            json!({"health_id": hid, "kind": "payment", "resources": [{"resourceType": "Invoice", "status": "balanced", "totalGross": {"value": 10, "currency": "USD"}}]}),
            422,
            "invalid_fhir",
        ),
        (
            json!({"health_id": hid, "kind": "encounter", "resources": ["not an object"]}),
            422,
            "invalid_fhir",
        ),
    ];
    for (body, status, code) in cases {
        let r = post(
            "/staff/records",
            "application/json",
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{body}: {}",
            r.text()
        );
    }
    let patients: Vec<(Value, &str)> = vec![
        (
            {
                let mut p = patient_json("1234567890");
                p["phone"] = json!("12345");
                p
            },
            "invalid_field",
        ),
        (
            {
                let mut p = patient_json("1234567891");
                p["district"] = json!("Atlantis");
                p
            },
            "invalid_field",
        ),
        (
            {
                let mut p = patient_json("1234567892");
                p["birth_date"] = json!("2999-01-01");
                p
            },
            "invalid_field",
        ),
        (
            {
                let mut p = patient_json("12ab");
                p["sex"] = json!("female");
                p
            },
            "invalid_field",
        ),
        (
            {
                let mut p = patient_json("1234567893");
                p["name"] = json!("");
                p
            },
            "invalid_field",
        ),
    ];
    for (p, code) in patients {
        let r = post(
            "/staff/patients",
            "application/json",
            p.to_string().into_bytes(),
        )
        .await;
        assert_eq!((r.status, r.code().as_str()), (400, code), "{p}");
    }
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let mut private: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
    let r = post("/staff/doctors", "application/json",
        json!({"bmdc_number": "C-1", "name": "Dr. X", "department": "Y", "public_key": private.clone()}).to_string().into_bytes()).await;
    assert_eq!(r.code(), "invalid_field");
    private["x"] = json!("AAAA");
    private.as_object_mut().unwrap().remove("d");
    let r = post(
        "/staff/doctors",
        "application/json",
        json!({"bmdc_number": "C-12", "name": "Dr. X", "department": "Y", "public_key": private})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(r.code(), "invalid_field");
    // Nothing was stored.
    assert_eq!(tp.peer.record_count(None).await.unwrap(), 0);
    assert_eq!(tp.peer.log.tree_head().await, before_log);
    assert!(tp.peer.patient("1234-5678-9012-34").await.is_err());
    // Error bodies never echo the submitted health data.
    tp.stop().await;
}

#[tokio::test]
async fn bad_input_gets_specific_errors_and_stores_nothing() {
    for db in engines("bad_input_gets_specific_errors_and_stores_nothing").await {
        bad_input(db.as_deref()).await;
    }
}

async fn concurrent(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "5551234567").await;
    let (bmdc, _) = register_doctor(&tp, "D-100").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let addr = tp.addr;
        let auth = tp.auth();
        let body = prescription(&hid, &bmdc).to_string();
        tasks.push(tokio::spawn(async move {
            let r = request(
                addr,
                "POST",
                "/staff/records",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text());
            (
                r.json()["id"].as_str().unwrap().to_owned(),
                r.json()["log_index"].as_u64().unwrap(),
            )
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut idx = std::collections::BTreeSet::new();
    for t in tasks {
        let (id, i) = t.await.unwrap();
        ids.insert(id);
        idx.insert(i);
    }
    assert_eq!(ids.len(), 16);
    assert_eq!(idx, (0..16).collect());
    assert_eq!(tp.peer.record_count(Some(&hid)).await.unwrap(), 16);
    assert_eq!(tp.peer.log.tree_head().await.0, 16);
    tp.stop().await;
}

#[tokio::test]
async fn concurrent_issuance_loses_and_duplicates_nothing() {
    for db in engines("concurrent_issuance_loses_and_duplicates_nothing").await {
        concurrent(db.as_deref()).await;
    }
}

#[tokio::test]
async fn keys_are_private_and_unsafe_key_files_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let tp = start(None).await;
    let data = tp.dir.path().join("peer");
    // Something written, so the WAL and its index exist: they hold health data too.
    assert_eq!(
        tp.staff_post("/staff/patients", &patient_json("1975009999"))
            .await
            .status,
        201
    );
    assert!(data.join("peer.db-wal").exists());
    for f in [
        "peer.json",
        "peer.db",
        "peer.db-wal",
        "peer.db-shm",
        "keys/record-es256.p8",
        "keys/log-ed25519.seed",
        "keys/witness-ed25519.seed",
    ] {
        let mode = std::fs::metadata(data.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let again =
        spondon_peer::Peer::init(&spondon_peer::config::DataDir::new(&data), "X", URL, None).await;
    assert_eq!(again.err().map(|e| e.code()), Some("already_initialized"));
    std::fs::set_permissions(
        data.join("keys/log-ed25519.seed"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = spondon_peer::config::DataDir::new(&data)
        .keys()
        .unwrap_err();
    assert_eq!(err.code(), "key_file");
    let bad_url = spondon_peer::Peer::init(
        &spondon_peer::config::DataDir::new(tp.dir.path().join("x")),
        "X",
        "http://plain.example",
        None,
    )
    .await;
    assert!(matches!(
        bad_url,
        Err(spondon_peer::PeerError::Config(
            spondon_peer::ConfigError::BadUrl(_)
        ))
    ));
    tp.stop().await;
}

#[tokio::test]
async fn configuration_faults_are_refused_with_their_codes() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = spondon_peer::DataDir::new(tmp.path().join("peer"));
    let (peer, _token) = spondon_peer::Peer::init(&dir, "DMCH", URL, None)
        .await
        .unwrap();
    let own_vkey = peer.log_vkey();
    drop(peer);
    let code = |r: spondon_peer::Result<spondon_peer::Config>| r.err().map(|e| e.code());
    // A setup command's bad values, on the real file.
    assert_eq!(code(dir.add_witness_log(&own_vkey)), Some("config_own_log"));
    assert_eq!(
        code(dir.add_witness_log("not a vkey")),
        Some("config_bad_key")
    );
    assert_eq!(
        code(dir.add_stats_authority_key(b"not json")),
        Some("config_bad_key")
    );
    assert_eq!(
        code(dir.add_witness("ftp://w.example", &own_vkey)),
        Some("config_bad_witness_url")
    );
    // peer.json edited by hand: each fault with its own code, the file left as it was.
    let path = tmp.path().join("peer/peer.json");
    let good: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let write = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let with = |field: &str, v: Value| {
        let mut c = good.clone();
        c[field] = v;
        serde_json::to_vec(&c).unwrap()
    };
    for (bytes, want) in [
        (b"{".to_vec(), "config_malformed"),
        (
            with("rate_limit", json!({"per_second": -1.0})),
            "config_out_of_range",
        ),
        (
            with("request_timeout_secs", json!(0)),
            "config_out_of_range",
        ),
        (with("ca_files", json!(["ca.pem"])), "config_relative_path"),
        (
            with("log_origin", json!("other.example/log")),
            "config_log_origin_mismatch",
        ),
        (with("url", json!("http://dmch.example")), "config_bad_url"),
        (
            with(
                "witnesses",
                json!([{"url": "https://w.example", "vkey": "x"}]),
            ),
            "config_bad_key",
        ),
    ] {
        write(&bytes);
        assert_eq!(
            code(dir.config()),
            Some(want),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    write(&serde_json::to_vec(&good).unwrap());
    assert!(dir.config().is_ok());
    // A list of database URLs: PostgreSQL only, and one of them must accept writes (nothing
    // listens on these ports: refused at once, a few rounds, then given up).
    let db_code =
        |r: spondon_peer::Result<(spondon_ledger::Database, _)>| r.err().map(|e| e.code());
    assert_eq!(
        db_code(spondon_peer::failover::connect("postgres://127.0.0.1:1/x,sqlite::memory:").await),
        Some("config_database_url")
    );
    assert_eq!(
        db_code(
            spondon_peer::failover::connect("postgres://127.0.0.1:1/x,postgres://127.0.0.1:2/x")
                .await
        ),
        Some("config_no_writable_database")
    );
}

#[tokio::test]
async fn log_and_witness_vkeys_round_trip() {
    // Ed25519 keys whose base64 holds '+' must parse too (a ledger fix made for the peer).
    for _ in 0..64 {
        let k = spondon_core::keys::Ed25519KeyPair::generate().unwrap();
        let s = spondon_ledger::Signer::ed25519("dmch.example/log", k).unwrap();
        let vkey = s.verifier().to_vkey();
        assert_eq!(
            spondon_ledger::Verifier::from_vkey(&vkey)
                .unwrap()
                .to_vkey(),
            vkey
        );
    }
}

#[tokio::test]
async fn seed_makes_valid_realistic_records() {
    let tp = start(None).await;
    let dir = directory(&tp).await;
    let s = spondon_peer::seed::seed(&tp.peer, 6, 7).await.unwrap();
    assert_eq!(s.patients, 6);
    assert_eq!(s.doctors, 5);
    assert!(s.records >= 6 * 4, "{s:?}");
    assert_eq!(tp.peer.record_count(None).await.unwrap(), s.records);
    assert_eq!(tp.peer.log.tree_head().await.0, s.records);
    // Every record verifies as a SMART Health Card and opens its log entry.
    let (size, _) = tp.peer.current_checkpoint().await.unwrap();
    assert_eq!(size, s.records);
    for i in 0..s.records {
        let entry = LogEntry::decode(&tp.peer.log.entry(i).await.unwrap()).unwrap();
        assert_eq!(entry.kind, EntryKind::RecordIssued);
    }
    let ids: Vec<String> = match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => sqlx::query_scalar("SELECT id FROM peer_records")
            .fetch_all(p)
            .await
            .unwrap(),
        spondon_ledger::Database::Postgres(_) => unreachable!(),
    };
    for id in ids {
        let (rec, _) = tp.peer.stored_record(&id).await.unwrap();
        ParsedCard::parse(&rec.jws)
            .unwrap()
            .verify(&dir, NumericDate::now())
            .unwrap();
        check_logged(&tp, &id).await;
    }
    // Same seed, same first person: never registered twice.
    let again = spondon_peer::seed::seed(&tp.peer, 1, 7).await.unwrap();
    assert_eq!((again.patients, again.records), (0, 0));
    tp.stop().await;
}

#[tokio::test]
async fn openapi_body_schemas_name_the_fields_the_server_requires() {
    let tp = start(None).await;
    let doc = tp.get("/openapi.json").await.json();
    // Posting a body without each required field fails on that field: the schema is honest.
    for (path, example) in [("/staff/patients", patient_json("1122334455"))] {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(props.len(), example.as_object().unwrap().len());
        for field in &required {
            let mut body = example.clone();
            body.as_object_mut().unwrap().remove(*field);
            let r = tp.staff_post(path, &body).await;
            assert_eq!(r.code(), "malformed_json", "{field}");
            assert!(r.text().contains(field), "{}", r.text());
        }
        assert_eq!(tp.staff_post(path, &example).await.status, 201);
    }
    assert_eq!(
        doc["paths"]["/grant/records"]["post"]["security"][0]["proofOfPossession"],
        json!([])
    );
    tp.stop().await;
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let tp = start_with(None, |c| c.request_timeout_secs = 1).await;
    let mut s = tokio::net::TcpStream::connect(tp.addr).await.unwrap();
    let head = format!(
        "POST /staff/patients HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"name\"",
        tp.auth()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // A hang guard, not a speed target: the 408 below is the outcome.
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    // The staff request that timed out is audited, with its token and its 408.
    let audit = tp.peer.staff_audit().await.unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "POST /staff/patients")
        .unwrap_or_else(|| panic!("no audit entry for the timed-out request: {audit:?}"));
    assert_eq!(entry.status, 408, "{audit:?}");
    assert_ne!(entry.token_id, "-", "the token is named: {audit:?}");
    tp.stop().await;
}

/// The JWKS and CRL as a wallet fetches them, and a directory built from them.
async fn fetched_directory(tp: &TestPeer) -> (Directory, Value, Value) {
    let jwks = tp.get("/.well-known/jwks.json").await;
    let kid = jwks.json()["keys"][0]["kid"].as_str().unwrap().to_owned();
    let crl = tp.get(&format!("/.well-known/crl/{kid}.json")).await;
    assert_eq!(crl.status, 200, "{}", crl.text());
    let mut d = Directory::new();
    d.add_issuer(URL, Some("DMCH")).unwrap();
    d.add_jwks_json(URL, &jwks.text()).unwrap();
    d.add_crl_json(URL, &crl.text()).unwrap();
    (d, jwks.json(), crl.json())
}

async fn revocation_payload(tp: &TestPeer, id: &str) -> (String, Vec<u8>, i64) {
    let q = "SELECT payload, salt, log_index FROM peer_record_revocations WHERE record_id = $1";
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query_as(q).bind(id).fetch_one(p).await.unwrap()
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_as(q).bind(id).fetch_one(p).await.unwrap()
        }
    }
}

async fn record_revocation(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "1472583690").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let (before, jwks, crl) = fetched_directory(&tp).await;
    assert_eq!(
        (jwks["keys"][0]["crlVersion"].clone(), crl["ctr"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(crl["rids"], json!([]));
    let cards: Vec<ParsedCard> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(ParsedCard::parse(&tp.peer.stored_record(id).await.unwrap().0.jws).unwrap());
        }
        v
    };
    cards[0].verify(&before, NumericDate::now()).unwrap();
    let path = format!("/staff/records/{}/revoke", ids[0]);
    let size = tp.peer.log.tree_head().await.0;

    // Refusals change nothing.
    let r = request(
        tp.addr,
        "POST",
        &path,
        &[("Content-Type", "application/json")],
        br#"{"reason":"wrong_patient"}"#,
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = tp.staff_post(&path, &json!({"reason": "because"})).await;
    assert_eq!((r.status, r.code().as_str()), (400, "malformed_json"));
    let r = tp
        .staff_post(&path, &json!({"reason": "other", "note": "x"}))
        .await;
    assert_eq!(r.code(), "malformed_json", "unknown fields are refused");
    let r = tp
        .staff_post(
            "/staff/records/AAAAAAAAAAAAAAAAAAAAAA/revoke",
            &json!({"reason": "other"}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "unknown_record"));
    assert_eq!(tp.peer.log.tree_head().await.0, size);
    assert_eq!(tp.peer.crl_version().await.unwrap(), 1);

    // Revoke: logged, listed, version bumped; a second time is a conflict.
    let r = tp
        .staff_post(&path, &json!({"reason": "wrong_patient"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let out = r.json();
    assert_eq!(out["crl_version"], 2);
    assert_eq!(out["record_id"], json!(ids[0]));
    let again = tp.staff_post(&path, &json!({"reason": "duplicate"})).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (409, "already_revoked")
    );
    let (payload, salt, index) = revocation_payload(&tp, &ids[0]).await;
    assert_eq!(index, out["log_index"].as_i64().unwrap());
    let entry = LogEntry::decode(&tp.peer.log.entry(index as u64).await.unwrap()).unwrap();
    assert_eq!(entry.kind, EntryKind::RevocationRegistered);
    assert!(entry.opens(&Opening {
        salt: salt.try_into().unwrap(),
        payload: payload.clone().into_bytes()
    }));
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(
        (
            p["type"].as_str(),
            p["record"].as_str(),
            p["reason"].as_str()
        ),
        (
            Some("record_revoked"),
            Some(ids[0].as_str()),
            Some("wrong_patient")
        )
    );
    assert_eq!(
        tp.peer.log.signed_checkpoint().await.unwrap().0.size,
        size + 1
    );

    // A wallet with the new JWKS and CRL rejects the revoked card and keeps the other.
    let (after, jwks, crl) = fetched_directory(&tp).await;
    assert_eq!(jwks["keys"][0]["crlVersion"], 2);
    assert_eq!(
        (
            crl["ctr"].clone(),
            crl["method"].clone(),
            crl["rids"].clone()
        ),
        (json!(2), json!("rid"), json!([ids[0]]))
    );
    let e = cards[0].verify(&after, NumericDate::now()).unwrap_err();
    assert_eq!(e.code(), "revoked", "{e}");
    cards[1].verify(&after, NumericDate::now()).unwrap();
    // A wallet holding the old CRL with the new JWKS cannot miss the revocation.
    let mut stale = Directory::new();
    stale.add_issuer(URL, None).unwrap();
    stale.add_jwks_json(URL, &jwks.to_string()).unwrap();
    stale
        .add_crl_json(
            URL,
            &json!({"kid": crl["kid"], "method": "rid", "ctr": 1, "rids": []}).to_string(),
        )
        .unwrap();
    assert_eq!(
        cards[0]
            .verify(&stale, NumericDate::now())
            .unwrap_err()
            .code(),
        "crl_version_mismatch"
    );
    tp.stop().await;
}

#[tokio::test]
async fn staff_revoke_a_record_through_the_crl() {
    for db in engines("staff_revoke_a_record_through_the_crl").await {
        record_revocation(db.as_deref()).await;
    }
}

/// `/healthz`, `/readyz` and `/metrics`: requests counted by route template (never a concrete
/// path with a Health ID), log gauges, and the text format Prometheus reads.
#[tokio::test]
async fn health_readiness_and_metrics() {
    for db in engines("health_readiness_and_metrics").await {
        let tp = start(db.as_deref()).await;
        let h = tp.get("/healthz").await;
        assert_eq!((h.status, h.text().as_str()), (200, "ok\n"));
        let r = tp.get("/readyz").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ready\n"));
        let hid = register_patient(&tp, "1987654321").await;
        let issued = tp.staff_post("/staff/records", &lab_report(&hid)).await;
        assert_eq!(issued.status, 201, "{}", issued.text());
        let seen = tp.get(&format!("/staff/patients/{hid}")).await;
        assert_eq!(seen.status, 401, "no token: refused, and counted");
        let m = tp.get("/metrics").await;
        assert_eq!(m.status, 200);
        assert_eq!(
            m.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let text = m.text();
        for line in [
            "spondon_peer_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
            "spondon_peer_http_requests_total{method=\"POST\",route=\"/staff/patients\",status=\"201\"} 1",
            "spondon_peer_http_requests_total{method=\"GET\",route=\"/staff/patients/{health_id}\",status=\"401\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(!text.contains(&hid), "a Health ID reached a label:\n{text}");
        assert!(text.contains("# TYPE spondon_peer_http_request_duration_seconds histogram"));
        assert!(text.contains("spondon_peer_log_size 1\n"), "{text}");
        assert!(text.contains("spondon_peer_log_signed_size 1\n"), "{text}");
        assert!(
            text.contains("spondon_peer_witness_lag_entries 1\n"),
            "{text}"
        );
        assert!(text.contains("spondon_peer_db_pool_connections{state=\"in_use\"}"));
        assert!(text.contains("spondon_peer_checkpoint_age_seconds"));
        assert!(text.ends_with("# EOF\n"), "{text}");
        tp.stop().await;
    }
}

/// A crash between a log append and its checkpoint signature: at start-up the peer signs a
/// checkpoint over the whole log, so the committed entry is covered at once.
#[tokio::test]
async fn startup_signs_a_checkpoint_over_the_whole_log() {
    for db in engines("startup_signs_a_checkpoint_over_the_whole_log").await {
        let (dir, token) = init_dir(URL, db.as_deref()).await;
        let config = spondon_peer::config::DataDir::new(dir.path().join("peer"))
            .config()
            .unwrap();
        let url = db.clone().unwrap_or(config.database_url.clone());
        {
            // What a crashed `serve` leaves: an entry appended, no checkpoint over it.
            let database = spondon_ledger::Database::connect(&url).await.unwrap();
            let log = spondon_ledger::Log::open(
                database.clone(),
                &config.log_origin,
                spondon_ledger::IntegrityCheck::Quick,
            )
            .await
            .unwrap();
            let (before, _) = log.signed_checkpoint().await.unwrap();
            let o = Opening::new(b"committed just before the crash".to_vec()).unwrap();
            log.append(&[
                LogEntry::commit(EntryKind::RecordIssued, NumericDate::now(), &o).encode(),
            ])
            .await
            .unwrap();
            assert_eq!(log.signed_checkpoint().await.unwrap().0.size, before.size);
            database.close().await;
        }
        let tp = serve_dir(dir, token, None, |_| {}).await;
        let cp = tp.get("/checkpoint").await;
        assert_eq!(cp.status, 200);
        let size_line = cp.text().lines().nth(1).unwrap().to_owned();
        let (log_size, _) = tp.peer.log.tree_head().await;
        assert_eq!(size_line, log_size.to_string(), "{}", cp.text());
        assert!(log_size >= 1);
        tp.stop().await;
    }
}

/// A staff write retried with the same `Idempotency-Key` answers the first record and issues
/// nothing again; the same key for another request is refused; a bad key is refused.
#[tokio::test]
async fn retried_issuance_with_an_idempotency_key_issues_once() {
    for db in engines("retried_issuance_with_an_idempotency_key_issues_once").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1987654321").await;
        let auth = tp.auth();
        let post = |key: &'static str, body: Value| {
            let auth = auth.clone();
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
                    body.to_string().as_bytes(),
                )
                .await
            }
        };
        let body = lab_report(&hid);
        let first = post("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", body.clone()).await;
        assert_eq!(first.status, 201, "{}", first.text());
        assert_eq!(first.header("idempotent-replayed"), None);
        let (size, _) = tp.peer.log.tree_head().await;
        let again = post("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", body.clone()).await;
        assert_eq!(again.status, 201, "{}", again.text());
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json()["id"], first.json()["id"]);
        assert_eq!(again.json()["log_index"], first.json()["log_index"]);
        assert_eq!(
            tp.peer.log.tree_head().await.0,
            size,
            "nothing issued again"
        );
        // The same key for another record: refused, nothing issued.
        let other = post(
            "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
            prescription(&hid, "A-1"),
        )
        .await;
        assert_eq!(
            (other.status, other.code().as_str()),
            (422, "idempotency_key_reused"),
            "{}",
            other.text()
        );
        assert_eq!(tp.peer.log.tree_head().await.0, size);
        // Another key: a new record.
        let fresh = post("retry-2", body.clone()).await;
        assert_eq!(fresh.status, 201);
        assert_ne!(fresh.json()["id"], first.json()["id"]);
        // A bad key: refused before anything is done.
        let bad = post("", body.clone()).await;
        assert_eq!(
            (bad.status, bad.code().as_str()),
            (400, "bad_idempotency_key")
        );
        let long: &'static str = Box::leak("k".repeat(256).into_boxed_str());
        let bad = post(long, body).await;
        assert_eq!(
            (bad.status, bad.code().as_str()),
            (400, "bad_idempotency_key")
        );
        tp.stop().await;
    }
}
