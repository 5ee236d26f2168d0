//! SMART Health Card verification throughput, beside ring's raw ES256 verification measured in
//! the same run (the floor: one P-256 signature check).
//!
//! `cargo bench -p spondon-core --bench shc -- --warm-up-time 1 --measurement-time 5`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard, decode_numeric_chunks};

const ISS: &str = "https://spec.smarthealth.cards/examples/issuer";

fn read(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("bench vectors missing: {}: {e}", p.display()))
}

fn bench(c: &mut Criterion) {
    let jws = read("shc/example-00-d-jws.txt");
    let qr_text = read("shc/example-00-f-qr-code-numeric-value-0.txt");
    let mut dir = Directory::new();
    dir.add_jwks_json(ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    dir.add_crl_json(
        ISS,
        &read("shc/issuer/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"),
    )
    .unwrap();
    let now = NumericDate(1_700_000_000);
    ParsedCard::parse(&jws).unwrap().verify(&dir, now).unwrap();

    // The raw inputs for ring: signing input, 64-byte signature, SEC1 public key.
    let (signing_input, sig_b64) = jws.rsplit_once('.').unwrap();
    let sig = spondon_core::b64::decode(sig_b64).unwrap();
    let jwks: spondon_core::Jwks =
        serde_json::from_str(&read("shc/issuer/.well-known/jwks.json")).unwrap();
    let key = spondon_core::Es256PublicKey::from_jwk(&jwks.keys[0]).unwrap();
    let sec1 = key.sec1().to_vec();

    let mut g = c.benchmark_group("shc");
    g.throughput(Throughput::Elements(1));
    g.bench_function("shc_verify_example_00", |b| {
        b.iter(|| {
            let card = ParsedCard::parse(black_box(&jws)).unwrap();
            black_box(card.verify(&dir, now).unwrap());
        })
    });
    let options = spondon_core::shc::VerifyOptions::at(now);
    g.bench_function("shc_verify_into_example_00", |b| {
        b.iter(|| {
            let card = ParsedCard::parse(black_box(&jws)).unwrap();
            black_box(card.into_verified(&dir, &options).unwrap());
        })
    });
    g.bench_function("shc_qr_decode_verify_example_00", |b| {
        b.iter(|| {
            let d = decode_numeric_chunks(&[black_box(qr_text.as_str())]).unwrap();
            let card = ParsedCard::parse(&d.jws).unwrap();
            black_box(card.verify(&dir, now).unwrap());
        })
    });
    g.bench_function("shc_parse_only_example_00", |b| {
        b.iter(|| black_box(ParsedCard::parse(black_box(&jws)).unwrap()))
    });
    g.bench_function("ring_es256_verify_raw", |b| {
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                black_box(&sec1[..]),
            )
            .verify(black_box(signing_input.as_bytes()), black_box(&sig))
            .unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
