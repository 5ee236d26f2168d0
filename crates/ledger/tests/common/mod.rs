//! The ledger's test database: a SQLite file in a temp dir, or a fresh PostgreSQL database on the
//! server named by `SPONDON_TEST_POSTGRES_URL` (the test kit makes it; see
//! `scripts/with-postgres.sh`), and raw tampering with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use spondon_ledger::Database;

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn connect(&self) -> Database {
        Database::connect(&self.url).await.unwrap()
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

/// SQLite in a temp dir (`None`) or the fresh PostgreSQL database named (see
/// `spondon_testkit::both_engines!`).
impl spondon_testkit::db::FromEngine for TestDb {
    fn from_engine(database_url: Option<String>) -> Self {
        match database_url {
            Some(url) => TestDb { url, _dir: None },
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                }
            }
        }
    }
}

/// A SQLite test database.
pub fn sqlite_db() -> TestDb {
    spondon_testkit::db::FromEngine::from_engine(None)
}

/// Runs raw SQL that bypasses the insert-only triggers (to simulate an attacker with database
/// access).
pub async fn tamper(db: &Database, sql: &str, bind_idx: i64, bytes: Vec<u8>) {
    match db {
        Database::Sqlite(p) => {
            for t in [
                "ledger_entries_insert_only_u",
                "ledger_hashes_insert_only_u",
            ] {
                sqlx::query(&format!("DROP TRIGGER IF EXISTS {t}"))
                    .execute(p)
                    .await
                    .unwrap();
            }
            let n = sqlx::query(sql)
                .bind(bytes)
                .bind(bind_idx)
                .execute(p)
                .await
                .unwrap();
            assert_eq!(n.rows_affected(), 1);
        }
        Database::Postgres(p) => {
            sqlx::query("DROP TRIGGER IF EXISTS ledger_entries_insert_only ON ledger_entries")
                .execute(p)
                .await
                .unwrap();
            sqlx::query("DROP TRIGGER IF EXISTS ledger_hashes_insert_only ON ledger_hashes")
                .execute(p)
                .await
                .unwrap();
            let n = sqlx::query(sql)
                .bind(bytes)
                .bind(bind_idx)
                .execute(p)
                .await
                .unwrap();
            assert_eq!(n.rows_affected(), 1);
        }
    }
}
