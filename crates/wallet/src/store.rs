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
    /// A row's plaintext, sealed by [`Store::apply`].
    Put(Table, String, Vec<u8>),
    /// A row already sealed ([`seal_doc`]): its blind index and `nonce ‖ ciphertext ‖ tag`.
    Sealed(Table, Vec<u8>, Vec<u8>),
    Delete(Table, String),
}

/// Seals a document for a batch write without the store: its blind index and the document's
/// JSON encrypted in place, in one buffer (no plaintext copy is left behind but the one the
/// encoder's growth freed). `nonce` must be fresh random bytes (see [`crate::crypto::nonces`]).
/// Used on the threads that check a sync's pages, so that the sync loop only writes.
pub(crate) fn seal_doc<T: Serialize>(
    keys: &CacheKeys,
    table: Table,
    key: &str,
    doc: &T,
    nonce: [u8; ring::aead::NONCE_LEN],
) -> Result<Write> {
    let idx = keys.index(table.name(), key);
    // Room for the nonce, then the JSON (a synced record is ≈ 3 KB).
    let mut buf = Vec::with_capacity(4096);
    buf.resize(ring::aead::NONCE_LEN, 0);
    if let Err(e) = serde_json::to_writer(&mut buf, doc) {
        zeroize::Zeroize::zeroize(&mut buf);
        return Err(WalletError::Internal(e.to_string()));
    }
    keys.seal_prefixed(table.name(), "doc", &idx, nonce, &mut buf)?;
    Ok(Write::Sealed(table, idx, buf))
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

    /// Encodes a document for a batch write (sealed at once, see [`seal_doc`]).
    pub(crate) fn encode<T: Serialize>(&self, table: Table, key: &str, doc: &T) -> Result<Write> {
        seal_doc(&self.keys, table, key, doc, crate::crypto::random()?)
    }

    /// The cache's keys, for sealing rows off the store ([`seal_doc`]).
    pub(crate) fn keys(&self) -> Arc<CacheKeys> {
        self.keys.clone()
    }

    /// Applies writes in one transaction: all or nothing. Every document is sealed before the
    /// transaction begins, and a run of puts into one table is written with multi-row inserts
    /// (a page of a sync is a few statements, not one per row).
    pub(crate) async fn apply(&self, writes: Vec<Write>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.apply_on(&mut conn, writes).await
    }

    /// One connection of the pool, held for a run of batches (a sync's pages): its page cache
    /// stays valid from one batch to the next, where the pool hands out its connections in
    /// turn and each one's cache is dropped whenever another has written since it last read.
    pub(crate) async fn writer(&self) -> Result<Writer<'_>> {
        Ok(Writer {
            store: self,
            conn: self.pool.acquire().await?,
        })
    }

    async fn apply_on(&self, conn: &mut sqlx::SqliteConnection, writes: Vec<Write>) -> Result<()> {
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
                Write::Sealed(table, idx, doc) => sealed.push(Sealed::Put(table, idx, doc)),
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
        let mut tx = sqlx::Connection::begin(conn).await?;
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
        let idxs: Vec<&[u8]> = by_idx.keys().map(Vec::as_slice).collect();
        Ok(self
            .existing_idx(table, &idxs)
            .await?
            .into_iter()
            .filter_map(|idx| by_idx.remove(&idx))
            .collect())
    }

    /// Which of the blind indexes `idxs` have a row in `table`.
    pub(crate) async fn existing_idx(
        &self,
        table: Table,
        idxs: &[&[u8]],
    ) -> Result<std::collections::HashSet<Vec<u8>>> {
        let mut conn = self.pool.acquire().await?;
        Self::existing_idx_on(&mut conn, table, idxs).await
    }

    async fn existing_idx_on(
        conn: &mut sqlx::SqliteConnection,
        table: Table,
        idxs: &[&[u8]],
    ) -> Result<std::collections::HashSet<Vec<u8>>> {
        let mut out = std::collections::HashSet::new();
        for chunk in idxs.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("SELECT idx FROM {} WHERE idx IN ({marks})", table.name());
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(*i);
            }
            for row in q.fetch_all(&mut *conn).await? {
                out.insert(row.try_get(0)?);
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

/// A connection of the store held for a run of writes ([`Store::writer`]).
pub(crate) struct Writer<'a> {
    store: &'a Store,
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
}

impl Writer<'_> {
    /// [`Store::apply`] on this connection.
    pub(crate) async fn apply(&mut self, writes: Vec<Write>) -> Result<()> {
        self.store.apply_on(&mut self.conn, writes).await
    }

    /// [`Store::existing_idx`] on this connection.
    pub(crate) async fn existing_idx(
        &mut self,
        table: Table,
        idxs: &[&[u8]],
    ) -> Result<std::collections::HashSet<Vec<u8>>> {
        Store::existing_idx_on(&mut self.conn, table, idxs).await
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

    /// A wallet made before migration 0003 (records and receipts in WITHOUT ROWID tables)
    /// keeps every row, readable under the same keys, once the migration has moved them.
    #[tokio::test]
    async fn migration_0003_keeps_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let keys = CacheKeys::new(&[7u8; 32]).unwrap();
        {
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                .unwrap()
                .create_if_missing(true);
            let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
            let mut old = sqlx::migrate!("./migrations");
            old.migrations = std::borrow::Cow::Owned(
                old.migrations
                    .iter()
                    .filter(|m| m.version < 3)
                    .cloned()
                    .collect(),
            );
            old.run(&pool).await.unwrap();
            for table in [Table::Records, Table::Receipts] {
                for i in 0..300u32 {
                    let doc = format!("{i}-{}", "x".repeat(3000));
                    let key = format!("k{i}");
                    let nonce = crate::crypto::random().unwrap();
                    let Write::Sealed(_, idx, sealed) =
                        seal_doc(&keys, table, &key, &doc, nonce).unwrap()
                    else {
                        panic!("not sealed")
                    };
                    sqlx::query(&format!(
                        "INSERT INTO {} (idx, doc) VALUES (?1, ?2)",
                        table.name()
                    ))
                    .bind(idx)
                    .bind(sealed)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
            }
            pool.close().await;
        }
        let store = Store::open(&path, keys, false).await.unwrap();
        for table in [Table::Records, Table::Receipts] {
            let sql: String = sqlx::query("SELECT sql FROM sqlite_master WHERE name = ?1")
                .bind(table.name())
                .fetch_one(&store.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert!(!sql.to_uppercase().contains("WITHOUT ROWID"), "{sql}");
            assert_eq!(store.count(table).await.unwrap(), 300);
            for i in [0u32, 150, 299] {
                assert_eq!(
                    store.get::<String>(table, &format!("k{i}")).await.unwrap(),
                    Some(format!("{i}-{}", "x".repeat(3000)))
                );
            }
            // The blind index is still the key: a put of an existing key replaces its row.
            store.put(table, "k7", &"new".to_owned()).await.unwrap();
            assert_eq!(store.count(table).await.unwrap(), 300);
            assert_eq!(
                store.get::<String>(table, "k7").await.unwrap(),
                Some("new".to_owned())
            );
        }
    }
}
