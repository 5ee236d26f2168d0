//! `spondon-verifier check` on Spondon exports (`docs/export.md`): the real binary on an export
//! file and its PDF, made from real signed cards and a real SQLite transparency log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../export/tests/common/mod.rs"]
mod fixture;
mod node;

use std::path::{Path, PathBuf};
use std::process::Output;

use fixture::{Hospital1, NAME, ORIGIN, T0};
use serde_json::Value;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_export::{PdfOptions, render_pdf, write_export};

struct Setup {
    dir: tempfile::TempDir,
    file: PathBuf,
    pdf: PathBuf,
    trust: PathBuf,
    root: PathBuf,
    export: spondon_export::Export,
    hospital: Hospital1,
    root_key: Es256KeyPair,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let hospital = Hospital1::new().await;
    let export = hospital.export().await;
    let file = dir.path().join("export.smart-health-card");
    std::fs::write(&file, write_export(&export)).unwrap();
    let pdf = dir.path().join("export.pdf");
    std::fs::write(&pdf, render_pdf(&export, &PdfOptions::default()).unwrap()).unwrap();
    let root_key = Es256KeyPair::generate().unwrap();
    let trust = dir.path().join("trust-list.txt");
    std::fs::write(&trust, hospital.trust_list().sign(&root_key).unwrap()).unwrap();
    let root = dir.path().join("authority.jwk");
    std::fs::write(
        &root,
        serde_json::to_string(&root_key.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    Setup {
        dir,
        file,
        pdf,
        trust,
        root,
        export,
        hospital,
        root_key,
    }
}

fn at() -> String {
    time::OffsetDateTime::from_unix_timestamp(fixture::now().seconds())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn check(s: &Setup, json: bool, input: &Path) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_spondon-verifier"));
    cmd.arg("check").arg("--trust").arg(&s.trust);
    cmd.arg("--root-key").arg(&s.root).arg("--at").arg(at());
    // The text report gives times in the reader's zone; Dhaka's, to see that it is used.
    cmd.env("TZ", "Asia/Dhaka");
    if json {
        cmd.arg("--json");
    }
    cmd.arg(input).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn export_file_and_pdf_verify_offline() {
    let s = setup().await;
    for input in [&s.file, &s.pdf] {
        let out = check(&s, true, input);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = json(&out);
        assert_eq!(v["kind"], "spondon_export");
        assert_eq!(v["valid"], true);
        assert_eq!(v["issuer_name"], NAME);
        assert_eq!(v["created"], T0 + 7_200);
        assert_eq!(v["summary"]["signed"], false);
        assert_eq!(v["summary"]["traced"], v["summary"]["entries"]);
        let cards = v["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 3);
        for (i, c) in cards.iter().enumerate() {
            assert_eq!(c["valid"], true);
            assert_eq!(c["unaltered"], true);
            assert_eq!(c["not_before"], T0 + i as i64);
            assert_eq!(c["log"]["log"], ORIGIN);
            assert_eq!(c["log"]["index"], 5 + i as u64);
            assert_eq!(c["log"]["checkpoint_size"], 9);
            assert_eq!(c["log"]["other_signatures"], 1);
            assert!(c["fhir"].is_null());
        }
        assert_eq!(cards[0]["shared"], serde_json::json!([T0 + 3_600]));
        assert!(cards[1].get("shared").is_none());
        let text = String::from_utf8_lossy(&out.stdout);
        for secret in ["Fatema", "Platelets", "Paracetamol", "A97.0"] {
            assert!(!text.contains(secret), "the verdict reveals {secret}");
        }

        let out = check(&s, false, input);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("VALID: Spondon export\n"), "{text}");
        assert!(text.contains("unaltered:   yes"), "{text}");
        assert!(
            text.contains("logged:      entry 5 of dmch.example/log at 2026-11-01 06:00 +06"),
            "{text}"
        );
        assert!(text.contains("shared:      2026-11-01 07:00 +06"), "{text}");
        assert!(
            text.contains("summary:     assembled by the patient's wallet, not signed"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn tampered_exports_and_wrong_trust_are_invalid() {
    let s = setup().await;
    // A salt altered: the card still verifies, its log proof does not open.
    let mut bad = s.export.clone();
    bad.records[1].proof.as_mut().unwrap().salt[3] ^= 0x40;
    let path = s.dir.path().join("bad.smart-health-card");
    std::fs::write(&path, write_export(&bad)).unwrap();
    let out = check(&s, true, &path);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(codes(&v), ["log_commitment_mismatch"]);
    assert_eq!(v["cards"][1]["unaltered"], true);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("card 2:")
    );

    // The same export, but the trust list gives the hospital another log key.
    let mut list = s.hospital.trust_list();
    list.hospitals[0].log_key = *Ed25519KeyPair::generate().unwrap().public_key();
    let other = Setup {
        trust: s.dir.path().join("other-trust.txt"),
        ..setup().await
    };
    std::fs::write(&other.trust, list.sign(&other.root_key).unwrap()).unwrap();
    std::fs::write(&other.file, write_export(&s.export)).unwrap();
    let out = check(&other, true, &other.file);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(codes(&v).len(), 4, "{v}");
    assert!(codes(&v).iter().all(|c| c == "log_proof_invalid"), "{v}");
    assert!(
        v["errors"][3]["message"]
            .as_str()
            .unwrap()
            .starts_with("receipt 1:")
    );

    // Without the trust list the issuer is unknown (a VCI directory without the hospital).
    let dir = s.dir.path().join("empty-directory.json");
    std::fs::write(&dir, r#"{"participating_issuers":[]}"#).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spondon-verifier"))
        .args(["check", "--json", "--at", &at(), "--directory"])
        .arg(&dir)
        .arg(&s.file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert!(codes(&v).contains(&"issuer_not_trusted".to_owned()));
    assert_eq!(v["cards"][0]["unaltered"], false);
}

#[tokio::test]
async fn broken_files_and_pdfs_get_clear_verdicts() {
    let s = setup().await;
    let pdf = std::fs::read(&s.pdf).unwrap();
    // Cut inside the attached file (a compressed stream after its dictionary).
    let attached = pdf
        .windows(19)
        .position(|w| w == b"/Type /EmbeddedFile")
        .unwrap();
    let inside = attached
        + pdf[attached..]
            .windows(6)
            .position(|w| w == b"stream")
            .unwrap()
        + 100;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no-attachment.pdf",
            b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n".to_vec(),
            "pdf_no_export",
        ),
        ("truncated.pdf", pdf[..inside].to_vec(), "pdf_bad_export"),
        (
            "bad-version.smart-health-card",
            String::from_utf8(write_export(&s.export))
                .unwrap()
                .replace("\"version\":1", "\"version\":9")
                .into_bytes(),
            "export_unsupported_version",
        ),
        (
            "bad-member.smart-health-card",
            String::from_utf8(write_export(&s.export))
                .unwrap()
                .replace("\"version\":1", "\"version\":1,\"x\":2")
                .into_bytes(),
            "export_bad_member",
        ),
    ];
    // A truncated `.smart-health-card` export is not even JSON: unusable input too.
    let file = write_export(&s.export);
    let path = s.dir.path().join("truncated.smart-health-card");
    std::fs::write(&path, &file[..file.len() / 2]).unwrap();
    let out = check(&s, true, &path);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (name, bytes, code) in cases {
        let path = s.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        // Unusable input (the export cannot be read at all): exit 2, as `--help` promises,
        // with the specific code in the verdict.
        let out = check(&s, true, &path);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let v = json(&out);
        assert_eq!(v["kind"], "spondon_export", "{name}");
        assert_eq!(codes(&v), [code], "{name}");
        let text = check(&s, false, &path);
        assert!(
            String::from_utf8_lossy(&text.stdout).contains(&format!("[{code}]")),
            "{name}"
        );
    }
}

/// The clinic node's document check says the same in words for office staff: the patient from
/// a verified card, each record, when it was issued and when it was shared (epoch seconds; the
/// page shows local time), for the export file and its PDF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clinic_node_shows_an_export_in_words() {
    let s = setup().await;
    let mut n = node::init_node(&s.root_key, &s.hospital.trust_list(), None);
    node::serve(&mut n, &["--no-refresh"]).await;
    for (ct, file) in [
        ("application/smart-health-card", &s.file),
        ("application/pdf", &s.pdf),
    ] {
        let r = n.upload(ct, &std::fs::read(file).unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json()["view"].clone();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["patient"]["name"], "Fatema Begum", "{v}");
        assert_eq!(v["patient"]["sex"], "female");
        assert_eq!(v["patient"]["birth_date"], "1988-04-12");
        assert_eq!(v["patient"]["health_id"], "1234-5678-9012-34");
        assert_eq!(v["patient"]["hospital"], NAME);
        assert_eq!(v["exported"], T0 + 7_200);
        let records = v["records"].as_array().unwrap();
        let kinds: Vec<&str> = records
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["Lab report", "Diagnosis", "Prescription"], "{v}");
        let lines: Vec<&str> = records
            .iter()
            .flat_map(|r| r["lines"].as_array().unwrap())
            .map(|l| l.as_str().unwrap())
            .collect();
        for want in [
            "Platelets: 85.2 ×10³/µL (normal range 150–450), below the normal range",
            "Dengue without warning signs (code A97.0)",
            "Paracetamol 500 mg tablet: 1 tablet three times daily for 5 days",
        ] {
            assert!(lines.contains(&want), "{want:?} not in {lines:?}");
        }
        for r in records {
            assert!(r["issued_at"].as_i64().unwrap() >= T0, "{r}");
            assert_eq!(r["issuer"], NAME);
        }
        // The share receipt: shared once, after the cards were issued.
        let shared: Vec<i64> = records
            .iter()
            .flat_map(|r| r["shared"].as_array().unwrap())
            .map(|t| t.as_i64().unwrap())
            .collect();
        assert!(!shared.is_empty() && shared.iter().all(|t| *t >= T0), "{v}");
    }
    // A card whose signature does not verify names no one.
    let mut export = s.export.clone();
    let jws = &mut export.records[0].jws;
    let last = jws.pop().unwrap();
    jws.push(if last == 'A' { 'B' } else { 'A' });
    let r = n
        .upload("application/smart-health-card", &write_export(&export))
        .await;
    let v = r.json()["view"].clone();
    assert_eq!(v["valid"], false, "{v}");
    assert!(
        v["records"][0]["lines"].as_array().unwrap().is_empty(),
        "{v}"
    );
    node::stop(&mut n);
}
