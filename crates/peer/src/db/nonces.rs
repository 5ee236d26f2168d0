//! Single-use nonces of signed requests (`peer_nonces`).

use spondon_ledger::{Database, Tx};

use super::on_db;
use crate::error::Result;

/// A spend of a nonce of the current form ([`spend`], [`spend_in`]): binds nonce, expiry, now.
const SPEND: &str = "INSERT INTO peer_nonces (nonce, expires_at, used_at) VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING";
/// A use of a stored nonce of the earlier form ([`consume`], [`consume_in`]): binds now, nonce.
const CONSUME: &str =
    "UPDATE peer_nonces SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL AND expires_at >= $1";

/// Drops the nonces that expired before `before`.
pub(crate) async fn purge(db: &Database, before: i64) -> Result<()> {
    on_db!(db, p => sqlx::query("DELETE FROM peer_nonces WHERE expires_at < $1")
        .bind(before).execute(p).await?.rows_affected());
    Ok(())
}

/// The key of this database's nonces (`peer_nonce_key`): `fresh` stored if none is yet (the
/// first process to open the database; racing ones all read the one stored), then read.
pub(crate) async fn key(db: &Database, fresh: &[u8; 32]) -> Result<Vec<u8>> {
    on_db!(db, p => sqlx::query("INSERT INTO peer_nonce_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(&fresh[..]).execute(p).await?.rows_affected());
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT key FROM peer_nonce_key WHERE id = 1")
        .fetch_one(p).await?),
    )
}

/// Spends a nonce that was stored by nobody when it was handed out (`crate::nonce`): its row
/// inserted, used at `now`; false if a row with this nonce exists (it was spent before). The
/// primary key makes it single use: a concurrent spend of the same nonce in another
/// transaction waits for that one and then finds it.
pub(crate) async fn spend(db: &Database, nonce: &[u8], expires_at: i64, now: i64) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query(SPEND)
        .bind(nonce).bind(expires_at).bind(now).execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// [`spend`] in an open transaction (the access event's group commit).
pub(crate) async fn spend_in(
    tx: &mut Tx<'_>,
    nonce: &[u8],
    expires_at: i64,
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(SPEND)
        .bind(nonce).bind(expires_at).bind(now).execute(&mut *c).await?.rows_affected());
    Ok(n == 1)
}

/// Uses a stored nonce (the earlier form, stored when it was handed out) if it is unused and
/// unexpired at `now`, in one conditional update; false
/// otherwise.
pub(crate) async fn consume(db: &Database, nonce: &[u8], now: i64) -> Result<bool> {
    let n = on_db!(db, p => sqlx::query(CONSUME)
        .bind(now).bind(nonce).execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// A stored nonce's use time: `None` for an unknown nonce, `Some(None)` for an unused one.
pub(crate) async fn used_at(db: &Database, nonce: &[u8]) -> Result<Option<Option<i64>>> {
    Ok(
        on_db!(db, p => sqlx::query_scalar("SELECT used_at FROM peer_nonces WHERE nonce = $1")
        .bind(nonce).fetch_optional(p).await?),
    )
}

/// [`consume`] in an open transaction (the access event's group commit): the use commits with
/// the event, and a concurrent use of the same nonce waits for it and then finds it used.
pub(crate) async fn consume_in(
    tx: &mut Tx<'_>,
    nonce: &[u8],
    now: i64,
) -> std::result::Result<bool, sqlx::Error> {
    let n = on_tx!(tx, c => sqlx::query(CONSUME)
        .bind(now).bind(nonce).execute(&mut *c).await?.rows_affected());
    Ok(n == 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Runs `$body` with `$tx` an open transaction of `$db`, then commits it or rolls it back.
    macro_rules! with_tx {
        ($db:expr, $commit:expr, |$tx:ident| $body:block) => {
            match $db {
                Database::Sqlite(p) => {
                    let mut t = p.begin().await.unwrap();
                    let r = {
                        let mut $tx = Tx::Sqlite(&mut t);
                        $body
                    };
                    if $commit {
                        t.commit().await.unwrap()
                    } else {
                        t.rollback().await.unwrap()
                    }
                    r
                }
                Database::Postgres(p) => {
                    let mut t = p.begin().await.unwrap();
                    let r = {
                        let mut $tx = Tx::Postgres(&mut t);
                        $body
                    };
                    if $commit {
                        t.commit().await.unwrap()
                    } else {
                        t.rollback().await.unwrap()
                    }
                    r
                }
            }
        };
    }

    /// The nonce key and the spends on a real database: the first key stored is the one every
    /// later opener reads; a nonce is spent once (also inside a transaction, and not by one that
    /// rolled back); a stored nonce of the earlier form is still used once by its row.
    async fn nonces(db: &Database) {
        let first = key(db, &[1u8; 32]).await.unwrap();
        assert_eq!(first, vec![1u8; 32]);
        assert_eq!(key(db, &[2u8; 32]).await.unwrap(), first);

        let n = [9u8; 57];
        // A spend in a transaction that rolls back leaves the nonce unspent.
        let (a, b) = with_tx!(db, false, |tx| {
            (
                spend_in(&mut tx, &n, 1300, 1000).await.unwrap(),
                spend_in(&mut tx, &n, 1300, 1000).await.unwrap(),
            )
        });
        assert!(a && !b);
        assert_eq!(used_at(db, &n).await.unwrap(), None);
        assert!(spend(db, &n, 1300, 1000).await.unwrap());
        assert!(!spend(db, &n, 1300, 1001).await.unwrap());
        assert_eq!(used_at(db, &n).await.unwrap(), Some(Some(1000)));
        let again = with_tx!(db, true, |tx| {
            spend_in(&mut tx, &n, 1300, 1002).await.unwrap()
        });
        assert!(!again);

        // The earlier form: stored unused, used once while unexpired.
        let old = [3u8; 16];
        on_db!(db, p => sqlx::query("INSERT INTO peer_nonces (nonce, expires_at) VALUES ($1, $2)")
            .bind(&old[..]).bind(1300i64).execute(p).await.unwrap().rows_affected());
        assert!(!consume(db, &old, 1301).await.unwrap());
        assert!(consume(db, &old, 1300).await.unwrap());
        assert!(!consume(db, &old, 1300).await.unwrap());

        // The purge drops the rows expired before its bound only.
        purge(db, 1300).await.unwrap();
        assert_eq!(used_at(db, &n).await.unwrap(), Some(Some(1000)));
        purge(db, 1301).await.unwrap();
        assert_eq!(used_at(db, &n).await.unwrap(), None);
    }

    #[tokio::test]
    async fn nonces_are_spent_once_under_one_shared_key() {
        let (_dir, db, _) = crate::db::testing::sqlite().await;
        nonces(&db).await;
        if let Some((db, _)) =
            crate::db::testing::postgres("nonces_are_spent_once_under_one_shared_key").await
        {
            nonces(&db).await;
            db.close().await;
        }
    }
}
