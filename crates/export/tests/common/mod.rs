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
use spondon_ledger::note::{Signer, Verifier};
use spondon_ledger::{Database, IntegrityCheck, Log, Witness};
use spondon_ledger::{EntryKind, LogEntry, Opening};

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

/// A small but well-formed PDF file (the bytes of a scanned report).
pub fn report_pdf(tag: &str) -> Vec<u8> {
    let body = format!("({tag}) Tj");
    format!(
        "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /Length {} >>\nstream\n{body}\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
        body.len()
    )
    .into_bytes()
}

/// The first bytes of a JPEG file and some more.
pub fn xray_jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend(b"JFIF\0");
    v.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    v.extend([0xFF, 0xD9]);
    v
}

/// A document record's bundle naming `bytes` (§18.1).
pub fn document_bundle(bytes: &[u8], content_type: &str, title: &str, doc_type: &str) -> Value {
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes));
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": patient()},
        {"fullUrl": "resource:1", "resource": {"resourceType": "DocumentReference", "status": "current",
            "type": {"text": doc_type},
            "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category",
                "code": "lab_result"}]}],
            "subject": {"reference": "resource:0"},
            "date": "2026-11-01T09:30:00Z",
            "description": "Report from the lab system",
            "content": [{"attachment": {
                "contentType": content_type, "size": bytes.len(), "title": title,
                "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                    "valueBase64Binary": sha}]}}]}}
    ]})
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
            investigators: Vec::new(),
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
        self.export_of(bundles()).await
    }

    /// [`Hospital1::export`] of any bundles (`(bundle, is a lab report)`): card `i` is issued at
    /// `t0 + i` with `rid` `rec{i}`, all logged in one append; the share receipt names `rec0`
    /// and `rec2`.
    pub async fn export_of(&self, bundles: Vec<(Value, bool)>) -> Export {
        let t0 = self.t0;
        let cards: Vec<String> = bundles
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
        let mut salts = Vec::new();
        let mut entries = Vec::new();
        for (i, jws) in cards.iter().enumerate() {
            let o = Opening::new(jws.clone().into_bytes()).unwrap();
            let e = LogEntry::commit(EntryKind::RecordIssued, NumericDate(t0 + i as i64), &o);
            entries.push(e.encode().to_vec());
            salts.push(o.salt);
        }
        let first = log.append(&entries).await.unwrap().first_index;
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
        for (i, (jws, salt)) in cards.into_iter().zip(salts).enumerate() {
            records.push(ExportRecord {
                jws,
                proof: Some(RecordProof {
                    salt,
                    bundle: log.proof_bundle(first + i as u64).await.unwrap(),
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

fn obs(code: &str, name: &str, value: f64, unit: &str, low: f64, high: f64) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
        "subject": {"reference": "resource:0"},
        "valueQuantity": qty(value, unit),
        "referenceRange": [{"low": qty(low, unit), "high": qty(high, unit)}]})
}

fn bundle_of(resources: Vec<Value>) -> Value {
    let mut entries = vec![
        json!({"fullUrl": "resource:0", "resource": patient()}),
        json!({"fullUrl": "resource:1", "resource": practitioner()}),
    ];
    for (i, r) in resources.into_iter().enumerate() {
        entries.push(json!({"fullUrl": format!("resource:{}", i + 2), "resource": r}));
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

fn medication(drug: &str, dose: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "authoredOn": "2026-11-01", "medicationCodeableConcept": {"text": drug},
        "dosageInstruction": [{"text": dose}],
        "subject": {"reference": "resource:0"}, "requester": {"reference": "resource:1"}})
}

/// Twenty records of the kinds and sizes a Bangladeshi patient's history holds: blood counts and
/// panels of 2 to 12 results, prescriptions of 1 to 4 drugs (some in Bangla), diagnoses,
/// immunizations, a chest X-ray report, payment slips.
pub fn realistic_bundles() -> Vec<(Value, bool)> {
    let cbc = || {
        vec![
            obs("718-7", "Hemoglobin", 11.2, "g/dL", 12.0, 16.0),
            obs("6690-2", "Leukocytes", 7.4, "10*3/uL", 4.0, 11.0),
            obs("777-3", "Platelets", 85.2, "10*3/uL", 150.0, 450.0),
            obs("789-8", "Erythrocytes", 4.1, "10*6/uL", 4.2, 5.4),
            obs("4544-3", "Hematocrit", 36.0, "%", 36.0, 46.0),
            obs("787-2", "MCV", 88.0, "fL", 80.0, 100.0),
            obs("785-6", "MCH", 29.0, "pg", 27.0, 33.0),
            obs("786-4", "MCHC", 33.0, "g/dL", 32.0, 36.0),
            obs("770-8", "Neutrophils", 62.0, "%", 40.0, 75.0),
            obs("736-9", "Lymphocytes", 30.0, "%", 20.0, 45.0),
            obs("5905-5", "Monocytes", 6.0, "%", 2.0, 10.0),
            obs("713-8", "Eosinophils", 2.0, "%", 1.0, 6.0),
        ]
    };
    let report = |code: &str, name: &str, results: Vec<Value>| {
        let n = results.len();
        let mut r = vec![
            json!({"resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
            "effectiveDateTime": "2026-11-01", "subject": {"reference": "resource:0"},
            "performer": [{"reference": "resource:1"}],
            "result": (0..n).map(|i| json!({"reference": format!("resource:{}", i + 3)})).collect::<Vec<_>>()}),
        ];
        r.extend(results);
        (bundle_of(r), true)
    };
    let condition = |code: &str, name: &str| {
        (
            bundle_of(vec![json!({"resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code, "display": name}]},
            "onsetDateTime": "2026-10-30", "subject": {"reference": "resource:0"},
            "recorder": {"reference": "resource:1"}})]),
            false,
        )
    };
    let vaccine = |code: &str, name: &str, lot: &str| {
        (
            bundle_of(vec![
                json!({"resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": code, "display": name}]},
            "patient": {"reference": "resource:0"}, "occurrenceDateTime": "2026-03-14",
            "lotNumber": lot}),
            ]),
            false,
        )
    };
    let invoice = |amount: f64| {
        (
            bundle_of(vec![json!({"resourceType": "Invoice", "status": "issued",
            "subject": {"reference": "resource:0"},
            "totalGross": {"value": amount, "currency": "BDT"}})]),
            false,
        )
    };
    let mut out = vec![
        report("58410-2", "CBC panel", cbc()),
        report("58410-2", "CBC panel", cbc()[..6].to_vec()),
        report(
            "24331-1",
            "Lipid panel",
            vec![
                obs("2093-3", "Cholesterol", 212.0, "mg/dL", 0.0, 200.0),
                obs("2571-8", "Triglyceride", 180.0, "mg/dL", 0.0, 150.0),
                obs("2085-9", "HDL cholesterol", 38.0, "mg/dL", 40.0, 60.0),
                obs("13457-7", "LDL cholesterol", 138.0, "mg/dL", 0.0, 130.0),
            ],
        ),
        report(
            "24323-8",
            "Comprehensive metabolic panel",
            vec![
                obs("2345-7", "Glucose", 6.1, "mmol/L", 3.9, 5.6),
                obs("2160-0", "Creatinine", 0.9, "mg/dL", 0.6, 1.2),
                obs("3094-0", "Urea nitrogen", 14.0, "mg/dL", 7.0, 20.0),
                obs("2951-2", "Sodium", 139.0, "mmol/L", 135.0, 145.0),
                obs("2823-3", "Potassium", 4.2, "mmol/L", 3.5, 5.1),
                obs("1742-6", "ALT", 48.0, "U/L", 7.0, 56.0),
            ],
        ),
        report(
            "4548-4",
            "Hemoglobin A1c",
            vec![obs("4548-4", "Hemoglobin A1c", 6.4, "%", 4.0, 5.6)],
        ),
        report(
            "3016-3",
            "Thyroid panel",
            vec![
                obs("3016-3", "TSH", 2.1, "m[IU]/L", 0.4, 4.0),
                obs("3024-7", "Free T4", 1.2, "ng/dL", 0.8, 1.8),
            ],
        ),
        (
            bundle_of(vec![medication(
                "Paracetamol 500 mg tablet",
                "1 tablet three times daily for 5 days",
            )]),
            false,
        ),
        (
            bundle_of(vec![
                medication(
                    "Amoxicillin 500 mg capsule",
                    "1 capsule every 8 hours for 7 days",
                ),
                medication(
                    "Omeprazole 20 mg capsule",
                    "1 capsule before breakfast for 14 days",
                ),
            ]),
            false,
        ),
        (
            bundle_of(vec![
                medication("Metformin 500 mg tablet", "1 tablet twice daily with meals"),
                medication("Atorvastatin 10 mg tablet", "1 tablet at night"),
                medication("Amlodipine 5 mg tablet", "1 tablet every morning"),
                medication("Aspirin 75 mg tablet", "1 tablet after lunch"),
            ]),
            false,
        ),
        (
            bundle_of(vec![
                medication("প্যারাসিটামল ৫০০ মি.গ্রা. ট্যাবলেট", "দিনে ৩ বার, খাবারের পরে, ৫ দিন"),
                medication("ওরস্যালাইন", "প্রতিবার পাতলা পায়খানার পরে এক প্যাকেট"),
            ]),
            false,
        ),
        (
            bundle_of(vec![medication(
                "Salbutamol 100 mcg inhaler",
                "2 puffs when needed, at most 8 puffs a day",
            )]),
            false,
        ),
        condition("A97.0", "Dengue without warning signs"),
        condition("E11.9", "Type 2 diabetes mellitus without complications"),
        condition("I10", "Essential (primary) hypertension"),
        vaccine(
            "207",
            "COVID-19, mRNA, LNP-S, PF, 100 mcg/0.5mL dose",
            "FK5127",
        ),
        vaccine("08", "Hep B, adolescent or pediatric", "HB2291"),
        vaccine("115", "Tdap", "TD0042"),
        (
            bundle_of(vec![
                json!({"resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "36643-5", "display": "Chest X-ray 2 views"}]},
            "effectiveDateTime": "2026-10-20", "subject": {"reference": "resource:0"},
            "conclusion": "No active pulmonary lesion. Heart size normal. Costophrenic angles clear. Fit for the purpose of the visa medical examination."}),
            ]),
            true,
        ),
        invoice(1850.0),
        invoice(650.0),
    ];
    out.truncate(20);
    out
}

/// A time at which everything in the fixture is valid.
pub fn now() -> NumericDate {
    NumericDate(T0 + 86_400)
}
