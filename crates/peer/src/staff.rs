//! Staff tokens: roles, expiry, revocation, and the audit trail of staff actions.

use serde::Serialize;
use spondon_core::NumericDate;

use crate::db;
use crate::error::{PeerError, Result};
use crate::group_commit::Wait;
use crate::peer::{Peer, STAFF_TOKEN_PREFIX, token_hash};

pub use crate::db::staff::AuditEntry;

/// Where a queued audit entry's caller waits for its commit.
pub(crate) type AuditReply = tokio::sync::oneshot::Sender<Result<()>>;

/// Default lifetime of a staff token (days).
pub const DEFAULT_STAFF_TOKEN_DAYS: i64 = 90;
/// Longest lifetime of a staff token (days).
pub const MAX_STAFF_TOKEN_DAYS: i64 = 366;

/// What a staff token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Register patients, issue enrollment codes, look up a patient.
    Registration,
    /// Issue and revoke records, look up a patient.
    Records,
    /// Everything, including registering doctors.
    Admin,
}

impl Role {
    /// The role's name: `registration`, `records` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registration => "registration",
            Role::Records => "records",
            Role::Admin => "admin",
        }
    }

    /// Parses a comma-separated role list (`registration,records`).
    pub fn parse_list(s: &str) -> Result<Vec<Role>> {
        let mut out = Vec::new();
        for r in s.split(',').map(str::trim) {
            let role = match r {
                "registration" => Role::Registration,
                "records" => Role::Records,
                "admin" => Role::Admin,
                _ => {
                    return Err(PeerError::field(
                        "roles",
                        "each role is registration, records or admin",
                    ));
                }
            };
            if !out.contains(&role) {
                out.push(role);
            }
        }
        if out.is_empty() {
            return Err(PeerError::field("roles", "at least one role"));
        }
        Ok(out)
    }
}

/// An authenticated staff caller.
#[derive(Debug, Clone)]
pub struct StaffAuth {
    /// The token's id (16 hex digits; not secret).
    pub token_id: String,
    /// The roles the token holds.
    pub roles: Vec<Role>,
}

impl StaffAuth {
    /// Refuses (`role_required`, 403) unless the token has `role` or `admin`.
    pub fn need(&self, role: Role) -> Result<()> {
        if self.roles.contains(&role) || self.roles.contains(&Role::Admin) {
            Ok(())
        } else {
            Err(PeerError::Charged(Box::new(PeerError::RoleRequired(
                role.as_str(),
            ))))
        }
    }

    /// Refuses unless the token has one of `roles` (or `admin`).
    pub fn need_any(&self, roles: &[Role]) -> Result<()> {
        match roles.iter().find(|r| self.need(**r).is_ok()) {
            Some(_) => Ok(()),
            None => self.need(roles.first().copied().unwrap_or(Role::Admin)),
        }
    }
}

/// A new staff token (the secret is shown once; only its SHA-256 is stored).
#[derive(Debug, Clone, Serialize)]
pub struct NewStaffToken {
    /// The secret bearer token (shown once).
    pub token: String,
    /// The token's id (16 hex digits; not secret).
    pub id: String,
    /// A label saying whose token it is.
    pub label: String,
    /// The roles it holds.
    pub roles: Vec<Role>,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
}

impl Peer {
    /// Creates a staff token with `roles`, valid `days` days (1..=366).
    pub async fn create_staff_token_with(
        &self,
        label: &str,
        roles: &[Role],
        days: i64,
    ) -> Result<NewStaffToken> {
        let label = label.trim();
        if label.is_empty() || label.len() > 100 || label.chars().any(char::is_control) {
            return Err(PeerError::field(
                "label",
                "must be 1–100 printable characters",
            ));
        }
        if !(1..=MAX_STAFF_TOKEN_DAYS).contains(&days) {
            return Err(PeerError::field(
                "days",
                format!("must be 1–{MAX_STAFF_TOKEN_DAYS}"),
            ));
        }
        if roles.is_empty() {
            return Err(PeerError::field("roles", "at least one role"));
        }
        let raw: [u8; 32] = spondon_core::keys::random_bytes()?;
        let token = format!("{STAFF_TOKEN_PREFIX}{}", spondon_core::b64::encode(raw));
        let hash = token_hash(&token);
        let id = hex::encode(&hash[..8]);
        let now = NumericDate::now().seconds();
        let expires_at = now.saturating_add(days.saturating_mul(86_400));
        let roles_text = roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",");
        db::staff::insert_token(
            &self.db,
            &db::staff::NewToken {
                token_hash: &hash[..],
                label,
                created_at: now,
                token_id: &id,
                roles: &roles_text,
                expires_at,
            },
        )
        .await?;
        self.audit(None, "create staff token", Some(&id), 201)
            .await?;
        Ok(NewStaffToken {
            token,
            id,
            label: label.to_owned(),
            roles: roles.to_vec(),
            expires_at,
        })
    }

    /// The caller of a staff token that exists, has not expired and is not revoked.
    pub async fn staff_auth(&self, token: &str) -> Result<Option<StaffAuth>> {
        if !token.starts_with(STAFF_TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = NumericDate::now().seconds();
        let Some(db::staff::ActiveToken { token_id, roles }) =
            db::staff::active_token(&self.db, &hash, now).await?
        else {
            return Ok(None);
        };
        let roles = Role::parse_list(&roles)
            .map_err(|_| PeerError::Integrity("stored staff token roles".into()))?;
        Ok(Some(StaffAuth { token_id, roles }))
    }

    /// Revokes a staff token by its id; `unknown_staff_token` (404) if there is none active.
    pub async fn revoke_staff_token(&self, id: &str) -> Result<()> {
        let now = NumericDate::now().seconds();
        if !db::staff::revoke_token(&self.db, id, now).await? {
            return Err(PeerError::UnknownStaffToken);
        }
        self.audit(None, "revoke staff token", Some(id), 200)
            .await?;
        tracing::info!("staff token revoked");
        Ok(())
    }

    /// Appends one entry to the staff audit trail (the database, never the log output):
    /// `token_id` `None` is the operator's command line.
    ///
    /// **Group commit.** The entry joins the queue of entries waiting to be written; whoever
    /// takes the audit lock next (this caller or a concurrent one) writes every queued entry in
    /// one multi-row insert (one commit, in queue order), and each caller is answered only after
    /// that commit: nobody returns before its entry is durable, as when each entry had its own
    /// commit. The write runs in a task of its own, so a caller that goes away (a dropped
    /// request) neither loses the entries it took nor leaves their callers unanswered.
    pub async fn audit(
        &self,
        token_id: Option<&str>,
        action: &str,
        target: Option<&str>,
        status: u16,
    ) -> Result<()> {
        let entry = AuditEntry {
            token_id: token_id.unwrap_or("cli").to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            status: i64::from(status),
            at: NumericDate::now().seconds(),
        };
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.pending_audits
            .lock()
            .map_err(|_| PeerError::Integrity("audit queue lock poisoned".into()))?
            .push((entry, reply));
        let unanswered =
            || PeerError::Integrity("audit entry left the group commit unanswered".into());
        // An earlier writer may take this entry in its batch: its answer ends the wait.
        let lock = match crate::group_commit::wait(
            self.audit_lock.clone().lock_owned(),
            &mut answer,
        )
        .await
        {
            Wait::Answered(a) => return a.map_err(|_| unanswered())?,
            Wait::Turn(lock) => lock,
        };
        let batch = match self.pending_audits.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        // Empty: an earlier writer took this entry, and has answered it (it held the lock
        // until then).
        if !batch.is_empty() {
            let db = self.db.clone();
            // SQLite has one writer at a time and makes the others poll for its lock, asleep
            // (1, 2, 5, 10 ms… by its busy handler): the batch waits for the record writer
            // here, in turn, instead.
            let writer =
                matches!(db, spondon_ledger::Database::Sqlite(_)).then(|| self.issue_lock.clone());
            let task = tokio::spawn(async move {
                let (entries, replies): (Vec<AuditEntry>, Vec<AuditReply>) =
                    batch.into_iter().unzip();
                let turn = match writer {
                    Some(w) => Some(w.lock_owned().await),
                    None => None,
                };
                let written = db::staff::insert_audits(&db, &entries).await;
                drop(turn);
                drop(lock);
                match written {
                    Ok(()) => {
                        for r in replies {
                            let _ = r.send(Ok(()));
                        }
                    }
                    Err(e) => {
                        for r in replies {
                            // The database's absence stays 503 database_unavailable for all.
                            let copy = if e.is_unavailable() {
                                PeerError::DatabaseUnavailable
                            } else {
                                PeerError::Db(sqlx::Error::Protocol(format!(
                                    "audit group commit failed: {e}"
                                )))
                            };
                            let _ = r.send(Err(copy));
                        }
                    }
                }
            });
            if task.await.is_err() {
                return Err(PeerError::Integrity("audit group commit panicked".into()));
            }
        }
        answer.await.map_err(|_| unanswered())?
    }

    /// The audit trail, oldest first.
    pub async fn staff_audit(&self) -> Result<Vec<AuditEntry>> {
        db::staff::audit(&self.db).await
    }
}
