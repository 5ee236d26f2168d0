//! One peer witnesses another's log over HTTP (C2SP tlog-witness), and the cosigned checkpoint
//! verifies with both keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use spondon_ledger::{SignedCheckpoint, Verifier};

#[tokio::test]
async fn peers_witness_each_others_logs() {
    // Peer B, whose log A will witness.
    let b_dir = tempfile::tempdir().unwrap();
    let b_data = spondon_peer::config::DataDir::new(b_dir.path().join("b"));
    let (b, _) = spondon_peer::Peer::init(
        &b_data,
        "Chittagong Medical College Hospital",
        "https://cmch.example",
        None,
    )
    .await
    .unwrap();
    let hid = b
        .register_patient(&serde_json::from_value(patient_json("1231231231")).unwrap())
        .await
        .unwrap()
        .health_id;
    b.issue_record(&serde_json::from_value(lab_report(&hid)).unwrap())
        .await
        .unwrap();
    // Peer A trusts B's log key (what `spondon-peer witness-log` writes).
    let b_vkey = b.log_vkey();
    let a = start_with(None, |c| c.witness_logs.push(b_vkey.clone())).await;
    let a_data = spondon_peer::config::DataDir::new(a.dir.path().join("peer"));
    let cfg = a_data.add_witness_log(&b_vkey).unwrap();
    assert_eq!(
        cfg.witness_logs,
        vec![b_vkey.clone()],
        "re-adding replaces, never duplicates"
    );
    assert!(
        a_data.add_witness_log(&a.peer.log_vkey()).is_err(),
        "not its own log"
    );
    assert!(a_data.add_witness_log("garbage").is_err());

    // B asks A to cosign its checkpoint.
    let body = b.log.witness_request(0).await.unwrap();
    let r = request(
        a.addr,
        "POST",
        "/witness/add-checkpoint",
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let witness = a.peer.witness.verifier().clone();
    assert_eq!(
        b.log.add_cosignatures(&witness, &r.text()).await.unwrap(),
        1
    );
    let note = b.log.cosigned_checkpoint().await.unwrap();
    let cp = SignedCheckpoint::verify(
        note.as_bytes(),
        b.log.origin(),
        &[Verifier::from_vkey(&b_vkey).unwrap()],
    )
    .unwrap();
    assert_eq!(
        cp.count_cosignatures(std::slice::from_ref(&witness))
            .unwrap(),
        1
    );
    // An unknown log is refused.
    let foreign = a.peer.log.witness_request(0).await.unwrap();
    let r = request(
        a.addr,
        "POST",
        "/witness/add-checkpoint",
        &[],
        foreign.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    b.close().await;
    a.stop().await;
}
