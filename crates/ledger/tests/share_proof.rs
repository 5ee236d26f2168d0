//! Share proofs (`docs/protocol.md` §14) against a fixed consortium: what verifies, every
//! alteration refused (signed over, and re-signed by a maker who lies), no record content, the
//! document holder's match, and the vector published in `docs/protocol.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod share_world;

use serde_json::Value;
use share_world::*;
use spondon_core::NumericDate;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::token::TrustList;
use spondon_ledger::share_proof::{
    self, Document, DocumentMatch, Maker, ShareProof, record_commitment,
};

fn verify(text: &str, list: &TrustList) -> Result<share_proof::VerifiedShare, String> {
    share_proof::verify(text.as_bytes(), list).map_err(|e| e.code().to_owned())
}

#[test]
fn a_patient_made_share_proof_verifies_and_says_who_what_when() {
    let w = World::new();
    let text = w.share_proof().sign(&w.patient).unwrap();
    let v = share_proof::verify(text.as_bytes(), &w.list).unwrap();
    assert_eq!(v.maker, Maker::Patient);
    assert_eq!(v.at, ACCESS_AT);
    assert_eq!(v.hospital_id, "dmch");
    assert_eq!(v.action, "view");
    let d = v.doctor.as_ref().unwrap();
    assert_eq!(
        (d.name.as_str(), d.bmdc_number.as_str()),
        ("Dr. Abul Kalam Azad", "A-54321")
    );
    assert_eq!(d.kid, w.doctor.kid());
    assert_eq!(v.grant.id, spondon_core::b64::encode([0x11u8; 16]));
    assert_eq!(v.grant.patient_kid, w.patient.kid());
    assert_eq!(v.grant.purpose, "treatment");
    assert_eq!(v.records.len(), 2);
    assert_eq!(
        (v.records[0].id.as_str(), v.records[0].kind.as_str()),
        (LAB_ID, "lab_report")
    );
    assert_eq!(
        v.records[0].commitment,
        record_commitment(&w.records[0].3, &w.records[0].4)
    );
    assert_eq!(v.witness_cosignatures, 1);
    assert_eq!(v.witness_quorum, 1);
    assert_eq!(
        v.investigator.as_ref().map(|i| i.id.as_str()),
        Some("cid.dmp")
    );
}

#[test]
fn hospital_and_doctor_made_share_proofs_verify() {
    let w = World::new();
    let h = share_proof::verify(
        w.share_proof().sign(&w.hospital).unwrap().as_bytes(),
        &w.list,
    )
    .unwrap();
    assert_eq!(h.maker, Maker::Hospital);
    let d =
        share_proof::verify(w.share_proof().sign(&w.doctor).unwrap().as_bytes(), &w.list).unwrap();
    assert_eq!(d.maker, Maker::Doctor);
    // Anyone else's key: refused.
    let o = w.share_proof().sign(&w.other).unwrap();
    assert_eq!(verify(&o, &w.list).unwrap_err(), "unknown_signer");
}

#[test]
fn it_holds_no_record_content() {
    let w = World::new();
    let text = w.share_proof().sign(&w.patient).unwrap();
    assert!(!text.contains(SECRET));
    let payload = text.split('.').nth(1).unwrap();
    let payload = String::from_utf8(spondon_core::b64::decode(payload).unwrap()).unwrap();
    assert!(!payload.contains(SECRET), "{payload}");
    assert!(!payload.contains("HAEMOGLOBIN"));
    // Nor the records' salts, which with a guessed card would open the commitments.
    for r in &w.records {
        assert!(!payload.contains(&spondon_core::b64::encode(r.3)));
    }
}

/// Every leaf of a JSON value, as a path and a changed value.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at_path<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        other => &mut other[k.as_str()],
    })
}

/// A different value of the same type: one character changed in the middle of a string
/// (kept in its alphabet), a number plus one.
fn altered(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let mut c: Vec<char> = s.chars().collect();
            let i = c.len() / 2;
            c[i] = match c[i] {
                'A' => 'B',
                'a' => 'b',
                '0' => '1',
                _ => 'A',
            };
            Value::String(c.into_iter().collect())
        }
        Value::Number(n) => Value::from(n.as_i64().unwrap() + 1),
        other => panic!("unexpected leaf {other}"),
    }
}

fn resign(text: &str, key: &spondon_core::keys::Es256KeyPair, path: &[String]) -> String {
    let payload = text.split('.').nth(1).unwrap();
    let mut v: Value =
        serde_json::from_slice(&spondon_core::b64::decode(payload).unwrap()).unwrap();
    let leaf = at_path(&mut v, path);
    *leaf = altered(leaf);
    let p: ShareProof = serde_json::from_value(v).unwrap();
    p.sign(key).unwrap()
}

#[test]
fn any_field_altered_after_signing_is_refused() {
    let w = World::new();
    let text = w.share_proof().sign(&w.patient).unwrap();
    let parts: Vec<&str> = text.split('.').collect();
    let payload: Value =
        serde_json::from_slice(&spondon_core::b64::decode(parts[1]).unwrap()).unwrap();
    let mut paths = Vec::new();
    leaves(&payload, &mut Vec::new(), &mut paths);
    assert!(paths.len() >= 12, "{paths:?}");
    for path in &paths {
        let mut v = payload.clone();
        let leaf = at_path(&mut v, path);
        *leaf = altered(leaf);
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            spondon_core::b64::encode(serde_json::to_vec(&v).unwrap()),
            parts[2]
        );
        let err = verify(&forged, &w.list).expect_err(&path.join("."));
        assert!(
            [
                "bad_signature",
                "unknown_signer",
                "grant_invalid",
                "doctor_credential_invalid",
                "unsupported_format",
                "malformed",
                "unknown_hospital",
                "unknown_investigator",
            ]
            .contains(&err.as_str()),
            "{}: {err}",
            path.join(".")
        );
    }
    // The header and the signature too.
    for (i, part) in parts.iter().enumerate() {
        let mut c: Vec<char> = part.chars().collect();
        let j = c.len() / 2;
        c[j] = if c[j] == 'A' { 'B' } else { 'A' };
        let mut p = parts.clone();
        let changed: String = c.into_iter().collect();
        p[i] = &changed;
        assert!(verify(&p.join("."), &w.list).is_err(), "part {i}");
    }
}

#[test]
fn a_maker_who_alters_what_the_log_grant_and_credential_prove_is_caught() {
    let w = World::new();
    let text = w.share_proof().sign(&w.patient).unwrap();
    let s = |p: &[&str]| p.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: Vec<(Vec<String>, &[&str])> = vec![
        (s(&["investigator"]), &["unknown_investigator"]),
        (s(&["peer"]), &["unknown_hospital"]),
        (s(&["access", "event"]), &["event_mismatch"]),
        (s(&["access", "salt"]), &["event_mismatch", "malformed"]),
        (s(&["access", "proof"]), &["access_not_logged"]),
        (s(&["grant"]), &["grant_invalid", "unknown_signer"]),
        (s(&["doctor"]), &["doctor_credential_invalid"]),
        (s(&["records", "0", "id"]), &["records_mismatch"]),
        (s(&["records", "1", "id"]), &["records_mismatch"]),
        (s(&["records", "0", "proof"]), &["record_not_logged"]),
        (s(&["records", "1", "proof"]), &["record_not_logged"]),
    ];
    for (path, codes) in &cases {
        let forged = resign(&text, &w.patient, path);
        let err = verify(&forged, &w.list).expect_err(&path.join("."));
        assert!(codes.contains(&err.as_str()), "{}: {err}", path.join("."));
    }

    // A kind the grant does not cover.
    let mut p = w.share_proof();
    p.records[0].kind = "diagnosis".into();
    let err = verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err();
    assert_eq!(err, "record_not_covered");
    // Records swapped or one left out.
    let mut p = w.share_proof();
    p.records.swap(0, 1);
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "records_mismatch"
    );
    let mut p = w.share_proof();
    p.records.pop();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "records_mismatch"
    );
    // A record's proof replaced by the access's own entry: not an issuance.
    let mut p = w.share_proof();
    p.records[0].proof = p.access.proof.clone();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "record_not_logged"
    );
    // The access replaced by a record issuance.
    let mut p = w.share_proof();
    p.access.proof = w.proof(1, true);
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "not_an_access"
    );
    // Another patient's grant (signed by another key) for the same id: the maker is not its
    // signer, and re-signing with that key breaks the logged grant's link.
    let mut other = w.grant.clone();
    other.patient_key = w.other.public_key().clone();
    let mut p = w.share_proof();
    p.grant = other.sign(&w.other).unwrap();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "unknown_signer"
    );
    // A grant for another audience.
    let mut g = w.grant.clone();
    g.audience = spondon_core::token::Audience::Key {
        kid: w.other.kid().to_owned(),
    };
    let mut p = w.share_proof();
    p.grant = g.sign(&w.patient).unwrap();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "grant_mismatch"
    );
    // A grant that was not yet valid when the access was logged.
    let mut g = w.grant.clone();
    g.not_before = NumericDate(ACCESS_AT + 1);
    g.issued_at = NumericDate(ACCESS_AT + 1);
    let mut p = w.share_proof();
    p.grant = g.sign(&w.patient).unwrap();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "grant_invalid"
    );
    // Another doctor's credential.
    let mut p = w.share_proof();
    p.doctor = Some(
        spondon_core::token::DoctorCredential {
            hospital_id: PEER.into(),
            bmdc_number: "B-1".into(),
            name: "Dr. Other".into(),
            department: "Surgery".into(),
            doctor_key: w.other.public_key().clone(),
            issued_at: NumericDate(T0),
            not_before: NumericDate(T0),
            expires: NumericDate(T0 + 86_400 * 30),
        }
        .sign(&w.hospital)
        .unwrap(),
    );
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "doctor_mismatch"
    );
    // A credential no member hospital signed.
    let mut p = w.share_proof();
    p.doctor = Some(
        spondon_core::token::DoctorCredential {
            hospital_id: PEER.into(),
            bmdc_number: "A-54321".into(),
            name: "Dr. Abul Kalam Azad".into(),
            department: "Medicine".into(),
            doctor_key: w.doctor.public_key().clone(),
            issued_at: NumericDate(T0),
            not_before: NumericDate(T0),
            expires: NumericDate(T0 + 86_400 * 30),
        }
        .sign(&w.other)
        .unwrap(),
    );
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "doctor_credential_invalid"
    );
    let mut p = w.share_proof();
    p.doctor = None;
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "doctor_credential_invalid"
    );
}

#[test]
fn a_checkpoint_short_of_the_quorum_is_refused() {
    let w = World::new();
    let mut p = w.share_proof();
    p.access.proof = w.proof(w.access_index, false);
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "not_witnessed"
    );
}

#[test]
fn unusable_files_get_their_own_errors() {
    let w = World::new();
    let list = &w.list;
    assert_eq!(verify("", list).unwrap_err(), "malformed");
    assert_eq!(verify("a.b", list).unwrap_err(), "malformed");
    assert_eq!(
        share_proof::verify(&vec![b'a'; 300 * 1024], list)
            .unwrap_err()
            .code(),
        "too_large"
    );
    let mut p = w.share_proof();
    p.format = "spondon-share-proof/v2".into();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), list).unwrap_err(),
        "unsupported_format"
    );
    let mut p = w.share_proof();
    p.records.clear();
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), list).unwrap_err(),
        "malformed"
    );
    // A final newline (a file written by a shell) is fine.
    let text = w.share_proof().sign(&w.patient).unwrap() + "\n";
    assert!(verify(&text, list).is_ok());
}

#[test]
fn a_document_holder_learns_the_share_dates_of_the_document() {
    let w = World::new();
    let v = share_proof::verify(
        w.share_proof().sign(&w.patient).unwrap().as_bytes(),
        &w.list,
    )
    .unwrap();
    let (id, _, _, salt, card) = &w.records[0];
    let with = Document {
        issuer: PEER.into(),
        record_id: id.clone(),
        commitment: Some(record_commitment(salt, card)),
    };
    assert_eq!(v.document(&with).unwrap(), Some(DocumentMatch::Commitment));
    let without = Document {
        commitment: None,
        ..with.clone()
    };
    assert_eq!(v.document(&without).unwrap(), Some(DocumentMatch::RecordId));
    let forged = Document {
        commitment: Some(record_commitment(salt, "another card")),
        ..with.clone()
    };
    assert_eq!(v.document(&forged).unwrap_err().code(), "records_mismatch");
    let elsewhere = Document {
        issuer: "https://other.example".into(),
        ..with.clone()
    };
    assert_eq!(v.document(&elsewhere).unwrap(), None);
    let unrelated = Document {
        record_id: "rec-other".into(),
        ..with
    };
    assert_eq!(v.document(&unrelated).unwrap(), None);
}

#[test]
fn trust_lists_with_and_without_investigators_decode() {
    let w = World::new();
    let now = NumericDate(NOW);
    let back = TrustList::decode_and_verify(&w.list_text, w.root.public_key(), 0, now).unwrap();
    assert_eq!(back.investigators, w.list.investigators);
    let mut old = w.list.clone();
    old.investigators.clear();
    let text = old.sign(&w.root).unwrap();
    let back = TrustList::decode_and_verify(&text, w.root.public_key(), 0, now).unwrap();
    assert!(back.investigators.is_empty());
    // A bad investigator id is refused when signing.
    let mut bad = w.list.clone();
    bad.investigators[0].id = "CID DMP".into();
    assert!(bad.sign(&w.root).is_err());
    // An investigator not in the list: the share proof names someone the consortium did not.
    let mut p = w.share_proof();
    p.investigator = Some("someone".into());
    assert_eq!(
        verify(&p.sign(&w.patient).unwrap(), &w.list).unwrap_err(),
        "unknown_investigator"
    );
}

/// The vector published in docs/protocol.md §14.4, between its markers.
fn published() -> Value {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/protocol.md"
    ))
    .unwrap();
    let start = doc
        .find("<!-- share-proof-vector:start -->")
        .expect("the vector's start marker");
    let end = doc
        .find("<!-- share-proof-vector:end -->")
        .expect("the vector's end marker");
    let block = &doc[start..end];
    let json = block
        .split_once("```json\n")
        .and_then(|(_, r)| r.rsplit_once("```"))
        .map(|(j, _)| j)
        .expect("a json block");
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_published_vector_verifies_to_its_expected_result() {
    let v = published();
    let jwk: Jwk = serde_json::from_value(v["root_key"].clone()).unwrap();
    let root = Es256PublicKey::from_jwk(&jwk).unwrap();
    let now = NumericDate(v["now"].as_i64().unwrap());
    let list =
        TrustList::decode_and_verify(v["trust_list"].as_str().unwrap(), &root, 0, now).unwrap();
    let share = v["share_proof"].as_str().unwrap();
    let verified = share_proof::verify(share.as_bytes(), &list).unwrap();
    assert_eq!(serde_json::to_value(&verified).unwrap(), v["expected"]);
    assert!(!share.contains(SECRET));
    // The generator, run now, gives the same result (only ECDSA signatures differ).
    let w = World::new();
    let fresh = share_proof::verify(
        w.share_proof().sign(&w.patient).unwrap().as_bytes(),
        &w.list,
    )
    .unwrap();
    assert_eq!(serde_json::to_value(&fresh).unwrap(), v["expected"]);
}
