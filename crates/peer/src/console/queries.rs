//! Read-only queries the console needs beyond the API's: patient search and duplicate check, a
//! patient's records and access log, doctors and staff tokens, one log entry.

use serde::Serialize;
use serde_json::Value;
use spondon_ledger::LogEntry;
use sqlx::Row as _;

use crate::error::{PeerError, Result};
use crate::peer::{Peer, on_db, to_u64};
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

type PRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn patient_rows(rows: Vec<PRow>) -> Vec<PatientRow> {
    rows.into_iter()
        .map(
            |(health_id, name, birth_date, sex, national_id, phone, district, upazila)| {
                PatientRow {
                    health_id,
                    name,
                    birth_date,
                    sex,
                    district,
                    upazila,
                    national_id_end: ends(&national_id),
                    phone_end: ends(&phone),
                    matches: Vec::new(),
                }
            },
        )
        .collect()
}

macro_rules! prow {
    ($r:expr) => {
        Ok::<PRow, sqlx::Error>((
            $r.try_get(0)?,
            $r.try_get(1)?,
            $r.try_get(2)?,
            $r.try_get(3)?,
            $r.try_get(4)?,
            $r.try_get(5)?,
            $r.try_get(6)?,
            $r.try_get(7)?,
        ))
    };
}

const PATIENT_COLS: &str =
    "health_id, name, birth_date, sex, national_id, phone, district, upazila";

impl Peer {
    /// Patients matching `q`: a Health ID, an NID / birth registration number or a mobile
    /// number exactly, or part of a name (at least 2 characters).
    pub async fn search_patients(&self, q: &str) -> Result<Vec<PatientRow>> {
        let q = q.trim();
        if q.chars().count() < 2 || q.chars().count() > 100 || q.chars().any(char::is_control) {
            return Err(PeerError::field("q", "must be 2–100 printable characters"));
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let sql_exact = format!(
            "SELECT {PATIENT_COLS} FROM peer_patients WHERE health_id = $1 OR national_id = $2 OR phone = $3 ORDER BY created_at DESC LIMIT {MAX_ROWS}"
        );
        let sql_name = format!(
            "SELECT {PATIENT_COLS} FROM peer_patients WHERE LOWER(name) LIKE $1 ESCAPE '\\' ORDER BY created_at DESC LIMIT {MAX_ROWS}"
        );
        let phone = normalize_phone(q).unwrap_or_default();
        let rows: Vec<PRow> = if is_health_id(q)
            || digits.len() >= 10 && digits.len() == q.trim_start_matches('+').len()
            || !phone.is_empty()
        {
            on_db!(&self.db, p => sqlx::query(&sql_exact).bind(q).bind(&digits).bind(&phone)
                .fetch_all(p).await?.into_iter().map(|r| prow!(r)).collect::<std::result::Result<Vec<_>, _>>()?)
        } else {
            on_db!(&self.db, p => sqlx::query(&sql_name).bind(like_pattern(q))
                .fetch_all(p).await?.into_iter().map(|r| prow!(r)).collect::<std::result::Result<Vec<_>, _>>()?)
        };
        Ok(patient_rows(rows))
    }

    /// Registered patients who may be the same person as `p` (validated): the same NID, the
    /// same mobile number, or the same name (ignoring case) and date of birth.
    pub async fn possible_duplicates(&self, p: &NewPatient) -> Result<Vec<PatientRow>> {
        let sql = format!(
            "SELECT {PATIENT_COLS} FROM peer_patients WHERE national_id = $1 OR phone = $2 OR (LOWER(name) = $3 AND birth_date = $4) ORDER BY created_at LIMIT {MAX_ROWS}"
        );
        let rows: Vec<PRow> = on_db!(&self.db, pool => sqlx::query(&sql)
            .bind(&p.national_id).bind(&p.phone).bind(p.name.to_lowercase()).bind(&p.birth_date)
            .fetch_all(pool).await?.into_iter().map(|r| prow!(r)).collect::<std::result::Result<Vec<_>, _>>()?);
        let matched: Vec<Vec<&'static str>> = rows
            .iter()
            .map(|(_, name, birth, _, nid, phone, _, _)| {
                let mut m = Vec::new();
                if *nid == p.national_id {
                    m.push("national_id");
                }
                if *phone == p.phone {
                    m.push("phone");
                }
                if name.to_lowercase() == p.name.to_lowercase() && *birth == p.birth_date {
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
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            i64,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = on_db!(&self.db, p => sqlx::query("SELECT r.id, r.kind, r.doctor_bmdc, r.supersedes, r.log_index, r.issued_at, v.reason, v.revoked_at FROM peer_records r LEFT JOIN peer_record_revocations v ON v.record_id = r.id WHERE r.health_id = $1 ORDER BY r.seq DESC LIMIT 500")
            .bind(health_id).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<Row, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?)))
            .collect::<std::result::Result<Vec<_>, _>>()?);
        rows.into_iter()
            .map(
                |(id, kind, doctor_bmdc, supersedes, log_index, issued_at, reason, at)| {
                    Ok(RecordRow {
                        id,
                        kind,
                        doctor_bmdc,
                        supersedes,
                        log_index: to_u64(log_index)?,
                        issued_at,
                        revoked: match (reason, at) {
                            (Some(reason), Some(at)) => Some(Revoked { reason, at }),
                            _ => None,
                        },
                    })
                },
            )
            .collect()
    }

    /// A patient's access log (every redemption, write and attributable denial), newest first.
    pub async fn patient_access_log(&self, health_id: &str) -> Result<Vec<AccessRow>> {
        self.patient(health_id).await?;
        type Row = (String, Option<String>, String, i64, i64);
        let rows: Vec<Row> = on_db!(&self.db, p => sqlx::query("SELECT outcome, reason, payload, log_index, at FROM peer_access_events WHERE health_id = $1 ORDER BY seq DESC LIMIT 500")
            .bind(health_id).fetch_all(p).await?.into_iter()
            .map(|r| Ok::<Row, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
            .collect::<std::result::Result<Vec<_>, _>>()?);
        let doctors = self.doctors().await?;
        rows.into_iter()
            .map(|(outcome, reason, payload, log_index, at)| {
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
        type Row = (String, String, String, String, i64);
        let rows: Vec<Row> = on_db!(&self.db, p => sqlx::query("SELECT bmdc_number, name, department, key_kid, created_at FROM peer_doctors ORDER BY created_at DESC LIMIT 500")
            .fetch_all(p).await?.into_iter()
            .map(|r| Ok::<Row, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
            .collect::<std::result::Result<Vec<_>, _>>()?);
        Ok(rows
            .into_iter()
            .map(
                |(bmdc_number, name, department, kid, registered_at)| DoctorRow {
                    bmdc_number,
                    name,
                    department,
                    kid,
                    registered_at,
                },
            )
            .collect())
    }

    /// A registered doctor's signed credential (`SPONDON:1:…`).
    pub async fn doctor_credential(&self, bmdc: &str) -> Result<String> {
        let row: Option<String> = on_db!(&self.db, p => sqlx::query("SELECT credential FROM peer_doctors WHERE bmdc_number = $1")
            .bind(bmdc).fetch_optional(p).await?.map(|r| r.try_get(0)).transpose()?);
        row.ok_or(PeerError::UnknownDoctor)
    }

    /// Staff tokens, newest first (never the secret).
    pub async fn staff_tokens(&self) -> Result<Vec<StaffTokenRow>> {
        type Row = (String, String, String, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, p => sqlx::query("SELECT token_id, label, roles, created_at, expires_at, revoked_at FROM peer_staff_tokens ORDER BY created_at DESC LIMIT 500")
            .fetch_all(p).await?.into_iter()
            .map(|r| Ok::<Row, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?)))
            .collect::<std::result::Result<Vec<_>, _>>()?);
        Ok(rows
            .into_iter()
            .map(
                |(id, label, roles, created_at, expires_at, revoked_at)| StaffTokenRow {
                    id,
                    label,
                    roles,
                    created_at,
                    expires_at,
                    revoked_at,
                },
            )
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
