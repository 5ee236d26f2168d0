#![no_main]
//! Fuzzes the signed patient request decoder: as text, and as the COSE bytes behind base64url.

use libfuzzer_sys::fuzz_target;
use spondon_core::token;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = token::SignedRequest::decode(text);
    }
    let _ = token::SignedRequest::decode(&spondon_core::b64::encode(data));
});
