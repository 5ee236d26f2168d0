//! Property tests for every SMART Health Cards / Links encode–decode round trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::json;
use spondon_core::shc::{
    CardBuilder, Directory, HealthCardFile, ParsedCard, decode_numeric_chunks, encode_numeric,
    extract_jws, qr,
};
use spondon_core::shl::{ShlFlags, ShlKey, ShlPayload, decrypt_file, encrypt_file};
use spondon_core::{Es256KeyPair, NumericDate};

const ISS: &str = "https://hospital.example.org/peer";

fn jws_char() -> impl Strategy<Value = char> {
    prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
            .chars()
            .collect::<Vec<_>>(),
    )
}

fn bundle(family: &str, given: &str, birth: &str, code: &str) -> serde_json::Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "resource:0", "resource": {
                "resourceType": "Patient", "id": "drop-me",
                "name": [{"family": family, "given": [given]}], "birthDate": birth}},
            {"fullUrl": "resource:1", "resource": {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": "x"}], "text": "y"},
                "subject": {"reference": "resource:0"},
                "valueString": "ok"}}
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn numeric_qr_round_trip(s in prop::collection::vec(jws_char(), 0..1195)) {
        let jws: String = s.into_iter().collect();
        let text = encode_numeric(&jws).unwrap();
        prop_assert!(text.starts_with("shc:/"));
        prop_assert_eq!(text.len(), 5 + 2 * jws.len());
        prop_assert_eq!(decode_numeric_chunks(&[text.as_str()]).unwrap().jws, jws);
    }

    #[test]
    fn numeric_qr_decoder_total(s in ".{0,300}") {
        let _ = decode_numeric_chunks(&[s.as_str()]);
        let _ = extract_jws(&s);
        let _ = qr::minimal_version(&s, qrcode::EcLevel::L);
    }

    #[test]
    fn numeric_qr_digits_decoder_total(d in "shc:/([0-9]{1,3}/[0-9]{1,3}/)?[0-9]{0,200}") {
        if let Ok(decoded) = decode_numeric_chunks(&[d.as_str()]) {
            // Whatever decodes re-encodes to the same digits (single QRs only).
            if !d[5..].contains('/') {
                prop_assert_eq!(encode_numeric(&decoded.jws).unwrap(), d);
            }
        }
    }

    #[test]
    fn card_issue_verify_round_trip(
        family in "[A-Za-z]{1,20}",
        given in "[A-Za-z]{1,20}",
        birth in "(19[0-9]{2}|20[0-2][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
        code in "[0-9]{1,5}-[0-9]",
        nbf in 1_600_000_000i64..1_800_000_000,
        life in 1i64..100_000_000,
        rid in proptest::option::of("[A-Za-z0-9_-]{1,24}"),
    ) {
        let key = Es256KeyPair::generate().unwrap();
        let mut b = CardBuilder::new(ISS, NumericDate(nbf), bundle(&family, &given, &birth, &code))
            .expires(NumericDate(nbf + life));
        if let Some(r) = &rid {
            b = b.rid(r.clone());
        }
        let jws = b.sign(&key).unwrap();
        let card = ParsedCard::parse(&jws).unwrap();
        prop_assert_eq!(card.iss(), ISS);
        prop_assert_eq!(card.kid(), key.kid());
        prop_assert_eq!(card.rid(), rid.as_deref());
        // Minified: no id, no display, no CodeableConcept.text.
        prop_assert!(card.fhir_bundle()["entry"][0]["resource"].get("id").is_none());
        prop_assert!(card.fhir_bundle()["entry"][1]["resource"]["code"].get("text").is_none());
        let mut dir = Directory::new();
        dir.add_key(ISS, key.public_key().to_jwk()).unwrap();
        let v = card.verify(&dir, NumericDate(nbf)).unwrap();
        prop_assert_eq!(&v.fhir_bundle()["entry"][0]["resource"]["name"][0]["family"], &json!(family));
        prop_assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        // Expiry is enforced at exp exactly.
        prop_assert_eq!(card.verify(&dir, NumericDate(nbf + life)).unwrap_err().code(), "expired");
        prop_assert_eq!(card.verify(&dir, NumericDate(nbf - 1)).unwrap_err().code(), "not_yet_valid");
        // Through the file and the QR forms.
        let file = HealthCardFile::new(vec![jws.clone()]).to_json();
        prop_assert_eq!(extract_jws(&file).unwrap(), vec![jws.clone()]);
        if jws.len() <= 1195 {
            let q = encode_numeric(&jws).unwrap();
            prop_assert_eq!(extract_jws(&q).unwrap(), vec![jws.clone()]);
            let code = qr::qr_code(&jws, qrcode::EcLevel::L).unwrap();
            prop_assert!(matches!(code.version(), qrcode::Version::Normal(v) if v <= 22));
        }
        // Any change to the signed bytes breaks the card.
        let mut bytes = jws.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if let Ok(c) = ParsedCard::parse(&tampered) {
            prop_assert!(c.verify(&dir, NumericDate(nbf)).is_err());
        }
    }

    #[test]
    fn jws_parser_total(s in "[A-Za-z0-9_.-]{0,400}") {
        let _ = ParsedCard::parse(&s);
    }

    #[test]
    fn shlink_round_trip(
        path in "[A-Za-z0-9_-]{43,60}",
        key in any::<[u8; 32]>(),
        exp in proptest::option::of(0i64..4_000_000_000),
        l in any::<bool>(), p in any::<bool>(),
        label in proptest::option::of("[^\u{0}]{0,80}"),
        v in any::<bool>(),
    ) {
        let payload = ShlPayload {
            url: format!("https://shl.example.org/m/{path}"),
            key: ShlKey::from_bytes(key),
            exp: exp.map(serde_json::Number::from),
            flag: ShlFlags { long_term: l, passcode: p, direct: false },
            label,
            v: v.then_some(1),
        };
        let uri = payload.to_uri();
        prop_assert_eq!(&ShlPayload::parse(&uri).unwrap(), &payload);
        let viewer = payload.to_viewer_uri("https://viewer.example.org/");
        prop_assert_eq!(&ShlPayload::parse(&viewer).unwrap(), &payload);
    }

    #[test]
    fn shlink_parser_total(s in ".{0,300}") {
        let _ = ShlPayload::parse(&s);
        let _ = ShlPayload::parse(&format!("shlink:/{s}"));
    }

    #[test]
    fn jwe_round_trip(
        plaintext in prop::collection::vec(any::<u8>(), 0..4096),
        key in any::<[u8; 32]>(),
        zip in any::<bool>(),
    ) {
        let key = ShlKey::from_bytes(key);
        let a = encrypt_file(&plaintext, &key, "application/smart-health-card", zip).unwrap();
        let b = encrypt_file(&plaintext, &key, "application/smart-health-card", zip).unwrap();
        // A fresh IV each time.
        prop_assert_ne!(a.split('.').nth(2), b.split('.').nth(2));
        let out = decrypt_file(&a, &key).unwrap();
        prop_assert_eq!(out.plaintext, plaintext);
        prop_assert_eq!(out.content_type.as_deref(), Some("application/smart-health-card"));
        // Another key does not open it.
        let other = ShlKey::from_bytes([0x5a; 32]);
        if other != key {
            prop_assert_eq!(decrypt_file(&a, &other).unwrap_err().code(), "jwe_decrypt_failed");
        }
    }

    #[test]
    fn jwe_parser_total(s in "[A-Za-z0-9_.-]{0,400}") {
        let _ = decrypt_file(&s, &ShlKey::from_bytes([1; 32]));
    }
}

#[test]
fn jwe_tolerates_missing_cty_and_kid() {
    // Build a JWE whose header is {"alg":"dir","enc":"A256GCM","kid":"k"} (no cty) with ring.
    use ring::aead;
    use spondon_core::b64;
    let key = ShlKey::from_bytes([9; 32]);
    let header = b64::encode(br#"{"alg":"dir","enc":"A256GCM","kid":"k"}"#);
    let iv = [3u8; 12];
    let mut data = b"hello".to_vec();
    let k =
        aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key.as_bytes()).unwrap());
    let tag = k
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(header.as_bytes()),
            &mut data,
        )
        .unwrap();
    let jwe = format!(
        "{header}..{}.{}.{}",
        b64::encode(iv),
        b64::encode(&data),
        b64::encode(tag.as_ref())
    );
    let out = decrypt_file(&jwe, &key).unwrap();
    assert_eq!(out.plaintext, b"hello");
    assert_eq!(out.content_type, None);
    // Unsupported headers are refused with their own codes.
    for (h, code) in [
        (r#"{"alg":"A256KW","enc":"A256GCM"}"#, "jwe_unsupported_alg"),
        (r#"{"alg":"dir","enc":"A128GCM"}"#, "jwe_unsupported_enc"),
        (
            r#"{"alg":"dir","enc":"A256GCM","zip":"GZ"}"#,
            "jwe_unsupported_zip",
        ),
        (
            r#"{"alg":"dir","enc":"A256GCM","crit":["x"]}"#,
            "jwe_critical_header",
        ),
    ] {
        let jwe = format!(
            "{}..{}.{}.{}",
            b64::encode(h.as_bytes()),
            b64::encode(iv),
            b64::encode(&data),
            b64::encode(tag.as_ref())
        );
        assert_eq!(decrypt_file(&jwe, &key).unwrap_err().code(), code, "{h}");
    }
}

#[test]
fn shlink_rules() {
    let ok = |j: serde_json::Value| ShlPayload::from_value(&j);
    let key = "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q";
    let url = "https://ehr.example.org/qr/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM/m";
    // Unknown fields are ignored.
    ok(json!({"url": url, "key": key, "future": {"x": 1}})).unwrap();
    for (j, code) in [
        (json!({"key": key}), "shl_missing_url"),
        (json!({"url": url, "key": "short"}), "shl_bad_key"),
        (
            json!({"url": url, "key": key, "flag": "PU"}),
            "shl_bad_flag",
        ),
        (json!({"url": url, "key": key, "flag": "X"}), "shl_bad_flag"),
        (
            json!({"url": url, "key": key, "label": "x".repeat(81)}),
            "shl_bad_label",
        ),
        (
            json!({"url": url, "key": key, "exp": "tomorrow"}),
            "shl_bad_exp",
        ),
        (
            json!({"url": url, "key": key, "v": 2}),
            "shl_unsupported_version",
        ),
        (json!({"url": "ftp://x/y", "key": key}), "shl_bad_url"),
    ] {
        assert_eq!(ok(j.clone()).unwrap_err().code(), code, "{j}");
    }
    assert_eq!(
        ShlPayload::parse("https://viewer.example#nothing")
            .unwrap_err()
            .code(),
        "shl_bad_prefix"
    );
    let p = ok(json!({"url": url, "key": key, "exp": 1000})).unwrap();
    assert!(p.is_expired(NumericDate(1000)));
    assert!(!p.is_expired(NumericDate(999)));
}

#[test]
fn builder_refuses_what_verifiers_reject() {
    let key = Es256KeyPair::generate().unwrap();
    let b = bundle("A", "B", "2000-01-01", "1-1");
    let code = |r: Result<String, spondon_core::shc::ShcError>| r.unwrap_err().code();
    assert_eq!(
        code(CardBuilder::new("http://x.example", NumericDate(1), b.clone()).sign(&key)),
        "iss_not_https"
    );
    assert_eq!(
        code(CardBuilder::new("https://x.example/", NumericDate(1), b.clone()).sign(&key)),
        "iss_trailing_slash"
    );
    assert_eq!(
        code(
            CardBuilder::new(ISS, NumericDate(10), b.clone())
                .expires(NumericDate(10))
                .sign(&key)
        ),
        "exp_before_nbf"
    );
    assert_eq!(
        code(
            CardBuilder::new(ISS, NumericDate(1), b.clone())
                .rid("a.b.c")
                .sign(&key)
        ),
        "bad_rid"
    );
    let mut bad = b.clone();
    bad["entry"][1]["resource"]["subject"]["reference"] = json!("Patient/1");
    assert_eq!(
        code(CardBuilder::new(ISS, NumericDate(1), bad).sign(&key)),
        "fhir_bad_reference"
    );
    // The header is exactly zip, alg, kid.
    let jws = CardBuilder::new(ISS, NumericDate(1), b).sign(&key).unwrap();
    let header = spondon_core::b64::decode(jws.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        format!(r#"{{"zip":"DEF","alg":"ES256","kid":"{}"}}"#, key.kid())
    );
}
