//! A real hospital for export tests: an ES256 record key signing SMART Health Cards, a SQLite
//! transparency log (spondon-ledger) with its Ed25519 key, a witness that cosigns, share receipts
//! logged like the peer logs them, and the consortium trust list naming it. Also used by the
//! verifier's CLI tests (`#[path]`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::shc::{CardBuilder, VC_TYPE_LABORATORY};
use spondon_core::token::{Hospital, TrustList};
use spondon_export::{Export, ExportRecord, RecordProof, ShareReceipt};
use spondon_ledger::entry::{EntryKind, LogEntry, Opening};
use spondon_ledger::note::{Signer, Verifier};
use spondon_ledger::{Database, IntegrityCheck, Log, Witness};

pub const ISS: &str = "https://dmch.example";
pub const NAME: &str = "Dhaka Medical College Hospital";
pub const ORIGIN: &str = "dmch.example/log";
pub const WITNESS: &str = "authority.example/witness";
/// 2026-11-01T00:00:00Z
pub const T0: i64 = 1_793_491_200;

pub struct Hospital1 {
    /// The time everything is issued around (records at `t0 + i`, a share at `t0 + 1 h`).
    pub t0: i64,
    pub iss: String,
    pub record_key: Es256KeyPair,
    pub log_key: Ed25519KeyPair,
    pub origin: String,
    pub witness: Verifier,
    _dir: tempfile::TempDir,
}

pub fn patient() -> Value {
    json!({"resourceType": "Patient",
        "identifier": [{"system": format!("{ISS}/health-id"), "value": "1234-5678-9012-34"}],
        "name": [{"text": "Fatema Begum"}], "gender": "female", "birthDate": "1988-04-12"})
}

fn practitioner() -> Value {
    json!({"resourceType": "Practitioner",
        "identifier": [{"system": "https://bmdc.org.bd/registration", "value": "A-31245"}],
        "name": [{"text": "Dr. Abul Kalam Azad"}]})
}

fn qty(v: f64, unit: &str) -> Value {
    json!({"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
}

/// The FHIR bundles of three records, as the peer builds them.
pub fn bundles() -> Vec<(Value, bool)> {
    let lab = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": patient()},
        {"fullUrl": "resource:1", "resource": practitioner()},
        {"fullUrl": "resource:2", "resource": {"resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]},
            "effectiveDateTime": "2026-11-01", "subject": {"reference": "resource:0"},
            "performer": [{"reference": "resource:1"}],
            "result": [{"reference": "resource:3"}, {"reference": "resource:4"}]}},
        {"fullUrl": "resource:3", "resource": {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
            "subject": {"reference": "resource:0"},
            "valueQuantity": qty(85.2, "10*3/uL"),
            "referenceRange": [{"low": qty(150.0, "10*3/uL"), "high": qty(450.0, "10*3/uL")}]}},
        {"fullUrl": "resource:4", "resource": {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
            "subject": {"reference": "resource:0"},
            "valueQuantity": qty(13.1, "g/dL"),
            "referenceRange": [{"low": qty(12.0, "g/dL"), "high": qty(16.0, "g/dL")}]}}
    ]});
    let diagnosis = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": patient()},
        {"fullUrl": "resource:1", "resource": practitioner()},
        {"fullUrl": "resource:2", "resource": {"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A97.0", "display": "Dengue without warning signs"}]},
            "onsetDateTime": "2026-10-30", "subject": {"reference": "resource:0"},
            "recorder": {"reference": "resource:1"}}}
    ]});
    let prescription = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": patient()},
        {"fullUrl": "resource:1", "resource": practitioner()},
        {"fullUrl": "resource:2", "resource": {"resourceType": "MedicationRequest", "status": "active",
            "intent": "order", "authoredOn": "2026-11-01",
            "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
            "dosageInstruction": [{"text": "1 tablet three times daily for 5 days"}],
            "subject": {"reference": "resource:0"}, "requester": {"reference": "resource:1"}}}
    ]});
    vec![(lab, true), (diagnosis, false), (prescription, false)]
}

impl Hospital1 {
    pub async fn new() -> Hospital1 {
        Self::new_at(T0).await
    }

    pub async fn new_at(t0: i64) -> Hospital1 {
        Hospital1 {
            t0,
            iss: ISS.into(),
            record_key: Es256KeyPair::generate().unwrap(),
            log_key: Ed25519KeyPair::generate().unwrap(),
            origin: ORIGIN.into(),
            witness: Signer::cosigner(WITNESS, Ed25519KeyPair::from_seed(&[7; 32]).unwrap())
                .unwrap()
                .verifier()
                .clone(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn hospital(&self) -> Hospital {
        Hospital {
            id: "dmch".into(),
            name: NAME.into(),
            peer_url: self.iss.clone(),
            record_keys: vec![self.record_key.public_key().clone()],
            log_key: *self.log_key.public_key(),
            log_origin: self.origin.clone(),
        }
    }

    pub fn trust_list(&self) -> TrustList {
        TrustList {
            witnessing: Default::default(),
            publish_url: None,
            authority: "dghs.example".into(),
            sequence: 1,
            issued_at: NumericDate(self.t0 - 86_400),
            not_before: NumericDate(self.t0 - 86_400),
            expires: NumericDate(self.t0 + 300 * 86_400),
            hospitals: vec![self.hospital()],
        }
    }

    /// Signs the cards, logs them (plus some unrelated entries and one share receipt) in a real
    /// SQLite log, has a witness cosign, and returns the export with proofs and the receipt.
    pub async fn export(&self) -> Export {
        let t0 = self.t0;
        let cards: Vec<String> = bundles()
            .into_iter()
            .enumerate()
            .map(|(i, (b, lab))| {
                let mut builder = CardBuilder::new(self.iss.clone(), NumericDate(t0 + i as i64), b)
                    .rid(format!("rec{i}"));
                if lab {
                    builder = builder.vc_type(VC_TYPE_LABORATORY);
                }
                builder.sign(&self.record_key).unwrap()
            })
            .collect();
        let db = Database::sqlite(&self._dir.path().join("ledger.db"))
            .await
            .unwrap();
        let log = Log::open(db.clone(), &self.origin, IntegrityCheck::Full)
            .await
            .unwrap();
        let signer = Signer::ed25519(
            &self.origin,
            Ed25519KeyPair::from_seed(self.log_key.seed()).unwrap(),
        )
        .unwrap();
        // Some other patients' entries first.
        let others: Vec<Vec<u8>> = (0..5)
            .map(|i| {
                let o = Opening::new(format!("other {i}").into_bytes()).unwrap();
                LogEntry::commit(EntryKind::RecordIssued, NumericDate(t0 - 100), &o)
                    .encode()
                    .to_vec()
            })
            .collect();
        log.append(&others).await.unwrap();
        let mut openings = Vec::new();
        for (i, jws) in cards.iter().enumerate() {
            let o = Opening::new(jws.clone().into_bytes()).unwrap();
            let e = LogEntry::commit(EntryKind::RecordIssued, NumericDate(t0 + i as i64), &o);
            let appended = log.append(&[e.encode()]).await.unwrap();
            openings.push((appended.first_index, o.salt));
        }
        let event = json!({"v": 1, "peer": self.iss, "at": t0 + 3_600, "outcome": "allowed",
            "reason": null, "grant_id": "AAAAAAAAAAAAAAAAAAAAAA", "audience": "doctor-kid",
            "records": ["rec0", "rec2"]})
        .to_string();
        let receipt_opening = Opening::new(event.clone().into_bytes()).unwrap();
        let receipt_index = log
            .append(&[LogEntry::commit(
                EntryKind::AccessGranted,
                NumericDate(t0 + 3_600),
                &receipt_opening,
            )
            .encode()])
            .await
            .unwrap()
            .first_index;
        log.sign_checkpoint(&signer).await.unwrap();
        let mut witness = Witness::new(
            db.clone(),
            Signer::cosigner(WITNESS, Ed25519KeyPair::from_seed(&[7; 32]).unwrap()).unwrap(),
        );
        witness.trust_log(&self.origin, vec![signer.verifier().clone()]);
        let lines = witness
            .add_checkpoint(log.witness_request(0).await.unwrap().as_bytes())
            .await
            .unwrap();
        log.add_cosignatures(&self.witness, &lines).await.unwrap();
        let mut records = Vec::new();
        for (jws, (index, salt)) in cards.into_iter().zip(openings) {
            records.push(ExportRecord {
                jws,
                proof: Some(RecordProof {
                    salt,
                    bundle: log.proof_bundle(index).await.unwrap(),
                }),
            });
        }
        let receipts = vec![ShareReceipt {
            event,
            salt: receipt_opening.salt,
            bundle: log.proof_bundle(receipt_index).await.unwrap(),
        }];
        db.close().await;
        let mut export = Export {
            created: NumericDate(t0 + 7_200),
            records,
            receipts,
            patient_summary: None,
        };
        export.patient_summary = Some(
            spondon_export::build_ips(&spondon_export::PatientSummaryInput {
                records: &export.records,
                created: export.created,
            })
            .unwrap(),
        );
        export
    }
}

/// A time at which everything in the fixture is valid.
pub fn now() -> NumericDate {
    NumericDate(T0 + 86_400)
}
