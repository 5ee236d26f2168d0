#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Interoperability: the EU Digital COVID Certificate test data (`testdata/dcc`, a verbatim copy of the published vectors,
//! eu-digital-green-certificates/dgc-testdata) through the same stack Spondon tokens use —
//! our strict base45, zlib (flate2), COSE_Sign1 (coset), ES256 via our key type, PS256 via ring,
//! CWT times, and our QR image reader on the embedded PNGs.
//!
//! Checked expectations: EXPECTEDUNPREFIX, EXPECTEDB45DECODE, EXPECTEDCOMPRESSION,
//! EXPECTEDDECODE, EXPECTEDVERIFY, EXPECTEDEXPIRATIONCHECK, EXPECTEDPICTUREDECODE. Not checked
//! (HCERT business rules outside Spondon's stack): schema validation, key usage (X.509 EKU),
//! JSON equality.

use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use coset::{CborSerializable, CoseSign1, TaggedCborSerializable, iana};
use serde_json::Value;
use spondon_core::keys::{Es256PublicKey, sha256};
use spondon_core::{qr, token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Unprefix,
    Base45,
    Compression,
    Decode,
    Verify,
    Expiration,
}

const STAGES: [(Stage, &str); 6] = [
    (Stage::Unprefix, "EXPECTEDUNPREFIX"),
    (Stage::Base45, "EXPECTEDB45DECODE"),
    (Stage::Compression, "EXPECTEDCOMPRESSION"),
    (Stage::Decode, "EXPECTEDDECODE"),
    (Stage::Verify, "EXPECTEDVERIFY"),
    (Stage::Expiration, "EXPECTEDEXPIRATIONCHECK"),
];

// --- a minimal DER reader, enough to find a certificate's SubjectPublicKeyInfo -----------------

/// Splits one DER TLV off the front: (tag, content, rest).
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (
            rest[..n]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            &rest[n..],
        )
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn children(mut der: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((tag, content, rest)) = tlv(der) {
        out.push((tag, content));
        der = rest;
    }
    out
}

enum CertKey {
    Ec(Es256PublicKey),
    Rsa(Vec<u8>),
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

fn cert_key(cert: &[u8]) -> Option<CertKey> {
    let (_, certificate, _) = tlv(cert)?;
    let (_, tbs, _) = tlv(certificate)?;
    let fields = children(tbs);
    let offset = usize::from(fields.first()?.0 == 0xa0);
    let (_, spki) = *fields.get(5 + offset)?;
    let spki = children(spki);
    let alg = children(spki.first()?.1);
    let (_, bits) = *spki.get(1)?;
    let key = bits.get(1..)?; // skip the "unused bits" byte
    match alg.first()?.1 {
        OID_EC_PUBLIC_KEY if alg.get(1)?.1 == OID_P256 => {
            Es256PublicKey::from_sec1(key).ok().map(CertKey::Ec)
        }
        OID_RSA => Some(CertKey::Rsa(key.to_vec())),
        _ => None,
    }
}

// --- RFC 3339 → seconds ---------------------------------------------------------------------

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn rfc3339(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let mut secs = days_from_civil(n(0..4), n(5..7), n(8..10)) * 86_400
        + n(11..13) * 3600
        + n(14..16) * 60
        + n(17..19);
    let tz = s[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if tz != "Z" {
        let sign = if tz.starts_with('-') { -1 } else { 1 };
        let off = tz[1..3].parse::<i64>().unwrap() * 3600 + tz[4..6].parse::<i64>().unwrap() * 60;
        secs -= sign * off;
    }
    secs
}

// --- the pipeline ---------------------------------------------------------------------------

fn claim_int(claims: &[(ciborium::Value, ciborium::Value)], key: i64) -> Option<i64> {
    claims.iter().find_map(|(k, v)| match (k, v) {
        (ciborium::Value::Integer(k), ciborium::Value::Integer(v))
            if i128::from(*k) == i128::from(key) =>
        {
            i64::try_from(i128::from(*v)).ok()
        }
        _ => None,
    })
}

/// Runs the stack on one test case; returns the first stage that failed, with the reason.
fn run(case: &Value) -> Result<(), (Stage, String)> {
    let prefixed = case["PREFIX"]
        .as_str()
        .ok_or((Stage::Unprefix, "no PREFIX".into()))?;
    let body = prefixed
        .strip_prefix("HC1:")
        .ok_or((Stage::Unprefix, "no HC1: prefix".into()))?;
    let zipped = token::base45::decode(body).map_err(|e| (Stage::Base45, e.into()))?;
    let mut cose = Vec::new();
    flate2::read::ZlibDecoder::new(&zipped[..])
        .take(1 << 20)
        .read_to_end(&mut cose)
        .map_err(|e| (Stage::Compression, e.to_string()))?;
    let cose = match cose.as_slice() {
        [0xd8, 0x3d, rest @ ..] => rest.to_vec(), // CWT tag 61 around the COSE_Sign1
        _ => cose,
    };
    let sign1 = if cose.first() == Some(&0xd2) {
        CoseSign1::from_tagged_slice(&cose)
    } else {
        CoseSign1::from_slice(&cose)
    }
    .map_err(|e| (Stage::Decode, format!("{e:?}")))?;
    let payload = sign1
        .payload
        .clone()
        .ok_or((Stage::Decode, "detached payload".into()))?;
    let claims: ciborium::Value =
        ciborium::from_reader(&payload[..]).map_err(|e| (Stage::Decode, format!("claims: {e}")))?;
    let ciborium::Value::Map(claims) = claims else {
        return Err((Stage::Decode, "claims are not a map".into()));
    };
    // hcert (-260) => { 1 => eu_dgc_v1 map }
    let hcert = claims.iter().find_map(|(k, v)| match k {
        ciborium::Value::Integer(i) if i128::from(*i) == -260 => Some(v),
        _ => None,
    });
    let dgc_ok = match hcert {
        Some(ciborium::Value::Map(m)) => m.iter().any(|(k, v)| {
            matches!(k, ciborium::Value::Integer(i) if i128::from(*i) == 1)
                && matches!(v, ciborium::Value::Map(_))
        }),
        _ => false,
    };
    if !dgc_ok {
        return Err((Stage::Decode, "hcert claim -260 is not {1: map}".into()));
    }

    // Verify: kid from the protected header, else the unprotected one (HCERT §3.3.1).
    let cert_b64 = case["TESTCTX"]["CERTIFICATE"]
        .as_str()
        .ok_or((Stage::Verify, "no certificate".into()))?;
    let cert = base64::engine::general_purpose::STANDARD
        .decode(cert_b64)
        .map_err(|e| (Stage::Verify, e.to_string()))?;
    let kid = if sign1.protected.header.key_id.is_empty() {
        &sign1.unprotected.key_id
    } else {
        &sign1.protected.header.key_id
    };
    if kid[..] != sha256(&cert)[..8] {
        return Err((Stage::Verify, "kid is not the certificate's".into()));
    }
    let key = cert_key(&cert).ok_or((Stage::Verify, "unsupported certificate key".into()))?;
    // alg from the protected header, else the unprotected one (test case CO20 is valid so).
    let alg = sign1
        .protected
        .header
        .alg
        .clone()
        .or_else(|| sign1.unprotected.alg.clone());
    sign1
        .verify_signature(b"", |sig, tbs| match (&alg, &key) {
            (Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)), CertKey::Ec(k)) => {
                k.verify(tbs, sig).map_err(|e| e.to_string())
            }
            (Some(coset::Algorithm::Assigned(iana::Algorithm::PS256)), CertKey::Rsa(k)) => {
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PSS_2048_8192_SHA256,
                    k,
                )
                .verify(tbs, sig)
                .map_err(|_| "bad PS256 signature".to_owned())
            }
            _ => Err(format!(
                "algorithm {alg:?} does not match the certificate key"
            )),
        })
        .map_err(|e| (Stage::Verify, e))?;

    // Expiration: iat ≤ clock ≤ exp. HCERT treats exp as inclusive (the IE cases are valid at
    // exactly exp); Spondon tokens follow RFC 8392/7519 and are expired at exp.
    let clock = case["TESTCTX"]["VALIDATIONCLOCK"].as_str().map(rfc3339);
    if let Some(clock) = clock {
        let iat = claim_int(&claims, 6).ok_or((Stage::Expiration, "no iat".into()))?;
        let exp = claim_int(&claims, 4).ok_or((Stage::Expiration, "no exp".into()))?;
        if clock < iat {
            return Err((Stage::Expiration, "validation clock before iat".into()));
        }
        if clock > exp {
            return Err((Stage::Expiration, "expired".into()));
        }
    }
    Ok(())
}

/// One published DCC test case: every stage expectation it states (`EXPECTEDRESULTS`) and its
/// QR picture's decoding, against this crate.
fn check_case(path: &Path) {
    let mut failures = Vec::new();
    let name = path
        .strip_prefix(path.ancestors().nth(4).unwrap())
        .unwrap()
        .display()
        .to_string();
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let expected = &case["EXPECTEDRESULTS"];
    let result = run(&case);
    for (stage, key) in STAGES {
        let Some(want) = expected[key].as_bool() else {
            continue;
        };
        let ok = match (&result, want) {
            (Ok(()), true) => true,
            (Err((failed, _)), true) => *failed > stage,
            // Rejected at this stage or earlier: invalid either way (CBO2's "wrong CWT
            // structure" is trailing data after the COSE_Sign1, caught while decoding).
            (Err((failed, _)), false) => *failed <= stage,
            (Ok(()), false) => false,
        };
        if !ok {
            failures.push(format!("{name}: {key}={want}, got {result:?}"));
        }
    }
    if let (Some(want), Some(png)) = (
        expected["EXPECTEDPICTUREDECODE"].as_bool(),
        case["2DCODE"].as_str(),
    ) {
        let png = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        let read = qr::decode_image(&png);
        let matches = read.as_ref().is_ok_and(|texts| {
            texts
                .iter()
                .any(|t| Some(t.as_str()) == case["PREFIX"].as_str())
        });
        if matches != want {
            failures.push(format!(
                "{name}: EXPECTEDPICTUREDECODE={want}, got {:?}",
                read.map(|t| t.len())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each published DCC test case its own test.
mod dcc_test_data_interoperates {
    spondon_testkit::vector_tests!(dcc, super::check_case);
}
