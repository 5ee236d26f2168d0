#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Delegations (`docs/protocol.md` §16): round trips, the grant a delegate signs, and the
//! ways a chain is refused. The committed vectors are in `tests/vectors/delegation/`.

use spondon_core::keys::Es256KeyPair;
use spondon_core::time::NumericDate;
use spondon_core::token::{
    self, Audience, Category, Delegation, Grant, Purpose, Revocation, RevocationTarget, Scope,
    TokenClaims, TokenKind,
};

const NOW: NumericDate = NumericDate(1_767_225_600);
const PEER: &str = "https://peer.dmch.gov.bd";

fn delegation(patient: &Es256KeyPair, delegate: &Es256KeyPair) -> Delegation {
    Delegation {
        id: [1; 16],
        patient_key: patient.public_key().clone(),
        delegate_key: delegate.public_key().clone(),
        scopes: vec![Scope::View, Scope::Share],
        categories: vec![],
        peers: vec![PEER.into()],
        guardians: vec![],
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(30 * 86_400),
    }
}

fn grant(patient: &Es256KeyPair, doctor: &Es256KeyPair) -> Grant {
    Grant {
        id: [2; 16],
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: NOW,
        not_before: NOW,
        expires: NOW.saturating_add(86_400),
        use_limit: None,
        peers: vec![PEER.into()],
    }
}

#[test]
fn delegation_round_trips_and_verifies() {
    let (patient, parent) = (
        Es256KeyPair::generate().unwrap(),
        Es256KeyPair::generate().unwrap(),
    );
    let mut d = delegation(&patient, &parent);
    d.guardians = vec![parent.kid().to_owned()];
    d.categories = vec![Category::Prescription, Category::LabResult];
    let text = d.sign(&patient).unwrap();
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.kind, TokenKind::Delegation);
    assert_eq!(parsed.signer_kid, patient.kid());
    assert_eq!(parsed.claims, TokenClaims::Delegation(d.clone()));
    let back = Delegation::decode_and_verify(&text, NOW.saturating_add(1)).unwrap();
    assert_eq!(back, d);
    assert!(back.is_minor() && back.allows(Scope::Share) && !back.allows(Scope::Manage));
    assert!(back.covers_category(Category::LabResult) && !back.covers_category(Category::Note));
    assert_eq!(
        Delegation::decode_and_verify(&text, d.expires)
            .unwrap_err()
            .code(),
        "expired"
    );
    // Only the patient's key signs it.
    assert!(d.sign(&parent).is_err());
}

#[test]
fn delegate_grant_carries_both_signatures() {
    let patient = Es256KeyPair::generate().unwrap();
    let parent = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let d = delegation(&patient, &parent);
    let d_text = d.sign(&patient).unwrap();
    let g = grant(&patient, &doctor);
    let text = g.sign_as_delegate(&parent, &d_text).unwrap();
    let parsed = token::decode_any(&text).unwrap();
    assert_eq!(parsed.signer_kid, parent.kid());
    assert_eq!(parsed.delegation(), Some(&d));
    assert_eq!(parsed.delegation_text().as_deref(), Some(d_text.as_str()));
    let (back, by) = Grant::decode_and_verify_delegated(&text, NOW.saturating_add(5)).unwrap();
    assert_eq!(back, g);
    assert_eq!(by, Some(d.clone()));
    // The plain decoder checks the chain too.
    assert_eq!(Grant::decode_and_verify(&text, NOW).unwrap(), g);
    // A patient's own grant is unchanged and has no delegation.
    let own = g.sign(&patient).unwrap();
    let (_, none) = Grant::decode_and_verify_delegated(&own, NOW).unwrap();
    assert_eq!(none, None);
}

#[test]
fn delegate_cannot_sign_outside_the_delegation() {
    let patient = Es256KeyPair::generate().unwrap();
    let parent = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let mut d = delegation(&patient, &parent);
    d.categories = vec![Category::LabResult];
    let d_text = d.sign(&patient).unwrap();
    let code =
        |g: &Grant, key: &Es256KeyPair, dt: &str| g.sign_as_delegate(key, dt).unwrap_err().code();
    let mut g = grant(&patient, &doctor);
    g.categories = vec![Category::Diagnosis];
    assert_eq!(code(&g, &parent, &d_text), "delegation_exceeded");
    let mut g = grant(&patient, &doctor);
    g.expires = d.expires.saturating_add(1);
    assert_eq!(code(&g, &parent, &d_text), "delegation_exceeded");
    let mut g = grant(&patient, &doctor);
    g.peers = vec!["https://other.example".into()];
    assert_eq!(code(&g, &parent, &d_text), "delegation_exceeded");
    let mut g = grant(&patient, &doctor);
    g.write = true;
    assert_eq!(code(&g, &parent, &d_text), "delegation_exceeded");
    // Another key than the delegate's.
    assert_eq!(code(&grant(&patient, &doctor), &doctor, &d_text), "invalid");
    // Another patient's grant.
    let stranger = Es256KeyPair::generate().unwrap();
    assert_eq!(
        code(&grant(&stranger, &doctor), &parent, &d_text),
        "delegation_mismatch"
    );
    // View only.
    let mut view = delegation(&patient, &parent);
    view.scopes = vec![Scope::View];
    assert_eq!(
        code(
            &grant(&patient, &doctor),
            &parent,
            &view.sign(&patient).unwrap()
        ),
        "delegation_exceeded"
    );
}

#[test]
fn invalid_delegations_are_not_signed() {
    let patient = Es256KeyPair::generate().unwrap();
    let parent = Es256KeyPair::generate().unwrap();
    let mut d = delegation(&patient, &parent);
    d.scopes = vec![];
    assert_eq!(d.sign(&patient).unwrap_err().code(), "out_of_range");
    let mut d = delegation(&patient, &parent);
    d.scopes = vec![Scope::Share, Scope::View];
    assert_eq!(d.sign(&patient).unwrap_err().code(), "out_of_range");
    let mut d = delegation(&patient, &parent);
    d.guardians = vec![patient.kid().to_owned()];
    assert_eq!(d.sign(&patient).unwrap_err().code(), "invalid");
    let mut d = delegation(&patient, &patient);
    d.delegate_key = patient.public_key().clone();
    assert_eq!(d.sign(&patient).unwrap_err().code(), "invalid");
    let mut d = delegation(&patient, &parent);
    d.expires = NOW.saturating_add(401 * 86_400);
    assert_eq!(d.sign(&patient).unwrap_err().code(), "lifetime_too_long");
}

#[test]
fn revocations_withdraw_delegations_like_grants() {
    let patient = Es256KeyPair::generate().unwrap();
    let parent = Es256KeyPair::generate().unwrap();
    let d = delegation(&patient, &parent);
    let one = Revocation {
        id: [9; 16],
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: d.id },
        issued_at: NOW,
    };
    assert!(one.revokes_delegation(&d));
    let all = Revocation {
        target: RevocationTarget::IssuedBefore {
            before: NOW.saturating_add(1),
        },
        ..one.clone()
    };
    assert!(all.revokes_delegation(&d));
    let other = Revocation {
        patient_key: parent.public_key().clone(),
        ..one
    };
    assert!(!other.revokes_delegation(&d));
}

#[test]
fn delegate_grant_fits_a_qr_code() {
    let patient = Es256KeyPair::generate().unwrap();
    let parent = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let mut d = delegation(&patient, &parent);
    d.guardians = vec![parent.kid().to_owned()];
    d.categories = vec![Category::Prescription, Category::LabResult];
    let mut g = grant(&patient, &doctor);
    g.categories = vec![];
    g.record_ids = vec!["dmch/DiagnosticReport/77".into()];
    let text = g
        .sign_as_delegate(&parent, &d.sign(&patient).unwrap())
        .unwrap();
    let qr = spondon_core::qr::encode(&text).unwrap();
    println!(
        "delegate's grant: {} characters, QR version {}",
        text.len(),
        qr.version()
    );
    assert!(qr.version() <= 25, "{}", qr.version());
}
