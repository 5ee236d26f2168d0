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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::registry::NewPatient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const URL: &str = "https://bench.example";

/// One HTTP/1.1 request on a fresh connection; returns (status, head, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    (status, head, buf[split + 4..].to_vec())
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let submits: usize = arg("--submits").map_or(500, |v| v.parse().unwrap());
    let db = arg("--database-url");
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("peer"));
    let (peer, token) = Peer::init(&data, "Bench Hospital", URL, db.as_deref())
        .await
        .unwrap();
    peer.close().await;
    let mut config = data.config().unwrap();
    config.rate_limit.per_second = 0.0;
    config.console_secure_cookie = false;
    let peer = Arc::new(
        Peer::from_parts(config, data.keys().unwrap())
            .await
            .unwrap(),
    );
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = spondon_peer::http::router(peer.clone());
    tokio::spawn(async move {
        spondon_peer::http::serve(listener, app, std::future::pending())
            .await
            .unwrap()
    });

    // Log in as the page does.
    let (status, head, body) = request(
        addr,
        "POST",
        "/console/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = serde_json::from_slice::<Value>(&body).unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
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
            let (status, _, b) = request(addr, "POST", path, &headers, form.as_bytes()).await;
            lat.push(s.elapsed());
            assert!(status < 300, "{}", String::from_utf8_lossy(&b));
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
