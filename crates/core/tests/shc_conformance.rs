//! Conformance of the SMART Health Cards and Links implementation against the published vectors
//! in `testdata/{shc,shl}` (verbatim copies of the published vectors) (spec examples and the SMART validator's test data).
//! Every negative vector is rejected for its own reason: see the table in `dev_tools_vectors`
//! and `docs/shc.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use spondon_core::NumericDate;
use spondon_core::keys::{Jwk, Jwks};
use spondon_core::shc::jws::{Payload, validate_issuer_key};
use spondon_core::shc::{
    Directory, HealthCardFile, ParsedCard, ShcError, VerifyOptions, decode_numeric_chunks,
    extract_jws, fhir, qr, x5c,
};
use spondon_core::shl::{ShlKey, ShlPayload, decrypt_file};

const SPEC_ISS: &str = "https://spec.smarthealth.cards/examples/issuer";
/// 2023-11-14: after every example's `nbf`, before example-03's `exp` (2024-06-21).
const NOW: NumericDate = NumericDate(1_700_000_000);
/// 2025-01-01: after example-03's `exp`.
const LATER: NumericDate = NumericDate(1_735_689_600);
/// 2022-05-31: the validator's fixed X.509 validation time (the example leaf expires 2022-06-01).
const PKI_TIME: NumericDate = NumericDate(1_653_955_200);

fn testdata() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    assert!(
        p.join("shc").is_dir(),
        "conformance vectors missing: expected {} (testdata/ at the repository root)",
        p.display()
    );
    p
}

fn read(rel: &str) -> String {
    let path = testdata().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dt(rel: &str) -> String {
    read(&format!("shc/dev-tools-testdata/{rel}"))
}

/// The spec example issuer with its JWKS and CRL.
fn spec_directory() -> Directory {
    let mut d = Directory::new();
    d.add_issuer(
        SPEC_ISS,
        Some("SMART Health Card specification example issuer"),
    )
    .unwrap();
    d.add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    d.add_crl_json(
        SPEC_ISS,
        &read("shc/issuer/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"),
    )
    .unwrap();
    d
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        now: NOW,
        pki_time: Some(PKI_TIME),
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, ShcError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().to_owned(),
    }
}

fn verify_jws(
    jws: &str,
    dir: &Directory,
    o: &VerifyOptions,
) -> Result<Vec<&'static str>, ShcError> {
    let card = ParsedCard::parse(jws)?;
    let v = card.verify_with(dir, o)?;
    Ok(v.warnings.iter().map(|w| w.code).collect())
}

// ---------------------------------------------------------------- spec examples

#[test]
fn example_00_valid_in_every_form() {
    let dir = spec_directory();
    let jws = read("shc/example-00-d-jws.txt");
    let card = ParsedCard::parse(&jws).unwrap();
    assert_eq!(card.iss(), SPEC_ISS);
    assert_eq!(card.nbf().to_string(), "1687450764.656");
    assert_eq!(card.rid(), Some("MKyCxh7p6uQ"));
    let v = card.verify_with(&dir, &opts()).unwrap();
    assert_eq!(
        v.issuer_name.as_deref(),
        Some("SMART Health Card specification example issuer")
    );
    assert_eq!(v.fhir_bundle()["resourceType"], "Bundle");
    // The verified bundle is the published one.
    let expected: serde_json::Value =
        serde_json::from_str(&read("shc/example-00-a-fhirBundle.json")).unwrap();
    assert_eq!(v.fhir_bundle(), &expected);
    // The payload decodes to the published minified payload.
    let minified: serde_json::Value =
        serde_json::from_str(&read("shc/example-00-c-jws-payload-minified.json")).unwrap();
    assert_eq!(
        card.fhir_bundle(),
        &minified["vc"]["credentialSubject"]["fhirBundle"]
    );
    // File and numeric QR forms carry the same JWS.
    let file = HealthCardFile::from_json(&read("shc/example-00-e-file.smart-health-card")).unwrap();
    assert_eq!(file.verifiable_credential, vec![jws.clone()]);
    let qr_text = read("shc/example-00-f-qr-code-numeric-value-0.txt");
    assert_eq!(decode_numeric_chunks(&[qr_text.as_str()]).unwrap().jws, jws);
    assert_eq!(qr::encode_numeric(&jws).unwrap(), qr_text);
    assert_eq!(extract_jws(&qr_text).unwrap(), vec![jws.clone()]);
    assert_eq!(
        extract_jws(&read("shc/example-00-e-file.smart-health-card")).unwrap(),
        vec![jws]
    );
}

#[test]
fn example_01_x5c_chain_at_fixed_time() {
    let dir = spec_directory();
    let jws = read("shc/example-01-d-jws.txt");
    let card = ParsedCard::parse(&jws).unwrap();
    assert_eq!(card.kid(), "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw");
    card.verify_with(&dir, &opts()).unwrap();
    // Judged at the card's own time, the leaf certificate (expired 2022-06-01) fails.
    assert_eq!(code(card.verify(&dir, NOW)), "x5c_expired");
    // Before the certificates existed.
    let early = VerifyOptions {
        now: NOW,
        pki_time: Some(NumericDate(1_600_000_000)),
    };
    assert_eq!(code(card.verify_with(&dir, &early)), "x5c_not_yet_valid");
    // A configured trust anchor that is not this chain's root.
    let mut anchored = spec_directory();
    anchored.add_trust_anchor_der(vec![0x30, 0x00]);
    assert_eq!(
        code(card.verify_with(&anchored, &opts())),
        "x5c_untrusted_root"
    );
    // The chain's own root as configured anchor.
    let jwks: Jwks = serde_json::from_str(&read("shc/issuer/.well-known/jwks.json")).unwrap();
    let root_b64 = jwks.keys[1].x5c.as_ref().unwrap()[2].clone();
    use base64::Engine as _;
    let root = base64::engine::general_purpose::STANDARD
        .decode(root_b64)
        .unwrap();
    let mut anchored = spec_directory();
    anchored.add_trust_anchor_der(root);
    card.verify_with(&anchored, &opts()).unwrap();
    // And all other forms.
    let file = HealthCardFile::from_json(&read("shc/example-01-e-file.smart-health-card")).unwrap();
    assert_eq!(file.verifiable_credential, vec![jws.clone()]);
    let qr_text = read("shc/example-01-f-qr-code-numeric-value-0.txt");
    assert_eq!(decode_numeric_chunks(&[qr_text]).unwrap().jws, jws);
}

#[test]
fn example_02_legacy_chunks_any_order() {
    let dir = spec_directory();
    let jws = read("shc/example-02-d-jws.txt");
    let c: Vec<String> = (0..3)
        .map(|i| read(&format!("shc/example-02-f-qr-code-numeric-value-{i}.txt")))
        .collect();
    for order in [[0, 1, 2], [1, 0, 2], [2, 1, 0]] {
        let texts: Vec<&str> = order.iter().map(|i| c[*i].as_str()).collect();
        let d = decode_numeric_chunks(&texts).unwrap();
        assert_eq!(d.jws, jws);
        assert!(
            d.warnings
                .iter()
                .any(|w| w.code == "qr_chunking_deprecated")
        );
        assert_eq!(extract_jws(&texts.join("\n")).unwrap(), vec![jws.clone()]);
    }
    let warnings = verify_jws(&jws, &dir, &opts()).unwrap();
    assert!(warnings.contains(&"jws_too_long"), "{warnings:?}");
    // Missing and duplicated chunks.
    assert_eq!(
        code(decode_numeric_chunks(&[&c[0], &c[2]])),
        "qr_missing_chunk"
    );
    assert_eq!(
        code(decode_numeric_chunks(&[&c[0], &c[2], &c[0]])),
        "qr_duplicate_chunk"
    );
    // Encoding never produces chunks: a JWS this long is refused.
    assert_eq!(code(qr::encode_numeric(&jws)), "input_too_large");
    let file = HealthCardFile::from_json(&read("shc/example-02-e-file.smart-health-card")).unwrap();
    assert_eq!(file.verifiable_credential, vec![jws]);
}

#[test]
fn example_03_expired_and_revoked_separately() {
    let dir = spec_directory();
    let jws = read("shc/example-03-d-jws.txt");
    let card = ParsedCard::parse(&jws).unwrap();
    assert_eq!(card.rid(), Some("vwAjHdarZuc"));
    // Before exp: revoked by the CRL entry "vwAjHdarZuc.1687450765" (nbf 1687450764.657 < ts).
    assert_eq!(code(card.verify(&dir, NOW)), "revoked");
    // After exp: expired (checked before revocation).
    assert_eq!(code(card.verify(&dir, LATER)), "expired");
    // Expiry alone: with a CRL that does not list it, the card is valid before exp...
    let mut clean = Directory::new();
    clean
        .add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    clean
        .add_crl_json(
            SPEC_ISS,
            r#"{"kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","method":"rid","ctr":1,"rids":[]}"#,
        )
        .unwrap();
    card.verify(&clean, NOW).unwrap();
    // ...and expired after it.
    assert_eq!(code(card.verify(&clean, LATER)), "expired");
    // Revocation alone: a timestamped entry only revokes cards issued before the timestamp.
    let mut later_ts = clean.clone();
    later_ts
        .add_crl_json(
            SPEC_ISS,
            r#"{"kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","method":"rid","ctr":2,"rids":["vwAjHdarZuc.1600000000"]}"#,
        )
        .unwrap();
    // The key says crlVersion 1, this list has ctr 2.
    assert_eq!(code(card.verify(&later_ts, NOW)), "crl_version_mismatch");
    // Without the CRL although the key declares crlVersion: refused, not silently accepted.
    let mut no_crl = Directory::new();
    no_crl
        .add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    assert_eq!(code(card.verify(&no_crl, NOW)), "crl_unavailable");
    // Example 00 (rid MKyCxh7p6uQ) is not in the CRL.
    verify_jws(&read("shc/example-00-d-jws.txt"), &dir, &opts()).unwrap();
}

#[test]
fn directory_changes_after_use_are_seen() {
    // The issuer's keys and lists are judged once and kept; every change to the directory must
    // reach the next card.
    let card = ParsedCard::parse(&read("shc/example-03-d-jws.txt")).unwrap();
    let mut d = Directory::new();
    assert_eq!(code(card.verify(&d, NOW)), "issuer_not_trusted");
    d.add_issuer(SPEC_ISS, None).unwrap();
    assert_eq!(code(card.verify(&d, NOW)), "unknown_kid");
    d.add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    // The key declares crlVersion 1 and no list is loaded yet.
    assert_eq!(code(card.verify(&d, NOW)), "crl_unavailable");
    let kid = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s";
    d.add_crl_json(
        SPEC_ISS,
        &format!(r#"{{"kid":"{kid}","method":"rid","ctr":1,"rids":[]}}"#),
    )
    .unwrap();
    card.verify(&d, NOW).unwrap();
    // A newer list (same ctr replaces) that revokes it.
    d.add_crl_json(
        SPEC_ISS,
        &format!(r#"{{"kid":"{kid}","method":"rid","ctr":1,"rids":["vwAjHdarZuc"]}}"#),
    )
    .unwrap();
    assert_eq!(code(card.verify(&d, NOW)), "revoked");
    // The key replaced by one whose kid is not its thumbprint (another key's x).
    let mut jwks: Jwks = serde_json::from_str(&read("shc/issuer/.well-known/jwks.json")).unwrap();
    let other_x = jwks.keys[1].x.clone();
    let mut bad: Jwk = jwks.keys.swap_remove(0);
    bad.x = other_x;
    d.add_key(SPEC_ISS, bad).unwrap();
    assert_eq!(code(card.verify(&d, NOW)), "key_wrong_kid");
}

#[test]
fn revocation_timestamp_form() {
    // A CRL with "rid.ts": revoked iff nbf < ts.
    let jws = read("shc/example-03-d-jws.txt"); // nbf 1687450764.657
    let card = ParsedCard::parse(&jws).unwrap();
    for (ts, revoked) in [
        (1_687_450_765_i64, true),
        (1_687_450_764, false),
        (1_600_000_000, false),
    ] {
        let mut d = Directory::new();
        d.add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
            .unwrap();
        d.add_crl_json(
            SPEC_ISS,
            &format!(
                r#"{{"kid":"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s","method":"rid","ctr":1,"rids":["vwAjHdarZuc.{ts}"]}}"#
            ),
        )
        .unwrap();
        let r = card.verify(&d, NOW);
        assert_eq!(r.is_err(), revoked, "ts {ts}: {r:?}");
    }
}

#[test]
fn kid_only_in_own_issuer_jwks() {
    // The spec key registered under another issuer does not verify cards of the spec issuer.
    let mut d = Directory::new();
    d.add_jwks_json(
        "https://other.example",
        &read("shc/issuer/.well-known/jwks.json"),
    )
    .unwrap();
    d.add_issuer(SPEC_ISS, None).unwrap();
    let card = ParsedCard::parse(&read("shc/example-00-d-jws.txt")).unwrap();
    assert_eq!(code(card.verify(&d, NOW)), "issuer_kid_mismatch");
    assert_eq!(
        code(card.verify(&Directory::new(), NOW)),
        "issuer_not_trusted"
    );
}

#[test]
fn vci_directory_formats() {
    let jwks: serde_json::Value =
        serde_json::from_str(&read("shc/issuer/.well-known/jwks.json")).unwrap();
    let crl: serde_json::Value = serde_json::from_str(&read(
        "shc/issuer/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json",
    ))
    .unwrap();
    let doc = serde_json::json!({"issuerInfo": [{
        "issuer": {"iss": SPEC_ISS, "name": "Spec"},
        "keys": jwks["keys"], "crls": [crl]
    }]});
    let dir = Directory::from_json(&doc.to_string()).unwrap();
    let card = ParsedCard::parse(&read("shc/example-03-d-jws.txt")).unwrap();
    assert_eq!(code(card.verify(&dir, NOW)), "revoked");
    verify_jws(&read("shc/example-00-d-jws.txt"), &dir, &opts()).unwrap();
    // Round trip through the VCI format.
    let again = Directory::from_json(&dir.to_json().unwrap()).unwrap();
    verify_jws(&read("shc/example-00-d-jws.txt"), &again, &opts()).unwrap();
    // The validator's participant list: trusted issuers without keys.
    let mut list = Directory::from_json(&dt("test-issuers.json")).unwrap();
    assert!(list.issuer(SPEC_ISS).is_some());
    let c00 = ParsedCard::parse(&read("shc/example-00-d-jws.txt")).unwrap();
    assert_eq!(code(c00.verify(&list, NOW)), "unknown_kid");
    list.add_jwks_json(SPEC_ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    list.add_crl_json(
        SPEC_ISS,
        &read("shc/issuer/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"),
    )
    .unwrap();
    c00.verify(&list, NOW).unwrap();
    assert_eq!(code(Directory::from_json("{}")), "bad_directory");
}

// ---------------------------------------------------------------- dev-tools vectors

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A compact JWS (file content as is).
    Jws,
    /// A `.smart-health-card` file: every card must verify.
    File,
    /// A FHIR `$health-cards-issue` response (Parameters), read via `extract_jws`.
    FhirApi,
    /// Any user text, read leniently via `extract_jws`: every card must verify.
    UserText,
    /// A JWS payload JSON (unsigned): structure, time and content rules.
    Payload,
    /// A FHIR bundle JSON.
    Bundle,
    /// Numeric QR text files (one card).
    Numeric,
    /// QR images (one card), decoded with rqrr.
    Image,
}

/// `Ok(warnings)` or `Err(code)` for one vector.
fn outcome(kind: Kind, files: &[&str], dir: &Directory) -> Result<Vec<&'static str>, String> {
    let e = |e: ShcError| e.code().to_owned();
    match kind {
        Kind::Jws => verify_jws(&dt(files[0]), dir, &opts()).map_err(e),
        Kind::File => {
            let f = HealthCardFile::from_json(&dt(files[0])).map_err(e)?;
            let mut all = Vec::new();
            for jws in &f.verifiable_credential {
                all.extend(verify_jws(jws, dir, &opts()).map_err(e)?);
            }
            Ok(all)
        }
        Kind::FhirApi | Kind::UserText => {
            let mut all = Vec::new();
            for jws in extract_jws(&dt(files[0])).map_err(e)? {
                all.extend(verify_jws(&jws, dir, &opts()).map_err(e)?);
            }
            Ok(all)
        }
        Kind::Payload => {
            let p = Payload::parse_json(&dt(files[0])).map_err(e)?;
            let mut w: Vec<&'static str> = p
                .check_time(NOW)
                .map_err(e)?
                .iter()
                .map(|w| w.code)
                .collect();
            w.extend(p.check_content().map_err(e)?.iter().map(|w| w.code));
            Ok(w)
        }
        Kind::Bundle => fhir::check_bundle_json(&dt(files[0]))
            .map(|w| w.iter().map(|w| w.code).collect())
            .map_err(e),
        Kind::Numeric => {
            let texts: Vec<String> = files.iter().map(|f| dt(f)).collect();
            let d = decode_numeric_chunks(&texts).map_err(e)?;
            let mut w: Vec<&'static str> = d.warnings.iter().map(|w| w.code).collect();
            w.extend(verify_jws(&d.jws, dir, &opts()).map_err(e)?);
            Ok(w)
        }
        Kind::Image => {
            let mut texts = Vec::new();
            let mut w = Vec::new();
            for f in files {
                let (version, ecc, text) = decode_image(f)?;
                texts.push(text.clone());
                w.extend(
                    qr::check_qr_version(version, ecc, &text)
                        .map_err(e)?
                        .iter()
                        .map(|w| w.code),
                );
            }
            let d = decode_numeric_chunks(&texts).map_err(e)?;
            w.extend(d.warnings.iter().map(|w| w.code));
            w.extend(verify_jws(&d.jws, dir, &opts()).map_err(e)?);
            Ok(w)
        }
    }
}

/// Decodes a QR image with rqrr: (version, ECC level, text).
fn decode_image(rel: &str) -> Result<(usize, qrcode::EcLevel, String), String> {
    let path = testdata().join("shc/dev-tools-testdata").join(rel);
    let img = image::open(&path).unwrap().to_luma8();
    // Small or re-compressed images decode after upscaling (as the validator rescales them).
    let mut decoded = None;
    for scale in [1, 2, 3] {
        let scaled = if scale == 1 {
            img.clone()
        } else {
            image::imageops::resize(
                &img,
                img.width() * scale,
                img.height() * scale,
                image::imageops::FilterType::Nearest,
            )
        };
        let mut prepared = rqrr::PreparedImage::prepare(scaled);
        if let Some(Ok(r)) = prepared.detect_grids().first().map(|g| g.decode()) {
            decoded = Some(r);
            break;
        }
    }
    let (meta, text) = decoded.ok_or_else(|| "qr_image_undecodable".to_owned())?;
    // rqrr reports the format bits' level: 0 = M, 1 = L, 2 = H, 3 = Q.
    let ecc = match meta.ecc_level {
        0 => qrcode::EcLevel::M,
        1 => qrcode::EcLevel::L,
        2 => qrcode::EcLevel::H,
        _ => qrcode::EcLevel::Q,
    };
    Ok((meta.version.0, ecc, text))
}

/// The spec issuer plus the issuers of the validator's other vectors, each with its own keys.
fn dev_tools_directory() -> Directory {
    let mut d = spec_directory();
    for name in [
        "invalid-method",
        "non-base64url-rid",
        "too-long-rid",
        "version-mismatch",
        "duplicate-rid",
    ] {
        let iss = format!(
            "https://raw.githubusercontent.com/smart-on-fhir/health-cards-dev-tools/main/testdata/badcrl/{name}"
        );
        d.add_jwks_json(&iss, &dt(&format!("badcrl/{name}/.well-known/jwks.json")))
            .unwrap();
        d.add_crl_json(
            &iss,
            &dt(&format!(
                "badcrl/{name}/.well-known/crl/hrvC0uzB16UXK83BnPo7Glg685b1D6iYOyJd5hpRaAA.json"
            )),
        )
        .unwrap();
    }
    // "badjwks" serves a document that is not a JWK set: the wallet cannot add it, so the issuer
    // is known (trusted) but has no keys.
    let bad_iss = "https://raw.githubusercontent.com/microsoft/health-cards-validation-SDK/main/testdata/badjwks";
    assert_eq!(
        d.add_jwks_json(bad_iss, &dt("badjwks/.well-known/jwks.json"))
            .unwrap_err()
            .code(),
        "bad_jwks"
    );
    d.add_issuer(bad_iss, None).unwrap();
    // The validator's "not SMART" key set belongs to some other issuer.
    d.add_jwks_json(
        "https://not-smart.example",
        &dt("issuer.jwks.public.not.smart.json"),
    )
    .unwrap();
    d
}

type Expect = Result<&'static [&'static str], &'static str>;
const OK: Expect = Ok(&[]);

/// One validator vector (or a set of files that make one card): `Ok(warning codes)` or
/// `Err(error code)` as expected, nothing else.
fn dev_tools_vector(files: &[&str], kind: Kind, expected: Expect) {
    let got = outcome(kind, files, &dev_tools_directory());
    let ok = match (expected, &got) {
        (Ok(w), Ok(g)) => {
            let mut a = w.to_vec();
            let mut b = g.clone();
            a.sort_unstable();
            b.sort_unstable();
            b.dedup();
            a.dedup();
            a == b
        }
        (Err(c), Err(g)) => c == g,
        _ => false,
    };
    assert!(
        ok,
        "{files:?} ({kind:?}): expected {expected:?}, got {got:?}"
    );
}

/// One named `#[test]` per validator vector: `name: (files, Kind, expected)`.
macro_rules! dev_tools_vectors {
    ($($name:ident: ($files:expr, $kind:ident, $expected:expr)),* $(,)?) => {
        mod dev_tools {
            use super::*;
            $(
                #[test]
                fn $name() {
                    dev_tools_vector($files, Kind::$kind, $expected);
                }
            )*
        }
    };
}

dev_tools_vectors! {
    // --- valid and warning-only vectors
    example_00_e_file_multi_jws: (&["test-example-00-e-file-multi-jws.smart-health-card"], File, OK),
    example_00_fhirhealthcard: (&["test-example-00-fhirhealthcard.json"], FhirApi, OK),
    example_00_fhirhealthcard_multi_jws: (&["test-example-00-fhirhealthcard-multi-jws.json"], FhirApi, OK),
    example_00_fhirhealthcard_with_resource_link: (&["test-example-00-fhirhealthcard-with-resource-link.json"], FhirApi, OK),
    example_1195_byte_qrnumeric: (&["test-example-1195-byte-qrnumeric.txt"], Numeric, OK),
    example_00_g_qr_code_0_scaled_23: (&["test-example-00-g-qr-code-0-scaled-23.jpg"], Image, OK),
    example_00_g_qr_code_0_scaled_85: (&["test-example-00-g-qr-code-0-scaled-85.jpg"], Image, OK),
    example_00_e_file: (&["test-example-00-e-file.wrong-extension"], File, OK),
    example_00_d_jws_bad_fhir_metadata: (&["test-example-00-d-jws-bad-fhir-metadata.txt"], Jws, Ok(&["fhir_meta_not_security_only"])),
    example_00_g_qr_code_inflated_to_v22: (&["test-example-00-g-qr-code-inflated-to-v22.png"], Image, Ok(&["qr_version_inflated"])),
    example_00_f_qr_code_numeric_value_0_wrong_multi_chunk: (&["test-example-00-f-qr-code-numeric-value-0-wrong-multi-chunk.txt"], Numeric, Ok(&["qr_single_chunk_header"])),
    example_00_b_jws_payload_expanded_missing_imm_vc_type: (&["test-example-00-b-jws-payload-expanded-missing-imm-vc-type.json"], Payload, Ok(&["vc_type_missing_immunization"])),
    example_00_b_jws_payload_expanded_missing_covid_vc_type: (&["test-example-00-b-jws-payload-expanded-missing-covid-vc-type.json"], Payload, Ok(&["vc_type_missing_covid19"])),
    covid_lab_jwspayload_missing_lab_vc_type: (&["test-example-covid-lab-jwspayload-missing-lab-vc-type.json"], Payload, Ok(&["vc_type_missing_laboratory"])),
    example_00_b_jws_payload_expanded_optional_vc_type: (&["test-example-00-b-jws-payload-expanded-optional-vc-type.json"], Payload, Ok(&["vc_type_unneeded_verifiable_credential"])),
    example_00_b_jws_payload_expanded_unknown_vc_types: (&["test-example-00-b-jws-payload-expanded-unknown-vc-types.json"], Payload, Ok(&["vc_type_unknown", "vc_type_unknown"])),
    example_00_b_jws_payload_expanded_exp_milliseconds: (&["test-example-00-b-jws-payload-expanded-exp_milliseconds.json"], Payload, Ok(&["exp_in_milliseconds"])),
    example_00_a_non_dm_properties: (&["test-example-00-a-non-dm-properties.json"], Bundle, Ok(&["fhir_resource_id", "fhir_meta_not_security_only", "fhir_codeable_concept_text", "fhir_coding_display"])),
    example_00_a_fhirbundle_bad_meta_extra_key: (&["test-example-00-a-fhirBundle-bad_meta_extra_key.json"], Bundle, Ok(&["fhir_meta_not_security_only"])),
    example_00_a_fhirbundle_bad_meta_non_security: (&["test-example-00-a-fhirBundle-bad_meta_non_security.json"], Bundle, Ok(&["fhir_meta_not_security_only"])),
    // --- rejected: framing
    example_00_d_jws_trailing_chars: (&["test-example-00-d-jws-trailing_chars.txt"], Jws, Err("trailing_characters")),
    example_00_e_file_trailing_chars: (&["test-example-00-e-file-trailing_chars.smart-health-card"], File, Err("trailing_characters")),
    example_00_b_jws_payload_expanded_trailing_chars: (&["test-example-00-b-jws-payload-expanded-trailing_chars.json"], Payload, Err("trailing_characters")),
    example_00_a_fhirbundle_trailing_chars: (&["test-example-00-a-fhirBundle-trailing_chars.json"], Bundle, Err("trailing_characters")),
    example_00_f_qr_code_numeric_value_0_trailing_chars: (&["test-example-00-f-qr-code-numeric-value-0-trailing_chars.txt"], Numeric, Err("trailing_characters")),
    example_00_d_jws_utf8_bom_prefix: (&["test-example-00-d-jws-utf8_bom_prefix.txt"], Jws, Err("payload_bom")),
    // --- rejected: JWS header and signature encoding
    example_00_d_jws_no_jws_header_alg: (&["test-example-00-d-jws-no_jws_header_alg.txt"], Jws, Err("missing_alg")),
    example_00_d_jws_no_jws_header_kid: (&["test-example-00-d-jws-no_jws_header_kid.txt"], Jws, Err("missing_kid")),
    example_00_d_jws_no_jws_header_zip: (&["test-example-00-d-jws-no_jws_header_zip.txt"], Jws, Err("missing_zip")),
    example_00_d_jws_no_deflate: (&["test-example-00-d-jws-no_deflate.txt"], Jws, Err("missing_zip")),
    example_00_e_file_no_deflate: (&["test-example-00-e-file-no_deflate.smart-health-card"], File, Err("missing_zip")),
    example_00_e_file_invalid_deflate: (&["test-example-00-e-file-invalid_deflate.smart-health-card"], File, Err("bad_deflate")),
    example_00_e_file_multi_jws_issues: (&["test-example-00-e-file-multi-jws-issues.smart-health-card"], File, Err("trailing_characters")),
    example_00_e_file_multi_jws_issues_usertext: (&["test-example-00-e-file-multi-jws-issues.smart-health-card"], UserText, Err("missing_alg")),
    example_00_d_jws_der_signature: (&["test-example-00-d-jws-der-signature.txt"], Jws, Err("signature_der_encoded")),
    example_00_d_jws_der_signature_r_neg: (&["test-example-00-d-jws-der-signature-r-neg.txt"], Jws, Err("signature_der_encoded")),
    example_00_d_jws_der_signature_s_neg: (&["test-example-00-d-jws-der-signature-s-neg.txt"], Jws, Err("signature_der_encoded")),
    example_00_d_jws_der_signature_rs_neg: (&["test-example-00-d-jws-der-signature-rs-neg.txt"], Jws, Err("signature_der_encoded")),
    // --- rejected: trust
    example_00_d_jws_invalid_signature: (&["test-example-00-d-jws-invalid-signature.txt"], Jws, Err("bad_signature")),
    example_00_d_jws_wrong_jws_header_kid: (&["test-example-00-d-jws-wrong_jws_header_kid.txt"], Jws, Err("unknown_kid")),
    example_00_d_jws_issuer_kid_mismatch: (&["test-example-00-d-jws-issuer-kid-mismatch.txt"], Jws, Err("issuer_kid_mismatch")),
    example_00_d_jws_issuer_not_valid_with_smart_key: (&["test-example-00-d-jws-issuer-not-valid-with-smart-key.txt"], Jws, Err("issuer_not_trusted")),
    example_00_e_file_invalid_issuer_url: (&["test-example-00-e-file-invalid_issuer_url.smart-health-card"], File, Err("issuer_not_trusted")),
    example_00_e_file_invalid_issuer_url_http: (&["test-example-00-e-file-invalid_issuer_url_http.smart-health-card"], File, Err("iss_not_https")),
    example_00_e_file_issuer_url_with_trailing_slash: (&["test-example-00-e-file-issuer_url_with_trailing_slash.smart-health-card"], File, Err("iss_trailing_slash")),
    // badjwks serves no JWK set (refused at load with bad_jwks); the card's kid is the spec
    // issuer's, so it is reported as belonging to another issuer.
    example_00_e_file_bad_jwks: (&["test-example-00-e-file-bad_jwks.smart-health-card"], File, Err("issuer_kid_mismatch")),
    // --- rejected: revocation lists
    jws_crl_invalid_method: (&["badcrl/invalid-method/jws-crl-invalid-method.txt"], Jws, Err("crl_bad_method")),
    jws_crl_non_base64url_rid: (&["badcrl/non-base64url-rid/jws-crl-non-base64url-rid.txt"], Jws, Err("crl_bad_rid")),
    jws_crl_too_long_rid: (&["badcrl/too-long-rid/jws-crl-too-long-rid.txt"], Jws, Err("crl_bad_rid")),
    jws_crl_duplicate_rid: (&["badcrl/duplicate-rid/jws-crl-duplicate-rid.txt"], Jws, Err("crl_duplicate_rid")),
    jws_crl_version_mismatch: (&["badcrl/version-mismatch/jws-crl-version-mismatch.txt"], Jws, Err("crl_version_mismatch")),
    // --- rejected: payload
    example_00_d_jws_jws_too_long: (&["test-example-00-d-jws-jws_too_long.txt"], Jws, Err("missing_nbf")),
    example_00_e_file_jws_too_long: (&["test-example-00-e-file-jws_too_long.smart-health-card"], File, Err("missing_nbf")),
    example_00_b_jws_payload_expanded_missing_shc_vc_type: (&["test-example-00-b-jws-payload-expanded-missing-shc-vc-type.json"], Payload, Err("missing_health_card_type")),
    example_00_b_jws_payload_expanded_expired: (&["test-example-00-b-jws-payload-expanded-expired.json"], Payload, Err("expired")),
    example_00_b_jws_payload_expanded_pre_expired: (&["test-example-00-b-jws-payload-expanded-pre-expired.json"], Payload, Err("exp_before_nbf")),
    example_00_b_jws_payload_expanded_nbf_not_yet_valid: (&["test-example-00-b-jws-payload-expanded-nbf_not_yet_valid.json"], Payload, Err("not_yet_valid")),
    example_00_b_jws_payload_expanded_nbf_milliseconds: (&["test-example-00-b-jws-payload-expanded-nbf_milliseconds.json"], Payload, Err("nbf_in_milliseconds")),
    test_invalid_jws_payload: (&["test-invalid-jws-payload.png"], Image, Err("payload_not_json")),
    // --- rejected: FHIR bundle rules
    example_00_b_jws_payload_expanded_missing_coding: (&["test-example-00-b-jws-payload-expanded-missing-coding.json"], Payload, Err("fhir_empty_element")),
    example_00_a_short_refs: (&["test-example-00-a-short-refs.json"], Bundle, Err("fhir_bad_full_url")),
    example_00_a_fhirbundle_bad_meta_wrong_security: (&["test-example-00-a-fhirBundle-bad_meta_wrong_security.json"], Bundle, Err("fhir_bad_meta_security")),
    example_00_a_fhirbundle_empty_values: (&["test-example-00-a-fhirBundle-empty-values.json"], Bundle, Err("fhir_empty_element")),
    example_00_a_fhirbundle_occurrence_issues: (&["test-example-00-a-fhirBundle-occurrence-issues.json"], Bundle, Err("fhir_immunization_occurrence")),
    example_00_a_fhirbundle_status_not_completed: (&["test-example-00-a-fhirBundle-status-not-completed.json"], Bundle, Err("fhir_immunization_status")),
    example_00_a_fhirbundle_profile_usa: (&["test-example-00-a-fhirBundle-profile-usa.json"], Bundle, Err("fhir_immunization_status")),
    // --- rejected: numeric QR
    example_00_f_qr_code_numeric_value_0_wrong_qr_header: (&["test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt"], Numeric, Err("qr_bad_prefix")),
    example_00_f_qr_code_numeric_value_0_odd_count: (&["test-example-00-f-qr-code-numeric-value-0-odd-count.txt"], Numeric, Err("qr_odd_digits")),
    example_00_f_qr_code_numeric_value_0_number_too_big: (&["test-example-00-f-qr-code-numeric-value-0-number-too-big.txt"], Numeric, Err("qr_digit_pair_out_of_range")),
    example_00_f_qr_code_numeric_value_0_index_out_of_range: (&["test-example-00-f-qr-code-numeric-value-0-index-out-of-range.txt", "../example-02-f-qr-code-numeric-value-1.txt"], Numeric, Err("qr_chunk_index_out_of_range")),
    example_02_f_qr_code_numeric_value_0_qr_chunk_too_big: (&["test-example-02-f-qr-code-numeric-value-0-qr_chunk_too_big.txt", "test-example-02-f-qr-code-numeric-value-1-qr_chunk_too_big.txt"], Numeric, Err("qr_chunk_too_big")),
    example_00_f_qr_code_numeric_value_0_qr_chunk_too_small: (&["test-example-00-f-qr-code-numeric-value-0-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-1-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-2-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-3-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-4-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-5-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-6-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-7-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-8-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-9-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-10-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-11-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-12-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-13-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-14-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-15-qr_chunk_too_small.txt", "test-example-00-f-qr-code-numeric-value-16-qr_chunk_too_small.txt"], Numeric, Err("qr_unneeded_chunks")),
    // --- rejected: QR images
    example_00_g_qr_code_0_qr_chunk_too_small: (&["test-example-00-g-qr-code-0-qr_chunk_too_small.png", "test-example-00-g-qr-code-1-qr_chunk_too_small.png"], Image, Err("qr_unneeded_chunks")),
    example_00_g_qr_code_0_bad_qr_version: (&["test-example-00-g-qr-code-0-bad_qr_version.png"], Image, Err("qr_version_too_high")),
    example_00_g_qr_code_0_corrupted: (&["test-example-00-g-qr-code-0-corrupted.png"], Image, Err("qr_image_undecodable")),
    example_00_g_qr_code_0_single_qr_segment: (&["test-example-00-g-qr-code-0-single_qr_segment.png"], Image, Err("qr_version_too_high")),
    example_00_g_qr_code_0_too_many_qr_segment: (&["test-example-00-g-qr-code-0-too_many_qr_segment.png"], Image, Err("qr_non_digit")),
}

#[test]
fn every_dev_tools_file_is_covered() {
    // Guards the table above: every card-bearing vector file of the validator is named in this
    // test file (keys, directories, CRLs and shlink files are covered by their own tests).
    let me = include_str!("shc_conformance.rs");
    let dir = testdata().join("shc/dev-tools-testdata");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let path = dir.join(&name);
        if path.is_dir() || name.starts_with("shlink") || name == "README.md" {
            continue;
        }
        if !me.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "vectors not in the conformance table: {missing:?}"
    );
}

// ---------------------------------------------------------------- issuer keys

#[test]
fn issuer_key_vectors() {
    let first = |f: &str| -> Jwk {
        let jwks: Jwks = serde_json::from_str(&dt(f)).unwrap();
        jwks.keys.into_iter().next().unwrap()
    };
    for f in ["valid_key.json", "valid_keys.json"] {
        let jwks: Jwks = serde_json::from_str(&dt(f)).unwrap();
        for k in &jwks.keys {
            validate_issuer_key(k).unwrap();
        }
    }
    let cases = [
        ("wrong_kid_key.json", "key_wrong_kid"),
        ("wrong_curve_key.json", "key_wrong_crv"),
        ("wrong_use_key.json", "key_wrong_use"),
        ("wrong_alg_key.json", "key_wrong_alg"),
        ("wrong_kty_key.json", "key_wrong_kty"),
        ("private_key.json", "key_private"),
    ];
    for (f, expected) in cases {
        assert_eq!(code(validate_issuer_key(&first(f))), expected, "{f}");
    }
}

#[test]
fn x5c_vectors() {
    let san = "https://smarthealth.cards/examples/issuer";
    let check = |f: &str, iss: &str| -> Result<(), ShcError> {
        let jwk = {
            let jwks: Jwks = serde_json::from_str(&dt(f)).unwrap();
            jwks.keys.into_iter().next().unwrap()
        };
        let key = spondon_core::Es256PublicKey::from_jwk(&jwk).unwrap();
        x5c::check_chain(jwk.x5c.as_deref().unwrap(), iss, &key, PKI_TIME, &[])
    };
    check("valid_key_with_x5c.json", san).unwrap();
    check("valid_2_chain.public.json", san).unwrap();
    assert_eq!(
        code(check("valid_key_with_x5c.json", "https://invalid.url")),
        "x5c_san_mismatch"
    );
    assert_eq!(
        code(check("invalid_DNS_SAN.public.json", san)),
        "x5c_san_mismatch"
    );
    assert_eq!(
        code(check("invalid_no_SAN.public.json", san)),
        "x5c_san_mismatch"
    );
    assert_eq!(
        code(check("cert_mismatch.public.json", san)),
        "x5c_key_mismatch"
    );
    assert_eq!(
        code(check("invalid_chain.public.json", san)),
        "x5c_chain_invalid"
    );
}

// ---------------------------------------------------------------- SMART Health Links

#[test]
fn shl_spec_example_decrypts_to_example_00() {
    let meta: serde_json::Value =
        serde_json::from_str(&read("shl/spec-example-shlink.json")).unwrap();
    let link = ShlPayload::parse(meta["shlink"].as_str().unwrap()).unwrap();
    let viewer = ShlPayload::parse(meta["viewer_form"].as_str().unwrap()).unwrap();
    assert_eq!(link, viewer);
    assert_eq!(link.url, meta["decoded_payload"]["url"]);
    assert_eq!(
        link.label.as_deref(),
        meta["decoded_payload"]["label"].as_str()
    );
    assert!(link.flag.long_term && link.flag.passcode && !link.flag.direct);
    assert_eq!(
        link.key.to_b64().as_str(),
        meta["file_key"].as_str().unwrap()
    );
    let file = decrypt_file(&read("shl/spec-example-file.jwe"), &link.key).unwrap();
    assert_eq!(
        file.content_type.as_deref(),
        Some("application/smart-health-card")
    );
    let text = String::from_utf8(file.plaintext).unwrap();
    assert_eq!(
        text.trim(),
        read("shl/spec-example-file.decrypted.smart-health-card").trim()
    );
    let cards = extract_jws(&text).unwrap();
    assert_eq!(cards, vec![read("shc/example-00-d-jws.txt")]);
    verify_jws(&cards[0], &spec_directory(), &opts()).unwrap();
    // A wrong key fails authentication.
    let wrong = ShlKey::from_bytes([7; 32]);
    assert_eq!(
        decrypt_file(&read("shl/spec-example-file.jwe"), &wrong)
            .unwrap_err()
            .code(),
        "jwe_decrypt_failed"
    );
}

#[test]
fn shl_dev_tools_vectors_parse() {
    for f in [
        "shlink-link.txt",
        "shlink-link-with-viewer.txt",
        "shlink-link-direct.txt",
    ] {
        let p = ShlPayload::parse(&read(&format!("shl/dev-tools-testdata/{f}"))).unwrap();
        assert!(!p.is_https(), "{f}: the validator's local vectors use http");
        assert!(p.exp.is_some());
        assert_eq!(p.label.as_deref(), Some("Sample Set 1"));
    }
    let direct = ShlPayload::parse(&read("shl/dev-tools-testdata/shlink-link-direct.txt")).unwrap();
    assert!(direct.flag.direct);
    assert_eq!(direct.v, Some(1));
    for f in ["shlink-payload.txt", "shlink-payload-direct.txt"] {
        let v: serde_json::Value =
            serde_json::from_str(&read(&format!("shl/dev-tools-testdata/{f}"))).unwrap();
        ShlPayload::from_value(&v).unwrap();
    }
    // The server examples (passcode 1234): the link parses and every stored JWE decrypts with
    // its key, to the card the payload names.
    for f in [
        "jvb42XYZTjY2BTZ2mcL6nozbTFT8Vs5G2_I-_IuxCZo.json",
        "ERn18l4lL3_5yPXMSzx3ZejyMM_XIeWeseXa3DXsJD0.json",
    ] {
        let ex: serde_json::Value =
            serde_json::from_str(&read(&format!("shl/dev-tools-testdata/shl-examples/{f}")))
                .unwrap();
        assert_eq!(ex["passcode"], "1234");
        let link = ShlPayload::parse(ex["link"].as_str().unwrap()).unwrap();
        let files = ex["jweFiles"].as_array().unwrap();
        assert!(!files.is_empty());
        for jwe in files {
            let out = decrypt_file(jwe.as_str().unwrap(), &link.key).unwrap();
            let text = String::from_utf8(out.plaintext).unwrap();
            let cards = extract_jws(&text).unwrap();
            assert!(!cards.is_empty());
            for jws in cards {
                ParsedCard::parse(&jws).unwrap();
            }
        }
    }
}

#[test]
fn cli_verdict_shape() {
    use spondon_core::shc::check_jws;
    let dir = spec_directory();
    let ok =
        serde_json::to_value(check_jws(&read("shc/example-00-d-jws.txt"), &dir, &opts())).unwrap();
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["kind"], "smart_health_card");
    assert_eq!(ok["issuer"], SPEC_ISS);
    assert_eq!(ok["not_before"].to_string(), "1687450764.656");
    assert_eq!(ok["expires"], serde_json::Value::Null);
    assert_eq!(ok["errors"], serde_json::json!([]));
    assert_eq!(ok["fhir"]["resourceType"], "Bundle");
    let bad =
        serde_json::to_value(check_jws(&read("shc/example-03-d-jws.txt"), &dir, &opts())).unwrap();
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["errors"][0]["code"], "revoked");
    assert_eq!(bad["expires"].to_string(), "1718986764.657");
    assert_eq!(bad["fhir"]["resourceType"], "Bundle");
    let junk = serde_json::to_value(check_jws("not a jws", &dir, &opts())).unwrap();
    assert_eq!(junk["valid"], false);
    assert_eq!(junk["errors"][0]["code"], "malformed_jws");
    assert_eq!(junk["issuer"], serde_json::Value::Null);
}

/// Rasterises the spec's SVG QR codes (one stroked path of `M x y.5`, `h n`, `m dx dy` commands,
/// as node-qrcode writes them) and decodes them with rqrr.
fn decode_svg(rel: &str) -> String {
    let svg = read(rel);
    let view: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let d = svg
        .split("stroke=\"#000000\" d=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let scale = 4u32;
    let side = view as u32 * scale;
    let mut img = image::GrayImage::from_pixel(side, side, image::Luma([255]));
    let (mut x, mut y) = (0f64, 0f64);
    let mut rest = d;
    let num = |s: &str| -> (f64, usize) {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(s.len());
        (s[..end].parse().unwrap(), end)
    };
    while let Some(c) = rest.chars().next() {
        rest = &rest[1..];
        match c {
            'M' | 'm' => {
                let (a, n) = num(rest);
                rest = &rest[n..];
                rest = rest.trim_start_matches([' ', ',']);
                let (b, n) = num(rest);
                rest = &rest[n..];
                if c == 'M' {
                    (x, y) = (a, b);
                } else {
                    (x, y) = (x + a, y + b);
                }
            }
            'h' => {
                let (a, n) = num(rest);
                rest = &rest[n..];
                let row = (y - 0.5) as u32;
                for col in x as u32..(x + a) as u32 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            img.put_pixel(col * scale + dx, row * scale + dy, image::Luma([0]));
                        }
                    }
                }
                x += a;
            }
            _ => {}
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let (meta, text) = grids.first().unwrap().decode().unwrap();
    assert!(meta.version.0 <= 22, "{rel}: version {}", meta.version.0);
    text
}

#[test]
fn spec_svg_qr_codes_decode() {
    let dir = spec_directory();
    for (i, chunks) in [(0, 1), (1, 1), (2, 3), (3, 1)] {
        let texts: Vec<String> = (0..chunks)
            .map(|c| decode_svg(&format!("shc/example-0{i}-g-qr-code-{c}.svg")))
            .collect();
        for (c, t) in texts.iter().enumerate() {
            assert_eq!(
                t,
                &read(&format!("shc/example-0{i}-f-qr-code-numeric-value-{c}.txt"))
            );
        }
        let jws = decode_numeric_chunks(&texts).unwrap().jws;
        assert_eq!(jws, read(&format!("shc/example-0{i}-d-jws.txt")));
        let r = verify_jws(&jws, &dir, &opts());
        assert_eq!(r.is_ok(), i != 3, "example {i}: {r:?}");
    }
    // The SMART Health Link QR of the validator.
    let (_, _, text) = decode_image("shlink-qr.png").unwrap();
    let link = ShlPayload::parse(&text).unwrap();
    assert_eq!(link.label.as_deref(), Some("Sample Set 1"));
}
