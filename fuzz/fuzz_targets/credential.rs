#![no_main]
//! Fuzzes enrollment and doctor credentials (and any token) with a trust list to verify against: input starting with `SPONDON:` is taken as text, anything
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

/// The public keys of the committed test vectors, so that seeds reach signature checks.
fn test_key(name: &str) -> spondon_core::Es256PublicKey {
    let keys: serde_json::Value = serde_json::from_str(include_str!(
        "../../crates/core/tests/vectors/test-keys.json"
    ))
    .unwrap_or_default();
    let mut jwk: spondon_core::Jwk = serde_json::from_value(keys[name].clone()).unwrap_or_default();
    jwk.d = None;
    spondon_core::Es256PublicKey::from_jwk(&jwk).unwrap_or_else(|_| std::process::abort())
}

static LIST: std::sync::LazyLock<token::TrustList> =
    std::sync::LazyLock::new(|| token::TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "fuzz".into(),
        sequence: 1,
        issued_at: NumericDate(1_767_225_600),
        not_before: NumericDate(1_767_225_600),
        expires: NumericDate(1_767_225_600 + 86_400),
        hospitals: vec![token::Hospital {
            id: "dmch".into(),
            name: "DMCH".into(),
            peer_url: "https://peer.dmch.gov.bd".into(),
            record_keys: vec![test_key("hospital")],
            log_key: spondon_core::Ed25519PublicKey::from_bytes(&[7; 32])
                .unwrap_or_else(|_| std::process::abort()),
            log_origin: "peer.dmch.gov.bd/log".into(),
        }],
    });

fuzz_target!(|data: &[u8]| {
    let Some(text) = text_of(data) else { return };
    if let Ok(parsed) = token::decode_any(&text) {
        let anchors = token::TrustAnchors {
            trust_list: Some(&LIST),
            ..Default::default()
        };
        let _ = parsed.verify(&anchors, NumericDate(1_767_225_600));
    }
});
