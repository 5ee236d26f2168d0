//! Fetching granted records from peers with proof of possession, verifying each one
//! (SMART Health Card signature by a hospital key in the trust list, log inclusion under a
//! checkpoint signed by the hospital's log key), and rendering them for a doctor. Nothing here
//! is stored: only a receipt per peer (grant id, peer, outcome, count).

use serde::Serialize;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::VerifyOptions;
use spondon_core::token::{Audience, Category, Grant, Hospital, PopProof, PopRequest};
use spondon_ledger::{
    Logged, LoggedError, RecordClaim, RecordError, SignedCheckpoint, Verifier, WitnessPolicy,
    check_record,
};
use spondon_protocol::{PulledRecord, RedeemRequest, Redeemed};

use super::peers::Peers;
use super::state::TrustState;

/// What went wrong talking to one peer (the others are still shown).
#[derive(Debug, Clone, Serialize)]
pub struct PeerFailure {
    pub peer: String,
    pub hospital: Option<String>,
    /// `unreachable`, `tls` (the peer's certificate was refused), `refused` (with the peer's own code), `bad_response`.
    pub code: String,
    /// The peer's problem code when it refused (`revoked`, `pop_key_mismatch`, …).
    pub peer_code: Option<String>,
    pub message: String,
}

/// One verified record, rendered.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: String,
    pub kind: String,
    pub issued_at: i64,
    pub issued: String,
    pub hospital: String,
    /// Every check passed (signature, log inclusion). Records that fail are not shown at all,
    /// only counted in `PeerFailure`s.
    pub verified: bool,
    pub log_index: u64,
    /// Witness cosignatures on the checkpoint that includes it, from witnesses the trust list
    /// counts for this hospital, and the quorum it requires (0: none).
    pub cosignatures: usize,
    pub quorum: usize,
    pub items: Vec<Value>,
    /// A document record (`docs/protocol.md` §18): its file, fetched and checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<super::files::DocumentView>,
}

/// Who the patient is, as a hospital signed it: the FHIR `Patient` resource of a record whose
/// card verified (signature by a trust-list hospital key, log inclusion, covered by the grant).
/// Never taken from the grant, which only the patient signs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PatientIdentity {
    pub name: Option<String>,
    /// FHIR `gender`: `female`, `male`, `other`, `unknown`.
    pub sex: Option<String>,
    /// FHIR `birthDate`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Whole years at the time of the check, when the full date of birth is known.
    pub age: Option<i32>,
    pub health_id: Option<String>,
    /// The hospital whose signed card this comes from.
    pub hospital: String,
    /// The record whose card carried it.
    pub record_id: String,
}

/// Whether the grant was revoked, as the peers it names answered.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationCheck {
    /// `not_revoked` (every peer answered and none refused it as revoked), `revoked` (a peer
    /// refused it as revoked), `refused` (every peer that answered refused it for another
    /// reason), or `unchecked` (at least one peer could not be asked and none said revoked).
    pub state: &'static str,
    /// The hospitals that answered (records or a refusal).
    pub checked: Vec<String>,
    /// The hospitals that could not be asked, with the reason in words.
    pub unchecked: Vec<String>,
    /// One sentence for the desk.
    pub words: String,
}

/// All that came back for one grant.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    pub patient_name: Option<String>,
    pub patient: Option<PatientIdentity>,
    /// Things the desk should know (e.g. two hospitals' cards disagree about the patient).
    pub warnings: Vec<String>,
    pub medications: Vec<Value>,
    pub lab_results: Vec<Value>,
    pub diagnoses: Vec<Value>,
    pub immunizations: Vec<Value>,
    pub timeline: Vec<RecordView>,
    pub failures: Vec<PeerFailure>,
    /// (peer, records, access log index) per peer that answered.
    pub receipts: Vec<(String, usize, Option<u64>)>,
    /// The document records' files, each checked against its card (§18.2) — shown by
    /// `timeline[].document` and `documents`.
    pub documents: Vec<super::files::DocumentView>,
    /// The bytes of each file that passed the check, by record id, for the server to keep for
    /// the session that redeemed the grant. Never serialized.
    #[serde(skip)]
    pub files: Vec<(String, super::files::CheckedFile)>,
}

pub(crate) fn fail(
    peer: &str,
    hospital: Option<&Hospital>,
    code: &str,
    message: String,
) -> PeerFailure {
    PeerFailure {
        peer: peer.to_owned(),
        hospital: hospital.map(|h| h.name.clone()),
        code: code.to_owned(),
        peer_code: None,
        message,
    }
}

/// A POST with a fresh nonce and PoP for `path` at one peer. Returns the response or a failure.
async fn pop_post(
    hospital: &Hospital,
    peers: &Peers,
    key: &Es256KeyPair,
    grant: &Grant,
    path: &str,
    body: &impl Serialize,
) -> Result<spondon_net::Response, PeerFailure> {
    pop_post_limited(
        hospital,
        peers,
        key,
        grant,
        path,
        body,
        super::peers::MAX_RESPONSE_BYTES,
    )
    .await
}

/// [`pop_post`] accepting at most `limit` bytes of answer.
pub(crate) async fn pop_post_limited(
    hospital: &Hospital,
    peers: &Peers,
    key: &Es256KeyPair,
    grant: &Grant,
    path: &str,
    body: &impl Serialize,
    limit: usize,
) -> Result<spondon_net::Response, PeerFailure> {
    let peer = &hospital.peer_url;
    let unreachable = |e: spondon_net::NetError| {
        let code = if e.code() == "tls" {
            "tls"
        } else {
            "unreachable"
        };
        fail(peer, Some(hospital), code, e.to_string())
    };
    // The exact bytes sent are the bytes the proof covers.
    let body = serde_json::to_vec(body).map_err(|e| {
        fail(
            peer,
            Some(hospital),
            "bad_response",
            format!("cannot write the request: {e}"),
        )
    })?;
    let mut headers: Vec<(&str, String)> = vec![("Content-Type", "application/json".into())];
    if matches!(grant.audience, Audience::Key { .. }) {
        let r = peers
            .request(peer, "POST", "/nonce", &[], Vec::new())
            .await
            .map_err(unreachable)?;
        let nonce = serde_json::from_slice::<spondon_protocol::Nonce>(&r.body)
            .ok()
            .and_then(|n| n.bytes())
            .ok_or_else(|| {
                fail(
                    peer,
                    Some(hospital),
                    "bad_response",
                    format!("POST /nonce answered {} without a nonce", r.status),
                )
            })?;
        let url = format!("{peer}{path}");
        let pop = PopProof::create(
            key,
            grant.id,
            &PopRequest {
                method: "POST",
                url: &url,
                nonce: &nonce,
                body: &body,
            },
            NumericDate::now(),
        )
        .map_err(|e| {
            fail(
                peer,
                Some(hospital),
                "bad_response",
                format!("cannot make the proof of possession: {e}"),
            )
        })?;
        headers.push(("Spondon-PoP", pop));
    }
    let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    peers
        .request_limited(peer, "POST", path, &hs, body, limit)
        .await
        .map_err(|e| {
            if e.code() == "too_large" {
                fail(peer, Some(hospital), "too_large", e.to_string())
            } else {
                unreachable(e)
            }
        })
}

pub(crate) fn refused(hospital: &Hospital, r: &spondon_net::Response) -> PeerFailure {
    let p = spondon_protocol::Problem::read(&r.body);
    PeerFailure {
        peer: hospital.peer_url.clone(),
        hospital: Some(hospital.name.clone()),
        code: "refused".into(),
        peer_code: p.code,
        message: p
            .detail
            .unwrap_or_else(|| format!("the peer answered HTTP {}", r.status)),
    }
}

/// Redeems the grant at every peer it names and verifies what comes back.
pub async fn fetch(
    grant: &Grant,
    grant_text: &str,
    passcode: Option<&str>,
    key: &Es256KeyPair,
    trust: &TrustState,
    peers: &Peers,
) -> Fetched {
    let mut out = Fetched {
        patient_name: None,
        patient: None,
        warnings: vec![],
        medications: vec![],
        lab_results: vec![],
        diagnoses: vec![],
        immunizations: vec![],
        timeline: vec![],
        failures: vec![],
        receipts: vec![],
        documents: vec![],
        files: vec![],
    };
    let now = NumericDate::now();
    for peer in &grant.peers {
        let Some(hospital) = trust.hospital_for_peer(peer) else {
            out.failures.push(fail(
                peer,
                None,
                "unknown_peer",
                "not a hospital in the trust list".into(),
            ));
            continue;
        };
        let body = RedeemRequest {
            grant: grant_text.to_owned(),
            record_ids: None,
            passcode: passcode.map(str::to_owned),
        };
        let r = match pop_post(hospital, peers, key, grant, "/grant/records", &body).await {
            Ok(r) => r,
            Err(f) => {
                out.failures.push(f);
                continue;
            }
        };
        if r.status != 200 {
            out.failures.push(refused(hospital, &r));
            out.receipts.push((hospital.peer_url.clone(), 0, None));
            continue;
        }
        let v = match serde_json::from_slice::<Redeemed>(&r.body) {
            Ok(v) => v,
            Err(e) => {
                let message = if serde_json::from_slice::<Value>(&r.body).is_ok() {
                    format!("the answer is not a redemption: {e}")
                } else {
                    "the answer is not JSON".into()
                };
                out.failures
                    .push(fail(peer, Some(hospital), "bad_response", message));
                continue;
            }
        };
        match verify_batch(&v.checkpoint, &v.records, hospital, trust, now, Some(grant)) {
            Ok(records) => {
                out.receipts.push((
                    hospital.peer_url.clone(),
                    records.len(),
                    Some(v.access_log_index),
                ));
                for (mut rec, bundle) in records {
                    if let Some(found) = super::files::attachment_of(&bundle) {
                        let (view, file) = super::files::fetch_file(
                            &super::files::FileRequest {
                                hospital,
                                peers,
                                key,
                                grant,
                                grant_text,
                                passcode,
                                record_id: &rec.id,
                                issued_at: rec.issued_at,
                                bundle: &bundle,
                            },
                            found,
                        )
                        .await;
                        if let Some(file) = file {
                            out.files.push((rec.id.clone(), file));
                        }
                        out.documents.push(view.clone());
                        rec.document = Some(view);
                    }
                    render(&mut out, rec, &bundle, now);
                }
            }
            Err(msg) => out
                .failures
                .push(fail(peer, Some(hospital), "bad_response", msg)),
        }
    }
    out.timeline.sort_by_key(|r| std::cmp::Reverse(r.issued_at));
    out
}

/// Writes a record under a write grant at the first peer the grant names.
pub async fn write(
    grant: &Grant,
    grant_text: &str,
    kind: &str,
    resources: &[Value],
    key: &Es256KeyPair,
    trust: &TrustState,
    peers: &Peers,
) -> Result<Value, PeerFailure> {
    let peer = grant.peers.first().map(String::as_str).unwrap_or_default();
    let hospital = trust.hospital_for_peer(peer).ok_or_else(|| {
        fail(
            peer,
            None,
            "unknown_peer",
            "not a hospital in the trust list".into(),
        )
    })?;
    let body = spondon_protocol::WriteRequest {
        grant: grant_text.to_owned(),
        kind,
        resources: resources.to_vec(),
        supersedes: None,
    };
    let r = pop_post(hospital, peers, key, grant, "/grant/write", &body).await?;
    if r.status != 201 && r.status != 200 {
        return Err(refused(hospital, &r));
    }
    serde_json::from_slice(&r.body).map_err(|_| {
        fail(
            peer,
            Some(hospital),
            "bad_response",
            "the answer is not JSON".into(),
        )
    })
}

/// Verifies every record of a `/grant/records` answer (or an emergency summary) against its
/// checkpoint. Any record failing a check fails the whole batch (a peer sending something
/// unverifiable is not trusted for the rest either).
pub(crate) fn verify_batch(
    checkpoint: &str,
    records: &[PulledRecord],
    hospital: &Hospital,
    trust: &TrustState,
    now: NumericDate,
    grant: Option<&Grant>,
) -> Result<Vec<(RecordView, Value)>, String> {
    // Every record must be one the grant covers (when there is a grant: an emergency summary
    // has none), judged from the signed card (its `rid` and its resources), and all must be
    // about one patient (the card's Patient identifier).
    let mut patient: Option<String> = None;
    let log = Verifier::ed25519(&hospital.log_origin, hospital.log_key)
        .map_err(|e| format!("the trust list's log key is unusable: {e}"))?;
    let cp = SignedCheckpoint::verify(checkpoint.as_bytes(), &hospital.log_origin, &[log])
        .map_err(|e| format!("the checkpoint does not verify with the hospital's log key: {e}"))?;
    let witnessed = WitnessPolicy::for_hospital(&trust.list, hospital)
        .map_err(|e| format!("the trust list's witness keys are unusable: {e}"))?
        .check(&cp)
        .map_err(|e| format!("a witness cosignature on the checkpoint does not verify: {e}"))?;
    let mut out = Vec::new();
    for rec in records {
        let id = rec.id.as_str();
        // The one record check (signature, rid, commitment, inclusion), its errors in the
        // desk's words.
        let logged = Logged::of_record(rec).map_err(|e| match e {
            LoggedError::EntryEncoding => "a record has no log entry".to_owned(),
            LoggedError::SaltEncoding => "a record has no 32-byte salt".to_owned(),
            _ => "an inclusion proof hash is malformed".to_owned(),
        })?;
        let claim = RecordClaim {
            jws: &rec.jws,
            id,
            issuer: &hospital.peer_url,
        };
        let (verified, _entry) = check_record(
            claim,
            &logged,
            &trust.directory,
            &VerifyOptions::at(now),
            &cp.checkpoint,
        )
        .map_err(|e| match e {
            RecordError::Malformed(e) => format!("record {id}: {e}"),
            RecordError::Issuer { got } => {
                format!("record {id} was issued by {got}, not by this hospital")
            }
            RecordError::Signature(e) => {
                format!("record {id}: the health card does not verify: {e}")
            }
            RecordError::Rid => format!("record {id}: the card's rid is not the record id"),
            RecordError::Logged(LoggedError::Entry(e)) => format!("record {id}: {e}"),
            RecordError::Logged(LoggedError::Commitment { .. } | LoggedError::Kind { .. }) => {
                format!("record {id}: the log entry does not commit to this card")
            }
            RecordError::Logged(LoggedError::Inclusion(e)) => {
                format!("record {id}: not included in the hospital's log: {e}")
            }
            RecordError::Logged(e) => format!("record {id}: {e}"),
        })?;
        let bundle = verified.into_fhir_bundle();
        let category = category_of(&bundle)
            .ok_or_else(|| format!("record {id}: the card holds no record of a known category"))?;
        if grant.is_some_and(|g| !g.covers(category, id)) {
            return Err(format!("record {id}: the grant does not cover this record"));
        }
        let subject = bundle["entry"]
            .as_array()
            .and_then(|e| {
                e.iter()
                    .find(|x| x["resource"]["resourceType"] == "Patient")
                    .and_then(|x| x["resource"]["identifier"][0]["value"].as_str())
            })
            .ok_or_else(|| format!("record {id}: the card names no patient"))?;
        match &patient {
            None => patient = Some(subject.to_owned()),
            Some(p) if p == subject => {}
            Some(_) => {
                return Err(format!(
                    "record {id}: about another patient than the others"
                ));
            }
        }
        out.push((
            RecordView {
                id: id.to_owned(),
                kind: rec.kind.clone(),
                issued_at: rec.issued_at,
                issued: super::grant::utc_words(rec.issued_at),
                hospital: hospital.name.clone(),
                verified: true,
                log_index: rec.log_index,
                cosignatures: witnessed.cosignatures,
                quorum: witnessed.quorum,
                items: vec![],
                document: None,
            },
            bundle,
        ));
    }
    Ok(out)
}

/// The grant category of a card's record, from its signed resources.
fn category_of(bundle: &Value) -> Option<Category> {
    let types: Vec<&str> = bundle["entry"]
        .as_array()?
        .iter()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .filter(|t| !matches!(*t, "Patient" | "Practitioner"))
        .collect();
    let all = |want: &[&str]| !types.is_empty() && types.iter().all(|t| want.contains(t));
    if all(&["DocumentReference"]) {
        // A document belongs to the category its DocumentReference names (§18.1).
        let doc = bundle["entry"]
            .as_array()?
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "DocumentReference")?;
        let code = spondon_document::category_of(doc).ok()?;
        return Category::ALL.into_iter().find(|c| {
            serde_json::to_value(c)
                .ok()
                .as_ref()
                .and_then(Value::as_str)
                == Some(code)
        });
    }
    Some(if all(&["MedicationRequest"]) {
        Category::Prescription
    } else if all(&["DiagnosticReport", "Observation"]) {
        Category::LabResult
    } else if all(&["Condition"]) {
        Category::Diagnosis
    } else if all(&["Immunization"]) {
        Category::Immunization
    } else if all(&["Encounter"]) {
        Category::Encounter
    } else if all(&["Invoice"]) {
        Category::Payment
    } else {
        return None;
    })
}

pub(crate) fn text_of(concept: &Value) -> Option<String> {
    concept["text"]
        .as_str()
        .or_else(|| concept["coding"][0]["display"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            let c = &concept["coding"][0];
            let code = c["code"].as_str()?;
            if let Some(known) = spondon_core::shc::codes::lookup(c["system"].as_str(), code) {
                return Some(known.name.to_owned());
            }
            Some(code).map(|code| match c["system"].as_str() {
                Some(s) if s.contains("icd-10") => format!("ICD-10 {code}"),
                Some(s) if s.contains("loinc") => format!("LOINC {code}"),
                _ => code.to_owned(),
            })
        })
}

fn quantity(q: &Value) -> Option<(f64, String)> {
    Some((
        q["value"].as_f64()?,
        unit_display(q["unit"].as_str().or(q["code"].as_str()).unwrap_or("")),
    ))
}

/// A UCUM unit as people write it (`10*3/uL` → `×10³/µL`), from the one UCUM table of
/// `spondon-core` (`shc::units`); units it does not know are shown as written.
pub fn unit_display(unit: &str) -> String {
    spondon_core::shc::units::symbol(unit).into_owned()
}

/// A record's kind in words (`prescription`, `lab report`, …) and one line per clinical
/// resource in its FHIR bundle, for people who are not clinicians.
pub fn record_words(bundle: &Value) -> (String, Vec<String>) {
    let kind = match category_of(bundle) {
        Some(Category::Prescription) => "Prescription",
        Some(Category::LabResult) => "Lab report",
        Some(Category::Diagnosis) => "Diagnosis",
        Some(Category::Immunization) => "Vaccination",
        Some(Category::Encounter) => "Visit",
        Some(Category::Payment) => "Payment slip",
        Some(Category::Note) | None => "Health record",
    };
    let mut lines = Vec::new();
    for r in spondon_core::shc::fhir::resources(bundle) {
        let line = match spondon_core::shc::fhir::resource_type(r) {
            Some("MedicationRequest") => {
                let m =
                    text_of(&r["medicationCodeableConcept"]).unwrap_or_else(|| "A medicine".into());
                match r["dosageInstruction"][0]["text"].as_str() {
                    Some(d) => format!("{m}: {d}"),
                    None => m,
                }
            }
            Some("Observation") => {
                let o = observation(r);
                let mut l = format!(
                    "{}: {}",
                    o["name"].as_str().unwrap_or("Result"),
                    o["value"].as_str().unwrap_or("")
                );
                if let Some(range) = o["range"].as_str() {
                    l.push_str(&format!(" (normal range {range})"));
                }
                match o["flag"].as_str() {
                    Some("low") => l.push_str(", below the normal range"),
                    Some("high") => l.push_str(", above the normal range"),
                    _ => {}
                }
                l
            }
            Some("Condition") => {
                let d = text_of(&r["code"]).unwrap_or_else(|| "A diagnosis".into());
                match r["code"]["coding"][0]["code"].as_str() {
                    Some(c) if !d.contains(c) => format!("{d} (code {c})"),
                    _ => d,
                }
            }
            Some("Immunization") => {
                let v = text_of(&r["vaccineCode"]).unwrap_or_else(|| "A vaccine".into());
                match r["occurrenceDateTime"].as_str() {
                    Some(d) => format!("{v}, given {d}"),
                    None => v,
                }
            }
            Some("DiagnosticReport") => match text_of(&r["code"]) {
                Some(t) => format!("Report: {t}"),
                None => continue,
            },
            Some("Encounter") => text_of(&r["type"][0])
                .or_else(|| text_of(&r["reasonCode"][0]))
                .map(|t| format!("Visit: {t}"))
                .unwrap_or_else(|| "A visit".into()),
            Some("Invoice") => "A payment".into(),
            _ => continue,
        };
        lines.push(line);
    }
    (kind.to_owned(), lines)
}

/// The document check in words for office staff: who the document is about (from a card whose
/// signature verified with a trusted key only), each record in words, when it was issued and
/// when it was shared (seconds since the epoch; the page shows them in local time). `bundles`
/// are an export's cards' FHIR ([`crate::check::export_bundles`]), whose report carries none.
pub fn document_view(
    report: &crate::report::Report,
    bundles: &[Option<Value>],
    now: NumericDate,
) -> Value {
    let cards: Vec<&crate::report::Report> = if report.cards.is_empty() {
        vec![report]
    } else {
        report.cards.iter().collect()
    };
    let mut patient: Option<Value> = None;
    let mut records = Vec::new();
    for (i, c) in cards.iter().enumerate() {
        let trusted = c.valid || c.unaltered == Some(true);
        let bundle = c.fhir.as_ref().or(bundles.get(i).and_then(Option::as_ref));
        // A single document without FHIR (a Spondon token, an unreadable card) is described by
        // the headline and `details`; a card of a file is always listed.
        if bundle.is_none() && report.cards.is_empty() {
            continue;
        }
        if trusted
            && patient.is_none()
            && let Some(bundle) = bundle
            && let Some(p) = spondon_core::shc::fhir::resources(bundle)
                .into_iter()
                .find(|r| spondon_core::shc::fhir::resource_type(r) == Some("Patient"))
        {
            let hospital = c
                .issuer_name
                .clone()
                .or(c.issuer.clone())
                .unwrap_or_default();
            let who = identity(p, &hospital, "", now);
            patient = serde_json::to_value(&who).ok();
        }
        let (kind, lines) = bundle
            .map(record_words)
            .unwrap_or_else(|| ("Health record".to_owned(), vec![]));
        let issued = c.log.as_ref().map(|l| l.logged_at).or_else(|| {
            c.not_before
                .as_ref()
                .and_then(|n| n.as_f64())
                .map(|f| f as i64)
        });
        records.push(json!({
            "valid": c.valid,
            "kind": kind,
            "lines": if trusted { lines } else { vec![] },
            "issuer": c.issuer_name.clone().or(c.issuer.clone()),
            "issued_at": issued,
            "shared": c.shared,
            "witnessed": c.log.as_ref().map(|l| l.witness_quorum == 0 || l.witness_cosignatures >= l.witness_quorum),
            "problems": c.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        }));
    }
    let kind = crate::report::human_kind(&report.kind);
    let headline = if report.valid {
        match records.len() {
            _ if report.claims.is_some() => format!("A genuine {kind}: its signature verifies."),
            0 | 1 => format!("A genuine, unaltered {kind}, signed by a trusted issuer."),
            n => format!("{n} genuine, unaltered records, signed by trusted hospitals."),
        }
    } else {
        report
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "It could not be verified.".into())
    };
    // Tokens (grants, credentials) have no FHIR: their details in words, from the report.
    let details: Vec<String> = if report.fhir.is_none() && report.cards.is_empty() {
        report
            .to_text()
            .lines()
            .skip(1)
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        vec![]
    };
    json!({
        "valid": report.valid,
        "kind": kind,
        "headline": headline,
        "patient": patient,
        "exported": report.created.filter(|c| *c > 0),
        "records": records,
        "details": details,
    })
}

/// One lab result with its range and flag (`low`, `high`, `normal`, or none).
fn observation(o: &Value) -> Value {
    let name = text_of(&o["code"]).unwrap_or_else(|| "Observation".into());
    let value = quantity(&o["valueQuantity"]);
    let range = &o["referenceRange"][0];
    let low = range["low"]["value"].as_f64();
    let high = range["high"]["value"].as_f64();
    let flag = value.as_ref().and_then(|(v, _)| match (low, high) {
        (Some(l), _) if *v < l => Some("low"),
        (_, Some(h)) if *v > h => Some("high"),
        (None, None) => None,
        _ => Some("normal"),
    });
    let shown = match &value {
        Some((v, u)) => format!("{v} {u}").trim().to_owned(),
        None => o["valueString"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| text_of(&o["valueCodeableConcept"]))
            .unwrap_or_default(),
    };
    let range_words = match (low, high) {
        (Some(l), Some(h)) => Some(format!("{l}–{h}")),
        (Some(l), None) => Some(format!("≥ {l}")),
        (None, Some(h)) => Some(format!("≤ {h}")),
        _ => range["text"].as_str().map(str::to_owned),
    };
    // `key` groups the same test over time (trends): its coded identity, else its name.
    let c = &o["code"]["coding"][0];
    let key = match (c["system"].as_str(), c["code"].as_str()) {
        (Some(sys), Some(code)) => format!("{sys}|{code}"),
        _ => name.clone(),
    };
    json!({"name": name, "key": key, "value": shown, "range": range_words, "flag": flag,
           "number": value.as_ref().map(|(v, _)| *v), "unit": value.as_ref().map(|(_, u)| u.clone()),
           "date": o["effectiveDateTime"].as_str()})
}

/// Age in whole years on `today` of someone born on `birth` (`YYYY-MM-DD`).
pub fn age_on(birth: &str, today: time::Date) -> Option<i32> {
    let d = time::Date::parse(
        birth,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let mut years = today.year() - d.year();
    if (today.month() as u8, today.day()) < (d.month() as u8, d.day()) {
        years -= 1;
    }
    (0..=150).contains(&years).then_some(years)
}

fn identity(r: &Value, hospital: &str, record_id: &str, now: NumericDate) -> PatientIdentity {
    let n = &r["name"][0];
    let name = n["text"].as_str().map(str::to_owned).or_else(|| {
        let given: Vec<&str> = n["given"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let family = n["family"].as_str().unwrap_or("");
        let s = format!("{} {family}", given.join(" ")).trim().to_owned();
        (!s.is_empty()).then_some(s)
    });
    let birth_date = r["birthDate"].as_str().map(str::to_owned);
    let today = time::OffsetDateTime::from_unix_timestamp(now.0)
        .map(|t| t.date())
        .ok();
    let health_id = r["identifier"].as_array().and_then(|ids| {
        ids.iter()
            .find(|i| {
                i["system"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("/health-id"))
            })
            .or_else(|| ids.first())
            .and_then(|i| i["value"].as_str())
            .map(str::to_owned)
    });
    PatientIdentity {
        age: birth_date
            .as_deref()
            .zip(today)
            .and_then(|(b, t)| age_on(b, t)),
        name,
        sex: r["gender"].as_str().map(str::to_owned),
        birth_date,
        health_id,
        hospital: hospital.to_owned(),
        record_id: record_id.to_owned(),
    }
}

/// Judges revocation from what each peer the grant names answered in [`fetch`].
pub fn revocation_check(grant: &Grant, fetched: &Fetched, trust: &TrustState) -> RevocationCheck {
    let name = |peer: &str| {
        trust
            .hospital_for_peer(peer)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| peer.to_owned())
    };
    let mut checked = Vec::new();
    let mut unchecked = Vec::new();
    let mut revoked_at = Vec::new();
    let mut refused = Vec::new();
    let mut answered_ok = 0usize;
    for peer in &grant.peers {
        let hospital = name(peer);
        let failure = fetched.failures.iter().find(|f| {
            &f.peer == peer
                || trust
                    .hospital_for_peer(peer)
                    .is_some_and(|h| h.peer_url == f.peer)
        });
        match failure {
            None => {
                answered_ok += 1;
                checked.push(hospital);
            }
            Some(f) if f.code == "refused" && f.peer_code.as_deref() == Some("revoked") => {
                revoked_at.push(hospital.clone());
                checked.push(hospital);
            }
            Some(f) if f.code == "refused" => {
                refused.push(format!(
                    "{hospital} refused it ({})",
                    f.peer_code.as_deref().unwrap_or("no reason given")
                ));
                checked.push(hospital);
            }
            Some(f) => unchecked.push(format!("{hospital}: {}", f.message)),
        }
    }
    let (state, words) = if !revoked_at.is_empty() {
        (
            "revoked",
            format!(
                "Revoked: the patient withdrew this grant ({} said so).",
                revoked_at.join(", ")
            ),
        )
    } else if !unchecked.is_empty() {
        (
            "unchecked",
            format!(
                "Revocation could not be checked at {}. The grant may have been withdrawn; ask the patient, or try again when the hospital can be reached.",
                unchecked.join("; ")
            ),
        )
    } else if answered_ok == 0 {
        (
            "refused",
            format!("Refused by the hospital: {}.", refused.join("; ")),
        )
    } else {
        (
            "not_revoked",
            format!("Not revoked: checked just now with {}.", checked.join(", ")),
        )
    };
    RevocationCheck {
        state,
        checked,
        unchecked,
        words,
    }
}

fn render(out: &mut Fetched, mut rec: RecordView, bundle: &Value, now: NumericDate) {
    let resources = spondon_core::shc::fhir::resources(bundle);
    for r in resources {
        match spondon_core::shc::fhir::resource_type(r) {
            Some("Patient") => {
                let who = identity(r, &rec.hospital, &rec.id, now);
                match &out.patient {
                    None => {
                        out.patient_name = who.name.clone();
                        out.patient = Some(who);
                    }
                    Some(p)
                        if p.name != who.name
                            || p.birth_date != who.birth_date
                            || p.sex != who.sex =>
                    {
                        let w = format!(
                            "{} and {} describe the patient differently (name, sex or date of birth): check the person in front of you",
                            p.hospital, who.hospital
                        );
                        if !out.warnings.contains(&w) {
                            out.warnings.push(w);
                        }
                    }
                    Some(_) => {}
                }
            }
            Some("MedicationRequest") => {
                let m = json!({
                    "medication": text_of(&r["medicationCodeableConcept"]).unwrap_or_else(|| "Medication".into()),
                    "dosage": r["dosageInstruction"][0]["text"].as_str(),
                    "status": r["status"].as_str(),
                    "date": r["authoredOn"].as_str(),
                    "prescriber": r["requester"]["display"].as_str(),
                    "hospital": rec.hospital,
                    "record_id": rec.id,
                    "issued_at": rec.issued_at,
                });
                rec.items
                    .push(json!({"type": "medication", "text": m["medication"]}));
                out.medications.push(m);
            }
            Some("Observation") => {
                let mut o = observation(r);
                o["hospital"] = json!(rec.hospital);
                o["record_id"] = json!(rec.id);
                o["issued_at"] = json!(rec.issued_at);
                rec.items.push(json!({"type": "lab", "text": o["name"]}));
                out.lab_results.push(o);
            }
            Some("Condition") => {
                let d = json!({
                    "diagnosis": text_of(&r["code"]).unwrap_or_else(|| "Condition".into()),
                    "code": r["code"]["coding"][0]["code"].as_str(),
                    "status": r["clinicalStatus"]["coding"][0]["code"].as_str(),
                    "date": r["recordedDate"].as_str().or(r["onsetDateTime"].as_str()),
                    "hospital": rec.hospital,
                    "record_id": rec.id,
                    "issued_at": rec.issued_at,
                });
                rec.items
                    .push(json!({"type": "diagnosis", "text": d["diagnosis"]}));
                out.diagnoses.push(d);
            }
            Some("Immunization") => {
                let i = json!({
                    "vaccine": text_of(&r["vaccineCode"]).unwrap_or_else(|| "Vaccine".into()),
                    "date": r["occurrenceDateTime"].as_str(),
                    "hospital": rec.hospital,
                    "record_id": rec.id,
                    "issued_at": rec.issued_at,
                });
                rec.items
                    .push(json!({"type": "immunization", "text": i["vaccine"]}));
                out.immunizations.push(i);
            }
            Some("DiagnosticReport") => {
                rec.items
                    .push(json!({"type": "report", "text": text_of(&r["code"])}));
            }
            Some("DocumentReference") => {
                let title = rec
                    .document
                    .as_ref()
                    .map(|d| d.title.clone())
                    .unwrap_or_else(|| text_of(&r["type"]).unwrap_or_else(|| "Document".into()));
                rec.items.push(json!({"type": "document", "text": title}));
            }
            Some("Encounter") => {
                rec.items.push(json!({"type": "visit", "text": text_of(&r["type"][0]).or_else(|| text_of(&r["reasonCode"][0])).unwrap_or_else(|| "Visit".into())}));
            }
            Some("Practitioner" | "PractitionerRole" | "Organization") => {}
            Some(other) => {
                rec.items.push(json!({"type": "other", "text": other}));
            }
            None => {}
        }
    }
    out.timeline.push(rec);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ages_count_whole_years_and_refuse_nonsense() {
        let day = |s| {
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
        };
        assert_eq!(age_on("1988-04-12", day("2026-04-11")), Some(37));
        assert_eq!(age_on("1988-04-12", day("2026-04-12")), Some(38));
        assert_eq!(age_on("2024-02-29", day("2025-02-28")), Some(0));
        assert_eq!(age_on("1988", day("2026-04-12")), None);
        assert_eq!(age_on("2030-01-01", day("2026-04-12")), None);
        assert_eq!(age_on("not a date", day("2026-04-12")), None);
    }

    #[test]
    fn ucum_units_are_shown_as_people_write_them() {
        assert_eq!(unit_display("10*3/uL"), "×10³/µL");
        assert_eq!(unit_display("10*12/L"), "×10⁶/µL");
        assert_eq!(unit_display("umol/L"), "µmol/L");
        assert_eq!(unit_display("Cel"), "°C");
        assert_eq!(unit_display("g/dL"), "g/dL");
    }
}
