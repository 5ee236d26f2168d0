//! Public health statistics: the diagnoses counted per week (`peer_stat_cases`, written with
//! their records in `records.rs`) and the signed reports (`peer_stat_reports`).

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// The last week (its key, `IsoWeek::key`) any report covered.
pub(crate) async fn last_reported_week(db: &Database) -> Result<Option<i64>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT MAX(to_week) FROM peer_stat_reports")
        .fetch_one(p).await?),
    )
}

/// Patients counted in one cell: condition group, week, district, upazila, age band and sex.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaseCount {
    pub condition: String,
    /// The week's key (`IsoWeek::key`).
    pub week: i64,
    pub district: String,
    pub upazila: String,
    pub age_band: String,
    pub sex: String,
    pub patients: i64,
}

/// The counts of the weeks `from..=to` (keys).
pub(crate) async fn counts(db: &Database, from: i64, to: i64) -> Result<Vec<CaseCount>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, CaseCount>("SELECT condition, week, district, upazila, age_band, sex, COUNT(*) AS patients FROM peer_stat_cases WHERE week >= $1 AND week <= $2 GROUP BY condition, week, district, upazila, age_band, sex")
        .bind(from).bind(to).fetch_all(p).await?),
    )
}

/// The last report's sequence number (0 before the first).
pub(crate) async fn last_sequence(db: &Database) -> Result<i64> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) FROM peer_stat_reports")
        .fetch_one(p).await?),
    )
}

/// A signed report as it is logged.
#[derive(Debug)]
pub(crate) struct NewReport {
    pub sequence: i64,
    /// The weeks' keys.
    pub from_week: i64,
    pub to_week: i64,
    pub jws: String,
    /// The salt of its log entry's commitment.
    pub salt: [u8; 32],
    pub generated_at: i64,
}

/// Stores a report in the transaction that appends its log entry at `log_index`.
pub(crate) async fn insert_report(
    tx: &mut Tx<'_>,
    r: &NewReport,
    log_index: i64,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_stat_reports (sequence, from_week, to_week, jws, salt, log_index, generated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(r.sequence).bind(r.from_week).bind(r.to_week).bind(&r.jws).bind(&r.salt[..])
        .bind(log_index).bind(r.generated_at).execute(c).await?.rows_affected());
    Ok(())
}

/// One counted diagnosis, as the bulk seeding of a demo or benchmark writes it.
#[derive(Debug)]
pub(crate) struct NewCase<'a> {
    pub condition: &'a str,
    /// The week's key (`IsoWeek::key`).
    pub week: i64,
    pub health_id: String,
    pub district: &'a str,
    pub upazila: String,
    pub age_band: &'a str,
    pub sex: &'a str,
}

/// Stores `cases` in one transaction, `per_statement` rows to a multi-row `INSERT`.
pub(crate) async fn insert_cases(
    db: &Database,
    cases: &[NewCase<'_>],
    per_statement: usize,
) -> Result<()> {
    on_db!(db, p => {
        let mut tx = p.begin().await?;
        for chunk in cases.chunks(per_statement.max(1)) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO peer_stat_cases (condition, week, health_id, district, upazila, age_band, sex) ");
            q.push_values(chunk, |mut b, c| {
                b.push_bind(c.condition).push_bind(c.week).push_bind(&c.health_id).push_bind(c.district)
                    .push_bind(&c.upazila).push_bind(c.age_band).push_bind(c.sex);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}
