//! A delegate's (or a minor's guardian's) reads at one peer, verified like the patient's own.

use spondon_protocol::{DelegateRequest, Pull, Receipts};

use super::check::{Accepted, HospitalCheck, verify_records, violation};
use super::types::{StoredReceipt, StoredRecord};
use crate::error::Result;

/// Most pages one delegate pull follows.
const MAX_DELEGATE_PAGES: usize = 100;

/// A delegate's pull of a patient's records from one peer (`POST /delegate/records`, signed by
/// the delegate's key), every record verified like the wallet's own against a checkpoint
/// signed by the hospital's log key. No head is kept between calls.
pub(crate) async fn delegate_records(
    net: &crate::net::PeerClient,
    key: &spondon_core::keys::Es256KeyPair,
    check: &HospitalCheck,
    body: &DelegateRequest,
) -> Result<Vec<StoredRecord>> {
    let peer = &check.hospital.peer_url;
    let mut out = Vec::new();
    let mut since = 0u64;
    for _ in 0..MAX_DELEGATE_PAGES {
        let b = DelegateRequest {
            since,
            ..body.clone()
        };
        let pull: Pull = net.signed_post(key, peer, "/delegate/records", &b).await?;
        let known = Accepted {
            size: 0,
            root: None,
        };
        let (_, cp) = check
            .checkpoint(&pull.checkpoint, pull.tree_size, None, known)
            .map_err(|v| violation(peer, v))?;
        out.extend(verify_records(check, &pull.records, &cp).map_err(|v| violation(peer, v))?);
        if !pull.more || pull.cursor <= since {
            break;
        }
        since = pull.cursor;
    }
    Ok(out)
}

/// A delegate's (or a minor's guardian's) read of a patient's receipts at one peer
/// (`POST /delegate/receipts`), each verified like the patient's own.
pub(crate) async fn delegate_receipts(
    net: &crate::net::PeerClient,
    key: &spondon_core::keys::Es256KeyPair,
    check: &HospitalCheck,
    body: &DelegateRequest,
) -> Result<Vec<StoredReceipt>> {
    let peer = &check.hospital.peer_url;
    let r: Receipts = net
        .signed_post(key, peer, "/delegate/receipts", body)
        .await?;
    let known = Accepted {
        size: 0,
        root: None,
    };
    let (_, cp) = check
        .checkpoint(&r.checkpoint, r.tree_size, None, known)
        .map_err(|v| violation(peer, v))?;
    r.receipts
        .iter()
        .map(|x| check.receipt(x, &cp).map_err(|v| violation(peer, v)))
        .collect()
}
