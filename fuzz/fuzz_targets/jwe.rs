//! Fuzzes SMART Health Links JWE decryption (compact, dir + A256GCM, optional zip).
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::shl::{ShlKey, decrypt_file, encrypt_file};

fuzz_target!(|data: &[u8]| {
    let key = ShlKey::from_bytes([7; 32]);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decrypt_file(text, &key);
    }
    // Round trip of arbitrary bytes.
    let zip = data.first().is_some_and(|b| b & 1 == 1);
    if let Ok(jwe) = encrypt_file(data, &key, "application/fhir+json", zip) {
        let out = decrypt_file(&jwe, &key).ok().map(|f| f.plaintext);
        assert_eq!(out.as_deref(), Some(data));
    }
});
