//! Test databases: a SQLite file in a temp dir, or a fresh PostgreSQL database on the server named
//! by `SPONDON_TEST_POSTGRES_URL` (see `scripts/with-postgres.sh`).
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

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    TestDb {
        url,
        _dir: Some(dir),
    }
}

/// A fresh, empty PostgreSQL database; `None` (test skipped) when no server is configured,
/// unless `SPONDON_REQUIRE_POSTGRES=1`, in which case a missing server fails the test.
pub async fn postgres_db(test: &str) -> Option<TestDb> {
    let Ok(base) = std::env::var("SPONDON_TEST_POSTGRES_URL") else {
        if std::env::var("SPONDON_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("SPONDON_REQUIRE_POSTGRES=1 but SPONDON_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "skipped {test}: SPONDON_TEST_POSTGRES_URL is not set (run under scripts/with-postgres.sh)"
        );
        return None;
    };
    let suffix: [u8; 8] = spondon_core::keys::random_bytes().unwrap();
    let name = format!("t_{}", hex::encode(suffix));
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let rest = base.rsplit_once('/').unwrap().1;
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Some(TestDb {
        url: format!("{prefix}/{name}{query}"),
        _dir: None,
    })
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

/// Generates the SQLite and PostgreSQL test for a suite function `async fn(TestDb)`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::common::sqlite_db()).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = super::common::postgres_db(stringify!($name)).await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
