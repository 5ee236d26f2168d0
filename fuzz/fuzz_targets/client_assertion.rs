#![no_main]
//! Fuzzes the OAuth client assertion decoder (RFC 7523, SMART Backend Services) and the
//! registered JWK Set parser: as text, and a JSON value behind a valid-looking header.

use libfuzzer_sys::fuzz_target;
use spondon_core::client_assertion::{Assertion, ClientKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(a) = Assertion::parse(text) {
            let key = ClientKey::Ec {
                kid: a.kid.clone(),
                x: vec![1; 48],
                y: vec![2; 48],
            };
            let _ = a.verified_by(&key);
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ClientKey::parse_jwks(&v);
    }
    let header = spondon_core::b64::encode(br#"{"alg":"ES384","kid":"k","typ":"JWT"}"#);
    let _ = Assertion::parse(&format!(
        "{header}.{}.{}",
        spondon_core::b64::encode(data),
        spondon_core::b64::encode([0u8; 96])
    ));
});
