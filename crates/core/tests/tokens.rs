#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Round trips, strict-decoding failures and QR size/decoding of Spondon tokens.

use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::qr;
use spondon_core::time::NumericDate;
use spondon_core::token::{
    self, Audience, Category, DoctorCredential, EnrollmentCredential, Grant, Hospital, PopProof,
    PopRequest, Purpose, Revocation, RevocationTarget, TokenClaims, TokenKind, TrustAnchors,
    TrustList,
};

const NOW: NumericDate = NumericDate(1_767_225_600); // 2026-01-01T00:00:00Z

fn typical_grant(patient: &Es256KeyPair, doctor: &Es256KeyPair) -> Grant {
    Grant {
        id: [7; 16],
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![
            Category::Prescription,
            Category::LabResult,
            Category::Diagnosis,
        ],
        record_ids: vec![],
        write: true,
        purpose: Purpose::Treatment,
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(30 * 86_400),
        use_limit: Some(20),
        peers: vec![
            "https://peer.dmch.gov.bd".into(),
            "https://peer.labaid.com.bd".into(),
        ],
    }
}

fn trust_list(hospital: &Es256KeyPair) -> TrustList {
    TrustList {
        witnessing: Default::default(),
        publish_url: None,
        authority: "DGHS".into(),
        sequence: 7,
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(90 * 86_400),
        hospitals: vec![Hospital {
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: "https://peer.dmch.gov.bd".into(),
            record_keys: vec![hospital.public_key().clone()],
            log_key: *Ed25519KeyPair::from_seed(&[3; 32]).unwrap().public_key(),
            log_origin: "peer.dmch.gov.bd/log".into(),
        }],
    }
}

#[test]
fn grant_round_trip_and_verify() {
    let patient = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let grant = typical_grant(&patient, &doctor);
    let text = grant.sign(&patient).unwrap();
    assert!(text.starts_with(token::PREFIX));
    assert!(token::base45::is_qr_alphanumeric(&text));
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.kind, TokenKind::Grant);
    assert_eq!(parsed.signer_kid, patient.kid());
    assert_eq!(parsed.claims, TokenClaims::Grant(grant.clone()));
    parsed.verify(&TrustAnchors::default(), NOW).unwrap();
    assert_eq!(Grant::decode_and_verify(&text, NOW).unwrap(), grant);
    let err = Grant::decode_and_verify(&text, NOW.saturating_add(31 * 86_400)).unwrap_err();
    assert_eq!(err.code(), "expired");
    let err = Grant::decode_and_verify(&text, NOW.saturating_add(-1)).unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
    // The JSON view a CLI prints.
    let json = serde_json::to_value(&parsed).unwrap();
    assert_eq!(json["kind"], "grant");
    assert_eq!(json["claims"]["purpose"], "treatment");
    assert_eq!(json["claims"]["audience"]["kid"], doctor.kid());
}

#[test]
fn signing_with_another_key_is_refused_and_forgery_detected() {
    let patient = Es256KeyPair::generate().unwrap();
    let other = Es256KeyPair::generate().unwrap();
    let grant = typical_grant(&patient, &other);
    assert_eq!(grant.sign(&other).unwrap_err().code(), "invalid");
    // A grant re-signed by another key but naming the patient's key fails verification.
    let mut forged = grant.clone();
    forged.patient_key = other.public_key().clone();
    let forged_text = forged.sign(&other).unwrap();
    let mut cose = token::raw::from_text(&forged_text).unwrap();
    let good = token::raw::from_text(&grant.sign(&patient).unwrap()).unwrap();
    // Splice the genuine signature onto the forged body: same length, different key.
    let n = cose.len();
    cose[n - 64..].copy_from_slice(&good[good.len() - 64..]);
    let err = token::decode_any(&token::raw::to_text(&cose))
        .unwrap()
        .verify(&TrustAnchors::default(), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "bad_signature");
}

#[test]
fn bearer_grant_rules() {
    let patient = Es256KeyPair::generate().unwrap();
    let mut grant = typical_grant(&patient, &patient);
    grant.audience = Audience::Bearer;
    assert_eq!(
        grant.sign(&patient).unwrap_err().code(),
        "bearer_grant_invalid"
    );
    grant.use_limit = Some(1);
    let text = grant.sign(&patient).unwrap();
    let back = Grant::decode_and_verify(&text, NOW).unwrap();
    assert_eq!(back.audience, Audience::Bearer);
    // Nothing derived from a passcode is in the grant: a photo of the QR gives nothing to test.
    let raw = spondon_core::token::raw::from_text(&text).unwrap();
    for pass in ["4711", "482916", "000000"] {
        let v = Grant::passcode_verifier(&grant.id, pass);
        assert!(!raw.windows(32).any(|w| w == v));
        let v1 = spondon_core::keys::sha256(
            &[
                b"spondon-grant-passcode-v1\0".as_slice(),
                &grant.id,
                pass.as_bytes(),
            ]
            .concat(),
        );
        assert!(!raw.windows(32).any(|w| w == v1));
    }
    let v = Grant::passcode_verifier(&grant.id, "482916");
    assert!(Grant::passcode_matches(&grant.id, "482916", &v));
    assert!(!Grant::passcode_matches(&grant.id, "482917", &v));
}

#[test]
fn grant_field_validation() {
    let patient = Es256KeyPair::generate().unwrap();
    let base = typical_grant(&patient, &patient);
    let mut g = base.clone();
    g.categories = vec![Category::LabResult, Category::Prescription];
    assert_eq!(g.sign(&patient).unwrap_err().code(), "out_of_range");
    let mut g = base.clone();
    g.expires = NumericDate(g.not_before.0 - 1);
    assert_eq!(g.sign(&patient).unwrap_err().code(), "nbf_after_exp");
    let mut g = base.clone();
    g.expires = g.not_before.saturating_add(token::MAX_GRANT_LIFETIME + 1);
    assert_eq!(g.sign(&patient).unwrap_err().code(), "lifetime_too_long");
    let mut g = base.clone();
    g.peers = vec!["http://peer.example.com".into()];
    assert_eq!(g.sign(&patient).unwrap_err().code(), "invalid_url");
    let mut g = base.clone();
    g.peers = vec!["dmch".into(), "http://localhost:8080".into()];
    g.sign(&patient).unwrap();
    let mut g = base.clone();
    g.categories.clear();
    assert_eq!(g.sign(&patient).unwrap_err().code(), "missing_field");
    g.record_ids = vec!["rec-1".into()];
    let back = Grant::decode_and_verify(&g.sign(&patient).unwrap(), NOW).unwrap();
    assert!(back.covers(Category::Note, "rec-1"));
    assert!(!back.covers(Category::Note, "rec-2"));
    let mut g = base;
    g.record_ids = (0..token::MAX_RECORD_IDS)
        .map(|i| format!("{i:0>128}"))
        .collect();
    assert_eq!(g.sign(&patient).unwrap_err().code(), "too_large");
}

#[test]
fn revocations() {
    let patient = Es256KeyPair::generate().unwrap();
    let grant = typical_grant(&patient, &patient);
    for target in [
        RevocationTarget::Grant { grant_id: grant.id },
        RevocationTarget::IssuedBefore {
            before: NOW.saturating_add(1),
        },
    ] {
        let r = Revocation {
            id: [1; 16],
            patient_key: patient.public_key().clone(),
            target,
            issued_at: NOW,
        };
        let text = r.sign(&patient).unwrap();
        let back = Revocation::decode_and_verify(&text, NOW).unwrap();
        assert_eq!(back, r);
        assert!(back.revokes(&grant));
        assert_eq!(
            Revocation::decode_and_verify(&text, NOW.saturating_add(-5))
                .unwrap_err()
                .code(),
            "not_yet_valid"
        );
        assert_eq!(
            Grant::decode_and_verify(&text, NOW).unwrap_err().code(),
            "kind_mismatch"
        );
    }
    let r = Revocation {
        id: [1; 16],
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::IssuedBefore { before: NOW },
        issued_at: NOW,
    };
    assert!(!r.revokes(&grant));
}

#[test]
fn credentials_need_the_trust_list() {
    let root = Es256KeyPair::generate().unwrap();
    let hospital = Es256KeyPair::generate().unwrap();
    let patient = Es256KeyPair::generate().unwrap();
    let list = trust_list(&hospital);
    let list_text = list.sign(&root).unwrap();
    let verified = TrustList::decode_and_verify(&list_text, root.public_key(), 7, NOW).unwrap();
    assert_eq!(verified, list);
    assert_eq!(
        TrustList::decode_and_verify(&list_text, root.public_key(), 8, NOW)
            .unwrap_err()
            .code(),
        "trust_list_rollback"
    );
    assert_eq!(
        TrustList::decode_and_verify(&list_text, patient.public_key(), 0, NOW)
            .unwrap_err()
            .code(),
        "unknown_kid"
    );
    let enrollment = EnrollmentCredential {
        hospital_id: "dmch".into(),
        health_id: "HID-1990-0001-2345".into(),
        patient_key: patient.public_key().clone(),
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(365 * 86_400),
    };
    let text = enrollment.sign(&hospital).unwrap();
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.kind, TokenKind::Enrollment);
    assert_eq!(parsed.issuer.as_deref(), Some("dmch"));
    assert_eq!(
        parsed
            .verify(&TrustAnchors::default(), NOW)
            .unwrap_err()
            .code(),
        "trust_anchor_missing"
    );
    let anchors = TrustAnchors {
        trust_list: Some(&verified),
        ..Default::default()
    };
    parsed.verify(&anchors, NOW).unwrap();
    // Signed by a key the hospital does not have.
    let rogue = enrollment.sign(&patient).unwrap();
    assert_eq!(
        token::decode_any(&rogue)
            .unwrap()
            .verify(&anchors, NOW)
            .unwrap_err()
            .code(),
        "unknown_kid"
    );
    let mut other = enrollment.clone();
    other.hospital_id = "nowhere".into();
    let text = other.sign(&hospital).unwrap();
    assert_eq!(
        token::decode_any(&text)
            .unwrap()
            .verify(&anchors, NOW)
            .unwrap_err()
            .code(),
        "unknown_issuer"
    );
    // Hospital peers sign with their public URL as the issuer: found by peer URL too.
    let mut by_url = enrollment.clone();
    by_url.hospital_id = "https://peer.dmch.gov.bd".into();
    let text = by_url.sign(&hospital).unwrap();
    token::decode_any(&text)
        .unwrap()
        .verify(&anchors, NOW)
        .unwrap();
    // The same key, but a URL that is not the member's.
    by_url.hospital_id = "https://peer.dmch.gov.bd.evil.example".into();
    let text = by_url.sign(&hospital).unwrap();
    assert_eq!(
        token::decode_any(&text)
            .unwrap()
            .verify(&anchors, NOW)
            .unwrap_err()
            .code(),
        "unknown_issuer"
    );

    let doctor = DoctorCredential {
        hospital_id: "dmch".into(),
        bmdc_number: "A-12345".into(),
        name: "Dr. Farhana Rahman".into(),
        department: "Medicine".into(),
        doctor_key: Es256KeyPair::generate().unwrap().public_key().clone(),
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(365 * 86_400),
    };
    let text = doctor.sign(&hospital).unwrap();
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.claims, TokenClaims::DoctorCredential(doctor));
    parsed.verify(&anchors, NOW).unwrap();
}

#[test]
fn pop_proofs() {
    let patient = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let grant = typical_grant(&patient, &doctor);
    let request = PopRequest {
        method: "GET",
        url: "https://peer.dmch.gov.bd/records?category=1",
        nonce: b"nonce-0123456789",
        body: br#"{"grant":"SPONDON:1:..."}"#,
    };
    let proof = PopProof::create(&doctor, grant.id, &request, NOW).unwrap();
    let ok = PopProof::verify(
        &proof,
        &grant,
        &request,
        NOW.saturating_add(30),
        token::POP_MAX_SKEW,
    )
    .unwrap();
    assert_eq!(ok.url, "https://peer.dmch.gov.bd/records");
    let code = |req: &PopRequest<'_>, now: NumericDate, g: &Grant| {
        PopProof::verify(&proof, g, req, now, token::POP_MAX_SKEW)
            .unwrap_err()
            .code()
    };
    assert_eq!(
        code(
            &PopRequest {
                method: "POST",
                ..request
            },
            NOW,
            &grant
        ),
        "pop_mismatch"
    );
    assert_eq!(
        code(
            &PopRequest {
                url: "https://peer.dmch.gov.bd/other",
                ..request
            },
            NOW,
            &grant
        ),
        "pop_mismatch"
    );
    assert_eq!(
        code(
            &PopRequest {
                nonce: b"another-nonce-00",
                ..request
            },
            NOW,
            &grant
        ),
        "pop_mismatch"
    );
    // The body is covered: a proof cannot be moved to a request asking for something else.
    assert_eq!(
        code(
            &PopRequest {
                body: br#"{"grant":"SPONDON:1:...","record_ids":["x"]}"#,
                ..request
            },
            NOW,
            &grant
        ),
        "pop_mismatch"
    );
    assert_eq!(code(&request, NOW.saturating_add(600), &grant), "pop_stale");
    let other_grant = typical_grant(&patient, &patient);
    assert_eq!(code(&request, NOW, &other_grant), "pop_key_mismatch");
    let stolen = PopProof::create(&patient, grant.id, &request, NOW).unwrap();
    assert_eq!(
        PopProof::verify(&stolen, &grant, &request, NOW, token::POP_MAX_SKEW)
            .unwrap_err()
            .code(),
        "pop_key_mismatch"
    );
    assert_eq!(PopProof::decode("!!").unwrap_err().code(), "base64_invalid");
}

#[test]
fn typical_grant_fits_qr_version_15_and_png_round_trips() {
    let patient = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let text = typical_grant(&patient, &doctor).sign(&patient).unwrap();
    let code = qr::encode(&text).unwrap();
    println!(
        "typical grant: {} chars, QR version {}",
        text.len(),
        code.version()
    );
    assert!(code.is_alphanumeric());
    assert!(code.version() <= 15, "version {}", code.version());
    let png = code.to_png(4).unwrap();
    let decoded = qr::decode_image(&png).unwrap();
    assert_eq!(decoded, vec![text.clone()]);
    Grant::decode_and_verify(&decoded[0], NOW).unwrap();
    let svg = code.to_svg();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
}

#[test]
fn qr_other_text_and_garbage_images() {
    let code = qr::encode("https://example.com/lower case").unwrap();
    assert!(!code.is_alphanumeric());
    assert_eq!(qr::decode_image(&[]).unwrap_err().code(), "image_empty");
    assert_eq!(
        qr::decode_image(b"not an image at all").unwrap_err().code(),
        "image_unreadable"
    );
    let blank = {
        let img = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        let mut out = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    assert_eq!(qr::decode_image(&blank).unwrap_err().code(), "no_qr_code");
    assert_eq!(
        qr::encode(&"A".repeat(5000)).unwrap_err().code(),
        "qr_too_long"
    );
}

#[test]
fn generic_decoding_failures() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("HC1:6BFOXN", "wrong_prefix"),
        ("spondon:1:ABC", "wrong_prefix"),
        ("SPONDON:1:A", "base45_invalid"),
        ("SPONDON:1:abc", "base45_invalid"),
        ("SPONDON:1:GGW", "base45_invalid"),
        ("SPONDON:1:", "cbor_invalid"),
    ];
    for (text, code) in cases {
        assert_eq!(token::decode_any(text).unwrap_err().code(), *code, "{text}");
    }
    // The kind is still reported for a token that fails strict decoding.
    let patient = Es256KeyPair::generate().unwrap();
    let text = typical_grant(&patient, &patient).sign(&patient).unwrap();
    assert_eq!(token::peek_kind(&text), Some(TokenKind::Grant));
    assert_eq!(token::peek_kind("HC1:ABC"), None);
    let huge = format!(
        "{}{}",
        token::PREFIX,
        "0".repeat(token::MAX_TRUST_LIST_TEXT)
    );
    assert_eq!(token::decode_any(&huge).unwrap_err().code(), "too_large");
}

/// A trust-list-sized claims map with many keys decodes in linear time (no quadratic
/// duplicate check): 60 000 unknown claims in a correctly signed trust list.
#[test]
fn many_claims_decode_fast() {
    use ciborium::Value;
    let root = Es256KeyPair::generate().unwrap();
    let text = trust_list(&root).sign(&root).unwrap();
    let payload = token::raw::payload(&token::raw::from_text(&text).unwrap()).unwrap();
    let Value::Map(mut claims) = ciborium::from_reader::<Value, _>(&payload[..]).unwrap() else {
        panic!()
    };
    for i in 0..60_000i64 {
        claims.push((Value::Integer((-70_000 - i).into()), Value::Null));
    }
    let mut bytes = Vec::new();
    ciborium::into_writer(&Value::Map(claims), &mut bytes).unwrap();
    let protected = Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer((-7).into())),
        (
            Value::Integer(4.into()),
            Value::Bytes(spondon_core::b64::decode(root.kid()).unwrap()),
        ),
    ]);
    let big = token::raw::to_text(
        &token::raw::sign_cose(&root, &protected, Value::Map(vec![]), &bytes).unwrap(),
    );
    let list = TrustList::decode_and_verify(&big, root.public_key(), 0, NOW).unwrap();
    assert_eq!(list.sequence, 7);
}

/// A photo-like upload: the grant's QR code small inside a large JPEG with a grey background.
#[test]
fn qr_in_large_jpeg_photo() {
    let patient = Es256KeyPair::generate().unwrap();
    let text = typical_grant(&patient, &patient).sign(&patient).unwrap();
    let png = qr::encode(&text).unwrap().to_png(6).unwrap();
    let code = image::load_from_memory(&png).unwrap().into_luma8();
    let mut photo = image::GrayImage::from_fn(2400, 1800, |x, y| {
        image::Luma([150 + ((x * 7 + y * 13) % 40) as u8])
    });
    image::imageops::overlay(&mut photo, &code, 700, 500);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&photo)
        .unwrap();
    // Whether the photo reads, not how fast: a generous budget, so a loaded CI machine does not
    // turn this into a timing test (decode speed is in the benchmarks).
    let start = std::time::Instant::now();
    let texts = qr::decode_image_within(
        &jpeg,
        std::time::Duration::from_secs(120),
        &qr::Cancel::new(),
    )
    .unwrap();
    println!(
        "2400x1800 JPEG ({} bytes) read in {:?}",
        jpeg.len(),
        start.elapsed()
    );
    assert_eq!(texts, vec![text]);
}

#[test]
fn trust_list_witnesses_quorum_and_publish_url() {
    use spondon_core::token::{TrustedWitness, Witnessing};
    let hospital = Es256KeyPair::generate().unwrap();
    let root = Es256KeyPair::generate().unwrap();
    let mut list = trust_list(&hospital);
    let mut labaid = list.hospitals[0].clone();
    labaid.id = "labaid".into();
    labaid.peer_url = "https://peer.labaid.com.bd".into();
    labaid.log_origin = "peer.labaid.com.bd/log".into();
    list.hospitals.push(labaid);
    let witness = |name: &str, seed: u8, operator: Option<&str>| TrustedWitness {
        name: name.into(),
        key: *Ed25519KeyPair::from_seed(&[seed; 32]).unwrap().public_key(),
        operator: operator.map(str::to_owned),
    };
    list.witnessing = Witnessing {
        witnesses: vec![
            witness("peer.dmch.gov.bd/witness", 11, Some("dmch")),
            witness("peer.labaid.com.bd/witness", 12, Some("labaid")),
            witness("witness.dghs.gov.bd", 13, None),
        ],
        quorum: 2,
    };
    list.publish_url = Some("https://dghs.gov.bd/spondon/trust-list".into());
    let text = list.sign(&root).unwrap();
    let back = TrustList::decode_and_verify(&text, root.public_key(), 0, NOW).unwrap();
    assert_eq!(back, list);
    // A hospital's own witness never counts for its log.
    let for_dmch: Vec<&str> = back
        .witnessing
        .for_hospital("dmch")
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(
        for_dmch,
        ["peer.labaid.com.bd/witness", "witness.dghs.gov.bd"]
    );

    // A quorum that some hospital's independent witnesses cannot meet is refused at signing.
    let mut bad = list.clone();
    bad.witnessing.quorum = 3;
    let e = bad.sign(&root).unwrap_err();
    assert!(e.to_string().contains("cannot be met"), "{e}");
    // A witness run by a hospital that is not in the list.
    let mut bad = list.clone();
    bad.witnessing.witnesses[2].operator = Some("nowhere".into());
    assert!(bad.sign(&root).is_err());
    // The same key twice, and a name that is no signed-note key name.
    let mut bad = list.clone();
    bad.witnessing.witnesses[2].key = bad.witnessing.witnesses[1].key;
    assert!(bad.sign(&root).is_err());
    let mut bad = list.clone();
    bad.witnessing.witnesses[2].name = "two words".into();
    assert!(bad.sign(&root).is_err());
    // A publish URL that is not http(s).
    let mut bad = list.clone();
    bad.publish_url = Some("ftp://dghs.gov.bd/list".into());
    assert!(bad.sign(&root).is_err());

    // A list from before witnessing decodes with none, and its JSON view is unchanged.
    let plain = trust_list(&hospital);
    let text = plain.sign(&root).unwrap();
    let back = TrustList::decode_and_verify(&text, root.public_key(), 0, NOW).unwrap();
    assert!(back.witnessing.is_empty() && back.publish_url.is_none());
    let json = serde_json::to_value(&back).unwrap();
    assert!(json.get("witnessing").is_none() && json.get("publish_url").is_none());
}
