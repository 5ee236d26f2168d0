//! Writes the key rotation test vectors (`docs/protocol.md` §17):
//! `crates/core/tests/vectors/key_rotation/*.json`.
//!
//!     cargo run -p spondon-core --example gen-key-rotation-vectors
//!
//! Keys are the fixed TEST keys of `crates/core/tests/vectors/test-keys.json` (old key
//! "patient", new key "other", a third party "doctor"). Deterministic except the ECDSA nonces.
//! Checked by `tests/key_rotation_vectors.rs` with `KeyRotation::decode_and_verify(text, now)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ciborium::Value;
use ciborium::value::Integer;
use serde_json::json;
use spondon_core::keys::{Es256KeyPair, Jwk};
use spondon_core::time::NumericDate;
use spondon_core::token::{self, KeyRotation, Revocation, RevocationTarget};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const NOW: NumericDate = NumericDate(1_767_225_600); // 2026-01-01T00:00:00Z
const PEER: &str = "https://dmch.example";
const HEALTH_ID: &str = "98765432101";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn key(name: &str) -> Result<Es256KeyPair> {
    let map: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("test-keys.json"))?)?;
    let jwk: Jwk = serde_json::from_value(map.get(name).ok_or("missing key")?.clone())?;
    Ok(Es256KeyPair::from_jwk(&jwk)?)
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn is_key(v: &Value, k: i128) -> bool {
    matches!(v, Value::Integer(i) if i128::from(*i) == k)
}

/// Re-signs `text` with `signer` after changing its claims with `f` (protected header `{1: -7}`
/// plus, if given, kid).
fn mutate(
    text: &str,
    signer: &Es256KeyPair,
    kid: Option<&Es256KeyPair>,
    f: impl FnOnce(&mut Vec<(Value, Value)>),
) -> Result<String> {
    let cose = token::raw::from_text(text)?;
    let payload = token::raw::payload(&cose)?;
    let mut claims: Value = ciborium::from_reader(&payload[..])?;
    let Value::Map(map) = &mut claims else {
        return Err("claims are not a map".into());
    };
    f(map);
    let mut bytes = Vec::new();
    ciborium::into_writer(&claims, &mut bytes)?;
    let mut protected = vec![(int(1), int(-7))];
    if let Some(k) = kid {
        protected.push((
            int(4),
            Value::Bytes(spondon_core::b64::decode(k.kid()).unwrap_or_default()),
        ));
    }
    Ok(token::raw::to_text(&token::raw::sign_cose(
        signer,
        &Value::Map(protected),
        Value::Map(vec![]),
        &bytes,
    )?))
}

/// Sets field `key` of the Spondon claim.
fn set_field(map: &mut [(Value, Value)], key: i64, value: Value) {
    if let Some((_, Value::Map(m))) = map.iter_mut().find(|(k, _)| is_key(k, -65537)) {
        m.retain(|(k, _)| !is_key(k, key.into()));
        m.push((int(key), value));
    }
}

fn remove_field(map: &mut [(Value, Value)], key: i64) {
    if let Some((_, Value::Map(m))) = map.iter_mut().find(|(k, _)| is_key(k, -65537)) {
        m.retain(|(k, _)| !is_key(k, key.into()));
    }
}

fn statement(old: &Es256KeyPair, new: &Es256KeyPair, signer_of_6: &Es256KeyPair) -> Result<String> {
    let id = *b"rotate-000000001";
    let msg = KeyRotation::new_key_message(
        old.public_key(),
        new.public_key(),
        HEALTH_ID,
        PEER,
        NOW,
        &id,
    )?;
    Ok(KeyRotation {
        id,
        old_key: old.public_key().clone(),
        new_key: new.public_key().clone(),
        health_id: HEALTH_ID.into(),
        peer: PEER.into(),
        issued_at: NOW,
        new_key_signature: signer_of_6.sign(&msg)?,
    }
    .sign(old)?)
}

fn main() -> Result<()> {
    let old = key("patient")?;
    let new = key("other")?;
    let third = key("doctor")?;
    let valid = statement(&old, &new, &new)?;
    let later = NOW.saturating_add(60);
    let mut vectors: Vec<(&str, &str, String, NumericDate)> = vec![
        (
            "01-valid",
            "The patient's old key moves the binding at DMCH to the new key; both keys signed.",
            valid.clone(),
            later,
        ),
        (
            "02-new-key-signature-by-another-key",
            "Field 6 is signed by a third key, not the new key: possession of the new key is not proven.",
            statement(&old, &new, &third)?,
            later,
        ),
        (
            "03-signed-by-another-key",
            "The COSE signature is not by the old key the statement names.",
            mutate(&valid, &third, None, |_| {})?,
            later,
        ),
        (
            "04-health-id-changed",
            "Re-signed by the old key with another Health ID, keeping the new key's signature: field 6 no longer covers it.",
            mutate(&valid, &old, None, |m| {
                set_field(m, 4, Value::Text("11111111111".into()))
            })?,
            later,
        ),
        (
            "05-peer-changed",
            "Re-signed by the old key for another peer, keeping the new key's signature.",
            mutate(&valid, &old, None, |m| {
                set_field(m, 5, Value::Text("https://cmch.example".into()))
            })?,
            later,
        ),
        (
            "06-same-key",
            "Old key and new key are the same key.",
            mutate(&valid, &old, None, |m| {
                set_field(m, 3, Value::Bytes(old.public_key().sec1().to_vec()))
            })?,
            later,
        ),
        (
            "07-with-exp",
            "A key rotation has no exp.",
            mutate(&valid, &old, None, |m| m.push((int(4), int(NOW.0 + 3600))))?,
            later,
        ),
        (
            "08-no-new-key-signature",
            "Field 6 is missing.",
            mutate(&valid, &old, None, |m| remove_field(m, 6))?,
            later,
        ),
        (
            "09-unknown-field",
            "Field 7 is not defined for a key rotation.",
            mutate(&valid, &old, None, |m| set_field(m, 7, int(1)))?,
            later,
        ),
        (
            "10-kid-of-another-key",
            "The protected kid is the new key's thumbprint, not the signer's (the old key).",
            mutate(&valid, &old, Some(&new), |_| {})?,
            later,
        ),
        (
            "11-peer-url-second-spelling",
            "The peer URL with a trailing slash (not its one spelling).",
            mutate(&valid, &old, None, |m| {
                set_field(m, 5, Value::Text(format!("{PEER}/")))
            })?,
            later,
        ),
        (
            "12-iat-in-future",
            "Made more than 300 s after the verifier's clock.",
            valid.clone(),
            NOW.saturating_add(-301),
        ),
        (
            "13-stale",
            "Made more than 900 s before the verifier's clock (a held-back or replayed statement).",
            valid.clone(),
            NOW.saturating_add(901),
        ),
        (
            "14-short-new-key-signature",
            "Field 6 is 63 bytes.",
            mutate(&valid, &old, None, |m| {
                set_field(m, 6, Value::Bytes(vec![7; 63]))
            })?,
            later,
        ),
    ];
    let rev = Revocation {
        id: *b"revoke-000000002",
        patient_key: old.public_key().clone(),
        target: RevocationTarget::IssuedBefore { before: NOW },
        issued_at: NOW,
    };
    vectors.push((
        "15-a-revocation",
        "A revocation (kind 2) where a key rotation is expected.",
        rev.sign(&old)?,
        later,
    ));
    let out = dir().join("key_rotation");
    std::fs::create_dir_all(&out)?;
    for (name, description, text, now) in vectors {
        let got = KeyRotation::decode_and_verify(&text, now);
        let doc = json!({
            "description": description,
            "text": text,
            "now": now,
            "expected": {
                "valid": got.is_ok(),
                "error": got.as_ref().err().map(|e| e.code()),
                "claims": got.as_ref().ok().map(serde_json::to_value).transpose()?,
            },
        });
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&doc)? + "\n",
        )?;
        println!(
            "{name:<40} {}",
            got.as_ref().err().map_or("valid", |e| e.code())
        );
    }
    Ok(())
}
