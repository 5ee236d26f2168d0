//! Fuzzes the SMART Health Card JWS parser and verifier (spec example issuer in the directory).
#![no_main]
use libfuzzer_sys::fuzz_target;
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard};

const JWKS: &str = r#"{"keys":[{"kty":"EC","kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","use":"sig","alg":"ES256","crv":"P-256","x":"11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw","y":"eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8","crlVersion":1}]}"#;
const CRL: &str = r#"{"kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","method":"rid","ctr":1,"rids":["vwAjHdarZuc.1687450765","FKDIxsTCGlU"]}"#;
const ISS: &str = "https://spec.smarthealth.cards/examples/issuer";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(card) = ParsedCard::parse(text) {
        let mut dir = Directory::new();
        let _ = dir.add_jwks_json(ISS, JWKS);
        let _ = dir.add_crl_json(ISS, CRL);
        let _ = card.verify(&dir, NumericDate(1_700_000_000));
        let _ = card.payload().check_content();
    }
});
