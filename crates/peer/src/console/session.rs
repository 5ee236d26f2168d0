//! Console sessions, kept in the database so that they survive a restart of `serve`.
//!
//! Logging in with a staff token creates a session: a random 256-bit id (the cookie; only its
//! SHA-256 is stored) and a random CSRF token the page sends back in `X-CSRF-Token` on every
//! state change. A session is alive while it is not ended (logout), younger than
//! [`SESSION_MAX_SECS`], used within [`SESSION_IDLE_SECS`], and its staff token is itself
//! active: revoking or expiring the token ends every session made with it. The roles are the
//! token's, read on every request.

use spondon_core::NumericDate;

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, token_hash};
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
        db::console::insert_session(
            &self.db,
            &db::console::NewSession {
                id_hash: &token_hash(&id)[..],
                token_id: &staff.token_id,
                csrf: &csrf,
                created_at: now,
                expires_at,
            },
        )
        .await?;
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
        let hash = token_hash(id);
        let Some(db::console::LiveSession {
            token_id,
            csrf,
            roles,
            expires_at,
            last_seen,
            label,
        }) = db::console::live_session(&self.db, &hash, now, now - SESSION_IDLE_SECS).await?
        else {
            return Ok(None);
        };
        if touch && now - last_seen >= TOUCH_SECS {
            db::console::touch_session(&self.db, &hash, now).await?;
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
        db::console::end_session(&self.db, &token_hash(id), now).await?;
        Ok(())
    }

    /// Ends every session of a staff token; returns how many were live.
    pub async fn end_console_sessions_of(&self, token_id: &str) -> Result<u64> {
        let now = NumericDate::now().seconds();
        db::console::end_sessions_of(&self.db, token_id, now).await
    }
}
