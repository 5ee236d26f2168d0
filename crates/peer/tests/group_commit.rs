//! Group commit keeps every record's own checks: concurrent issuances are written together
//! (one append, one row transaction, one checkpoint per batch), but within a batch an
//! idempotency key still issues once and a record is still superseded once; every caller is
//! answered after the checkpoint that covers its record (both engines).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{engines, lab_report, register_patient, start};
use spondon_peer::records::{Idempotency, IssueRequest};

const TASKS: usize = 12;

async fn checks_hold_in_batches(db: Option<&str>) {
    let tp = start(db).await;
    let hid = register_patient(&tp, "5551234568").await;
    let peer = tp.peer.clone();
    let req: IssueRequest = serde_json::from_value(lab_report(&hid)).unwrap();

    // Many at once, each with its own key: all issued, distinct indexes, each covered by the
    // signed checkpoint when its caller hears of it.
    let all = futures(
        (0..TASKS)
            .map(|i| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: format!("own-{i}"),
                        request_hash: [1; 32],
                    };
                    let (r, replayed) = peer.issue_record_idempotent(&req, key).await.unwrap();
                    assert!(!replayed);
                    let (size, _) = peer.current_checkpoint().await.unwrap();
                    assert!(r.log_index < size, "answered before its checkpoint");
                    r
                })
            })
            .collect(),
    )
    .await;
    let idx: BTreeSet<u64> = all.iter().map(|r| r.log_index).collect();
    assert_eq!(idx, (0..TASKS as u64).collect());

    // One key, the same request, many at once: issued once, every other caller gets that
    // record as a replay.
    let same = futures(
        (0..TASKS)
            .map(|_| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: "shared".into(),
                        request_hash: [2; 32],
                    };
                    peer.issue_record_idempotent(&req, key).await.unwrap()
                })
            })
            .collect(),
    )
    .await;
    let ids: BTreeSet<&str> = same.iter().map(|(r, _)| r.id.as_str()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(same.iter().filter(|(_, replayed)| !replayed).count(), 1);

    // One key, different requests, at once: one issued, the others refused.
    let reused = futures(
        (0..TASKS)
            .map(|i| {
                let (peer, req) = (peer.clone(), req.clone());
                tokio::spawn(async move {
                    let key = Idempotency {
                        scope: "t".into(),
                        key: "reused".into(),
                        request_hash: [10 + i as u8; 32],
                    };
                    peer.issue_record_idempotent(&req, key)
                        .await
                        .map_err(|e| e.code())
                })
            })
            .collect(),
    )
    .await;
    assert_eq!(reused.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &reused {
        if let Err(code) = r {
            assert_eq!(*code, "idempotency_key_reused");
        }
    }

    // The same record superseded by many at once: once.
    let old = all[0].id.clone();
    let sup = futures(
        (0..TASKS)
            .map(|_| {
                let peer = peer.clone();
                let mut req = req.clone();
                req.supersedes = Some(old.clone());
                tokio::spawn(async move { peer.issue_record(&req).await.map_err(|e| e.code()) })
            })
            .collect(),
    )
    .await;
    assert_eq!(sup.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &sup {
        if let Err(code) = r {
            assert_eq!(*code, "bad_supersede");
        }
    }

    // Nothing refused reached the log: one entry per stored record, all signed.
    let records = peer.record_count(Some(&hid)).await.unwrap();
    assert_eq!(records, TASKS as u64 + 3);
    let (size, _) = peer.current_checkpoint().await.unwrap();
    assert_eq!(size, records);
    drop(peer);
    tp.stop().await;
}

async fn futures<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_keeps_each_records_checks() {
    for db in engines("group_commit_keeps_each_records_checks").await {
        checks_hold_in_batches(db.as_deref()).await;
    }
}
