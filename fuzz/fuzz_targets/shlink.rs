//! Fuzzes SMART Health Link payload parsing (`shlink:/…` and viewer-prefixed forms).
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::shl::ShlPayload;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for candidate in [text.to_owned(), format!("shlink:/{text}")] {
        if let Ok(p) = ShlPayload::parse(&candidate) {
            let again = ShlPayload::parse(&p.to_uri()).ok();
            assert_eq!(again.as_ref(), Some(&p));
        }
    }
});
