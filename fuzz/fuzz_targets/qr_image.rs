#![no_main]
//! Fuzzes reading QR codes out of uploaded images, with a time and memory bound per input:
//! the decoder must give up at its budget (plus a margin for the image decoding before
//! detection), and scripts/fuzz.sh runs this target with a per-input -timeout and a lower
//! -rss_limit_mb than the others.

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

const BUDGET: Duration = Duration::from_millis(500);

fuzz_target!(|data: &[u8]| {
    let started = Instant::now();
    let _ = spondon_core::qr::decode_image_within(data, BUDGET, &spondon_core::qr::Cancel::new());
    let took = started.elapsed();
    assert!(
        took < BUDGET * 6,
        "decode_image_within ran {took:?} on a {}-byte input (budget {BUDGET:?})",
        data.len()
    );
});
