//! The export file: a `.smart-health-card` file with one extra member (`docs/export.md`).
//!
//! ```json
//! {"verifiableCredential": ["<JWS>", …],
//!  "spondon": {"version": 1, "created": 1763790000,
//!    "proofs": [{"card": 0, "salt": "<base64url, 32 bytes>", "bundle": "c2sp.org/tlog-proof@v1\n…"}],
//!    "receipts": [{"event": "<event JSON text>", "salt": "…", "bundle": "c2sp.org/tlog-proof@v1\n…"}],
//!    "patientSummary": {"resourceType": "Bundle", "type": "document", …}}}
//! ```
//!
//! Any SMART Health Card verifier reads the cards and ignores `spondon`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::shc::{HealthCardFile, MAX_JWS_LEN};
use spondon_ledger::ProofBundle;

use crate::ExportError;

/// Media type of the file (that of a `.smart-health-card` file).
pub const MEDIA_TYPE: &str = "application/smart-health-card";
/// Largest export file read or written (the SMART Health Cards input limit).
pub const MAX_EXPORT_BYTES: usize = spondon_core::shc::MAX_INPUT_LEN;
/// Most share receipts in one file.
pub const MAX_RECEIPTS: usize = 1_000;
/// Largest receipt event text.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;
/// The format version written and read.
pub const FORMAT_VERSION: u64 = 1;

/// The log proof of one card: the hospital log's offline proof bundle (whose `extra` is the
/// 42-byte `RecordIssued` entry) and the salt that, with the card's JWS, opens its commitment.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordProof {
    /// The 32-byte salt that, with the card's JWS, opens the logged commitment.
    pub salt: [u8; 32],
    /// The `c2sp.org/tlog-proof@v1` bundle of the card's `RecordIssued` entry.
    pub bundle: ProofBundle,
}

impl fmt::Debug for RecordProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordProof")
            .field("salt", &"[redacted]")
            .field("index", &self.bundle.index)
            .finish()
    }
}

/// The pieces of a record or receipt as a hospital peer returns them (`POST /patient/records`,
/// `/patient/receipts`, `/grant/records`; `docs/peer.md`), into a proof bundle.
fn bundle_from_pull(
    log_index: u64,
    entry_b64: &str,
    inclusion_proof: &[String],
    checkpoint: &str,
) -> Result<ProofBundle, ExportError> {
    use spondon_protocol::b64;
    let extra = b64::log::decode(entry_b64).ok_or_else(|| bad("the log entry is not base64"))?;
    spondon_ledger::LogEntry::decode(&extra).map_err(|e| bad(format!("log entry: {e}")))?;
    if inclusion_proof.len() > 64 {
        return Err(bad("the inclusion proof is too long"));
    }
    let proof = inclusion_proof
        .iter()
        .map(|h| {
            b64::log::hash(h)
                .ok_or_else(|| bad("an inclusion proof hash is not base64 of 32 bytes"))
        })
        .collect::<Result<_, _>>()?;
    let bundle = ProofBundle {
        extra: Some(extra),
        index: log_index,
        proof,
        checkpoint: checkpoint.to_owned(),
    };
    // What is written must read back.
    ProofBundle::parse(bundle.to_text().as_bytes()).map_err(|e| bad(e.to_string()))?;
    Ok(bundle)
}

impl RecordProof {
    /// From a pulled record: its `log_index`, `entry` (base64), `salt` (base64url),
    /// `inclusion_proof` (base64 hashes) and the pull's cosigned `checkpoint`.
    pub fn from_pull(
        log_index: u64,
        entry: &str,
        salt_b64url: &str,
        inclusion_proof: &[String],
        checkpoint: &str,
    ) -> Result<RecordProof, ExportError> {
        Ok(RecordProof {
            salt: salt(salt_b64url, "record")?,
            bundle: bundle_from_pull(log_index, entry, inclusion_proof, checkpoint)?,
        })
    }
}

impl ShareReceipt {
    /// From a pulled receipt: the event JSON as returned (re-serialized compactly, which is
    /// byte for byte what the peer committed), its `log_index`, `entry`, `salt`,
    /// `inclusion_proof`, and the pull's cosigned `checkpoint`.
    pub fn from_pull(
        event: &Value,
        log_index: u64,
        entry: &str,
        salt_b64url: &str,
        inclusion_proof: &[String],
        checkpoint: &str,
    ) -> Result<ShareReceipt, ExportError> {
        Ok(ShareReceipt {
            event: event.to_string(),
            salt: salt(salt_b64url, "receipt")?,
            bundle: bundle_from_pull(log_index, entry, inclusion_proof, checkpoint)?,
        })
    }
}

/// One hospital-signed card and, when the wallet has it, its log proof.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportRecord {
    /// The SMART Health Card (compact JWS) exactly as the hospital signed it.
    pub jws: String,
    /// The card's log proof; `None` when the wallet has none (the card still verifies by signature).
    pub proof: Option<RecordProof>,
}

impl fmt::Debug for ExportRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportRecord")
            .field("jws_len", &self.jws.len())
            .field("proof", &self.proof)
            .finish()
    }
}

/// A share receipt: an access event the hospital logged (`AccessGranted`), its opening and its
/// proof. It shows when records were shared, and with whom (a key id).
#[derive(Clone, PartialEq, Eq)]
pub struct ShareReceipt {
    /// The committed event JSON text, byte for byte as the hospital logged it
    /// (`{"v":1,"peer","at","action","outcome","reason","grant_id","audience","records"}`).
    pub event: String,
    /// The salt that, with `event`, opens the logged commitment.
    pub salt: [u8; 32],
    /// The `c2sp.org/tlog-proof@v1` bundle of the `AccessGranted` entry.
    pub bundle: ProofBundle,
}

impl fmt::Debug for ShareReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShareReceipt")
            .field("event", &"[redacted]")
            .field("index", &self.bundle.index)
            .finish()
    }
}

/// A parsed or to-be-written export.
#[derive(Clone, PartialEq)]
pub struct Export {
    /// When the wallet made the export.
    pub created: NumericDate,
    /// The cards, in the order the export lists them.
    pub records: Vec<ExportRecord>,
    /// Share receipts for the cards.
    pub receipts: Vec<ShareReceipt>,
    /// The International Patient Summary ([`crate::build_ips`]); not signed by any hospital.
    pub patient_summary: Option<Value>,
}

impl fmt::Debug for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Export")
            .field("created", &self.created)
            .field("records", &self.records)
            .field("receipts", &self.receipts.len())
            .field("patient_summary", &self.patient_summary.is_some())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Member {
    version: u64,
    created: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    proofs: Vec<ProofJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    receipts: Vec<ReceiptJson>,
    #[serde(
        default,
        rename = "patientSummary",
        skip_serializing_if = "Option::is_none"
    )]
    patient_summary: Option<Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    card: usize,
    salt: String,
    bundle: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptJson {
    event: String,
    salt: String,
    bundle: String,
}

/// The export file's bytes (compact JSON, UTF-8).
pub fn write_export(export: &Export) -> Vec<u8> {
    let member = Member {
        version: FORMAT_VERSION,
        created: export.created.seconds(),
        proofs: export
            .records
            .iter()
            .enumerate()
            .filter_map(|(card, r)| {
                r.proof.as_ref().map(|p| ProofJson {
                    card,
                    salt: spondon_protocol::b64::url::encode(p.salt),
                    bundle: p.bundle.to_text(),
                })
            })
            .collect(),
        receipts: export
            .receipts
            .iter()
            .map(|r| ReceiptJson {
                event: r.event.clone(),
                salt: spondon_protocol::b64::url::encode(r.salt),
                bundle: r.bundle.to_text(),
            })
            .collect(),
        patient_summary: export.patient_summary.clone(),
    };
    let cards: Vec<&str> = export.records.iter().map(|r| r.jws.as_str()).collect();
    serde_json::json!({ "verifiableCredential": cards, "spondon": member })
        .to_string()
        .into_bytes()
}

fn bad(message: impl Into<String>) -> ExportError {
    ExportError::BadMember(message.into())
}

fn salt(text: &str, what: &str) -> Result<[u8; 32], ExportError> {
    spondon_protocol::b64::url::array::<32>(text)
        .ok_or_else(|| bad(format!("{what}: salt is not base64url of 32 bytes")))
}

fn bundle(text: &str, what: &str) -> Result<ProofBundle, ExportError> {
    ProofBundle::parse(text.as_bytes()).map_err(|e| bad(format!("{what}: {e}")))
}

/// Parses an export file strictly. A plain `.smart-health-card` file (no `spondon` member) is an
/// export without proofs. Untrusted input: sizes are bounded, nothing is verified here
/// ([`crate::verify_export`] does that).
pub fn parse_export(bytes: &[u8]) -> Result<Export, ExportError> {
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(ExportError::TooLarge {
            len: bytes.len(),
            max: MAX_EXPORT_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ExportError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(ExportError::Empty);
    }
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| ExportError::NotJson(e.to_string()))?;
    let member = value.as_object_mut().and_then(|o| o.remove("spondon"));
    let file = HealthCardFile::from_value(value).map_err(ExportError::Cards)?;
    let mut records: Vec<ExportRecord> = Vec::with_capacity(file.verifiable_credential.len());
    for (i, jws) in file.verifiable_credential.into_iter().enumerate() {
        if jws.len() > MAX_JWS_LEN {
            return Err(ExportError::Card {
                index: i + 1,
                source: spondon_core::shc::ShcError::InputTooLarge(jws.len(), MAX_JWS_LEN),
            });
        }
        records.push(ExportRecord { jws, proof: None });
    }
    let Some(member) = member else {
        return Ok(Export {
            created: NumericDate(0),
            records,
            receipts: Vec::new(),
            patient_summary: None,
        });
    };
    match member.get("version").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => {}
        Some(other) => return Err(ExportError::UnsupportedVersion(other)),
        None => return Err(bad("\"version\" is missing or not a number")),
    }
    let member: Member = serde_json::from_value(member).map_err(|e| bad(e.to_string()))?;
    if !(NumericDate::MIN.0..=NumericDate::MAX.0).contains(&member.created) {
        return Err(bad("\"created\" is out of range"));
    }
    for p in member.proofs {
        let what = format!("proof of card {}", p.card + 1);
        let record = records.get_mut(p.card).ok_or_else(|| {
            bad(format!(
                "a proof names card {}, which is not in the file",
                p.card + 1
            ))
        })?;
        if record.proof.is_some() {
            return Err(bad(format!("card {} has two proofs", p.card + 1)));
        }
        record.proof = Some(RecordProof {
            salt: salt(&p.salt, &what)?,
            bundle: bundle(&p.bundle, &what)?,
        });
    }
    if member.receipts.len() > MAX_RECEIPTS {
        return Err(bad(format!("more than {MAX_RECEIPTS} receipts")));
    }
    let receipts = member
        .receipts
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let what = format!("receipt {}", i + 1);
            if r.event.len() > MAX_EVENT_BYTES {
                return Err(bad(format!(
                    "{what}: event is larger than {MAX_EVENT_BYTES} bytes"
                )));
            }
            Ok(ShareReceipt {
                salt: salt(&r.salt, &what)?,
                bundle: bundle(&r.bundle, &what)?,
                event: r.event,
            })
        })
        .collect::<Result<_, _>>()?;
    if let Some(summary) = &member.patient_summary
        && summary.get("resourceType").and_then(Value::as_str) != Some("Bundle")
    {
        return Err(bad("\"patientSummary\" is not a FHIR Bundle"));
    }
    Ok(Export {
        created: NumericDate(member.created),
        records,
        receipts,
        patient_summary: member.patient_summary,
    })
}
