//! Upgrading proofs received before the witnesses cosigned to a checkpoint that carries the
//! trust list's quorum.

use std::collections::BTreeMap;

use spondon_ledger::merkle::{leaf_hash, verify_inclusion};
use spondon_protocol::{ProofsRequest, WitnessedProofs, b64};

use super::check::{Accepted, HospitalCheck, violation};
use super::types::{PeerState, StoredReceipt, StoredRecord, Unwitnessed};
use crate::error::{Result, Violation, WalletError};
use crate::store::Table;
use crate::wallet::Wallet;

impl Wallet {
    /// Replaces the proofs of this peer's records and receipts that wait for witness
    /// cosignatures with proofs against the newest checkpoint carrying the quorum, after
    /// checking that checkpoint against the history already accepted. Returns how many were
    /// upgraded and how many still wait.
    pub(super) async fn upgrade_proofs(&self, check: &HospitalCheck) -> Result<(u64, u64)> {
        let peer = check.hospital.peer_url.as_str();
        let quorum = u8::try_from(check.policy.quorum()).unwrap_or(u8::MAX);
        let Some(mut state) = self.store.get::<PeerState>(Table::Peers, peer).await? else {
            return Ok((0, 0));
        };
        let mut records: BTreeMap<u64, StoredRecord> = BTreeMap::new();
        let mut receipts: BTreeMap<u64, StoredReceipt> = BTreeMap::new();
        match &state.unwitnessed {
            // Only the ones known to wait.
            Some(u) => {
                for key in &u.records {
                    if let Some(r) = self.store.get::<StoredRecord>(Table::Records, key).await?
                        && !r.witnessed
                        && let Some(i) = r.log_index
                    {
                        records.insert(i, r);
                    }
                }
                for key in &u.receipts {
                    if let Some(r) = self
                        .store
                        .get::<StoredReceipt>(Table::Receipts, key)
                        .await?
                        && !r.witnessed
                    {
                        receipts.insert(r.log_index, r);
                    }
                }
            }
            // Not known yet (state from before the field): read the whole history once.
            None => {
                records = self
                    .store
                    .all::<StoredRecord>(Table::Records)
                    .await?
                    .into_iter()
                    .filter(|r| r.peer.as_deref() == Some(peer) && !r.witnessed)
                    .filter_map(|r| r.log_index.map(|i| (i, r)))
                    .collect();
                receipts = self
                    .store
                    .all::<StoredReceipt>(Table::Receipts)
                    .await?
                    .into_iter()
                    .filter(|r| r.peer == peer && !r.witnessed)
                    .map(|r| (r.log_index, r))
                    .collect();
            }
        }
        // What still waits, as found (a filled-in set, or stale keys dropped).
        let mut pending = Unwitnessed {
            records: records.values().map(|r| r.key.clone()).collect(),
            receipts: receipts.values().map(|r| r.key.clone()).collect(),
        };
        let total = (records.len() + receipts.len()) as u64;
        if total == 0 {
            if state.unwitnessed.as_ref() != Some(&pending) {
                state.unwitnessed = Some(pending);
                self.store.put(Table::Peers, peer, &state).await?;
            }
            return Ok((0, 0));
        }
        let indices: Vec<u64> = records.keys().chain(receipts.keys()).copied().collect();
        let mut upgraded = 0u64;
        for chunk in indices.chunks(1000) {
            let known = Accepted::of(&state);
            let answer: WitnessedProofs = match self
                .net
                .signed_post(
                    &self.signing,
                    peer,
                    "/patient/proofs",
                    &ProofsRequest {
                        log_indices: chunk.to_vec(),
                        min_cosignatures: quorum,
                        known_size: known.size,
                    },
                )
                .await
            {
                Ok(a) => a,
                Err(WalletError::PeerRefused { code, .. }) if code == "not_witnessed" => break,
                Err(e) => return Err(e),
            };
            let (cp, head) = check
                .witnessed_checkpoint(&answer, known)
                .map_err(|v| violation(peer, v))?;
            if !check.witnessed(&cp).map_err(|v| violation(peer, v))? {
                // The peer counts cosignatures of witnesses the trust list does not name.
                break;
            }
            let mut writes = Vec::new();
            for p in &answer.proofs {
                let bad = |reason: String| {
                    violation(
                        peer,
                        Violation::TamperedRecord {
                            log_index: p.log_index,
                            reason,
                        },
                    )
                };
                let logged = |entry: &str| -> Result<()> {
                    let bytes =
                        b64::log::decode(entry).ok_or_else(|| bad("stored entry".into()))?;
                    let proof = p
                        .proof_hashes()
                        .ok_or_else(|| bad("malformed inclusion proof".into()))?;
                    verify_inclusion(
                        &leaf_hash(&bytes),
                        p.log_index,
                        cp.checkpoint.size,
                        &proof,
                        &cp.checkpoint.root,
                    )
                    .map_err(|e| bad(format!("inclusion in the witnessed checkpoint: {e}")))
                };
                if let Some(r) = records.get_mut(&p.log_index) {
                    logged(r.entry.as_deref().unwrap_or_default())?;
                    r.inclusion_proof = p.inclusion_proof.clone();
                    r.checkpoint = Some(answer.checkpoint.clone());
                    r.witnessed = true;
                    writes.push(self.store.encode(Table::Records, &r.key, &*r)?);
                    pending.records.remove(&r.key);
                } else if let Some(r) = receipts.get_mut(&p.log_index) {
                    logged(r.entry.as_deref().unwrap_or_default())?;
                    r.inclusion_proof = p.inclusion_proof.clone();
                    r.checkpoint = Some(answer.checkpoint.clone());
                    r.witnessed = true;
                    writes.push(self.store.encode(Table::Receipts, &r.key, &*r)?);
                    pending.receipts.remove(&r.key);
                } else {
                    continue;
                }
                upgraded += 1;
            }
            if let Some(head) = head {
                state.accept((answer.checkpoint.clone(), head));
            }
            // The upgraded proofs and what still waits, in one write.
            state.unwitnessed = Some(pending.clone());
            writes.push(self.store.encode(Table::Peers, peer, &state)?);
            self.store.apply(writes).await?;
        }
        if state.unwitnessed.as_ref() != Some(&pending) {
            state.unwitnessed = Some(pending);
            self.store.put(Table::Peers, peer, &state).await?;
        }
        Ok((upgraded, total - upgraded))
    }
}
