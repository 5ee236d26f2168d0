//! Record issuance: validated FHIR R4 SMART Health Cards, committed to the log. Records are
//! never edited; a correction is a new record that supersedes an earlier one.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::shc::{CardBuilder, VC_TYPE_IMMUNIZATION, VC_TYPE_LABORATORY};
use spondon_core::token::Category;
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::db::records::NewRecord as RowData;
use crate::error::{PeerError, Result};
use crate::group_commit::Wait;
use crate::peer::{Peer, to_u64};
use crate::registry::is_health_id;

/// Most FHIR resources in one record.
pub const MAX_RESOURCES: usize = 50;

/// The kinds of record a peer issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `MedicationRequest`s, authored by a registered doctor.
    Prescription,
    /// One `DiagnosticReport` and its `Observation`s (LOINC codes, units, reference ranges).
    LabReport,
    /// `Condition`s with ICD-10 codes.
    Diagnosis,
    /// `Immunization`s.
    Immunization,
    /// An `Encounter`.
    Encounter,
    /// A payment slip: an `Invoice` in BDT.
    Payment,
    /// A record that carries a file (PDF, JPEG, PNG): one `DocumentReference` naming the
    /// uploaded file by SHA-256; its category is the `record-category` coding's
    /// (`docs/protocol.md` §18).
    Document,
}

impl RecordKind {
    /// The grant category of every record of this kind; `None` for a document, whose
    /// category is its `DocumentReference`'s ([`request_category`]).
    pub fn category(self) -> Option<Category> {
        match self {
            RecordKind::Prescription => Some(Category::Prescription),
            RecordKind::LabReport => Some(Category::LabResult),
            RecordKind::Diagnosis => Some(Category::Diagnosis),
            RecordKind::Immunization => Some(Category::Immunization),
            RecordKind::Encounter => Some(Category::Encounter),
            RecordKind::Payment => Some(Category::Payment),
            RecordKind::Document => None,
        }
    }
    /// The kind's name in requests and answers (`prescription`, `lab_report`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Prescription => "prescription",
            RecordKind::LabReport => "lab_report",
            RecordKind::Diagnosis => "diagnosis",
            RecordKind::Immunization => "immunization",
            RecordKind::Encounter => "encounter",
            RecordKind::Payment => "payment",
            RecordKind::Document => "document",
        }
    }
    fn allowed(self) -> &'static [&'static str] {
        match self {
            RecordKind::Prescription => &["MedicationRequest"],
            RecordKind::LabReport => &["DiagnosticReport", "Observation"],
            RecordKind::Diagnosis => &["Condition"],
            RecordKind::Immunization => &["Immunization"],
            RecordKind::Encounter => &["Encounter"],
            RecordKind::Payment => &["Invoice"],
            RecordKind::Document => &["DocumentReference"],
        }
    }
}

/// A grant category by its wire name (`lab_result`, …).
pub(crate) fn category_named(name: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| {
        serde_json::to_value(c)
            .ok()
            .as_ref()
            .and_then(Value::as_str)
            == Some(name)
    })
}

/// The grant category a request's record will have: the kind's, or for a document the
/// `record-category` coding of its `DocumentReference` (`docs/protocol.md` §18.1).
pub fn request_category(kind: RecordKind, resources: &[Value]) -> Result<Category> {
    if let Some(c) = kind.category() {
        return Ok(c);
    }
    let [doc] = resources else {
        return Err(bad("a document holds exactly one DocumentReference"));
    };
    let name = spondon_document::category_of(doc)?;
    category_named(name).ok_or_else(|| bad("unknown record-category code"))
}

/// A request to issue a record.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The patient's Health ID.
    pub health_id: String,
    /// What kind of record it is.
    pub kind: RecordKind,
    /// The authoring doctor (required for prescriptions).
    #[serde(default)]
    pub doctor_bmdc: Option<String>,
    /// The record this one corrects.
    #[serde(default)]
    pub supersedes: Option<String>,
    /// The FHIR R4 resources (without the Patient, Practitioner and references to them, which
    /// the peer adds from its registry).
    pub resources: Vec<Value>,
}

/// A validated, signed record not yet logged or stored.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    /// The staff write's idempotency key, stored with the record.
    pub idempotency: Option<Idempotency>,
    /// The record's id.
    pub id: String,
    /// The patient's Health ID.
    pub health_id: String,
    /// What kind of record it is.
    pub kind: RecordKind,
    /// The authoring doctor's BMDC number, if any.
    pub doctor_bmdc: Option<String>,
    /// The record this one corrects, if any.
    pub supersedes: Option<String>,
    /// The signed SMART Health Card (compact JWS).
    pub jws: String,
    /// Its grant category.
    pub category: Category,
    /// The SHA-256 of the file a document record carries.
    pub file: Option<[u8; 32]>,
    /// The statistics condition groups of its diagnoses (`Condition` ICD-10 codes).
    stat_groups: Vec<&'static str>,
    now: NumericDate,
    /// The staff request's audit entry, written in the record's transaction if the record is
    /// (see [`Peer::issue_record_audited`]).
    audit: Option<crate::staff::AuditEntry>,
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<(IssuedRecord, bool)>>>;

/// Prepared records waiting for the next group commit as one unit (a staff record alone, or
/// every record of a FHIR transaction Bundle), and where to answer.
#[derive(Debug)]
pub(crate) struct PendingRecord {
    prepared: Vec<PreparedRecord>,
    reply: Reply,
}

/// A record of a batch that passed its checks.
struct NewRow {
    prepared: PreparedRecord,
    cases: Vec<crate::stats::StatCase>,
    opening: Opening,
}

/// How one record of a queued unit is answered after the batch's commit.
enum Outcome {
    /// Its key was used before: that record, replayed.
    Replay(IssuedRecord),
    /// Row `i` of the batch: written now (`false`) or the same key and request as it (`true`).
    Row(usize, bool),
}

enum Checked {
    /// Its idempotency key was used before: the first record is the answer.
    Replay(IssuedRecord),
    /// Same key and request as record `i` of this batch: answered with it.
    Follows(usize),
    /// To be written, with the statistics rows it adds.
    New(Vec<crate::stats::StatCase>),
}

impl NewRow {
    /// The record's rows, owned, for the append's transaction.
    fn rows(&self) -> Result<RowData> {
        let r = self;
        let p = &r.prepared;
        Ok(RowData {
            id: p.id.clone(),
            health_id: p.health_id.clone(),
            category: i64::try_from(p.category.code())
                .map_err(|e| PeerError::Integrity(e.to_string()))?,
            kind: p.kind.as_str(),
            doctor_bmdc: p.doctor_bmdc.clone(),
            supersedes: p.supersedes.clone(),
            jws: p.jws.clone(),
            salt: r.opening.salt,
            issued_at: p.now.seconds(),
            file: p.file,
            idempotency: p.idempotency.clone(),
            cases: r.cases.clone(),
            audit: p.audit.clone(),
        })
    }
}

/// Answers every waiting caller with (a copy of) one batch-wide error.
fn fail_all(replies: impl Iterator<Item = Reply>, e: &PeerError) {
    for r in replies {
        // The database's absence stays 503 database_unavailable for every record of the batch.
        let copy = if e.is_unavailable() {
            PeerError::DatabaseUnavailable
        } else {
            PeerError::Db(sqlx::Error::Protocol(format!("group commit failed: {e}")))
        };
        let _ = r.send(Err(copy));
    }
}

/// A staff write's `Idempotency-Key`, scoped to the staff token that sent it, with the hash of
/// the request it was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The staff token's id the key belongs to.
    pub scope: String,
    /// The header's value.
    pub key: String,
    /// SHA-256 of the request it was first used for.
    pub request_hash: [u8; 32],
}

impl Idempotency {
    /// Checks the header's value: 1 to 255 visible ASCII characters (RFC 9110 token-like, as
    /// the IETF draft on the Idempotency-Key header asks of clients: a UUID is typical).
    pub fn new(scope: &str, key: &str, request: &IssueRequest) -> Result<Idempotency> {
        if key.is_empty() || key.len() > 255 {
            return Err(PeerError::BadIdempotencyKey("1 to 255 characters"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PeerError::BadIdempotencyKey(
                "visible ASCII characters only",
            ));
        }
        let body = serde_json::to_vec(request)
            .map_err(|e| PeerError::Integrity(format!("request hash: {e}")))?;
        Ok(Idempotency {
            scope: scope.to_owned(),
            key: key.to_owned(),
            request_hash: spondon_core::keys::sha256(&body),
        })
    }
}

/// An issued record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IssuedRecord {
    /// The record's id.
    pub id: String,
    /// The patient's Health ID.
    pub health_id: String,
    /// What kind of record it is.
    pub kind: RecordKind,
    /// The grant category that covers it.
    pub category: Category,
    /// The record this one corrects, if any.
    pub supersedes: Option<String>,
    /// Index of its entry in the transparency log.
    pub log_index: u64,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// The SMART Health Card (compact JWS).
    pub jws: String,
}

const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";

fn bad(reason: impl Into<String>) -> PeerError {
    PeerError::InvalidFhir(reason.into())
}

fn codings<'a>(r: &'a Value, field: &str) -> Vec<&'a Value> {
    r.get(field)
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn has_code(r: &Value, field: &str, system: &str, ok: impl Fn(&str) -> bool) -> bool {
    codings(r, field).iter().any(|c| {
        c.get("system").and_then(Value::as_str) == Some(system)
            && c.get("code").and_then(Value::as_str).is_some_and(&ok)
    })
}

pub(crate) fn is_loinc(code: &str) -> bool {
    let Some((num, check)) = code.split_once('-') else {
        return false;
    };
    (1..=7).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
        && check.len() == 1
        && check.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_icd10(code: &str) -> bool {
    let (head, tail) = match code.split_once('.') {
        Some((_, "")) => return false,
        Some((h, t)) => (h, t),
        None => (code, ""),
    };
    let b = head.as_bytes();
    b.len() == 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && (b[2].is_ascii_digit() || b[2].is_ascii_uppercase())
        && tail.len() <= 4
        && tail
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

fn quantity(q: &Value, what: &str) -> Result<()> {
    let ok = q.get("value").is_some_and(Value::is_number)
        && q.get("unit")
            .and_then(Value::as_str)
            .is_some_and(|u| !u.is_empty())
        && q.get("system").and_then(Value::as_str) == Some(UCUM)
        && q.get("code")
            .and_then(Value::as_str)
            .is_some_and(|u| !u.is_empty());
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} must be a Quantity with a numeric value, unit, and UCUM system and code"
        )))
    }
}

fn check_resource(kind: RecordKind, i: usize, r: &Value) -> Result<&'static str> {
    let Some(obj) = r.as_object() else {
        return Err(bad(format!("resources[{i}] is not an object")));
    };
    let rt = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(rt) = kind.allowed().iter().copied().find(|a| *a == rt) else {
        return Err(bad(format!(
            "resources[{i}].resourceType must be one of {:?} for a {}",
            kind.allowed(),
            kind.as_str()
        )));
    };
    for f in [
        "id",
        "subject",
        "patient",
        "requester",
        "result",
        "performer",
        "recorder",
    ] {
        if obj.contains_key(f) {
            return Err(bad(format!(
                "resources[{i}].{f} must not be given: the peer sets it"
            )));
        }
    }
    let status = obj.get("status").and_then(Value::as_str);
    let p = format!("resources[{i}]({rt})");
    match rt {
        "MedicationRequest" => {
            if obj.get("intent").and_then(Value::as_str) != Some("order") || status.is_none() {
                return Err(bad(format!("{p} needs status and intent \"order\"")));
            }
            if codings(r, "medicationCodeableConcept").is_empty()
                && r.pointer("/medicationCodeableConcept/text")
                    .and_then(Value::as_str)
                    .is_none()
            {
                return Err(bad(format!("{p}.medicationCodeableConcept is required")));
            }
            let dosage = obj.get("dosageInstruction").and_then(Value::as_array);
            if dosage.is_none_or(Vec::is_empty) {
                return Err(bad(format!("{p}.dosageInstruction is required")));
            }
        }
        "Observation" => {
            if !matches!(
                status,
                Some("final" | "amended" | "corrected" | "preliminary")
            ) {
                return Err(bad(format!(
                    "{p}.status must be final, amended, corrected or preliminary"
                )));
            }
            if !has_code(r, "code", LOINC, is_loinc) {
                return Err(bad(format!("{p}.code needs a LOINC coding ({LOINC})")));
            }
            match (
                obj.get("valueQuantity"),
                obj.get("valueString"),
                obj.get("valueCodeableConcept"),
            ) {
                (Some(q), None, None) => quantity(q, &format!("{p}.valueQuantity"))?,
                (None, Some(Value::String(_)), None) | (None, None, Some(Value::Object(_))) => {}
                _ => {
                    return Err(bad(format!(
                        "{p} needs exactly one of valueQuantity, valueString, valueCodeableConcept"
                    )));
                }
            }
            if let Some(ranges) = obj.get("referenceRange") {
                let Some(ranges) = ranges.as_array() else {
                    return Err(bad(format!("{p}.referenceRange must be an array")));
                };
                for (k, rr) in ranges.iter().enumerate() {
                    let (lo, hi) = (rr.get("low"), rr.get("high"));
                    if lo.is_none() && hi.is_none() && rr.get("text").is_none() {
                        return Err(bad(format!(
                            "{p}.referenceRange[{k}] needs low, high or text"
                        )));
                    }
                    for q in [lo, hi].into_iter().flatten() {
                        quantity(q, &format!("{p}.referenceRange[{k}]"))?;
                    }
                }
            }
        }
        "DiagnosticReport" => {
            if !matches!(
                status,
                Some("final" | "amended" | "corrected" | "preliminary")
            ) {
                return Err(bad(format!(
                    "{p}.status must be final, amended, corrected or preliminary"
                )));
            }
            if !has_code(r, "code", LOINC, is_loinc) {
                return Err(bad(format!("{p}.code needs a LOINC coding ({LOINC})")));
            }
        }
        "Condition" if !has_code(r, "code", ICD10, is_icd10) => {
            return Err(bad(format!("{p}.code needs an ICD-10 coding ({ICD10})")));
        }
        "Immunization" if codings(r, "vaccineCode").is_empty() => {
            return Err(bad(format!("{p}.vaccineCode needs a coding")));
        }
        "Encounter" if status.is_none() || obj.get("class").is_none() => {
            return Err(bad(format!("{p} needs status and class")));
        }
        "DocumentReference" => {
            if status != Some("current") {
                return Err(bad(format!("{p}.status must be \"current\"")));
            }
            for f in ["author", "custodian", "context"] {
                if obj.contains_key(f) {
                    return Err(bad(format!("{p}.{f} must not be given: the peer sets it")));
                }
            }
            spondon_document::DocumentRequest::from_document_reference(r)?;
        }
        "Invoice" => {
            if status.is_none() {
                return Err(bad(format!("{p}.status is required")));
            }
            let total = obj.get("totalGross");
            let ok = total.is_some_and(|t| {
                t.get("value").is_some_and(Value::is_number)
                    && t.get("currency").and_then(Value::as_str) == Some("BDT")
            });
            if !ok {
                return Err(bad(format!("{p}.totalGross must be Money in BDT")));
            }
        }
        _ => {}
    }
    Ok(rt)
}

impl Peer {
    /// Validates, signs and logs a record, then stores it. Everything that can fail on the
    /// request's content fails before anything is written.
    pub async fn issue_record(&self, req: &IssueRequest) -> Result<IssuedRecord> {
        let prepared = self.prepare_record(req).await?;
        self.commit_record(prepared).await
    }

    /// [`Peer::issue_record`] with an idempotency key: a retry with the same key and the same
    /// request answers the record issued the first time (`true`: replayed), one with another
    /// request is refused (`idempotency_key_reused`). Nothing is issued twice, even when the
    /// first answer was lost (a crash after the commit, a dropped connection).
    pub async fn issue_record_idempotent(
        &self,
        req: &IssueRequest,
        key: Idempotency,
    ) -> Result<(IssuedRecord, bool)> {
        if let Some(first) = self.idempotent_record(&key).await? {
            return Ok((first, true));
        }
        let mut prepared = self.prepare_record(req).await?;
        prepared.idempotency = Some(key);
        self.commit_prepared(prepared).await
    }

    /// A staff request's issuance with its audit entry: [`Peer::issue_record`], or with `key`
    /// [`Peer::issue_record_idempotent`], where the record, if it is written now, is written
    /// together with `audit` (its target set to the record's id) — one transaction, so
    /// neither is ever stored without the other, and the request costs one commit instead of
    /// two. Answers `true` (replayed) when nothing new was written: then `audit` was not
    /// stored either, and the caller audits the answer as any other.
    pub(crate) async fn issue_record_audited(
        &self,
        req: &IssueRequest,
        key: Option<Idempotency>,
        audit: crate::staff::AuditEntry,
    ) -> Result<(IssuedRecord, bool)> {
        if let Some(key) = &key
            && let Some(first) = self.idempotent_record(key).await?
        {
            return Ok((first, true));
        }
        let mut prepared = self.prepare_record(req).await?;
        prepared.idempotency = key;
        prepared.audit = Some(crate::staff::AuditEntry {
            target: Some(prepared.id.clone()),
            ..audit
        });
        self.commit_prepared(prepared).await
    }

    /// The record a key was first used for, if any (refused if for another request).
    pub(crate) async fn idempotent_record(
        &self,
        key: &Idempotency,
    ) -> Result<Option<IssuedRecord>> {
        match db::records::idempotent(&self.db, &key.scope, &key.key).await? {
            None => Ok(None),
            Some(i) if i.request_hash.as_slice() != key.request_hash.as_slice() => {
                Err(PeerError::IdempotencyKeyReused)
            }
            Some(i) => Ok(Some(self.stored_record(&i.record_id).await?.0)),
        }
    }

    /// Validates the request and signs the card; writes nothing.
    pub async fn prepare_record(&self, req: &IssueRequest) -> Result<PreparedRecord> {
        self.prepare_record_for(req, None).await
    }

    /// [`Peer::prepare_record`] with the patient already read (a FHIR Bundle's patients are
    /// read in one statement); used only for a record without a doctor, whose read would
    /// have been the patient alone.
    pub(crate) async fn prepare_record_for(
        &self,
        req: &IssueRequest,
        patient: Option<crate::registry::Patient>,
    ) -> Result<PreparedRecord> {
        let (health_id, doctor_bmdc, bundle) = self.record_bundle_for(req, patient).await?;
        let file = spondon_document::Attachment::from_card_fhir(&bundle)?.map(|a| a.sha256);
        let id = spondon_core::b64::encode(spondon_core::keys::random_bytes::<16>()?);
        let now = NumericDate::now();
        let mut builder = CardBuilder::new(self.config.url.clone(), now, bundle).rid(id.clone());
        builder = match req.kind {
            RecordKind::Immunization => builder.vc_type(VC_TYPE_IMMUNIZATION),
            RecordKind::LabReport => builder.vc_type(VC_TYPE_LABORATORY),
            _ => builder,
        };
        let category = request_category(req.kind, &req.resources)?;
        let jws = builder
            .sign(&self.keys.record)
            .map_err(|e| bad(format!("{} ({})", e, e.code())))?;
        Ok(PreparedRecord {
            idempotency: None,
            id,
            health_id,
            kind: req.kind,
            doctor_bmdc,
            supersedes: req.supersedes.clone(),
            jws,
            category,
            file,
            stat_groups: crate::stats::condition_groups(req.kind, &req.resources),
            now,
            audit: None,
        })
    }

    /// Validates the request and builds the FHIR Bundle the card will hold (Patient and
    /// Practitioner from the registry, references set); signs and writes nothing. Returns the
    /// patient's Health ID, the authoring doctor's BMDC number and the Bundle.
    pub async fn record_bundle(
        &self,
        req: &IssueRequest,
    ) -> Result<(String, Option<String>, Value)> {
        self.record_bundle_for(req, None).await
    }

    async fn record_bundle_for(
        &self,
        req: &IssueRequest,
        known: Option<crate::registry::Patient>,
    ) -> Result<(String, Option<String>, Value)> {
        // The patient and the doctor in one statement; an unknown doctor is reported after
        // the resources are checked, as before.
        let (patient, doctor) = match known {
            Some(p) if req.doctor_bmdc.is_none() && p.health_id == req.health_id => (p, None),
            _ => {
                self.patient_and_doctor(&req.health_id, req.doctor_bmdc.as_deref())
                    .await?
            }
        };
        if req.resources.is_empty() || req.resources.len() > MAX_RESOURCES {
            return Err(bad(format!(
                "resources must hold 1–{MAX_RESOURCES} FHIR resources"
            )));
        }
        let mut types = Vec::with_capacity(req.resources.len());
        for (i, r) in req.resources.iter().enumerate() {
            types.push(check_resource(req.kind, i, r)?);
        }
        let count = |t: &str| types.iter().filter(|x| **x == t).count();
        if req.kind == RecordKind::LabReport
            && (count("DiagnosticReport") != 1 || count("Observation") == 0)
        {
            return Err(bad(
                "a lab_report holds exactly one DiagnosticReport and at least one Observation",
            ));
        }
        if matches!(
            req.kind,
            RecordKind::Encounter | RecordKind::Payment | RecordKind::Document
        ) && types.len() != 1
        {
            return Err(bad(format!(
                "a {} holds exactly one resource",
                req.kind.as_str()
            )));
        }
        let doctor = match (&req.doctor_bmdc, doctor) {
            (Some(b), Some(d)) => Some((b.clone(), d?)),
            (Some(b), None) => Some((b.clone(), self.doctor(b).await?)),
            (None, _) if req.kind == RecordKind::Prescription => {
                return Err(PeerError::field(
                    "doctor_bmdc",
                    "a prescription needs its registered doctor",
                ));
            }
            (None, _) => None,
        };
        let d = &patient.details;
        let mut entries = vec![json!({"fullUrl": "resource:0", "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": format!("{}/health-id", self.config.url), "value": patient.health_id}],
            "name": [{"text": d.name}],
            "gender": d.sex,
            "birthDate": d.birth_date,
        }})];
        let practitioner = doctor.as_ref().map(|(bmdc, d)| {
            entries.push(json!({"fullUrl": "resource:1", "resource": {
                "resourceType": "Practitioner",
                "identifier": [{"system": "https://bmdc.org.bd/registration", "value": bmdc}],
                "name": [{"text": d.name}],
            }}));
            "resource:1"
        });
        let first = entries.len();
        let obs_refs: Vec<Value> = types
            .iter()
            .enumerate()
            .filter(|(_, t)| **t == "Observation")
            .map(|(k, _)| json!({"reference": format!("resource:{}", first + k)}))
            .collect();
        for (k, (r, t)) in req.resources.iter().zip(&types).enumerate() {
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                let field = if matches!(*t, "Immunization" | "Invoice") {
                    if *t == "Invoice" {
                        "subject"
                    } else {
                        "patient"
                    }
                } else {
                    "subject"
                };
                o.insert(field.into(), json!({"reference": "resource:0"}));
                if let Some(pr) = practitioner {
                    match *t {
                        "MedicationRequest" => {
                            o.insert("requester".into(), json!({"reference": pr}));
                        }
                        "Condition" => {
                            o.insert("recorder".into(), json!({"reference": pr}));
                        }
                        "DiagnosticReport" | "Observation" => {
                            o.insert("performer".into(), json!([{"reference": pr}]));
                        }
                        _ => {}
                    }
                }
                if *t == "DiagnosticReport" {
                    o.insert("result".into(), Value::Array(obs_refs.clone()));
                }
                if *t == "DocumentReference"
                    && let Some(pr) = practitioner
                {
                    o.insert("author".into(), json!([{"reference": pr}]));
                }
            }
            if *t == "DocumentReference" {
                // The stored file: its type must be the one named, its size is filled in.
                let want = spondon_document::DocumentRequest::from_document_reference(&r)?;
                let (file_type, size) = self
                    .stored_file_meta(&want.sha256)
                    .await?
                    .ok_or(PeerError::FileNotUploaded)?;
                if file_type != want.file_type {
                    return Err(spondon_document::DocumentError::FileTypeMismatch {
                        expected: want.file_type.mime(),
                    }
                    .into());
                }
                if want.size.is_some_and(|s| s != size) {
                    return Err(spondon_document::DocumentError::FileSizeMismatch.into());
                }
                if let Some(Value::Object(content)) = r.pointer_mut("/content/0") {
                    content.insert("attachment".into(), want.with_size(size).to_json());
                }
            }
            entries.push(json!({"fullUrl": format!("resource:{}", first + k), "resource": r}));
        }
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        if let Some(old) = &req.supersedes {
            self.check_supersede(old, &patient.health_id).await?;
        }
        Ok((patient.health_id, doctor.map(|d| d.0), bundle))
    }

    /// Logs and stores a prepared record.
    pub async fn commit_record(&self, p: PreparedRecord) -> Result<IssuedRecord> {
        Ok(self.commit_prepared(p).await?.0)
    }

    /// [`Peer::commit_record`]; `true` when an idempotency key turned out to be taken by a
    /// concurrent identical request (its record is answered instead).
    ///
    /// **Group commit.** The record joins the queue of records waiting to be written; whoever
    /// takes the writer lock next (this caller or a concurrent one) writes every queued record
    /// together: one transaction with all their log entries, all their rows and the signed
    /// checkpoint over them (one commit). Each caller is answered only after that commit, so
    /// nobody hears of a record before it and its checkpoint are durable. Alone, a record is a
    /// batch of one, as before.
    pub(crate) async fn commit_prepared(&self, p: PreparedRecord) -> Result<(IssuedRecord, bool)> {
        self.commit_records(vec![p])
            .await?
            .pop()
            .ok_or_else(|| PeerError::Integrity("a committed record went unanswered".into()))
    }

    /// Commits prepared records as **one unit**: they join the group-commit queue together
    /// (never split across batches) and are written in one database transaction, at
    /// consecutive log indexes in the given order, with their log entries and the signed
    /// checkpoint. If any of them fails its checks under the writer lock (idempotency key
    /// reused, record already superseded, file gone, …), none is written and the caller gets
    /// that error; other callers' records in the same batch are unaffected. Answers each
    /// record in order, `true` when its idempotency key was already used for the same request
    /// (that record is answered, nothing new is written for it).
    pub async fn commit_records(
        &self,
        prepared: Vec<PreparedRecord>,
    ) -> Result<Vec<(IssuedRecord, bool)>> {
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.pending_records
            .lock()
            .map_err(|_| PeerError::Integrity("record queue lock poisoned".into()))?
            .push(PendingRecord { prepared, reply });
        let unanswered = || PeerError::Integrity("record left the group commit unanswered".into());
        // An earlier writer may take this unit in its batch: its answer ends the wait.
        let local = match crate::group_commit::wait(self.issue_lock.lock(), &mut answer).await {
            Wait::Answered(a) => return a.map_err(|_| unanswered())?,
            Wait::Turn(local) => local,
        };
        let batch = match self.pending_records.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        if batch.is_empty() {
            // An earlier writer took this record in its batch.
            drop(local);
        } else {
            match self.write_lock_from(local).await {
                Ok(guard) => {
                    self.commit_batch(batch).await;
                    drop(guard);
                }
                Err(e) => fail_all(batch.into_iter().map(|j| j.reply), &e),
            }
        }
        answer.await.map_err(|_| unanswered())?
    }

    /// Writes a batch of queued units (under the writer lock) and answers each.
    async fn commit_batch(&self, batch: Vec<PendingRecord>) {
        let mut new: Vec<NewRow> = Vec::with_capacity(batch.len());
        // The units of the batch that passed every check, and how each of their records is
        // answered.
        let mut accepted: Vec<(Reply, Vec<Outcome>)> = Vec::with_capacity(batch.len());
        for job in batch {
            // A unit is all or nothing: on the first failing record the rows its earlier
            // records added to the batch are taken out again, and the unit is refused.
            let start = new.len();
            let mut outcomes = Vec::with_capacity(job.prepared.len());
            let mut failed = None;
            // A unit's keys (a Bundle's, one scope) looked up in one statement: when none is
            // stored, its records' keys are checked against the batch alone.
            let keys_free = match self.unit_keys_free(&job.prepared).await {
                Ok(free) => free,
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                    continue;
                }
            };
            for prepared in job.prepared {
                let checked = match self.check_pending(&prepared, &new, keys_free).await {
                    Ok(Checked::New(cases)) => Opening::new(prepared.jws.clone().into_bytes())
                        .map(|opening| (cases, opening))
                        .map_err(|e| PeerError::Integrity(e.to_string())),
                    Ok(Checked::Replay(first)) => {
                        outcomes.push(Outcome::Replay(first));
                        continue;
                    }
                    Ok(Checked::Follows(i)) => {
                        outcomes.push(Outcome::Row(i, true));
                        continue;
                    }
                    Err(e) => Err(e),
                };
                match checked {
                    Ok((cases, opening)) => {
                        outcomes.push(Outcome::Row(new.len(), false));
                        new.push(NewRow {
                            prepared,
                            cases,
                            opening,
                        });
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                Some(e) => {
                    new.truncate(start);
                    let _ = job.reply.send(Err(e));
                }
                None => accepted.push((job.reply, outcomes)),
            }
        }
        // Units answered by replays alone need no write.
        let (writes, replays): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .partition(|(_, o)| o.iter().any(|o| matches!(o, Outcome::Row(..))));
        for (reply, outcomes) in replays {
            let answer = outcomes
                .into_iter()
                .filter_map(|o| match o {
                    Outcome::Replay(r) => Some((r, true)),
                    Outcome::Row(..) => None,
                })
                .collect();
            let _ = reply.send(Ok(answer));
        }
        if new.is_empty() {
            return;
        }
        // A batch-wide failure: the first unit gets the error itself, the others a copy.
        let fail = |writes: Vec<(Reply, Vec<Outcome>)>, e: PeerError| {
            let mut replies = writes.into_iter().map(|w| w.0);
            let first = replies.next();
            fail_all(replies, &e);
            if let Some(first) = first {
                let _ = first.send(Err(e));
            }
        };
        let entries: Vec<[u8; 42]> = new
            .iter()
            .map(|r| LogEntry::commit(EntryKind::RecordIssued, r.prepared.now, &r.opening).encode())
            .collect();
        // The entries, every record and the statistics rows it adds are written in one
        // transaction (one commit): a crash leaves the whole batch or none of it.
        let rows: Result<Vec<RowData>> = new.iter().map(NewRow::rows).collect();
        let rows = match rows {
            Ok(r) => r,
            Err(e) => return fail(writes, e),
        };
        let extra: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move { db::records::insert_all(&mut tx, &rows, first).await })
        });
        // The checkpoint over the batch is signed in the same transaction (one commit).
        let first = match self.append_signed(&entries, extra).await {
            Ok(a) => a.first_index,
            Err(e) => return fail(writes, e),
        };
        if new.len() > 1 {
            tracing::debug!(records = new.len(), "group commit");
        }
        let mut issued: Vec<IssuedRecord> = Vec::with_capacity(new.len());
        for (k, r) in new.into_iter().enumerate() {
            let p = r.prepared;
            let log_index = first + k as u64;
            tracing::info!(log_index, kind = p.kind.as_str(), "record issued");
            issued.push(IssuedRecord {
                id: p.id,
                health_id: p.health_id,
                kind: p.kind,
                category: p.category,
                supersedes: p.supersedes,
                log_index,
                issued_at: p.now.seconds(),
                jws: p.jws,
            });
        }
        for (reply, outcomes) in writes {
            let answer: Option<Vec<(IssuedRecord, bool)>> = outcomes
                .into_iter()
                .map(|o| match o {
                    Outcome::Replay(r) => Some((r, true)),
                    Outcome::Row(i, replayed) => issued.get(i).map(|r| (r.clone(), replayed)),
                })
                .collect();
            let _ = reply.send(answer.ok_or_else(|| {
                PeerError::Integrity("a unit's record is missing from its batch".into())
            }));
        }
    }

    /// Whether none of a unit's idempotency keys is stored (one statement), for a unit of
    /// several records all keyed under one scope; `false` (look each up) otherwise.
    async fn unit_keys_free(&self, unit: &[PreparedRecord]) -> Result<bool> {
        let Some(scope) = unit
            .first()
            .and_then(|p| p.idempotency.as_ref())
            .map(|k| &k.scope)
        else {
            return Ok(false);
        };
        let keys: Option<Vec<&str>> = unit
            .iter()
            .map(|p| {
                p.idempotency
                    .as_ref()
                    .filter(|k| &k.scope == scope)
                    .map(|k| k.key.as_str())
            })
            .collect();
        match keys {
            Some(keys) if keys.len() > 1 => {
                Ok(db::records::taken_keys(&self.db, scope, &keys).await? == 0)
            }
            _ => Ok(false),
        }
    }

    /// The checks of a queued record under the writer lock, against the database and the
    /// records already accepted into this batch (`batch`). `keys_free`: its idempotency key
    /// is known (from this lock's [`Peer::unit_keys_free`]) not to be stored.
    async fn check_pending(
        &self,
        p: &PreparedRecord,
        batch: &[NewRow],
        keys_free: bool,
    ) -> Result<Checked> {
        // Checked again under the writer lock: two retries racing with one key issue once.
        if let Some(key) = &p.idempotency {
            if !keys_free && let Some(first) = self.idempotent_record(key).await? {
                return Ok(Checked::Replay(first));
            }
            let earlier = batch.iter().position(|r| {
                r.prepared
                    .idempotency
                    .as_ref()
                    .is_some_and(|k| k.scope == key.scope && k.key == key.key)
            });
            if let Some(i) = earlier {
                let same = batch[i].prepared.idempotency.as_ref() == Some(key);
                return if same {
                    Ok(Checked::Follows(i))
                } else {
                    Err(PeerError::IdempotencyKeyReused)
                };
            }
        }
        if let Some(old) = &p.supersedes {
            if batch
                .iter()
                .any(|r| r.prepared.supersedes.as_deref() == Some(old))
            {
                return Err(PeerError::BadSupersede);
            }
            self.check_supersede(old, &p.health_id).await?;
        }
        // A file unused for a day may have been deleted since the request was checked.
        if let Some(sha256) = &p.file
            && self.stored_file_meta(sha256).await?.is_none()
        {
            return Err(PeerError::FileNotUploaded);
        }
        Ok(Checked::New(
            self.stat_cases(&p.health_id, &p.stat_groups, p.now).await?,
        ))
    }

    async fn check_supersede(&self, old: &str, health_id: &str) -> Result<()> {
        let db::records::Successors {
            health_id: owner,
            successors: n,
        } = db::records::successors(&self.db, old)
            .await?
            .ok_or(PeerError::UnknownRecord)?;
        if owner != health_id || n != 0 {
            return Err(PeerError::BadSupersede);
        }
        Ok(())
    }

    /// A stored record and the salt of its log commitment (the opening is `salt` + JWS bytes).
    pub async fn stored_record(&self, id: &str) -> Result<(IssuedRecord, [u8; 32])> {
        let db::records::StoredRecord {
            health_id,
            kind,
            supersedes,
            jws,
            salt,
            log_index,
            issued_at,
            category,
        } = db::records::stored(&self.db, id)
            .await?
            .ok_or(PeerError::UnknownRecord)?;
        let category = u64::try_from(category)
            .ok()
            .and_then(Category::from_code)
            .ok_or_else(|| PeerError::Integrity("stored record category is unknown".into()))?;
        let kind: RecordKind = serde_json::from_value(Value::String(kind))
            .map_err(|_| PeerError::Integrity("stored record kind is unknown".into()))?;
        let salt: [u8; 32] = salt
            .try_into()
            .map_err(|_| PeerError::Integrity("stored salt is not 32 bytes".into()))?;
        Ok((
            IssuedRecord {
                id: id.to_owned(),
                health_id,
                kind,
                category,
                supersedes,
                log_index: to_u64(log_index)?,
                issued_at,
                jws,
            },
            salt,
        ))
    }

    /// Number of records stored for a patient (`None`: all patients).
    pub async fn record_count(&self, health_id: Option<&str>) -> Result<u64> {
        if let Some(h) = health_id
            && !is_health_id(h)
        {
            return Err(PeerError::UnknownPatient);
        }
        let n = db::records::count(&self.db, health_id).await?;
        to_u64(n)
    }
}
