//! Peer benchmarks (not part of the test run):
//! - records issued per second (validate + sign + log + store + checkpoint), one at a time, then
//!   by `--clients` concurrent staff clients (`Peer::issue_record` from that many tasks);
//! - patient pull of all records of one patient (default 10,000), then an incremental pull of 1;
//! - grant redemption under load on loopback for `--secs` (default 60): requests/s, p50, p99.
//!
//! `cargo run --release -p spondon-peer --example peer-bench -- [--records N] [--secs S]
//! [--clients C] [--database-url postgres://…]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Audience, Category, Grant, PopProof, PopRequest, Purpose};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::records::{IssueRequest, RecordKind};
use spondon_peer::registry::NewPatient;
use spondon_testkit::bench::{arg, percentile};
use spondon_testkit::http::request;
use spondon_testkit::patient::{nonce, signed_ok};

const URL: &str = "https://bench.example";

fn prescription(hid: &str) -> IssueRequest {
    IssueRequest {
        health_id: hid.to_owned(),
        kind: RecordKind::Prescription,
        doctor_bmdc: Some("A-1".into()),
        supersedes: None,
        resources: vec![
            json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
            "dosageInstruction": [{"text": "1 tablet three times daily for 5 days"}]}),
        ],
    }
}

fn patient(nid: &str) -> NewPatient {
    NewPatient {
        name: "Rokeya Khatun".into(),
        birth_date: "1979-02-03".into(),
        sex: "female".into(),
        national_id: nid.into(),
        phone: "01811000000".into(),
        district: "Dhaka".into(),
        upazila: "Savar".into(),
    }
}

#[tokio::main]
async fn main() {
    let records: u64 = arg("--records").map_or(10_000, |v| v.parse().unwrap());
    let secs: u64 = arg("--secs").map_or(60, |v| v.parse().unwrap());
    let clients: usize = arg("--clients").map_or(8, |v| v.parse().unwrap());
    let db = arg("--database-url");
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("peer"));
    let (peer, _) = Peer::init(&data, "Bench Hospital", URL, db.as_deref())
        .await
        .unwrap();
    peer.close().await;
    // The load generator is one client address: rate limiting off, room for its nonces.
    let mut config = data.config().unwrap();
    config.rate_limit.per_second = 0.0;
    config.max_outstanding_nonces = 10_000_000;
    let peer = Arc::new(
        Peer::from_parts(config, data.keys().unwrap())
            .await
            .unwrap(),
    );
    let engine = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    let doctor = Es256KeyPair::generate().unwrap();
    peer.register_doctor(&spondon_peer::registry::NewDoctor {
        bmdc_number: "A-1".into(),
        name: "Dr. Bench".into(),
        department: "Medicine".into(),
        public_key: doctor.public_key().to_jwk(),
    })
    .await
    .unwrap();
    let big = peer.register_patient(&patient("1111111111")).await.unwrap();

    // 1. Issuance.
    let t = Instant::now();
    for _ in 0..records {
        peer.issue_record(&prescription(&big.health_id))
            .await
            .unwrap();
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "[{engine}] issuance: {records} records in {dt:.1} s = {:.0} records/s",
        records as f64 / dt
    );

    // 1b. Issuance by `clients` concurrent clients (as many records again, for another patient
    // so that the pull below stays at `records`).
    let other = peer.register_patient(&patient("3333333333")).await.unwrap();
    let t = Instant::now();
    let per = records / clients as u64;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let peer = peer.clone();
            let req = prescription(&other.health_id);
            tokio::spawn(async move {
                for _ in 0..per {
                    peer.issue_record(&req).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "[{engine}] issuance, {clients} concurrent clients: {} records in {dt:.1} s = {:.0} records/s",
        per * clients as u64,
        (per * clients as u64) as f64 / dt
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = spondon_peer::http::router(peer.clone());
    tokio::spawn(async move {
        spondon_peer::http::serve(listener, app, std::future::pending())
            .await
            .unwrap()
    });

    // 2. Pull of every record, then an incremental pull of one.
    let key = Es256KeyPair::generate().unwrap();
    signed_ok(addr, URL, &key, "/patient/enroll", &json!({"health_id": big.health_id, "code": big.enrollment_code, "public_key": key.public_key().to_jwk()})).await;
    let t = Instant::now();
    let (mut since, mut got) = (0u64, 0u64);
    let mut size: u64;
    loop {
        let v = signed_ok(
            addr,
            URL,
            &key,
            "/patient/records",
            &json!({"since": since}),
        )
        .await;
        got += v["records"].as_array().unwrap().len() as u64;
        since = v["cursor"].as_u64().unwrap();
        size = v["tree_size"].as_u64().unwrap();
        if v["more"] == false {
            break;
        }
    }
    println!(
        "[{engine}] pull: {got} records with proofs in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(got, records);
    peer.issue_record(&prescription(&big.health_id))
        .await
        .unwrap();
    let t = Instant::now();
    let v = signed_ok(
        addr,
        URL,
        &key,
        "/patient/records",
        &json!({"since": since, "known_size": size}),
    )
    .await;
    assert_eq!(v["records"].as_array().unwrap().len(), 1);
    println!(
        "[{engine}] incremental pull of 1 new record (+ consistency proof): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    // 3. Redemption under load: a patient with 5 records, one grant, `clients` loops.
    let small = peer.register_patient(&patient("2222222222")).await.unwrap();
    let pkey = Es256KeyPair::generate().unwrap();
    signed_ok(addr, URL, &pkey, "/patient/enroll", &json!({"health_id": small.health_id, "code": small.enrollment_code, "public_key": pkey.public_key().to_jwk()})).await;
    for _ in 0..5 {
        peer.issue_record(&prescription(&small.health_id))
            .await
            .unwrap();
    }
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: pkey.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.public_key().kid().to_owned(),
        },
        categories: vec![Category::Prescription],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
        use_limit: None,
        peers: vec![URL.into()],
    };
    let text = Arc::new(g.sign(&pkey).unwrap());
    let doctor = Arc::new(doctor);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (text, doctor, g) = (text.clone(), doctor.clone(), g.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let body = json!({"grant": *text}).to_string();
            let url = format!("{URL}/grant/records");
            while Instant::now() < deadline {
                let n = nonce(addr).await.unwrap();
                let pop = PopProof::create(
                    &doctor,
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
                let t = Instant::now();
                let status = request(
                    addr,
                    "POST",
                    "/grant/records",
                    &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
                    body.as_bytes(),
                )
                .await
                .status;
                lat.push(t.elapsed());
                assert_eq!(status, 200);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "[{engine}] redemption: {} in {wall:.0} s with {clients} clients = {:.0} redemptions/s (each also fetched a nonce); p50 {:.1} ms, p99 {:.1} ms",
        all.len(),
        all.len() as f64 / wall,
        percentile(&all, 0.5).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0
    );
    peer.close().await;
}
