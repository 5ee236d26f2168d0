//! Fuzzes `.smart-health-card` file parsing and the user-text card extractor.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::shc::{HealthCardFile, extract_jws, fhir};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = HealthCardFile::from_json(text) {
        let again = HealthCardFile::from_json(&f.to_json()).ok();
        assert_eq!(again.as_ref(), Some(&f));
    }
    let _ = extract_jws(text);
    let _ = fhir::check_bundle_json(text);
});
