//! Wallet benchmark (not part of the test run):
//!
//!     cargo run --release -p spondon-wallet --example wallet-bench -- [--records 10000] [--files-mb 100]
//!
//! A real peer (in this process, over HTTP on 127.0.0.1, SQLite) issues N records to one patient;
//! the wallet enrolls, then measures: the full sync (pull + verify every card, commitment and
//! inclusion proof + encrypted store), an incremental sync with one new record, and the time from
//! "create grant" to a PNG QR code. With `--files-mb M`, the peer then issues M/5 document records
//! of a 5 MiB PDF each, and the sync that fetches, checks and keeps their files is measured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey};
use spondon_core::token::{Category, Hospital, Purpose};
use spondon_keystore::MemoryKeyStore;
use spondon_peer::Peer;
use spondon_testkit::bench::num;
use spondon_testkit::consortium::{Consortium, trust_list};
use spondon_testkit::fhir;
use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, QrFormat, Scope, render_qr};
use spondon_wallet::{EnrollmentCode, Wallet};

const URL: &str = "https://dmch.example";

#[tokio::main]
async fn main() {
    let n: usize = num("--records", 10_000);
    let files_mb: usize = num("--files-mb", 0);
    let tmp = tempfile::tempdir().unwrap();
    let served = spondon_testkit::inproc::start(None).await;
    let (peer, addr) = (served.peer.clone(), served.addr);

    let patient: spondon_peer::registry::NewPatient =
        serde_json::from_value(fhir::patient_json("1987654321")).unwrap();
    let reg = peer.register_patient(&patient).await.unwrap();
    let doctor_key = Es256KeyPair::generate().unwrap();
    let doc: spondon_peer::registry::NewDoctor = serde_json::from_value(
        json!({"bmdc_number": "A-1", "name": "Dr. Bench", "department": "Medicine",
        "public_key": doctor_key.public_key().to_jwk()}),
    )
    .unwrap();
    let cred = peer.register_doctor(&doc).await.unwrap().credential;
    let issue = |i: usize| -> spondon_peer::records::IssueRequest {
        let v = if i.is_multiple_of(2) {
            fhir::prescription(&reg.health_id, "A-1")
        } else {
            fhir::lab_report(&reg.health_id)
        };
        serde_json::from_value(v).unwrap()
    };
    let t = Instant::now();
    for i in 0..n {
        peer.issue_record(&issue(i)).await.unwrap();
    }
    eprintln!(
        "peer issued {n} records in {:.1} s (setup, not measured)",
        t.elapsed().as_secs_f64()
    );

    // The peer's SQLite connection threads (sqlx runs each connection on a thread of its own),
    // told apart from the wallet's, which start later.
    let peer_sqlx: std::collections::BTreeSet<u64> = threads_cpu()
        .into_iter()
        .filter(|t| t.1.starts_with("sqlx-sqlite"))
        .map(|t| t.0)
        .collect();

    // The trust list and the wallet.
    let consortium = Consortium::new();
    let v = spondon_ledger::Verifier::from_vkey(&peer.log_vkey()).unwrap();
    let list = consortium.sign(&trust_list(
        vec![Hospital {
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: URL.into(),
            record_keys: vec![
                Es256PublicKey::from_jwk(&peer.keys.record.public_key().to_jwk()).unwrap(),
            ],
            log_key: *v.public_key(),
            log_origin: v.name().to_owned(),
        }],
        1,
    ));
    let root = &consortium.root;
    let pass = b"benchmark passphrase";
    let new_wallet = |name: String, enrollment: String| {
        let (dir, list, root_jwk) = (
            tmp.path().join(name),
            list.clone(),
            root.public_key().to_jwk(),
        );
        async move {
            let mut w = Wallet::create(&dir, Arc::new(MemoryKeyStore::new()), pass)
                .await
                .unwrap();
            w.set_endpoints(
                [(URL.to_owned(), format!("http://{addr}"))]
                    .into_iter()
                    .collect(),
            );
            w.set_trust_list(&list, &root_jwk).await.unwrap();
            w.enroll(&EnrollmentCode::parse(&enrollment).unwrap())
                .await
                .unwrap();
            w
        }
    };
    // `--syncs K` repeats the full sync into K - 1 more fresh wallets, each enrolled with a new
    // code (which retires the one before; printed as `full sync #k`, the first is the figure the
    // report reads); `--full-only` stops after the full syncs.
    let syncs: usize = num("--syncs", 1);
    let full_only = std::env::args().any(|a| a == "--full-only");
    let mut w: Option<Wallet> = None;
    for k in 1..=syncs.max(1) {
        let enrollment = if k == 1 {
            reg.enrollment_text.clone()
        } else {
            peer.new_enrollment_code(&reg.health_id)
                .await
                .unwrap()
                .enrollment_text
        };
        let wallet = new_wallet(format!("wallet-{k}"), enrollment).await;
        let threads0 = threads_cpu();
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let r = wallet.sync(&|_| {}).await.unwrap();
        let full = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        let threads1 = threads_cpu();
        let got: u64 = r.peers.iter().map(|p| p.new_records).sum();
        assert_eq!(got as usize, n, "{r:?}");
        let label = if k == 1 {
            "full sync:".to_owned()
        } else {
            format!("full sync #{k}:")
        };
        println!(
            "{label} {n} records in {full:.2} s = {:.0} records/s (pull + verify + encrypted store)",
            n as f64 / full
        );
        if let Some(cpu) = cpu {
            println!(
                "  CPU (user + sys of this process: the peer and the wallet): {cpu:.2} s = {:.0} µs per record, {:.2} cores busy; load average {}",
                cpu * 1e6 / n as f64,
                cpu / full,
                load_average()
            );
            // By thread (threads that ended during the sync, e.g. the card checks' scoped
            // threads, count in "the rest").
            let (mut peer_db, mut wallet_db, mut main_thread) = (0.0, 0.0, 0.0);
            for (tid, name, secs) in &threads1 {
                let before = threads0.iter().find(|t| t.0 == *tid).map_or(0.0, |t| t.2);
                let d = secs - before;
                if peer_sqlx.contains(tid) {
                    peer_db += d;
                } else if name.starts_with("sqlx-sqlite") {
                    wallet_db += d;
                } else if u64::from(std::process::id()) == *tid {
                    main_thread += d;
                }
            }
            let us = |s: f64| s * 1e6 / n as f64;
            println!(
                "  by thread, µs per record: peer SQLite {:.0}, wallet SQLite {:.0}, main (sync loop) {:.0}, the rest {:.0}",
                us(peer_db),
                us(wallet_db),
                us(main_thread),
                us(cpu - peer_db - wallet_db - main_thread)
            );
        }
        if let Some(old) = w.replace(wallet) {
            old.close().await;
        }
    }
    let w = w.unwrap();
    if full_only {
        w.close().await;
        peer.close().await;
        return;
    }

    // Where the time goes: the peer building the pages vs. the wallet checking the cards.
    let stored = w.stored_records().await.unwrap();
    let mut dir = spondon_core::shc::Directory::new();
    dir.add_issuer(URL, None).unwrap();
    dir.add_key(URL, peer.keys.record.public_key().to_jwk())
        .unwrap();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let t = Instant::now();
    std::thread::scope(|s| {
        for part in stored.chunks(stored.len().div_ceil(threads)) {
            let dir = &dir;
            s.spawn(move || {
                for r in part {
                    spondon_core::shc::ParsedCard::parse(&r.jws)
                        .unwrap()
                        .verify(dir, NumericDate::now())
                        .unwrap();
                }
            });
        }
    });
    let cards = t.elapsed().as_secs_f64();
    println!(
        "  of which card verification alone (parse + ES256 + FHIR rules, {threads} threads): {:.0} cards/s",
        n as f64 / cards
    );

    peer.issue_record(&issue(1)).await.unwrap();
    let mut times = Vec::new();
    for i in 0..5 {
        if i > 0 {
            peer.issue_record(&issue(i)).await.unwrap();
        }
        let t = Instant::now();
        let r = w.sync(&|_| {}).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.peers[0].new_records, 1);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "incremental sync, 1 new record: median {:.1} ms (min {:.1}, max {:.1}; 5 runs)",
        times[2], times[0], times[4]
    );

    let d = w.add_doctor(cred.as_bytes()).await.unwrap();
    let auth = w.authorize(pass).await.unwrap();
    let req = GrantRequest {
        audience: GrantAudience::Doctor(d),
        scope: Scope {
            categories: vec![Category::Prescription, Category::LabResult],
            record_ids: vec![],
        },
        purpose: Purpose::Treatment,
        duration: Duration::Day,
        peers: vec![],
        use_limit: None,
        write: false,
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let g = w.create_grant(&auth, &req).await.unwrap();
        let png = render_qr(&g.text, QrFormat::Png).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!png.is_empty());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "create grant → PNG QR: median {:.1} ms (min {:.1}, max {:.1}; 20 runs; passphrase check not included)",
        times[10], times[0], times[19]
    );
    let t = Instant::now();
    let _ = w.authorize(pass).await.unwrap();
    println!(
        "authorization (Argon2id 64 MiB, t=3): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    if files_mb > 0 {
        files(&peer, &w, &reg.health_id, files_mb).await;
    }
    w.close().await;
    peer.close().await;
}

/// (thread id, name, user + system CPU seconds) of this process's live threads (Linux).
fn threads_cpu() -> Vec<(u64, String, f64)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid: u64 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let name = stat.get(stat.find('(')? + 1..stat.rfind(')')?)?.to_owned();
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some((tid, name, ticks as f64 / 100.0))
    })
    .collect()
}

/// The 1-minute load average (Linux), or "?".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split(' ').next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// User + system CPU time of this process so far (Linux: `/proc/self/stat`, in clock ticks of
/// 10 ms); `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// `mb / 5` document records of a distinct 5 MiB PDF each, then the sync that fetches, checks
/// (size, SHA-256, type) and keeps their files, and reading them back (checked again).
async fn files(peer: &Peer, w: &Wallet, health_id: &str, mb: usize) {
    use base64::Engine as _;
    let count = mb.div_ceil(5);
    let t = Instant::now();
    for i in 0..count {
        let mut pdf = b"%PDF-1.7\n%".to_vec();
        pdf.resize(5 << 20, b'a' + u8::try_from(i % 26).unwrap());
        pdf.extend_from_slice(format!("\n% {i}\n%%EOF\n").as_bytes());
        let stored = peer
            .store_file(pdf, spondon_document::FileType::Pdf, "bench")
            .await
            .unwrap();
        let sha = hex::decode(&stored.sha256).unwrap();
        let req: spondon_peer::records::IssueRequest = serde_json::from_value(json!({
            "health_id": health_id, "kind": "document", "resources": [{
                "resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category",
                                          "code": "lab_result"}]}],
                "content": [{"attachment": {"contentType": "application/pdf",
                    "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                                   "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)}]}}]}]}))
        .unwrap();
        peer.issue_record(&req).await.unwrap();
    }
    eprintln!(
        "peer stored and issued {count} documents of 5 MiB in {:.1} s (setup, not measured)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = w.sync(&|_| {}).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.peers[0].new_files as usize, count, "{r:?}");
    let total = (count * (5 << 20)) as f64 / f64::from(1u32 << 20);
    println!(
        "sync fetching {count} files ({total:.0} MiB): {secs:.2} s = {:.0} MiB/s (download + size/SHA-256/type check + sealed store)",
        total / secs
    );
    let docs = w.documents().await.unwrap();
    let t = Instant::now();
    for d in &docs {
        w.document_file(&d.record_id).await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "reading them back (unseal + check again): {:.0} MiB/s",
        total / secs
    );
}
