//! Fuzzes the document checks (untrusted uploads and cards): the structure walk of a PDF, JPEG
//! or PNG upload, and reading a card's DocumentReference.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_document::{Attachment, DocumentRequest, FileType, validate};

fuzz_target!(|data: &[u8]| {
    for t in FileType::ALL {
        let _ = validate(data, t);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(att) = Attachment::from_document_reference(&value) {
            let _ = att.check(data);
        }
        let _ = DocumentRequest::from_document_reference(&value);
        let _ = Attachment::from_card_fhir(&value);
    }
});
