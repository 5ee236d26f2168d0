//! Reads of `peer_records` (and its documents' `peer_record_files`/`peer_files`) that grants,
//! delegations and files decide on. Issuance writes stay with the log append in `records.rs`.

use spondon_ledger::Database;

use super::on_db;
use crate::error::Result;

/// Whose a record is and its grant category.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RecordOwner {
    pub health_id: String,
    /// The grant category's code (`Category::from_code`).
    pub category: i64,
}

pub(crate) async fn owner(db: &Database, record_id: &str) -> Result<Option<RecordOwner>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, RecordOwner>("SELECT health_id, category FROM peer_records WHERE id = $1")
        .bind(record_id).fetch_optional(p).await?),
    )
}

/// What a write under a grant needs to know of the record it supersedes.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Authored {
    pub category: i64,
    /// The BMDC number of the doctor who wrote it, if a doctor did.
    pub doctor_bmdc: Option<String>,
}

/// The category and author of the patient `health_id`'s record `id`.
pub(crate) async fn authored(db: &Database, id: &str, health_id: &str) -> Result<Option<Authored>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Authored>("SELECT category, doctor_bmdc FROM peer_records WHERE id = $1 AND health_id = $2")
        .bind(id).bind(health_id).fetch_optional(p).await?),
    )
}

/// The BMDC number of the registered doctor with this key.
pub(crate) async fn doctor_bmdc(db: &Database, kid: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT bmdc_number FROM peer_doctors WHERE key_kid = $1")
        .bind(kid).fetch_optional(p).await?),
    )
}

/// A record's kind and where the log holds its issuance.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Logged {
    pub kind: String,
    pub log_index: i64,
}

pub(crate) async fn logged(db: &Database, id: &str) -> Result<Option<Logged>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Logged>("SELECT kind, log_index FROM peer_records WHERE id = $1")
        .bind(id).fetch_optional(p).await?),
    )
}

/// The record an issuance's `Idempotency-Key` was first used for, and the hash of that request.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Idempotent {
    pub request_hash: Vec<u8>,
    pub record_id: String,
}

pub(crate) async fn idempotent(
    db: &Database,
    scope: &str,
    key: &str,
) -> Result<Option<Idempotent>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Idempotent>("SELECT request_hash, record_id FROM peer_idempotency WHERE scope = $1 AND key = $2")
        .bind(scope).bind(key).fetch_optional(p).await?),
    )
}

/// A stored file's type and size.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FileMeta {
    pub content_type: String,
    pub size: i64,
}

pub(crate) async fn file_meta(db: &Database, sha256: &[u8; 32]) -> Result<Option<FileMeta>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, FileMeta>("SELECT content_type, size FROM peer_files WHERE sha256 = $1")
        .bind(&sha256[..]).fetch_optional(p).await?),
    )
}

/// The file a record carries, with the hash it was stored under.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RecordFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: Vec<u8>,
}

pub(crate) async fn record_file(db: &Database, record_id: &str) -> Result<Option<RecordFile>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, RecordFile>("SELECT f.content_type, f.bytes, f.sha256 FROM peer_record_files r JOIN peer_files f ON f.sha256 = r.sha256 WHERE r.record_id = $1")
        .bind(record_id).fetch_optional(p).await?),
    )
}
