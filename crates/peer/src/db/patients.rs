//! Registered patients (`peer_patients`), their one-time enrollment codes
//! (`peer_enrollment_codes`) and their enrolled keys (`peer_enrollments`).

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// A patient's registered details.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PatientRow {
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub national_id: String,
    pub phone: String,
    pub district: String,
    pub upazila: String,
}

/// Whether a patient with this national ID is registered.
pub(crate) async fn nid_registered(db: &Database, national_id: &str) -> Result<bool> {
    let n: i64 = on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_patients WHERE national_id = $1")
        .bind(national_id).fetch_one(p).await?);
    Ok(n > 0)
}

pub(crate) async fn patient(db: &Database, health_id: &str) -> Result<Option<PatientRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, PatientRow>("SELECT name, birth_date, sex, national_id, phone, district, upazila FROM peer_patients WHERE health_id = $1")
        .bind(health_id).fetch_optional(p).await?),
    )
}

/// A patient's details with their Health ID.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PatientWithId {
    pub health_id: String,
    #[sqlx(flatten)]
    pub patient: PatientRow,
}

/// The registered ones of `health_ids`, in one statement (a FHIR Bundle's patients).
pub(crate) async fn patients(db: &Database, health_ids: &[&str]) -> Result<Vec<PatientWithId>> {
    if health_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT health_id, name, birth_date, sex, national_id, phone, district, upazila FROM peer_patients WHERE health_id IN (");
        let mut list = qb.separated(", ");
        for h in health_ids {
            list.push_bind(*h);
        }
        qb.push(")");
        qb.build_query_as::<PatientWithId>().fetch_all(p).await?
    }))
}

/// A patient with a record's doctor: `bmdc`'s name and department (`None`: no such doctor),
/// read in one statement.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PatientDoctorRow {
    #[sqlx(flatten)]
    pub patient: PatientRow,
    pub doctor_name: Option<String>,
    pub doctor_department: Option<String>,
}

/// The patient and the doctor `bmdc` in one statement (`None`: no such patient).
pub(crate) async fn patient_and_doctor(
    db: &Database,
    health_id: &str,
    bmdc: &str,
) -> Result<Option<PatientDoctorRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, PatientDoctorRow>("SELECT p.name, p.birth_date, p.sex, p.national_id, p.phone, p.district, p.upazila, d.name AS doctor_name, d.department AS doctor_department FROM peer_patients p LEFT JOIN peer_doctors d ON d.bmdc_number = $2 WHERE p.health_id = $1")
        .bind(health_id).bind(bmdc).fetch_optional(p).await?),
    )
}

/// Registers a patient; the database error as is (a unique violation: the national ID, or the
/// Health ID drawn, is taken).
pub(crate) async fn insert_patient(
    tx: &mut Tx<'_>,
    health_id: &str,
    p: &PatientRow,
    created_at: i64,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_patients (health_id, name, birth_date, sex, national_id, phone, district, upazila, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(health_id).bind(&p.name).bind(&p.birth_date).bind(&p.sex).bind(&p.national_id)
        .bind(&p.phone).bind(&p.district).bind(&p.upazila).bind(created_at)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// The patient's own update of their contact details.
pub(crate) async fn update_contact(
    db: &Database,
    health_id: &str,
    phone: &str,
    district: &str,
    upazila: &str,
) -> Result<()> {
    on_db!(db, p => sqlx::query("UPDATE peer_patients SET phone = $1, district = $2, upazila = $3 WHERE health_id = $4")
        .bind(phone).bind(district).bind(upazila).bind(health_id).execute(p).await?.rows_affected());
    Ok(())
}

/// Stores an enrollment code (its hash) for the patient until `expires_at`.
pub(crate) async fn insert_code(
    tx: &mut Tx<'_>,
    code_hash: &[u8],
    health_id: &str,
    expires_at: i64,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_enrollment_codes (code_hash, health_id, expires_at) VALUES ($1, $2, $3)")
        .bind(code_hash).bind(health_id).bind(expires_at)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// Marks the patient's unused codes used (a new code replaces them).
pub(crate) async fn retire_codes(
    tx: &mut Tx<'_>,
    health_id: &str,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE peer_enrollment_codes SET used_at = $1 WHERE health_id = $2 AND used_at IS NULL")
        .bind(now).bind(health_id).execute(c).await?.rows_affected());
    Ok(())
}

/// The Health ID of the unused, unexpired code with this hash.
pub(crate) async fn code_holder(
    db: &Database,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT health_id FROM peer_enrollment_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at >= $2")
        .bind(code_hash).bind(now).fetch_optional(p).await?),
    )
}

/// Uses the code with this hash; false if it was used already.
pub(crate) async fn use_code(
    tx: &mut Tx<'_>,
    code_hash: &[u8],
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE peer_enrollment_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
        .bind(now).bind(code_hash).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// A patient key as it is enrolled.
#[derive(Debug)]
pub(crate) struct NewEnrollment<'a> {
    pub kid: &'a str,
    pub health_id: &'a str,
    /// The key's public JWK, as JSON.
    pub key_jwk: &'a str,
    /// The enrollment credential signed for it.
    pub credential: &'a str,
    pub created_at: i64,
}

/// Enrolls a key; the database error as is (a unique violation: the key is enrolled already).
pub(crate) async fn insert_enrollment(
    tx: &mut Tx<'_>,
    e: &NewEnrollment<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_enrollments (kid, health_id, key_jwk, credential, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(e.kid).bind(e.health_id).bind(e.key_jwk).bind(e.credential).bind(e.created_at)
        .execute(c).await?.rows_affected());
    Ok(())
}
