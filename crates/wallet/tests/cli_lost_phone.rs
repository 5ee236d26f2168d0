//! `spondon lost-phone` and `spondon rebind` against real `spondon-peer` processes: warning,
//! confirmation, progress per hospital, a summary, a non-zero exit while a hospital could not
//! be reached, a re-run that finishes; `rebind --code` after an identity check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_phone_and_rebind_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = PeerProc::start(t, "dmch.example", "Dhaka Medical College Hospital").await;
    let mut b = PeerProc::start(t, "labaid.example", "Labaid Diagnostics").await;
    cli_consortium(t, &[&a, &b]).await;
    let pass = t.join("pass");
    let ep = format!("{}={},{}={}", a.url, a.base(), b.url, b.base());
    let w = t.join("wallet");
    let run = |dir: &std::path::Path, args: &[&str]| cli(BIN, dir, &pass, &ep, args);
    ok(&run(
        &w,
        &[
            "init",
            "--trust-list",
            t.join("trust.txt").to_str().unwrap(),
            "--root-key",
            t.join("root.jwk").to_str().unwrap(),
        ],
    ));
    let (hid_a, text_a) = a.register_patient().await;
    let (_, text_b) = b.register_patient().await;
    ok(&run(&w, &["enroll", &text_a]));
    ok(&run(&w, &["enroll", &text_b]));
    a.cbc(&hid_a).await;
    ok(&run(&w, &["sync"]));
    let bk = t.join("w.backup");
    ok(&run(&w, &["backup", bk.to_str().unwrap()]));
    let w2 = t.join("new-phone");
    ok(&run(&w2, &["restore", bk.to_str().unwrap()]));

    // Not a terminal and no --yes: the warning, nothing done, non-zero.
    let o = run(&w2, &["lost-phone"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("every grant it made was live until now"),
        "{err}"
    );
    assert!(err.contains("add --yes"), "{err}");

    // Labaid down: DMCH done, Labaid not; exit status non-zero; a summary says to run again.
    b.stop();
    let o = run(&w2, &["lost-phone", "--yes"]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Dhaka Medical College Hospital: every grant revoked, new key bound"),
        "{out}"
    );
    assert!(out.contains("Labaid Diagnostics: NOT DONE"), "{out}");
    assert!(out.contains("NOT FINISHED: 1 of 2 hospitals done"), "{out}");
    // Back up: the re-run finishes, exit 0.
    b.serve().await;
    let report: Value =
        serde_json::from_str(&ok(&run(&w2, &["lost-phone", "--yes", "--json"]))).unwrap();
    assert_eq!(report["complete"], true, "{report}");
    let statuses: Vec<&str> = report["hospitals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["already_done", "rotated"], "{report}");
    // The new key syncs; the old wallet's key is refused.
    let sync: Value = serde_json::from_str(&ok(&run(&w2, &["sync", "--json"]))).unwrap();
    assert!(
        sync["peers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["error"].is_null()),
        "{sync}"
    );
    let o = run(&w, &["sync", "--json"]);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("key_rotated"), "{text}");
    let receipts = ok(&run(&w2, &["receipts"]));
    assert!(
        receipts.contains("KEY REPLACED at Dhaka Medical College Hospital"),
        "{receipts}"
    );

    // The old phone's wallet is taken over (its key retired): the identity check at DMCH.
    let code = a
        .staff(
            &format!("/staff/patients/{hid_a}/enrollment-code"),
            &serde_json::json!({}),
        )
        .await;
    let code = code["enrollment_text"].as_str().unwrap();
    let w3 = t.join("third-phone");
    ok(&run(&w3, &["restore", bk.to_str().unwrap()]));
    let o = run(&w3, &["rebind"]);
    assert!(!o.status.success());
    let out = ok(&run(&w3, &["rebind", "--code", code]));
    assert!(
        out.contains("Re-bound at Dhaka Medical College Hospital"),
        "{out}"
    );
    assert!(out.contains("1 hospital still to do"), "{out}");
    b.stop();
}
