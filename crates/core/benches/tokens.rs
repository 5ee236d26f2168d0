#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Grant sign / verify and QR encode. Run: `cargo bench -p spondon-core --bench tokens`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spondon_core::keys::Es256KeyPair;
use spondon_core::qr;
use spondon_core::time::NumericDate;
use spondon_core::token::{self, Audience, Category, Grant, Purpose, TrustAnchors};

const NOW: NumericDate = NumericDate(1_767_225_600);

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
        write: false,
        purpose: Purpose::Treatment,
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(30 * 86_400),
        use_limit: Some(10),
        peers: vec![
            "https://peer.dmch.gov.bd".into(),
            "https://peer.labaid.com.bd".into(),
        ],
    }
}

fn benches(c: &mut Criterion) {
    let patient = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let grant = typical_grant(&patient, &doctor);
    let text = grant.sign(&patient).unwrap();

    c.bench_function("grant_sign", |b| {
        b.iter(|| black_box(&grant).sign(&patient).unwrap())
    });
    c.bench_function("grant_parse", |b| {
        b.iter(|| token::decode_any(black_box(&text)).unwrap())
    });
    c.bench_function("grant_parse_verify", |b| {
        b.iter(|| {
            token::decode_any(black_box(&text))
                .unwrap()
                .verify(&TrustAnchors::default(), NOW)
                .unwrap()
        })
    });
    let msg = [0x5au8; 300];
    let sig = patient.sign(&msg).unwrap();
    c.bench_function("ring_es256_verify_raw", |b| {
        b.iter(|| {
            patient
                .public_key()
                .verify(black_box(&msg), black_box(&sig))
                .unwrap()
        })
    });
    c.bench_function("qr_encode_png", |b| {
        b.iter(|| qr::encode(black_box(&text)).unwrap().to_png(4).unwrap())
    });
    c.bench_function("qr_encode_svg", |b| {
        b.iter(|| qr::encode(black_box(&text)).unwrap().to_svg())
    });
    let png = qr::encode(&text).unwrap().to_png(4).unwrap();
    c.bench_function("qr_decode_png", |b| {
        b.iter(|| qr::decode_image(black_box(&png)).unwrap())
    });
}

criterion_group!(tokens, benches);
criterion_main!(tokens);
