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

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::{ENROLLMENT_LIFETIME, RequestParts};
use crate::peer::Peer;

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

/// A patient's key re-binding: `old` retired, `new` bound ([`Peer::retire_and_bind`]).
struct Rebinding<'a> {
    health_id: &'a str,
    old: &'a Es256PublicKey,
    new: &'a Es256PublicKey,
    /// The enrollment credential signed for `new`.
    credential: &'a str,
    via: Via,
    /// The rotation statement (its id and text), when the patient signed one.
    statement: Option<(&'a [u8; 16], &'a str)>,
    /// The identity check's enrollment code, used in the same transaction.
    code_hash: Option<&'a [u8]>,
    now: NumericDate,
}

impl Peer {
    /// Whether `kid` is enrolled, retired by a rotation, or unknown here.
    pub(crate) async fn key_status(&self, kid: &str) -> Result<KeyStatus> {
        if let Some(h) = db::rotations::active_holder(&self.db, kid).await? {
            return Ok(KeyStatus::Active(h));
        }
        let rotated = db::rotations::rotated_holder(&self.db, kid).await?;
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
        self.retire_and_bind(Rebinding {
            health_id: &st.health_id,
            old: &st.old_key,
            new: &st.new_key,
            credential: &credential,
            via: Via::Statement,
            statement: Some((&st.id, &req.statement)),
            code_hash: None,
            now,
        })
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

    /// Under the writer lock (the caller holds it), in one transaction: logs the new enrollment
    /// and the rotation event, retires `old` (its enrollment and, with it, every grant it
    /// signed), binds `new`, records the rotation and the patient's receipt, and uses the
    /// identity check's enrollment code if there is one. The entries and the rows commit
    /// together or not at all.
    async fn retire_and_bind(&self, r: Rebinding<'_>) -> Result<KeyRotated> {
        let Rebinding {
            health_id,
            old,
            new,
            credential,
            via,
            statement,
            code_hash,
            now,
        } = r;
        let jwk = serde_json::to_string(&new.to_jwk())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let event = rotation_event(&self.config.url, old.kid(), new.kid(), via, now.seconds());
        let enrollment = Opening::new(credential.as_bytes().to_vec())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let rotation = Opening::new(event.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let (statement_id, statement_text) = match statement {
            Some((id, text)) => (Some(id.to_vec()), Some(text.to_owned())),
            None => (None, None),
        };
        let (health, old_kid, new_kid, cred) = (
            health_id.to_owned(),
            old.kid().to_owned(),
            new.kid().to_owned(),
            credential.to_owned(),
        );
        let (code, salt, at) = (code_hash.map(<[u8]>::to_vec), rotation.salt, now.seconds());
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move {
                // The enrollment entry at `first`, the rotation's at `first + 1`.
                let index =
                    i64::try_from(first + 1).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                if let Some(code) = &code
                    && !db::patients::use_code(&mut tx, code, at).await?
                {
                    // Rolls the whole append back; answered `enrollment_code_invalid`.
                    return Err(sqlx::Error::RowNotFound);
                }
                db::rotations::retire(&mut tx, &health, at).await?;
                db::patients::insert_enrollment(
                    &mut tx,
                    &db::patients::NewEnrollment {
                        kid: &new_kid,
                        health_id: &health,
                        key_jwk: &jwk,
                        credential: &cred,
                        created_at: at,
                    },
                )
                .await?;
                db::rotations::insert(
                    &mut tx,
                    &db::rotations::NewRotation {
                        old_kid: &old_kid,
                        new_kid: &new_kid,
                        health_id: &health,
                        via: via.word(),
                        statement_id: statement_id.as_deref(),
                        statement: statement_text.as_deref(),
                        rotated_at: at,
                        log_index: index,
                    },
                )
                .await?;
                db::access_events::insert(
                    &mut tx,
                    &db::access_events::NewEvent {
                        health_id: Some(&health),
                        outcome: "allowed",
                        reason: None,
                        payload: &event,
                        salt: &salt,
                        log_index: index,
                        at,
                        grant: None,
                    },
                )
                .await
            })
        });
        // The entries, their rows and the checkpoint over them in one commit.
        let appended = self
            .append_signed(
                &[
                    LogEntry::commit(EntryKind::Enrollment, now, &enrollment).encode(),
                    LogEntry::commit(EntryKind::KeyRotation, now, &rotation).encode(),
                ],
                rows,
            )
            .await;
        let log_index = match appended {
            Ok(a) => a.first_index + 1,
            Err(PeerError::Ledger(spondon_ledger::LedgerError::Db(sqlx::Error::RowNotFound))) => {
                tracing::error!("key re-binding not stored: the code was used meanwhile");
                return Err(PeerError::EnrollmentCodeInvalid);
            }
            Err(e) => return Err(e),
        };
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
        let old = db::rotations::bound_key(&self.db, health_id).await?;
        let Some(old) = old else {
            return Ok(None);
        };
        let old: spondon_core::keys::Jwk = serde_json::from_str(&old)
            .map_err(|_| PeerError::Integrity("stored enrollment key is not a JWK".into()))?;
        let old = Es256PublicKey::from_jwk(&old)
            .map_err(|_| PeerError::Integrity("stored enrollment key".into()))?;
        self.retire_and_bind(Rebinding {
            health_id,
            old: &old,
            new,
            credential,
            via: Via::IdentityCheck,
            statement: None,
            code_hash: Some(code_hash),
            now,
        })
        .await
        .map(Some)
    }
}
