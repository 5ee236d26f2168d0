//! Document upload → issued latency (not part of the test run): staff upload a 5 MB PDF over
//! real HTTP on loopback (`POST /staff/files`: the body read, its structure checked —
//! including inflating its compressed streams — hashed and stored) and issue the document
//! record naming it (`POST /staff/records`, kind `document`: the file looked up, the card
//! signed, the log appended, the row stored, the checkpoint signed). Prints the median, p90 and
//! max of N runs, each with a distinct file.
//!
//! `cargo run --release -p spondon-peer --example document-bench -- [--runs N] [--mib 5]
//! [--database-url postgres://…]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::registry::NewPatient;
use spondon_testkit::bench::{arg, ms};
use spondon_testkit::http::request;

const URL: &str = "https://bench.example";

/// A PDF like a scanned report: pages of text (Flate streams that inflate about 4×) and one
/// large incompressible image per page (`/DCTDecode`, here pseudo-random bytes), `mib` MiB in
/// all; `seed` makes each file distinct.
fn scanned_pdf(mib: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as u8
            })
            .collect()
    };
    let mut p = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let pages = 5;
    let image = mib * (1 << 20) / pages;
    let mut obj = 1;
    for page in 0..pages {
        let text: String = (0..2000)
            .map(|i| {
                format!(
                    "BT /F1 10 Tf 72 {} Td (Line {i} of page {page}: Hb 13.2 g/dL) Tj ET\n",
                    700 - i % 60
                )
            })
            .collect();
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        let content = e.finish().unwrap();
        p.extend_from_slice(
            format!(
                "{obj} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
                content.len()
            )
            .as_bytes(),
        );
        p.extend_from_slice(&content);
        p.extend_from_slice(b"\nendstream\nendobj\n");
        obj += 1;
        let img = noise(image);
        p.extend_from_slice(
            format!(
                "{obj} 0 obj\n<< /Type /XObject /Subtype /Image /Width 2480 /Height 3508 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {} /Filter /DCTDecode >>\nstream\n",
                img.len()
            )
            .as_bytes(),
        );
        p.extend_from_slice(&img);
        p.extend_from_slice(b"\nendstream\nendobj\n");
        obj += 1;
    }
    p.extend_from_slice(b"trailer\n<< /Size 1 >>\n%%EOF\n");
    p
}

#[tokio::main]
async fn main() {
    let runs: usize = arg("--runs").map_or(20, |v| v.parse().unwrap());
    let mib: usize = arg("--mib").map_or(5, |v| v.parse().unwrap());
    let db = arg("--database-url");
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("peer"));
    let (peer, token) = Peer::init(&data, "Bench Hospital", URL, db.as_deref())
        .await
        .unwrap();
    peer.close().await;
    let mut config = data.config().unwrap();
    config.rate_limit.per_second = 0.0;
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
    let auth = format!("Bearer {token}");
    let files: Vec<Vec<u8>> = (0..runs as u64 + 1).map(|i| scanned_pdf(mib, i)).collect();
    let size = files[0].len();
    let mut upload = Vec::with_capacity(runs);
    let mut total = Vec::with_capacity(runs);
    // The first run warms the connection pool and caches; it is not counted.
    for (i, file) in files.iter().enumerate() {
        let started = Instant::now();
        let r = request(
            addr,
            "POST",
            "/staff/files",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/pdf"),
            ],
            file,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let uploaded = started.elapsed();
        let sha = spondon_document::sha256(file);
        let req = json!({"health_id": hid, "kind": "document", "resources": [{
            "resourceType": "DocumentReference", "status": "current",
            "category": [{"coding": [{"system": spondon_document::RECORD_CATEGORY_SYSTEM, "code": "lab_result"}]}],
            "content": [{"attachment": {"contentType": "application/pdf", "title": "report.pdf",
                "extension": [{"url": spondon_document::SHA256_EXTENSION_URL,
                               "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)}]}}]}]});
        let r = request(
            addr,
            "POST",
            "/staff/records",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            req.to_string().as_bytes(),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        if i > 0 {
            upload.push(uploaded);
            total.push(started.elapsed());
        }
    }
    upload.sort();
    total.sort();
    let median = |v: &[Duration]| (ms(v[(v.len() - 1) / 2]) + ms(v[v.len() / 2])) / 2.0;
    let p90 = |v: &[Duration]| ms(v[((v.len() as f64 - 1.0) * 0.9).round() as usize]);
    println!(
        "{engine}: {runs} runs, PDF of {size} bytes ({mib} MiB)\n  upload (POST /staff/files): median {:.1} ms, p90 {:.1} ms, max {:.1} ms\n  upload → issued (+ POST /staff/records): median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        median(&upload),
        p90(&upload),
        ms(upload[upload.len() - 1]),
        median(&total),
        p90(&total),
        ms(total[total.len() - 1]),
    );
    peer.close().await;
}
