//! Browsing the cache: timeline, filters, search, and records rendered for people (as data the
//! CLI and the app both render). Everything is decrypted first; filtering and sorting happen in
//! memory, never in SQL.

use serde::Serialize;
use serde_json::Value;
use spondon_core::shc::ParsedCard;

use crate::error::{Result, WalletError};
use crate::grants::kind_words;
use crate::store::Table;
use crate::sync::{StoredRecord, Trust};
use crate::wallet::Wallet;

/// One line of a record's details.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    /// A medication prescribed (a FHIR `MedicationRequest`).
    Medication {
        /// The drug's name ("medication" when the card names none).
        drug: String,
        /// The instructions as written.
        dosage: Option<String>,
        /// The dose, when given apart ("500 mg").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dose: Option<String>,
        /// How often, when given apart ("3 times per 1 day", or the timing's text).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<String>,
    },
    /// A test result (a FHIR `Observation`).
    Result {
        /// The test's name ("test" when the card names none).
        test: String,
        /// The measured value, as written (a number or a text); `None` when the card gives none.
        value: Option<String>,
        /// The value's unit, when the value is a quantity.
        unit: Option<String>,
        /// The reference range ("3.5–5.0", "≥ 10", "≤ 200", or its text), if the card gives one.
        reference_range: Option<String>,
        /// `high`, `low`, or `None` when within range or no range.
        abnormal: Option<String>,
    },
    /// A diagnosis or problem (a FHIR `Condition`).
    Condition {
        /// The condition's name ("condition" when the card names none).
        text: String,
        /// Its code (the first coding's code, e.g. ICD-10), if any.
        code: Option<String>,
    },
    /// A vaccination (a FHIR `Immunization`).
    Immunization {
        /// The vaccine's name ("vaccine" when the card names none).
        vaccine: String,
        /// When it was given (the card's FHIR date or date-time), if stated.
        date: Option<String>,
    },
    /// A hospital visit (a FHIR `Encounter`).
    Visit {
        /// The kind of visit (outpatient, inpatient, emergency …; "visit" when not stated).
        class: String,
        /// When it started (the card's FHIR date-time), if stated.
        date: Option<String>,
    },
    /// A bill (a FHIR `Invoice`).
    Payment {
        /// The gross total with its currency ("1200 BDT"; "?" when the card gives none).
        total: String,
        /// The invoice's date (the card's FHIR date), if stated.
        date: Option<String>,
    },
    /// A document's file (`docs/protocol.md` §18): what the signed card says of it. The bytes
    /// are apart ([`Wallet::document_file`]).
    Document {
        /// What kind of document ("Complete blood count", "Chest X-ray").
        kind: Option<String>,
        /// The file's title (a name to show, never a path).
        title: Option<String>,
        /// The card's description of the document, if any.
        description: Option<String>,
        /// The file's MIME type (`application/pdf`, `image/jpeg` …).
        content_type: String,
        /// The file's size in bytes.
        size: u64,
        /// SHA-256 of the file, lower-case hex.
        sha256: String,
    },
    /// Any other FHIR resource, shown by its type.
    Other {
        /// The FHIR `resourceType`.
        resource_type: String,
        /// Its name or code in words, if it has one.
        text: Option<String>,
    },
}

/// A record for people.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    /// The record id.
    pub id: String,
    /// The record kind (`prescription`, `lab_report`, `document` …).
    pub kind: String,
    /// A short title for people, from the card's content ("CBC report", "prescription").
    pub title: String,
    /// When it was issued (seconds since the epoch).
    pub issued_at: i64,
    /// The issuing hospital's name (its URL when the name is not known).
    pub hospital: String,
    /// The issuer: the card's `iss` (a peer URL for synced records).
    pub issuer: String,
    /// How far the record is trusted (see [`Trust`]).
    pub trust: Trust,
    /// The id of the record this one replaces, if any.
    pub supersedes: Option<String>,
    /// The doctor named on the card (its first `Practitioner`), if any.
    pub doctor: Option<String>,
    /// The card's details, one [`Item`] per line.
    pub items: Vec<Item>,
    /// For a document: whether its file is in the wallet, checked against the card (filled by
    /// [`Wallet::record`] and [`Wallet::record_detail`]; `None` elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_kept: Option<bool>,
}

/// A timeline filter. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only records of this kind (`prescription`, `lab_report` …; `lab_result` means `lab_report`).
    pub kind: Option<String>,
    /// Substring of the hospital name or URL (case-insensitive).
    pub hospital: Option<String>,
    /// UNIX seconds, inclusive.
    pub from: Option<i64>,
    /// UNIX seconds, inclusive: records issued at or before this time.
    pub to: Option<i64>,
    /// Words that must all appear (case-insensitive) in the title or details.
    pub text: Option<String>,
}

/// The name of a code: SMART Health Cards drop `Coding.display` and `CodeableConcept.text` when
/// minified, so a card often carries only the code. Unknown codes show as themselves.
fn code_name(system: Option<&str>, code: &str) -> String {
    spondon_core::shc::codes::lookup(system, code)
        .map(|k| k.short_name().to_owned())
        .unwrap_or_else(|| code.to_owned())
}

fn text_of(v: &Value) -> Option<String> {
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    let c = v.get("coding")?.as_array()?.first()?;
    if let Some(d) = c.get("display").and_then(Value::as_str) {
        return Some(d.to_owned());
    }
    let code = c.get("code").and_then(Value::as_str)?;
    Some(code_name(c.get("system").and_then(Value::as_str), code))
}

fn num(v: &Value) -> Option<String> {
    v.get("value").map(|x| match x {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or("").to_owned(),
    })
}

fn observation(r: &Value) -> Item {
    let test = r
        .get("code")
        .and_then(text_of)
        .unwrap_or_else(|| "test".into());
    let (mut value, mut unit) = (None, None);
    let mut v_f64 = None;
    if let Some(q) = r.get("valueQuantity") {
        value = num(q);
        v_f64 = q.get("value").and_then(Value::as_f64);
        unit = q
            .get("unit")
            .or_else(|| q.get("code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
    } else if let Some(s) = r.get("valueString").and_then(Value::as_str) {
        value = Some(s.to_owned());
    } else if let Some(c) = r.get("valueCodeableConcept") {
        value = text_of(c);
    }
    let mut reference_range = None;
    let mut abnormal = None;
    if let Some(rr) = r
        .get("referenceRange")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let low = rr.get("low");
        let high = rr.get("high");
        let lo = low.and_then(|l| l.get("value")).and_then(Value::as_f64);
        let hi = high.and_then(|h| h.get("value")).and_then(Value::as_f64);
        reference_range = match (low.and_then(num), high.and_then(num)) {
            (Some(l), Some(h)) => Some(format!("{l}–{h}")),
            (Some(l), None) => Some(format!("≥ {l}")),
            (None, Some(h)) => Some(format!("≤ {h}")),
            (None, None) => rr.get("text").and_then(Value::as_str).map(str::to_owned),
        };
        if let Some(v) = v_f64 {
            if lo.is_some_and(|l| v < l) {
                abnormal = Some("low".into());
            } else if hi.is_some_and(|h| v > h) {
                abnormal = Some("high".into());
            }
        }
    }
    if abnormal.is_none()
        && let Some(code) = r
            .get("interpretation")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|i| i.get("coding"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|c| c.get("code"))
            .and_then(Value::as_str)
    {
        abnormal = match code {
            "H" | "HH" => Some("high".into()),
            "L" | "LL" => Some("low".into()),
            "A" | "AA" => Some("abnormal".into()),
            _ => None,
        };
    }
    Item::Result {
        test,
        value,
        unit,
        reference_range,
        abnormal,
    }
}

fn first_dosage(r: &Value) -> Option<&Value> {
    r.get("dosageInstruction")?.as_array()?.first()
}

fn dose_of(d: &Value) -> Option<String> {
    let q = d
        .get("doseAndRate")?
        .as_array()?
        .first()?
        .get("doseQuantity")?;
    let v = num(q)?;
    let unit = q
        .get("unit")
        .or_else(|| q.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    Some(format!("{v} {unit}").trim().to_owned())
}

fn schedule_of(d: &Value) -> Option<String> {
    let t = d.get("timing")?;
    if let Some(text) = t.get("code").and_then(text_of) {
        return Some(text);
    }
    let r = t.get("repeat")?;
    let f = r.get("frequency").and_then(Value::as_u64)?;
    let p = r.get("period").and_then(Value::as_f64).unwrap_or(1.0);
    let unit = match r.get("periodUnit").and_then(Value::as_str)? {
        "h" => "hour",
        "d" => "day",
        "wk" => "week",
        "mo" => "month",
        _ => return None,
    };
    let times = if f == 1 {
        "once".to_owned()
    } else {
        format!("{f} times")
    };
    Some(if p == 1.0 {
        format!("{times} a {unit}")
    } else {
        format!("{times} every {p} {unit}s")
    })
}

fn item(r: &Value) -> Option<Item> {
    let rt = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
    let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(match rt {
        "Patient" | "Practitioner" | "DiagnosticReport" => return None,
        "MedicationRequest" => Item::Medication {
            drug: r
                .get("medicationCodeableConcept")
                .and_then(text_of)
                .unwrap_or_else(|| "medication".into()),
            dosage: r
                .get("dosageInstruction")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|t| !t.is_empty()),
            dose: first_dosage(r).and_then(dose_of),
            schedule: first_dosage(r).and_then(schedule_of),
        },
        "Observation" => observation(r),
        "Condition" => Item::Condition {
            text: r
                .get("code")
                .and_then(text_of)
                .unwrap_or_else(|| "condition".into()),
            code: r
                .get("code")
                .and_then(|c| c.get("coding"))
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|c| c.get("code"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        "Immunization" => Item::Immunization {
            vaccine: r
                .get("vaccineCode")
                .and_then(text_of)
                .unwrap_or_else(|| "vaccine".into()),
            date: s("occurrenceDateTime"),
        },
        "Encounter" => Item::Visit {
            class: r
                .get("class")
                .and_then(|c| {
                    c.get("display")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .or_else(|| {
                            let code = c.get("code").and_then(Value::as_str)?;
                            Some(code_name(c.get("system").and_then(Value::as_str), code))
                        })
                })
                .unwrap_or_else(|| "visit".to_owned()),
            date: r
                .get("period")
                .and_then(|p| p.get("start"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        "Invoice" => Item::Payment {
            total: r
                .get("totalGross")
                .map(|t| {
                    format!(
                        "{} {}",
                        num(t).unwrap_or_default(),
                        t.get("currency").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "?".into()),
            date: s("date"),
        },
        "DocumentReference" => {
            match spondon_document::Attachment::from_document_reference(r) {
                Ok(a) => Item::Document {
                    // A code no table names is no name.
                    kind: r.get("type").and_then(text_of).filter(|t| {
                        r.pointer("/type/coding/0/code").and_then(Value::as_str) != Some(t)
                    }),
                    title: a.title,
                    description: s("description"),
                    content_type: a.file_type.mime().to_owned(),
                    size: a.size,
                    sha256: hex::encode(a.sha256),
                },
                // A card whose attachment cannot be checked shows as what it is.
                Err(_) => Item::Other {
                    resource_type: "DocumentReference".into(),
                    text: r.get("type").and_then(text_of),
                },
            }
        }
        other => Item::Other {
            resource_type: other.to_owned(),
            text: r.get("code").and_then(text_of),
        },
    })
}

fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
}

fn title(kind: &str, bundle: &Value) -> String {
    if let Some(report) = resources(bundle)
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("DiagnosticReport"))
        && let Some(t) = report.get("code").and_then(text_of)
    {
        let t = t
            .trim_end_matches(" panel")
            .trim_end_matches(" Panel")
            .to_owned();
        return format!("{t} report");
    }
    if let Some(doc) = resources(bundle)
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("DocumentReference"))
    {
        // The type's name when it has one (a code no table knows names nothing), else the
        // file's title without its extension, else the description.
        let code = doc.pointer("/type/coding/0/code").and_then(Value::as_str);
        let named = doc
            .get("type")
            .and_then(text_of)
            .filter(|t| Some(t.as_str()) != code);
        let titled = || {
            let t = doc.pointer("/content/0/attachment/title")?.as_str()?.trim();
            let stem = match t.rsplit_once('.') {
                Some((s, ext))
                    if matches!(
                        ext.to_ascii_lowercase().as_str(),
                        "pdf" | "jpg" | "jpeg" | "png"
                    ) =>
                {
                    s
                }
                _ => t,
            };
            (!stem.is_empty()).then(|| stem.to_owned())
        };
        if let Some(t) = named
            .or_else(titled)
            .or_else(|| doc.get("description")?.as_str().map(str::to_owned))
        {
            return t;
        }
    }
    kind_words(kind).to_owned()
}

fn kind_from_bundle(bundle: &Value) -> String {
    for r in resources(bundle) {
        match r.get("resourceType").and_then(Value::as_str) {
            Some("MedicationRequest") => return "prescription".into(),
            Some("DiagnosticReport") | Some("Observation") => return "lab_report".into(),
            Some("Condition") => return "diagnosis".into(),
            Some("Immunization") => return "immunization".into(),
            Some("Encounter") => return "encounter".into(),
            Some("Invoice") => return "payment".into(),
            Some("DocumentReference") => return "document".into(),
            _ => {}
        }
    }
    "record".into()
}

/// The record kind implied by a card's FHIR content (for imports).
pub(crate) fn kind_of_bundle(bundle: &Value) -> String {
    kind_from_bundle(bundle)
}

/// A short title of a card ("CBC report", "prescription").
pub(crate) fn title_of_jws(jws: &str) -> String {
    match ParsedCard::parse(jws) {
        Ok(c) => title(&kind_from_bundle(c.fhir_bundle()), c.fhir_bundle()),
        Err(_) => "record".into(),
    }
}

/// Renders a stored record for people.
pub fn view(r: &StoredRecord) -> RecordView {
    let (title_s, items, doctor) = match ParsedCard::parse(&r.jws) {
        Ok(c) => {
            let b = c.fhir_bundle();
            let doctor = resources(b)
                .find(|x| x.get("resourceType").and_then(Value::as_str) == Some("Practitioner"))
                .and_then(|p| {
                    p.get("name")
                        .and_then(Value::as_array)
                        .and_then(|a| a.first())
                })
                .and_then(|n| {
                    n.get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .or_else(|| {
                            let fam = n.get("family").and_then(Value::as_str).unwrap_or("");
                            let given = n
                                .get("given")
                                .and_then(Value::as_array)
                                .map(|g| {
                                    g.iter()
                                        .filter_map(Value::as_str)
                                        .collect::<Vec<_>>()
                                        .join(" ")
                                })
                                .unwrap_or_default();
                            let s = format!("{given} {fam}").trim().to_owned();
                            (!s.is_empty()).then_some(s)
                        })
                });
            (
                title(&r.kind, b),
                resources(b).filter_map(item).collect(),
                doctor,
            )
        }
        Err(_) => (kind_words(&r.kind).to_owned(), vec![], None),
    };
    RecordView {
        id: r.id.clone(),
        kind: r.kind.clone(),
        title: title_s,
        issued_at: r.issued_at,
        hospital: r.issuer_name.clone().unwrap_or_else(|| r.issuer.clone()),
        issuer: r.issuer.clone(),
        trust: r.trust.clone(),
        supersedes: r.supersedes.clone(),
        doctor,
        items,
        file_kept: None,
    }
}

/// What was checked about a verified record: its signature, its log entry, the checkpoint that
/// includes it, and that checkpoint's cosigners.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProofView {
    /// The signing key's id (JWS header `kid`).
    pub kid: String,
    /// The card's issuer.
    pub issuer: String,
    /// The log index of its entry.
    pub log_index: u64,
    /// The checkpoint's origin (the log's name, its first line).
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash (base64).
    pub root: String,
    /// Cosigners of the checkpoint other than the log itself: key name, and whether it is a
    /// log of the trust list whose cosignature verifies.
    pub witnesses: Vec<(String, bool)>,
}

fn proof_view(
    r: &StoredRecord,
    list: Option<&spondon_core::token::TrustList>,
) -> Option<ProofView> {
    use base64::Engine as _;
    if r.trust != Trust::Verified {
        return None;
    }
    let card = ParsedCard::parse(&r.jws).ok()?;
    let note = spondon_ledger::Note::parse(r.checkpoint.as_deref()?.as_bytes()).ok()?;
    let cp = spondon_ledger::Checkpoint::from_text(&note.text).ok()?;
    // A cosigner counts when the trust list names it as a witness of this hospital's log and
    // its cosignature verifies.
    let hospital = list.and_then(|l| l.hospitals.iter().find(|h| h.log_origin == cp.origin));
    let counting: Vec<spondon_ledger::Verifier> = match (list, hospital) {
        (Some(l), Some(h)) => spondon_ledger::WitnessPolicy::for_hospital(l, h)
            .map(|p| p.witnesses().to_vec())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut witnesses = Vec::new();
    for sig in &note.signatures {
        if sig.name == cp.origin
            || witnesses
                .iter()
                .any(|(n, _): &(String, bool)| n == &sig.name)
        {
            continue;
        }
        let verified = counting
            .iter()
            .filter(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            .any(|v| note.verify(std::slice::from_ref(v)).is_ok());
        witnesses.push((sig.name.clone(), verified));
    }
    Some(ProofView {
        kid: card.kid().to_owned(),
        issuer: card.iss().to_owned(),
        log_index: r.log_index?,
        origin: cp.origin.clone(),
        size: cp.size,
        root: base64::engine::general_purpose::STANDARD.encode(cp.root),
        witnesses,
    })
}

fn matches(v: &RecordView, f: &Filter) -> bool {
    if let Some(k) = &f.kind {
        let k = if k == "lab_result" {
            "lab_report"
        } else {
            k.as_str()
        };
        if v.kind != k {
            return false;
        }
    }
    if let Some(h) = &f.hospital {
        let h = h.to_lowercase();
        if !v.hospital.to_lowercase().contains(&h) && !v.issuer.to_lowercase().contains(&h) {
            return false;
        }
    }
    if f.from.is_some_and(|from| v.issued_at < from) || f.to.is_some_and(|to| v.issued_at > to) {
        return false;
    }
    if let Some(t) = &f.text {
        let hay = format!(
            "{} {} {}",
            v.title,
            v.hospital,
            serde_json::to_string(&v.items).unwrap_or_default()
        )
        .to_lowercase();
        if !t.to_lowercase().split_whitespace().all(|w| hay.contains(w)) {
            return false;
        }
    }
    true
}

impl Wallet {
    /// The timeline (newest first), filtered.
    pub async fn records(&self, filter: &Filter) -> Result<Vec<RecordView>> {
        let all: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let mut v: Vec<RecordView> = all
            .iter()
            .map(view)
            .filter(|v| matches(v, filter))
            .collect();
        v.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// The stored records themselves (cards and proofs), for export.
    pub async fn stored_records(&self) -> Result<Vec<StoredRecord>> {
        let mut v: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        v.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// One record by id (or unique id prefix) with what was checked about it.
    pub async fn record_detail(&self, id: &str) -> Result<(RecordView, Option<ProofView>)> {
        let all: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let m: Vec<&StoredRecord> = all.iter().filter(|r| r.id.starts_with(id)).collect();
        let one = match m.as_slice() {
            [one] => *one,
            [] => return Err(WalletError::NotFound(format!("record {id}"))),
            _ => {
                return Err(WalletError::Ambiguous {
                    prefix: id.to_owned(),
                    what: "record",
                });
            }
        };
        let list = self.trust_list().await.ok();
        let mut v = view(one);
        self.mark_kept(&mut v).await?;
        Ok((v, proof_view(one, list.as_ref())))
    }

    /// Fills in [`RecordView::file_kept`] for a document.
    async fn mark_kept(&self, v: &mut RecordView) -> Result<()> {
        for i in &v.items {
            if let Item::Document { sha256, .. } = i {
                v.file_kept = Some(self.store.contains(Table::Files, sha256).await?);
            }
        }
        Ok(())
    }

    /// One record by id (or unique id prefix).
    pub async fn record(&self, id: &str) -> Result<RecordView> {
        let all: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let m: Vec<&StoredRecord> = all.iter().filter(|r| r.id.starts_with(id)).collect();
        match m.as_slice() {
            [one] => {
                let mut v = view(one);
                self.mark_kept(&mut v).await?;
                Ok(v)
            }
            [] => Err(WalletError::NotFound(format!("record {id}"))),
            _ => Err(WalletError::Ambiguous {
                prefix: id.to_owned(),
                what: "record",
            }),
        }
    }
}
