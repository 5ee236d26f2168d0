//! A patient's pull as a wallet checks it, for the peer's multi-process tests (`failover`,
//! `standby_reads`): they drive a spawned `serve`, and the wallet library is out of reach here
//! (`spondon-wallet` dev-depends on this crate).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;

use base64::Engine as _;
use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;
use spondon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use spondon_ledger::{Checkpoint, LogEntry, Opening, SignedCheckpoint, Verifier};
use spondon_testkit::inproc as common;
use spondon_testkit::tiles::proof_hashes;

const ORIGIN: &str = "dmch.example/log";

/// A signed patient request with a fresh nonce.
pub async fn signed(
    addr: SocketAddr,
    key: &Es256KeyPair,
    path: &str,
    body: &Value,
) -> common::Resp {
    spondon_testkit::patient::signed(addr, common::URL, key, path, body)
        .await
        .unwrap_or_else(|| panic!("{path}: no answer"))
}

/// A patient's pull as a wallet checks it: the checkpoint's signature, consistency from the
/// checkpoint it knew, each record's inclusion and commitment opening. Returns the verified
/// checkpoint, the cursor and the records `(id, log_index)`.
pub async fn pull(
    addr: SocketAddr,
    key: &Es256KeyPair,
    log_key: &Verifier,
    known: Option<(&Checkpoint, u64)>,
) -> (Checkpoint, u64, Vec<(String, u64)>) {
    let mut out = Vec::new();
    let mut since = known.map(|k| k.1);
    let mut known_cp = known.map(|k| k.0.clone());
    loop {
        let mut body = json!({});
        if let Some(s) = since {
            body["since"] = s.into();
        }
        if let Some(k) = &known_cp {
            body["known_size"] = k.size.into();
        }
        let r = signed(addr, key, "/patient/records", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let p = r.json();
        let cp = SignedCheckpoint::verify(
            p["checkpoint"].as_str().unwrap().as_bytes(),
            ORIGIN,
            std::slice::from_ref(log_key),
        )
        .unwrap()
        .checkpoint;
        if let Some(k) = &known_cp {
            assert!(cp.size >= k.size, "the log went back");
            verify_consistency(
                k.size,
                cp.size,
                &proof_hashes(&p["consistency_proof"]),
                &k.root,
                &cp.root,
            )
            .unwrap();
        }
        for rec in p["records"].as_array().unwrap() {
            let entry = base64::engine::general_purpose::STANDARD
                .decode(rec["entry"].as_str().unwrap())
                .unwrap();
            let salt: [u8; 32] = spondon_core::b64::decode(rec["salt"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            assert!(LogEntry::decode(&entry).unwrap().opens(&Opening {
                salt,
                payload: rec["jws"].as_str().unwrap().as_bytes().to_vec(),
            }));
            let index = rec["log_index"].as_u64().unwrap();
            verify_inclusion(
                &leaf_hash(&entry),
                index,
                cp.size,
                &proof_hashes(&rec["inclusion_proof"]),
                &cp.root,
            )
            .unwrap();
            out.push((rec["id"].as_str().unwrap().to_owned(), index));
        }
        since = Some(p["cursor"].as_u64().unwrap());
        known_cp = Some(cp.clone());
        if p["more"] != true {
            return (cp, since.unwrap_or(0), out);
        }
    }
}
