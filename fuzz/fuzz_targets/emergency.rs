#![no_main]
//! Fuzzes the emergency access decoders (docs/protocol.md §14): a doctor's request, the
//! patient's policy and dispute bodies with their checks, and the logged event a wallet reads.
//! None of it may panic.

use libfuzzer_sys::fuzz_target;
use spondon_core::emergency::{DisputeRequest, EmergencyInfo, EmergencyPolicy, EmergencyRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = EmergencyRequest::decode(data) {
        let _ = r.validate();
    }
    if let Ok(p) = EmergencyPolicy::decode(data) {
        let _ = p.validate(1_800_000_000);
        let _ = p.validate(i64::MAX);
        let _ = p.allows("https://dmch.example");
    }
    if let Ok(d) = DisputeRequest::decode(data) {
        let _ = d.validate();
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = EmergencyInfo::from_event(&v);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = spondon_core::emergency::policy_url_ok(text);
    }
});
