//! Witnessing and the history the wallet accepts, against real `spondon-peer` processes:
//! every checkpoint (for records, receipts or upgraded proofs) must extend the accepted history;
//! records proven before the witnesses cosigned are upgraded on a later sync and exported with
//! the cosigned checkpoint; a forged cosignature is a violation; the trust list is refreshed from
//! the authority's publish URL and an older one is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_ledger::merkle::{leaf_hash, node_hash};
use spondon_ledger::{Checkpoint, EntryKind, Hash, LogEntry, Note, Opening, Signer};
use spondon_testkit::spawned::*;
use spondon_wallet::sync::TrustListRefresh;
use spondon_wallet::{EnrollmentCode, SyncEvent, Violation, Wallet};

const PASS: &[u8] = b"correct horse battery";

fn ks() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::new())
}

fn b64(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// The peer's log signing key, as an insider holding its data directory has it.
fn log_signer(p: &PeerProc) -> Signer {
    let seed: [u8; 32] = std::fs::read(p.data.join("keys/log-ed25519.seed"))
        .unwrap()
        .try_into()
        .unwrap();
    let origin = spondon_ledger::Verifier::from_vkey(&p.log_vkey)
        .unwrap()
        .name()
        .to_owned();
    Signer::ed25519(&origin, Ed25519KeyPair::from_seed(&seed).unwrap()).unwrap()
}

async fn wallet(dir: &std::path::Path, root: &Es256KeyPair, list: &str) -> Wallet {
    let w = Wallet::create(dir, ks(), PASS).await.unwrap();
    w.set_trust_list(list, &root.public_key().to_jwk())
        .await
        .unwrap();
    w
}

/// An insider with the log key answers a receipts request with a checkpoint of a fabricated
/// tree (one that does not extend what the wallet accepted) holding a fabricated access.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipts_checkpoint_must_extend_the_accepted_history() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let (root, list) = trust_list(&[&a]).await;
    let mut w = wallet(&tmp.path().join("wallet"), &root, &list).await;
    w.set_endpoints(endpoints(&[&a]));
    let (hid, text) = a.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&text).unwrap())
        .await
        .unwrap();
    a.cbc(&hid).await;
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    let known = w.peers().await.unwrap()[0].tree_size;
    assert!(known > 0);

    // The fabricated tree: a perfect tree larger than the accepted one whose first leaf is an
    // access event nobody made.
    let signer = log_signer(&a);
    let event = json!({"peer": a.url, "outcome": "allowed", "at": NumericDate::now().seconds(),
        "audience": "Dr. Nobody", "grant_id": "AAAAAAAAAAAAAAAAAAAAAA", "records": []});
    let opening = Opening {
        salt: [9; 32],
        payload: serde_json::to_vec(&event).unwrap(),
    };
    let entry = LogEntry::commit(EntryKind::AccessGranted, NumericDate::now(), &opening).encode();
    let size = (known + 1).next_power_of_two();
    let mut level: Vec<Hash> = (0..size)
        .map(|i| {
            if i == 0 {
                leaf_hash(&entry)
            } else {
                leaf_hash(&i.to_be_bytes())
            }
        })
        .collect();
    let mut path = Vec::new();
    while level.len() > 1 {
        path.push(b64(&level[1]));
        level = level.chunks(2).map(|c| node_hash(&c[0], &c[1])).collect();
    }
    let mut note =
        Note::new(Checkpoint::new(signer.verifier().name(), size, level[0]).to_text()).unwrap();
    note.signatures.push(signer.sign(&note.text, 0).unwrap());
    let fabricated = json!({
        "receipts": [{"seq": 999_999, "event": event, "log_index": 0, "entry": b64(&entry),
                      "salt": spondon_core::b64::encode([9u8; 32]), "inclusion_proof": path}],
        "cursor": 999_999, "checkpoint": note.to_text(), "tree_size": size, "consistency_proof": []
    });
    let proxy = proxy(a.base()).await;
    *proxy.rewrite.lock().unwrap() = Some(Box::new(move |path: &str, v: Value| {
        if path == "/patient/receipts" {
            fabricated.clone()
        } else {
            v
        }
    }));
    w.set_endpoints([(a.url.clone(), format!("http://{}", proxy.addr))].into());
    let r = w.sync(&|_| {}).await.unwrap();
    let (_, v) = r.violation().expect("the fabricated tree is refused");
    assert!(matches!(v, Violation::Fork { .. }), "{v:?}");
    assert!(
        w.receipts().await.unwrap().is_empty(),
        "no fabricated receipt kept"
    );
    assert_eq!(w.peers().await.unwrap()[0].tree_size, known);
    assert_eq!(w.alerts().await.unwrap().len(), 1);
}

/// Waits until `p`'s checkpoint carries a cosignature besides the log's own.
async fn until_cosigned(p: &PeerProc) {
    for _ in 0..1200 {
        let note = p.checkpoint().await;
        if note.lines().filter(|l| l.starts_with('\u{2014}')).count() >= 2 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the witness never cosigned");
}

/// Records pulled while the only independent witness is down wait; once it has cosigned, the
/// next sync upgrades their proofs and the export carries the cosigned checkpoint. A forged
/// cosignature from a listed witness is a violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_wait_for_the_witness_quorum_and_are_upgraded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let mut b = PeerProc::start(tmp.path(), "labaid.example", "Labaid Diagnostics").await;
    let root = Es256KeyPair::generate().unwrap();
    let mut value = trust_list_value(&[&a, &b], 1).await;
    value.witnessing = witnessing(&[&a, &b], 1).await;
    let list = value.sign(&root).unwrap();
    // Labaid witnesses DMCH's log; DMCH pushes its checkpoints to Labaid. Labaid stays down.
    b.stop();
    b.admin("witness-log", &["--vkey", &a.log_vkey]);
    a.stop();
    a.admin(
        "add-witness",
        &[
            "--url",
            &format!("{}/witness", b.base()),
            "--vkey",
            &b.witness_vkey,
        ],
    );
    a.serve().await;
    let mut w = wallet(&tmp.path().join("wallet"), &root, &list).await;
    w.set_endpoints(endpoints(&[&a]));
    let (hid, text) = a.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&text).unwrap())
        .await
        .unwrap();
    a.cbc(&hid).await;
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    assert_eq!(r.peers[0].new_records, 1);
    assert_eq!(r.peers[0].pending_witness, 1, "{r:?}");
    let stored = w.stored_records().await.unwrap();
    assert!(!stored[0].witnessed);
    // The peer's state names the one record that waits (a later sync reads only it).
    let waiting = w.peers().await.unwrap()[0].unwitnessed.clone().unwrap();
    assert_eq!(waiting.records.len(), 1);
    assert!(waiting.records.contains(&stored[0].key));
    let auth = w.authorize(PASS).await.unwrap();
    let req = spondon_wallet::export::ExportRequest {
        record_ids: vec![],
        receipts: false,
        link_url: None,
        link_label: None,
        ..Default::default()
    };
    let files = w.export(&auth, &req).await.unwrap();
    let card = &files.report.cards[0];
    assert!(
        card.warnings.iter().any(|p| p.code == "log_not_witnessed"),
        "{card:?}"
    );
    assert_eq!(card.log.as_ref().unwrap().witness_quorum, 1);

    // The witness comes up; DMCH's retry reaches it and its checkpoint is cosigned.
    b.serve().await;
    until_cosigned(&a).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let r = w.sync(&move |e| ev2.lock().unwrap().push(e)).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    assert_eq!(r.peers[0].pending_witness, 0, "{r:?}");
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SyncEvent::Witnessed { upgraded: 1, .. })),
        "{:?}",
        events.lock().unwrap()
    );
    let stored = w.stored_records().await.unwrap();
    assert!(stored[0].witnessed);
    let waiting = w.peers().await.unwrap()[0].unwitnessed.clone().unwrap();
    assert!(
        waiting.records.is_empty() && waiting.receipts.is_empty(),
        "{waiting:?}"
    );
    let (_, proof) = w.record_detail(&stored[0].id).await.unwrap();
    let proof = proof.unwrap();
    let witness_name = spondon_ledger::Verifier::from_vkey(&b.witness_vkey)
        .unwrap()
        .name()
        .to_owned();
    assert_eq!(proof.witnesses, vec![(witness_name.clone(), true)]);
    let files = w.export(&auth, &req).await.unwrap();
    assert!(files.report.valid, "{:?}", files.report);
    let card = &files.report.cards[0];
    assert!(card.warnings.iter().all(|p| p.code != "log_not_witnessed"));
    assert_eq!(card.log.as_ref().unwrap().witness_cosignatures, 1);

    // A cosignature line from the listed witness that does not verify: refused, nothing kept.
    a.cbc(&hid).await;
    until_cosigned(&a).await;
    let proxy = proxy(a.base()).await;
    let name = witness_name.clone();
    *proxy.rewrite.lock().unwrap() = Some(Box::new(move |path: &str, mut v: Value| {
        if path == "/patient/records" {
            let note = v["checkpoint"].as_str().unwrap().to_owned();
            let forged: Vec<String> = note
                .split('\n')
                .map(|l| {
                    if l.starts_with(&format!("\u{2014} {name} ")) {
                        let mut l = l.to_owned();
                        let i = l.len() - 10;
                        let c = if &l[i..=i] == "A" { "B" } else { "A" };
                        l.replace_range(i..=i, c);
                        l
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            v["checkpoint"] = Value::String(forged.join("\n"));
        }
        v
    }));
    w.set_endpoints([(a.url.clone(), format!("http://{}", proxy.addr))].into());
    let r = w.sync(&|_| {}).await.unwrap();
    let (_, v) = r.violation().expect("a forged cosignature is refused");
    assert!(
        matches!(v, Violation::BadCheckpoint { reason } if reason.contains("witness")),
        "{v:?}"
    );
    assert_eq!(w.stored_records().await.unwrap().len(), 1);
}

/// The wallet refreshes the trust list from the authority's publish URL at every sync: a newer
/// list is installed, an older one (validly signed) is refused and kept as an alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_list_is_refreshed_and_a_rollback_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Arc::new(Mutex::new(String::new()));
    let s2 = served.clone();
    let app = axum::Router::new().route(
        "/trust-list",
        axum::routing::get(move || {
            let s = s2.lock().unwrap().clone();
            async move { s }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/trust-list", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let root = Es256KeyPair::generate().unwrap();
    let list = |sequence: u64| {
        let now = NumericDate::now();
        spondon_core::token::TrustList {
            witnessing: Default::default(),
            publish_url: Some(url.clone()),
            investigators: Vec::new(),
            authority: "DGHS".into(),
            sequence,
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(30 * 86_400),
            hospitals: vec![],
        }
        .sign(&root)
        .unwrap()
    };
    let w = wallet(&tmp.path().join("wallet"), &root, &list(1)).await;
    *served.lock().unwrap() = list(1);
    let r = w.sync(&|_| {}).await.unwrap();
    assert_eq!(
        r.trust_list,
        Some(TrustListRefresh::Unchanged { sequence: 1 })
    );

    *served.lock().unwrap() = list(2);
    let r = w.sync(&|_| {}).await.unwrap();
    assert_eq!(
        r.trust_list,
        Some(TrustListRefresh::Updated { sequence: 2 })
    );
    assert_eq!(w.trust_list().await.unwrap().sequence, 2);

    *served.lock().unwrap() = list(1);
    let r = w.sync(&|_| {}).await.unwrap();
    assert_eq!(
        r.trust_list,
        Some(TrustListRefresh::RolledBack {
            pinned: 2,
            published: 1
        })
    );
    assert_eq!(w.trust_list().await.unwrap().sequence, 2);
    let alerts = w.alerts().await.unwrap();
    assert!(matches!(
        alerts[0].violation,
        Violation::TrustListRollback {
            pinned: 2,
            published: 1
        }
    ));

    // Signed by another key, or not a list at all: the pinned one stays.
    let other = Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();
    *served.lock().unwrap() = spondon_core::token::TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS".into(),
        sequence: 9,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
        hospitals: vec![],
    }
    .sign(&other)
    .unwrap();
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(
        matches!(r.trust_list, Some(TrustListRefresh::Failed { .. })),
        "{r:?}"
    );
    *served.lock().unwrap() = "<html>maintenance</html>".into();
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(matches!(
        r.trust_list,
        Some(TrustListRefresh::Failed { .. })
    ));
    assert_eq!(w.trust_list().await.unwrap().sequence, 2);
}
