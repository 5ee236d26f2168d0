//! Documents in exports (`docs/protocol.md` §18.4): document cards signed by a real hospital key
//! and logged in a real SQLite log, their files in the directory form and attached to the PDF,
//! each file checked against its card; one flipped byte is found everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Hospital1, document_bundle, report_pdf, xray_jpeg};
use serde_json::json;
use spondon_export::{
    CardFile, Export, ExportFile, FileType, FoundFile, PdfOptions, check_files,
    extract_files_from_pdf, render_pdf, render_pdf_with_files, verify_export, write_export_dir,
};

struct Setup {
    export: Export,
    files: Vec<ExportFile>,
    hospital: Hospital1,
}

/// Three ordinary records, a CBC report PDF and a chest X-ray JPEG.
async fn setup() -> Setup {
    let hospital = Hospital1::new().await;
    let pdf = report_pdf("CBC 2026-11-01");
    let jpeg = xray_jpeg();
    let mut bundles = common::bundles();
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
    Setup {
        export,
        files: vec![ExportFile::new(pdf), ExportFile::new(jpeg)],
        hospital,
    }
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 0x01;
}

#[tokio::test]
async fn a_card_names_its_file() {
    let s = setup().await;
    let card = spondon_core::shc::ParsedCard::parse(&s.export.records[3].jws).unwrap();
    let cf = CardFile::of_bundle(card.fhir_bundle()).unwrap().unwrap();
    assert_eq!(cf.kind, FileType::Pdf);
    assert_eq!(cf.size, s.files[0].bytes.len() as u64);
    assert_eq!(cf.sha256, s.files[0].sha256);
    assert_eq!(cf.attachment_name(), "cbc-2026-11-01.pdf");
    assert_eq!(cf.doc_type.as_deref(), Some("Complete blood count"));
    assert!(cf.check(&s.files[0].bytes).is_ok());
    // §18.2's order: size, then hash, then type.
    let mut longer = s.files[0].bytes.clone();
    longer.push(b'\n');
    assert_eq!(cf.check(&longer).unwrap_err().code, "file_size_mismatch");
    let mut flipped = s.files[0].bytes.clone();
    flip(&mut flipped, 40);
    assert_eq!(cf.check(&flipped).unwrap_err().code, "file_hash_mismatch");
    // A card that calls a JPEG a PNG: size and hash match, the leading bytes do not.
    let jpeg = xray_jpeg();
    let wrong = document_bundle(&jpeg, "image/png", "x.png", "X-ray");
    let cf = CardFile::of_bundle(&wrong).unwrap().unwrap();
    assert_eq!(cf.check(&jpeg).unwrap_err().code, "file_type_mismatch");
    // Not a document card; a malformed one.
    assert!(CardFile::of_bundle(&common::bundles()[0].0).is_none());
    let mut bad = document_bundle(&jpeg, "image/jpeg", "x", "X-ray");
    bad["entry"][1]["resource"]["content"][0]["attachment"]["data"] = json!("AAAA");
    assert_eq!(
        CardFile::of_bundle(&bad).unwrap().unwrap_err().code,
        "invalid_document_reference"
    );
}

#[tokio::test]
async fn the_directory_form_carries_each_file_under_its_hash() {
    let s = setup().await;
    let entries = write_export_dir(&s.export, &s.files, "fatema-records").unwrap();
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let hex = |b: &[u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        names,
        [
            "fatema-records.smart-health-card".to_owned(),
            format!("files/{}.pdf", hex(&s.files[0].sha256)),
            format!("files/{}.jpg", hex(&s.files[1].sha256)),
        ]
    );
    assert_eq!(entries[1].1, s.files[0].bytes);
    // The card file is the ordinary export file: it parses and verifies as before.
    let parsed = spondon_export::parse_export(&entries[0].1).unwrap();
    assert_eq!(parsed, s.export);
    let report = verify_export(
        &parsed,
        &spondon_export::Anchors::from_trust_list(&s.hospital.trust_list()).unwrap(),
        common::now(),
    );
    assert!(report.valid, "{report:?}");
    // Read back as a checker finds it: every file matches its card.
    let found: Vec<FoundFile> = entries[1..]
        .iter()
        .map(|(name, bytes)| FoundFile {
            name: name.clone(),
            claimed_sha256: spondon_export::files::parse_hex_sha256(&name[6..70]),
            bytes: bytes.clone(),
        })
        .collect();
    let reports = check_files(&parsed, &found);
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.valid), "{reports:?}");
    assert_eq!(reports[0].card, Some(4));
    assert_eq!(reports[1].card, Some(5));
    // One flipped byte: that file, against the card it is filed under.
    let mut flipped = found.clone();
    flip(&mut flipped[1].bytes, 100);
    let reports = check_files(&parsed, &flipped);
    assert!(reports[0].valid);
    assert_eq!(reports[1].errors[0].code, "file_hash_mismatch");
    // A file missing; a file no card names.
    let reports = check_files(&parsed, &found[..1]);
    assert_eq!(reports[1].errors[0].code, "file_missing");
    assert_eq!(reports[1].card, Some(5));
    let mut extra = found.clone();
    extra.push(FoundFile {
        name: "files/other.pdf".into(),
        claimed_sha256: None,
        bytes: report_pdf("someone else's"),
    });
    let reports = check_files(&parsed, &extra);
    assert_eq!(reports[2].errors[0].code, "file_not_in_card");
}

#[tokio::test]
async fn an_export_is_not_made_with_a_wrong_or_missing_file() {
    let s = setup().await;
    let err = write_export_dir(&s.export, &s.files[..1], "x").unwrap_err();
    assert_eq!(err.code(), "file_missing");
    let mut wrong = s.files.clone();
    flip(&mut wrong[0].bytes, 30);
    // Filed under the card's hash, but its bytes changed.
    wrong[0].sha256 = s.files[0].sha256;
    let err = write_export_dir(&s.export, &wrong, "x").unwrap_err();
    assert_eq!(err.code(), "file_hash_mismatch");
    let err = render_pdf_with_files(&s.export, &wrong, &PdfOptions::default()).unwrap_err();
    assert_eq!(err.code(), "file_hash_mismatch");
    assert!(write_export_dir(&s.export, &s.files, "../x").is_err());
    // Files no card names are left out.
    let mut more = s.files.clone();
    more.push(ExportFile::new(report_pdf("unrelated")));
    assert_eq!(write_export_dir(&s.export, &more, "x").unwrap().len(), 3);
}

#[tokio::test]
async fn the_pdf_attaches_and_lists_each_file() {
    let s = setup().await;
    let options = PdfOptions {
        issuer_names: vec![(common::ISS.into(), common::NAME.into())],
        ..PdfOptions::default()
    };
    let pdf = render_pdf_with_files(&s.export, &s.files, &options).unwrap();
    // The export file still comes out first, and verifies.
    let file = spondon_export::extract_export_from_pdf(&pdf).unwrap();
    let parsed = spondon_export::parse_export(&file).unwrap();
    assert_eq!(parsed, s.export);
    // Each document file, filed under its card's hash, byte for byte.
    let found = extract_files_from_pdf(&pdf).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].bytes, s.files[0].bytes);
    assert_eq!(found[0].claimed_sha256, Some(s.files[0].sha256));
    assert_eq!(found[1].bytes, s.files[1].bytes);
    let reports = check_files(&parsed, &found);
    assert!(reports.iter().all(|r| r.valid), "{reports:?}");
    // PDF's own attachment structures: /AF with /Supplement, /Params /Size and the MD5 /CheckSum.
    let text = String::from_utf8_lossy(&pdf);
    assert_eq!(text.matches("/AFRelationship /Supplement").count(), 2);
    assert!(text.contains(&format!("/Size {}", s.files[1].bytes.len())));
    assert!(text.contains("/CheckSum"));
    assert!(text.contains("/Subtype /application#2Fpdf"));
    // Without the files, the PDF says so and attaches only the export file.
    let plain = render_pdf(&s.export, &PdfOptions::default()).unwrap();
    assert!(extract_files_from_pdf(&plain).unwrap().is_empty());

    // A PDF reader sees the attachments (poppler's pdfdetach) and the listing (pdftotext).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Ok(out) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        std::fs::write(format!("{out}/documents.pdf"), &pdf).unwrap();
    }
    if let Some(out) = tool("pdfdetach", &["-list".as_ref(), path.as_os_str()]) {
        let list = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(list.contains("3 embedded files"), "{list}");
        assert!(list.contains("cbc-2026-11-01.pdf"), "{list}");
        assert!(list.contains("chest x-ray.jpg"), "{list}");
        let saved = dir.path().join("saved.pdf");
        tool(
            "pdfdetach",
            &[
                "-savefile".as_ref(),
                "cbc-2026-11-01.pdf".as_ref(),
                "-o".as_ref(),
                saved.as_os_str(),
                path.as_os_str(),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(&saved).unwrap(), s.files[0].bytes);
    }
    if let Some(out) = tool("pdftotext", &[path.as_os_str(), "-".as_ref()]) {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for expected in [
            "ATTACHED FILES (2)",
            "Document: Complete blood count",
            "Report from the lab system",
            "The file is attached to this PDF as cbc-2026-11-01.pdf",
            "SHA-256",
            "Dhaka Medical College Hospital",
            "1 Nov 2026",
            "JPEG image",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
        let hex: String = s.files[0]
            .sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(text.contains(&hex), "the SHA-256 is listed:\n{text}");
    }

    // One flipped byte of an attached file in the PDF: that file no longer matches its card.
    let mut altered = pdf.clone();
    let at = altered
        .windows(s.files[1].bytes.len())
        .position(|w| w == s.files[1].bytes.as_slice())
        .unwrap();
    flip(&mut altered, at + 500);
    let found = extract_files_from_pdf(&altered).unwrap();
    let reports = check_files(&parsed, &found);
    assert!(reports[0].valid);
    assert_eq!(reports[1].errors[0].code, "file_hash_mismatch");
}

#[tokio::test]
async fn parts_carry_their_cards_files() {
    let s = setup().await;
    let parts = spondon_export::export_parts(
        &spondon_export::PartsInput {
            created: s.export.created,
            records: &s.export.records,
            receipts: &s.export.receipts,
            summary: true,
            files: &s.files,
        },
        &PdfOptions::default(),
    )
    .unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].files, s.files);
    assert_eq!(extract_files_from_pdf(&parts[0].pdf).unwrap().len(), 2);
}

fn tool(name: &str, args: &[&std::ffi::OsStr]) -> Option<std::process::Output> {
    match std::process::Command::new(name).args(args).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(out)
        }
        Err(e) if std::env::var("SPONDON_REQUIRE_PDFTOPPM").as_deref() != Ok("1") => {
            eprintln!("skipped: {name} is not installed ({e})");
            None
        }
        Err(e) => panic!("{name}: {e}"),
    }
}
