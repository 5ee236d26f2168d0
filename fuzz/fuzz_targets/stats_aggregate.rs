#![no_main]
//! Fuzzes the statistics aggregate decoder (docs/protocol.md §13): the compact JWS, the JSON
//! payload with its validation, and ISO week parsing. None of it may panic.

use libfuzzer_sys::fuzz_target;
use spondon_core::stats::{Aggregate, IsoWeek};

fuzz_target!(|data: &[u8]| {
    // A fixed key: the signature check fails on anything the fuzzer makes, but everything
    // before it (splitting, base64url, header JSON, kid lookup) runs.
    static KEY: std::sync::OnceLock<spondon_core::Es256PublicKey> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        spondon_core::Es256KeyPair::generate()
            .expect("key generation")
            .public_key()
            .clone()
    });
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Aggregate::verify(text, std::slice::from_ref(key));
        let _ = IsoWeek::parse(text);
    }
    if let Ok(agg) = serde_json::from_slice::<Aggregate>(data) {
        let _ = agg.validate();
    }
});
