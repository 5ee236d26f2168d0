//! `spondon delegate …` against a real `spondon-peer`: a child's wallet delegates to a parent's
//! (`key`, `issue`, `accept`), the parent shares the child's lab report with a doctor (`share`,
//! QR as PNG) and syncs the child's records (`sync`); the child lists and revokes (`list`,
//! `revoke`), after which the doctor is refused; `--help` lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_delegate_issue_accept_share_sync_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let t = tmp.path();
    cli_consortium(t, &[&a]).await;
    let pass = t.join("pass");
    let ep = format!("{}={}", a.url, a.base());
    let (child, parent) = (t.join("child"), t.join("parent"));
    let kid = |w: &std::path::Path, args: &[&str]| cli(BIN, w, &pass, &ep, args);
    for w in [&child, &parent] {
        ok(&kid(
            w,
            &[
                "init",
                "--trust-list",
                t.join("trust.txt").to_str().unwrap(),
                "--root-key",
                t.join("root.jwk").to_str().unwrap(),
            ],
        ));
    }
    let help = ok(&kid(&child, &["delegate", "--help"]));
    for word in ["issue", "list", "revoke", "key", "accept", "share", "sync"] {
        assert!(help.contains(word), "{help}");
    }
    assert!(ok(&kid(&child, &["--help"])).contains("spondon delegate share"));

    let (hid, text) = a.register_patient().await;
    ok(&kid(&child, &["enroll", &text]));
    let (doctor, cred) = a.register_doctor("A-777", "Dr. Nasrin Akter").await;
    a.prescription(&hid, "A-777").await;
    let lab = a.cbc(&hid).await;

    // The parent's key, as a file for the child.
    let jwk = ok(&kid(&parent, &["delegate", "key"]));
    std::fs::write(t.join("parent.jwk"), jwk.trim()).unwrap();
    let issued = ok(&kid(
        &child,
        &[
            "delegate",
            "issue",
            "--to-key",
            t.join("parent.jwk").to_str().unwrap(),
            "--name",
            "Abba",
            "--scope",
            "view",
            "--scope",
            "share",
            "--category",
            "lab_report",
            "--duration",
            "30d",
            "--minor",
        ],
    ));
    let delegation = issued.trim().to_owned();
    assert!(delegation.starts_with("SPONDON:1:"), "{issued}");
    std::fs::write(t.join("delegation.txt"), &delegation).unwrap();
    let accepted = ok(&kid(
        &parent,
        &[
            "delegate",
            "accept",
            t.join("delegation.txt").to_str().unwrap(),
            "--name",
            "Rafi",
        ],
    ));
    assert!(
        accepted.contains("You may act for Rafi (view, share)")
            && accepted.contains("as a guardian"),
        "{accepted}"
    );

    // The parent shares the lab report with the doctor; the doctor redeems it.
    std::fs::write(t.join("doctor.txt"), &cred).unwrap();
    ok(&kid(
        &parent,
        &["doctor", t.join("doctor.txt").to_str().unwrap()],
    ));
    let png = t.join("grant.png");
    let g: Value = serde_json::from_str(&ok(&kid(
        &parent,
        &[
            "delegate",
            "--json",
            "share",
            "Rafi",
            "--doctor",
            "A-777",
            "--record",
            &lab,
            "--png",
            png.to_str().unwrap(),
        ],
    )))
    .unwrap();
    let qr = spondon_core::qr::decode_image(&std::fs::read(&png).unwrap())
        .unwrap()
        .remove(0);
    assert_eq!(qr, g["text"].as_str().unwrap());
    let (status, body) = a.redeem(&doctor, &qr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["records"].as_array().unwrap().len(), 1);
    assert_eq!(body["records"][0]["id"], lab.as_str());
    // A prescription is not the parent's to share.
    let o = kid(
        &parent,
        &[
            "delegate",
            "share",
            "Rafi",
            "--doctor",
            "A-777",
            "--category",
            "prescription",
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("beyond its delegation"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The parent's own pull of the child's records, verified.
    let synced = ok(&kid(&parent, &["delegate", "sync", "Rafi"]));
    assert!(synced.starts_with("1 record(s)"), "{synced}");
    let list: Value =
        serde_json::from_str(&ok(&kid(&parent, &["delegate", "--json", "list"]))).unwrap();
    assert_eq!(
        list["held"][0]["grants"].as_array().unwrap().len(),
        1,
        "{list}"
    );

    // The child lists and revokes; the doctor's next redemption is refused.
    let list: Value =
        serde_json::from_str(&ok(&kid(&child, &["delegate", "--json", "list"]))).unwrap();
    let id = list["issued"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["issued"][0]["label"], "Abba");
    let revoked = ok(&kid(&child, &["delegate", "revoke", &id[..8], "-y"]));
    assert!(
        revoked.contains("Dhaka Medical College Hospital: revoked"),
        "{revoked}"
    );
    let (status, body) = a.redeem(&doctor, &qr).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("delegation_revoked")),
        "{body}"
    );
    let listed = ok(&kid(&child, &["delegate", "list"]));
    assert!(listed.contains("Abba (view, share), revoked"), "{listed}");
    ok(&kid(&child, &["sync"]));
    let receipts = ok(&kid(&child, &["receipts"]));
    assert!(
        receipts.contains("shared by your delegate Abba"),
        "{receipts}"
    );
}
