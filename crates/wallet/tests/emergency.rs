//! Emergency (break-glass) access from the patient's side, with real `spondon-peer` processes
//! and the `spondon` CLI: a doctor opens the emergency summary with a reason and a second staff
//! member's confirmation; the next `spondon sync` brings a verified receipt of its own kind that
//! `sync`, `receipts` and `emergency` show as an emergency access; the patient disputes it (the
//! hospital's admin sees the dispute), opts out (the doctor is refused, and the refusal is a
//! receipt too), limits it to one hospital, and a hospital that was down gets the setting at the
//! next sync.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn spondon(wallet: &Path, pass: &Path, endpoint: &str, args: &[&str]) -> Output {
    cli(BIN, wallet, pass, endpoint, args)
}

/// A request to `peer` signed by the doctor's key with a fresh nonce (`docs/protocol.md` §7a);
/// (status, body).
async fn doctor_post(
    peer: &PeerProc,
    key: &Es256KeyPair,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let r = peer.signed(key, path, body).await;
    (r.status, r.json())
}

async fn staff_call(peer: &PeerProc, method: reqwest::Method, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", peer.base()))
        .bearer_auth(&peer.token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn why(hid: &str) -> Value {
    json!({"health_id": hid, "reason": "unconscious",
           "details": "found unconscious at Kamalapur station", "hours": 3})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_access_reaches_the_wallet_and_the_patient_controls_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = PeerProc::start(t, "dmch.example", "Dhaka Medical College Hospital").await;
    let mut b = PeerProc::start(t, "cmch.example", "Chittagong Medical College Hospital").await;
    cli_consortium(t, &[&a, &b]).await;
    let (w, pass) = (t.join("wallet"), t.join("pass"));
    let ep = format!("{}={},{}={}", a.url, a.base(), b.url, b.base());
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
    let (_, text_b) = b.register_patient().await;
    ok(&run(&["enroll", &text_b]));
    let (doctor, _) = a.register_doctor("A-4242", "Dr. Rafiqul Islam").await;
    a.prescription(&hid, "A-4242").await;
    ok(&run(&["sync"]));
    assert!(ok(&run(&["emergency"])).contains("No emergency access"));

    // The doctor asks; a second staff member confirms; the doctor reads the summary.
    let (s, v) = doctor_post(&a, &doctor, "/emergency/requests", &why(&hid)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["access_id"].as_str().unwrap().to_owned();
    let (s, v) = staff_call(
        &a,
        reqwest::Method::POST,
        &format!("/staff/emergency/{id}/confirm"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = doctor_post(&a, &doctor, "/emergency/summary", &json!({"access_id": id})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["medications"][0]["medication"],
        "Paracetamol 500 mg tablet"
    );

    // The next sync brings the receipt, verified against the log, and shows it at once.
    let out = ok(&run(&["sync"]));
    assert!(
        out.contains("!! EMERGENCY ACCESS by Dr. Rafiqul Islam (BMDC A-4242, Medicine) at Dhaka Medical College Hospital"),
        "{out}"
    );
    assert!(
        out.contains("reason unconscious — \"found unconscious at Kamalapur station\""),
        "{out}"
    );
    let receipts = ok(&run(&["receipts"]));
    assert!(
        receipts.starts_with("!! EMERGENCY ACCESS by Dr"),
        "{receipts}"
    );
    assert!(
        receipts.contains("your emergency summary (prescription)"),
        "{receipts}"
    );
    let listed: Value = serde_json::from_str(&ok(&run(&["emergency", "--json"]))).unwrap();
    let access = &listed["accesses"][0];
    assert_eq!(access["emergency"]["id"], id.as_str());
    assert_eq!(access["emergency"]["reason"], "unconscious");
    assert_eq!(access["allowed"], true);
    assert!(access["emergency"]["confirmed_by"].is_string());
    // A second sync shows it no more (it is not new).
    assert!(!ok(&run(&["sync"])).contains("EMERGENCY"));

    // The patient disputes it; the hospital's admin sees the dispute.
    let o = run(&["emergency", "dispute", "zzzz", "--text", "not me"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not found"),
        "{o:?}"
    );
    let out = ok(&run(&[
        "emergency",
        "dispute",
        &id[..8],
        "--text",
        "I was at home in Mymensingh that day",
    ]));
    assert!(out.contains("Disputed emergency access"), "{out}");
    // The wallet remembers it (the app shows it as disputed).
    let out = ok(&run(&["emergency"]));
    assert!(out.contains("You disputed it on"), "{out}");
    let listed: Value = serde_json::from_str(&ok(&run(&["emergency", "--json"]))).unwrap();
    assert!(listed["disputes"][id.as_str()].is_i64(), "{listed}");
    let (s, v) = staff_call(&a, reqwest::Method::GET, "/staff/emergency").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["accesses"][0]["dispute"]["text"],
        "I was at home in Mymensingh that day"
    );

    // Opting out: every hospital is told; the doctor is refused; the refusal is a receipt.
    let out = ok(&run(&["emergency", "opt-out"]));
    assert!(
        out.contains("Dhaka Medical College Hospital: emergency access refused"),
        "{out}"
    );
    assert!(
        out.contains("Chittagong Medical College Hospital: emergency access refused"),
        "{out}"
    );
    let (s, v) = doctor_post(&a, &doctor, "/emergency/requests", &why(&hid)).await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (403, "emergency_opted_out")
    );
    let out = ok(&run(&["sync"]));
    assert!(out.contains("!! Emergency access by Dr. Rafiqul Islam (BMDC A-4242) was refused (emergency_opted_out)"), "{out}");

    // Only one hospital, while the other is down: it gets the setting at the next sync.
    b.stop();
    let o = run(&["emergency", "only", "dmch"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("Dhaka Medical College Hospital: emergency access allowed")
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("Chittagong Medical College Hospital: not yet told")
    );
    let out = ok(&run(&["emergency"]));
    assert!(
        out.contains("only at Dhaka Medical College Hospital"),
        "{out}"
    );
    assert!(
        out.contains("Not yet sent to Chittagong Medical College Hospital"),
        "{out}"
    );
    let (s, v) = doctor_post(&a, &doctor, "/emergency/requests", &why(&hid)).await;
    assert_eq!(s, 201, "{v}");
    b.serve().await;
    let report: Value = serde_json::from_str(&ok(&run(&["sync", "--json"]))).unwrap();
    assert_eq!(report["emergency_policy"][0]["peer"], b.url.as_str());
    assert_eq!(report["emergency_policy"][0]["allowed_here"], false);
    assert!(!ok(&run(&["emergency"])).contains("Not yet sent"));
    let (doctor_b, _) = b.register_doctor("B-77", "Dr. Selina Haque").await;
    let hid_b = text_b.split(':').nth(3).unwrap().to_owned();
    let (s, v) = doctor_post(&b, &doctor_b, "/emergency/requests", &why(&hid_b)).await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (403, "emergency_hospital_not_allowed")
    );
}

/// A hospital (or anyone between it and the wallet) that rewrites an emergency receipt — a
/// milder reason, another doctor's name — is caught: the event no longer opens its log entry,
/// the sync is a security alert and nothing from that hospital is kept; the honest answer is
/// then accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_emergency_receipt_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = PeerProc::start(t, "dmch.example", "Dhaka Medical College Hospital").await;
    cli_consortium(t, &[&a]).await;
    let proxy = proxy(a.base()).await;
    let (w, pass) = (t.join("wallet"), t.join("pass"));
    let ep = format!("{}=http://{}", a.url, proxy.addr);
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
    let (doctor, _) = a.register_doctor("A-4242", "Dr. Rafiqul Islam").await;
    a.prescription(&hid, "A-4242").await;
    ok(&run(&["sync"]));
    let (s, v) = doctor_post(&a, &doctor, "/emergency/requests", &why(&hid)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["access_id"].as_str().unwrap().to_owned();
    let (s, v) = staff_call(
        &a,
        reqwest::Method::POST,
        &format!("/staff/emergency/{id}/confirm"),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    for (field, value) in [("reason", "other"), ("details", "routine check")] {
        let (f, val) = (field.to_owned(), value.to_owned());
        *proxy.rewrite.lock().unwrap() = Some(Box::new(move |path: &str, mut v: Value| {
            if path == "/patient/receipts"
                && let Some(rs) = v["receipts"].as_array_mut()
            {
                for r in rs {
                    if r["event"]["action"] == "emergency" {
                        r["event"]["emergency"][f.as_str()] = Value::String(val.clone());
                    }
                }
            }
            v
        }));
        let o = run(&["sync"]);
        assert_eq!(o.status.code(), Some(3), "{o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("SECURITY ALERT"),
            "{o:?}"
        );
        assert!(!ok(&run(&["receipts"])).contains("EMERGENCY"));
    }
    *proxy.rewrite.lock().unwrap() = None;
    let out = ok(&run(&["sync"]));
    assert!(
        out.contains("!! EMERGENCY ACCESS by Dr. Rafiqul Islam"),
        "{out}"
    );
}
