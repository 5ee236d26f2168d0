//! Proof of sharing for an investigator (`docs/protocol.md` §14): from one access receipt the
//! wallet holds, a share proof signed with the patient key — the logged access with its opening
//! and proof, the grant, the doctor's credential, each record's log entry — and no record
//! content.

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_ledger::share_proof::{AccessPart, FORMAT, RecordPart, ShareProof, VerifiedShare};

use crate::error::{Result, WalletError};
use crate::grants::{Doctor, StoredGrant};
use crate::store::Table;
use crate::sync::{StoredReceipt, StoredRecord};
use crate::wallet::{Authorization, Wallet};

/// An access receipt a share proof can be made of (an allowed access).
#[derive(Debug, Clone, Serialize)]
pub struct ShareableAccess {
    /// The access's index in the hospital's log: what `share_proof` takes.
    pub log_index: u64,
    /// The URL of the hospital's peer where the access happened.
    pub peer: String,
    /// The hospital's display name (its peer URL when the wallet does not know it).
    pub hospital_name: String,
    /// When the access happened (seconds since the epoch).
    pub at: i64,
    /// The id of the grant used (base64url), if any.
    pub grant_id: Option<String>,
    /// The ids of the records the access read or wrote.
    pub records: Vec<String>,
    /// Its checkpoint carries the trust list's witness quorum (else sync again later).
    pub witnessed: bool,
}

/// Which access to prove.
#[derive(Debug, Clone, Default)]
pub struct ShareProofRequest {
    /// The access's log index.
    pub log_index: u64,
    /// The hospital (peer URL, trust-list id or name), when two hospitals logged an access at
    /// the same index.
    pub hospital: Option<String>,
    /// The investigator it is for (an id the trust list names).
    pub investigator: Option<String>,
}

/// A share proof made and checked.
#[derive(Debug, Clone)]
pub struct MadeShareProof {
    /// The file's text (a compact JWS).
    pub text: String,
    /// What it proves, as a verifier will see it.
    pub verified: VerifiedShare,
}

fn invalid(m: impl Into<String>) -> WalletError {
    WalletError::BadShareProof(m.into())
}

impl Wallet {
    /// The allowed accesses a share proof can be made of, newest first.
    pub async fn shareable_accesses(&self) -> Result<Vec<ShareableAccess>> {
        let mut receipts: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
        receipts.retain(|r| r.outcome == "allowed");
        receipts.sort_by(|a, b| b.at.cmp(&a.at).then(b.log_index.cmp(&a.log_index)));
        let peers = self.peers().await?;
        Ok(receipts
            .into_iter()
            .map(|r| ShareableAccess {
                hospital_name: peers
                    .iter()
                    .find(|p| p.url == r.peer)
                    .map(|p| p.hospital_name.clone())
                    .unwrap_or_else(|| r.peer.clone()),
                log_index: r.log_index,
                peer: r.peer,
                at: r.at,
                grant_id: r.grant_id,
                records: r.records,
                witnessed: r.witnessed,
            })
            .collect())
    }

    /// Makes the share proof of one allowed access, signed with the patient key, and verifies
    /// it against the pinned trust list exactly as an investigator will. Needs a fresh
    /// [`Authorization`] (it signs).
    pub async fn share_proof(
        &self,
        auth: &Authorization,
        req: &ShareProofRequest,
    ) -> Result<MadeShareProof> {
        self.check_auth(auth)?;
        let list = self.trust_list().await?;
        let peers = self.peers().await?;
        let receipts: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
        let mut found: Vec<StoredReceipt> = receipts
            .into_iter()
            .filter(|r| r.log_index == req.log_index)
            .filter(|r| match &req.hospital {
                None => true,
                Some(h) => {
                    r.peer == *h
                        || peers.iter().any(|p| {
                            p.url == r.peer && (p.hospital_id == *h || p.hospital_name == *h)
                        })
                }
            })
            .collect();
        let r = match found.len() {
            0 => {
                return Err(WalletError::NotFound(format!(
                    "no access receipt with log index {} (see `spondon share-proof --list`)",
                    req.log_index
                )));
            }
            1 => found.remove(0),
            _ => {
                return Err(invalid(format!(
                    "several hospitals logged an access at index {}: name the hospital with --hospital",
                    req.log_index
                )));
            }
        };
        if r.outcome != "allowed" {
            return Err(invalid(
                "this receipt is a refused access: nothing was shared, there is nothing to prove",
            ));
        }
        let (Some(event), Some(salt), Some(entry), Some(checkpoint)) = (
            r.event_json.clone(),
            r.salt.clone(),
            r.entry.as_deref(),
            r.checkpoint.as_deref(),
        ) else {
            return Err(invalid(
                "this receipt was kept without its log proof (an older wallet): it cannot be proven",
            ));
        };
        if !r.witnessed {
            return Err(invalid(
                "the hospital's log checkpoint for this access is not yet cosigned by the witnesses the trust list requires: run `spondon sync` later and try again",
            ));
        }
        let access_proof =
            crate::export::bundle(entry, r.log_index, &r.inclusion_proof, checkpoint)
                .ok_or_else(|| invalid("the stored log proof of this receipt is not readable"))?;
        let grant_id = r
            .grant_id
            .clone()
            .ok_or_else(|| invalid("this access names no grant"))?;
        let grants: Vec<StoredGrant> = self.grants().await?;
        let grant = grants.iter().find(|g| g.id == grant_id).ok_or_else(|| {
            WalletError::NotFound(
                "the grant of this access is not in this wallet (made on another device?)".into(),
            )
        })?;
        let doctor = match &r.audience {
            None => None,
            Some(kid) => {
                let doctors: Vec<Doctor> = self.doctors().await?;
                let d = doctors.iter().find(|d| &d.kid == kid).ok_or_else(|| {
                    WalletError::NotFound(format!(
                        "the credential of the doctor (key {kid}) is not in this wallet: add it with `spondon doctor FILE`"
                    ))
                })?;
                Some(d.credential.clone())
            }
        };
        let stored: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let mut records = Vec::with_capacity(r.records.len());
        for id in &r.records {
            let rec = stored
                .iter()
                .find(|x| &x.id == id && x.peer.as_deref() == Some(r.peer.as_str()))
                .ok_or_else(|| {
                    WalletError::NotFound(format!(
                        "record {id} of this access is not in the wallet: run `spondon sync` first"
                    ))
                })?;
            let (Some(entry), Some(index), Some(cp)) = (
                rec.entry.as_deref(),
                rec.log_index,
                rec.checkpoint.as_deref(),
            ) else {
                return Err(invalid(format!("record {id} has no log proof")));
            };
            let proof =
                crate::export::bundle(entry, index, &rec.inclusion_proof, cp).ok_or_else(|| {
                    invalid(format!(
                        "the stored log proof of record {id} is not readable"
                    ))
                })?;
            records.push(RecordPart {
                id: id.clone(),
                kind: rec.kind.clone(),
                proof: proof.to_text(),
            });
        }
        let proof = ShareProof {
            format: FORMAT.into(),
            created: NumericDate::now().seconds(),
            investigator: req.investigator.clone(),
            peer: r.peer.clone(),
            access: AccessPart {
                event,
                salt,
                proof: access_proof.to_text(),
            },
            grant: grant.text.clone(),
            doctor,
            records,
        };
        if let Some(i) = &req.investigator
            && list.investigator(i).is_none()
        {
            return Err(invalid(format!(
                "{i:?} is not an investigator the trust list names{}",
                if list.investigators.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        list.investigators
                            .iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )));
        }
        let text = proof
            .sign(&self.signing)
            .map_err(|e| WalletError::Internal(e.to_string()))?;
        // Checked as the investigator will check it: what does not verify is not handed out.
        let verified =
            spondon_ledger::share_proof::verify(text.as_bytes(), &list).map_err(|e| {
                invalid(format!(
                    "the share proof does not verify ({}): {e}",
                    e.code()
                ))
            })?;
        Ok(MadeShareProof { text, verified })
    }
}
