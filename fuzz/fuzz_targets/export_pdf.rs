//! Fuzzes finding the export file and the document files attached to a PDF (untrusted uploads
//! of "exported PDFs"), and checking those files against the export's cards.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_export::{check_files, extract_export_from_pdf, extract_files_from_pdf, parse_export};

fuzz_target!(|data: &[u8]| {
    let export = extract_export_from_pdf(data).and_then(|file| parse_export(&file));
    if let Ok(found) = extract_files_from_pdf(data)
        && let Ok(export) = &export
    {
        let _ = check_files(export, &found);
    }
});
