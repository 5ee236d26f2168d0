//! Criterion bench (not part of the test run): issuing one record — FHIR validation, SMART
//! Health Card signature (ES256), log append, record row, checkpoint signature — on SQLite, and
//! on PostgreSQL (a fresh database) when `SPONDON_TEST_POSTGRES_URL` is set.
//!
//! `cargo bench -p spondon-peer --bench issuance`
//! `scripts/with-postgres.sh cargo bench -p spondon-peer --bench issuance`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::records::IssueRequest;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn fresh_postgres(base: &str) -> String {
    let suffix: [u8; 8] = spondon_core::keys::random_bytes().unwrap();
    let name = format!("p_bench_{}", hex::encode(suffix));
    let admin = sqlx::PgPool::connect(base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, rest) = base.rsplit_once('/').unwrap();
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{prefix}/{name}{query}")
}

/// A peer with one patient; returns it and a lab report request for that patient.
async fn setup(dir: &std::path::Path, db: Option<&str>) -> (Peer, IssueRequest) {
    let (peer, _) = Peer::init(
        &DataDir::new(dir.join("peer")),
        "Bench Hospital",
        "https://bench.example",
        db,
    )
    .await
    .unwrap();
    let hid = peer
        .register_patient(
            &serde_json::from_value(serde_json::json!({
                "name": "Rahima Khatun", "birth_date": "1990-02-03", "sex": "female",
                "national_id": "1990123456", "phone": "01811-223344",
                "district": "Dhaka", "upazila": "Savar"}))
            .unwrap(),
        )
        .await
        .unwrap()
        .health_id;
    let req = serde_json::from_value(serde_json::json!({
        "health_id": hid, "kind": "lab_report", "resources": [
            {"resourceType": "DiagnosticReport", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]},
             "effectiveDateTime": "2026-11-20"},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
             "effectiveDateTime": "2026-11-20",
             "valueQuantity": {"value": 85, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
             "referenceRange": [{"low": {"value": 150, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
                                 "high": {"value": 450, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}}]}]}))
    .unwrap();
    (peer, req)
}

fn bench_issuance(c: &mut Criterion) {
    let rt = rt();
    let mut engines: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    match std::env::var("SPONDON_TEST_POSTGRES_URL") {
        Ok(base) => engines.push(("postgres", Some(rt.block_on(fresh_postgres(&base))))),
        Err(_) => {
            eprintln!("postgres issuance bench skipped: SPONDON_TEST_POSTGRES_URL is not set")
        }
    }
    let mut g = c.benchmark_group("issue_record");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    for (name, db) in engines {
        let dir = tempfile::tempdir().unwrap();
        let (peer, req) = rt.block_on(setup(dir.path(), db.as_deref()));
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(peer.issue_record(&req)).unwrap())
        });
        rt.block_on(peer.close());
    }
    g.finish();
}

criterion_group!(benches, bench_issuance);
criterion_main!(benches);
