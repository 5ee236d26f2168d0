//! Registered doctors (`peer_doctors`). (Emergency access reads them by key in `emergency.rs`.)

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// A doctor as they are registered.
#[derive(Debug)]
pub(crate) struct NewDoctor<'a> {
    pub bmdc_number: &'a str,
    pub name: &'a str,
    pub department: &'a str,
    pub key_kid: &'a str,
    /// The doctor's public JWK, as JSON.
    pub key_jwk: &'a str,
    /// The doctor credential signed for them.
    pub credential: &'a str,
    pub created_at: i64,
}

/// Registers a doctor; the database error as is (a unique violation: the BMDC number or the
/// key is registered already).
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    d: &NewDoctor<'_>,
) -> std::result::Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("INSERT INTO peer_doctors (bmdc_number, name, department, key_kid, key_jwk, credential, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(d.bmdc_number).bind(d.name).bind(d.department).bind(d.key_kid).bind(d.key_jwk).bind(d.credential).bind(d.created_at)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// A registered doctor's name and department.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DoctorName {
    /// The doctor's name.
    pub name: String,
    /// The doctor's department.
    pub department: String,
}

pub(crate) async fn name(db: &Database, bmdc: &str) -> Result<Option<DoctorName>> {
    Ok(
        on_db!(db, p => sqlx::query_as::<_, DoctorName>("SELECT name, department FROM peer_doctors WHERE bmdc_number = $1")
        .bind(bmdc).fetch_optional(p).await?),
    )
}

/// The signed credential of the registered doctor holding the key `kid`.
pub(crate) async fn credential_by_kid(db: &Database, kid: &str) -> Result<Option<String>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT credential FROM peer_doctors WHERE key_kid = $1")
        .bind(kid).fetch_optional(p).await?),
    )
}
