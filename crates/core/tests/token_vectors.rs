#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs every committed Spondon token vector (`tests/vectors/tokens/*.json`, written by
//! `cargo run -p spondon-core --example gen-token-vectors`) and checks its expected verdict.

use serde_json::Value;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::time::NumericDate;
use spondon_core::token::{self, TrustAnchors, TrustList};

#[test]
fn all_token_vectors() {
    let (pass, fail) = run_vectors(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tokens"));
    println!("{pass} must-pass and {fail} must-fail vectors checked");
    assert!(pass >= 8 && fail >= 30, "{pass} / {fail}");
}

/// The delegation vectors (`docs/protocol.md` §16), written by
/// `cargo run -p spondon-core --example gen-delegation-vectors`.
#[test]
fn all_delegation_vectors() {
    let (pass, fail) = run_vectors(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/delegation"
    ));
    println!("{pass} must-pass and {fail} must-fail delegation vectors checked");
    assert!(pass >= 2 && fail >= 14, "{pass} / {fail}");
}

fn run_vectors(dir: &str) -> (usize, usize) {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    let (mut pass, mut fail) = (0, 0);
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let text = v["text"].as_str().unwrap();
        let now = NumericDate(v["now"].as_i64().unwrap());
        let anchors = &v["anchors"];
        let expected = &v["expected"];
        let root = (!anchors["root_key"].is_null()).then(|| {
            Es256PublicKey::from_jwk(
                &serde_json::from_value::<Jwk>(anchors["root_key"].clone()).unwrap(),
            )
            .unwrap()
        });
        let trust_list = anchors["trust_list"].as_str().map(|t| {
            // The anchor list is verified against the vector's root key, at its own nbf.
            let parsed = token::decode_any(t).unwrap();
            let root_only = TrustAnchors {
                root_key: root.as_ref(),
                ..Default::default()
            };
            parsed
                .verify(&root_only, parsed.not_before.unwrap())
                .unwrap();
            match parsed.claims {
                token::TokenClaims::TrustList(l) => l,
                _ => panic!("{name}: anchor is not a trust list"),
            }
        });
        let anchors = TrustAnchors {
            trust_list: trust_list.as_ref(),
            root_key: root.as_ref(),
            min_trust_list_sequence: anchors["min_trust_list_sequence"].as_u64().unwrap(),
        };
        let result = token::decode_any(text);
        match expected["stage"].as_str() {
            Some("parse") => {
                let err = result.expect_err(&name);
                assert_eq!(
                    err.code(),
                    expected["error"].as_str().unwrap(),
                    "{name}: {err}"
                );
                fail += 1;
            }
            Some("verify") => {
                let parsed = result.unwrap_or_else(|e| panic!("{name}: parse failed: {e}"));
                assert_eq!(
                    parsed.kind.name(),
                    expected["kind"].as_str().unwrap(),
                    "{name}"
                );
                let err = parsed.verify(&anchors, now).expect_err(&name);
                assert_eq!(
                    err.code(),
                    expected["error"].as_str().unwrap(),
                    "{name}: {err}"
                );
                fail += 1;
            }
            None => {
                assert_eq!(expected["valid"], Value::Bool(true), "{name}");
                let parsed = result.unwrap_or_else(|e| panic!("{name}: parse failed: {e}"));
                parsed
                    .verify(&anchors, now)
                    .unwrap_or_else(|e| panic!("{name}: verify failed: {e}"));
                assert_eq!(
                    parsed.kind.name(),
                    expected["kind"].as_str().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    serde_json::to_value(&parsed.claims).unwrap(),
                    expected["claims"],
                    "{name}"
                );
                pass += 1;
            }
            Some(other) => panic!("{name}: unknown stage {other}"),
        }
    }
    (pass, fail)
}

/// The trust list anchor used by the credential vectors verifies against the vectors' root.
#[test]
fn trust_list_anchor_verifies_against_root() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/tokens/07-trust-list.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let root = Es256PublicKey::from_jwk(
        &serde_json::from_value::<Jwk>(v["anchors"]["root_key"].clone()).unwrap(),
    )
    .unwrap();
    let list = TrustList::decode_and_verify(
        v["text"].as_str().unwrap(),
        &root,
        7,
        NumericDate(v["now"].as_i64().unwrap()),
    )
    .unwrap();
    assert_eq!(list.hospitals.len(), 2);
}

/// The proof-of-possession vectors (`tests/vectors/pop/*.json`).
#[test]
fn all_pop_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/pop");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut n = 0;
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let name = path.display().to_string();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let grant = token::Grant::decode_and_verify(
            v["grant"].as_str().unwrap(),
            NumericDate(v["now"].as_i64().unwrap()),
        )
        .or_else(|_| {
            match token::decode_any(v["grant"].as_str().unwrap())
                .unwrap()
                .claims
            {
                token::TokenClaims::Grant(g) => Ok(g),
                _ => Err(()),
            }
        })
        .unwrap();
        let nonce = spondon_core::b64::decode(v["request"]["nonce"].as_str().unwrap()).unwrap();
        let body = spondon_core::b64::decode(v["request"]["body"].as_str().unwrap()).unwrap();
        let request = token::PopRequest {
            method: v["request"]["method"].as_str().unwrap(),
            url: v["request"]["url"].as_str().unwrap(),
            nonce: &nonce,
            body: &body,
        };
        let result = token::PopProof::verify(
            v["proof"].as_str().unwrap(),
            &grant,
            &request,
            NumericDate(v["now"].as_i64().unwrap()),
            v["max_skew"].as_i64().unwrap(),
        );
        match v["expected"]["error"].as_str() {
            None => {
                result.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Some(code) => assert_eq!(result.unwrap_err().code(), code, "{name}"),
        }
        n += 1;
    }
    assert!(n >= 8, "{n} PoP vectors");
}
