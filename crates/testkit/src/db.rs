//! Test databases: SQLite in a temp dir always, and a fresh PostgreSQL database on the server named
//! by `SPONDON_TEST_POSTGRES_URL` (`scripts/with-postgres.sh` starts one) when there is one.

/// A fresh, empty PostgreSQL database's URL; `None` (that engine skipped, said on stderr) without
/// a server, unless `SPONDON_REQUIRE_POSTGRES=1`, in which case a missing server fails the test.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("SPONDON_TEST_POSTGRES_URL") else {
        if std::env::var("SPONDON_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("SPONDON_REQUIRE_POSTGRES=1 but SPONDON_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "skipped {test} on PostgreSQL: SPONDON_TEST_POSTGRES_URL is not set (run under scripts/with-postgres.sh)"
        );
        return None;
    };
    let suffix: [u8; 8] = spondon_core::keys::random_bytes().unwrap();
    let name = format!("t_{}", hex::encode(suffix));
    let admin = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connecting to {base}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    Some(with_database(&base, &name))
}

/// `base` (a PostgreSQL URL) naming the database `name` instead, its query kept.
pub fn with_database(base: &str, name: &str) -> String {
    let (prefix, rest) = base
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("not a database URL: {base}"));
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{prefix}/{name}{query}")
}

/// Engines to run a test on: SQLite (`None`) always, PostgreSQL when configured.
pub async fn engines(test: &str) -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(u) = postgres_url(test).await {
        v.push(Some(u));
    }
    v
}

/// What a suite function of [`both_engines!`](crate::both_engines) takes, made from the
/// database URL (`None`: SQLite).
pub trait FromEngine {
    /// Made from the database URL (`None`: SQLite).
    fn from_engine(database_url: Option<String>) -> Self;
}

impl FromEngine for Option<String> {
    fn from_engine(database_url: Option<String>) -> Self {
        database_url
    }
}

/// For each suite function `async fn NAME(db: T)` (`T`: [`FromEngine`], e.g. `Option<String>`),
/// a module `NAME` with two tests, `sqlite` and `postgres` (skipped without a server unless
/// `SPONDON_REQUIRE_POSTGRES=1`). The calling crate needs `tokio` (with `macros`).
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::db::FromEngine::from_engine(None)).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(url) = $crate::db::postgres_url(stringify!($name)).await {
                        super::$name($crate::db::FromEngine::from_engine(Some(url))).await;
                    }
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn another_database_keeps_the_query() {
        assert_eq!(
            super::with_database("postgres://u@127.0.0.1:5/postgres?sslmode=disable", "t_1"),
            "postgres://u@127.0.0.1:5/t_1?sslmode=disable"
        );
    }
}
