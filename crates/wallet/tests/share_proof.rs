//! Proof of sharing end to end with real processes: a `spondon-peer`, the patient's `spondon`
//! CLI and `spondon-verifier share-proof`. The patient's share proof of an access verifies
//! offline; any field altered is refused; it holds no record content; a document holder learns
//! the share dates of a document from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::Investigator;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn verify(bin: &Path, t: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("share-proof")
        .arg("--trust")
        .arg(t.join("trust.txt"))
        .arg("--root-key")
        .arg(t.join("root.jwk"))
        .arg("--json")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patients_share_proof_verifies_offline_and_nothing_altered_does() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = PeerProc::start(t, "dmch.example", "Dhaka Medical College Hospital").await;
    // The consortium's trust list names an investigator.
    let root = Es256KeyPair::generate().unwrap();
    let mut list = trust_list_value(&[&a], 1).await;
    list.investigators = vec![Investigator {
        id: "cid.dmp".into(),
        name: "Criminal Investigation Department, DMP".into(),
    }];
    std::fs::write(t.join("trust.txt"), list.sign(&root).unwrap()).unwrap();
    std::fs::write(
        t.join("root.jwk"),
        serde_json::to_vec(&root.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    std::fs::write(t.join("pass"), "correct horse battery\n").unwrap();
    let w = t.join("wallet");
    let pass = t.join("pass");
    let ep = format!("{}={}", a.url, a.base());
    let run = |args: &[&str]| cli(BIN, &w, &pass, &ep, args);
    ok(&run(&[
        "init",
        "--trust-list",
        t.join("trust.txt").to_str().unwrap(),
        "--root-key",
        t.join("root.jwk").to_str().unwrap(),
    ]));
    let (hid, enroll) = a.register_patient().await;
    ok(&run(&["enroll", &enroll]));
    let (doctor, cred) = a.register_doctor("A-777", "Dr. Nasrin Akter").await;
    a.prescription(&hid, "A-777").await;
    let cbc = a.cbc(&hid).await;
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
    let (status, _) = a.redeem(&doctor, g["text"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    ok(&run(&["sync"]));

    // The patient picks the access and makes the proof for the investigator.
    let listed: Value =
        serde_json::from_str(&ok(&run(&["share-proof", "--list", "--json"]))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["records"][0], cbc.as_str());
    let index = listed[0]["log_index"].as_u64().unwrap().to_string();
    let file = t.join("access.share-proof");
    let made = ok(&run(&[
        "share-proof",
        &index,
        "--investigator",
        "cid.dmp",
        "--out",
        file.to_str().unwrap(),
    ]));
    assert!(made.contains("Dr. Nasrin Akter (BMDC A-777)"), "{made}");
    // An investigator the trust list does not name: refused, nothing written.
    let o = run(&[
        "share-proof",
        &index,
        "--investigator",
        "someone",
        "--out",
        t.join("x").to_str().unwrap(),
    ]);
    assert!(!o.status.success() && !t.join("x").exists());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cid.dmp"));

    // The investigator verifies it offline.
    let vbin = verifier_bin();
    let o = verify(&vbin, t, &[file.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let share = &r["proofs"][0]["share"];
    assert_eq!(share["maker"], "patient");
    assert_eq!(share["doctor"]["name"], "Dr. Nasrin Akter");
    assert_eq!(share["doctor"]["bmdc_number"], "A-777");
    assert_eq!(share["records"][0]["id"], cbc.as_str());
    assert_eq!(share["records"][0]["kind"], "lab_report");
    assert_eq!(share["grant"]["id"], g["id"]);
    assert_eq!(share["investigator"]["id"], "cid.dmp");

    // No record content: not in the file, nor in its decoded payload.
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let payload = spondon_core::b64::decode(text.trim().split('.').nth(1).unwrap()).unwrap();
    for secret in [
        "Platelets",
        "CBC panel",
        "58410-2",
        "777-3",
        "Paracetamol",
        "Fatema Begum",
        "1987654321",
        hid.as_str(),
    ] {
        assert!(!contains(&bytes, secret.as_bytes()), "{secret} in the file");
        assert!(
            !contains(&payload, secret.as_bytes()),
            "{secret} in the payload"
        );
    }

    // Any field altered: refused, with a specific error.
    let parts: Vec<&str> = text.trim().split('.').collect();
    let v: Value = serde_json::from_slice(&payload).unwrap();
    let mut paths = Vec::new();
    leaves(&v, &mut Vec::new(), &mut paths);
    assert!(paths.len() >= 12, "{paths:?}");
    for (n, path) in paths.iter().enumerate() {
        let mut x = v.clone();
        let leaf = path.iter().fold(&mut x, |v, k| match v {
            Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
            other => &mut other[k.as_str()],
        });
        *leaf = match &*leaf {
            Value::String(s) => {
                let mut c: Vec<char> = s.chars().collect();
                let i = c.len() / 2;
                c[i] = if c[i] == 'A' { 'B' } else { 'A' };
                Value::String(c.into_iter().collect())
            }
            Value::Number(k) => Value::from(k.as_i64().unwrap() + 1),
            other => panic!("leaf {other}"),
        };
        let forged = t.join(format!("forged-{n}"));
        std::fs::write(
            &forged,
            format!(
                "{}.{}.{}",
                parts[0],
                spondon_core::b64::encode(serde_json::to_vec(&x).unwrap()),
                parts[2]
            ),
        )
        .unwrap();
        let o = verify(&vbin, t, &[forged.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{} verified", path.join("."));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            r["proofs"][0]["error"]["code"].as_str().is_some(),
            "{}: {r}",
            path.join(".")
        );
    }

    // A document holder: the export of the CBC report with its log proof shows when it was
    // shared, by its own commitment.
    let ex: Value = serde_json::from_str(&ok(&run(&[
        "export",
        "--out",
        t.join("visa").to_str().unwrap(),
        "--category",
        "lab_report",
        "--json",
    ])))
    .unwrap();
    assert_eq!(ex["report"]["valid"], true, "{ex}");
    let o = verify(
        &vbin,
        t,
        &[
            "--document",
            t.join("visa.smart-health-card").to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let doc = &r["documents"][0];
    assert_eq!(doc["record_id"], cbc.as_str(), "{r}");
    assert_eq!(doc["shares"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(doc["shares"][0]["matched_by"], "commitment");
    assert_eq!(doc["shares"][0]["at"], share["at"]);
}
