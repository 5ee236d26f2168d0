//! The node's database (SQLite by default, PostgreSQL by URL). It holds no health data: staff
//! token hashes, page sessions (id hashes), the pinned trust lists, cached revocation lists,
//! refresh status, the doctor credential and access receipts.

use std::str::FromStr as _;

use spondon_ledger::without_maintenance;
use spondon_ledger::{Database, on_db};
use sqlx::Row as _;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use super::NodeError;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The node's database: a pool on one of the two engines (statements are written once for
/// both with the ledger's [`on_db!`]).
#[derive(Debug, Clone)]
pub struct Db {
    pool: Database,
}

/// A cached revocation list.
#[derive(Debug, Clone)]
pub struct StoredCrl {
    /// The issuing peer's URL (the cards' `iss`).
    pub issuer: String,
    /// The key id (`kid`) of the issuer's signing key the list revokes cards of.
    pub kid: String,
    /// The revocation list as the peer served it (SMART Health Cards CRL JSON), checked before it
    /// was stored.
    pub crl: String,
    /// When it was fetched, seconds since the epoch.
    pub fetched_at: i64,
}

/// The last refresh of one source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefreshStatus {
    /// What was refreshed: `trust_list`, or `crl:` and a peer's URL (its revocation lists).
    pub source: String,
    /// The last successful refresh, seconds since the epoch; `None` if none succeeded yet.
    pub ok_at: Option<i64>,
    /// The last attempt, seconds since the epoch.
    pub tried_at: i64,
    /// Why the last attempt failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// One access receipt (what the clinic did under a grant; no health data).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Receipt {
    /// The grant's id (for an emergency access, the access id).
    pub grant_id: String,
    /// The peer the records were read from or written to.
    pub peer: String,
    /// `read`, `write` or `emergency`.
    pub action: String,
    /// How it ended: `records_shown` or `refused` (read), `written` or `refused` (write),
    /// `requested` or `summary_shown` (emergency).
    pub outcome: String,
    /// How many records were read (or written: 0 or 1).
    pub records: i64,
    /// The index of the peer's access event in its log, when the peer logged one.
    pub access_log_index: Option<i64>,
    /// When, seconds since the epoch.
    pub at: i64,
}

impl Db {
    /// A `SELECT 1` round trip (readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    /// Connects (creating an SQLite file if missing) and runs the migrations.
    pub async fn open(url: &str) -> Result<Db, NodeError> {
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(10));
            // Records and receipts: the file and its -wal/-shm are 0600.
            spondon_fs::private_sqlite_file(opts.get_filename())
                .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?;
            // No sqlx maintenance task: `spondon_ledger::without_maintenance`.
            Database::Sqlite(
                without_maintenance(SqlitePoolOptions::new())
                    .max_connections(4)
                    .connect_with(opts)
                    .await?,
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Database::Postgres(
                without_maintenance(PgPoolOptions::new())
                    .max_connections(8)
                    .connect(url)
                    .await?,
            )
        } else {
            return Err(super::ConfigError::DatabaseUrl.into());
        };
        match &pool {
            Database::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            Database::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        Ok(Db { pool })
    }

    /// The pool's (size, idle connections), for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        on_db!(&self.pool, p => (p.size(), p.num_idle()))
    }

    /// Closes the pool, waiting for its connections to finish.
    pub async fn close(&self) {
        on_db!(&self.pool, p => p.close().await)
    }

    /// Adds a staff member with the SHA-256 hash of their token; a name already there is
    /// [`NodeError::DuplicateStaff`].
    pub async fn add_staff(&self, name: &str, hash: &[u8; 32], now: i64) -> Result<(), NodeError> {
        let exists: Option<i64> = on_db!(&self.pool, p => sqlx::query_scalar("SELECT created_at FROM verifier_staff WHERE name = $1")
            .bind(name).fetch_optional(p).await?);
        if exists.is_some() {
            return Err(NodeError::DuplicateStaff(name.to_owned()));
        }
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_staff (token_hash, name, created_at) VALUES ($1, $2, $3)")
            .bind(&hash[..]).bind(name).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Removes a staff member and ends their page sessions; `false` if there was none.
    pub async fn remove_staff(&self, name: &str) -> Result<bool, NodeError> {
        // Their page sessions end with them (also a foreign key with ON DELETE CASCADE).
        on_db!(&self.pool, p => sqlx::query("DELETE FROM verifier_sessions WHERE staff = $1")
            .bind(name).execute(p).await?.rows_affected());
        let n = on_db!(&self.pool, p => sqlx::query("DELETE FROM verifier_staff WHERE name = $1")
            .bind(name).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// The staff name holding a token with this hash.
    pub async fn staff_by_hash(&self, hash: &[u8; 32]) -> Result<Option<String>, NodeError> {
        Ok(
            on_db!(&self.pool, p => sqlx::query_scalar("SELECT name FROM verifier_staff WHERE token_hash = $1")
            .bind(&hash[..]).fetch_optional(p).await?),
        )
    }

    /// Every staff member's name, in order.
    pub async fn staff_names(&self) -> Result<Vec<String>, NodeError> {
        Ok(
            on_db!(&self.pool, p => sqlx::query_scalar("SELECT name FROM verifier_staff ORDER BY name")
            .fetch_all(p).await?),
        )
    }

    /// Stores a new page session (the hash of its id); expired sessions are swept.
    pub async fn add_session(
        &self,
        id_hash: &[u8; 32],
        staff: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), NodeError> {
        on_db!(&self.pool, p => sqlx::query("DELETE FROM verifier_sessions WHERE expires_at <= $1")
            .bind(now).execute(p).await?.rows_affected());
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_sessions (id_hash, staff, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $3, $4)")
            .bind(&id_hash[..]).bind(staff).bind(now).bind(expires_at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The staff member of a live session (not expired, used within `idle_secs`), marking it
    /// used now. A session whose staff member was removed is gone with them.
    pub async fn touch_session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
        idle_secs: i64,
    ) -> Result<Option<String>, NodeError> {
        let staff: Option<String> = on_db!(&self.pool, p => sqlx::query_scalar("UPDATE verifier_sessions SET last_seen = $2 WHERE id_hash = $1 AND expires_at > $2 AND last_seen > $3 AND staff IN (SELECT name FROM verifier_staff) RETURNING staff")
            .bind(&id_hash[..]).bind(now).bind(now - idle_secs).fetch_optional(p).await?);
        Ok(staff)
    }

    /// Ends a session (logout). Returns whether it existed.
    pub async fn end_session(&self, id_hash: &[u8; 32]) -> Result<bool, NodeError> {
        let n = on_db!(&self.pool, p => sqlx::query("DELETE FROM verifier_sessions WHERE id_hash = $1")
            .bind(&id_hash[..]).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Pins a trust list (its sequence must be new).
    pub async fn pin_trust_list(
        &self,
        sequence: u64,
        text: &str,
        now: i64,
    ) -> Result<(), NodeError> {
        let seq = i64::try_from(sequence).map_err(|_| NodeError::TrustListSequence(sequence))?;
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_trust_lists (sequence, text, fetched_at) VALUES ($1, $2, $3) ON CONFLICT (sequence) DO UPDATE SET fetched_at = excluded.fetched_at")
            .bind(seq).bind(text).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The highest pinned trust list: (text, fetched_at).
    pub async fn latest_trust_list(&self) -> Result<Option<(String, i64)>, NodeError> {
        let row = on_db!(&self.pool, p => sqlx::query("SELECT text, fetched_at FROM verifier_trust_lists ORDER BY sequence DESC LIMIT 1")
            .fetch_optional(p).await?.map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))));
        Ok(row)
    }

    /// Stores (or replaces) an issuer key's revocation list.
    pub async fn store_crl(&self, c: &StoredCrl) -> Result<(), NodeError> {
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_crls (issuer, kid, crl, fetched_at) VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, kid) DO UPDATE SET crl = excluded.crl, fetched_at = excluded.fetched_at")
            .bind(&c.issuer).bind(&c.kid).bind(&c.crl).bind(c.fetched_at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Every stored revocation list, by issuer and key id.
    pub async fn crls(&self) -> Result<Vec<StoredCrl>, NodeError> {
        let rows = on_db!(&self.pool, p => sqlx::query("SELECT issuer, kid, crl, fetched_at FROM verifier_crls ORDER BY issuer, kid")
            .fetch_all(p).await?.into_iter().map(|r| StoredCrl {
                issuer: r.get(0), kid: r.get(1), crl: r.get(2), fetched_at: r.get(3),
            }).collect());
        Ok(rows)
    }

    /// Records a refresh attempt of one source (the trust list, a CRL): when it was
    /// tried, and its error or that it succeeded.
    pub async fn record_refresh(
        &self,
        source: &str,
        now: i64,
        error: Option<&str>,
    ) -> Result<(), NodeError> {
        let ok_at = if error.is_none() { Some(now) } else { None };
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_refresh (source, ok_at, tried_at, error) VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO UPDATE SET ok_at = COALESCE(excluded.ok_at, verifier_refresh.ok_at), tried_at = excluded.tried_at, error = excluded.error")
            .bind(source).bind(ok_at).bind(now).bind(error).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The last refresh attempt of each source, by source.
    pub async fn refresh_status(&self) -> Result<Vec<RefreshStatus>, NodeError> {
        let rows = on_db!(&self.pool, p => sqlx::query("SELECT source, ok_at, tried_at, error FROM verifier_refresh ORDER BY source")
            .fetch_all(p).await?.into_iter().map(|r| RefreshStatus {
                source: r.get(0), ok_at: r.get(1), tried_at: r.get(2), error: r.get(3),
            }).collect());
        Ok(rows)
    }

    /// Stores (or replaces) the doctor credential imported for the key `kid`.
    pub async fn set_doctor_credential(
        &self,
        kid: &str,
        text: &str,
        now: i64,
    ) -> Result<(), NodeError> {
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_doctor_credential (kid, credential, imported_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO UPDATE SET credential = excluded.credential, imported_at = excluded.imported_at")
            .bind(kid).bind(text).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The doctor credential stored for the key `kid`, if any.
    pub async fn doctor_credential(&self, kid: &str) -> Result<Option<String>, NodeError> {
        Ok(
            on_db!(&self.pool, p => sqlx::query_scalar("SELECT credential FROM verifier_doctor_credential WHERE kid = $1")
            .bind(kid).fetch_optional(p).await?),
        )
    }

    /// Keeps one access receipt: what the clinic did under a grant (no health data).
    pub async fn add_receipt(&self, r: &Receipt) -> Result<(), NodeError> {
        on_db!(&self.pool, p => sqlx::query("INSERT INTO verifier_receipts (grant_id, peer, action, outcome, records, access_log_index, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&r.grant_id).bind(&r.peer).bind(&r.action).bind(&r.outcome).bind(r.records).bind(r.access_log_index).bind(r.at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The newest `limit` receipts, newest first.
    pub async fn receipts(&self, limit: i64) -> Result<Vec<Receipt>, NodeError> {
        let rows = on_db!(&self.pool, p => sqlx::query("SELECT grant_id, peer, action, outcome, records, access_log_index, at FROM verifier_receipts ORDER BY id DESC LIMIT $1")
            .bind(limit).fetch_all(p).await?.into_iter().map(|r| Receipt {
                grant_id: r.get(0), peer: r.get(1), action: r.get(2), outcome: r.get(3),
                records: r.get(4), access_log_index: r.get(5), at: r.get(6),
            }).collect());
        Ok(rows)
    }

    /// Rows in every table (tests: "nothing stored").
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, NodeError> {
        let mut out = Vec::new();
        for t in [
            "verifier_staff",
            "verifier_trust_lists",
            "verifier_crls",
            "verifier_doctor_credential",
            "verifier_receipts",
            "verifier_sessions",
        ] {
            let q = format!("SELECT COUNT(*) FROM {t}");
            let n: i64 = on_db!(&self.pool, p => sqlx::query_scalar(&q).fetch_one(p).await?);
            out.push((t.to_owned(), n));
        }
        Ok(out)
    }
}
