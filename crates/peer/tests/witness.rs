//! One peer witnesses another's log over HTTP (C2SP tlog-witness), and the cosigned checkpoint
//! verifies with both keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

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

/// The log key and witness key of an initialized (closed) peer.
async fn vkeys(dir: &tempfile::TempDir) -> (String, String) {
    let p = spondon_peer::Peer::open(
        &spondon_peer::config::DataDir::new(dir.path().join("peer")),
        None,
    )
    .await
    .unwrap();
    let out = (p.log_vkey(), p.witness.verifier().to_vkey());
    p.close().await;
    out
}

/// Polls `/checkpoint` until it is cosigned by `witness` at the log's current size (the
/// deadline only turns a hang into a failure; nothing is timed).
async fn wait_cosigned(tp: &TestPeer, log: &str, witness: &str) -> SignedCheckpoint {
    let log_key = Verifier::from_vkey(log).unwrap();
    let w = Verifier::from_vkey(witness).unwrap();
    for _ in 0..1200 {
        let r = tp.get("/checkpoint").await;
        assert_eq!(r.status, 200);
        let cp = SignedCheckpoint::verify(
            r.body.as_slice(),
            tp.peer.log.origin(),
            std::slice::from_ref(&log_key),
        )
        .unwrap();
        if cp.checkpoint.size == tp.peer.log.tree_head().await.0
            && cp.count_cosignatures(std::slice::from_ref(&w)).unwrap() == 1
        {
            return cp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no cosignature from {witness} on {}", tp.peer.log.origin());
}

async fn issue_one(tp: &TestPeer, nid: &str) {
    let hid = register_patient(tp, nid).await;
    let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

#[tokio::test]
async fn two_peers_push_their_checkpoints_to_each_other() {
    let (a_dir, a_token) = init_dir("https://dmch.example", None).await;
    let (b_dir, b_token) = init_dir("https://cmch.example", None).await;
    let (a_log, a_witness) = vkeys(&a_dir).await;
    let (b_log, b_witness) = vkeys(&b_dir).await;
    // B's address, while B is still down.
    let b_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let a = serve_dir(a_dir, a_token, None, |c| {
        c.witness_logs.push(b_log.clone());
        c.witnesses.push(spondon_peer::config::WitnessEndpoint {
            url: format!("http://{b_addr}/witness"),
            vkey: b_witness.clone(),
        });
    })
    .await;
    // Issuance does not wait for the (unreachable) witness.
    issue_one(&a, "1000000001").await;
    for _ in 0..1200 {
        if a.witnessing.as_ref().unwrap().status()[0].failures > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let st = &a.witnessing.as_ref().unwrap().status()[0];
    assert!(st.failures > 0 && st.cosigned_size.is_none(), "{st:?}");
    let r = a.get("/checkpoint").await;
    assert_eq!(
        r.text().lines().filter(|l| l.starts_with('—')).count(),
        1,
        "only the log's own signature"
    );

    // B comes up, witnessing A and witnessed by A.
    let a_addr = a.addr;
    let b = serve_dir(b_dir, b_token, Some(b_addr), |c| {
        c.witness_logs.push(a_log.clone());
        c.witnesses.push(spondon_peer::config::WitnessEndpoint {
            url: format!("http://{a_addr}/witness"),
            vkey: a_witness.clone(),
        });
    })
    .await;
    let cp = wait_cosigned(&a, &a_log, &b_witness).await;
    assert_eq!(cp.checkpoint.size, 1, "one issuance, one entry");
    issue_one(&b, "2000000002").await;
    wait_cosigned(&b, &b_log, &a_witness).await;

    // What pulls and redemptions embed, and the wallet-side proof bundle check.
    let (size, note) = a.peer.current_checkpoint().await.unwrap();
    assert_eq!(size, 1);
    assert_eq!(note.as_bytes(), a.get("/checkpoint").await.body.as_slice());
    let bundle = a.peer.log.proof_bundle(0).await.unwrap();
    let b_w = Verifier::from_vkey(&b_witness).unwrap();
    bundle
        .verify(
            a.peer.log.origin(),
            &[Verifier::from_vkey(&a_log).unwrap()],
            std::slice::from_ref(&b_w),
            1,
        )
        .unwrap();
    // A forged "cosignature" (A's own witness key claiming B's name) is not accepted.
    assert!(
        bundle
            .verify(
                a.peer.log.origin(),
                &[Verifier::from_vkey(&a_log).unwrap()],
                &[Verifier::from_vkey(&a_witness).unwrap()],
                1,
            )
            .is_err()
    );

    // A restarts its push tasks (they forget what B cosigned): B answers 409 with its size,
    // A resyncs and gets the next checkpoint cosigned.
    let mut a = a;
    a.witnessing.take().unwrap().stop();
    a.witnessing = Some(spondon_peer::witnessing::Witnessing::start(a.peer.clone()).unwrap());
    issue_one(&a, "1000000003").await;
    let cp = wait_cosigned(&a, &a_log, &b_witness).await;
    assert_eq!(cp.checkpoint.size, 2);
    let st = &a.witnessing.as_ref().unwrap().status()[0];
    assert!(st.conflicts >= 1 && st.cosigned_size == Some(2), "{st:?}");
    a.stop().await;
    b.stop().await;
}
