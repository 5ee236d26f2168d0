//! The encrypted record cache on SQLite. Every table holds rows of (blind index, encrypted JSON
//! document); see `migrations/0001_init.sql` and `docs/wallet.md`.

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::crypto::CacheKeys;
use crate::error::{Result, WalletError};

/// The tables of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Settings,
    Peers,
    Records,
    Grants,
    Receipts,
    Doctors,
    Alerts,
    /// The files of document records: raw bytes, not JSON.
    Files,
}

impl Table {
    pub(crate) const ALL: [Table; 8] = [
        Table::Settings,
        Table::Peers,
        Table::Records,
        Table::Grants,
        Table::Receipts,
        Table::Doctors,
        Table::Alerts,
        Table::Files,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Settings => "settings",
            Table::Peers => "peers",
            Table::Records => "records",
            Table::Grants => "grants",
            Table::Receipts => "receipts",
            Table::Doctors => "doctors",
            Table::Alerts => "alerts",
            Table::Files => "files",
        }
    }
}

/// The open cache.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pool: SqlitePool,
    keys: Arc<CacheKeys>,
}

/// One write of a batch.
#[derive(Debug)]
pub(crate) enum Write {
    Put(Table, String, Vec<u8>),
    Delete(Table, String),
}

impl Store {
    pub(crate) async fn open(path: &Path, keys: CacheKeys, create: bool) -> Result<Self> {
        // The file and its -wal/-shm are 0600 before SQLite touches them (a missing database is
        // only created here when asked to).
        let file = path.to_owned();
        crate::wallet::blocking(move || {
            if create || file.exists() {
                spondon_fs::private_sqlite_file(&file)?;
            }
            Ok(())
        })
        .await?;
        let url = format!("sqlite://{}", path.display());
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
            // A page of a sync is written by multi-row inserts inside one transaction: each
            // statement keeps the prior content of the pages it changes in a statement journal
            // (to undo that statement alone). In memory, not a temporary file (the pages hold
            // only sealed documents and blind indexes either way).
            .pragma("temp_store", "MEMORY")
            // A page of a sync changes leaf pages all over the records' B-tree: 16 MiB of page
            // cache (filled only as pages are read) keeps them from being read again.
            .pragma("cache_size", "-16384")
            .busy_timeout(std::time::Duration::from_secs(10));
        // No idle timeout, lifetime or minimum size, so sqlx runs no maintenance task: in sqlx
        // 0.8.6 its sweep can spin a runtime worker for good (launchbadge/sqlx#3645; the
        // peer's `spondon_ledger::without_maintenance` says how).
        let pool = SqlitePoolOptions::new()
            .idle_timeout(None)
            .max_lifetime(None)
            .min_connections(0)
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) => WalletError::Corrupt {
                    file: path.display().to_string(),
                    reason: d.message().to_owned(),
                },
                other => WalletError::Database(other),
            })?;
        let integrity: String = sqlx::query("PRAGMA quick_check")
            .fetch_one(&pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| WalletError::Corrupt {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if integrity != "ok" {
            return Err(WalletError::Corrupt {
                file: path.display().to_string(),
                reason: "SQLite integrity check failed".into(),
            });
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self {
            pool,
            keys: Arc::new(keys),
        })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Encodes a document for a batch write.
    pub(crate) fn encode<T: Serialize>(&self, table: Table, key: &str, doc: &T) -> Result<Write> {
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(doc).map_err(|e| WalletError::Internal(e.to_string()))?,
        );
        Ok(Write::Put(table, key.to_owned(), json.to_vec()))
    }

    /// Applies writes in one transaction: all or nothing. Every document is sealed before the
    /// transaction begins, and a run of puts into one table is written with multi-row inserts
    /// (a page of a sync is a few statements, not one per row).
    pub(crate) async fn apply(&self, writes: Vec<Write>) -> Result<()> {
        /// Rows per multi-row insert (2 parameters each, far below SQLite's limit).
        const ROWS: usize = 100;
        enum Sealed {
            Put(Table, Vec<u8>, Vec<u8>),
            Delete(Table, Vec<u8>),
        }
        let mut sealed = Vec::with_capacity(writes.len());
        for w in writes {
            match w {
                Write::Put(table, key, mut json) => {
                    let idx = self.keys.index(table.name(), &key);
                    let doc = self.keys.seal(table.name(), "doc", &idx, &json);
                    zeroize::Zeroize::zeroize(&mut json);
                    sealed.push(Sealed::Put(table, idx, doc?));
                }
                Write::Delete(table, key) => {
                    sealed.push(Sealed::Delete(table, self.keys.index(table.name(), &key)));
                }
            }
        }
        // Each run of puts into one table in the order of its blind indexes (stable: a later
        // put of the same key still comes after an earlier one): the B-tree is walked once
        // from left to right instead of at random.
        let mut start = 0;
        while start < sealed.len() {
            let table = match &sealed[start] {
                Sealed::Put(t, ..) => Some(*t),
                Sealed::Delete(..) => None,
            };
            let end = start
                + sealed[start..]
                    .iter()
                    .take_while(|w| matches!((w, table), (Sealed::Put(t, ..), Some(u)) if *t == u))
                    .count()
                    .max(1);
            sealed[start..end].sort_by(|a, b| match (a, b) {
                (Sealed::Put(_, x, _), Sealed::Put(_, y, _)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            });
            start = end;
        }
        let mut tx = self.pool.begin().await?;
        let mut rest = sealed.as_slice();
        while let Some(first) = rest.first() {
            match first {
                Sealed::Put(table, ..) => {
                    let run = rest
                        .iter()
                        .take(ROWS)
                        .take_while(|w| matches!(w, Sealed::Put(t, ..) if t == table))
                        .count();
                    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                        "INSERT INTO {} (idx, doc) ",
                        table.name()
                    ));
                    q.push_values(&rest[..run], |mut b, w| {
                        if let Sealed::Put(_, idx, doc) = w {
                            b.push_bind(idx.as_slice()).push_bind(doc.as_slice());
                        }
                    });
                    // Rows of one statement are inserted in order: a later one for the same
                    // key updates the earlier, as separate statements would.
                    q.push(" ON CONFLICT(idx) DO UPDATE SET doc = excluded.doc");
                    q.build().execute(&mut *tx).await?;
                    rest = &rest[run..];
                }
                Sealed::Delete(table, idx) => {
                    let sql = format!("DELETE FROM {} WHERE idx = ?1", table.name());
                    sqlx::query(&sql).bind(idx).execute(&mut *tx).await?;
                    rest = &rest[1..];
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn put<T: Serialize>(&self, table: Table, key: &str, doc: &T) -> Result<()> {
        self.apply(vec![self.encode(table, key, doc)?]).await
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>> {
        let idx = self.keys.index(table.name(), key);
        let sql = format!("SELECT doc FROM {} WHERE idx = ?1", table.name());
        let row = sqlx::query(&sql)
            .bind(&idx)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get(0)?;
        let plain = self.keys.open(table.name(), "doc", &idx, &sealed)?;
        Ok(Some(decode(table, &plain)?))
    }

    /// A row's decrypted bytes as stored (for [`Table::Files`], whose rows are not JSON).
    pub(crate) async fn get_raw(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let idx = self.keys.index(table.name(), key);
        let sql = format!("SELECT doc FROM {} WHERE idx = ?1", table.name());
        let row = sqlx::query(&sql)
            .bind(&idx)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get(0)?;
        Ok(Some(self.keys.open(table.name(), "doc", &idx, &sealed)?))
    }

    pub(crate) async fn contains(&self, table: Table, key: &str) -> Result<bool> {
        let idx = self.keys.index(table.name(), key);
        let sql = format!("SELECT 1 FROM {} WHERE idx = ?1", table.name());
        Ok(sqlx::query(&sql)
            .bind(&idx)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Which of `keys` have a row in `table`.
    pub(crate) async fn existing(
        &self,
        table: Table,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        let mut by_idx = std::collections::HashMap::with_capacity(keys.len());
        for k in keys {
            by_idx.insert(self.keys.index(table.name(), k), (*k).to_owned());
        }
        let mut out = std::collections::HashSet::new();
        let idxs: Vec<&Vec<u8>> = by_idx.keys().collect();
        for chunk in idxs.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("SELECT idx FROM {} WHERE idx IN ({marks})", table.name());
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(i.as_slice());
            }
            for row in q.fetch_all(&self.pool).await? {
                let idx: Vec<u8> = row.try_get(0)?;
                if let Some(k) = by_idx.get(&idx) {
                    out.insert(k.clone());
                }
            }
        }
        Ok(out)
    }

    /// Every document of a table (decrypted; order is meaningless, callers sort).
    pub(crate) async fn all<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<T>> {
        let sql = format!("SELECT idx, doc FROM {}", table.name());
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let idx: Vec<u8> = r.try_get(0)?;
            let sealed: Vec<u8> = r.try_get(1)?;
            let plain = self.keys.open(table.name(), "doc", &idx, &sealed)?;
            out.push(decode(table, &plain)?);
        }
        Ok(out)
    }

    /// Every row's raw JSON (for backups), by table.
    pub(crate) async fn dump(&self, table: Table) -> Result<Vec<serde_json::Value>> {
        self.all(table).await
    }

    pub(crate) async fn count(&self, table: Table) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let n: i64 = sqlx::query(&sql).fetch_one(&self.pool).await?.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

fn decode<T: DeserializeOwned>(table: Table, plain: &[u8]) -> Result<T> {
    serde_json::from_slice(plain).map_err(|e| WalletError::Corrupt {
        file: "wallet.db".into(),
        reason: format!("a {} entry is not readable: {e}", table.name()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The store's pool runs no sqlx maintenance task (its sweep can spin a worker for good in
    /// sqlx 0.8.6), and still closes when asked.
    #[tokio::test]
    async fn the_pool_has_no_maintenance_task() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("w.db"),
            CacheKeys::new(&[7u8; 32]).unwrap(),
            true,
        )
        .await
        .unwrap();
        let o = store.pool.options();
        assert_eq!(o.get_idle_timeout(), None);
        assert_eq!(o.get_max_lifetime(), None);
        assert_eq!(o.get_min_connections(), 0);
        tokio::time::timeout(std::time::Duration::from_secs(10), store.pool.close())
            .await
            .unwrap();
    }

    /// Puts are written sorted by blind index, yet a later put of a key still wins over an
    /// earlier one in the same batch, and every row of a batch is stored.
    #[tokio::test]
    async fn a_batch_keeps_the_last_put_of_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("w.db"),
            CacheKeys::new(&[7u8; 32]).unwrap(),
            true,
        )
        .await
        .unwrap();
        let mut writes = Vec::new();
        for i in 0..250u32 {
            writes.push(store.encode(Table::Records, &format!("k{i}"), &i).unwrap());
        }
        writes.push(store.encode(Table::Peers, "p", &1u32).unwrap());
        writes.push(store.encode(Table::Records, "k7", &1000u32).unwrap());
        writes.push(store.encode(Table::Records, "k7", &2000u32).unwrap());
        writes.push(Write::Delete(Table::Records, "k9".into()));
        store.apply(writes).await.unwrap();
        assert_eq!(store.count(Table::Records).await.unwrap(), 249);
        assert_eq!(
            store.get::<u32>(Table::Records, "k7").await.unwrap(),
            Some(2000)
        );
        assert_eq!(store.get::<u32>(Table::Records, "k9").await.unwrap(), None);
        assert_eq!(
            store.get::<u32>(Table::Records, "k200").await.unwrap(),
            Some(200)
        );
        assert_eq!(store.get::<u32>(Table::Peers, "p").await.unwrap(), Some(1));
    }
}
