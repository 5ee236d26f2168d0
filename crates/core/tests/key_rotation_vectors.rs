//! The key rotation vectors (`tests/vectors/key_rotation/*.json`, `docs/protocol.md` §17): each
//! is checked with `KeyRotation::decode_and_verify(text, now)` against its expected verdict and
//! error code; the valid one also round-trips its claims and signs again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spondon_core::keys::Es256KeyPair;
use spondon_core::time::NumericDate;
use spondon_core::token::{self, KeyRotation, TokenClaims};

fn vectors() -> Vec<(String, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/key_rotation");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let doc = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), doc)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_key_rotation_vector_gets_its_verdict() {
    let all = vectors();
    assert_eq!(all.len(), 15, "1 valid and 14 must-fail vectors");
    let mut valid = 0;
    for (name, doc) in all {
        let text = doc["text"].as_str().unwrap();
        let now = NumericDate(doc["now"].as_i64().unwrap());
        let expected = &doc["expected"];
        match KeyRotation::decode_and_verify(text, now) {
            Ok(r) => {
                assert!(expected["valid"].as_bool().unwrap(), "{name} must fail");
                assert_eq!(
                    serde_json::to_value(&r).unwrap(),
                    expected["claims"],
                    "{name}"
                );
                valid += 1;
            }
            Err(e) => {
                assert!(!expected["valid"].as_bool().unwrap(), "{name}: {e}");
                assert_eq!(Some(e.code()), expected["error"].as_str(), "{name}: {e}");
            }
        }
    }
    assert_eq!(valid, 1);
}

#[test]
fn a_created_statement_verifies_and_decode_any_names_it() {
    let old = Es256KeyPair::generate().unwrap();
    let new = Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let text = KeyRotation::create(&old, &new, "12345678901", "https://dmch.example", now).unwrap();
    assert!(text.len() < 600, "fits a QR code easily: {}", text.len());
    let r = KeyRotation::decode_and_verify(&text, now).unwrap();
    assert_eq!(&r.old_key, old.public_key());
    assert_eq!(&r.new_key, new.public_key());
    assert_eq!(r.peer, "https://dmch.example");
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.kind.name(), "key_rotation");
    assert_eq!(parsed.signer_kid, old.kid());
    assert!(matches!(parsed.claims, TokenClaims::KeyRotation(_)));
    assert_eq!(token::peek_kind(&text), Some(token::TokenKind::KeyRotation));
    // The old key must sign: signing with the new one is refused before anything is made.
    assert_eq!(r.sign(&new).unwrap_err().code(), "invalid");
    // Same key twice is refused when making it too.
    assert_eq!(
        KeyRotation::create(&old, &old, "12345678901", "https://dmch.example", now)
            .unwrap_err()
            .code(),
        "invalid"
    );
}
