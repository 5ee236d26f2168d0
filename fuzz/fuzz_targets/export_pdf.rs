//! Fuzzes finding the export file attached to a PDF (untrusted uploads of "exported PDFs").
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_export::{extract_export_from_pdf, parse_export};

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = extract_export_from_pdf(data) {
        let _ = parse_export(&file);
    }
});
