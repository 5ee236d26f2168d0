//! Console sessions, kept in the database so that they survive a restart of `serve`.
//!
//! Logging in with a staff token creates a session: a random 256-bit id (the cookie; only its
//! SHA-256 is stored) and a random CSRF token the page sends back in `X-CSRF-Token` on every
//! state change. A session is alive while it is not ended (logout), younger than
//! [`SESSION_MAX_SECS`], used within [`SESSION_IDLE_SECS`], and its staff token is itself
//! active: revoking or expiring the token ends every session made with it. The roles are the
//! token's, read on every request.

use spondon_core::NumericDate;
use sqlx::Row as _;

use crate::error::{PeerError, Result};
use crate::peer::{Peer, on_db, token_hash};
use crate::staff::{Role, StaffAuth};

/// Longest life of a session (a working shift).
pub const SESSION_MAX_SECS: i64 = 10 * 3600;
/// A session unused this long ends.
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// `last_seen` is written at most this often (not on every request).
const TOUCH_SECS: i64 = 60;

/// A new session: the cookie value and the CSRF token (both shown once).
#[derive(Debug)]
pub struct NewSession {
    pub id: String,
    pub csrf: String,
    pub staff: StaffAuth,
    pub expires_at: i64,
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub staff: StaffAuth,
    pub label: String,
    pub csrf: String,
    pub expires_at: i64,
}

fn random_text() -> Result<String> {
    let raw: [u8; 32] = spondon_core::keys::random_bytes()?;
    Ok(spondon_core::b64::encode(raw))
}

/// Compares two secrets without an early exit on the first differing byte.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (x, y) = (token_hash(a), token_hash(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

impl Peer {
    /// Logs in with a staff token: `Unauthorized` (charged to the client's failure bucket)
    /// for an unknown, expired or revoked token.
    pub async fn console_login(&self, token: &str) -> Result<NewSession> {
        let Some(staff) = self.staff_auth(token.trim()).await? else {
            return Err(PeerError::Unattributed(Box::new(PeerError::Unauthorized)));
        };
        let id = random_text()?;
        let csrf = random_text()?;
        let now = NumericDate::now().seconds();
        let expires_at = now + SESSION_MAX_SECS;
        on_db!(&self.db, p => sqlx::query("INSERT INTO peer_console_sessions (id_hash, token_id, csrf, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&token_hash(&id)[..]).bind(&staff.token_id).bind(&csrf).bind(now).bind(now).bind(expires_at)
            .execute(p).await?.rows_affected());
        self.audit(Some(&staff.token_id), "console login", None, 200)
            .await?;
        Ok(NewSession {
            id,
            csrf,
            staff,
            expires_at,
        })
    }

    /// The live session with this cookie value, if any (its use counts as activity).
    pub async fn console_session(&self, id: &str) -> Result<Option<Session>> {
        self.console_session_with(id, true).await
    }

    /// The live session with this cookie value; `touch: false` for the page's own background
    /// refresh, which must not keep an unattended console logged in past the idle limit.
    pub async fn console_session_with(&self, id: &str, touch: bool) -> Result<Option<Session>> {
        if id.is_empty() || id.len() > 100 {
            return Ok(None);
        }
        let now = NumericDate::now().seconds();
        type Row = (String, String, String, i64, i64, String);
        let row: Option<Row> = on_db!(&self.db, p => sqlx::query("SELECT s.token_id, s.csrf, t.roles, s.expires_at, s.last_seen, t.label FROM peer_console_sessions s JOIN peer_staff_tokens t ON t.token_id = s.token_id WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND s.last_seen > $3 AND t.revoked_at IS NULL AND t.expires_at > $2")
            .bind(&token_hash(id)[..]).bind(now).bind(now - SESSION_IDLE_SECS)
            .fetch_optional(p).await?
            .map(|r| Ok::<Row, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?)))
            .transpose()?);
        let Some((token_id, csrf, roles, expires_at, last_seen, label)) = row else {
            return Ok(None);
        };
        if touch && now - last_seen >= TOUCH_SECS {
            on_db!(&self.db, p => sqlx::query("UPDATE peer_console_sessions SET last_seen = $1 WHERE id_hash = $2")
                .bind(now).bind(&token_hash(id)[..]).execute(p).await?.rows_affected());
        }
        let roles = Role::parse_list(&roles)
            .map_err(|_| PeerError::Integrity("stored staff token roles".into()))?;
        Ok(Some(Session {
            staff: StaffAuth { token_id, roles },
            label,
            csrf,
            expires_at,
        }))
    }

    /// Ends a session (logout); ending an unknown or ended one changes nothing.
    pub async fn end_console_session(&self, id: &str) -> Result<()> {
        let now = NumericDate::now().seconds();
        on_db!(&self.db, p => sqlx::query("UPDATE peer_console_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL")
            .bind(now).bind(&token_hash(id)[..]).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Ends every session of a staff token; returns how many were live.
    pub async fn end_console_sessions_of(&self, token_id: &str) -> Result<u64> {
        let now = NumericDate::now().seconds();
        Ok(
            on_db!(&self.db, p => sqlx::query("UPDATE peer_console_sessions SET ended_at = $1 WHERE token_id = $2 AND ended_at IS NULL")
            .bind(now).bind(token_id).execute(p).await?.rows_affected()),
        )
    }
}
