//! Emergency (break-glass) access: a doctor registered at this hospital opens a patient's
//! emergency summary (allergies, current medications, active problems, blood group, from this
//! peer's records) without a grant, for a few hours, after a second staff member confirms.
//! Every opening is its own kind of log entry ([`EntryKind::EmergencyAccess`]) and the patient's
//! receipt; refusals that concern a known patient (opted out, hospital not allowed) are logged as
//! denied accesses. The patient sets a policy (allow, opt out, only named hospitals) and may
//! dispute an access; the hospital's admin sees the accesses and their disputes.

use serde::Serialize;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::db::emergency::{AccessRow, Doctor};
use crate::error::{PeerError, Result};
use crate::patient::{RecordRow, RequestParts};
use crate::peer::{Peer, to_u64};
use crate::staff::{Role, StaffAuth};
use crate::write_keys::WriteKey;

pub use spondon_core::emergency::{
    DisputeRequest, EmergencyPolicy, EmergencyRequest, MAX_DETAILS_CHARS, MAX_DISPUTE_CHARS,
    MAX_HOURS, MAX_POLICY_HOSPITALS, PolicyMode, REASONS,
};

/// Seconds a request waits for the second staff member's confirmation.
pub const CONFIRM_WITHIN: i64 = 30 * 60;
/// LOINC codes of a blood group result: ABO and Rh group, ABO group, Rh type.
pub const BLOOD_GROUP_LOINC: &[&str] = &["882-1", "883-9", "10331-7"];

/// The wire types of emergency access (`spondon-protocol`): the peer writes them.
pub use spondon_protocol::{
    Disputed, EmergencyConfirmed, EmergencyRequested, EmergencySummary, PolicyRegistered,
    SummaryItem, SummaryMedication, SummaryPatient, SummaryRequest,
};

/// A dispute as the admin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DisputeView {
    pub text: String,
    pub disputed_at: i64,
}

/// An emergency access as the hospital's admin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EmergencyAccessView {
    pub access_id: String,
    pub health_id: String,
    pub doctor_bmdc: String,
    pub doctor_name: String,
    pub reason: String,
    pub details: String,
    pub hours: u8,
    pub requested_at: i64,
    /// `pending`, `lapsed` (never confirmed in time), `active`, `expired`.
    pub status: &'static str,
    pub confirmed_at: Option<i64>,
    /// The staff token id of the second staff member.
    pub confirmed_by: Option<String>,
    pub expires_at: Option<i64>,
    pub log_index: Option<u64>,
    pub dispute: Option<DisputeView>,
}

/// The admin's list.
#[derive(Debug, Clone, Serialize)]
pub struct EmergencyAccessList {
    pub accesses: Vec<EmergencyAccessView>,
}

/// A request waiting for the second staff member, as the console shows it to staff who may
/// confirm it (role `records` or `admin`).
#[derive(Debug, Clone, Serialize)]
pub struct PendingEmergency {
    pub access_id: String,
    pub health_id: String,
    /// The patient's registered name and birth date (to check at the bedside).
    pub patient_name: String,
    pub patient_birth_date: String,
    pub doctor_bmdc: String,
    pub doctor_name: String,
    pub doctor_department: String,
    pub reason: String,
    pub details: String,
    pub hours: u8,
    pub requested_at: i64,
    /// The confirmation must come before this time.
    pub confirm_by: i64,
}

/// The pending requests, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct PendingEmergencyList {
    pub pending: Vec<PendingEmergency>,
    /// The peer's clock when listed (the page counts down from it).
    pub now: i64,
}

/// What a logged emergency event says.
struct EmergencyEvent<'a> {
    health_id: &'a str,
    /// The refusal's code; `None` for an opened access.
    refused: Option<&'static str>,
    access_id: &'a str,
    doctor: &'a Doctor,
    doctor_kid: &'a str,
    reason: &'a str,
    details: &'a str,
    confirmed_by: Option<&'a str>,
    expires_at: Option<i64>,
    records: &'a [String],
    at: NumericDate,
}

impl Peer {
    /// A doctor's emergency request: the signing key must be a doctor registered here, the
    /// reason one of [`REASONS`] with free text, the patient registered here and not opted out.
    /// Stored as pending until a second staff member confirms it.
    pub async fn request_emergency(
        &self,
        parts: &RequestParts<'_>,
        req: &EmergencyRequest,
    ) -> Result<EmergencyRequested> {
        let key = self
            .check_signed(parts)
            .await
            .map_err(|e| self.count_unlogged(e))?;
        let Some(doctor) = self.emergency_doctor(key.kid()).await? else {
            return Err(self.count_unlogged(PeerError::EmergencyDoctorNotRegistered));
        };
        let valid = req.validate()?;
        let (reason, details, hours) = (valid.reason, valid.details, valid.hours);
        self.patient(&req.health_id).await?;
        let now = NumericDate::now();
        let id = spondon_core::b64::encode(spondon_core::keys::random_bytes::<16>()?);
        if let Some(refusal) = self.policy_refusal(&req.health_id).await? {
            self.log_emergency(EmergencyEvent {
                health_id: &req.health_id,
                refused: Some(refusal.code()),
                access_id: &id,
                doctor: &doctor,
                doctor_kid: key.kid(),
                reason,
                details,
                confirmed_by: None,
                expires_at: None,
                records: &[],
                at: now,
            })
            .await?;
            tracing::info!(reason = refusal.code(), "emergency access refused");
            return Err(PeerError::Charged(Box::new(refusal)));
        }
        let confirm_by = now.seconds() + CONFIRM_WITHIN;
        db::emergency::insert_request(
            &self.db,
            &db::emergency::NewRequest {
                id: &id,
                health_id: &req.health_id,
                doctor_bmdc: &doctor.bmdc,
                doctor_kid: key.kid(),
                reason,
                details,
                hours: i64::from(hours),
                requested_at: now.seconds(),
                confirm_by,
            },
        )
        .await?;
        tracing::info!("emergency access requested, waiting for confirmation");
        Ok(EmergencyRequested {
            access_id: id,
            status: "pending_confirmation".into(),
            confirm_by,
            hours,
        })
    }

    /// A second staff member (a staff token with the `records` or `admin` role — never the
    /// doctor's key) confirms a pending request: the access opens for its hours and is logged
    /// as an [`EntryKind::EmergencyAccess`] entry, the patient's receipt.
    pub async fn confirm_emergency(
        &self,
        staff: &StaffAuth,
        access_id: &str,
    ) -> Result<EmergencyConfirmed> {
        self.confirm_emergency_keyed(staff, access_id, None).await
    }

    /// [`Peer::confirm_emergency`] with a staff write's `Idempotency-Key`, stored with the
    /// answer in the confirmation's transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn confirm_emergency_keyed(
        &self,
        staff: &StaffAuth,
        access_id: &str,
        key: Option<&WriteKey>,
    ) -> Result<EmergencyConfirmed> {
        staff.need(Role::Records)?;
        let guard = self.write_lock().await?;
        let row = self
            .emergency_row(access_id)
            .await?
            .ok_or(PeerError::UnknownEmergencyAccess)?;
        if row.confirmed_at.is_some() {
            return Err(PeerError::EmergencyAlreadyConfirmed);
        }
        let now = NumericDate::now();
        if now.seconds() > row.confirm_by {
            return Err(PeerError::EmergencyExpired);
        }
        let doctor = self
            .emergency_doctor(&row.doctor_kid)
            .await?
            .ok_or(PeerError::EmergencyDoctorNotRegistered)?;
        if let Some(refusal) = self.policy_refusal(&row.health_id).await? {
            // The patient changed their policy after the request.
            drop(guard);
            self.log_emergency(EmergencyEvent {
                health_id: &row.health_id,
                refused: Some(refusal.code()),
                access_id: &row.id,
                doctor: &doctor,
                doctor_kid: &row.doctor_kid,
                reason: &row.reason,
                details: &row.details,
                confirmed_by: Some(&staff.token_id),
                expires_at: None,
                records: &[],
                at: now,
            })
            .await?;
            return Err(refusal);
        }
        let expires_at = now.seconds() + row.hours * 3600;
        let (cp, _) = self.log.signed_checkpoint().await?;
        let rows = self.record_rows(&row.health_id, 0, cp.size, None).await?;
        let records: Vec<String> = rows
            .iter()
            .filter(|r| !extract(r).is_empty())
            .map(|r| r.id.clone())
            .collect();
        let (payload, opening) = self.emergency_payload(&EmergencyEvent {
            health_id: &row.health_id,
            refused: None,
            access_id: &row.id,
            doctor: &doctor,
            doctor_kid: &row.doctor_kid,
            reason: &row.reason,
            details: &row.details,
            confirmed_by: Some(&staff.token_id),
            expires_at: Some(expires_at),
            records: &records,
            at: now,
        })?;
        let records_json = serde_json::to_string(&records)
            .map_err(|e| PeerError::Integrity(format!("record list: {e}")))?;
        // The entry, the confirmation, its access event and the write's key commit together
        // (one transaction): no entry without its rows, no rows without their entry.
        let (id, health_id, token_id, key) = (
            row.id.clone(),
            row.health_id.clone(),
            staff.token_id.clone(),
            key.cloned(),
        );
        let (n_records, at, opening_salt) = (records.len() as u64, now.seconds(), opening.salt);
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move {
                let log_index =
                    i64::try_from(first).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                let confirmed = db::emergency::confirm(
                    &mut tx,
                    &db::emergency::Confirmation {
                        id: &id,
                        confirmed_at: at,
                        confirmed_by: &token_id,
                        expires_at,
                        records: &records_json,
                        log_index,
                    },
                )
                .await?;
                if !confirmed {
                    // Rolls the whole append back; answered `emergency_already_confirmed`.
                    return Err(sqlx::Error::RowNotFound);
                }
                db::access_events::insert(
                    &mut tx,
                    &db::access_events::NewEvent {
                        health_id: Some(&health_id),
                        outcome: "allowed",
                        reason: None,
                        payload: &payload,
                        salt: &opening_salt,
                        log_index,
                        at,
                        grant: None,
                    },
                )
                .await?;
                let answer = EmergencyConfirmed {
                    access_id: id,
                    confirmed_by: token_id,
                    expires_at,
                    log_index: first,
                    records: n_records,
                };
                let stored = serde_json::to_value(&answer)
                    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                db::staff::insert_write_key(&mut tx, key.as_ref(), &stored, at).await
            })
        });
        // The entry, its rows and the checkpoint over them in one commit.
        let appended = match self
            .append_signed(
                &[LogEntry::commit(EntryKind::EmergencyAccess, now, &opening).encode()],
                rows,
            )
            .await
        {
            Err(PeerError::Ledger(spondon_ledger::LedgerError::Db(sqlx::Error::RowNotFound))) => {
                return Err(PeerError::EmergencyAlreadyConfirmed);
            }
            r => r?,
        };
        let answer = EmergencyConfirmed {
            access_id: row.id.clone(),
            confirmed_by: staff.token_id.clone(),
            expires_at,
            log_index: appended.first_index,
            records: records.len() as u64,
        };
        tracing::info!(
            log_index = appended.first_index,
            "emergency access confirmed and logged"
        );
        Ok(answer)
    }

    /// The emergency summary of a confirmed, unexpired access, for the doctor who asked (signed
    /// by the same key): only allergies, active medications, active problems and blood group,
    /// from the records fixed at confirmation.
    pub async fn emergency_summary(
        &self,
        parts: &RequestParts<'_>,
        req: &SummaryRequest,
    ) -> Result<EmergencySummary> {
        let key = self
            .check_signed(parts)
            .await
            .map_err(|e| self.count_unlogged(e))?;
        if self.emergency_doctor(key.kid()).await?.is_none() {
            return Err(self.count_unlogged(PeerError::EmergencyDoctorNotRegistered));
        }
        // Another doctor's access is as unknown as a made-up id.
        let row = match self.emergency_row(&req.access_id).await? {
            Some(r) if r.doctor_kid == key.kid() => r,
            _ => return Err(self.count_unlogged(PeerError::UnknownEmergencyAccess)),
        };
        let (Some(expires_at), Some(_)) = (row.expires_at, row.confirmed_at) else {
            return Err(PeerError::EmergencyNotConfirmed);
        };
        let now = NumericDate::now();
        if now.seconds() >= expires_at {
            return Err(PeerError::EmergencyExpired);
        }
        if let Some(refusal) = self.policy_refusal(&row.health_id).await? {
            return Err(refusal);
        }
        let ids: Vec<String> = row
            .records
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|_| PeerError::Integrity("stored emergency record list".into()))?
            .unwrap_or_default();
        let (size, checkpoint) = self.current_checkpoint().await?;
        let rows: Vec<RecordRow> = self
            .record_rows(&row.health_id, 0, size, None)
            .await?
            .into_iter()
            .filter(|r| ids.contains(&r.id))
            .collect();
        let mut allergies = Vec::new();
        let mut medications = Vec::new();
        let mut problems = Vec::new();
        let mut blood_group = None;
        for r in &rows {
            for item in extract(r) {
                match item {
                    Item::Allergy(i) => allergies.push(i),
                    Item::Medication(m) => medications.push(m),
                    Item::Problem(i) => problems.push(i),
                    Item::BloodGroup(b) => blood_group = Some(b),
                }
            }
        }
        let patient = self.patient(&row.health_id).await?;
        let records = self.with_proofs(rows, size).await?;
        tracing::info!(count = records.len(), "emergency summary served");
        Ok(EmergencySummary {
            access_id: row.id,
            expires_at,
            patient: SummaryPatient {
                health_id: patient.health_id,
                name: patient.details.name,
                birth_date: patient.details.birth_date,
                sex: patient.details.sex,
            },
            allergies,
            medications,
            problems,
            blood_group,
            records,
            checkpoint,
            tree_size: size,
        })
    }

    /// Registers the signing patient's emergency access policy (the newest `set_at` wins).
    pub async fn set_emergency_policy(
        &self,
        parts: &RequestParts<'_>,
        policy: &EmergencyPolicy,
    ) -> Result<PolicyRegistered> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        let now = NumericDate::now();
        policy.validate(now.seconds())?;
        let hospitals = serde_json::to_string(&policy.hospitals)
            .map_err(|e| PeerError::Integrity(format!("hospital list: {e}")))?;
        let stored = db::emergency::set_policy(
            &self.db,
            &db::emergency::NewPolicy {
                health_id: &health_id,
                mode: policy.mode.as_str(),
                hospitals: &hospitals,
                set_at: policy.set_at,
                patient_kid: key.kid(),
                received_at: now.seconds(),
            },
        )
        .await?;
        if !stored {
            return Err(PeerError::StaleEmergencyPolicy);
        }
        tracing::info!("emergency access policy registered");
        Ok(PolicyRegistered {
            mode: policy.mode.as_str().into(),
            set_at: policy.set_at,
            allowed_here: self.policy_refusal(&health_id).await?.is_none(),
        })
    }

    /// The signing patient disputes one of their emergency accesses; the admin sees it.
    pub async fn dispute_emergency(
        &self,
        parts: &RequestParts<'_>,
        req: &DisputeRequest,
    ) -> Result<Disputed> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        let text = req.validate()?;
        match self.emergency_row(&req.access_id).await? {
            Some(r) if r.health_id == health_id && r.log_index.is_some() => {}
            _ => return Err(PeerError::UnknownEmergencyAccess),
        }
        let now = NumericDate::now();
        let res = db::emergency::insert_dispute(
            &self.db,
            &db::emergency::NewDispute {
                access_id: &req.access_id,
                health_id: &health_id,
                text,
                patient_kid: key.kid(),
                disputed_at: now.seconds(),
            },
        )
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(PeerError::AlreadyDisputed);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!("emergency access disputed");
        Ok(Disputed {
            access_id: req.access_id.clone(),
            disputed_at: now.seconds(),
        })
    }

    /// Every emergency access (newest first, at most 500) with its dispute: for the admin.
    pub async fn emergency_accesses(&self, staff: &StaffAuth) -> Result<EmergencyAccessList> {
        staff.need(Role::Admin)?;
        let rows = db::emergency::accesses_with_disputes(&self.db).await?;
        let now = NumericDate::now().seconds();
        let mut accesses = Vec::with_capacity(rows.len());
        for db::emergency::AccessWithDispute {
            access: a,
            doctor_name,
            dispute_text: text,
            disputed_at: at,
        } in rows
        {
            let status = match (a.confirmed_at, a.expires_at) {
                (Some(_), Some(e)) if now < e => "active",
                (Some(_), _) => "expired",
                (None, _) if now > a.confirm_by => "lapsed",
                (None, _) => "pending",
            };
            accesses.push(EmergencyAccessView {
                access_id: a.id,
                health_id: a.health_id,
                doctor_bmdc: a.doctor_bmdc,
                doctor_name,
                reason: a.reason,
                details: a.details,
                hours: u8::try_from(a.hours).unwrap_or(MAX_HOURS),
                requested_at: a.requested_at,
                status,
                confirmed_at: a.confirmed_at,
                confirmed_by: a.confirmed_by,
                expires_at: a.expires_at,
                log_index: a.log_index.map(to_u64).transpose()?,
                dispute: match (text, at) {
                    (Some(text), Some(disputed_at)) => Some(DisputeView { text, disputed_at }),
                    _ => None,
                },
            });
        }
        Ok(EmergencyAccessList { accesses })
    }

    /// The requests still waiting for a second staff member (not confirmed, confirmation time
    /// not passed), newest first, at most 200: for staff who may confirm (`records` or `admin`).
    pub async fn pending_emergencies(&self, staff: &StaffAuth) -> Result<PendingEmergencyList> {
        staff.need(Role::Records)?;
        let now = NumericDate::now().seconds();
        let rows: Vec<PendingEmergency> = db::emergency::pending(&self.db, now)
            .await?
            .into_iter()
            .map(|r| PendingEmergency {
                access_id: r.id,
                health_id: r.health_id,
                patient_name: r.patient_name,
                patient_birth_date: r.birth_date,
                doctor_bmdc: r.doctor_bmdc,
                doctor_name: r.doctor_name,
                doctor_department: r.department,
                reason: r.reason,
                details: r.details,
                hours: u8::try_from(r.hours).unwrap_or(MAX_HOURS),
                requested_at: r.requested_at,
                confirm_by: r.confirm_by,
            })
            .collect();
        Ok(PendingEmergencyList { pending: rows, now })
    }

    async fn emergency_row(&self, id: &str) -> Result<Option<AccessRow>> {
        if id.len() != 22 {
            return Ok(None);
        }
        db::emergency::access(&self.db, id).await
    }

    async fn emergency_doctor(&self, kid: &str) -> Result<Option<Doctor>> {
        db::emergency::doctor_by_kid(&self.db, kid).await
    }

    /// Why the patient's policy refuses emergency access here, if it does.
    async fn policy_refusal(&self, health_id: &str) -> Result<Option<PeerError>> {
        let Some(db::emergency::PolicyRow { mode, hospitals }) =
            db::emergency::policy(&self.db, health_id).await?
        else {
            return Ok(None);
        };
        let hospitals: Vec<String> = serde_json::from_str(&hospitals)
            .map_err(|_| PeerError::Integrity("stored emergency policy".into()))?;
        Ok(
            match PolicyMode::parse(&mode)
                .ok_or_else(|| PeerError::Integrity("stored emergency policy mode".into()))?
            {
                PolicyMode::Allow => None,
                PolicyMode::OptOut => Some(PeerError::EmergencyOptedOut),
                PolicyMode::Only if hospitals.contains(&self.config.url) => None,
                PolicyMode::Only => Some(PeerError::EmergencyHospitalNotAllowed),
            },
        )
    }

    fn emergency_payload(&self, ev: &EmergencyEvent<'_>) -> Result<(String, Opening)> {
        let event = json!({
            "v": 1,
            "peer": self.config.url,
            "at": ev.at.seconds(),
            "action": "emergency",
            "outcome": if ev.refused.is_none() { "allowed" } else { "denied" },
            "reason": ev.refused,
            "grant_id": null,
            "audience": ev.doctor_kid,
            "records": ev.records,
            "emergency": {
                "id": ev.access_id,
                "doctor": {"bmdc": ev.doctor.bmdc, "name": ev.doctor.name, "department": ev.doctor.department},
                "reason": ev.reason,
                "details": ev.details,
                "confirmed_by": ev.confirmed_by,
                "expires_at": ev.expires_at,
            },
        });
        let payload = event.to_string();
        let opening = Opening::new(payload.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        Ok((payload, opening))
    }

    /// Logs a refused emergency access that concerns a known patient (an `AccessDenied` entry,
    /// action `emergency`), as their receipt.
    async fn log_emergency(&self, ev: EmergencyEvent<'_>) -> Result<u64> {
        let (payload, opening) = self.emergency_payload(&ev)?;
        self.log_denied_event(ev.health_id, ev.refused, payload, &opening, ev.at)
            .await
    }
}

/// One item of the emergency summary.
enum Item {
    Allergy(SummaryItem),
    Medication(SummaryMedication),
    Problem(SummaryItem),
    BloodGroup(String),
}

/// The emergency items of one of this peer's records: only prescriptions, diagnoses and lab
/// reports are read, and only their active medications, active problems, allergies and blood
/// group results. A record with none is not part of the summary.
fn extract(r: &RecordRow) -> Vec<Item> {
    let (id, kind, jws) = (&r.id, r.kind.as_str(), &r.jws);
    if !matches!(kind, "prescription" | "diagnosis" | "lab_report") {
        return Vec::new();
    }
    let Ok(card) = spondon_core::shc::jws::ParsedCard::parse(jws) else {
        return Vec::new();
    };
    let text_of = |v: &Value| -> Option<String> {
        v.get("text")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let c = v.get("coding")?.get(0)?;
                c.get("display")
                    .or_else(|| c.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    };
    let code_of = |v: &Value| -> Option<String> {
        v.get("coding")?
            .get(0)?
            .get("code")?
            .as_str()
            .map(str::to_owned)
    };
    let mut out = Vec::new();
    for res in spondon_core::shc::fhir::resources(card.fhir_bundle()) {
        let ty = res
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        match (kind, ty) {
            ("prescription", "MedicationRequest") => {
                let status = res
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("active");
                if status != "active" {
                    continue;
                }
                if let Some(m) = res.get("medicationCodeableConcept").and_then(text_of) {
                    out.push(Item::Medication(SummaryMedication {
                        medication: m,
                        dosage: res
                            .get("dosageInstruction")
                            .and_then(|d| d.get(0))
                            .and_then(|d| d.get("text"))
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        record_id: id.clone(),
                    }));
                }
            }
            ("diagnosis", "Condition") => {
                let clinical = res
                    .get("clinicalStatus")
                    .and_then(code_of)
                    .unwrap_or_else(|| "active".to_owned());
                if matches!(clinical.as_str(), "resolved" | "inactive" | "remission") {
                    continue;
                }
                if let Some(code) = res.get("code") {
                    out.push(Item::Problem(SummaryItem {
                        text: text_of(code).unwrap_or_else(|| "a condition".to_owned()),
                        code: code_of(code),
                        record_id: id.clone(),
                    }));
                }
            }
            (_, "AllergyIntolerance") => {
                if let Some(code) = res.get("code") {
                    out.push(Item::Allergy(SummaryItem {
                        text: text_of(code).unwrap_or_else(|| "an allergy".to_owned()),
                        code: code_of(code),
                        record_id: id.clone(),
                    }));
                }
            }
            ("lab_report", "Observation") => {
                let is_blood_group = res
                    .get("code")
                    .and_then(|c| c.get("coding"))
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.get("code")
                                .and_then(Value::as_str)
                                .is_some_and(|code| BLOOD_GROUP_LOINC.contains(&code))
                        })
                    });
                if !is_blood_group {
                    continue;
                }
                let value = res
                    .get("valueCodeableConcept")
                    .and_then(text_of)
                    .or_else(|| {
                        res.get("valueString")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                if let Some(v) = value {
                    out.push(Item::BloodGroup(v));
                }
            }
            _ => {}
        }
    }
    out
}
