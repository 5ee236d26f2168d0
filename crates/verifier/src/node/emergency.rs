//! Emergency (break-glass) access from the clinic page (`docs/protocol.md` §15): the node asks
//! a member hospital for a patient's emergency summary without a grant, signing each request
//! (§7a) with this node's doctor key — the key the hospital registered for the doctor
//! (`POST /staff/doctors`, `peer_doctors`). The hospital opens the summary only after a second
//! staff member there confirms; the page polls. What comes back is checked like granted records
//! (each card's signature by a trust-list key of that hospital, its log inclusion under a
//! checkpoint signed by the hospital's log key, one patient: the Health ID asked for) before
//! anything is shown. Nothing of the patient is stored: only a receipt (access id, hospital,
//! outcome).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::emergency::{EmergencyError, EmergencyRequest, REASONS};
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Hospital, SignedRequest, SignedRequestTarget};
use spondon_protocol::{EmergencyRequested, EmergencySummary, Problem, SummaryRequest};

use super::peers::Peers;
use super::records::verify_batch;
use super::state::TrustState;

/// What the page sends to ask for an emergency access.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskForm {
    /// The hospital's peer URL (from the trust list).
    pub peer: String,
    pub health_id: String,
    pub reason: String,
    pub details: String,
    #[serde(default)]
    pub hours: Option<u8>,
}

/// What the page sends to read the summary (it polls until the second confirmation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryForm {
    pub peer: String,
    pub access_id: String,
    /// The Health ID asked for: the signed cards must be about this patient.
    pub health_id: String,
}

/// Why the node could not do it: a stable code (the hospital's own code when it refused),
/// the HTTP status for the page, and words.
#[derive(Debug, Clone, Serialize)]
pub struct EmergencyFailure {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The hospital's name, when known.
    pub hospital: Option<String>,
}

/// The hospital refusal codes the page explains; any other is `peer_refused`.
const PEER_CODES: &[&str] = &[
    "unknown_patient",
    "doctor_not_registered",
    "emergency_opted_out",
    "emergency_hospital_not_allowed",
    "emergency_expired",
    "confirmation_required",
    "unknown_emergency_access",
    "already_confirmed",
    "reason_required",
    "invalid_field",
    "rate_limited",
];

fn failure(status: u16, code: &'static str, message: impl Into<String>) -> EmergencyFailure {
    EmergencyFailure {
        status,
        code,
        message: message.into(),
        hospital: None,
    }
}

fn hospital_of<'a>(trust: &'a TrustState, peer: &str) -> Result<&'a Hospital, EmergencyFailure> {
    trust.hospital_for_peer(peer.trim()).ok_or_else(|| {
        failure(
            422,
            "unknown_peer",
            "this hospital is not in the trust list",
        )
    })
}

/// A §7a signed POST to the hospital with a fresh nonce; the status and body of its answer.
async fn signed_post(
    peers: &Peers,
    key: &Es256KeyPair,
    hospital: &Hospital,
    path: &str,
    body: &impl Serialize,
) -> Result<(u16, Vec<u8>), EmergencyFailure> {
    let peer = &hospital.peer_url;
    let unreachable = |e: spondon_net::NetError| EmergencyFailure {
        status: 502,
        code: if e.code() == "tls" {
            "tls"
        } else {
            "unreachable"
        },
        message: format!("{} cannot be reached: {e}", hospital.name),
        hospital: Some(hospital.name.clone()),
    };
    let r = peers
        .request(peer, "POST", "/nonce", &[], Vec::new())
        .await
        .map_err(unreachable)?;
    let nonce = serde_json::from_slice::<spondon_protocol::Nonce>(&r.body)
        .ok()
        .and_then(|n| n.bytes())
        .ok_or_else(|| EmergencyFailure {
            status: 502,
            code: "bad_response",
            message: format!("{} answered POST /nonce without a nonce", hospital.name),
            hospital: Some(hospital.name.clone()),
        })?;
    // The exact bytes sent are the bytes the signature covers.
    let body = serde_json::to_vec(body)
        .map_err(|e| failure(500, "internal", format!("cannot write the request: {e}")))?;
    let url = format!("{peer}{path}");
    let sig = SignedRequest::create(
        key,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: &nonce,
            body: &body,
        },
        NumericDate::now(),
    )
    .map_err(|e| failure(500, "internal", format!("cannot sign the request: {e}")))?;
    let r = peers
        .request(
            peer,
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Spondon-Signature", &sig),
            ],
            body,
        )
        .await
        .map_err(unreachable)?;
    Ok((r.status, r.body))
}

/// The hospital's refusal as a failure with its code.
fn refusal(hospital: &Hospital, status: u16, p: Problem) -> EmergencyFailure {
    let code = p
        .code()
        .and_then(|c| PEER_CODES.iter().find(|k| **k == c).copied())
        .unwrap_or("peer_refused");
    let detail = p.detail.unwrap_or_else(|| format!("HTTP {status}"));
    EmergencyFailure {
        // The hospital's 401 (a signature it refused, e.g. a clock too far off) is not this
        // node's session ending: the page must not log out over it.
        status: if (400..500).contains(&status) && status != 401 {
            status
        } else {
            502
        },
        code,
        message: format!("{} refused: {detail}", hospital.name),
        hospital: Some(hospital.name.clone()),
    }
}

/// Asks the hospital for an emergency access (a §7a request signed by this node's doctor key).
/// The fields are checked here first (the hospital checks them again).
pub async fn ask(
    form: &AskForm,
    key: &Es256KeyPair,
    trust: &TrustState,
    peers: &Peers,
) -> Result<Value, EmergencyFailure> {
    let hospital = hospital_of(trust, &form.peer)?;
    let req = EmergencyRequest {
        health_id: form.health_id.trim().to_owned(),
        reason: Some(form.reason.clone()),
        details: Some(form.details.clone()),
        hours: form.hours,
    };
    if req.health_id.is_empty() {
        return Err(failure(
            400,
            "invalid_field",
            "type the patient's Health ID",
        ));
    }
    let valid = req.validate().map_err(|e| match e {
        EmergencyError::ReasonRequired => failure(400, "reason_required", e.to_string()),
        other => failure(400, "invalid_field", other.to_string()),
    })?;
    debug_assert!(REASONS.contains(&valid.reason));
    let body = EmergencyRequest {
        health_id: req.health_id.clone(),
        reason: Some(valid.reason.to_owned()),
        details: Some(valid.details.to_owned()),
        hours: Some(valid.hours),
    };
    let (status, answer) = signed_post(peers, key, hospital, "/emergency/requests", &body).await?;
    if status != 201 {
        return Err(refusal(hospital, status, Problem::read(&answer)));
    }
    let v: EmergencyRequested = serde_json::from_slice(&answer).map_err(|e| EmergencyFailure {
        status: 502,
        code: "bad_response",
        message: format!("{} answered the request with no access: {e}", hospital.name),
        hospital: Some(hospital.name.clone()),
    })?;
    Ok(json!({
        "status": "pending_confirmation",
        "access_id": v.access_id,
        "confirm_by": v.confirm_by,
        "hours": v.hours,
        "peer": hospital.peer_url,
        "hospital": hospital.name,
    }))
}

/// Reads the summary: `{"status": "waiting"}` until the second confirmation, then the
/// verified summary (`"status": "open"`).
pub async fn summary(
    form: &SummaryForm,
    key: &Es256KeyPair,
    trust: &TrustState,
    peers: &Peers,
) -> Result<Value, EmergencyFailure> {
    let hospital = hospital_of(trust, &form.peer)?;
    if form.access_id.len() != 22
        || !form
            .access_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(failure(400, "invalid_field", "not an emergency access id"));
    }
    let body = SummaryRequest {
        access_id: form.access_id.clone(),
    };
    let (status, answer) = signed_post(peers, key, hospital, "/emergency/summary", &body).await?;
    if status != 200 {
        let p = Problem::read(&answer);
        if status == 403 && p.code() == Some("confirmation_required") {
            return Ok(json!({"status": "waiting", "hospital": hospital.name}));
        }
        return Err(refusal(hospital, status, p));
    }
    let bad = |m: String| EmergencyFailure {
        status: 502,
        code: "bad_response",
        message: format!("{}: {m}", hospital.name),
        hospital: Some(hospital.name.clone()),
    };
    let now = NumericDate::now();
    let v: EmergencySummary =
        serde_json::from_slice(&answer).map_err(|e| bad(format!("not a summary: {e}")))?;
    let verified =
        verify_batch(&v.checkpoint, &v.records, hospital, trust, now, None).map_err(bad)?;
    let want = form.health_id.trim();
    if v.patient.health_id != want {
        return Err(bad("the summary is about another patient".into()));
    }
    let mut ids = Vec::new();
    let mut blood_groups: Vec<String> = Vec::new();
    let mut cosignatures = usize::MAX;
    let mut quorum = 0;
    for (rec, bundle) in &verified {
        let subject = bundle["entry"].as_array().and_then(|e| {
            e.iter()
                .find(|x| x["resource"]["resourceType"] == "Patient")
                .and_then(|x| x["resource"]["identifier"][0]["value"].as_str())
        });
        if subject != Some(want) {
            return Err(bad(format!("record {} is about another patient", rec.id)));
        }
        ids.push(rec.id.clone());
        blood_groups.extend(blood_groups_in(bundle));
        cosignatures = cosignatures.min(rec.cosignatures);
        quorum = rec.quorum;
    }
    let EmergencySummary {
        patient,
        allergies,
        medications,
        mut problems,
        blood_group,
        expires_at,
        ..
    } = v;
    // Every item must come from one of the verified cards.
    let unverified = (allergies.iter().map(|i| ("allergies", &i.record_id)))
        .chain(medications.iter().map(|i| ("medications", &i.record_id)))
        .chain(problems.iter().map(|i| ("problems", &i.record_id)))
        .find(|(_, rid)| !ids.contains(rid));
    if let Some((k, _)) = unverified {
        return Err(bad(format!("an item of {k} comes from no verified record")));
    }
    // Cards drop the display text of coded concepts: name ICD-10 codes from the shared table.
    for p in &mut problems {
        if let Some(code) = p.code.as_deref()
            && p.text == code
            && let Some(known) =
                spondon_core::shc::codes::lookup(Some("http://hl7.org/fhir/sid/icd-10"), code)
        {
            p.text = known.name.to_owned();
        }
    }
    // The blood group too must be read from a verified card.
    if let Some(b) = blood_group.as_deref()
        && !blood_groups.iter().any(|x| x == b)
    {
        return Err(bad("the blood group comes from no verified record".into()));
    }
    Ok(json!({
        "status": "open",
        "access_id": form.access_id,
        "expires_at": expires_at,
        "hospital": hospital.name,
        "peer": hospital.peer_url,
        "patient": patient,
        "allergies": allergies,
        "medications": medications,
        "problems": problems,
        "blood_group": blood_group,
        "verified_records": ids.len(),
        "cosignatures": if ids.is_empty() { 0 } else { cosignatures },
        "quorum": quorum,
    }))
}

/// LOINC codes of a blood group result (as the hospital reads them: ABO and Rh group, ABO
/// group, Rh type).
const BLOOD_GROUP_LOINC: &[&str] = &["882-1", "883-9", "10331-7"];

/// The blood group values of a verified card's Observations.
fn blood_groups_in(bundle: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let r = &e["resource"];
        if r["resourceType"] != "Observation" {
            continue;
        }
        let is_blood_group = r["code"]["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["code"]
                    .as_str()
                    .is_some_and(|k| BLOOD_GROUP_LOINC.contains(&k))
            });
        if !is_blood_group {
            continue;
        }
        let concept = &r["valueCodeableConcept"];
        let value = concept["text"]
            .as_str()
            .or_else(|| concept["coding"][0]["display"].as_str())
            .or_else(|| concept["coding"][0]["code"].as_str())
            .or_else(|| r["valueString"].as_str());
        if let Some(v) = value {
            out.push(v.to_owned());
        }
    }
    out
}
