//! Read-only queries the console needs beyond the API's: patient search and duplicate check, a
//! patient's records and access log, doctors and staff tokens, one log entry.

use serde::Serialize;
use serde_json::Value;
use spondon_ledger::LogEntry;

use crate::db;
use crate::db::console::FoundPatient;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, to_u64};
use crate::registry::{NewPatient, is_health_id, normalize_phone};

/// Most rows of a search or list.
pub const MAX_ROWS: i64 = 50;

/// A patient as a search lists them.
#[derive(Debug, Clone, Serialize)]
pub struct PatientRow {
    pub health_id: String,
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub district: String,
    pub upazila: String,
    /// Only the last 3 digits of the NID and phone are shown in lists.
    pub national_id_end: String,
    pub phone_end: String,
    /// For a duplicate check: what matched (`national_id`, `phone`, `name_birth_date`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<&'static str>,
}

/// A record in a patient's list.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRow {
    pub id: String,
    pub kind: String,
    pub doctor_bmdc: Option<String>,
    pub supersedes: Option<String>,
    pub log_index: u64,
    pub issued_at: i64,
    pub revoked: Option<Revoked>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    pub reason: String,
    pub at: i64,
}

/// An access event from the log (a redemption, write or attributable denial).
#[derive(Debug, Clone, Serialize)]
pub struct AccessRow {
    pub at: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub log_index: u64,
    /// The key the grant named (a doctor's or clinic's kid).
    pub audience: Option<String>,
    /// The registered doctor holding that key, if any.
    pub doctor: Option<String>,
    pub records: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorRow {
    pub bmdc_number: String,
    pub name: String,
    pub department: String,
    pub kid: String,
    pub registered_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffTokenRow {
    pub id: String,
    pub label: String,
    pub roles: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A log entry as the console shows it after an issuance.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntryView {
    pub index: u64,
    pub kind: String,
    pub time: i64,
    /// The salted commitment (hex).
    pub commitment: String,
    pub tree_size: u64,
    /// The Merkle tree's root hash at `tree_size` (hex).
    pub root: String,
}

fn ends(v: &str) -> String {
    let n = v.chars().count();
    v.chars().skip(n.saturating_sub(3)).collect()
}

fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn patient_rows(rows: Vec<FoundPatient>) -> Vec<PatientRow> {
    rows.into_iter()
        .map(|r| PatientRow {
            national_id_end: ends(&r.national_id),
            phone_end: ends(&r.phone),
            health_id: r.health_id,
            name: r.name,
            birth_date: r.birth_date,
            sex: r.sex,
            district: r.district,
            upazila: r.upazila,
            matches: Vec::new(),
        })
        .collect()
}

impl Peer {
    /// Patients matching `q`: a Health ID, an NID / birth registration number or a mobile
    /// number exactly, or part of a name (at least 2 characters).
    pub async fn search_patients(&self, q: &str) -> Result<Vec<PatientRow>> {
        let q = q.trim();
        if q.chars().count() < 2 || q.chars().count() > 100 || q.chars().any(char::is_control) {
            return Err(PeerError::field("q", "must be 2–100 printable characters"));
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let phone = normalize_phone(q).unwrap_or_default();
        let rows = if is_health_id(q)
            || digits.len() >= 10 && digits.len() == q.trim_start_matches('+').len()
            || !phone.is_empty()
        {
            db::console::patients_exact(&self.db, q, &digits, &phone, MAX_ROWS).await?
        } else {
            db::console::patients_named(&self.db, &like_pattern(q), MAX_ROWS).await?
        };
        Ok(patient_rows(rows))
    }

    /// Registered patients who may be the same person as `p` (validated): the same NID, the
    /// same mobile number, or the same name (ignoring case) and date of birth.
    pub async fn possible_duplicates(&self, p: &NewPatient) -> Result<Vec<PatientRow>> {
        let rows = db::console::possible_duplicates(
            &self.db,
            &p.national_id,
            &p.phone,
            &p.name.to_lowercase(),
            &p.birth_date,
            MAX_ROWS,
        )
        .await?;
        let matched: Vec<Vec<&'static str>> = rows
            .iter()
            .map(|r| {
                let mut m = Vec::new();
                if r.national_id == p.national_id {
                    m.push("national_id");
                }
                if r.phone == p.phone {
                    m.push("phone");
                }
                if r.name.to_lowercase() == p.name.to_lowercase() && r.birth_date == p.birth_date {
                    m.push("name_birth_date");
                }
                m
            })
            .collect();
        let mut out = patient_rows(rows);
        for (row, m) in out.iter_mut().zip(matched) {
            row.matches = m;
        }
        Ok(out)
    }

    /// A patient's records, newest first, with their revocation if any.
    pub async fn patient_records(&self, health_id: &str) -> Result<Vec<RecordRow>> {
        self.patient(health_id).await?;
        let rows = db::console::records(&self.db, health_id).await?;
        rows.into_iter()
            .map(|r| {
                Ok(RecordRow {
                    id: r.id,
                    kind: r.kind,
                    doctor_bmdc: r.doctor_bmdc,
                    supersedes: r.supersedes,
                    log_index: to_u64(r.log_index)?,
                    issued_at: r.issued_at,
                    revoked: match (r.revocation_reason, r.revoked_at) {
                        (Some(reason), Some(at)) => Some(Revoked { reason, at }),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    /// A patient's access log (every redemption, write and attributable denial), newest first.
    pub async fn patient_access_log(&self, health_id: &str) -> Result<Vec<AccessRow>> {
        self.patient(health_id).await?;
        let rows = db::console::access_log(&self.db, health_id).await?;
        let doctors = self.doctors().await?;
        rows.into_iter()
            .map(|r| {
                let db::console::LoggedAccess {
                    outcome,
                    reason,
                    payload,
                    log_index,
                    at,
                } = r;
                let v: Value = serde_json::from_str(&payload)
                    .map_err(|_| PeerError::Integrity("stored access event".into()))?;
                let audience = v.get("audience").and_then(Value::as_str).map(str::to_owned);
                let doctor = audience.as_ref().and_then(|a| {
                    doctors
                        .iter()
                        .find(|d| &d.kid == a)
                        .map(|d| format!("{} ({})", d.name, d.bmdc_number))
                });
                let records = v
                    .get("records")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                Ok(AccessRow {
                    at,
                    outcome,
                    reason,
                    log_index: to_u64(log_index)?,
                    audience,
                    doctor,
                    records,
                })
            })
            .collect()
    }

    /// Registered doctors, newest first.
    pub async fn doctors(&self) -> Result<Vec<DoctorRow>> {
        Ok(db::console::doctors(&self.db)
            .await?
            .into_iter()
            .map(|d| DoctorRow {
                bmdc_number: d.bmdc_number,
                name: d.name,
                department: d.department,
                kid: d.key_kid,
                registered_at: d.created_at,
            })
            .collect())
    }

    /// A registered doctor's signed credential (`SPONDON:1:…`).
    pub async fn doctor_credential(&self, bmdc: &str) -> Result<String> {
        let row = db::console::doctor_credential(&self.db, bmdc).await?;
        row.ok_or(PeerError::UnknownDoctor)
    }

    /// Staff tokens, newest first (never the secret).
    pub async fn staff_tokens(&self) -> Result<Vec<StaffTokenRow>> {
        Ok(db::console::staff_tokens(&self.db)
            .await?
            .into_iter()
            .map(|t| StaffTokenRow {
                id: t.token_id,
                label: t.label,
                roles: t.roles,
                created_at: t.created_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// The log entry at `index`, with the current tree head.
    pub async fn log_entry_view(&self, index: u64) -> Result<LogEntryView> {
        let bytes = self.log.entry(index).await?;
        let entry = LogEntry::decode(&bytes)
            .map_err(|e| PeerError::Integrity(format!("log entry: {e}")))?;
        let (tree_size, root) = self.log.tree_head().await;
        Ok(LogEntryView {
            index,
            kind: format!("{:?}", entry.kind),
            time: entry.time.seconds(),
            commitment: hex::encode(entry.commitment),
            tree_size,
            root: hex::encode(root),
        })
    }
}
