//! Writes the delegation test vectors (`docs/protocol.md` §16):
//! `crates/core/tests/vectors/delegation/*.json`, in the format of the token vectors (§11).
//!
//!     cargo run -p spondon-core --example gen-delegation-vectors
//!
//! Keys are the fixed test keys of `tests/vectors/test-keys.json` (TEST KEYS ONLY): `patient`
//! delegates to `other` (a parent), who shares with `doctor`; `hospital` plays a second patient.
//! Deterministic except the ECDSA nonces. Checked by `tests/token_vectors.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ciborium::Value;
use ciborium::value::Integer;
use serde_json::json;
use spondon_core::keys::{Es256KeyPair, Jwk};
use spondon_core::time::NumericDate;
use spondon_core::token::{
    self, Audience, Category, Delegation, Grant, Purpose, Scope, TokenError,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const NOW: NumericDate = NumericDate(1_767_225_600); // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;
const PEER: &str = "https://peer.dmch.gov.bd";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn key(map: &BTreeMap<String, serde_json::Value>, n: &str) -> Result<Es256KeyPair> {
    let jwk: Jwk = serde_json::from_value(map.get(n).ok_or("missing key")?.clone())?;
    Ok(Es256KeyPair::from_jwk(&jwk)?)
}

fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

fn key_of(v: &Value) -> Option<i128> {
    match v {
        Value::Integer(i) => Some(i128::from(*i)),
        _ => None,
    }
}

fn delegation(patient: &Es256KeyPair, delegate: &Es256KeyPair) -> Delegation {
    Delegation {
        id: *b"delegation-00001",
        patient_key: patient.public_key().clone(),
        delegate_key: delegate.public_key().clone(),
        scopes: vec![Scope::View, Scope::Share],
        categories: vec![Category::Prescription, Category::LabResult],
        peers: vec![PEER.into()],
        guardians: vec![delegate.kid().to_owned()],
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(365 * DAY),
    }
}

fn grant(patient: &Es256KeyPair, doctor: &Es256KeyPair) -> Grant {
    Grant {
        id: *b"grant-delegated1",
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![],
        record_ids: vec!["dmch/DiagnosticReport/77".into()],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(7 * DAY),
        use_limit: Some(3),
        peers: vec![PEER.into()],
    }
}

/// A delegate's grant built by hand, so that it can break the rules `sign_as_delegate`
/// enforces: `g`'s claims plus field 10 = the COSE bytes of `delegation_text`, signed by
/// `signer`.
fn raw_delegated(
    g: &Grant,
    patient: &Es256KeyPair,
    delegation_text: &str,
    signer: &Es256KeyPair,
) -> Result<String> {
    let own = g.sign(patient)?;
    let payload = token::raw::payload(&token::raw::from_text(&own)?)?;
    let mut claims: Value = ciborium::from_reader(&payload[..])?;
    let Value::Map(map) = &mut claims else {
        return Err("claims are not a map".into());
    };
    let Some((_, Value::Map(sp))) = map.iter_mut().find(|(k, _)| key_of(k) == Some(-65537)) else {
        return Err("no Spondon claim".into());
    };
    sp.push((
        int(10),
        Value::Bytes(token::raw::from_text(delegation_text)?),
    ));
    let mut bytes = Vec::new();
    ciborium::into_writer(&claims, &mut bytes)?;
    Ok(token::raw::to_text(&token::raw::sign_cose(
        signer,
        &Value::Map(vec![(int(1), int(-7))]),
        Value::Map(vec![]),
        &bytes,
    )?))
}

/// Re-signs a delegation after changing its Spondon claim (or its cnf) with `f`.
fn raw_delegation(
    d: &Delegation,
    patient: &Es256KeyPair,
    signer: &Es256KeyPair,
    f: impl FnOnce(&mut Vec<(Value, Value)>),
) -> Result<String> {
    let text = d.sign(patient)?;
    let payload = token::raw::payload(&token::raw::from_text(&text)?)?;
    let mut claims: Value = ciborium::from_reader(&payload[..])?;
    let Value::Map(map) = &mut claims else {
        return Err("claims are not a map".into());
    };
    f(map);
    let mut bytes = Vec::new();
    ciborium::into_writer(&claims, &mut bytes)?;
    Ok(token::raw::to_text(&token::raw::sign_cose(
        signer,
        &Value::Map(vec![(int(1), int(-7))]),
        Value::Map(vec![]),
        &bytes,
    )?))
}

fn spondon(map: &mut [(Value, Value)]) -> Option<&mut Vec<(Value, Value)>> {
    map.iter_mut()
        .find(|(k, _)| key_of(k) == Some(-65537))
        .and_then(|(_, v)| match v {
            Value::Map(m) => Some(m),
            _ => None,
        })
}

fn main() -> Result<()> {
    let map: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("test-keys.json"))?)?;
    let patient = key(&map, "patient")?;
    let parent = key(&map, "other")?;
    let doctor = key(&map, "doctor")?;
    let second_patient = key(&map, "hospital")?;

    let d = delegation(&patient, &parent);
    let d_text = d.sign(&patient)?;
    let g = grant(&patient, &doctor);
    let g_text = g.sign_as_delegate(&parent, &d_text)?;
    let at = NOW.saturating_add(3600);

    let mut cases: Vec<(&str, &str, String, NumericDate)> = vec![
        (
            "01-delegation-minor",
            "The patient (a minor) delegates view and share of prescriptions and lab results at one peer to a parent, who is its guardian.",
            d_text.clone(),
            at,
        ),
        (
            "02-delegated-grant",
            "The parent shares one lab report with the doctor: a grant signed by the parent's key embedding the delegation (two signatures).",
            g_text.clone(),
            at,
        ),
    ];
    // --- must fail ---------------------------------------------------------------------------
    let mut wide = g.clone();
    wide.record_ids = vec![];
    wide.categories = vec![Category::LabResult, Category::Diagnosis];
    cases.push((
        "10-grant-category-exceeds-delegation",
        "The delegate's grant covers diagnoses; the delegation only prescriptions and lab results.",
        raw_delegated(&wide, &patient, &d_text, &parent)?,
        at,
    ));
    let mut other_peer = g.clone();
    other_peer.peers = vec!["https://peer.labaid.com.bd".into()];
    cases.push((
        "11-grant-peer-outside-delegation",
        "The delegate's grant names a peer the delegation does not.",
        raw_delegated(&other_peer, &patient, &d_text, &parent)?,
        at,
    ));
    let mut long = g.clone();
    long.expires = NOW.saturating_add(366 * DAY);
    cases.push((
        "12-grant-outlives-delegation",
        "The delegate's grant expires after the delegation.",
        raw_delegated(&long, &patient, &d_text, &parent)?,
        at,
    ));
    let mut view_only = d.clone();
    view_only.scopes = vec![Scope::View];
    cases.push((
        "13-delegation-without-share-scope",
        "A grant under a view-only delegation.",
        raw_delegated(&g, &patient, &view_only.sign(&patient)?, &parent)?,
        at,
    ));
    cases.push((
        "14-forged-delegation",
        "The 'delegate' signed the delegation itself, naming a patient who never delegated.",
        raw_delegated(
            &g,
            &patient,
            &raw_delegation(&d, &patient, &parent, |_| {})?,
            &parent,
        )?,
        at,
    ));
    cases.push((
        "15-grant-signed-by-another-key",
        "The grant embeds a real delegation to the parent but is signed by the doctor's key.",
        raw_delegated(&g, &patient, &d_text, &doctor)?,
        at,
    ));
    let mut foreign = d.clone();
    foreign.patient_key = second_patient.public_key().clone();
    cases.push((
        "16-delegation-of-another-patient",
        "A real delegation from a second patient, used for a grant naming the first patient's key.",
        raw_delegated(&g, &patient, &foreign.sign(&second_patient)?, &parent)?,
        at,
    ));
    cases.push((
        "17-delegation-expired",
        "The delegated grant (and its delegation) after the delegation's expiry.",
        g_text.clone(),
        NOW.saturating_add(365 * DAY),
    ));
    cases.push((
        "18-delegation-unknown-scope",
        "A delegation with scope code 9.",
        raw_delegation(&d, &patient, &patient, |m| {
            if let Some(sp) = spondon(m) {
                sp.retain(|(k, _)| key_of(k) != Some(3));
                sp.push((int(3), Value::Array(vec![int(1), int(9)])));
            }
        })?,
        at,
    ));
    cases.push((
        "19-minor-delegate-not-a-guardian",
        "A minor's delegation whose delegate is not among the guardians.",
        raw_delegation(&d, &patient, &patient, |m| {
            if let Some(sp) = spondon(m) {
                sp.retain(|(k, _)| key_of(k) != Some(10));
                let raw = spondon_core::b64::decode(doctor.kid()).unwrap_or_default();
                sp.push((int(10), Value::Array(vec![Value::Bytes(raw)])));
            }
        })?,
        at,
    ));
    cases.push((
        "20-delegation-cnf-kid",
        "The delegation's cnf holds a kid instead of the delegate's key.",
        raw_delegation(&d, &patient, &patient, |m| {
            m.retain(|(k, _)| key_of(k) != Some(8));
            let raw = spondon_core::b64::decode(parent.kid()).unwrap_or_default();
            m.push((int(8), Value::Map(vec![(int(3), Value::Bytes(raw))])));
        })?,
        at,
    ));
    let mut write = g.clone();
    write.write = true;
    write.record_ids = vec![];
    write.categories = vec![Category::Prescription];
    cases.push((
        "21-write-grant-without-manage",
        "A write grant under a delegation without the manage scope.",
        raw_delegated(&write, &patient, &d_text, &parent)?,
        at,
    ));
    cases.push((
        "22-delegation-issued-in-future",
        "The delegation checked an hour before its iat (beyond the 300 s skew).",
        d_text.clone(),
        NOW.saturating_add(-3600),
    ));
    cases.push((
        "23-embedded-token-not-a-delegation",
        "Field 10 holds a grant, not a delegation.",
        raw_delegated(&g, &patient, &g.sign(&patient)?, &parent)?,
        at,
    ));

    let out = dir().join("delegation");
    std::fs::create_dir_all(&out)?;
    for p in std::fs::read_dir(&out)? {
        let p = p?.path();
        if p.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(p)?;
        }
    }
    for (name, description, text, now) in cases {
        let (stage, error, kind, claims): (Option<&str>, Option<TokenError>, _, _) =
            match token::decode_any(&text) {
                Err(e) => (Some("parse"), Some(e), None, None),
                Ok(p) => match p.verify(&token::TrustAnchors::default(), now) {
                    Ok(()) => (
                        None,
                        None,
                        Some(p.kind.name()),
                        Some(serde_json::to_value(&p.claims)?),
                    ),
                    Err(e) => (Some("verify"), Some(e), Some(p.kind.name()), None),
                },
            };
        let doc = json!({
            "description": description,
            "text": text,
            "now": now,
            "anchors": { "root_key": null, "trust_list": null, "min_trust_list_sequence": 0 },
            "expected": {
                "valid": error.is_none(),
                "stage": stage,
                "error": error.as_ref().map(TokenError::code),
                "kind": kind,
                "claims": claims,
            },
        });
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&doc)? + "\n",
        )?;
        println!(
            "{name:<40} {} ({} chars)",
            error.as_ref().map_or("valid", TokenError::code),
            text.len()
        );
    }
    // Seeds for the `delegation` fuzz target.
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/delegation");
    std::fs::create_dir_all(&seeds)?;
    std::fs::write(seeds.join("delegation.txt"), &d_text)?;
    std::fs::write(seeds.join("delegated-grant.txt"), &g_text)?;
    Ok(())
}
