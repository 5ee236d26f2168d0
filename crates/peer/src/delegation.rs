//! Delegates (`docs/protocol.md` §16, `docs/peer.md` "Delegates"). A patient registers the
//! delegations they signed (a signed patient request); the peer then refuses a delegate's grant
//! under a delegation it does not know or that was revoked (a revocation naming the
//! delegation's id, registered like any other), and lets a delegate with the `view` scope pull
//! the patient's records with the delegate's own key — each pull a receipt to the patient
//! naming the delegate — and the delegate (or, for a minor, either guardian) read the
//! patient's receipts.

use spondon_core::NumericDate;
use spondon_core::keys::Es256PublicKey;
use spondon_core::token::{Category, Delegation, Scope};

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::{MAX_PULL, Pull, RecordRow, RequestParts, check_known_size};
use crate::peer::{Peer, to_u64};

/// The wire types of delegation (`spondon-protocol`): the peer reads and writes them.
pub use spondon_protocol::{DelegateRequest, DelegationRegistered, DelegationRegistration};

/// A registered delegation, as the peer keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub health_id: String,
    pub delegation: Delegation,
}

impl Peer {
    /// Registers a delegation signed by the requesting patient's enrolled key that names this
    /// peer. Registering the same token again is harmless; another token with the same id is a
    /// conflict. A revoked delegation is refused.
    pub async fn register_delegation(
        &self,
        parts: &RequestParts<'_>,
        req: &DelegationRegistration,
    ) -> Result<DelegationRegistered> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        let now = NumericDate::now();
        let d =
            Delegation::decode_and_verify(req.delegation.trim(), now).map_err(PeerError::Grant)?;
        if d.patient_key != key {
            return Err(PeerError::field(
                "delegation",
                "must be signed by the same key as the request",
            ));
        }
        if !d.peers.iter().any(|p| p == &self.config.url) {
            return Err(PeerError::WrongPeer);
        }
        if self.is_id_revoked(&d.patient_key, &d.id).await? {
            return Err(PeerError::DelegationRevoked);
        }
        let answer = DelegationRegistered {
            delegation_id: spondon_core::b64::encode(d.id),
            delegate: d.delegate_key.kid().to_owned(),
            expires_at: d.expires.seconds(),
        };
        let scopes = d
            .scopes
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" ");
        let guardians = d.guardians.join(" ");
        let _guard = self.write_lock().await?;
        let existing = db::delegations::token(&self.db, key.kid(), &d.id).await?;
        match existing {
            Some(t) if t == req.delegation.trim() => return Ok(answer),
            Some(_) => return Err(PeerError::DelegationIdConflict),
            None => {}
        }
        db::delegations::insert(
            &self.db,
            &db::delegations::NewDelegation {
                patient_kid: key.kid(),
                id: &d.id,
                health_id: &health_id,
                delegate_kid: d.delegate_key.kid(),
                scopes: &scopes,
                guardians: &guardians,
                token: req.delegation.trim(),
                issued_at: d.issued_at.seconds(),
                expires_at: d.expires.seconds(),
                registered_at: now.seconds(),
            },
        )
        .await?;
        tracing::info!("delegation registered");
        Ok(answer)
    }

    /// How many delegations are registered here (all patients).
    pub async fn delegation_count(&self) -> Result<u64> {
        let n = db::delegations::count(&self.db).await?;
        to_u64(n)
    }

    /// The registered delegation with this id of this patient key, if any.
    pub(crate) async fn registered_delegation(
        &self,
        patient: &Es256PublicKey,
        id: &[u8; 16],
    ) -> Result<Option<Registered>> {
        db::delegations::by_id(&self.db, patient.kid(), id)
            .await?
            .map(|d| registered(d.health_id, &d.token))
            .transpose()
    }

    /// Whether a revocation of this patient key withdraws the grant or delegation `id`: one
    /// naming it, or any revoke-all (which retires the key, as for grants).
    pub(crate) async fn is_id_revoked(
        &self,
        patient: &Es256PublicKey,
        id: &[u8; 16],
    ) -> Result<bool> {
        db::grants::is_revoked(&self.db, patient.kid(), id).await
    }

    /// The delegation under which the signing key acts for `patient` here: registered, not
    /// revoked, not expired, giving the signer `view` (as the delegate) or, for a minor, naming
    /// the signer as a guardian when `guardian_ok`.
    async fn acting_for(
        &self,
        signer: &Es256PublicKey,
        patient: &str,
        guardian_ok: bool,
        now: NumericDate,
    ) -> Result<Registered> {
        let rows = db::delegations::of_patient(&self.db, patient).await?;
        let mut refusal = PeerError::NotADelegate;
        for db::delegations::StoredDelegation { health_id, token } in rows {
            let r = registered(health_id, &token)?;
            let d = &r.delegation;
            let as_delegate = d.delegate_key == *signer && d.allows(Scope::View);
            let as_guardian = guardian_ok && d.guardians.iter().any(|g| g == signer.kid());
            if !as_delegate && !as_guardian {
                continue;
            }
            if self.is_id_revoked(&d.patient_key, &d.id).await? {
                refusal = PeerError::DelegationRevoked;
                continue;
            }
            if now >= d.expires || now < d.not_before {
                refusal = PeerError::DelegationExpired;
                continue;
            }
            // The patient's key must still be the one enrolled here.
            if self.enrolled_patient(&d.patient_key).await.ok().as_deref() != Some(&r.health_id) {
                refusal = PeerError::PatientNotEnrolled;
                continue;
            }
            return Ok(r);
        }
        Err(refusal)
    }

    /// A delegate with the `view` scope pulls the patient's records (of the delegation's
    /// categories) with the delegate's own key. A pull that returns records is logged as an
    /// access (the patient's receipt, naming the delegate).
    pub async fn delegate_pull(
        &self,
        parts: &RequestParts<'_>,
        req: &DelegateRequest,
    ) -> Result<Pull> {
        let key = self.check_signed(parts).await?;
        let now = NumericDate::now();
        let r = self.acting_for(&key, &req.patient, false, now).await?;
        crate::peer::cursor(req.since, "since")?;
        let (size, _) = self.current_checkpoint().await?;
        check_known_size(req.known_size, size)?;
        let rows = self
            .record_rows(&r.health_id, req.since, size, Some(MAX_PULL + 1))
            .await?;
        let more = rows.len() as u64 > MAX_PULL;
        let rows: Vec<RecordRow> = rows.into_iter().take(MAX_PULL as usize).collect();
        let cursor = match rows.last() {
            Some(row) => to_u64(row.seq)?,
            None => req.since,
        };
        let rows: Vec<RecordRow> = rows
            .into_iter()
            .filter(|row| {
                u64::try_from(row.category)
                    .ok()
                    .and_then(Category::from_code)
                    .is_some_and(|c| r.delegation.covers_category(c))
            })
            .collect();
        if !rows.is_empty() {
            let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
            self.log_delegate_view(&r.health_id, &r.delegation, &ids, now)
                .await?;
        }
        // Proofs refer to a checkpoint that also covers the access event.
        let (size, checkpoint) = self.current_checkpoint().await?;
        let records = self.with_proofs(rows, size).await?;
        let consistency = self.consistency_b64(req.known_size, size).await?;
        tracing::info!(count = records.len(), "delegate pull");
        Ok(Pull {
            records,
            cursor,
            more,
            checkpoint,
            tree_size: size,
            consistency_proof: consistency,
        })
    }

    /// `POST /delegate/files`: a delegate with the `view` scope fetches the file of one of the
    /// patient's document records of the delegation's categories; logged like a delegate's
    /// pull (the patient's receipt names the delegate and the one record).
    pub async fn delegate_file(
        &self,
        parts: &RequestParts<'_>,
        req: &crate::files::DelegateFileRequest,
    ) -> Result<crate::files::FileContent> {
        let key = self.check_signed(parts).await?;
        let now = NumericDate::now();
        let r = self.acting_for(&key, &req.patient, false, now).await?;
        let covered = match self.record_owner(&req.record_id).await? {
            Some(db::records::RecordOwner {
                health_id: owner,
                category,
            }) => {
                owner == r.health_id
                    && u64::try_from(category)
                        .ok()
                        .and_then(Category::from_code)
                        .is_some_and(|c| r.delegation.covers_category(c))
            }
            None => false,
        };
        if !covered {
            return Err(PeerError::RecordNotFound);
        }
        let file = self.record_file(&req.record_id).await?;
        self.log_delegate_view(&r.health_id, &r.delegation, &[req.record_id.as_str()], now)
            .await?;
        tracing::info!("delegate file");
        Ok(file)
    }

    /// The patient's receipts, for a delegate with `view` or a guardian of a minor.
    pub async fn delegate_receipts(
        &self,
        parts: &RequestParts<'_>,
        req: &DelegateRequest,
    ) -> Result<crate::access::Receipts> {
        let key = self.check_signed(parts).await?;
        let r = self
            .acting_for(&key, &req.patient, true, NumericDate::now())
            .await?;
        self.receipts_of(
            &r.health_id,
            &crate::access::ReceiptsRequest {
                since: req.since,
                known_size: req.known_size,
            },
        )
        .await
    }
}

/// A stored delegation token, re-read (it was verified when registered; a row that no longer
/// parses is an integrity failure).
fn registered(health_id: String, token: &str) -> Result<Registered> {
    let parsed = spondon_core::token::decode_any(token)
        .map_err(|_| PeerError::Integrity("stored delegation does not parse".into()))?;
    match parsed.claims {
        spondon_core::token::TokenClaims::Delegation(delegation) => Ok(Registered {
            health_id,
            delegation,
        }),
        _ => Err(PeerError::Integrity(
            "stored delegation is another kind of token".into(),
        )),
    }
}
