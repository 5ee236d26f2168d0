//! Prints the share-proof test vector of `docs/protocol.md` §14.4 (JSON): the fixed consortium
//! of `tests/share_world` (fixed test keys, seeds, times and salts; only the ECDSA signatures
//! differ from run to run), a share proof made by the patient, and what verifying it shows.
//!
//! ```text
//! cargo run -p spondon-ledger --example gen-share-proof-vector
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/share_world/mod.rs"]
mod share_world;

use share_world::*;

fn main() {
    let w = World::new();
    let text = w.share_proof().sign(&w.patient).unwrap();
    let verified = spondon_ledger::share_proof::verify(text.as_bytes(), &w.list).unwrap();
    let v = serde_json::json!({
        "description": "A patient's share proof of one access (a CBC report and a prescription read by Dr. Abul Kalam Azad under a treatment grant), for an investigator; witnessed by one witness (quorum 1).",
        "now": NOW,
        "root_key": w.root.public_key().to_jwk(),
        "trust_list": w.list_text,
        "share_proof": text,
        "expected": verified,
    });
    println!("{}", serde_json::to_string_pretty(&v).unwrap());
}
