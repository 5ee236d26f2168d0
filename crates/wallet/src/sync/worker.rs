//! One task per peer: fetches pages of records and receipts, verifies them off the async
//! threads, and hands them to the sync loop ([`super::run`]) in order.

use std::sync::Arc;

use spondon_core::keys::Es256KeyPair;
use spondon_protocol::{Pull, PullRequest, Receipts, ReceiptsRequest};
use tokio::sync::mpsc;

use super::check::{Accepted, HospitalCheck, verify_records, violation};
use super::types::{PeerState, StoredReceipt, StoredRecord};
use crate::error::{Result, Violation, WalletError};
use crate::net::PeerClient;

/// A spawned task that is cancelled when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Messages from the per-peer fetch-and-verify tasks to the storing loop.
pub(super) enum Msg {
    Page {
        peer: String,
        records: Vec<StoredRecord>,
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
    state: PeerState,
    tx: mpsc::Sender<Msg>,
) {
    let peer = state.url.clone();
    let res = peer_task_inner(&net, &key, &check, state, &tx).await;
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
        let known2 = known;
        let (records, accepted, cp_text) =
            tokio::task::spawn_blocking(move || -> Result<_, Violation> {
                let (accepted, cp) = check2.checkpoint(
                    &pull.checkpoint,
                    pull.tree_size,
                    Some(&pull.consistency_proof),
                    known2,
                )?;
                let witnessed = check2.witnessed(&cp)?;
                let mut records = verify_records(&check2, &pull.records, &cp)?;
                for r in &mut records {
                    r.witnessed = witnessed;
                }
                Ok((records, accepted, (pull.checkpoint, pull.cursor, pull.more)))
            })
            .await
            .map_err(|e| WalletError::Internal(e.to_string()))?
            .map_err(|v| violation(&peer, v))?;
        let (cp, new_cursor, more) = cp_text;
        if new_cursor < cursor || (more && new_cursor == cursor) {
            return Err(WalletError::BadResponse {
                peer,
                reason: "the cursor did not advance".into(),
            });
        }
        let records: Vec<StoredRecord> = records
            .into_iter()
            .map(|mut r| {
                r.checkpoint = Some(cp.clone());
                r
            })
            .collect();
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
