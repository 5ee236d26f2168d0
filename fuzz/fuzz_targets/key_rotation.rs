#![no_main]
//! Fuzzes key rotation statements (`docs/protocol.md` §17) through
//! `KeyRotation::decode_and_verify`: input starting with `SPONDON:` is taken as text, anything
//! else as the COSE bytes behind the prefix and base45 (so the fuzzer reaches CBOR quickly).

use libfuzzer_sys::fuzz_target;
use spondon_core::time::NumericDate;
use spondon_core::token;

fn text_of(data: &[u8]) -> Option<String> {
    if data.starts_with(b"SPONDON:") {
        std::str::from_utf8(data).ok().map(str::to_owned)
    } else {
        Some(token::raw::to_text(data))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = text_of(data) else { return };
    let _ = token::KeyRotation::decode_and_verify(&text, NumericDate(1_767_225_660));
});
