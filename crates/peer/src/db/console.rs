//! The staff console's reads beyond the API's (patient search and the duplicate check, a
//! patient's records and access log, doctors, staff tokens) and its sessions
//! (`peer_console_sessions`).

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// A registered patient as a search finds them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FoundPatient {
    pub health_id: String,
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub national_id: String,
    pub phone: String,
    pub district: String,
    pub upazila: String,
}

/// Patients whose Health ID, national ID or phone is exactly one of these, newest first.
pub(crate) async fn patients_exact(
    db: &Database,
    health_id: &str,
    national_id: &str,
    phone: &str,
    limit: i64,
) -> Result<Vec<FoundPatient>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, FoundPatient>("SELECT health_id, name, birth_date, sex, national_id, phone, district, upazila FROM peer_patients WHERE health_id = $1 OR national_id = $2 OR phone = $3 ORDER BY created_at DESC LIMIT $4")
        .bind(health_id).bind(national_id).bind(phone).bind(limit).fetch_all(p).await?),
    )
}

/// Patients whose lower-cased name is `LIKE` the pattern (`\` escapes), newest first.
pub(crate) async fn patients_named(
    db: &Database,
    pattern: &str,
    limit: i64,
) -> Result<Vec<FoundPatient>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, FoundPatient>("SELECT health_id, name, birth_date, sex, national_id, phone, district, upazila FROM peer_patients WHERE LOWER(name) LIKE $1 ESCAPE '\\' ORDER BY created_at DESC LIMIT $2")
        .bind(pattern).bind(limit).fetch_all(p).await?),
    )
}

/// Patients with this national ID, this phone, or this lower-cased name and birth date,
/// oldest first.
pub(crate) async fn possible_duplicates(
    db: &Database,
    national_id: &str,
    phone: &str,
    name_lower: &str,
    birth_date: &str,
    limit: i64,
) -> Result<Vec<FoundPatient>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, FoundPatient>("SELECT health_id, name, birth_date, sex, national_id, phone, district, upazila FROM peer_patients WHERE national_id = $1 OR phone = $2 OR (LOWER(name) = $3 AND birth_date = $4) ORDER BY created_at LIMIT $5")
        .bind(national_id).bind(phone).bind(name_lower).bind(birth_date).bind(limit).fetch_all(p).await?),
    )
}

/// A patient's record with its revocation, if any.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ListedRecord {
    pub id: String,
    pub kind: String,
    pub doctor_bmdc: Option<String>,
    pub supersedes: Option<String>,
    pub log_index: i64,
    pub issued_at: i64,
    pub revocation_reason: Option<String>,
    pub revoked_at: Option<i64>,
}

/// The patient's records, newest first, at most 500.
pub(crate) async fn records(db: &Database, health_id: &str) -> Result<Vec<ListedRecord>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, ListedRecord>("SELECT r.id, r.kind, r.doctor_bmdc, r.supersedes, r.log_index, r.issued_at, v.reason AS revocation_reason, v.revoked_at FROM peer_records r LEFT JOIN peer_record_revocations v ON v.record_id = r.id WHERE r.health_id = $1 ORDER BY r.seq DESC LIMIT 500")
        .bind(health_id).fetch_all(p).await?),
    )
}

/// One of a patient's access events.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LoggedAccess {
    pub outcome: String,
    pub reason: Option<String>,
    /// The event's JSON, as logged.
    pub payload: String,
    pub log_index: i64,
    pub at: i64,
}

/// The patient's access events, newest first, at most 500.
pub(crate) async fn access_log(db: &Database, health_id: &str) -> Result<Vec<LoggedAccess>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, LoggedAccess>("SELECT outcome, reason, payload, log_index, at FROM peer_access_events WHERE health_id = $1 ORDER BY seq DESC LIMIT 500")
        .bind(health_id).fetch_all(p).await?),
    )
}

/// A registered doctor as the console lists them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ListedDoctor {
    pub bmdc_number: String,
    pub name: String,
    pub department: String,
    pub key_kid: String,
    pub created_at: i64,
}

/// Registered doctors, newest first, at most 500.
pub(crate) async fn doctors(db: &Database) -> Result<Vec<ListedDoctor>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, ListedDoctor>("SELECT bmdc_number, name, department, key_kid, created_at FROM peer_doctors ORDER BY created_at DESC LIMIT 500")
        .fetch_all(p).await?),
    )
}

/// A registered doctor's signed credential.
pub(crate) async fn doctor_credential(db: &Database, bmdc: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT credential FROM peer_doctors WHERE bmdc_number = $1")
        .bind(bmdc).fetch_optional(p).await?),
    )
}

/// A staff token as the console lists it (never the secret).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ListedToken {
    pub token_id: String,
    pub label: String,
    pub roles: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Staff tokens, newest first, at most 500.
pub(crate) async fn staff_tokens(db: &Database) -> Result<Vec<ListedToken>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, ListedToken>("SELECT token_id, label, roles, created_at, expires_at, revoked_at FROM peer_staff_tokens ORDER BY created_at DESC LIMIT 500")
        .fetch_all(p).await?),
    )
}

/// A console session as it is created: only the SHA-256 of its id (the cookie) is stored.
#[derive(Debug)]
pub(crate) struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub token_id: &'a str,
    pub csrf: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

pub(crate) async fn insert_session(db: &Database, s: &NewSession<'_>) -> Result<()> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_console_sessions (id_hash, token_id, csrf, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $4, $5)")
        .bind(s.id_hash).bind(s.token_id).bind(s.csrf).bind(s.created_at).bind(s.expires_at)
        .execute(p).await?.rows_affected());
    Ok(())
}

/// A live session with its staff token's roles and label.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LiveSession {
    pub token_id: String,
    pub csrf: String,
    /// The token's roles, comma-separated.
    pub roles: String,
    pub expires_at: i64,
    pub last_seen: i64,
    pub label: String,
}

/// The session with this id hash if it is not ended, not expired at `now`, seen after
/// `seen_after`, and its staff token is active.
pub(crate) async fn live_session(
    db: &Database,
    id_hash: &[u8],
    now: i64,
    seen_after: i64,
) -> Result<Option<LiveSession>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, LiveSession>("SELECT s.token_id, s.csrf, t.roles, s.expires_at, s.last_seen, t.label FROM peer_console_sessions s JOIN peer_staff_tokens t ON t.token_id = s.token_id WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND s.last_seen > $3 AND t.revoked_at IS NULL AND t.expires_at > $2")
        .bind(id_hash).bind(now).bind(seen_after).fetch_optional(p).await?),
    )
}

pub(crate) async fn touch_session(db: &Database, id_hash: &[u8], now: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("UPDATE peer_console_sessions SET last_seen = $1 WHERE id_hash = $2")
        .bind(now).bind(id_hash).execute(p).await?.rows_affected());
    Ok(())
}

/// Ends the session with this id hash, if it is not ended.
pub(crate) async fn end_session(db: &Database, id_hash: &[u8], now: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("UPDATE peer_console_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL")
        .bind(now).bind(id_hash).execute(p).await?.rows_affected());
    Ok(())
}

/// Ends every session of a staff token; how many were not ended.
pub(crate) async fn end_sessions_of(db: &Database, token_id: &str, now: i64) -> Result<u64> {
    Ok(
        on_db!(db, p => sqlx::query("UPDATE peer_console_sessions SET ended_at = $1 WHERE token_id = $2 AND ended_at IS NULL")
        .bind(now).bind(token_id).execute(p).await?.rows_affected()),
    )
}
