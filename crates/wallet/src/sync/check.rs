//! Verifying one hospital's data: checkpoints (signature, witnesses, consistency with the
//! accepted history), records (`spondon_ledger::check_record`) and access receipts.

use spondon_core::NumericDate;
use spondon_core::shc::{Directory, VerifyOptions};
use spondon_core::token::{Hospital, TrustList};
use spondon_ledger::merkle::verify_consistency;
use spondon_ledger::{
    EntryKind, Expected, Hash, Logged, RecordClaim, SignedCheckpoint, Verifier, WitnessPolicy,
    check_logged, check_record,
};
use spondon_protocol::{AccessEvent, PulledRecord, Receipt, WitnessedProofs, b64};

use super::types::{EmergencyInfo, PeerState, StoredReceipt, StoredRecord, Trust, record_key};
use crate::error::{Result, Violation, WalletError};

/// The last accepted tree head of a peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(super) size: u64,
    pub(super) root: Option<Hash>,
}

impl Accepted {
    pub(super) fn of(state: &PeerState) -> Self {
        Self {
            size: state.tree_size,
            root: state.root.as_deref().and_then(b64::log::hash),
        }
    }
}

/// Everything needed to check one hospital's data offline.
#[derive(Debug, Clone)]
pub(crate) struct HospitalCheck {
    pub hospital: Hospital,
    pub directory: Directory,
    pub log: Verifier,
    /// The trust list's witnesses and quorum for this hospital's log.
    pub policy: WitnessPolicy,
}

impl HospitalCheck {
    pub(crate) fn new(list: &TrustList, h: &Hospital) -> Result<Self> {
        let mut directory = Directory::new();
        directory.add_issuer(&h.peer_url, Some(&h.name))?;
        directory.add_jwks(&h.peer_url, h.jwks())?;
        let log = Verifier::ed25519(&h.log_origin, h.log_key)
            .map_err(|e| WalletError::TrustList(format!("log key of {}: {e}", h.id)))?;
        let policy = WitnessPolicy::for_hospital(list, h)
            .map_err(|e| WalletError::TrustList(format!("witness keys: {e}")))?;
        Ok(Self {
            hospital: h.clone(),
            directory,
            log,
            policy,
        })
    }

    /// Whether a verified checkpoint carries the quorum; a cosignature from a listed witness
    /// that does not verify is a violation.
    pub(super) fn witnessed(&self, cp: &SignedCheckpoint) -> Result<bool, Violation> {
        self.policy
            .check(cp)
            .map(|w| w.met())
            .map_err(|e| Violation::BadCheckpoint {
                reason: format!("a witness cosignature does not verify: {e}"),
            })
    }

    /// Verifies a checkpoint against the log key, its witness cosignatures and the last
    /// accepted head (a consistency proof from it is required whenever the size grows);
    /// returns the new head.
    pub(super) fn checkpoint(
        &self,
        text: &str,
        size: u64,
        proof: Option<&[String]>,
        known: Accepted,
    ) -> Result<(Accepted, SignedCheckpoint), Violation> {
        let cp = SignedCheckpoint::verify(
            text.as_bytes(),
            &self.hospital.log_origin,
            std::slice::from_ref(&self.log),
        )
        .map_err(|e| Violation::BadCheckpoint {
            reason: e.to_string(),
        })?;
        let c = &cp.checkpoint;
        if c.size != size {
            return Err(Violation::BadCheckpoint {
                reason: format!("answer names tree size {size}, checkpoint says {}", c.size),
            });
        }
        if c.size < known.size {
            return Err(Violation::Rollback {
                known: known.size,
                got: c.size,
            });
        }
        if let Some(old) = known.root {
            if c.size == known.size {
                if c.root != old {
                    return Err(Violation::Fork {
                        from: known.size,
                        to: c.size,
                        reason: "same size, different root".into(),
                    });
                }
            } else {
                let proof = proof.ok_or_else(|| Violation::Fork {
                    from: known.size,
                    to: c.size,
                    reason: "no consistency proof from the accepted checkpoint".into(),
                })?;
                let p = b64::log::hashes(proof).ok_or_else(|| Violation::Fork {
                    from: known.size,
                    to: c.size,
                    reason: "malformed consistency proof".into(),
                })?;
                verify_consistency(known.size, c.size, &p, &old, &c.root).map_err(|e| {
                    Violation::Fork {
                        from: known.size,
                        to: c.size,
                        reason: e.to_string(),
                    }
                })?;
            }
        }
        self.witnessed(&cp)?;
        Ok((
            Accepted {
                size: c.size,
                root: Some(c.root),
            },
            cp,
        ))
    }

    /// Verifies the checkpoint of a proofs answer: the log's signature, and consistency with
    /// the accepted head in whichever direction (a witnessed checkpoint may be older than the
    /// newest one accepted). Returns it, and the new head when it is newer.
    pub(super) fn witnessed_checkpoint(
        &self,
        answer: &WitnessedProofs,
        known: Accepted,
    ) -> Result<(SignedCheckpoint, Option<Accepted>), Violation> {
        let cp = SignedCheckpoint::verify(
            answer.checkpoint.as_bytes(),
            &self.hospital.log_origin,
            std::slice::from_ref(&self.log),
        )
        .map_err(|e| Violation::BadCheckpoint {
            reason: e.to_string(),
        })?;
        let c = &cp.checkpoint;
        if c.size != answer.tree_size {
            return Err(Violation::BadCheckpoint {
                reason: format!(
                    "answer names tree size {}, checkpoint says {}",
                    answer.tree_size, c.size
                ),
            });
        }
        let Some(known_root) = known.root else {
            return Ok((cp, None));
        };
        let fork = |reason: String| Violation::Fork {
            from: known.size,
            to: c.size,
            reason,
        };
        let proof = b64::log::hashes(&answer.consistency_proof)
            .ok_or_else(|| fork("malformed consistency proof".into()))?;
        if c.size == known.size {
            if c.root != known_root {
                return Err(fork("same size, different root".into()));
            }
            return Ok((cp, None));
        }
        if c.size < known.size {
            verify_consistency(c.size, known.size, &proof, &c.root, &known_root)
                .map_err(|e| fork(e.to_string()))?;
            return Ok((cp, None));
        }
        verify_consistency(known.size, c.size, &proof, &known_root, &c.root)
            .map_err(|e| fork(e.to_string()))?;
        let head = Accepted {
            size: c.size,
            root: Some(c.root),
        };
        Ok((cp, Some(head)))
    }

    /// Verifies one pulled record against a checkpoint (card, commitment, inclusion).
    pub(crate) fn record(
        &self,
        r: &PulledRecord,
        cp: &SignedCheckpoint,
        now: NumericDate,
    ) -> Result<StoredRecord, Violation> {
        let bad = |reason: String| Violation::TamperedRecord {
            log_index: r.log_index,
            reason,
        };
        let logged = Logged::of_record(r).map_err(|e| bad(e.to_string()))?;
        check_record(
            RecordClaim {
                jws: &r.jws,
                id: &r.id,
                issuer: &self.hospital.peer_url,
            },
            &logged,
            &self.directory,
            &VerifyOptions::at(now),
            &cp.checkpoint,
        )
        .map_err(|e| bad(e.to_string()))?;
        Ok(StoredRecord {
            key: record_key(&self.hospital.peer_url, &r.id),
            id: r.id.clone(),
            issuer: self.hospital.peer_url.clone(),
            issuer_name: Some(self.hospital.name.clone()),
            kind: r.kind.clone(),
            supersedes: r.supersedes.clone(),
            issued_at: r.issued_at,
            jws: r.jws.clone(),
            peer: Some(self.hospital.peer_url.clone()),
            log_index: Some(r.log_index),
            entry: Some(r.entry.clone()),
            salt: Some(r.salt.clone()),
            inclusion_proof: r.inclusion_proof.clone(),
            checkpoint: None,
            trust: Trust::Verified,
            witnessed: false,
        })
    }

    pub(super) fn receipt(
        &self,
        r: &Receipt,
        cp: &SignedCheckpoint,
    ) -> Result<StoredReceipt, Violation> {
        let bad = |reason: String| Violation::TamperedReceipt {
            log_index: r.log_index,
            reason,
        };
        let payload = r.event_text();
        let logged = Logged::of_receipt(r).map_err(|e| bad(e.to_string()))?;
        let entry = check_logged(
            &logged,
            Expected::ACCESS_EVENT,
            payload.as_bytes(),
            &cp.checkpoint,
        )
        .map_err(|e| bad(e.to_string()))?;
        let ev = AccessEvent::from_value(&r.event).map_err(|e| bad(format!("event: {e}")))?;
        if ev.peer != self.hospital.peer_url {
            return Err(bad("event names another peer".into()));
        }
        // An allowed emergency access is its own kind of entry; a refused one is a denial.
        let emergency = ev.action.as_deref() == Some("emergency");
        // A key rotation (docs/protocol.md §17) is its own kind of entry too, always allowed.
        let rotation = ev.action.as_deref() == Some("key_rotation");
        let allowed_kind = if emergency {
            EntryKind::EmergencyAccess
        } else if rotation {
            EntryKind::KeyRotation
        } else {
            EntryKind::AccessGranted
        };
        if ev.allowed() != (entry.kind == allowed_kind)
            || (entry.kind == EntryKind::EmergencyAccess && !emergency)
            || ((entry.kind == EntryKind::KeyRotation) != rotation)
        {
            return Err(bad("event outcome contradicts the log entry".into()));
        }
        let emergency = if emergency {
            Some(
                EmergencyInfo::from_event(&r.event)
                    .map_err(|e| bad(format!("emergency event: {e}")))?,
            )
        } else {
            None
        };
        Ok(StoredReceipt {
            key: format!("{}\u{0}{}", self.hospital.peer_url, r.log_index),
            peer: self.hospital.peer_url.clone(),
            log_index: r.log_index,
            at: ev.at,
            outcome: ev.outcome,
            reason: ev.reason,
            grant_id: ev.grant_id,
            audience: ev.audience,
            action: ev.action,
            records: ev.records,
            event_json: Some(payload),
            salt: Some(r.salt.clone()),
            entry: Some(r.entry.clone()),
            inclusion_proof: r.inclusion_proof.clone(),
            checkpoint: Some(cp.note.to_text()),
            witnessed: false,
            emergency,
            delegate: ev.delegate,
        })
    }
}

impl PeerState {
    /// Records a newly accepted head (already proven consistent with the previous one).
    pub(super) fn accept(&mut self, (note, head): (String, Accepted)) {
        self.checkpoint = Some(note);
        self.tree_size = head.size;
        self.root = head.root.map(b64::log::encode);
    }
}

/// Verifies records on all cores.
pub(super) fn verify_records(
    check: &HospitalCheck,
    records: &[PulledRecord],
    cp: &SignedCheckpoint,
) -> Result<Vec<StoredRecord>, Violation> {
    verify_records_then(check, records, cp, &|_, r| r)
}

/// Verifies records on all cores, and runs `then` on each verified record on the thread that
/// verified it, with the record's place in `records` (the sync seals the rows there, beside
/// the checks of the other threads).
pub(super) fn verify_records_then<O: Send>(
    check: &HospitalCheck,
    records: &[PulledRecord],
    cp: &SignedCheckpoint,
    then: &(dyn Fn(usize, StoredRecord) -> O + Sync),
) -> Result<Vec<O>, Violation> {
    let now = NumericDate::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16);
    if records.len() < 32 || threads == 1 {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| check.record(r, cp, now).map(|v| then(i, v)))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    let results: Vec<Result<Vec<O>, Violation>> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, r)| check.record(r, cp, now).map(|v| then(k * chunk + i, v)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Violation::TamperedRecord {
                        log_index: 0,
                        reason: "verification thread failed".into(),
                    })
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(records.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

pub(super) fn violation(peer: &str, v: Violation) -> WalletError {
    WalletError::HistoryViolation {
        peer: peer.to_owned(),
        violation: v,
    }
}
