#![no_main]
//! Fuzzes the proof-of-possession decoder: as text, and as the COSE bytes behind base64url.

use libfuzzer_sys::fuzz_target;
use spondon_core::token;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = token::PopProof::decode(text);
    }
    let _ = token::PopProof::decode(&spondon_core::b64::encode(data));
});
