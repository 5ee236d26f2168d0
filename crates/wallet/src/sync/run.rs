//! The sync loop: starts a worker per enrolled peer, stores each verified page at once with
//! its cursor, undoes everything from a peer that breaks the rules, then upgrades proofs,
//! pushes the emergency policy and fetches documents' files.

use std::collections::BTreeMap;

use spondon_core::NumericDate;
use tokio::sync::mpsc;

use super::check::HospitalCheck;
use super::types::{
    Alert, PeerOutcome, PeerState, StoredReceipt, StoredRecord, SyncEvent, SyncReport, Unwitnessed,
    empty_outcome,
};
use super::worker::{Msg, SealedRecord, peer_task};
use crate::documents::DOCUMENT_KIND;
use crate::error::{Result, Violation, WalletError};
use crate::store::{Table, Write};
use crate::wallet::Wallet;

impl Wallet {
    /// The peers this wallet is enrolled at.
    pub async fn peers(&self) -> Result<Vec<PeerState>> {
        let mut v: Vec<PeerState> = self.store.all(Table::Peers).await?;
        v.sort_by(|a, b| a.hospital_name.cmp(&b.hospital_name));
        Ok(v)
    }

    /// Security alerts recorded by earlier syncs.
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        let mut v: Vec<Alert> = self.store.all(Table::Alerts).await?;
        v.sort_by_key(|a| a.at);
        Ok(v)
    }

    /// Syncs from every enrolled peer concurrently (see the module docs for what is verified).
    /// Each verified page is stored at once with its cursor (resumable); a peer that breaks the
    /// rules has everything from this sync removed again and an alert recorded.
    pub async fn sync(&self, progress: &(dyn Fn(SyncEvent) + Send + Sync)) -> Result<SyncReport> {
        let (list, trust_list) = self.refresh_trust_list(self.trust_list().await?).await?;
        if let Some(refresh) = &trust_list {
            progress(SyncEvent::TrustList {
                refresh: refresh.clone(),
            });
        }
        let peers = self.peers().await?;
        progress(SyncEvent::Started { peers: peers.len() });
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let mut original: BTreeMap<String, PeerState> = BTreeMap::new();
        let mut outcomes: BTreeMap<String, PeerOutcome> = BTreeMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut checks: BTreeMap<String, HospitalCheck> = BTreeMap::new();
        for p in peers {
            let outcome = PeerOutcome {
                peer: p.url.clone(),
                new_records: 0,
                new_receipts: 0,
                error: None,
                error_code: None,
                violation: None,
                pending_witness: 0,
                new_files: 0,
                files_failed: 0,
            };
            let Some(h) = list.hospitals.iter().find(|h| h.peer_url == p.url) else {
                outcomes.insert(
                    p.url.clone(),
                    PeerOutcome {
                        error: Some(format!(
                            "{} is no longer in the trust list; not synced",
                            p.url
                        )),
                        error_code: Some("untrusted_peer"),
                        ..outcome
                    },
                );
                continue;
            };
            let check = HospitalCheck::new(&list, h)?;
            checks.insert(p.url.clone(), check.clone());
            outcomes.insert(p.url.clone(), outcome);
            original.insert(p.url.clone(), p.clone());
            tasks.spawn(peer_task(
                self.net.clone(),
                self.signing.clone(),
                check,
                self.store.keys(),
                p,
                tx.clone(),
            ));
        }
        drop(tx);
        let mut current = original.clone();
        // The pages are stored through one connection (its page cache kept from page to page).
        let mut writer = self.store.writer().await?;
        let mut inserted: BTreeMap<String, Vec<(Table, String)>> = BTreeMap::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Page {
                    peer,
                    records,
                    cursor,
                    accepted,
                    more,
                } => {
                    let Some(state) = current.get_mut(&peer) else {
                        continue;
                    };
                    if let Some(wanted) = state.files_wanted.as_mut() {
                        wanted.extend(
                            records
                                .iter()
                                .filter(|r| r.kind == DOCUMENT_KIND)
                                .map(|r| r.key.clone()),
                        );
                    }
                    state.cursor = cursor;
                    state.accept(accepted);
                    let new = self
                        .store_records(&mut writer, records, &peer, state)
                        .await?;
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    o.new_records += new.len() as u64;
                    inserted.entry(peer.clone()).or_default().extend(new);
                    progress(SyncEvent::Records {
                        peer: peer.clone(),
                        done: o.new_records,
                        more,
                    });
                }
                Msg::Receipts {
                    peer,
                    receipts,
                    cursor,
                    accepted,
                } => {
                    let Some(state) = current.get_mut(&peer) else {
                        continue;
                    };
                    state.receipts_cursor = cursor;
                    state.accept(accepted);
                    let new = self.store_page(&receipts, &peer, state).await?;
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    o.new_receipts += new.len() as u64;
                    progress(SyncEvent::Receipts {
                        peer: peer.clone(),
                        new: new.len() as u64,
                    });
                    inserted.entry(peer).or_default().extend(new);
                }
                Msg::Done { peer } => {
                    if let Some(state) = current.get_mut(&peer) {
                        state.last_sync = Some(NumericDate::now().seconds());
                        self.store.put(Table::Peers, &peer, &*state).await?;
                    }
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    progress(SyncEvent::PeerDone {
                        peer,
                        records: o.new_records,
                        receipts: o.new_receipts,
                    });
                }
                Msg::Failed { peer, error } => {
                    let o = outcomes
                        .entry(peer.clone())
                        .or_insert_with(|| empty_outcome(&peer));
                    if let WalletError::HistoryViolation { violation, .. } = &error {
                        // Undo everything stored from this peer during this sync.
                        let mut writes: Vec<Write> = inserted
                            .remove(&peer)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(t, k)| Write::Delete(t, k))
                            .collect();
                        if let Some(orig) = original.get(&peer) {
                            writes.push(self.store.encode(Table::Peers, &peer, orig)?);
                            current.insert(peer.clone(), orig.clone());
                        }
                        writes.push(self.alert_write(&peer, violation)?);
                        self.store.apply(writes).await?;
                        o.new_records = 0;
                        o.new_receipts = 0;
                        o.violation = Some(violation.clone());
                        progress(SyncEvent::Violation {
                            peer: peer.clone(),
                            violation: violation.clone(),
                        });
                    } else {
                        progress(SyncEvent::PeerFailed {
                            peer: peer.clone(),
                            error: error.to_string(),
                            code: error.code(),
                        });
                    }
                    o.error = Some(error.to_string());
                    o.error_code = Some(error.code());
                }
            }
        }
        drop(writer);
        while tasks.join_next().await.is_some() {}
        // Proofs that waited for witnesses: upgraded where a checkpoint now carries the quorum.
        for (peer, check) in &checks {
            let Some(o) = outcomes.get_mut(peer) else {
                continue;
            };
            if o.error.is_some() || check.policy.quorum() == 0 {
                continue;
            }
            match self.upgrade_proofs(check).await {
                Ok((upgraded, pending)) => {
                    o.pending_witness = pending;
                    if upgraded > 0 {
                        progress(SyncEvent::Witnessed {
                            peer: peer.clone(),
                            upgraded,
                        });
                    }
                }
                Err(WalletError::HistoryViolation { violation, .. }) => {
                    self.store
                        .apply(vec![self.alert_write(peer, &violation)?])
                        .await?;
                    progress(SyncEvent::Violation {
                        peer: peer.clone(),
                        violation: violation.clone(),
                    });
                    let e = WalletError::HistoryViolation {
                        peer: peer.clone(),
                        violation: violation.clone(),
                    };
                    o.error = Some(e.to_string());
                    o.error_code = Some(e.code());
                    o.violation = Some(violation);
                }
                Err(e) => {
                    progress(SyncEvent::PeerFailed {
                        peer: peer.clone(),
                        error: e.to_string(),
                        code: e.code(),
                    });
                    o.error = Some(e.to_string());
                    o.error_code = Some(e.code());
                }
            }
        }
        // The emergency access policy, to the hospitals that have not acknowledged it (newly
        // enrolled, or unreachable when it was set); a failure is retried at the next sync.
        let emergency_policy = self.push_emergency_policy().await?;
        // The files of document records, from the peers that synced without error.
        let healthy: std::collections::BTreeSet<String> = outcomes
            .values()
            .filter(|o| o.error.is_none())
            .map(|o| o.peer.clone())
            .collect();
        let files = self
            .fetch_files_from(Some(&healthy), &|e| match e {
                crate::documents::FileEvent::Progress {
                    peer,
                    record_id,
                    done,
                    total,
                } => progress(SyncEvent::File {
                    peer,
                    record_id,
                    done,
                    total,
                }),
                crate::documents::FileEvent::Kept { peer, record_id } => {
                    progress(SyncEvent::FileKept { peer, record_id })
                }
                crate::documents::FileEvent::Failed {
                    peer,
                    record_id,
                    error,
                    code,
                } => progress(SyncEvent::FileFailed {
                    peer,
                    record_id,
                    error,
                    code,
                }),
                crate::documents::FileEvent::Started { .. } => {}
            })
            .await?;
        for k in &files.kept {
            if let Some(o) = outcomes.get_mut(&k.peer) {
                o.new_files += 1;
            }
        }
        for f in &files.failed {
            if let Some(o) = outcomes.get_mut(&f.peer) {
                o.files_failed += 1;
            }
        }
        Ok(SyncReport {
            peers: outcomes.into_values().collect(),
            trust_list,
            emergency_policy,
        })
    }

    /// Stores one verified page of `table` (records or receipts) and the peer's state, its
    /// cursor already moved, in one transaction; notes which rows still wait for the
    /// witnesses. Returns the rows that were not stored before (undone if the peer later
    /// breaks the rules).
    async fn store_page<R: PageRow>(
        &self,
        rows: &[R],
        peer: &str,
        state: &mut PeerState,
    ) -> Result<Vec<(Table, String)>> {
        let keys: Vec<&str> = rows.iter().map(PageRow::key).collect();
        let existing = self.store.existing(R::TABLE, &keys).await?;
        let mut new = Vec::new();
        let mut writes = Vec::with_capacity(rows.len() + 1);
        for row in rows {
            let key = row.key();
            if !existing.contains(key) {
                new.push((R::TABLE, key.to_owned()));
            }
            if let Some(u) = state.unwitnessed.as_mut() {
                Unwitnessed::note(R::waiting(u), key, row.witnessed());
            }
            writes.push(self.store.encode(R::TABLE, key, row)?);
        }
        writes.push(self.store.encode(Table::Peers, peer, &*state)?);
        self.store.apply(writes).await?;
        Ok(new)
    }

    /// [`store_page`](Self::store_page) for a page of records the worker already sealed.
    async fn store_records(
        &self,
        writer: &mut crate::store::Writer<'_>,
        rows: Vec<SealedRecord>,
        peer: &str,
        state: &mut PeerState,
    ) -> Result<Vec<(Table, String)>> {
        let idxs: Vec<&[u8]> = rows
            .iter()
            .filter_map(|r| match &r.write {
                Write::Sealed(Table::Records, idx, _) => Some(idx.as_slice()),
                _ => None,
            })
            .collect();
        if idxs.len() != rows.len() {
            return Err(WalletError::Internal("a record was not sealed".into()));
        }
        let existing = writer.existing_idx(Table::Records, &idxs).await?;
        let mut new = Vec::new();
        let mut writes = Vec::with_capacity(rows.len() + 1);
        for row in rows {
            if let Write::Sealed(_, idx, _) = &row.write
                && !existing.contains(idx)
            {
                new.push((Table::Records, row.key.clone()));
            }
            if let Some(u) = state.unwitnessed.as_mut() {
                Unwitnessed::note(&mut u.records, &row.key, row.witnessed);
            }
            writes.push(row.write);
        }
        writes.push(self.store.encode(Table::Peers, peer, &*state)?);
        writer.apply(writes).await?;
        Ok(new)
    }

    /// The write that keeps a security alert.
    pub(super) fn alert_write(&self, source: &str, violation: &Violation) -> Result<Write> {
        let alert = Alert {
            at: NumericDate::now().seconds(),
            peer: source.to_owned(),
            violation: violation.clone(),
        };
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            source,
            alert.at,
            hex::encode(crate::crypto::random::<8>()?)
        );
        self.store.encode(Table::Alerts, &key, &alert)
    }
}

/// A verified row of a page: a record or a receipt.
trait PageRow: serde::Serialize {
    /// Its table in the cache.
    const TABLE: Table;
    /// Its key in the cache.
    fn key(&self) -> &str;
    /// Its proof's checkpoint carries the witnesses' quorum.
    fn witnessed(&self) -> bool;
    /// The set of its kind still waiting for the witnesses.
    fn waiting(u: &mut Unwitnessed) -> &mut std::collections::BTreeSet<String>;
}

impl PageRow for StoredRecord {
    const TABLE: Table = Table::Records;
    fn key(&self) -> &str {
        &self.key
    }
    fn witnessed(&self) -> bool {
        self.witnessed
    }
    fn waiting(u: &mut Unwitnessed) -> &mut std::collections::BTreeSet<String> {
        &mut u.records
    }
}

impl PageRow for StoredReceipt {
    const TABLE: Table = Table::Receipts;
    fn key(&self) -> &str {
        &self.key
    }
    fn witnessed(&self) -> bool {
        self.witnessed
    }
    fn waiting(u: &mut Unwitnessed) -> &mut std::collections::BTreeSet<String> {
        &mut u.receipts
    }
}
