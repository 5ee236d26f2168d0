#![no_main]
//! Fuzzes Spondon token decoding: input starting with `SPONDON:` is taken as text, anything
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

/// The root public key of the committed test vectors, so that seeds reach signature checks.
fn root_key() -> spondon_core::Es256PublicKey {
    let keys: serde_json::Value = serde_json::from_str(include_str!(
        "../../crates/core/tests/vectors/test-keys.json"
    ))
    .unwrap_or_default();
    let mut jwk: spondon_core::Jwk =
        serde_json::from_value(keys["root"].clone()).unwrap_or_default();
    jwk.d = None;
    spondon_core::Es256PublicKey::from_jwk(&jwk).unwrap_or_else(|_| std::process::abort())
}

static ROOT: std::sync::LazyLock<spondon_core::Es256PublicKey> = std::sync::LazyLock::new(root_key);

fuzz_target!(|data: &[u8]| {
    let Some(text) = text_of(data) else { return };
    let _ = token::TrustList::decode_and_verify(&text, &ROOT, 0, NumericDate(1_767_225_600));
});
