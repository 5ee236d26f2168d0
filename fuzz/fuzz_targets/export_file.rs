//! Fuzzes the Spondon export file reader, and everything downstream of a parsed export
//! (write/parse round trip, offline verification, summary, PDF drawing).
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::NumericDate;
use spondon_export::{
    Anchors, PatientSummaryInput, PdfOptions, build_ips, parse_export, render_pdf, verify_export,
    write_export,
};

fuzz_target!(|data: &[u8]| {
    let Ok(export) = parse_export(data) else { return };
    let again = parse_export(&write_export(&export)).ok();
    assert!(again.as_ref() == Some(&export), "write/parse round trip changed the export");
    let _ = verify_export(&export, &Anchors::default(), NumericDate(1_800_000_000));
    let _ = build_ips(&PatientSummaryInput {
        records: &export.records,
        created: NumericDate(0),
    });
    let _ = render_pdf(&export, &PdfOptions::default());
});
