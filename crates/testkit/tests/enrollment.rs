//! The enrollment helpers read the peer's enrollment answer as the peer writes it. The clinic
//! node's helper once read `credential` from `/patient/enroll` while the peer answers
//! `enrollment_credential`: it always got nothing, and no test noticed (issue 13).
#![cfg(feature = "peer")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value};
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{TokenClaims, decode_any};
use spondon_testkit::spawned::{enrollment_credential, start_peer};

/// An answer with every property the peer's OpenAPI document requires of `schema`, each a
/// distinct string.
fn documented_answer(schema: &str) -> Value {
    let doc = spondon_testkit::inproc::conformance().document();
    let s = &doc["components"]["schemas"][schema];
    let mut o = Map::new();
    for p in s["required"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        o.insert(p.to_owned(), Value::String(format!("value of {p}")));
    }
    Value::Object(o)
}

#[test]
fn the_helper_reads_the_credential_the_peer_documents() {
    for schema in ["Enrolled", "KeyRotated"] {
        let answer = documented_answer(schema);
        assert_eq!(
            enrollment_credential(&answer).as_deref(),
            Some("value of enrollment_credential"),
            "{schema}: {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_peer_enrolls_a_wallet_key_and_the_helper_returns_its_credential() {
    let peer = start_peer().await;
    let (hid, _, code) = peer.register("1988000222").await;
    let key = Es256KeyPair::generate().unwrap();
    // `enroll` checks the credential parses, binds this key and Health ID, and is signed by the
    // peer's record key; it panics otherwise.
    let credential = peer.enroll(&hid, &code, &key).await;
    let TokenClaims::Enrollment(c) = decode_any(&credential).unwrap().claims else {
        panic!("not an enrollment credential");
    };
    assert_eq!(c.health_id, hid);
    // The clinic tests' patient (its prescription names the doctor A-40112): enrolled too, its
    // credential returned, not dropped.
    peer.register_doctor("A-40112", "Dr. Shirin Sultana").await;
    let (hid2, _, credential2) = peer.patient_with_records().await;
    assert_ne!(hid2, hid);
    assert!(!credential2.is_empty());
}
