//! The hospital's proof of sharing for an investigator (`docs/protocol.md` §14,
//! `POST /staff/share-proofs`): for one allowed access in this peer's log, the access event with
//! its opening and proof, the grant the patient signed (kept when the access was allowed), the
//! doctor's credential, each record's log entry with its proof — no record content — signed
//! with the hospital's record key.

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_ledger::ProofBundle;
use spondon_ledger::share_proof::{AccessPart, FORMAT, RecordPart, ShareProof};

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, to_i64, to_u64};

/// A staff request for a share proof.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShareProofRequest {
    /// The allowed access's log index (the patient's access log in the console shows it).
    pub log_index: u64,
    /// The investigator it is handed to: an id the consortium trust list names.
    pub investigator: String,
    /// Prove against the newest checkpoint with at least this many witness cosignatures (the
    /// trust list's quorum); default 0: the current checkpoint with the cosignatures it has.
    #[serde(default)]
    pub min_cosignatures: u8,
    /// The doctor's credential (`SPONDON:1:…`), for a doctor registered at another hospital;
    /// default: the credential this peer issued for the grant's audience key.
    #[serde(default)]
    pub doctor_credential: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ShareProofAnswer {
    /// The share-proof file's text (a compact JWS, `spondon-verifier share-proof` checks it).
    pub share_proof: String,
    pub log_index: u64,
    /// When the access happened.
    pub at: i64,
    pub records: usize,
    /// The checkpoint size the proofs are made against.
    pub tree_size: u64,
}

#[derive(Deserialize)]
struct Event {
    at: i64,
    #[serde(default)]
    audience: Option<String>,
    records: Vec<String>,
}

impl Peer {
    /// Makes the share proof of the allowed access at `req.log_index`.
    pub async fn share_proof(&self, req: &ShareProofRequest) -> Result<ShareProofAnswer> {
        if !spondon_core::token::is_investigator_id(&req.investigator) {
            return Err(PeerError::field(
                "investigator",
                "must be an investigator id of the trust list, [a-z0-9.-]{1,64}",
            ));
        }
        let index = to_i64(req.log_index)?;
        let row = db::access_events::event_at(&self.db, index).await?;
        let Some(db::access_events::EventAt {
            outcome,
            salt,
            payload: event_text,
        }) = row
        else {
            return Err(PeerError::field(
                "log_index",
                "no access was logged at this index",
            ));
        };
        if outcome != "allowed" {
            return Err(PeerError::field(
                "log_index",
                "this access was refused: nothing was shared, there is nothing to prove",
            ));
        }
        let grant = db::access_events::grant_at(&self.db, index).await?;
        let grant = grant.ok_or_else(|| {
            PeerError::field(
                "log_index",
                "the grant of this access was not kept (an access from before proofs of sharing): ask the patient for the proof",
            )
        })?;
        let event: Event = serde_json::from_str(&event_text)
            .map_err(|_| PeerError::Integrity("stored access event is not JSON".into()))?;
        let doctor = match (&req.doctor_credential, &event.audience) {
            (_, None) => None,
            (Some(c), Some(_)) => Some(c.clone()),
            (None, Some(kid)) => {
                let c = db::doctors::credential_by_kid(&self.db, kid).await?;
                Some(c.ok_or_else(|| {
                    PeerError::field(
                        "doctor_credential",
                        "the doctor is not registered here: give their credential",
                    )
                })?)
            }
        };
        let (size, checkpoint) = if req.min_cosignatures > 0 {
            self.log
                .witnessed_checkpoint(usize::from(req.min_cosignatures))
                .await?
                .ok_or(PeerError::NotWitnessed(req.min_cosignatures))?
        } else {
            let (cp, _) = self.log.signed_checkpoint().await?;
            (cp.size, self.log.cosigned_checkpoint().await?)
        };
        if req.log_index >= size {
            return Err(PeerError::NotWitnessed(req.min_cosignatures));
        }
        let access_proof = self.bundle_at(req.log_index, size, &checkpoint).await?;
        let mut records = Vec::with_capacity(event.records.len());
        for id in &event.records {
            let db::records::Logged {
                kind,
                log_index: li,
            } = db::records::logged(&self.db, id)
                .await?
                .ok_or_else(|| PeerError::Integrity("an accessed record is missing".into()))?;
            records.push(RecordPart {
                id: id.clone(),
                kind,
                proof: self
                    .bundle_at(to_u64(li)?, size, &checkpoint)
                    .await?
                    .to_text(),
            });
        }
        let n = records.len();
        let proof = ShareProof {
            format: FORMAT.into(),
            created: NumericDate::now().seconds(),
            investigator: Some(req.investigator.clone()),
            peer: self.config.url.clone(),
            access: AccessPart {
                event: event_text,
                salt: spondon_core::b64::encode(&salt),
                proof: access_proof.to_text(),
            },
            grant,
            doctor,
            records,
        };
        let text = proof
            .sign(&self.keys.record)
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        tracing::info!(
            log_index = req.log_index,
            "share proof made for an investigator"
        );
        Ok(ShareProofAnswer {
            share_proof: text,
            log_index: req.log_index,
            at: event.at,
            records: n,
            tree_size: size,
        })
    }

    async fn bundle_at(&self, index: u64, size: u64, checkpoint: &str) -> Result<ProofBundle> {
        let entry = self.log.entry(index).await?;
        let (leaf, proof) = self.log.inclusion_proof(index, size).await?;
        if spondon_ledger::merkle::leaf_hash(&entry) != leaf {
            return Err(PeerError::Integrity(format!(
                "log entry {index} does not match its stored leaf hash"
            )));
        }
        Ok(ProofBundle {
            extra: Some(entry),
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}
