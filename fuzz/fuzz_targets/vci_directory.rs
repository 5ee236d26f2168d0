//! Fuzzes the VCI directory / JWKS / CRL readers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::shc::Directory;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(d) = Directory::from_json(text)
        && let Ok(json) = d.to_json()
    {
        assert!(Directory::from_json(&json).is_ok());
    }
    let mut d = Directory::new();
    let _ = d.add_jwks_json("https://issuer.example", text);
    let _ = d.add_crl_json("https://issuer.example", text);
});
