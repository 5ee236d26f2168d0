//! Plays the Spondon actors once, with fresh keys, and writes what each would hand over:
//! the health authority's trust list, a hospital's enrollment and doctor credentials and a signed
//! health record, the patient's grant to the doctor (text and QR picture) and a revocation.
//!
//! `scripts/demo.sh` runs it and then checks every output with `spondon-verifier check`. It stands
//! in for the hospital peer and the wallet until those exist; everything it writes is real,
//! signed with real keys, and verified by the real verifier.
//!
//!     cargo run -p spondon-core --example demo_actors -- OUTPUT_DIR

use std::path::{Path, PathBuf};

use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::qr;
use spondon_core::shc::{CardBuilder, HealthCardFile};
use spondon_core::token::{
    Audience, Category, DoctorCredential, EnrollmentCredential, Grant, Hospital, Purpose,
    Revocation, RevocationTarget, TrustList,
};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: demo_actors OUTPUT_DIR")?;
    std::fs::create_dir_all(&out)?;
    let now = NumericDate::now();

    // The health authority's root key and the consortium trust list it signs.
    let root = Es256KeyPair::generate()?;
    let dmch_records = Es256KeyPair::generate()?;
    let dmch_log = Ed25519KeyPair::generate()?;
    let labaid_records = Es256KeyPair::generate()?;
    let labaid_log = Ed25519KeyPair::generate()?;
    let trust_list = TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS Spondon Root (demo)".into(),
        sequence: 1,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(90 * DAY),
        hospitals: vec![
            Hospital {
                id: "dmch".into(),
                name: "Dhaka Medical College Hospital".into(),
                peer_url: "https://peer.dmch.example".into(),
                record_keys: vec![dmch_records.public_key().clone()],
                log_key: *dmch_log.public_key(),
                log_origin: "peer.dmch.example/log".into(),
            },
            Hospital {
                id: "labaid".into(),
                name: "Labaid Diagnostics".into(),
                peer_url: "https://peer.labaid.example".into(),
                record_keys: vec![labaid_records.public_key().clone()],
                log_key: *labaid_log.public_key(),
                log_origin: "peer.labaid.example/log".into(),
            },
        ],
    };
    write(
        &out,
        "root.jwk",
        &serde_json::to_string_pretty(&root.public_key().to_jwk())?,
    )?;
    write(&out, "trust-list.txt", &trust_list.sign(&root)?)?;

    // The hospital enrolls the patient (Health ID ↔ patient key) and a doctor (BMDC ↔ key).
    let patient = Es256KeyPair::generate()?;
    let doctor = Es256KeyPair::generate()?;
    let enrollment = EnrollmentCredential {
        hospital_id: "dmch".into(),
        health_id: "HID-1994-0417-3321".into(),
        patient_key: patient.public_key().clone(),
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(365 * DAY),
    };
    write_token(&out, "enrollment", &enrollment.sign(&dmch_records)?)?;
    let credential = DoctorCredential {
        hospital_id: "dmch".into(),
        bmdc_number: "A-48213".into(),
        name: "Dr. Farhana Rahman".into(),
        department: "Medicine".into(),
        doctor_key: doctor.public_key().clone(),
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(365 * DAY),
    };
    write_token(&out, "doctor-credential", &credential.sign(&dmch_records)?)?;

    // The hospital issues a record: a dengue NS1 antigen result, as a SMART Health Card.
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "resource:0", "resource": {
                "resourceType": "Patient",
                "name": [{"family": "Hossain", "given": ["Ayesha"]}],
                "birthDate": "1994-04-17"
            }},
            {"fullUrl": "resource:1", "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "75377-2"}]},
                "subject": {"reference": "resource:0"},
                "effectiveDateTime": "2026-07-14",
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]}
            }}
        ]
    });
    let card = CardBuilder::new("https://peer.dmch.example", now, bundle)
        .vc_type("https://smarthealth.cards#laboratory")
        .sign(&dmch_records)?;
    write(
        &out,
        "dengue-ns1.smart-health-card",
        &HealthCardFile::new(vec![card]).to_json(),
    )?;

    // The patient grants the doctor 24 hours of access to three kinds of record at two peers.
    let grant = Grant {
        id: Grant::new_id()?,
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![
            Category::Prescription,
            Category::LabResult,
            Category::Diagnosis,
        ],
        record_ids: vec![],
        write: true,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(DAY),
        use_limit: Some(20),
        peers: vec![
            "https://peer.dmch.example".into(),
            "https://peer.labaid.example".into(),
        ],
    };
    let grant_text = grant.sign(&patient)?;
    write_token(&out, "grant", &grant_text)?;

    // ... and later withdraws it.
    let revocation = Revocation {
        id: Grant::new_id()?,
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: grant.id },
        issued_at: now,
    };
    write_token(&out, "revocation", &revocation.sign(&patient)?)?;
    let version = qr::encode(&grant_text)?.version();
    println!(
        "wrote the demo actors' outputs to {} (grant QR: version {version}, {} characters)",
        out.display(),
        grant_text.len()
    );
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

/// Writes a token's text and its QR code as PNG and SVG.
fn write_token(dir: &Path, stem: &str, text: &str) -> Result<()> {
    write(dir, &format!("{stem}.txt"), text)?;
    let code = qr::encode(text)?;
    std::fs::write(dir.join(format!("{stem}.png")), code.to_png(8)?)?;
    write(dir, &format!("{stem}.svg"), &code.to_svg())?;
    Ok(())
}
