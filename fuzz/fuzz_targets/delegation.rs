#![no_main]
//! Fuzzes the delegation decoders (docs/protocol.md §16): a delegation token, and a delegate's
//! grant with its embedded delegation and the chain checks. Input starting with `SPONDON:` is
//! taken as text, anything else as the COSE bytes behind the prefix and base45. None of it may
//! panic.

use libfuzzer_sys::fuzz_target;
use spondon_core::time::NumericDate;
use spondon_core::token;

fuzz_target!(|data: &[u8]| {
    let text = if data.starts_with(b"SPONDON:") {
        match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        token::raw::to_text(data)
    };
    let now = NumericDate(1_767_225_600);
    if let Ok(d) = token::Delegation::decode_and_verify(&text, now) {
        let _ = d.allows(token::Scope::Share);
        let _ = d.covers_category(token::Category::LabResult);
    }
    if let Ok(parsed) = token::decode_any(&text) {
        let _ = parsed.delegation_text();
        let _ = parsed.verify(&token::TrustAnchors::default(), now);
    }
    if let Ok((grant, Some(d))) = token::Grant::decode_and_verify_delegated(&text, now) {
        let _ = d.check_grant(&grant);
    }
});
