//! Each structural failure of a compact JWS gets its own error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;

use serde_json::json;
use spondon_core::shc::{CardBuilder, Directory, ParsedCard, VerifyOptions, check_jws};
use spondon_core::{Es256KeyPair, NumericDate, b64};

const ISS: &str = "https://hospital.example.org";

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A JWS with the given header and (uncompressed) payload bytes, signed by `key`.
fn jws(key: &Es256KeyPair, header: &str, payload: &[u8], compress: bool) -> String {
    let body = if compress {
        deflate(payload)
    } else {
        payload.to_vec()
    };
    let input = format!("{}.{}", b64::encode(header.as_bytes()), b64::encode(body));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(sig))
}

fn payload() -> serde_json::Value {
    json!({"iss": ISS, "nbf": 1000.5, "vc": {"type": ["https://smarthealth.cards#health-card"],
        "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": {"resourceType": "Bundle", "type": "collection",
        "entry": [{"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "birthDate": "2000-01-01"}}]}}}})
}

fn code(r: Result<ParsedCard, spondon_core::shc::ShcError>) -> &'static str {
    r.unwrap_err().code()
}

#[test]
fn header_and_encoding_failures() {
    let key = Es256KeyPair::generate().unwrap();
    let kid = key.kid().to_owned();
    let good_header = format!(r#"{{"zip":"DEF","alg":"ES256","kid":"{kid}"}}"#);
    let p = serde_json::to_vec(&payload()).unwrap();
    let ok = jws(&key, &good_header, &p, true);
    let mut dir = Directory::new();
    dir.add_key(ISS, key.public_key().to_jwk()).unwrap();
    let card = ParsedCard::parse(&ok).unwrap();
    assert_eq!(card.nbf().to_string(), "1000.5");
    card.verify(&dir, NumericDate(1001)).unwrap();
    // nbf is fractional: 1000 < 1000.5 is not yet valid.
    assert_eq!(
        card.verify(&dir, NumericDate(1000)).unwrap_err().code(),
        "not_yet_valid"
    );

    let cases = [
        (
            format!(r#"{{"zip":"DEF","alg":"ES384","kid":"{kid}"}}"#),
            "unsupported_alg",
        ),
        (
            format!(r#"{{"zip":"GZIP","alg":"ES256","kid":"{kid}"}}"#),
            "unsupported_zip",
        ),
        (
            format!(r#"{{"zip":"DEF","alg":"ES256","kid":"{kid}","crit":["x"]}}"#),
            "critical_header",
        ),
        (
            r#"{"zip":"DEF","alg":"ES256","kid":""}"#.to_owned(),
            "missing_kid",
        ),
        ("[1,2]".to_owned(), "header_not_json"),
    ];
    for (h, expected) in cases {
        assert_eq!(
            code(ParsedCard::parse(&jws(&key, &h, &p, true))),
            expected,
            "{h}"
        );
    }
    // Structure.
    assert_eq!(code(ParsedCard::parse("a.b")), "malformed_jws");
    assert_eq!(code(ParsedCard::parse("a.b.c.d")), "malformed_jws");
    assert_eq!(code(ParsedCard::parse("a..c")), "malformed_jws");
    assert_eq!(code(ParsedCard::parse("a+.b.c")), "malformed_jws");
    assert_eq!(
        code(ParsedCard::parse(&format!("{ok}\n"))),
        "trailing_characters"
    );
    assert_eq!(
        code(ParsedCard::parse(&"a".repeat(300 * 1024))),
        "input_too_large"
    );
    // A 63-byte signature.
    let (input, _) = ok.rsplit_once('.').unwrap();
    assert_eq!(
        code(ParsedCard::parse(&format!(
            "{input}.{}",
            b64::encode([1u8; 63])
        ))),
        "signature_length"
    );
    // Not raw DEFLATE (zlib-wrapped).
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&p).unwrap();
    let zlib = z.finish().unwrap();
    let zjws = format!(
        "{}.{}.{}",
        b64::encode(good_header.as_bytes()),
        b64::encode(zlib),
        b64::encode([0u8; 64])
    );
    assert_eq!(code(ParsedCard::parse(&zjws)), "bad_deflate");
    // A decompression bomb stops at the cap.
    let bomb = vec![b' '; 3 * 1024 * 1024];
    assert_eq!(
        code(ParsedCard::parse(&jws(&key, &good_header, &bomb, true))),
        "payload_too_large"
    );
    // Payload shape.
    let mut no_iss = payload();
    no_iss.as_object_mut().unwrap().remove("iss");
    let mut string_nbf = payload();
    string_nbf["nbf"] = json!("1000");
    let mut no_vc = payload();
    no_vc.as_object_mut().unwrap().remove("vc");
    let mut no_bundle = payload();
    no_bundle["vc"]["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("fhirBundle");
    let mut no_version = payload();
    no_version["vc"]["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("fhirVersion");
    let mut bad_rid = payload();
    bad_rid["vc"]["rid"] = json!("not base64url!");
    for (p, expected) in [
        (no_iss, "missing_iss"),
        (string_nbf, "bad_timestamp"),
        (no_vc, "missing_vc"),
        (no_bundle, "missing_fhir_bundle"),
        (no_version, "missing_fhir_version"),
        (bad_rid, "bad_rid"),
    ] {
        let bytes = serde_json::to_vec(&p).unwrap();
        assert_eq!(
            code(ParsedCard::parse(&jws(&key, &good_header, &bytes, true))),
            expected
        );
    }
    assert_eq!(
        code(ParsedCard::parse(&jws(
            &key,
            &good_header,
            b"\xff\xfe",
            true
        ))),
        "payload_not_utf8"
    );
    assert_eq!(
        code(ParsedCard::parse(&jws(&key, &good_header, b"[]", true))),
        "payload_not_json"
    );
}

#[test]
fn key_policy_at_verification() {
    let key = Es256KeyPair::generate().unwrap();
    let bundle = payload()["vc"]["credentialSubject"]["fhirBundle"].clone();
    let jws = CardBuilder::new(ISS, NumericDate(10), bundle)
        .sign(&key)
        .unwrap();
    let card = ParsedCard::parse(&jws).unwrap();
    let at = VerifyOptions::at(NumericDate(20));
    let with = |f: &dyn Fn(&mut spondon_core::Jwk)| {
        let mut jwk = key.public_key().to_jwk();
        f(&mut jwk);
        let mut d = Directory::new();
        d.add_key(ISS, jwk).unwrap();
        card.verify_with(&d, &at).map(|_| ()).map_err(|e| e.code())
    };
    assert_eq!(with(&|_| {}), Ok(()));
    assert_eq!(with(&|k| k.use_ = Some("enc".into())), Err("key_wrong_use"));
    assert_eq!(with(&|k| k.use_ = None), Err("key_wrong_use"));
    assert_eq!(
        with(&|k| k.alg = Some("ES384".into())),
        Err("key_wrong_alg")
    );
    assert_eq!(
        with(&|k| k.crv = Some("P-384".into())),
        Err("key_wrong_crv")
    );
    assert_eq!(with(&|k| k.kty = "OKP".into()), Err("key_wrong_kty"));
    assert_eq!(with(&|k| k.d = Some("AAAA".into())), Err("key_private"));
    assert_eq!(with(&|k| k.x = Some("AAAA".into())), Err("key_invalid"));
    // A key whose kid is right but whose point is another key's: the thumbprint differs.
    let other = Es256KeyPair::generate().unwrap();
    assert_eq!(
        with(&|k| {
            let o = other.public_key().to_jwk();
            k.x = o.x.clone();
            k.y = o.y.clone();
        }),
        Err("key_wrong_kid")
    );
    // A different key listed under the card's kid: the signature fails.
    let mut d = Directory::new();
    let mut jwk = other.public_key().to_jwk();
    jwk.kid = Some(key.kid().to_owned());
    d.add_key(ISS, jwk).unwrap();
    assert_eq!(
        card.verify_with(&d, &at).unwrap_err().code(),
        "key_wrong_kid"
    );
    // The verdict carries what was parsed even when invalid.
    let v = check_jws(&jws, &Directory::new(), &at);
    assert!(!v.valid);
    assert_eq!(v.errors[0].code, "issuer_not_trusted");
    assert_eq!(v.issuer.as_deref(), Some(ISS));
}

#[test]
fn debug_output_never_shows_health_data_or_secrets() {
    let key = Es256KeyPair::generate().unwrap();
    let mut bundle = payload()["vc"]["credentialSubject"]["fhirBundle"].clone();
    bundle["entry"][0]["resource"]["name"] = json!([{"family": "Secretname"}]);
    let builder = CardBuilder::new(ISS, NumericDate(10), bundle).rid("ridvalue");
    let jws = builder.sign(&key).unwrap();
    let card = ParsedCard::parse(&jws).unwrap();
    let mut dir = Directory::new();
    dir.add_key(ISS, key.public_key().to_jwk()).unwrap();
    let verified = card.verify(&dir, NumericDate(20)).unwrap();
    let verdict = check_jws(&jws, &dir, &VerifyOptions::at(NumericDate(20)));
    let file = spondon_core::shc::HealthCardFile::new(vec![jws.clone()]);
    let all = format!("{builder:?} {card:?} {verified:?} {verdict:?} {file:?}");
    assert!(!all.contains("Secretname"), "{all}");
    assert!(!all.contains("ridvalue"), "{all}");
    assert!(!all.contains(&jws[..40]), "{all}");

    use spondon_core::shl::{ShlPayload, decrypt_file, encrypt_file};
    let link =
        ShlPayload::new("https://shl.example.org/m/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd")
            .unwrap();
    let shown = format!("{link:?}");
    assert!(!shown.contains("AbCdEfGh"), "{shown}");
    assert!(!shown.contains(link.key.to_b64().as_str()), "{shown}");
    let jwe = encrypt_file(b"Secretname", &link.key, "application/fhir+json", false).unwrap();
    let out = decrypt_file(&jwe, &link.key).unwrap();
    assert!(!format!("{out:?}").contains("Secretname"));
}
