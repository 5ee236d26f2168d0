//! A small, fixed consortium for share-proof tests and the published vector
//! (`docs/protocol.md` §14): the fixed test keys of `crates/core/tests/vectors/test-keys.json`,
//! Ed25519 log and witness keys from fixed seeds, fixed times and salts. Everything is
//! deterministic except the ECDSA signatures (random nonces).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair, Jwk};
use spondon_core::token::{
    Audience, Category, DoctorCredential, Grant, Hospital, Investigator, Purpose, TrustList,
    TrustedWitness, Witnessing,
};
use spondon_ledger::merkle::{self, Hash};
use spondon_ledger::note::{Note, Signer};
use spondon_ledger::share_proof::{AccessPart, FORMAT, RecordPart, ShareProof};
use spondon_ledger::{Checkpoint, ProofBundle};
use spondon_ledger::{EntryKind, LogEntry, Opening};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600;
/// When the grant was made (a day later).
pub const GRANT_AT: i64 = T0 + 86_400;
/// When the doctor read the records.
pub const ACCESS_AT: i64 = GRANT_AT + 600;
/// When the share proof was made.
pub const CREATED: i64 = ACCESS_AT + 3_600;
/// The instant the vector is judged at (the trust list is valid then).
pub const NOW: i64 = CREATED + 60;
pub const PEER: &str = "https://dmch.example";
pub const ORIGIN: &str = "dmch.example/log";
pub const WITNESS: &str = "witness.example/w1";
/// Record content that must never be in a share proof.
pub const SECRET: &str = "HAEMOGLOBIN 13.2 g/dL, PLATELETS 85";
pub const LAB_ID: &str = "rec-lab-0001";
pub const RX_ID: &str = "rec-rx-0002";

fn test_key(name: &str) -> Es256KeyPair {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/vectors/test-keys.json"
    );
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("test keys")).expect("JSON");
    let jwk: Jwk = serde_json::from_value(all[name].clone()).expect("a JWK");
    Es256KeyPair::from_jwk(&jwk).expect("a key")
}

pub struct World {
    pub root: Es256KeyPair,
    pub hospital: Es256KeyPair,
    pub patient: Es256KeyPair,
    pub doctor: Es256KeyPair,
    pub other: Es256KeyPair,
    pub log: Signer,
    pub witness: Signer,
    pub list: TrustList,
    pub list_text: String,
    pub grant: Grant,
    pub grant_text: String,
    pub credential_text: String,
    /// The log's entries (42 bytes each).
    pub entries: Vec<Vec<u8>>,
    pub access_event: String,
    pub access_salt: [u8; 32],
    /// (record id, kind, log index, salt, card text).
    pub records: Vec<(String, String, u64, [u8; 32], String)>,
    pub access_index: u64,
}

/// RFC 9162 MTH, by its definition.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 9162 PATH, by its definition.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = n.next_power_of_two() / 2;
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

impl World {
    pub fn new() -> World {
        let root = test_key("root");
        let hospital = test_key("hospital");
        let patient = test_key("patient");
        let doctor = test_key("doctor");
        let other = test_key("other");
        let log = Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[1; 32]).unwrap()).unwrap();
        let witness =
            Signer::cosigner(WITNESS, Ed25519KeyPair::from_seed(&[2; 32]).unwrap()).unwrap();
        let list = TrustList {
            authority: "DGHS".into(),
            sequence: 7,
            issued_at: NumericDate(T0),
            not_before: NumericDate(T0),
            expires: NumericDate(T0 + 300 * 86_400),
            hospitals: vec![Hospital {
                id: "dmch".into(),
                name: "Dhaka Medical College Hospital".into(),
                peer_url: PEER.into(),
                record_keys: vec![hospital.public_key().clone()],
                log_key: *log.verifier().public_key(),
                log_origin: ORIGIN.into(),
            }],
            witnessing: Witnessing {
                witnesses: vec![TrustedWitness {
                    name: WITNESS.into(),
                    key: *witness.verifier().public_key(),
                    operator: None,
                }],
                quorum: 1,
            },
            publish_url: None,
            investigators: vec![Investigator {
                id: "cid.dmp".into(),
                name: "Criminal Investigation Department, Dhaka Metropolitan Police".into(),
            }],
        };
        let list_text = list.sign(&root).unwrap();
        let credential_text = DoctorCredential {
            hospital_id: PEER.into(),
            bmdc_number: "A-54321".into(),
            name: "Dr. Abul Kalam Azad".into(),
            department: "Medicine".into(),
            doctor_key: doctor.public_key().clone(),
            issued_at: NumericDate(T0),
            not_before: NumericDate(T0),
            expires: NumericDate(T0 + 365 * 86_400),
        }
        .sign(&hospital)
        .unwrap();
        let grant = Grant {
            id: [0x11; 16],
            patient_key: patient.public_key().clone(),
            audience: Audience::Key {
                kid: doctor.kid().to_owned(),
            },
            categories: vec![Category::Prescription, Category::LabResult],
            record_ids: Vec::new(),
            write: false,
            purpose: Purpose::Treatment,
            issued_at: NumericDate(GRANT_AT),
            not_before: NumericDate(GRANT_AT),
            expires: NumericDate(GRANT_AT + 86_400),
            use_limit: None,
            peers: vec![PEER.into()],
        };
        let grant_text = grant.sign(&patient).unwrap();

        let mut entries = Vec::new();
        let enroll = Opening {
            salt: [0x31; 32],
            payload: b"enrollment".to_vec(),
        };
        entries.push(
            LogEntry::commit(EntryKind::Enrollment, NumericDate(T0 + 60), &enroll)
                .encode()
                .to_vec(),
        );
        let mut records = Vec::new();
        for (i, (id, kind)) in [(LAB_ID, "lab_report"), (RX_ID, "prescription")]
            .into_iter()
            .enumerate()
        {
            // Stands for the card's JWS: the record content the commitment hides.
            let card = format!("card {id}: {SECRET}");
            let salt = [0x21 + i as u8; 32];
            let o = Opening {
                salt,
                payload: card.clone().into_bytes(),
            };
            let at = NumericDate(T0 + 3_600 * (i as i64 + 1));
            records.push((
                id.to_owned(),
                kind.to_owned(),
                entries.len() as u64,
                salt,
                card,
            ));
            entries.push(
                LogEntry::commit(EntryKind::RecordIssued, at, &o)
                    .encode()
                    .to_vec(),
            );
        }
        let access_event = serde_json::json!({
            "v": 1,
            "peer": PEER,
            "at": ACCESS_AT,
            "action": "view",
            "outcome": "allowed",
            "reason": null,
            "grant_id": spondon_core::b64::encode([0x11u8; 16]),
            "audience": doctor.kid(),
            "records": [LAB_ID, RX_ID],
        })
        .to_string();
        let access_salt = [0x41; 32];
        let access_index = entries.len() as u64;
        entries.push(
            LogEntry::commit(
                EntryKind::AccessGranted,
                NumericDate(ACCESS_AT),
                &Opening {
                    salt: access_salt,
                    payload: access_event.clone().into_bytes(),
                },
            )
            .encode()
            .to_vec(),
        );
        World {
            root,
            hospital,
            patient,
            doctor,
            other,
            log,
            witness,
            list,
            list_text,
            grant,
            grant_text,
            credential_text,
            entries,
            access_event,
            access_salt,
            records,
            access_index,
        }
    }

    /// The signed checkpoint of the whole log, cosigned by the witness when `cosigned`.
    pub fn checkpoint(&self, cosigned: bool) -> String {
        let leaves: Vec<Hash> = self.entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        let cp = Checkpoint::new(ORIGIN, leaves.len() as u64, mth(&leaves));
        let text = cp.to_text();
        let mut note = Note::new(text.clone()).unwrap();
        note.signatures.push(self.log.sign(&text, 0).unwrap());
        if cosigned {
            note.signatures
                .push(self.witness.sign(&text, (ACCESS_AT + 5) as u64).unwrap());
        }
        note.to_text()
    }

    /// The tlog-proof bundle of entry `index`.
    pub fn proof(&self, index: u64, cosigned: bool) -> String {
        let leaves: Vec<Hash> = self.entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        ProofBundle {
            extra: Some(self.entries[index as usize].clone()),
            index,
            proof: path(index as usize, &leaves),
            checkpoint: self.checkpoint(cosigned),
        }
        .to_text()
    }

    /// The share proof's payload, as the patient would make it.
    pub fn share_proof(&self) -> ShareProof {
        ShareProof {
            format: FORMAT.into(),
            created: CREATED,
            investigator: Some("cid.dmp".into()),
            peer: PEER.into(),
            access: AccessPart {
                event: self.access_event.clone(),
                salt: spondon_core::b64::encode(self.access_salt),
                proof: self.proof(self.access_index, true),
            },
            grant: self.grant_text.clone(),
            doctor: Some(self.credential_text.clone()),
            records: self
                .records
                .iter()
                .map(|(id, kind, index, _, _)| RecordPart {
                    id: id.clone(),
                    kind: kind.clone(),
                    proof: self.proof(*index, true),
                })
                .collect(),
        }
    }
}
