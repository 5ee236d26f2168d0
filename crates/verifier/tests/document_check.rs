//! `spondon-verifier check` on documents (`docs/protocol.md` §18.2, §18.4): the real binary on a
//! directory export, a PDF export with attached files and `CARD --file F`, made from real signed
//! cards in a real SQLite log. One flipped byte of a file is found in each; a missing file, a
//! file no card names, a wrong size or type are each named by their code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../export/tests/common/mod.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::Output;

use fixture::{Hospital1, NAME, document_bundle, report_pdf, xray_jpeg};
use serde_json::Value;
use spondon_core::keys::Es256KeyPair;
use spondon_export::{ExportFile, PdfOptions, render_pdf_with_files, write_export_dir};

struct Setup {
    dir: tempfile::TempDir,
    trust: PathBuf,
    root: PathBuf,
    export: spondon_export::Export,
    files: Vec<ExportFile>,
}

const SAID_PDF: &str = "this PDF is the one Dhaka Medical College Hospital signed on 1 Nov 2026";

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let hospital = Hospital1::new().await;
    let pdf = report_pdf("CBC 2026-11-01");
    let jpeg = xray_jpeg();
    let mut bundles = fixture::bundles();
    bundles.push((
        document_bundle(
            &pdf,
            "application/pdf",
            "cbc-2026-11-01.pdf",
            "Complete blood count",
        ),
        false,
    ));
    bundles.push((
        document_bundle(&jpeg, "image/jpeg", "chest x-ray", "Chest X-ray"),
        false,
    ));
    let export = hospital.export_of(bundles).await;
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
        trust,
        root,
        export,
        files: vec![ExportFile::new(pdf), ExportFile::new(jpeg)],
    }
}

fn at() -> String {
    time::OffsetDateTime::from_unix_timestamp(fixture::now().seconds())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn check(s: &Setup, json: bool, args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_spondon-verifier"));
    cmd.arg("check").arg("--trust").arg(&s.trust);
    cmd.arg("--root-key").arg(&s.root).arg("--at").arg(at());
    if json {
        cmd.arg("--json");
    }
    cmd.args(args).output().unwrap()
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

/// Writes the directory export `NAME/` and returns its path and its files' paths.
fn write_dir(s: &Setup, name: &str) -> (PathBuf, Vec<PathBuf>) {
    let root = s.dir.path().join(name);
    let mut files = Vec::new();
    for (rel, bytes) in write_export_dir(&s.export, &s.files, name).unwrap() {
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        if rel.starts_with("files/") {
            files.push(path);
        }
    }
    (root, files)
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_directory_export_checks_every_file_against_its_card() {
    let s = setup().await;
    let (root, files) = write_dir(&s, "fatema");
    let out = check(&s, true, &[root.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["kind"], "spondon_export");
    assert_eq!(v["valid"], true);
    let reported = v["files"].as_array().unwrap();
    assert_eq!(reported.len(), 2);
    assert_eq!(reported[0]["card"], 4);
    assert_eq!(reported[0]["valid"], true);
    assert_eq!(reported[0]["content_type"], "application/pdf");
    assert_eq!(reported[0]["size"], s.files[0].bytes.len());
    assert_eq!(reported[0]["statement"], SAID_PDF);
    assert_eq!(
        reported[1]["statement"],
        "this JPEG image is the one Dhaka Medical College Hospital signed on 1 Nov 2026"
    );
    let out = check(&s, false, &[root.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("VALID: Spondon export\n"), "{text}");
    assert!(
        text.contains(&format!("(card 4): VALID, {SAID_PDF}")),
        "{text}"
    );

    // One flipped byte of the PDF file.
    flip_byte(&files[0], 20);
    let out = check(&s, true, &[root.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["valid"], false);
    assert_eq!(codes(&v), ["file_hash_mismatch"]);
    assert_eq!(v["files"][0]["valid"], false);
    assert!(v["files"][0].get("statement").is_none());
    assert_eq!(v["files"][1]["valid"], true);
    let text = String::from_utf8_lossy(&check(&s, false, &[root.as_os_str()]).stdout).into_owned();
    assert!(text.starts_with("INVALID: Spondon export\n"), "{text}");
    assert!(
        text.contains("INVALID, the file's SHA-256 is not the one its card names"),
        "{text}"
    );
    flip_byte(&files[0], 20);

    // One byte short.
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() - 1]).unwrap();
    let v = json(&check(&s, true, &[root.as_os_str()]));
    assert_eq!(codes(&v), ["file_size_mismatch"]);
    // Missing.
    std::fs::remove_file(&files[1]).unwrap();
    let out = check(&s, true, &[root.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(codes(&v), ["file_missing"]);
    assert_eq!(v["files"][1]["card"], 5);
    std::fs::write(&files[1], &bytes).unwrap();
    // A file no card names.
    std::fs::write(root.join("files/extra.pdf"), report_pdf("not in any card")).unwrap();
    let v = json(&check(&s, true, &[root.as_os_str()]));
    assert_eq!(codes(&v), ["file_not_in_card"]);
}

#[tokio::test]
async fn a_file_of_the_wrong_type_is_named() {
    // A card that says PNG for JPEG bytes (size and hash match): only a reader that looks at the
    // leading bytes sees it. Written by hand: the export refuses to write it.
    let hospital = Hospital1::new().await;
    let jpeg = xray_jpeg();
    let export = hospital
        .export_of(vec![(
            document_bundle(&jpeg, "image/png", "scan.png", "Scan"),
            false,
        )])
        .await;
    let s = Setup {
        files: vec![ExportFile::new(jpeg.clone())],
        ..setup().await
    };
    assert_eq!(
        write_export_dir(&export, &s.files, "x").unwrap_err().code(),
        "file_type_mismatch"
    );
    let root = s.dir.path().join("typed");
    std::fs::create_dir_all(root.join("files")).unwrap();
    std::fs::write(
        root.join("typed.smart-health-card"),
        spondon_export::write_export(&export),
    )
    .unwrap();
    let hex: String = s.files[0]
        .sha256
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(root.join(format!("files/{hex}.png")), &jpeg).unwrap();
    // The export's own trust list: this hospital's keys.
    let root_key = Es256KeyPair::generate().unwrap();
    std::fs::write(&s.trust, hospital.trust_list().sign(&root_key).unwrap()).unwrap();
    std::fs::write(
        &s.root,
        serde_json::to_string(&root_key.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let out = check(&s, true, &[root.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(codes(&v), ["file_type_mismatch"]);
}

#[tokio::test]
async fn one_file_against_its_card() {
    let s = setup().await;
    // The document card alone, as a plain .smart-health-card file, and its file.
    let card = s.dir.path().join("cbc.smart-health-card");
    std::fs::write(
        &card,
        serde_json::json!({"verifiableCredential": [s.export.records[3].jws]}).to_string(),
    )
    .unwrap();
    let file = s.dir.path().join("cbc.pdf");
    std::fs::write(&file, &s.files[0].bytes).unwrap();
    let args = [card.as_os_str(), "--file".as_ref(), file.as_os_str()];
    let out = check(&s, false, &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("VALID: SMART Health Card\n"), "{text}");
    assert!(
        text.contains(&format!("cbc.pdf (card 1): VALID, {SAID_PDF}")),
        "{text}"
    );
    let v = json(&check(&s, true, &args));
    assert_eq!(v["files"][0]["statement"], SAID_PDF);
    assert_eq!(v["files"][0]["sha256"].as_str().unwrap().len(), 64);

    // One flipped byte.
    flip_byte(&file, 9);
    let out = check(&s, true, &args);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(codes(&v), ["file_hash_mismatch"]);
    // The right card, the wrong file.
    std::fs::write(&file, &s.files[1].bytes).unwrap();
    let v = json(&check(&s, true, &args));
    assert_eq!(codes(&v), ["file_size_mismatch"]);

    // Against a whole export (file form): the file finds its card by its hash.
    let export = s.dir.path().join("export.smart-health-card");
    std::fs::write(&export, spondon_export::write_export(&s.export)).unwrap();
    let jpeg = s.dir.path().join("xray.jpg");
    std::fs::write(&jpeg, &s.files[1].bytes).unwrap();
    let out = check(
        &s,
        true,
        &[export.as_os_str(), "--file".as_ref(), jpeg.as_os_str()],
    );
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    assert_eq!(v["files"][0]["card"], 5);
    flip_byte(&jpeg, 1000);
    let v = json(&check(
        &s,
        true,
        &[export.as_os_str(), "--file".as_ref(), jpeg.as_os_str()],
    ));
    assert_eq!(codes(&v), ["file_not_in_card"]);
}

#[tokio::test]
async fn a_pdf_export_checks_its_attached_files() {
    let s = setup().await;
    let pdf = render_pdf_with_files(&s.export, &s.files, &PdfOptions::default()).unwrap();
    let path = s.dir.path().join("export.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = check(&s, true, &[path.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(v["files"][0]["statement"], SAID_PDF);
    assert_eq!(v["cards"].as_array().unwrap().len(), 5);
    let text = String::from_utf8_lossy(&out.stdout);
    for secret in ["Fatema", "Platelets", "CBC 2026"] {
        assert!(!text.contains(secret), "the verdict reveals {secret}");
    }

    // One flipped byte inside the attached JPEG.
    let at = pdf
        .windows(s.files[1].bytes.len())
        .position(|w| w == s.files[1].bytes.as_slice())
        .unwrap();
    let mut altered = pdf.clone();
    altered[at + 700] ^= 0x01;
    std::fs::write(&path, &altered).unwrap();
    let out = check(&s, true, &[path.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(codes(&v), ["file_hash_mismatch"]);
    assert_eq!(v["files"][1]["card"], 5);

    // A PDF export made without the files: each document card's file is missing.
    let plain = spondon_export::render_pdf(&s.export, &PdfOptions::default()).unwrap();
    std::fs::write(&path, &plain).unwrap();
    let v = json(&check(&s, true, &[path.as_os_str()]));
    assert_eq!(codes(&v), ["file_missing", "file_missing"]);

    // Larger than the 8 MiB a text input may be: a PDF with a 12 MiB scan is read.
    let mut big = report_pdf("big");
    let tail = big.split_off(big.len() - 6); // "%%EOF\n"
    big.extend(std::iter::repeat_n(b' ', 12 * 1024 * 1024));
    big.extend(tail);
    let big_file = ExportFile::new(big.clone());
    let hospital = Hospital1::new().await;
    let export = hospital
        .export_of(vec![(
            document_bundle(&big, "application/pdf", "scan.pdf", "Scan"),
            false,
        )])
        .await;
    let pdf = render_pdf_with_files(&export, &[big_file], &PdfOptions::default()).unwrap();
    assert!(pdf.len() > 12 * 1024 * 1024);
    let root_key = Es256KeyPair::generate().unwrap();
    std::fs::write(&s.trust, hospital.trust_list().sign(&root_key).unwrap()).unwrap();
    std::fs::write(
        &s.root,
        serde_json::to_string(&root_key.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    std::fs::write(&path, &pdf).unwrap();
    let out = check(&s, true, &[path.as_os_str()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["files"][0]["size"], big.len());
    let _ = NAME;
}
