//! CPU time per SMART Health Card check on one thread, beside ring's raw ES256 verify of the
//! same signing input, judged by the thread's on-CPU time (`/proc/thread-self/schedstat`), so
//! that other processes on the machine do not move the figures much. Linux only.
//!
//! `cargo run --release -p spondon-core [--features aws-lc] --example shc-cpu [SECONDS] [CASE]` (default 3 s per
//! case; CASE `raw`, `verify` or `parse` runs that case alone, e.g. under `perf record`)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard, VerifyOptions};

const ISS: &str = "https://spec.smarthealth.cards/examples/issuer";

fn read(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The calling thread's on-CPU time in nanoseconds.
fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn case(name: &str, secs: f64, mut f: impl FnMut()) -> f64 {
    let only = std::env::args().nth(2);
    if only.is_some_and(|o| !name.starts_with(o.as_str())) {
        return f64::NAN;
    }
    f();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let c0 = cpu_ns();
    let mut n = 0u64;
    while Instant::now() < until {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    let us = (cpu_ns() - c0) as f64 / 1000.0 / n as f64;
    println!("{name:<28} {us:8.2} µs CPU per op ({n} ops)");
    us
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .map_or(3.0, |s| s.parse().expect("SECONDS"));
    let jws = read("shc/example-00-d-jws.txt");
    let jws = jws.trim();
    let mut dir = Directory::new();
    dir.add_jwks_json(ISS, &read("shc/issuer/.well-known/jwks.json"))
        .unwrap();
    dir.add_crl_json(
        ISS,
        &read("shc/issuer/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"),
    )
    .unwrap();
    let options = VerifyOptions::at(NumericDate(1_700_000_000));
    let (signing_input, sig_b64) = jws.rsplit_once('.').unwrap();
    let sig = spondon_core::b64::decode(sig_b64).unwrap();
    let jwks: spondon_core::Jwks =
        serde_json::from_str(&read("shc/issuer/.well-known/jwks.json")).unwrap();
    let key = spondon_core::Es256PublicKey::from_jwk(&jwks.keys[0]).unwrap();
    let sec1 = key.sec1().to_vec();
    for _ in 0..2 {
        let raw = case("raw verify, ring", secs, || {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                black_box(&sec1[..]),
            )
            .verify(black_box(signing_input.as_bytes()), black_box(&sig))
            .unwrap();
        });
        // The anchor scripts/bench.sh compares with (`scripts/bench/raw-es256`): aws-lc-rs's
        // raw verify with an unparsed key, built with the `aws-lc` feature.
        #[cfg(feature = "aws-lc")]
        let aws = case("raw verify, aws-lc-rs", secs, || {
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                black_box(&sec1[..]),
            )
            .verify(black_box(signing_input.as_bytes()), black_box(&sig))
            .unwrap();
        });
        #[cfg(not(feature = "aws-lc"))]
        let aws = f64::NAN;
        let into = case("verify: parse + into_verified", secs, || {
            let card = ParsedCard::parse(black_box(jws)).unwrap();
            black_box(card.into_verified(&dir, &options).unwrap());
        });
        case("parse only", secs, || {
            black_box(ParsedCard::parse(black_box(jws)).unwrap());
        });
        println!(
            "into_verified ({} verifying) at {:.1} % of ring's raw rate, {:.1} % of aws-lc-rs's",
            spondon_core::ES256_BACKEND,
            raw / into * 100.0,
            aws / into * 100.0
        );
    }
}
