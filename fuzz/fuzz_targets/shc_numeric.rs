//! Fuzzes `shc:/` numeric QR decoding (single and chunked) and the QR version rules.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::shc::{decode_numeric_chunks, encode_numeric, qr};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let chunks: Vec<&str> = text.split('\n').collect();
    if let Ok(d) = decode_numeric_chunks(&chunks) {
        // A single plain QR that fits version 22 re-encodes to itself.
        if chunks.len() == 1 && !chunks[0][5..].contains('/') && d.jws.len() <= 1195 {
            assert_eq!(encode_numeric(&d.jws).ok().as_deref(), Some(chunks[0]));
        }
    }
    let _ = qr::check_qr_version(text.len() % 41, qrcode::EcLevel::L, text);
});
