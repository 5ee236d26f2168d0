//! One task per peer: fetches pages of records and receipts, verifies them off the async
//! threads, and hands them to the sync loop ([`super::run`]) in order.

use std::sync::Arc;

use spondon_core::keys::Es256KeyPair;
use spondon_protocol::{Pull, PullRequest, Receipts, ReceiptsRequest};
use tokio::sync::mpsc;

use super::check::{Accepted, HospitalCheck, verify_records_then, violation};
use super::types::{PeerState, StoredReceipt};
use crate::crypto::CacheKeys;
use crate::error::{Result, WalletError};
use crate::net::PeerClient;
use crate::store::{Table, Write, seal_doc};

/// A spawned task that is cancelled when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Messages from the per-peer fetch-and-verify tasks to the storing loop.
/// A verified record of a page, already sealed for the cache.
pub(super) struct SealedRecord {
    /// Its cache key.
    pub key: String,
    /// Its record kind.
    pub kind: String,
    /// Its proof's checkpoint carries the witnesses' quorum.
    pub witnessed: bool,
    /// The sealed row ([`Write::Sealed`]).
    pub write: Write,
}

pub(super) enum Msg {
    Page {
        peer: String,
        records: Vec<SealedRecord>,
        cursor: u64,
        accepted: (String, Accepted),
        more: bool,
    },
    Receipts {
        peer: String,
        receipts: Vec<StoredReceipt>,
        cursor: u64,
        /// The receipts' checkpoint, proven consistent with the last accepted one.
        accepted: (String, Accepted),
    },
    Done {
        peer: String,
    },
    Failed {
        peer: String,
        error: WalletError,
    },
}

pub(super) async fn peer_task(
    net: PeerClient,
    key: Arc<Es256KeyPair>,
    check: HospitalCheck,
    keys: Arc<CacheKeys>,
    state: PeerState,
    tx: mpsc::Sender<Msg>,
) {
    let peer = state.url.clone();
    let res = peer_task_inner(&net, &key, &check, &keys, state, &tx).await;
    let msg = match res {
        Ok(()) => Msg::Done { peer },
        Err(error) => Msg::Failed { peer, error },
    };
    let _ = tx.send(msg).await;
}

async fn peer_task_inner(
    net: &PeerClient,
    key: &Arc<Es256KeyPair>,
    check: &HospitalCheck,
    keys: &Arc<CacheKeys>,
    state: PeerState,
    tx: &mpsc::Sender<Msg>,
) -> Result<()> {
    let peer = state.url.clone();
    let mut known = Accepted::of(&state);
    let mut cursor = state.cursor;
    // The next page is fetched while this one is verified (its consistency proof starts at the
    // size this page claims, which verification then confirms before the next page is checked).
    let fetch = |since: u64, known_size: u64| {
        let net = net.clone();
        let key = key.clone();
        let peer = peer.clone();
        AbortOnDrop(tokio::spawn(async move {
            net.signed_post::<Pull>(
                &key,
                &peer,
                "/patient/records",
                &PullRequest { since, known_size },
            )
            .await
        }))
    };
    let mut next = Some(fetch(cursor, known.size));
    while let Some(mut h) = next.take() {
        let pull: Pull = (&mut h.0)
            .await
            .map_err(|e| WalletError::Internal(e.to_string()))??;
        if pull.more && pull.cursor > cursor {
            next = Some(fetch(pull.cursor, pull.tree_size));
        }
        let check2 = check.clone();
        let keys2 = keys.clone();
        let peer2 = peer.clone();
        let known2 = known;
        // Checked, and each row sealed for the cache, on the checking threads: the sync loop
        // only writes them.
        let (records, accepted, cp_text) = tokio::task::spawn_blocking(move || -> Result<_> {
            let (accepted, cp) = check2
                .checkpoint(
                    &pull.checkpoint,
                    pull.tree_size,
                    Some(&pull.consistency_proof),
                    known2,
                )
                .map_err(|v| violation(&peer2, v))?;
            let witnessed = check2.witnessed(&cp).map_err(|v| violation(&peer2, v))?;
            let nonces = crate::crypto::nonces(pull.records.len())?;
            let note = &pull.checkpoint;
            let sealed = verify_records_then(&check2, &pull.records, &cp, &|i, mut r| {
                r.witnessed = witnessed;
                r.checkpoint = Some(note.clone());
                let nonce = nonces
                    .get(i)
                    .copied()
                    .ok_or_else(|| WalletError::Internal("a nonce is missing".into()))?;
                let write = seal_doc(&keys2, Table::Records, &r.key, &r, nonce)?;
                Ok(SealedRecord {
                    key: r.key,
                    kind: r.kind,
                    witnessed,
                    write,
                })
            })
            .map_err(|v| violation(&peer2, v))?;
            let records = sealed.into_iter().collect::<Result<Vec<_>>>()?;
            Ok((records, accepted, (pull.checkpoint, pull.cursor, pull.more)))
        })
        .await
        .map_err(|e| WalletError::Internal(e.to_string()))??;
        let (cp, new_cursor, more) = cp_text;
        if new_cursor < cursor || (more && new_cursor == cursor) {
            return Err(WalletError::BadResponse {
                peer,
                reason: "the cursor did not advance".into(),
            });
        }
        known = accepted;
        cursor = new_cursor;
        if tx
            .send(Msg::Page {
                peer: peer.clone(),
                records,
                cursor,
                accepted: (cp, accepted),
                more,
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        if !more {
            break;
        }
    }
    // Receipts.
    let mut rcursor = state.receipts_cursor;
    loop {
        let r: Receipts = net
            .signed_post(
                key,
                &peer,
                "/patient/receipts",
                &ReceiptsRequest {
                    since: rcursor,
                    known_size: known.size,
                },
            )
            .await?;
        // Every checkpoint accepted, for any purpose, must extend the history already accepted.
        let (accepted, cp) = check
            .checkpoint(
                &r.checkpoint,
                r.tree_size,
                Some(&r.consistency_proof),
                known,
            )
            .map_err(|v| violation(&peer, v))?;
        let witnessed = check.witnessed(&cp).map_err(|v| violation(&peer, v))?;
        let mut out = Vec::with_capacity(r.receipts.len());
        for x in &r.receipts {
            let mut receipt = check.receipt(x, &cp).map_err(|v| violation(&peer, v))?;
            receipt.witnessed = witnessed;
            out.push(receipt);
            if x.seq > r.cursor {
                return Err(WalletError::BadResponse {
                    peer,
                    reason: "receipt beyond the cursor".into(),
                });
            }
        }
        let n = out.len();
        if r.cursor < rcursor || (n > 0 && r.cursor == rcursor) {
            return Err(WalletError::BadResponse {
                peer,
                reason: "the receipts cursor did not advance".into(),
            });
        }
        rcursor = r.cursor;
        known = accepted;
        if tx
            .send(Msg::Receipts {
                peer: peer.clone(),
                receipts: out,
                cursor: rcursor,
                accepted: (r.checkpoint, accepted),
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        if n < 500 {
            break;
        }
    }
    Ok(())
}
