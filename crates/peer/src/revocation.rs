//! Record revocation by staff (a record issued to the wrong patient, or entered in error).
//! Unlike a correction, which supersedes a record and keeps both valid, a revoked record's
//! `rid` is listed in the SMART Health Cards CRL of the record key
//! (`/.well-known/crl/<kid>.json`, `method: rid`), whose `ctr` — the key's `crlVersion` in the
//! JWKS — is 1 + the number of revocations. Each revocation is a `RevocationRegistered` log
//! entry committing to `{"v":1,"type":"record_revoked","peer","record","reason","at"}`.

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::{Jwk, Jwks};
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, to_u64};
use crate::write_keys::WriteKey;

/// Why a record is revoked (a closed list, so no free text — and no health data — is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// Issued to the wrong patient.
    WrongPatient,
    /// Entered in error (should not have been issued).
    EnteredInError,
    /// A duplicate of another record.
    Duplicate,
    /// Any other reason.
    Other,
}

impl RevocationReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::WrongPatient => "wrong_patient",
            Self::EnteredInError => "entered_in_error",
            Self::Duplicate => "duplicate",
            Self::Other => "other",
        }
    }
}

/// `POST /staff/records/{id}/revoke` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRecordRequest {
    /// Why the record is revoked.
    pub reason: RevocationReason,
}

/// A registered record revocation.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRevoked {
    /// The revoked record's id.
    pub record_id: String,
    /// Why it was revoked.
    pub reason: RevocationReason,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
    /// Index of the revocation's entry in the transparency log.
    pub log_index: u64,
    /// The CRL version (`ctr`, JWKS `crlVersion`) that lists it.
    pub crl_version: u64,
}

impl Peer {
    /// Revokes a record: logs the revocation and lists its `rid` in the CRL.
    pub async fn revoke_record(&self, id: &str, reason: RevocationReason) -> Result<RecordRevoked> {
        self.revoke_record_keyed(id, reason, None).await
    }

    /// [`Peer::revoke_record`] with a staff write's `Idempotency-Key`. The log entry, the
    /// revocation row and the key (with the answer) are written in one transaction
    /// ([`spondon_ledger::Log::append_with`]); see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn revoke_record_keyed(
        &self,
        id: &str,
        reason: RevocationReason,
        key: Option<&WriteKey>,
    ) -> Result<RecordRevoked> {
        if id.is_empty() || id.len() > 64 {
            return Err(PeerError::UnknownRecord);
        }
        let _guard = self.write_lock().await?;
        let db::record_revocations::RevocationState {
            record_exists: exists,
            record_revoked: revoked,
            all_revoked: all,
        } = db::record_revocations::state(&self.db, id).await?;
        if exists == 0 {
            return Err(PeerError::UnknownRecord);
        }
        if revoked != 0 {
            return Err(PeerError::AlreadyRevoked);
        }
        let now = NumericDate::now();
        let payload = serde_json::json!({
            "v": 1,
            "type": "record_revoked",
            "peer": self.config.url,
            "record": id,
            "reason": reason.as_str(),
            "at": now.seconds(),
        })
        .to_string();
        let opening = Opening::new(payload.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        // Under the writer lock: this revocation is the next one, its CRL version the next.
        let crl_version = 2 + to_u64(all)?;
        // The entry, the row and the key commit together (one transaction).
        let (id_owned, salt, key_owned) = (id.to_owned(), opening.salt, key.cloned());
        let (row_payload, at) = (payload.clone(), now.seconds());
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move {
                let log_index =
                    i64::try_from(first).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                let answer = serde_json::json!({
                    "record_id": id_owned, "reason": reason, "revoked_at": at,
                    "log_index": first, "crl_version": crl_version,
                });
                db::record_revocations::insert(
                    &mut tx,
                    &db::record_revocations::NewRevocation {
                        record_id: &id_owned,
                        reason: reason.as_str(),
                        payload: &row_payload,
                        salt: &salt,
                        log_index,
                        revoked_at: at,
                    },
                )
                .await?;
                db::staff::insert_write_key(&mut tx, key_owned.as_ref(), &answer, at).await
            })
        });
        // The entry, its rows and the checkpoint over them in one commit.
        let appended = self
            .append_signed(
                &[LogEntry::commit(EntryKind::RevocationRegistered, now, &opening).encode()],
                rows,
            )
            .await?;
        let log_index = appended.first_index;
        tracing::info!(log_index, "record revoked");
        Ok(RecordRevoked {
            record_id: id.to_owned(),
            reason,
            revoked_at: now.seconds(),
            log_index,
            crl_version,
        })
    }

    /// The `rid`s of revoked records, in revocation order.
    pub async fn revoked_rids(&self) -> Result<Vec<String>> {
        db::record_revocations::rids(&self.db).await
    }

    /// The current CRL version of the record key (SMART Health Cards `crlVersion`, ≥ 1):
    /// 1 + the number of revoked records.
    pub async fn crl_version(&self) -> Result<u64> {
        let n = db::record_revocations::count(&self.db).await?;
        Ok(1 + to_u64(n)?)
    }

    /// `/.well-known/jwks.json`.
    pub async fn jwks(&self) -> Result<Jwks> {
        let mut jwk: Jwk = self.keys.record.public_key().to_jwk();
        jwk.crl_version = Some(self.crl_version().await?);
        Ok(Jwks { keys: vec![jwk] })
    }

    /// `/.well-known/crl/<kid>.json` for the record key (`None` for an unknown kid).
    pub async fn crl(&self, kid: &str) -> Result<Option<serde_json::Value>> {
        if kid != self.keys.record.kid() {
            return Ok(None);
        }
        // One read for both, so `ctr` always matches the list.
        let rids = self.revoked_rids().await?;
        Ok(Some(serde_json::json!({
            "kid": kid,
            "method": "rid",
            "ctr": 1 + rids.len() as u64,
            "rids": rids,
        })))
    }
}
