//! Records (`peer_records`, with their documents' `peer_record_files`/`peer_files`): the reads
//! that pulls, grants, delegations and files decide on, and issuance's rows, written in the
//! log append's transaction with their idempotency keys (`peer_idempotency`) and the
//! statistics cases they add (`peer_stat_cases`).

use spondon_ledger::{Database, Tx};

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

/// How many of `keys` are stored under `scope` (one statement for a whole unit's keys).
pub(crate) async fn taken_keys(db: &Database, scope: &str, keys: &[&str]) -> Result<i64> {
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM peer_idempotency WHERE scope = ");
        qb.push_bind(scope).push(" AND key IN (");
        let mut list = qb.separated(", ");
        for k in keys {
            list.push_bind(*k);
        }
        qb.push(")");
        qb.build_query_scalar::<i64>().fetch_one(p).await?
    }))
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

/// A stored record, as a pull (or a grant's redemption) answers it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RecordRow {
    /// The patient's pull cursor.
    pub seq: i64,
    pub id: String,
    /// The grant category's code (`Category::from_code`).
    pub category: i64,
    pub kind: String,
    pub supersedes: Option<String>,
    pub issued_at: i64,
    pub jws: String,
    pub log_index: i64,
    /// The salt of the log entry's commitment.
    pub salt: Vec<u8>,
}

/// The patient's records after the cursor `since` that the log of `size` entries holds,
/// oldest first, at most `limit`.
pub(crate) async fn of_patient(
    db: &Database,
    health_id: &str,
    since: i64,
    size: i64,
    limit: i64,
) -> Result<Vec<RecordRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, RecordRow>("SELECT seq, id, category, kind, supersedes, issued_at, jws, log_index, salt FROM peer_records WHERE health_id = $1 AND seq > $2 AND log_index < $3 ORDER BY seq LIMIT $4")
        .bind(health_id).bind(since).bind(size).bind(limit)
        .fetch_all(p).await?),
    )
}

/// A record's rows as it is issued, owned (the append's transaction runs in its own task).
#[derive(Debug)]
pub(crate) struct NewRecord {
    pub id: String,
    pub health_id: String,
    /// The grant category's code.
    pub category: i64,
    pub kind: &'static str,
    pub doctor_bmdc: Option<String>,
    pub supersedes: Option<String>,
    pub jws: String,
    /// The salt of its log entry's commitment.
    pub salt: [u8; 32],
    pub issued_at: i64,
    /// A document's file (SHA-256).
    pub file: Option<[u8; 32]>,
    pub idempotency: Option<crate::records::Idempotency>,
    /// The statistics cases it adds.
    pub cases: Vec<crate::stats::StatCase>,
    /// The staff request's audit entry, written with the record (see
    /// `Peer::issue_record_audited`).
    pub audit: Option<crate::db::staff::AuditEntry>,
}

/// Records per chunk of [`insert_all`] (up to 10 parameters a row and statement, and a
/// record's statistics cases: far below either engine's limit).
const INSERT_CHUNK: usize = 100;

/// Pushes the statements that store one chunk of records onto `$qb` (begun empty), each
/// followed by `$end`: on SQLite `; ` (the chunk is one multi-statement query, one round trip
/// to the connection's thread), on PostgreSQL running it (a query each). The records, their
/// idempotency keys, audit entries, file links and statistics cases each in one multi-row
/// insert; a kind of row the chunk has none of is no statement.
macro_rules! record_statements {
    ($qb:ident, $chunk:expr, $indices:expr, $end:expr) => {{
        let chunk: &[NewRecord] = $chunk;
        $qb.push("INSERT INTO peer_records (id, health_id, category, kind, doctor_bmdc, supersedes, jws, salt, log_index, issued_at) ");
        $qb.push_values(chunk.iter().zip($indices), |mut b, (r, i)| {
            b.push_bind(&r.id).push_bind(&r.health_id).push_bind(r.category).push_bind(r.kind)
                .push_bind(&r.doctor_bmdc).push_bind(&r.supersedes).push_bind(&r.jws)
                .push_bind(&r.salt[..]).push_bind(*i).push_bind(r.issued_at);
        });
        $end;
        let keyed: Vec<(&crate::records::Idempotency, &NewRecord)> =
            chunk.iter().filter_map(|r| Some((r.idempotency.as_ref()?, r))).collect();
        if !keyed.is_empty() {
            $qb.push("INSERT INTO peer_idempotency (scope, key, request_hash, record_id, created_at) ");
            $qb.push_values(keyed, |mut b, (k, r)| {
                b.push_bind(&k.scope).push_bind(&k.key).push_bind(&k.request_hash[..])
                    .push_bind(&r.id).push_bind(r.issued_at);
            });
            $end;
        }
        let audited: Vec<&crate::db::staff::AuditEntry> =
            chunk.iter().filter_map(|r| r.audit.as_ref()).collect();
        if !audited.is_empty() {
            $qb.push(crate::db::staff::INSERT_AUDIT);
            $qb.push_values(audited, |mut b, e| {
                b.push_bind(&e.token_id).push_bind(&e.action).push_bind(&e.target)
                    .push_bind(e.status).push_bind(e.at);
            });
            $end;
        }
        let files: Vec<(&NewRecord, &[u8; 32])> =
            chunk.iter().filter_map(|r| Some((r, r.file.as_ref()?))).collect();
        if !files.is_empty() {
            $qb.push("INSERT INTO peer_record_files (record_id, sha256) ");
            $qb.push_values(files, |mut b, (r, sha256)| {
                b.push_bind(&r.id).push_bind(&sha256[..]);
            });
            $end;
        }
        let cases: Vec<(&NewRecord, &crate::stats::StatCase)> =
            chunk.iter().flat_map(|r| r.cases.iter().map(move |c| (r, c))).collect();
        if !cases.is_empty() {
            $qb.push("INSERT INTO peer_stat_cases (condition, week, health_id, district, upazila, age_band, sex) ");
            $qb.push_values(cases, |mut b, (r, c)| {
                b.push_bind(c.condition).push_bind(c.week.key()).push_bind(&r.health_id)
                    .push_bind(&c.district).push_bind(&c.upazila).push_bind(c.age_band).push_bind(c.sex);
            });
            $qb.push(" ON CONFLICT DO NOTHING");
            $end;
        }
    }};
}

/// Stores a batch of issued records, their file links, idempotency keys, statistics cases and
/// staff audit entries in the transaction that appends their log entries, the record at `k`
/// with log index `first_index + k`: each kind of row in one multi-row insert per 100 records,
/// and on SQLite all of them in one query ([`record_statements`]).
pub(crate) async fn insert_all(
    tx: &mut Tx<'_>,
    rows: &[NewRecord],
    first_index: u64,
) -> std::result::Result<(), sqlx::Error> {
    let index = |k: usize| {
        i64::try_from(first_index + k as u64).map_err(|e| sqlx::Error::Protocol(e.to_string()))
    };
    for (c, chunk) in rows.chunks(INSERT_CHUNK).enumerate() {
        let indices = (0..chunk.len())
            .map(|k| index(c * INSERT_CHUNK + k))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        match tx {
            Tx::Sqlite(t) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
                record_statements!(qb, chunk, &indices, qb.push("; "));
                qb.build().execute(&mut **t).await?;
            }
            Tx::Postgres(t) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
                record_statements!(qb, chunk, &indices, {
                    qb.build().execute(&mut ***t).await?;
                    qb.reset();
                });
            }
        }
    }
    Ok(())
}

/// Whose a record is and how many records supersede it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Successors {
    pub health_id: String,
    pub successors: i64,
}

pub(crate) async fn successors(db: &Database, id: &str) -> Result<Option<Successors>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, Successors>("SELECT health_id, (SELECT COUNT(*) FROM peer_records n WHERE n.supersedes = r.id) AS successors FROM peer_records r WHERE r.id = $1")
        .bind(id).fetch_optional(p).await?),
    )
}

/// A stored record by its id.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StoredRecord {
    pub health_id: String,
    pub kind: String,
    pub supersedes: Option<String>,
    pub jws: String,
    pub salt: Vec<u8>,
    pub log_index: i64,
    pub issued_at: i64,
    /// The grant category's code.
    pub category: i64,
}

pub(crate) async fn stored(db: &Database, id: &str) -> Result<Option<StoredRecord>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, StoredRecord>("SELECT health_id, kind, supersedes, jws, salt, log_index, issued_at, category FROM peer_records WHERE id = $1")
        .bind(id).fetch_optional(p).await?),
    )
}

/// How many records are stored for the patient (`None`: for all patients).
pub(crate) async fn count(db: &Database, health_id: Option<&str>) -> Result<i64> {
    Ok(on_db!(db, p => match health_id {
        Some(h) => sqlx::query_scalar("SELECT COUNT(*) FROM peer_records WHERE health_id = $1").bind(h).fetch_one(p).await?,
        None => sqlx::query_scalar("SELECT COUNT(*) FROM peer_records").fetch_one(p).await?,
    }))
}

/// Marks a stored file uploaded again (by `uploaded_by`, at `now`); false if it is not stored.
pub(crate) async fn refresh_file(
    db: &Database,
    sha256: &[u8; 32],
    now: i64,
    uploaded_by: &str,
) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query("UPDATE peer_files SET uploaded_at = $1, uploaded_by = $2 WHERE sha256 = $3")
        .bind(now).bind(uploaded_by).bind(&sha256[..]).execute(p).await?.rows_affected());
    Ok(n > 0)
}

/// A checked file as it is stored.
#[derive(Debug)]
pub(crate) struct NewFile<'a> {
    pub sha256: &'a [u8; 32],
    pub content_type: &'a str,
    pub size: i64,
    pub bytes: &'a [u8],
    pub uploaded_at: i64,
    pub uploaded_by: &'a str,
}

/// Stores a file unless one with its hash is stored; false if one is.
pub(crate) async fn insert_file(db: &Database, f: &NewFile<'_>) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query("INSERT INTO peer_files (sha256, content_type, size, bytes, uploaded_at, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING")
        .bind(&f.sha256[..]).bind(f.content_type).bind(f.size).bind(f.bytes).bind(f.uploaded_at).bind(f.uploaded_by)
        .execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// Deletes the files no record refers to that were uploaded at `cutoff` or earlier; how many.
pub(crate) async fn purge_files(db: &Database, cutoff: i64) -> Result<u64> {
    Ok(
        on_db!(db, p => sqlx::query("DELETE FROM peer_files WHERE uploaded_at <= $1 AND NOT EXISTS (SELECT 1 FROM peer_record_files r WHERE r.sha256 = peer_files.sha256)")
        .bind(cutoff).execute(p).await?.rows_affected()),
    )
}

/// How many files are stored (referenced or not).
pub(crate) async fn file_count(db: &Database) -> Result<i64> {
    Ok(on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM peer_files").fetch_one(p).await?))
}
