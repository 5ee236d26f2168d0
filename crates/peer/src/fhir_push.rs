//! The FHIR R4 endpoint for hospital systems: `POST /fhir` with a transaction `Bundle` of the
//! resources the peer issues, mapped onto the staff issuance path ([`crate::records`]: the same
//! checks, signing, group commit and idempotency keys), answered with a `transaction-response`
//! Bundle; `GET /fhir/metadata`, the CapabilityStatement. Callers are registered hospital
//! systems holding a bearer token (`POST /auth/token`). Every error on `/fhir…` is an
//! `OperationOutcome`.
//!
//! Mapping (docs/peer.md, "Hospital systems: FHIR push"):
//! - a `DiagnosticReport` and the `Observation`s its `result` references (by `fullUrl`) become
//!   one `lab_report` record;
//! - the `MedicationRequest`s of one patient and one requester (a BMDC number) one
//!   `prescription`; the `Condition`s of one patient one `diagnosis`;
//! - each `Immunization`, `Encounter` and `Invoice` its own record;
//! - a `DocumentReference` whose attachment `url` is the `fullUrl` of a `Binary` of the Bundle
//!   (`contentType`, `data` in base64) a `document` record (`docs/protocol.md` §18): the file
//!   is checked and stored ([`Peer::store_file`]), and the card's attachment carries its
//!   SHA-256 (the `attachment-sha256` extension), never the bytes or the `url`.
//!
//! The patient is named by Health ID on `subject` (`patient` for an Immunization):
//! `{"identifier": {"system": HEALTH_ID_SYSTEM, "value": "1234-5678-9012-34"}}`.
//! `Bundle.identifier` (system and value) is the idempotency key, per system: a retry answers
//! the first result and issues nothing; another Bundle under the same identifier is refused
//! (409). Each record of a Bundle stores its key as `<system>|<value>#<n>` under the scope
//! `fhir:<client_id>`, in the same transaction as the record. The transaction is atomic: the
//! Bundle's records are one unit of the group commit ([`Peer::commit_records`]), written
//! together at consecutive log indexes or not at all.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::error::{PeerError, Result};
use crate::peer::Peer;
use crate::records::{Idempotency, IssueRequest, IssuedRecord, RecordKind};
use crate::systems::{RESOURCE_TYPES, SystemAuth};

/// The identifier system of a Spondon Health ID on a resource's `subject`.
pub const HEALTH_ID_SYSTEM: &str = "https://spondon.health/fhir/sid/health-id";
/// The identifier system of a doctor's BMDC registration number on `requester`.
pub const BMDC_SYSTEM: &str = "https://bmdc.org.bd/registration";
/// The extension on a `transaction-response` entry's `response` carrying the log index of
/// the record's `RecordIssued` entry (`valueUnsignedInt`).
pub const LOG_INDEX_EXTENSION: &str = "https://spondon.health/fhir/StructureDefinition/log-index";
/// The extension carrying the issued record's kind (`valueCode`, e.g. `lab_report`).
pub const RECORD_KIND_EXTENSION: &str =
    "https://spondon.health/fhir/StructureDefinition/record-kind";
/// The code system of the peer's stable error codes in `OperationOutcome.issue.details`.
pub const ERROR_CODE_SYSTEM: &str = "https://spondon.health/fhir/CodeSystem/peer-error";
/// Most entries in one Bundle.
pub const MAX_ENTRIES: usize = 100;
/// The FHIR media type.
pub const FHIR_JSON: &str = "application/fhir+json";
/// Largest `POST /fhir` body (36 MiB): a Binary of the largest file (25 MiB,
/// `spondon_document::MAX_FILE_BYTES`) in base64 and the rest of its Bundle. Read only after the
/// system's token is checked.
pub const MAX_FHIR_BODY: usize = 36 * 1024 * 1024;

fn bad(reason: impl Into<String>) -> PeerError {
    PeerError::InvalidFhir(reason.into())
}

/// The FHIR `IssueType` of an error answered on `/fhir…`, by its HTTP status.
pub fn issue_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 415 | 422 => "invalid",
        401 => "security",
        403 => "forbidden",
        404 => "not-found",
        405 => "not-supported",
        408 => "timeout",
        409 => "conflict",
        413 => "too-large",
        429 => "throttled",
        500..=599 => "exception",
        _ => "processing",
    }
}

/// An `OperationOutcome` with one error issue: its type, the peer's stable code, diagnostics.
pub fn operation_outcome(status: StatusCode, code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "error",
            "code": issue_type(status),
            "details": {"coding": [{"system": ERROR_CODE_SYSTEM, "code": code}]},
            "diagnostics": diagnostics,
        }],
    })
}

/// The patient's Health ID from a resource's `subject`/`patient` identifier.
fn health_id_of(r: &Map<String, Value>, field: &str, at: &str) -> Result<String> {
    let id = r
        .get(field)
        .and_then(|s| s.get("identifier"))
        .ok_or_else(|| {
            bad(format!(
                "{at}.{field} must name the patient: {{\"identifier\": {{\"system\": \"{HEALTH_ID_SYSTEM}\", \"value\": <Health ID>}}}}"
            ))
        })?;
    if r.get(field).and_then(Value::as_object).map(Map::len) != Some(1) {
        return Err(bad(format!(
            "{at}.{field} holds only the identifier (no reference)"
        )));
    }
    match (
        id.get("system").and_then(Value::as_str),
        id.get("value").and_then(Value::as_str),
    ) {
        (Some(HEALTH_ID_SYSTEM), Some(v)) if crate::registry::is_health_id(v) => Ok(v.to_owned()),
        _ => Err(bad(format!(
            "{at}.{field}.identifier must have system {HEALTH_ID_SYSTEM} and a Health ID value"
        ))),
    }
}

/// One entry of the Bundle, checked.
struct Entry {
    full_url: Option<String>,
    rt: &'static str,
    resource: Map<String, Value>,
    /// The patient (none for a `Binary`).
    health_id: Option<String>,
}

/// A record to issue and the Bundle entries it answers.
struct Planned {
    req: IssueRequest,
    entries: Vec<usize>,
    /// A document's file: its type and bytes (from the `Binary` its attachment names).
    file: Option<(spondon_document::FileType, Vec<u8>)>,
}

/// A `Binary`'s file: `contentType` one of the document types, `data` standard base64 of 1 to
/// `MAX_FILE_BYTES` bytes; nothing else.
fn binary_file(r: &Map<String, Value>, at: &str) -> Result<(spondon_document::FileType, Vec<u8>)> {
    use base64::Engine as _;
    if let Some(k) = r
        .keys()
        .find(|k| !matches!(k.as_str(), "resourceType" | "contentType" | "data"))
    {
        return Err(bad(format!("{at}.{k} is not allowed in a Binary")));
    }
    let ct = r.get("contentType").and_then(Value::as_str).unwrap_or("");
    let file_type = spondon_document::FileType::from_mime(ct)
        .ok_or(spondon_document::DocumentError::UnsupportedFileType)?;
    let data = r
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at}.data (base64) is required")))?;
    let max = spondon_document::MAX_FILE_BYTES;
    if data.len() as u64 > max.div_ceil(3) * 4 {
        return Err(spondon_document::DocumentError::FileTooLarge {
            size: data.len() as u64 / 4 * 3,
            max,
        }
        .into());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| bad(format!("{at}.data is not standard base64")))?;
    if bytes.is_empty() {
        return Err(bad(format!("{at}.data is empty")));
    }
    Ok((file_type, bytes))
}

fn check_entries(auth: &SystemAuth, bundle: &Value) -> Result<Vec<Entry>> {
    let entries = match bundle.get("entry") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_ENTRIES => a,
        _ => {
            return Err(bad(format!(
                "Bundle.entry must hold 1–{MAX_ENTRIES} entries"
            )));
        }
    };
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let e = e
            .as_object()
            .ok_or_else(|| bad(format!("{at} is not an object")))?;
        if let Some(k) = e
            .keys()
            .find(|k| !matches!(k.as_str(), "fullUrl" | "resource" | "request"))
        {
            return Err(bad(format!(
                "{at}.{k} is not allowed in a transaction entry"
            )));
        }
        let full_url = match e.get("fullUrl") {
            None => None,
            Some(Value::String(u)) if !u.is_empty() && u.len() <= 200 => Some(u.clone()),
            Some(_) => return Err(bad(format!("{at}.fullUrl must be a URI"))),
        };
        if full_url.is_some() && out.iter().any(|o| o.full_url == full_url) {
            return Err(bad(format!("{at}.fullUrl is not unique")));
        }
        let resource = e
            .get("resource")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("{at}.resource is required")))?;
        let rt_text = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(rt) = RESOURCE_TYPES.iter().copied().find(|t| *t == rt_text) else {
            return Err(bad(format!(
                "{at}.resource.resourceType must be one of {RESOURCE_TYPES:?}"
            )));
        };
        let method = e.get("request").and_then(|r| r.get("method"));
        let url = e.get("request").and_then(|r| r.get("url"));
        if method.and_then(Value::as_str) != Some("POST") || url.and_then(Value::as_str) != Some(rt)
        {
            return Err(bad(format!(
                "{at}.request must be {{\"method\": \"POST\", \"url\": \"{rt}\"}} (create is the only interaction)"
            )));
        }
        if !auth.may_create(rt) {
            return Err(PeerError::ScopeMissing(format!("system/{rt}.c")));
        }
        let mut resource = resource.clone();
        let health_id = if rt == "Binary" {
            None
        } else {
            let field = if rt == "Immunization" {
                "patient"
            } else {
                "subject"
            };
            let id = health_id_of(&resource, field, &format!("{at}.resource"))?;
            resource.remove(field);
            Some(id)
        };
        out.push(Entry {
            full_url,
            rt,
            resource,
            health_id,
        });
    }
    Ok(out)
}

/// Groups checked entries into the records to issue, in the order of their first entry.
fn plan(mut entries: Vec<Entry>) -> Result<Vec<Planned>> {
    let n = entries.len();
    let mut owner: Vec<Option<usize>> = vec![None; n];
    let mut plans: Vec<Planned> = Vec::new();
    // DiagnosticReports take the Observations of their `result`.
    for i in 0..n {
        if entries[i].rt != "DiagnosticReport" {
            continue;
        }
        let at = format!("Bundle.entry[{i}].resource.result");
        let refs = match entries[i].resource.remove("result") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(bad(format!(
                    "{at} must reference the report's Observations by their fullUrl"
                )));
            }
        };
        let mut members = vec![i];
        for (k, r) in refs.iter().enumerate() {
            let target = r.get("reference").and_then(Value::as_str);
            let j = entries
                .iter()
                .position(|e| target.is_some() && e.full_url.as_deref() == target)
                .ok_or_else(|| bad(format!("{at}[{k}] is not the fullUrl of an entry")))?;
            if entries[j].rt != "Observation" {
                return Err(bad(format!("{at}[{k}] is not an Observation")));
            }
            if owner[j].is_some() || members.contains(&j) {
                return Err(bad(format!(
                    "{at}[{k}]: an Observation belongs to exactly one DiagnosticReport"
                )));
            }
            if entries[j].health_id != entries[i].health_id {
                return Err(bad(format!("{at}[{k}] is about another patient")));
            }
            members.push(j);
        }
        for &m in &members {
            owner[m] = Some(plans.len());
        }
        plans.push(Planned {
            req: IssueRequest {
                health_id: entries[i].health_id.clone().unwrap_or_default(),
                kind: RecordKind::LabReport,
                doctor_bmdc: None,
                supersedes: None,
                resources: Vec::new(),
            },
            entries: members,
            file: None,
        });
    }
    // DocumentReferences take the Binary their attachment names.
    for i in 0..n {
        if entries[i].rt != "DocumentReference" {
            continue;
        }
        let at = format!("Bundle.entry[{i}].resource.content[0].attachment");
        let content = entries[i]
            .resource
            .get_mut("content")
            .and_then(Value::as_array_mut);
        let att = match content.map(|c| c.as_mut_slice()) {
            Some([c]) => c.get_mut("attachment").and_then(Value::as_object_mut),
            _ => None,
        }
        .ok_or_else(|| {
            bad(format!(
                "{at}: a DocumentReference has exactly one content with an attachment"
            ))
        })?;
        let url = match att.remove("url") {
            Some(Value::String(u)) => u,
            _ => {
                return Err(bad(format!(
                    "{at}.url must be the fullUrl of the Binary holding the file"
                )));
            }
        };
        if att.contains_key("data") {
            return Err(bad(format!(
                "{at}.data must be absent: the file is a Binary entry"
            )));
        }
        let j = entries
            .iter()
            .position(|e| e.full_url.as_deref() == Some(url.as_str()))
            .filter(|&j| entries[j].rt == "Binary")
            .ok_or_else(|| bad(format!("{at}.url is not the fullUrl of a Binary entry")))?;
        if owner[j].is_some() {
            return Err(bad(format!(
                "{at}.url: a Binary belongs to one DocumentReference"
            )));
        }
        let (file_type, bytes) =
            binary_file(&entries[j].resource, &format!("Bundle.entry[{j}].resource"))?;
        let att = entries[i]
            .resource
            .get_mut("content")
            .and_then(|c| c.pointer_mut("/0/attachment"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad(format!("{at} is missing")))?;
        match att.get("contentType").and_then(Value::as_str) {
            None => {
                att.insert("contentType".into(), Value::String(file_type.mime().into()));
            }
            Some(ct) if ct == file_type.mime() => {}
            Some(_) => {
                return Err(spondon_document::DocumentError::FileTypeMismatch {
                    expected: file_type.mime(),
                }
                .into());
            }
        }
        owner[i] = Some(plans.len());
        owner[j] = Some(plans.len());
        plans.push(Planned {
            req: IssueRequest {
                health_id: entries[i].health_id.clone().unwrap_or_default(),
                kind: RecordKind::Document,
                doctor_bmdc: None,
                supersedes: None,
                resources: Vec::new(),
            },
            entries: vec![i, j],
            file: Some((file_type, bytes)),
        });
    }
    for i in 0..n {
        if owner[i].is_some() {
            continue;
        }
        let e = &mut entries[i];
        let (kind, bmdc) = match e.rt {
            "Observation" => {
                return Err(bad(format!(
                    "Bundle.entry[{i}]: an Observation must be in the result of a DiagnosticReport of the Bundle"
                )));
            }
            "Binary" => {
                return Err(bad(format!(
                    "Bundle.entry[{i}]: a Binary must be the attachment url of a DocumentReference of the Bundle"
                )));
            }
            "MedicationRequest" => {
                let req = e.resource.remove("requester");
                let ok = req
                    .as_ref()
                    .and_then(|r| r.get("identifier"))
                    .filter(|id| id.get("system").and_then(Value::as_str) == Some(BMDC_SYSTEM))
                    .and_then(|id| id.get("value").and_then(Value::as_str))
                    .map(str::to_owned);
                let Some(b) = ok else {
                    return Err(bad(format!(
                        "Bundle.entry[{i}].resource.requester must be {{\"identifier\": {{\"system\": \"{BMDC_SYSTEM}\", \"value\": <BMDC number>}}}}"
                    )));
                };
                (RecordKind::Prescription, Some(b))
            }
            "Condition" => (RecordKind::Diagnosis, None),
            "Immunization" => (RecordKind::Immunization, None),
            "Encounter" => (RecordKind::Encounter, None),
            "Invoice" => (RecordKind::Payment, None),
            other => return Err(bad(format!("Bundle.entry[{i}]: {other} is not supported"))),
        };
        let groups = matches!(kind, RecordKind::Prescription | RecordKind::Diagnosis);
        let health_id = e.health_id.clone().unwrap_or_default();
        let existing = plans.iter().position(|p| {
            groups
                && p.req.kind == kind
                && p.req.health_id == health_id
                && p.req.doctor_bmdc == bmdc
        });
        let k = match existing {
            Some(k) => k,
            None => {
                plans.push(Planned {
                    req: IssueRequest {
                        health_id,
                        kind,
                        doctor_bmdc: bmdc,
                        supersedes: None,
                        resources: Vec::new(),
                    },
                    entries: Vec::new(),
                    file: None,
                });
                plans.len() - 1
            }
        };
        plans[k].entries.push(i);
        owner[i] = Some(k);
    }
    // Records in the order of their first entry; resources in the order of the plan.
    plans.sort_by_key(|p| p.entries.iter().min().copied().unwrap_or(usize::MAX));
    for p in &mut plans {
        p.req.resources = p
            .entries
            .iter()
            .filter(|&&i| entries[i].rt != "Binary")
            .map(|&i| Value::Object(entries[i].resource.clone()))
            .collect();
    }
    Ok(plans)
}

/// Checks `Bundle.resourceType`, `type` and `identifier`; returns the idempotency key base.
fn bundle_key(bundle: &Value) -> Result<String> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(bad("the body must be a FHIR Bundle"));
    }
    if bundle.get("type").and_then(Value::as_str) != Some("transaction") {
        return Err(bad("Bundle.type must be transaction"));
    }
    let id = bundle.get("identifier");
    let text = |f: &str, max: usize| {
        id.and_then(|i| i.get(f))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic()))
    };
    match (text("system", 200), text("value", 128)) {
        (Some(s), Some(v)) => Ok(format!("{s}|{v}")),
        _ => Err(bad(
            "Bundle.identifier needs a system (URI, at most 200 characters) and a value (at most 128 visible ASCII characters): it makes a retry safe",
        )),
    }
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Peer {
    /// Processes a transaction Bundle from an authenticated system: checks every entry and
    /// every record (scopes, patients, doctors, FHIR content) before anything is written, then
    /// issues each record with its idempotency key. Answers the `transaction-response` Bundle
    /// and whether it is a replay (nothing issued).
    pub async fn fhir_transaction(
        &self,
        auth: &SystemAuth,
        bundle: &Value,
    ) -> Result<(Value, bool)> {
        let base = bundle_key(bundle)?;
        let entries = check_entries(auth, bundle)?;
        let n_entries = entries.len();
        let mut plans = plan(entries)?;
        let body = serde_json::to_vec(bundle)
            .map_err(|e| PeerError::Integrity(format!("bundle hash: {e}")))?;
        let request_hash = spondon_core::keys::sha256(&body);
        let scope = format!("fhir:{}", auth.client_id);
        let keys: Vec<Idempotency> = (0..plans.len())
            .map(|k| Idempotency {
                scope: scope.clone(),
                key: format!("{base}#{k}"),
                request_hash,
            })
            .collect();
        let conflict = |e: PeerError| match e {
            PeerError::IdempotencyKeyReused => PeerError::BundleConflict,
            e => e,
        };
        // A retry: the records issued under this identifier answer. A Bundle's keys are
        // stored all at once (and before the atomic transaction, in order from `#0`), so a
        // free `#0` means a new Bundle: its other keys are not looked up one by one here, the
        // checks under the writer lock see every key anyway.
        let mut issued: Vec<Option<IssuedRecord>> = vec![None; plans.len()];
        for (k, key) in keys.iter().enumerate() {
            issued[k] = self.idempotent_record(key).await.map_err(conflict)?;
            if issued[k].is_none() && k == 0 {
                break;
            }
        }
        let mut replay = issued.iter().all(Option::is_some);
        if !replay {
            // Every record is checked and signed before the first is written; the records
            // without a file first, so that a Bundle they fail stores no file either.
            // The Bundle's patients in one statement, not one per record.
            let mut ids: Vec<&str> = plans.iter().map(|p| p.req.health_id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            let patients = self.patients(&ids).await?;
            let mut prepared = Vec::new();
            for (k, p) in plans.iter().enumerate() {
                if issued[k].is_none() && p.file.is_none() {
                    let known = patients.get(&p.req.health_id).cloned();
                    let mut r = self.prepare_record_for(&p.req, known).await?;
                    r.idempotency = Some(keys[k].clone());
                    prepared.push((k, r));
                }
            }
            // A document's file is checked and stored, its card names it by SHA-256. A file
            // whose record then fails its checks is deleted with the unreferenced ones.
            let uploader = format!("system:{}", auth.client_id);
            for (k, p) in plans.iter_mut().enumerate() {
                let Some((file_type, bytes)) = p.file.take() else {
                    continue;
                };
                if issued[k].is_some() {
                    continue;
                }
                let stored = self.store_file(bytes, file_type, &uploader).await?;
                let sha = hex::decode(&stored.sha256)
                    .map_err(|_| PeerError::Integrity("stored file hash".into()))?;
                use base64::Engine as _;
                let ext = json!({"url": spondon_document::SHA256_EXTENSION_URL,
                    "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)});
                if let Some(att) = p
                    .req
                    .resources
                    .first_mut()
                    .and_then(|d| d.pointer_mut("/content/0/attachment"))
                    .and_then(Value::as_object_mut)
                {
                    let exts = att
                        .entry("extension")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    match exts.as_array_mut() {
                        Some(a) => a.push(ext),
                        None => return Err(bad("attachment.extension must be an array")),
                    }
                }
                let known = patients.get(&p.req.health_id).cloned();
                let mut r = self.prepare_record_for(&p.req, known).await?;
                r.idempotency = Some(keys[k].clone());
                prepared.push((k, r));
            }
            // The Bundle is one unit of the group commit: all its records are written in one
            // transaction at consecutive log indexes, or none is (FHIR `transaction`).
            prepared.sort_by_key(|(k, _)| *k);
            let (ks, records): (Vec<usize>, Vec<_>) = prepared.into_iter().unzip();
            let committed = self.commit_records(records).await.map_err(conflict)?;
            if committed.len() != ks.len() {
                return Err(PeerError::Integrity(
                    "the Bundle's records went unanswered".into(),
                ));
            }
            // Every record answered by a concurrent identical Bundle: this one is a replay.
            replay = committed.iter().all(|(_, replayed)| *replayed);
            for (k, (rec, _)) in ks.into_iter().zip(committed) {
                issued[k] = Some(rec);
            }
        }
        let mut response: Vec<Value> = vec![Value::Null; n_entries];
        for (p, rec) in plans.iter().zip(&issued) {
            let Some(rec) = rec else {
                return Err(PeerError::Integrity(
                    "a planned record was not issued".into(),
                ));
            };
            for &i in &p.entries {
                response[i] = json!({"response": {
                    "status": "201 Created",
                    "location": format!("records/{}", rec.id),
                    "lastModified": rfc3339(rec.issued_at),
                    "extension": [
                        {"url": LOG_INDEX_EXTENSION, "valueUnsignedInt": rec.log_index},
                        {"url": RECORD_KIND_EXTENSION, "valueCode": rec.kind.as_str()},
                    ],
                }});
            }
        }
        if !replay {
            tracing::info!(records = plans.len(), "FHIR transaction issued");
        }
        Ok((
            json!({"resourceType": "Bundle", "type": "transaction-response", "entry": response}),
            replay,
        ))
    }

    /// `GET /fhir/metadata`: the CapabilityStatement (FHIR R4, instance, server).
    pub fn capability_statement(&self) -> Value {
        let resources: Vec<Value> = RESOURCE_TYPES
            .iter()
            .map(|t| json!({"type": t, "interaction": [{"code": "create"}]}))
            .collect();
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": rfc3339(spondon_core::NumericDate::now().seconds()),
            "kind": "instance",
            "software": {"name": "spondon-peer", "version": env!("CARGO_PKG_VERSION")},
            "implementation": {
                "description": format!("{}: records pushed by hospital systems", self.config.name),
                "url": format!("{}/fhir", self.config.url.trim_end_matches('/')),
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "extension": [{
                        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                        "extension": [{"url": "token", "valueUri": self.token_url()}],
                    }],
                    "service": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }]}],
                    "description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (ES384 or RS384); scopes system/<Type>.c",
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}],
            }],
        })
    }
}
