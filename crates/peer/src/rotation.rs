//! Lost phone: key rotation (`docs/protocol.md` §17). A patient's wallet, restored on a new
//! device, sends a key rotation statement signed by the old key and the new key; the peer, in
//! one step under its writer lock, retires the old key (every grant it signed is revoked with
//! it), binds the new key with a fresh enrollment credential, and logs a `KeyRotation` entry
//! that the patient's later audit shows as a receipt. When the old key is gone the hospital's
//! identity check does the same: staff issue a new enrollment code for the existing patient
//! (`POST /staff/patients/{health_id}/enrollment-code`, or the console), and redeeming it
//! ([`Peer::enroll`]) retires the old key the same way, `via: "identity_check"`.
//!
//! From then on the old key is refused with `key_rotated` (403): pulls, receipts, every signed
//! request, and the redemption of every grant it signed (that refusal is logged as the
//! patient's receipt, so they see the thief's attempt).

use spondon_core::NumericDate;
use spondon_core::keys::Es256PublicKey;
use spondon_core::token::{EnrollmentCredential, KeyRotation};
use spondon_ledger::{EntryKind, LogEntry, Opening};
use sqlx::Row as _;

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::{ENROLLMENT_LIFETIME, RequestParts};
use crate::peer::{Peer, on_db, to_i64};

/// The wire types of a key rotation (`spondon-protocol`): the peer writes them.
pub use spondon_protocol::{KeyRotated, RotateKeyRequest};

/// How a key was retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Statement,
    IdentityCheck,
}

impl Via {
    fn word(self) -> &'static str {
        match self {
            Via::Statement => "statement",
            Via::IdentityCheck => "identity_check",
        }
    }
}

/// What a peer knows of a patient key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyStatus {
    /// Enrolled now, for this Health ID.
    Active(String),
    /// Retired by a rotation or re-binding of this Health ID.
    Rotated(String),
    /// Never enrolled here (or replaced before rotations were recorded).
    Unknown,
}

/// The canonical key rotation event: the committed payload of the `KeyRotation` log entry and
/// the patient's receipt (`action: "key_rotation"`).
pub(crate) fn rotation_event(
    peer: &str,
    old_kid: &str,
    new_kid: &str,
    via: Via,
    at: i64,
) -> String {
    serde_json::json!({
        "v": 1,
        "peer": peer,
        "at": at,
        "action": "key_rotation",
        "outcome": "allowed",
        "reason": null,
        "grant_id": null,
        "audience": null,
        "records": [],
        "old_kid": old_kid,
        "new_kid": new_kid,
        "via": via.word(),
    })
    .to_string()
}

impl Peer {
    /// Whether `kid` is enrolled, retired by a rotation, or unknown here.
    pub(crate) async fn key_status(&self, kid: &str) -> Result<KeyStatus> {
        let active: Option<String> = on_db!(&self.db, p => sqlx::query("SELECT health_id FROM peer_enrollments WHERE kid = $1 AND revoked_at IS NULL")
            .bind(kid).fetch_optional(p).await?
            .map(|r| r.try_get(0)).transpose()?);
        if let Some(h) = active {
            return Ok(KeyStatus::Active(h));
        }
        let rotated: Option<String> = on_db!(&self.db, p => sqlx::query("SELECT health_id FROM peer_key_rotations WHERE old_kid = $1")
            .bind(kid).fetch_optional(p).await?
            .map(|r| r.try_get(0)).transpose()?);
        Ok(rotated.map_or(KeyStatus::Unknown, KeyStatus::Rotated))
    }

    /// Rotates a patient's key on a statement signed by the old key and the new key; the
    /// request itself must be signed by the new key. Idempotent: the same rotation again (a
    /// retry with a fresh statement naming the same two keys, while the new key is still the
    /// bound one) answers with the current binding and `already: true`. Nothing is stored on
    /// any refusal.
    pub async fn rotate_key(
        &self,
        parts: &RequestParts<'_>,
        req: &RotateKeyRequest,
    ) -> Result<KeyRotated> {
        let signer = self.check_signed(parts).await?;
        let now = NumericDate::now();
        let st = KeyRotation::decode_and_verify(&req.statement, now).map_err(PeerError::Grant)?;
        if st.new_key != signer {
            return Err(PeerError::RotationMismatch(
                "the request must be signed by the statement's new key",
            ));
        }
        if st.peer != self.config.url {
            return Err(PeerError::WrongPeer);
        }
        let old_kid = st.old_key.kid().to_owned();
        let new_kid = st.new_key.kid().to_owned();
        let _guard = self.write_lock().await?;
        // Everything is checked again under the lock (another process may have rotated).
        match self.key_status(&old_kid).await? {
            KeyStatus::Active(h) if h == st.health_id => {}
            KeyStatus::Active(_) => {
                return Err(PeerError::RotationMismatch(
                    "the old key is not enrolled for this Health ID",
                ));
            }
            KeyStatus::Rotated(h) => {
                if h == st.health_id
                    && let Some(done) = self.done_rotation(&old_kid, &new_kid).await?
                {
                    return Ok(done);
                }
                return Err(PeerError::KeyRotated);
            }
            KeyStatus::Unknown => return Err(PeerError::NotEnrolled),
        }
        if self.key_status(&new_kid).await? != KeyStatus::Unknown {
            return Err(PeerError::KeyInUse);
        }
        let credential = self.enrollment_credential(&st.health_id, &st.new_key, now)?;
        self.retire_and_bind(
            &st.health_id,
            &st.old_key,
            &st.new_key,
            &credential,
            Via::Statement,
            Some((&st.id, &req.statement)),
            None,
            now,
        )
        .await
    }

    /// The rotation `old → new` if it is done and `new` is still the bound key.
    async fn done_rotation(&self, old_kid: &str, new_kid: &str) -> Result<Option<KeyRotated>> {
        let Some(db::rotations::Rotation {
            health_id,
            rotated_at,
            log_index,
        }) = db::rotations::rotation(&self.db, old_kid, new_kid).await?
        else {
            return Ok(None);
        };
        let credential = db::rotations::active_credential(&self.db, new_kid, &health_id).await?;
        Ok(credential.map(|enrollment_credential| KeyRotated {
            health_id,
            old_kid: old_kid.to_owned(),
            kid: new_kid.to_owned(),
            enrollment_credential,
            log_index: u64::try_from(log_index).unwrap_or(0),
            rotated_at,
            already: true,
        }))
    }

    /// A signed enrollment credential binding `key` to `health_id`.
    pub(crate) fn enrollment_credential(
        &self,
        health_id: &str,
        key: &Es256PublicKey,
        now: NumericDate,
    ) -> Result<String> {
        EnrollmentCredential {
            hospital_id: self.config.url.clone(),
            health_id: health_id.to_owned(),
            patient_key: key.clone(),
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(ENROLLMENT_LIFETIME),
        }
        .sign(&self.keys.record)
        .map_err(|e| PeerError::Integrity(format!("enrollment credential: {e}")))
    }

    /// Under the writer lock (the caller holds it): logs the new enrollment and the rotation
    /// event, then in one transaction retires `old` (its enrollment and, with it, every grant it
    /// signed), binds `new`, records the rotation and the patient's receipt.
    #[allow(clippy::too_many_arguments)]
    async fn retire_and_bind(
        &self,
        health_id: &str,
        old: &Es256PublicKey,
        new: &Es256PublicKey,
        credential: &str,
        via: Via,
        statement: Option<(&[u8; 16], &str)>,
        code_hash: Option<&[u8]>,
        now: NumericDate,
    ) -> Result<KeyRotated> {
        let jwk = serde_json::to_string(&new.to_jwk())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let event = rotation_event(&self.config.url, old.kid(), new.kid(), via, now.seconds());
        let enrollment = Opening::new(credential.as_bytes().to_vec())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let rotation = Opening::new(event.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let appended = self
            .log
            .append(&[
                LogEntry::commit(EntryKind::Enrollment, now, &enrollment).encode(),
                LogEntry::commit(EntryKind::KeyRotation, now, &rotation).encode(),
            ])
            .await?;
        let log_index = appended.first_index + 1;
        let index = to_i64(log_index)?;
        let (statement_id, statement_text) = match statement {
            Some((id, text)) => (Some(id.to_vec()), Some(text.to_owned())),
            None => (None, None),
        };
        let res: std::result::Result<bool, sqlx::Error> = on_db!(&self.db, p => async {
            let mut tx = p.begin().await?;
            if let Some(code_hash) = code_hash {
                let used = sqlx::query("UPDATE peer_enrollment_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
                    .bind(now.seconds()).bind(code_hash).execute(&mut *tx).await?.rows_affected();
                if used != 1 {
                    return Ok(false);
                }
            }
            sqlx::query("UPDATE peer_enrollments SET revoked_at = $1 WHERE health_id = $2 AND revoked_at IS NULL")
                .bind(now.seconds()).bind(health_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO peer_enrollments (kid, health_id, key_jwk, credential, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(new.kid()).bind(health_id).bind(&jwk).bind(credential).bind(now.seconds())
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO peer_key_rotations (old_kid, new_kid, health_id, via, statement_id, statement, rotated_at, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(old.kid()).bind(new.kid()).bind(health_id).bind(via.word())
                .bind(statement_id).bind(statement_text).bind(now.seconds()).bind(index)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO peer_access_events (health_id, outcome, reason, payload, salt, log_index, at) VALUES ($1, 'allowed', NULL, $2, $3, $4, $5)")
                .bind(health_id).bind(&event).bind(&rotation.salt[..]).bind(index).bind(now.seconds())
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        match res {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    log_index,
                    "key re-binding not stored: the code was used meanwhile"
                );
                return Err(PeerError::EnrollmentCodeInvalid);
            }
            Err(e) => {
                tracing::error!(log_index, "key rotation not stored after its log entries");
                return Err(e.into());
            }
        }
        self.sign_checkpoint().await?;
        tracing::info!(log_index, via = via.word(), "patient key rotated");
        Ok(KeyRotated {
            health_id: health_id.to_owned(),
            old_kid: old.kid().to_owned(),
            kid: new.kid().to_owned(),
            enrollment_credential: credential.to_owned(),
            log_index,
            rotated_at: now.seconds(),
            already: false,
        })
    }

    /// After an identity check (a staff-issued enrollment code redeemed by a new key): retires
    /// the patient's bound key, if any, exactly as a rotation statement would, `via:
    /// "identity_check"`, consuming the enrollment code (`code_hash`) in the same transaction.
    /// The caller holds the writer lock and has checked the code under it. `None` when the
    /// patient has no bound key (a first enrollment: the caller binds it).
    pub(crate) async fn rebind_after_identity_check(
        &self,
        health_id: &str,
        new: &Es256PublicKey,
        credential: &str,
        code_hash: &[u8],
        now: NumericDate,
    ) -> Result<Option<KeyRotated>> {
        let old: Option<String> = on_db!(&self.db, p => sqlx::query("SELECT key_jwk FROM peer_enrollments WHERE health_id = $1 AND revoked_at IS NULL")
            .bind(health_id).fetch_optional(p).await?
            .map(|r| r.try_get(0)).transpose()?);
        let Some(old) = old else {
            return Ok(None);
        };
        let old: spondon_core::keys::Jwk = serde_json::from_str(&old)
            .map_err(|_| PeerError::Integrity("stored enrollment key is not a JWK".into()))?;
        let old = Es256PublicKey::from_jwk(&old)
            .map_err(|_| PeerError::Integrity("stored enrollment key".into()))?;
        self.retire_and_bind(
            health_id,
            &old,
            new,
            credential,
            Via::IdentityCheck,
            None,
            Some(code_hash),
            now,
        )
        .await
        .map(Some)
    }
}
