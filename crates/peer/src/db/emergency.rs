//! Emergency (break-glass) access: `peer_emergency_access` with its disputes, the patients'
//! `peer_emergency_policies`, and the registered doctors who may ask.

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// A stored emergency access.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccessRow {
    pub id: String,
    pub health_id: String,
    pub doctor_bmdc: String,
    pub doctor_kid: String,
    pub reason: String,
    pub details: String,
    pub hours: i64,
    pub requested_at: i64,
    pub confirm_by: i64,
    pub confirmed_at: Option<i64>,
    pub confirmed_by: Option<String>,
    pub expires_at: Option<i64>,
    /// The records shown, a JSON array of ids, once confirmed.
    pub records: Option<String>,
    pub log_index: Option<i64>,
}

/// An access as the admin lists it: with the asking doctor's name and the patient's dispute.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccessWithDispute {
    #[sqlx(flatten)]
    pub access: AccessRow,
    pub doctor_name: String,
    pub dispute_text: Option<String>,
    pub disputed_at: Option<i64>,
}

/// A request waiting for its second staff member, with what the bedside checks.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PendingRow {
    pub id: String,
    pub health_id: String,
    pub patient_name: String,
    pub birth_date: String,
    pub doctor_bmdc: String,
    pub doctor_name: String,
    pub department: String,
    pub reason: String,
    pub details: String,
    pub hours: i64,
    pub requested_at: i64,
    pub confirm_by: i64,
}

/// A registered doctor, as an emergency request names them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Doctor {
    #[sqlx(rename = "bmdc_number")]
    pub bmdc: String,
    pub name: String,
    pub department: String,
}

/// A patient's emergency access setting.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PolicyRow {
    /// `allow`, `opt_out` or `only`.
    pub mode: String,
    /// The hospitals of `only`, a JSON array of peer URLs.
    pub hospitals: String,
}

/// A new request, pending until a second staff member confirms it.
#[derive(Debug)]
pub(crate) struct NewRequest<'a> {
    pub id: &'a str,
    pub health_id: &'a str,
    pub doctor_bmdc: &'a str,
    pub doctor_kid: &'a str,
    pub reason: &'a str,
    pub details: &'a str,
    pub hours: i64,
    pub requested_at: i64,
    pub confirm_by: i64,
}

pub(crate) async fn insert_request(db: &Database, r: &NewRequest<'_>) -> Result<()> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_emergency_access (id, health_id, doctor_bmdc, doctor_kid, reason, details, hours, requested_at, confirm_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(r.id).bind(r.health_id).bind(r.doctor_bmdc).bind(r.doctor_kid).bind(r.reason).bind(r.details)
        .bind(r.hours).bind(r.requested_at).bind(r.confirm_by)
        .execute(p).await?.rows_affected());
    Ok(())
}

/// One access by its id.
pub(crate) async fn access(db: &Database, id: &str) -> Result<Option<AccessRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, AccessRow>("SELECT id, health_id, doctor_bmdc, doctor_kid, reason, details, hours, requested_at, confirm_by, confirmed_at, confirmed_by, expires_at, records, log_index FROM peer_emergency_access WHERE id = $1")
        .bind(id).fetch_optional(p).await?),
    )
}

/// Every access with its doctor's name and dispute, newest first, at most 500.
pub(crate) async fn accesses_with_disputes(db: &Database) -> Result<Vec<AccessWithDispute>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, AccessWithDispute>("SELECT a.id, a.health_id, a.doctor_bmdc, a.doctor_kid, a.reason, a.details, a.hours, a.requested_at, a.confirm_by, a.confirmed_at, a.confirmed_by, a.expires_at, a.records, a.log_index, d.text AS dispute_text, d.disputed_at, doc.name AS doctor_name FROM peer_emergency_access a LEFT JOIN peer_emergency_disputes d ON d.access_id = a.id JOIN peer_doctors doc ON doc.bmdc_number = a.doctor_bmdc ORDER BY a.requested_at DESC, a.id LIMIT 500")
        .fetch_all(p).await?),
    )
}

/// The requests not confirmed whose confirmation time has not passed at `now`, newest first,
/// at most 200.
pub(crate) async fn pending(db: &Database, now: i64) -> Result<Vec<PendingRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, PendingRow>("SELECT a.id, a.health_id, pt.name AS patient_name, pt.birth_date, a.doctor_bmdc, d.name AS doctor_name, d.department, a.reason, a.details, a.hours, a.requested_at, a.confirm_by FROM peer_emergency_access a JOIN peer_doctors d ON d.bmdc_number = a.doctor_bmdc JOIN peer_patients pt ON pt.health_id = a.health_id WHERE a.confirmed_at IS NULL AND a.confirm_by >= $1 ORDER BY a.requested_at DESC, a.id LIMIT 200")
        .bind(now)
        .fetch_all(p).await?),
    )
}

/// The registered doctor holding the key `kid`.
pub(crate) async fn doctor_by_kid(db: &Database, kid: &str) -> Result<Option<Doctor>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Doctor>("SELECT bmdc_number, name, department FROM peer_doctors WHERE key_kid = $1")
        .bind(kid).fetch_optional(p).await?),
    )
}

/// The patient's emergency access setting, if they registered one.
pub(crate) async fn policy(db: &Database, health_id: &str) -> Result<Option<PolicyRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, PolicyRow>("SELECT mode, hospitals FROM peer_emergency_policies WHERE health_id = $1")
        .bind(health_id).fetch_optional(p).await?),
    )
}

/// A pending access's confirmation, as its log entry at `log_index` commits to it.
#[derive(Debug)]
pub(crate) struct Confirmation<'a> {
    pub id: &'a str,
    pub confirmed_at: i64,
    /// The confirming staff token's id.
    pub confirmed_by: &'a str,
    pub expires_at: i64,
    /// The records shown, a JSON array of ids.
    pub records: &'a str,
    pub log_index: i64,
}

/// Confirms a pending access in the transaction that appends its log entry; false if it is no
/// longer pending.
pub(crate) async fn confirm(
    tx: &mut Tx<'_>,
    c: &Confirmation<'_>,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, conn => sqlx::query("UPDATE peer_emergency_access SET confirmed_at = $1, confirmed_by = $2, expires_at = $3, records = $4, log_index = $5 WHERE id = $6 AND confirmed_at IS NULL")
        .bind(c.confirmed_at).bind(c.confirmed_by).bind(c.expires_at).bind(c.records).bind(c.log_index).bind(c.id)
        .execute(conn).await?.rows_affected());
    Ok(n == 1)
}

/// A patient's emergency access setting as they sign it.
#[derive(Debug)]
pub(crate) struct NewPolicy<'a> {
    pub health_id: &'a str,
    /// `allow`, `opt_out` or `only`.
    pub mode: &'a str,
    /// The hospitals of `only`, a JSON array of peer URLs.
    pub hospitals: &'a str,
    pub set_at: i64,
    pub patient_kid: &'a str,
    pub received_at: i64,
}

/// Stores a policy unless a newer one (a later `set_at`) is stored; false if one is.
pub(crate) async fn set_policy(db: &Database, p: &NewPolicy<'_>) -> Result<bool> {
    let n = on_db!(db, pool => sqlx::query("INSERT INTO peer_emergency_policies (health_id, mode, hospitals, set_at, patient_kid, received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (health_id) DO UPDATE SET mode = excluded.mode, hospitals = excluded.hospitals, set_at = excluded.set_at, patient_kid = excluded.patient_kid, received_at = excluded.received_at WHERE peer_emergency_policies.set_at <= excluded.set_at")
        .bind(p.health_id).bind(p.mode).bind(p.hospitals).bind(p.set_at).bind(p.patient_kid).bind(p.received_at)
        .execute(pool).await?.rows_affected());
    Ok(n > 0)
}

/// A patient's dispute of one of their emergency accesses.
#[derive(Debug)]
pub(crate) struct NewDispute<'a> {
    pub access_id: &'a str,
    pub health_id: &'a str,
    pub text: &'a str,
    pub patient_kid: &'a str,
    pub disputed_at: i64,
}

/// Stores a dispute; the database error as is (a unique violation: the access is disputed
/// already).
pub(crate) async fn insert_dispute(
    db: &Database,
    d: &NewDispute<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_emergency_disputes (access_id, health_id, text, patient_kid, disputed_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(d.access_id).bind(d.health_id).bind(d.text).bind(d.patient_kid).bind(d.disputed_at)
        .execute(p).await?.rows_affected());
    Ok(())
}
