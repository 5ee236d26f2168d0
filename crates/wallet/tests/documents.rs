//! Documents (`docs/protocol.md` §18) against a real `spondon-peer` process: a hospital uploads
//! a PDF and issues a document record; the wallet's sync fetches the file with progress, checks
//! it against the signed card and keeps it sealed; the CLI lists and saves it. A peer that
//! serves the file with one byte flipped is caught: nothing of it is kept, and the next honest
//! sync fetches it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_testkit::spawned::*;
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

/// The store keys of the (one) peer's document records whose file is still wanted.
async fn wanted(w: &Wallet) -> std::collections::BTreeSet<String> {
    w.peers().await.unwrap()[0].files_wanted.clone().unwrap()
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
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a saved document is its owner's only");
    }
    assert!(matches!(
        w.save_document(&doc, &saved).await,
        Err(WalletError::Fs(e)) if e.code() == "file_exists"
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
    // The peer's index of files still wanted names just that record, so the next sync reads
    // it alone rather than the whole history.
    let still = wanted(&w).await;
    assert_eq!(still.len(), 1, "{still:?}");
    assert!(still.iter().all(|k| k.ends_with(&doc2)), "{still:?}");

    // Honest again: the next sync fetches it.
    *proxy.rewrite_bytes.lock().unwrap() = None;
    let out = w.sync(&|_| {}).await.unwrap();
    assert_eq!((out.peers[0].new_files, out.peers[0].files_failed), (1, 0));
    assert_eq!(&w.document_file(&doc2).await.unwrap().1[..], &xray[..]);
    assert!(wanted(&w).await.is_empty());
    // A sync with nothing new fetches nothing.
    let out = w.sync(&|_| {}).await.unwrap();
    assert_eq!((out.peers[0].new_files, out.peers[0].files_failed), (0, 0));

    // Files are not in backups: a restored wallet fetches both at its first sync (its index of
    // files still wanted is not restored, so the history is read once).
    let auth = w.authorize(PASS).await.unwrap();
    let backup = tmp.path().join("wallet.backup");
    w.backup(&auth, &backup, b"backup passphrase")
        .await
        .unwrap();
    let (mut restored, _) = Wallet::restore(
        &backup,
        b"backup passphrase",
        &tmp.path().join("restored"),
        ks(),
        PASS,
    )
    .await
    .unwrap();
    restored.set_endpoints(
        [(peer.url.clone(), format!("http://{}", proxy.addr))]
            .into_iter()
            .collect(),
    );
    assert!(restored.documents().await.unwrap().iter().all(|d| !d.kept));
    let out = restored.sync(&|_| {}).await.unwrap();
    assert_eq!(
        (out.peers[0].new_files, out.peers[0].files_failed),
        (2, 0),
        "{out:?}"
    );
    assert!(restored.documents().await.unwrap().iter().all(|d| d.kept));
    assert!(wanted(&restored).await.is_empty());
    restored.close().await;
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

/// The example lab client (`examples/lab-client/lab_client.py`): its last line of output.
fn lab_client(args: &[&str]) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lab-client/lab_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lab_client.py {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// Whether python3 with `cryptography` is here (the lab client needs it); a missing one skips
/// the test unless `SPONDON_REQUIRE_PYTHON=1` (as `.ci/run` sets).
fn python_ready() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SPONDON_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "SPONDON_REQUIRE_PYTHON=1 but python3 with cryptography is missing"
        );
        eprintln!("skipped: python3 with cryptography (python3-cryptography) is missing");
    }
    ok
}

/// Issue 18's whole chain with real processes: a lab system (the example client) pushes a CBC
/// with its PDF over FHIR; the wallet syncs and checks the file; a grant shares lab results with
/// the clinic's doctor; the clinic node fetches and checks the file and offers it byte for byte;
/// the export carries it and `spondon-verifier check` verifies it offline. One flipped byte of the
/// file is caught at the wallet, at the clinic node and in the export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_pdf_pushed_over_fhir_reaches_wallet_clinic_and_export_checked_everywhere() {
    use spondon_core::token::{Category, Purpose};
    use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, Scope};
    if !python_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let peer = PeerProc::start(t, "labaid.example", "Labaid Diagnostics").await;
    let (root, list) = trust_list(&[&peer]).await;
    std::fs::write(t.join("trust.txt"), &list).unwrap();
    std::fs::write(
        t.join("root.jwk"),
        serde_json::to_vec(&root.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    // Everyone reaches the peer through a proxy that can flip a byte of a file.
    let proxy = proxy(peer.base()).await;
    let via = format!("http://{}", proxy.addr);

    // The clinic node, its doctor registered at the peer.
    let vbin = verifier_bin();
    let ndir = t.join("clinic");
    let data = ndir.to_str().unwrap();
    let init = node(
        &vbin,
        &[
            "init",
            "--clinic",
            "Trishal Community Clinic",
            "--data",
            data,
            "--trust",
            t.join("trust.txt").to_str().unwrap(),
            "--root-key",
            t.join("root.jwk").to_str().unwrap(),
        ],
    );
    let staff = node(&vbin, &["staff", "add", "--data", data, "Nasrin Akter"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cred = peer
        .staff(
            "/staff/doctors",
            &serde_json::json!({"bmdc_number": "A-40112", "name": "Dr. Shirin Sultana",
                "department": "Medicine", "public_key": init["doctor_public_jwk"]}),
        )
        .await["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(t.join("cred.txt"), &cred).unwrap();
    node(
        &vbin,
        &[
            "doctor-credential",
            "import",
            "--data",
            data,
            t.join("cred.txt").to_str().unwrap(),
        ],
    );
    node(&vbin, &["peer-address", "--data", data, &peer.url, &via]);
    let (_clinic, clinic) = serve_node(&vbin, data).await;

    // The patient's wallet, enrolled.
    let dir = t.join("wallet");
    let mut w = Wallet::create(&dir, ks(), PASS).await.unwrap();
    w.set_endpoints([(peer.url.clone(), via.clone())].into_iter().collect());
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    let (hid, code) = peer.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&code).unwrap())
        .await
        .unwrap();

    // The lab system: its key, registered by the admin, pushes the CBC and its PDF over FHIR.
    let report = pdf(200_000, 7);
    let pdf_path = t.join("cbc.pdf");
    std::fs::write(&pdf_path, &report).unwrap();
    let key = t.join("lis.pem");
    let key = key.to_str().unwrap();
    let reg = lab_client(&[
        "register",
        "--peer",
        &peer.base(),
        "--key",
        key,
        "--admin-token",
        &peer.token,
    ]);
    let client_id = reg["client_id"].as_str().unwrap();
    let pushed = lab_client(&[
        "push",
        "--peer",
        &peer.base(),
        "--key",
        key,
        // `=`: a base64url client id may start with '-', which argparse would take for an option.
        &format!("--client-id={client_id}"),
        "--health-id",
        &hid,
        "--pdf",
        pdf_path.to_str().unwrap(),
    ]);
    assert_eq!(pushed["retry_same"], true, "{pushed}");
    let kinds: Vec<&str> = pushed["record_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(
        kinds.contains(&"document") && kinds.contains(&"lab_report"),
        "{pushed}"
    );

    // The wallet syncs: both records verified, the file checked and kept.
    let out = w.sync(&|_| {}).await.unwrap();
    assert_eq!(
        (out.peers[0].new_records, out.peers[0].new_files),
        (2, 1),
        "{out:?}"
    );
    let docs = w.documents().await.unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(
        &w.document_file(&docs[0].record_id).await.unwrap().1[..],
        &report[..]
    );

    // A grant shares lab results with the clinic's doctor; the node fetches both records,
    // checks the file and offers it, byte for byte.
    let doctor = w.add_doctor(cred.as_bytes()).await.unwrap();
    let auth = w.authorize(PASS).await.unwrap();
    let g = w
        .create_grant(
            &auth,
            &GrantRequest {
                audience: GrantAudience::Doctor(doctor),
                scope: Scope {
                    categories: vec![Category::LabResult],
                    record_ids: vec![],
                },
                purpose: Purpose::Treatment,
                duration: Duration::Day,
                peers: vec![],
                use_limit: None,
                write: false,
            },
        )
        .await
        .unwrap();
    let fetch = || async {
        let r = reqwest::Client::new()
            .post(format!("{clinic}/api/grant/records"))
            .bearer_auth(&staff)
            .json(&serde_json::json!({"grant": g.text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()
    };
    let got = fetch().await;
    let doc = &got["records"]["documents"][0];
    assert_eq!(doc["verified"], true, "{got}");
    assert!(
        doc["statement"]
            .as_str()
            .unwrap()
            .starts_with("this PDF is the one Labaid Diagnostics signed on "),
        "{doc}"
    );
    let bytes = reqwest::Client::new()
        .get(format!("{clinic}{}", doc["download"].as_str().unwrap()))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], &report[..]);

    // One byte flipped on the way: the clinic node refuses the file and offers nothing.
    *proxy.rewrite_bytes.lock().unwrap() = Some(Box::new(|path, mut b| {
        if path.ends_with("/files") && b.len() > 100 {
            b[100] ^= 0x01;
        }
        b
    }));
    let got = fetch().await;
    let doc = &got["records"]["documents"][0];
    assert_eq!(doc["verified"], false, "{got}");
    assert_eq!(doc["problem"]["code"], "file_hash_mismatch", "{doc}");
    assert!(doc["download"].is_null(), "{doc}");
    *proxy.rewrite_bytes.lock().unwrap() = None;
    w.close().await;

    // The export carries the file; check verifies it offline; a flipped byte is caught.
    let pass = t.join("pass");
    std::fs::write(&pass, PASS).unwrap();
    let ep = format!("{}={}", peer.url, peer.base());
    let stem = t.join("visa");
    let said = ok(&cli(
        BIN,
        &dir,
        &pass,
        &ep,
        &["export", "--out", stem.to_str().unwrap()],
    ));
    assert!(said.contains("verified offline: valid"), "{said}");
    let check = |target: &std::path::Path| {
        std::process::Command::new(&vbin)
            .arg("check")
            .arg("--trust")
            .arg(t.join("trust.txt"))
            .arg("--root-key")
            .arg(t.join("root.jwk"))
            .arg(target)
            .output()
            .unwrap()
    };
    assert!(check(&stem).status.success());
    assert!(check(&t.join("visa.pdf")).status.success());
    let file = stem.join("files").join(format!("{}.pdf", docs[0].sha256));
    let mut flipped = std::fs::read(&file).unwrap();
    flipped[100] ^= 0x01;
    std::fs::write(&file, &flipped).unwrap();
    let bad = check(&stem);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("file_hash_mismatch"));
}
