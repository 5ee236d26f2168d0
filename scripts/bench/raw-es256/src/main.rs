//! Raw ES256 verification rate, one thread: `ring::signature::verify` (and aws-lc-rs's, with the
//! `aws-lc` feature) over ECDSA P-256 SHA-256, fixed-size signatures, one key, 300-byte messages
//! (a SMART Health Card's JWS signing input is 250–800 bytes).
//!
//! Two ways, in alternating rounds of 200 verifies so that the machine's drift falls on both:
//! - **distinct**: 200 messages, each with its own signature, verified in turn — what a
//!   verifier meets (no card is checked twice in a row). This is the anchor.
//! - **repeated**: one message and signature verified over and over (this program's measure
//!   until session 12, 2026-12-07). ECDSA verification's branches depend on the signature, so
//!   the CPU's branch predictors learn one repeated signature's path, and this runs ≈ 7 %
//!   faster than any real verifier could (docs/performance.md, the SHC bullet).
//!
//! Prints per library `raw-es256 LIB: N verifications in S s = R verifies/s (1 thread, 200
//! distinct signatures in turn)` and `raw-es256 LIB, one signature repeated: …`; the time is
//! wall-clock time spent in each way's rounds.
//!
//! `raw-es256 [SECONDS]` (default 5): the seconds of each library's alternating rounds.

use std::time::{Duration, Instant};

/// Signatures (and messages) verified in turn.
const DISTINCT: usize = 200;

fn messages() -> Vec<Vec<u8>> {
    (0..DISTINCT as u32)
        .map(|i| {
            let mut m = vec![0x5a_u8; 300];
            m[..4].copy_from_slice(&i.to_le_bytes());
            m
        })
        .collect()
}

/// Alternates rounds: `DISTINCT` verifies of every signature in turn, then `DISTINCT` of the
/// first one repeated; prints both rates.
fn time(lib: &str, secs: u64, verify: impl Fn(usize) -> bool) {
    for k in 0..DISTINCT {
        assert!(verify(k), "{lib}: fresh signature {k} does not verify");
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let (mut distinct, mut repeated) = (Duration::ZERO, Duration::ZERO);
    let mut rounds = 0u64;
    while Instant::now() < until {
        let t = Instant::now();
        for k in 0..DISTINCT {
            assert!(verify(k));
        }
        let u = Instant::now();
        for _ in 0..DISTINCT {
            assert!(verify(0));
        }
        repeated += u.elapsed();
        distinct += u - t;
        rounds += 1;
    }
    let n = rounds * DISTINCT as u64;
    for (way, spent) in [
        (format!(": {n}"), distinct),
        (format!(", one signature repeated: {n}"), repeated),
    ] {
        let s = spent.as_secs_f64();
        let what = if way.starts_with(':') {
            format!("1 thread, {DISTINCT} distinct signatures in turn")
        } else {
            "1 thread".to_owned()
        };
        println!(
            "raw-es256 {lib}{way} verifications in {s:.1} s = {:.0} verifies/s ({what})",
            n as f64 / s
        );
    }
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .map_or(5, |s| s.parse().expect("SECONDS"));
    let msgs = messages();
    {
        use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
        let rng = ring::rand::SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("key");
        let sigs: Vec<_> = msgs
            .iter()
            .map(|m| key.sign(&rng, m).expect("sign"))
            .collect();
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            key.public_key().as_ref().to_vec(),
        );
        time("ring", secs, |k| {
            public.verify(&msgs[k], sigs[k].as_ref()).is_ok()
        });
    }
    #[cfg(feature = "aws-lc")]
    {
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("key");
        let sigs: Vec<_> = msgs
            .iter()
            .map(|m| key.sign(&rng, m).expect("sign"))
            .collect();
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            key.public_key().as_ref().to_vec(),
        );
        time("aws-lc-rs", secs, |k| {
            public.verify(&msgs[k], sigs[k].as_ref()).is_ok()
        });
    }
}
