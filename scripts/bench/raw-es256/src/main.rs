//! Raw ES256 verification rate, one thread: `ring::signature::verify` (and aws-lc-rs's, with the
//! `aws-lc` feature) over ECDSA P-256 SHA-256, fixed-size signatures, on a 300-byte message (the
//! size of a SMART Health Card's JWS signing input is 250–600 bytes). Prints one line per
//! library: `raw-es256 LIB: N verifications in S s = R verifies/s (1 thread)`.
//!
//! `raw-es256 [SECONDS]` (default 5).

use std::time::{Duration, Instant};

fn time(lib: &str, secs: u64, mut verify: impl FnMut() -> bool) {
    assert!(verify(), "{lib}: a fresh signature does not verify");
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut n = 0u64;
    while Instant::now() < until {
        for _ in 0..100 {
            assert!(verify());
        }
        n += 100;
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "raw-es256 {lib}: {n} verifications in {s:.1} s = {:.0} verifies/s (1 thread)",
        n as f64 / s
    );
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .map_or(5, |s| s.parse().expect("SECONDS"));
    let msg = vec![0x5a_u8; 300];
    {
        use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
        let rng = ring::rand::SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("key");
        let sig = key.sign(&rng, &msg).expect("sign");
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            key.public_key().as_ref().to_vec(),
        );
        time("ring", secs, || public.verify(&msg, sig.as_ref()).is_ok());
    }
    #[cfg(feature = "aws-lc")]
    {
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("key");
        let sig = key.sign(&rng, &msg).expect("sign");
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            key.public_key().as_ref().to_vec(),
        );
        time("aws-lc-rs", secs, || {
            public.verify(&msg, sig.as_ref()).is_ok()
        });
    }
}
