//! The `spondon` binary against a real `spondon-peer`: init, enroll, sync, records, show, doctor,
//! grant (PNG), grants, receipts, revoke, backup, restore, status; clear errors, `--help`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn spondon(wallet: &Path, pass: &Path, endpoint: &str, args: &[&str]) -> Output {
    cli(BIN, wallet, pass, endpoint, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let t = tmp.path();
    cli_consortium(t, &[&a]).await;
    std::fs::write(t.join("wrong"), "not the passphrase\n").unwrap();
    let w = t.join("wallet");
    let pass = t.join("pass");
    let ep = format!("{}={}", a.url, a.base());
    let run = |args: &[&str]| spondon(&w, &pass, &ep, args);

    let help = ok(&run(&["--help"]));
    assert!(help.contains("Examples:") && help.contains("spondon grant --doctor"));
    ok(&run(&[
        "init",
        "--trust-list",
        t.join("trust.txt").to_str().unwrap(),
        "--root-key",
        t.join("root.jwk").to_str().unwrap(),
    ]));
    // Wrong passphrase: a clear message, no stack trace.
    let o = spondon(&w, &t.join("wrong"), &ep, &["records"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim(), "spondon: wrong passphrase");

    let (hid, text) = a.register_patient().await;
    ok(&run(&["enroll", &text]));
    let (doctor, cred) = a.register_doctor("A-777", "Dr. Nasrin Akter").await;
    a.prescription(&hid, "A-777").await;
    a.cbc(&hid).await;
    let out = ok(&run(&["sync", "--json"]));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["peers"][0]["new_records"], 2, "{report}");
    let recs: Value =
        serde_json::from_str(&ok(&run(&["records", "--json", "--kind", "lab_report"]))).unwrap();
    assert_eq!(recs.as_array().unwrap().len(), 1);
    let id = recs[0]["id"].as_str().unwrap().to_owned();
    let shown = ok(&run(&["show", &id[..8]]));
    assert!(
        shown.contains("Platelets") && shown.contains("LOW"),
        "{shown}"
    );
    std::fs::write(t.join("doctor.txt"), &cred).unwrap();
    let d = ok(&run(&["doctor", t.join("doctor.txt").to_str().unwrap()]));
    assert!(d.contains("Dr. Nasrin Akter (BMDC A-777)"), "{d}");
    let png = t.join("grant.png");
    let g: Value = serde_json::from_str(&ok(&run(&[
        "grant",
        "--doctor",
        "A-777",
        "--category",
        "lab_result",
        "--duration",
        "1h",
        "--png",
        png.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let text = spondon_core::qr::decode_image(&std::fs::read(&png).unwrap())
        .unwrap()
        .remove(0);
    assert_eq!(text, g["text"].as_str().unwrap());
    let (status, _) = a.redeem(&doctor, &text).await;
    assert_eq!(status, 200);
    ok(&run(&["sync"]));
    let receipts = ok(&run(&["receipts"]));
    assert!(
        receipts.contains(
            "Dr. Nasrin Akter (BMDC A-777, Dhaka Medical College Hospital) viewed your CBC report"
        ),
        "{receipts}"
    );
    let ex: Value = serde_json::from_str(&ok(&run(&[
        "export",
        "--out",
        t.join("visa").to_str().unwrap(),
        "--receipts",
        "--json",
    ])))
    .unwrap();
    assert_eq!(ex["report"]["valid"], true, "{ex}");
    assert_eq!(ex["receipts"], 1);
    assert!(t.join("visa.smart-health-card").exists() && t.join("visa.pdf").exists());
    let gid = g["id"].as_str().unwrap();
    let rev = ok(&run(&["revoke", "--yes", &gid[..8]]));
    assert!(rev.contains("revoked"), "{rev}");
    let (status, _) = a.redeem(&doctor, &text).await;
    assert_eq!(status, 403);
    let grants: Value = serde_json::from_str(&ok(&run(&["grants", "--json"]))).unwrap();
    assert_eq!(grants[0]["status"], "revoked");
    // Backup and restore into another directory.
    let bk = t.join("w.backup");
    ok(&run(&["backup", bk.to_str().unwrap()]));
    let w2 = t.join("wallet2");
    ok(&spondon(
        &w2,
        &pass,
        &ep,
        &["restore", bk.to_str().unwrap()],
    ));
    let st: Value =
        serde_json::from_str(&ok(&spondon(&w2, &pass, &ep, &["status", "--json"]))).unwrap();
    assert_eq!(st["counts"]["records"], 2);
    // Bad input: a clear error.
    let o = run(&["enroll", "SPONDON-ENROLL:2:x"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("unknown version"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
