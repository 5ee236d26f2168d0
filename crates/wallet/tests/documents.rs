//! Documents (`docs/protocol.md` §18) against a real `spondon-peer` process: a hospital uploads
//! a PDF and issues a document record; the wallet's sync fetches the file with progress, checks
//! it against the signed card and keeps it sealed; the CLI lists and saves it. A peer that
//! serves the file with one byte flipped is caught: nothing of it is kept, and the next honest
//! sync fetches it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_wallet::browse::Item;
use spondon_wallet::{EnrollmentCode, SyncEvent, Wallet, WalletError};

const PASS: &[u8] = b"correct horse battery";
const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn ks() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::new())
}

/// A well-formed PDF of about `size` bytes (a comment pads it; no stream to inflate).
fn pdf(size: usize, seed: u8) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%".to_vec();
    let mut x = u32::from(seed);
    while b.len() < size.saturating_sub(16) {
        // Printable filler that differs per seed.
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        b.push(b'a' + u8::try_from((x >> 16) % 26).unwrap());
        if b.len().is_multiple_of(100) {
            b.extend_from_slice(b"\n%");
        }
    }
    b.extend_from_slice(b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_fetches_checks_and_keeps_document_files() {
    let tmp = tempfile::tempdir().unwrap();
    let peer = PeerProc::start(tmp.path(), "labaid.example", "Labaid Diagnostics").await;
    let (root, list) = trust_list(&[&peer]).await;
    let proxy = proxy(peer.base()).await;

    let dir = tmp.path().join("wallet");
    let mut w = Wallet::create(&dir, ks(), PASS).await.unwrap();
    // Through the proxy, which passes everything until told otherwise.
    w.set_endpoints(
        [(peer.url.clone(), format!("http://{}", proxy.addr))]
            .into_iter()
            .collect(),
    );
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    let (hid, code) = peer.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&code).unwrap())
        .await
        .unwrap();

    // A 3 MB lab report: fetched after the records, with progress, and kept.
    let report = pdf(3 << 20, 1);
    let doc = peer
        .document(
            &hid,
            &report,
            "application/pdf",
            "cbc-2026-12-06.pdf",
            "lab_result",
        )
        .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let out = w.sync(&move |e| ev2.lock().unwrap().push(e)).await.unwrap();
    let p = &out.peers[0];
    assert!(p.error.is_none(), "{out:?}");
    assert_eq!((p.new_records, p.new_files, p.files_failed), (1, 1, 0));
    {
        let ev = events.lock().unwrap();
        let progress: Vec<(u64, u64)> = ev
            .iter()
            .filter_map(|e| match e {
                SyncEvent::File { done, total, .. } => Some((*done, *total)),
                _ => None,
            })
            .collect();
        assert!(progress.len() >= 3, "progress events: {progress:?}");
        assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(
            progress.last(),
            Some(&(report.len() as u64, report.len() as u64))
        );
        assert!(
            ev.iter()
                .any(|e| matches!(e, SyncEvent::FileKept { record_id, .. } if *record_id == doc))
        );
    }
    let docs = w.documents().await.unwrap();
    assert_eq!(docs.len(), 1);
    assert!(docs[0].kept);
    assert_eq!(docs[0].content_type, "application/pdf");
    assert_eq!(docs[0].size, report.len() as u64);
    assert_eq!(docs[0].title.as_deref(), Some("cbc-2026-12-06.pdf"));
    let (_, bytes) = w.document_file(&doc).await.unwrap();
    assert_eq!(&bytes[..], &report[..]);

    // The record in words names the file; the grant category is the card's.
    let r = w.record(&doc).await.unwrap();
    assert_eq!(r.kind, "document");
    // Cards drop `text` and `display`: the LOINC code names it.
    assert_eq!(r.title, "CBC");
    assert_eq!(r.file_kept, Some(true));
    assert!(r.items.iter().any(|i| matches!(i,
        Item::Document { content_type, size, .. } if content_type == "application/pdf" && *size == report.len() as u64)));

    // Saved into a directory under its title; never over an existing file.
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let saved = w.save_document(&doc, &out_dir).await.unwrap();
    assert_eq!(saved, out_dir.join("cbc-2026-12-06.pdf"));
    assert_eq!(std::fs::read(&saved).unwrap(), report);
    assert!(matches!(
        w.save_document(&doc, &saved).await,
        Err(WalletError::Io { .. })
    ));

    // A second document, served with one byte flipped: the check refuses it, nothing is kept,
    // the records stay, and the error says which check failed.
    let xray = pdf(40_000, 2);
    let doc2 = peer
        .document(
            &hid,
            &xray,
            "application/pdf",
            "Chest X-ray report",
            "lab_result",
        )
        .await;
    *proxy.rewrite_bytes.lock().unwrap() = Some(Box::new(|path, mut b| {
        if path == "/patient/files" {
            let mid = b.len() / 2;
            b[mid] ^= 0x01;
        }
        b
    }));
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let out = w.sync(&move |e| ev2.lock().unwrap().push(e)).await.unwrap();
    let p = &out.peers[0];
    assert_eq!(
        (p.new_records, p.new_files, p.files_failed),
        (1, 0, 1),
        "{out:?}"
    );
    assert!(events.lock().unwrap().iter().any(|e| matches!(e,
        SyncEvent::FileFailed { record_id, code, .. } if *record_id == doc2 && *code == "file_hash_mismatch")));
    let kept: Vec<bool> = w
        .documents()
        .await
        .unwrap()
        .iter()
        .map(|d| d.kept)
        .collect();
    assert_eq!(kept.iter().filter(|k| **k).count(), 1, "{kept:?}");
    assert!(matches!(
        w.document_file(&doc2).await,
        Err(WalletError::NotFound(_))
    ));

    // Honest again: the next sync fetches it.
    *proxy.rewrite_bytes.lock().unwrap() = None;
    let out = w.sync(&|_| {}).await.unwrap();
    assert_eq!((out.peers[0].new_files, out.peers[0].files_failed), (1, 0));
    assert_eq!(&w.document_file(&doc2).await.unwrap().1[..], &xray[..]);
    w.close().await;

    // The CLI lists both and saves one, saying who signed it.
    let pass = tmp.path().join("pass");
    std::fs::write(&pass, PASS).unwrap();
    let ep = format!("{}={}", peer.url, peer.base());
    let run = |args: &[&str]| cli(BIN, &dir, &pass, &ep, args);
    let listed = ok(&run(&["documents"]));
    assert!(
        listed.contains("cbc-2026-12-06.pdf") && listed.contains("kept, checked"),
        "{listed}"
    );
    let dest = tmp.path().join("xray.pdf");
    let said = ok(&run(&[
        "documents",
        &doc2,
        "--save",
        dest.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&dest).unwrap(), xray);
    assert!(
        said.contains("is the one Labaid Diagnostics signed on"),
        "{said}"
    );

    // An export carries the files: a directory with the card file and files/<sha256>.pdf, and
    // the PDF with them attached. Both verify offline; one flipped byte of a file is caught.
    std::fs::write(tmp.path().join("trust.txt"), &list).unwrap();
    std::fs::write(
        tmp.path().join("root.jwk"),
        serde_json::to_vec(&root.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let stem = tmp.path().join("visa");
    let out = ok(&run(&["export", "--out", stem.to_str().unwrap()]));
    assert!(out.contains("verified offline: valid"), "{out}");
    let card = stem.join("visa.smart-health-card");
    let file = stem.join("files").join(format!("{}.pdf", docs[0].sha256));
    assert!(card.is_file() && file.is_file(), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), report);
    let check = |target: &std::path::Path| {
        std::process::Command::new(verifier_bin())
            .arg("check")
            .arg("--trust")
            .arg(tmp.path().join("trust.txt"))
            .arg("--root-key")
            .arg(tmp.path().join("root.jwk"))
            .arg(target)
            .env("TZ", "UTC")
            .output()
            .unwrap()
    };
    let dir_ok = check(&stem);
    assert!(
        dir_ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&dir_ok.stdout),
        String::from_utf8_lossy(&dir_ok.stderr)
    );
    let pdf_ok = check(&tmp.path().join("visa.pdf"));
    assert!(
        pdf_ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&pdf_ok.stdout),
        String::from_utf8_lossy(&pdf_ok.stderr)
    );
    let mut flipped = report.clone();
    flipped[1000] ^= 0x01;
    std::fs::write(&file, &flipped).unwrap();
    let bad = check(&stem);
    let said = String::from_utf8_lossy(&bad.stdout);
    assert!(
        !bad.status.success() && said.contains("file_hash_mismatch"),
        "{said}"
    );
}
