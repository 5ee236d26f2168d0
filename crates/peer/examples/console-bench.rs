//! Staff console latency (not part of the test run): a logged-in console session submits record
//! forms over real HTTP on loopback, one after another as a desk would — `POST
//! /console/api/records` with a lab report form (3 tests), through session and CSRF checks,
//! form validation, FHIR checks, card signature, log append, record row, checkpoint signature,
//! and the log entry view — and prints p50 / p99 / max of the submit → signed-record latency.
//! A preview (`/records/preview`, nothing signed) is timed too.
//!
//! `cargo run --release -p spondon-peer --example console-bench -- [--submits N]
//! [--database-url postgres://…]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use serde_json::json;
use spondon_peer::registry::NewPatient;
use spondon_testkit::bench::{arg, ms, percentile};
use spondon_testkit::http::request;

const URL: &str = "https://bench.example";

#[tokio::main]
async fn main() {
    let submits: usize = arg("--submits").map_or(500, |v| v.parse().unwrap());
    let db = arg("--database-url");
    let (dir, token) = spondon_testkit::inproc::init_dir(URL, db.as_deref()).await;
    let served = spondon_testkit::inproc::serve_dir(dir, token.clone(), None, |config| {
        config.rate_limit.per_second = 0.0;
        config.console_secure_cookie = false;
    })
    .await;
    let (peer, addr) = (served.peer.clone(), served.addr);
    let engine = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    let hid = peer
        .register_patient(&NewPatient {
            name: "Rokeya Khatun".into(),
            birth_date: "1979-02-03".into(),
            sex: "female".into(),
            national_id: "1111111111".into(),
            phone: "01811000000".into(),
            district: "Dhaka".into(),
            upazila: "Savar".into(),
        })
        .await
        .unwrap()
        .health_id;

    // Log in as the page does.
    let login = request(
        addr,
        "POST",
        "/console/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(login.status, 200);
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = login.json()["csrf"].as_str().unwrap().to_owned();
    let form = json!({"health_id": hid, "form": {"kind": "lab_report", "tests": [
        {"loinc": "718-7", "value": "11.2"}, {"loinc": "777-3", "value": "95"},
        {"loinc": "75377-2", "value": "positive"}], "conclusion": "Dengue NS1 positive; low platelets"}})
    .to_string();
    let headers = [
        ("Cookie", cookie.as_str()),
        ("X-CSRF-Token", csrf.as_str()),
        ("Content-Type", "application/json"),
    ];

    for (path, what) in [
        ("/console/api/records/preview", "preview (nothing signed)"),
        ("/console/api/records", "submit → signed, logged record"),
    ] {
        let mut lat = Vec::with_capacity(submits);
        let t = Instant::now();
        for _ in 0..submits {
            let s = Instant::now();
            let r = request(addr, "POST", path, &headers, form.as_bytes()).await;
            lat.push(s.elapsed());
            assert!(r.status < 300, "{}", r.text());
        }
        let total = t.elapsed().as_secs_f64();
        lat.sort();
        println!(
            "[{engine}] {what}: {submits} forms in {total:.1} s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap())
        );
    }
    assert_eq!(peer.record_count(Some(&hid)).await.unwrap(), submits as u64);
}
