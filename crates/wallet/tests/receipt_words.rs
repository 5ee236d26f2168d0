//! Who the access log names (issue 16, item 10): a refusal before the grant's doctor key proved
//! possession (someone with a photo of the QR and no key) is reported as "someone holding this
//! grant", never as the doctor; the doctor is named once their key signed the request. And every
//! file the wallet and its CLI write with health data or keys in it is 0600 (item 14).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn spondon(wallet: &Path, pass: &Path, endpoint: &str, args: &[&str]) -> Output {
    cli(BIN, wallet, pass, endpoint, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_without_the_doctors_key_does_not_name_the_doctor() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let t = tmp.path();
    cli_consortium(t, &[&a]).await;
    let (w, pass) = (t.join("wallet"), t.join("pass"));
    let ep = format!("{}={}", a.url, a.base());
    let run = |args: &[&str]| spondon(&w, &pass, &ep, args);
    ok(&run(&[
        "init",
        "--trust-list",
        t.join("trust.txt").to_str().unwrap(),
        "--root-key",
        t.join("root.jwk").to_str().unwrap(),
    ]));
    let (hid, text) = a.register_patient().await;
    ok(&run(&["enroll", &text]));
    let (doctor, cred) = a.register_doctor("A-777", "Dr. Nasrin Akter").await;
    a.cbc(&hid).await;
    ok(&run(&["sync"]));
    std::fs::write(t.join("doctor.txt"), &cred).unwrap();
    ok(&run(&["doctor", t.join("doctor.txt").to_str().unwrap()]));
    let g: Value = serde_json::from_str(&ok(&run(&[
        "grant",
        "--doctor",
        "A-777",
        "--category",
        "lab_result",
        "--duration",
        "1h",
        "--json",
    ])))
    .unwrap();
    let grant = g["text"].as_str().unwrap();
    ok(&run(&[
        "grant",
        "--doctor",
        "A-777",
        "--category",
        "lab_result",
        "--duration",
        "1h",
        "--png",
        t.join("grant.png").to_str().unwrap(),
    ]));

    // Someone with only the QR: no proof of possession. Refused, and logged (the grant is real).
    let r = reqwest::Client::new()
        .post(format!("{}/grant/records", a.base()))
        .json(&json!({ "grant": grant }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "{:?}", r.text().await);
    ok(&run(&["sync"]));
    let receipts = ok(&run(&["receipts"]));
    assert!(
        receipts.contains("someone holding this grant was refused (pop_required)"),
        "{receipts}"
    );
    assert!(!receipts.contains("Nasrin"), "{receipts}");

    // The doctor, with their key: named.
    let (status, _) = a.redeem(&doctor, grant).await;
    assert_eq!(status, 200);
    ok(&run(&["sync"]));
    let receipts = ok(&run(&["receipts"]));
    assert!(
        receipts.contains("Dr. Nasrin Akter (BMDC A-777, Dhaka Medical College Hospital) viewed"),
        "{receipts}"
    );

    // Every file that holds health data or keys: the cache and its WAL, the sealed keys, the
    // grant's QR, the export, the backup.
    ok(&run(&["export", "--out", t.join("visa").to_str().unwrap()]));
    ok(&run(&[
        "backup",
        t.join("backup.spondon").to_str().unwrap(),
    ]));
    let mut checked = 0;
    for f in [
        w.join("wallet.db"),
        w.join("wallet.db-wal"),
        w.join("wallet.db-shm"),
        w.join("keys.sealed"),
        t.join("grant.png"),
        t.join("visa.smart-health-card"),
        t.join("visa.pdf"),
        t.join("backup.spondon"),
    ] {
        if !f.exists() && f.to_string_lossy().contains("db-") {
            continue; // SQLite may have checkpointed and removed its side files
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", f.display());
        checked += 1;
    }
    assert!(checked >= 6);
}
