#![no_main]
//! Fuzzes reading QR codes out of uploaded images.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = spondon_core::qr::decode_image(data);
});
