//! Timings of the export paths, on a large export of `N` distinct cards (default 300): the
//! fixture's three record bundles issued over and over, each a card of its own (its own issue
//! time, id and signature) with its own SQLite log proof, and one receipt.
//!
//! Then the whole export as the wallet makes it: `export_parts` (summary, file and PDF per part)
//! and `verify_export` of every part. An export too large for one file skips the one-file steps.
//!
//! Run: `cargo run --release -p spondon-export --example export_bench -- [N]`

#[path = "../tests/common/mod.rs"]
mod fixture;

use std::error::Error;
use std::time::Instant;

use spondon_export::{
    Anchors, MAX_EXPORT_BYTES, PartsInput, PatientSummaryInput, PdfOptions, build_ips,
    export_parts, extract_export_from_pdf, parse_export, render_pdf, verify_export, write_export,
};

fn time<T>(label: &str, runs: u32, per: usize, mut f: impl FnMut() -> T) -> T {
    let start = Instant::now();
    let mut out = f();
    for _ in 1..runs {
        out = f();
    }
    let each = start.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "{label:<44} {:>9.2} ms   {:>10.0} cards/s",
        each * 1e3,
        per as f64 / each
    );
    out
}

/// Moves every number in `v` by an amount that depends on `i`.
fn vary(v: &mut serde_json::Value, i: usize) {
    match v {
        serde_json::Value::Number(x) => {
            if let Some(f) = x.as_f64() {
                let moved = ((f + (i % 977) as f64 * 0.01) * 100.0).round() / 100.0;
                if let Some(m) = serde_json::Number::from_f64(moved) {
                    *x = m;
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|e| vary(e, i)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|e| vary(e, i)),
        _ => {}
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(300);
    let hospital = fixture::Hospital1::new().await;
    // Card `i` is one of the three bundles with its measured values moved by `i`, as a
    // patient's repeated lab reports are: same shape, other numbers (so that no two cards'
    // compressed payloads are alike, as in a real history).
    let bundles = fixture::bundles()
        .into_iter()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, (mut bundle, lab))| {
            vary(&mut bundle, i);
            (bundle, lab)
        })
        .collect();
    let mut export = hospital.export_of(bundles).await;
    export.patient_summary = None;
    let mut anchors = Anchors::from_trust_list(&hospital.trust_list())?;
    anchors.witnesses.push(hospital.witness.clone());
    anchors.min_cosignatures = 1;
    let now = fixture::now();
    println!("export of {n} cards (each with a log proof), 1 receipt");

    let summary = time("build_ips", 5, n, || {
        build_ips(&PatientSummaryInput {
            records: &export.records,
            created: export.created,
        })
    })?;
    export.patient_summary = Some(summary);
    let file = time("write_export", 10, n, || write_export(&export));
    println!("{:<44} {:>9} bytes", "  file size", file.len());
    if file.len() <= MAX_EXPORT_BYTES {
        let parsed = time("parse_export", 10, n, || parse_export(&file))?;
        let report = time("verify_export (cards + proofs + summary)", 3, n, || {
            verify_export(&parsed, &anchors, now)
        });
        assert!(report.valid);
        let pdf = time("render_pdf", 3, n, || {
            render_pdf(&parsed, &PdfOptions::default())
        })?;
        println!("{:<44} {:>9} bytes", "  PDF size", pdf.len());
        if let Ok(dir) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
            std::fs::write(format!("{dir}/export-{n}.pdf"), &pdf)?;
        }
        let back = time("extract_export_from_pdf", 10, n, || {
            extract_export_from_pdf(&pdf)
        })?;
        assert_eq!(back, file);
    }
    let start = Instant::now();
    let parts = export_parts(
        &PartsInput {
            created: export.created,
            records: &export.records,
            receipts: &export.receipts,
            summary: true,
            files: &[],
        },
        &PdfOptions::default(),
    )?;
    let drawn = start.elapsed();
    // SPONDON_EXPORT_PDF_OUT=DIR keeps the parts' PDFs (to look at them).
    if let Ok(dir) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        for (k, part) in parts.iter().enumerate() {
            std::fs::write(format!("{dir}/part{}.pdf", k + 1), &part.pdf)?;
        }
    }
    for part in &parts {
        assert!(verify_export(&part.export, &anchors, now).valid);
    }
    let total = start.elapsed();
    println!(
        "export_parts: {} parts, largest PDF {} bytes, in {:.2} s; with verify_export of every part {:.2} s ({:.0} cards/s)",
        parts.len(),
        parts.iter().map(|p| p.pdf.len()).max().unwrap_or(0),
        drawn.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
    documents().await
}

/// Documents (§18.4): a 20 MB scan and a 2 MB photo with their cards, attached to the PDF and
/// checked back, and the directory form.
async fn documents() -> Result<(), Box<dyn Error>> {
    use spondon_export::{
        ExportFile, check_files, extract_files_from_pdf, render_pdf_with_files, write_export_dir,
    };
    let mut scan = fixture::report_pdf("a 20 MB scan");
    let tail = scan.split_off(scan.len() - 6);
    scan.extend((0..20_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    scan.extend(tail);
    let mut photo = fixture::xray_jpeg();
    photo.extend((0..2_000_000u32).map(|i| (i.wrapping_mul(40_503) >> 8) as u8));
    let mut bundles = fixture::bundles();
    bundles.push((
        fixture::document_bundle(&scan, "application/pdf", "scan.pdf", "Discharge summary"),
        false,
    ));
    bundles.push((
        fixture::document_bundle(&photo, "image/jpeg", "xray.jpg", "Chest X-ray"),
        false,
    ));
    // A hospital of its own: its log starts empty.
    let hospital = fixture::Hospital1::new().await;
    let mut anchors = Anchors::from_trust_list(&hospital.trust_list())?;
    anchors.witnesses.push(hospital.witness.clone());
    anchors.min_cosignatures = 1;
    let export = hospital.export_of(bundles).await;
    let files = vec![ExportFile::new(scan), ExportFile::new(photo)];
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    println!("documents: 5 cards, 2 files of {bytes} bytes");
    let pdf = time("render_pdf_with_files", 3, 5, || {
        render_pdf_with_files(&export, &files, &PdfOptions::default())
    })?;
    let plain = render_pdf(&export, &PdfOptions::default())?;
    println!(
        "{:<44} {:>9} bytes ({} without the files)",
        "  PDF size",
        pdf.len(),
        plain.len()
    );
    let found = time("extract_files_from_pdf", 5, 5, || {
        extract_files_from_pdf(&pdf)
    })?;
    let reports = time("check_files (size, SHA-256, type)", 5, 5, || {
        check_files(&export, &found)
    });
    assert!(reports.iter().all(|r| r.valid));
    assert!(verify_export(&export, &anchors, fixture::now()).valid);
    let dir = time("write_export_dir", 5, 5, || {
        write_export_dir(&export, &files, "records")
    })?;
    println!("{:<44} {:>9} entries", "  directory", dir.len());
    Ok(())
}
