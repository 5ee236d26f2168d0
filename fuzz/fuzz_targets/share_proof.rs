#![no_main]
//! Fuzzes the share-proof decoder (docs/protocol.md §14): the compact JWS, its header, the JSON
//! payload and its shape; whatever decodes is verified against the published vector's trust
//! list (grant and credential decoding, signer lookup, signature). None of it may panic.

use libfuzzer_sys::fuzz_target;
use spondon_core::token::TrustList;
use spondon_ledger::share_proof::ShareProof;

/// The trust list of the vector published in docs/protocol.md §14.4.
fn list() -> &'static TrustList {
    static LIST: std::sync::OnceLock<TrustList> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let doc = include_str!("../../docs/protocol.md");
        let start = doc.find("<!-- share-proof-vector:start -->").expect("vector");
        let block = &doc[start..];
        let json = block
            .split_once("```json\n")
            .and_then(|(_, r)| r.split_once("```"))
            .map(|(j, _)| j)
            .expect("json block");
        let v: serde_json::Value = serde_json::from_str(json).expect("vector JSON");
        let root: spondon_core::keys::Jwk =
            serde_json::from_value(v["root_key"].clone()).expect("root key");
        let root = spondon_core::Es256PublicKey::from_jwk(&root).expect("root key");
        TrustList::decode_and_verify(
            v["trust_list"].as_str().expect("trust list"),
            &root,
            0,
            spondon_core::NumericDate(v["now"].as_i64().expect("now")),
        )
        .expect("the vector's trust list")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = ShareProof::decode(data) {
        let _ = decoded.verify(list());
    }
});
