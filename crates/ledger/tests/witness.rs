//! Witness (C2SP tlog-witness add-checkpoint) and the tlog-tiles router, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::TestDb;
use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::http::{encode_index, parse_tile_path, tiles_router, witness_router};
use spondon_ledger::merkle::{CompactRange, Hash, empty_root, leaf_hash};
use spondon_ledger::note::{Note, Signer};
use spondon_ledger::{Checkpoint, SignedCheckpoint};
use spondon_ledger::{IntegrityCheck, Log, Witness, WitnessError};
use tower::ServiceExt as _;

const ORIGIN: &str = "peer.hospital.example/log";

fn log_key() -> Signer {
    Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[1; 32]).unwrap()).unwrap()
}

fn witness_key() -> Signer {
    Signer::cosigner(
        "authority.example/witness",
        Ed25519KeyPair::from_seed(&[2; 32]).unwrap(),
    )
    .unwrap()
}

async fn append_n(log: &Log, tag: &str, n: u64) {
    let start = log.tree_head().await.0;
    let entries: Vec<Vec<u8>> = (start..start + n)
        .map(|i| format!("{tag} {i}").into_bytes())
        .collect();
    log.append(&entries).await.unwrap();
}

fn sign_text(text: &str, key: &Signer) -> String {
    let mut note = Note::new(text).unwrap();
    note.signatures.push(key.sign(&note.text, 0).unwrap());
    note.to_text()
}

fn request(old: u64, proof: &[Hash], note: &str) -> String {
    let mut s = format!("old {old}\n");
    for h in proof {
        s.push_str(&STANDARD.encode(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(note);
    s
}

async fn witness_cosigns_and_refuses_forks(t: TestDb) {
    let key = log_key();
    let wkey = witness_key();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    let mut witness = Witness::new(t.connect().await, witness_key());
    witness.trust_log(ORIGIN, vec![key.verifier().clone()]);

    // First contact: old 0, empty proof.
    append_n(&log, "a", 10).await;
    log.sign_checkpoint(&key).await.unwrap();
    let lines = witness
        .add_checkpoint(log.witness_request(0).await.unwrap().as_bytes())
        .await
        .unwrap();
    assert_eq!(
        log.add_cosignatures(wkey.verifier(), &lines).await.unwrap(),
        1
    );
    let cosigned = log.cosigned_checkpoint().await.unwrap();
    let sc =
        SignedCheckpoint::verify(cosigned.as_bytes(), ORIGIN, &[key.verifier().clone()]).unwrap();
    assert_eq!(
        sc.count_cosignatures(&[wkey.verifier().clone()]).unwrap(),
        1
    );
    assert_eq!(witness.latest(ORIGIN).await.unwrap().0, 10);

    // Replaying old 0 now conflicts, telling the latest size.
    let err = witness
        .add_checkpoint(log.witness_request(0).await.unwrap().as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WitnessError::Conflict { old: 0, latest: 10 }),
        "{err}"
    );
    assert_eq!(err.status(), 409);
    // Same checkpoint again from 10: accepted (same size, same root).
    witness
        .add_checkpoint(log.witness_request(10).await.unwrap().as_bytes())
        .await
        .unwrap();

    // Growth with a consistency proof.
    append_n(&log, "a", 25).await;
    let note35 = log.sign_checkpoint(&key).await.unwrap();
    let lines = witness
        .add_checkpoint(log.witness_request(10).await.unwrap().as_bytes())
        .await
        .unwrap();
    log.add_cosignatures(wkey.verifier(), &lines).await.unwrap();
    assert_eq!(witness.latest(ORIGIN).await.unwrap().0, 35);
    // The newest checkpoint with enough cosignatures, even after newer uncosigned ones.
    append_n(&log, "c", 3).await;
    log.sign_checkpoint(&key).await.unwrap();
    let (size, note) = log.witnessed_checkpoint(1).await.unwrap().unwrap();
    assert_eq!(size, 35);
    let sc = SignedCheckpoint::verify(note.as_bytes(), ORIGIN, &[key.verifier().clone()]).unwrap();
    assert_eq!(sc.checkpoint.root, log.root_at(35).await.unwrap());
    assert_eq!(
        sc.count_cosignatures(&[wkey.verifier().clone()]).unwrap(),
        1
    );
    assert!(log.witnessed_checkpoint(2).await.unwrap().is_none());

    // A fork: a second database re-signed with the same key, different entries.
    let fork_db = common::sqlite_db();
    let fork = Log::open(fork_db.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    append_n(&fork, "b", 35).await;
    let fork35 = fork.sign_checkpoint(&key).await.unwrap();
    let err = witness
        .add_checkpoint(request(35, &[], &fork35).as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::Fork(35)), "{err}");
    assert_eq!(err.status(), 422);
    append_n(&fork, "b", 5).await;
    fork.sign_checkpoint(&key).await.unwrap();
    let fork_req = fork.witness_request(35).await.unwrap();
    let err = witness
        .add_checkpoint(fork_req.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::BadProof(_)), "{err}");
    assert_eq!(err.status(), 422);
    // Both refusals left evidence anyone holding the log key can check: the note the witness
    // had cosigned and the refused one, both signed by the log, same size, different roots.
    let forks = witness.forks().await.unwrap();
    assert_eq!(
        forks.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
        ["inconsistent", "fork"]
    );
    let cosigned = SignedCheckpoint::verify(
        forks[1].cosigned.as_bytes(),
        ORIGIN,
        &[key.verifier().clone()],
    )
    .unwrap();
    let (_, refused) = forks[1].refused.split_once("\n\n").unwrap();
    let refused =
        SignedCheckpoint::verify(refused.as_bytes(), ORIGIN, &[key.verifier().clone()]).unwrap();
    assert_eq!(cosigned.checkpoint.size, refused.checkpoint.size);
    assert_ne!(cosigned.checkpoint.root, refused.checkpoint.root);
    assert_eq!(forks[0].refused, fork_req);
    // Rollback to a smaller tree.
    let small = sign_text(
        &Checkpoint::new(ORIGIN, 10, log.root_at(10).await.unwrap()).to_text(),
        &key,
    );
    let err = witness
        .add_checkpoint(request(35, &[], &small).as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WitnessError::OldSizeTooLarge { old: 35, size: 10 }),
        "{err}"
    );
    assert_eq!(err.status(), 400);
    // State unchanged by refusals, and kept across a restart of the witness.
    let mut again = Witness::new(t.connect().await, witness_key());
    again.trust_log(ORIGIN, vec![key.verifier().clone()]);
    assert_eq!(
        again.latest(ORIGIN).await.unwrap(),
        (35, log.root_at(35).await.unwrap())
    );

    // Unknown origin, unknown key, bad signature.
    let other = Signer::ed25519(
        "other.example/log",
        Ed25519KeyPair::from_seed(&[3; 32]).unwrap(),
    )
    .unwrap();
    let note = sign_text(
        &Checkpoint::new("other.example/log", 0, empty_root()).to_text(),
        &other,
    );
    assert_eq!(
        again
            .add_checkpoint(request(0, &[], &note).as_bytes())
            .await
            .unwrap_err()
            .status(),
        404
    );
    let impostor = Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[4; 32]).unwrap()).unwrap();
    let note = sign_text(
        &Checkpoint::new(ORIGIN, 35, log.root_at(35).await.unwrap()).to_text(),
        &impostor,
    );
    let err = again
        .add_checkpoint(request(35, &[], &note).as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::Unauthorized(_)), "{err}");
    assert_eq!(err.status(), 403);
    let forged = note35.replacen("\n35\n", "\n36\n", 1);
    let err = again
        .add_checkpoint(request(35, &[], &forged).as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403, "{err}");

    // Malformed requests: 400.
    for body in [
        b"old 01\n\n".to_vec(),
        b"new 1\n\n".to_vec(),
        b"old 1\nnot-base64\n\n".to_vec(),
        b"old 0\n\xff\xfe\n\n".to_vec(),
        request(35, &vec![[0u8; 32]; 64], &note35).into_bytes(),
        b"old 0\n\nnot a note".to_vec(),
    ] {
        let err = again.add_checkpoint(&body).await.unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
    }
    assert!(matches!(
        again
            .add_checkpoint(request(35, &vec![[0u8; 32]; 64], &note35).as_bytes())
            .await,
        Err(WitnessError::ProofTooLong)
    ));

    // First contact rules for a new log: proof with old 0 and a bad empty root are 422.
    let new_origin = "clinic.example/log";
    let clinic = Signer::ed25519(new_origin, Ed25519KeyPair::from_seed(&[5; 32]).unwrap()).unwrap();
    again.trust_log(new_origin, vec![clinic.verifier().clone()]);
    let cp = sign_text(&Checkpoint::new(new_origin, 3, [7; 32]).to_text(), &clinic);
    let err = again
        .add_checkpoint(request(0, &[[1; 32]], &cp).as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::UnexpectedProof), "{err}");
    let cp0 = sign_text(&Checkpoint::new(new_origin, 0, [7; 32]).to_text(), &clinic);
    let err = again
        .add_checkpoint(request(0, &[], &cp0).as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::EmptyTreeRoot), "{err}");
    assert_eq!(err.status(), 422);

    // Over HTTP.
    let router = witness_router(Arc::new(again));
    let resp = router
        .clone()
        .oneshot(
            Request::post("/add-checkpoint")
                .body(Body::from(log.witness_request(0).await.unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(resp.headers()["content-type"], "text/x.tlog.size");
    let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"35\n");
    let resp = router
        .oneshot(
            Request::post("/add-checkpoint")
                .body(Body::from(log.witness_request(35).await.unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    assert!(body.starts_with("\u{2014} authority.example/witness ".as_bytes()));
}

async fn tiles_router_serves_a_client(t: TestDb) {
    let key = log_key();
    let log = Arc::new(
        Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
            .await
            .unwrap(),
    );
    let router = tiles_router(log.clone());
    let get = |path: String| {
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                status,
                ct,
                axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap()
                    .to_vec(),
            )
        }
    };
    assert_eq!(get("/checkpoint".into()).await.0, StatusCode::NOT_FOUND);
    append_n(&log, "t", 300).await;
    log.sign_checkpoint(&key).await.unwrap();
    append_n(&log, "t", 5).await; // not yet published

    let (status, ct, body) = get("/checkpoint".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("text/plain; charset=utf-8"));
    let cp = SignedCheckpoint::verify(&body, ORIGIN, &[key.verifier().clone()])
        .unwrap()
        .checkpoint;
    assert_eq!(cp.size, 300);

    // A client rebuilds the root from tiles and checks entries against leaf hashes.
    let (s, ct, full) = get("/tile/0/000".into()).await;
    assert_eq!(
        (s, ct.as_deref()),
        (StatusCode::OK, Some("application/octet-stream"))
    );
    assert_eq!(full.len(), 256 * 32);
    let (s, _, partial) = get("/tile/0/001.p/44".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(partial.len(), 44 * 32);
    let (s, _, level1) = get("/tile/1/000.p/1".into()).await;
    assert_eq!(s, StatusCode::OK);
    let mut c = CompactRange::new();
    for h in full.chunks(32).chain(partial.chunks(32)) {
        c.push(h.try_into().unwrap(), |_, _| {});
    }
    assert_eq!(c.root(), cp.root);
    let mut first = CompactRange::new();
    for h in full.chunks(32) {
        first.push(h.try_into().unwrap(), |_, _| {});
    }
    assert_eq!(level1, first.root().to_vec());
    let (s, _, bundle) = get("/tile/entries/001.p/44".into()).await;
    assert_eq!(s, StatusCode::OK);
    let mut off = 0;
    let mut k = 0;
    while off < bundle.len() {
        let len = usize::from(u16::from_be_bytes([bundle[off], bundle[off + 1]]));
        let e = &bundle[off + 2..off + 2 + len];
        assert_eq!(
            leaf_hash(e).to_vec(),
            partial[k * 32..(k + 1) * 32].to_vec()
        );
        off += 2 + len;
        k += 1;
    }
    assert_eq!(k, 44);
    // Unpublished data and bad paths.
    assert_eq!(
        get("/tile/0/001.p/45".into()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get("/tile/0/001".into()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get("/tile/entries/002".into()).await.0,
        StatusCode::NOT_FOUND
    );
    for bad in [
        "/tile/0/1",
        "/tile/0/x000/001",
        "/tile/64/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/01/000",
        "/tile/0/000.p/",
    ] {
        assert_eq!(get(bad.into()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[test]
fn tile_index_encoding() {
    assert_eq!(encode_index(1234067), "x001/x234/067");
    assert_eq!(encode_index(0), "000");
    let t = parse_tile_path("3/x001/x234/067.p/8").unwrap();
    assert_eq!((t.level, t.index, t.width), (Some(3), 1234067, Some(8)));
    assert_eq!(parse_tile_path("entries/x001/000").unwrap().index, 1000);
    assert!(parse_tile_path("0/x001").is_none());
    assert!(parse_tile_path("0/001/002").is_none());
    assert!(parse_tile_path(&format!("0/{}", encode_index(u64::MAX))).is_some());
    assert!(parse_tile_path("0/x999/x999/x999/x999/x999/x999/x999/999").is_none());
}

async fn witness_check_and_persist_is_atomic(t: TestDb) {
    let key = log_key();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    append_n(&log, "c", 5).await;
    log.sign_checkpoint(&key).await.unwrap();
    let first = log.witness_request(0).await.unwrap();
    append_n(&log, "c", 5).await;
    log.sign_checkpoint(&key).await.unwrap();
    let second = log.witness_request(5).await.unwrap();
    // Two witness instances (as two processes would be) sharing one database.
    let mut a = Witness::new(t.connect().await, witness_key());
    let mut b = Witness::new(t.connect().await, witness_key());
    a.trust_log(ORIGIN, vec![key.verifier().clone()]);
    b.trust_log(ORIGIN, vec![key.verifier().clone()]);
    let (a, b) = (Arc::new(a), Arc::new(b));
    // The same first-contact request raced from both: exactly one cosigns.
    let (ra, rb) = tokio::join!(
        a.add_checkpoint(first.as_bytes()),
        b.add_checkpoint(first.as_bytes())
    );
    let oks = [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(oks, 1, "{ra:?} {rb:?}");
    for r in [ra, rb] {
        if let Err(e) = r {
            assert!(
                matches!(e, WitnessError::Conflict { old: 0, latest: 5 }),
                "{e}"
            );
        }
    }
    // Then growth from 5 raced: one wins, the other is told the new size; never rolled back.
    let (ra, rb) = tokio::join!(
        a.add_checkpoint(second.as_bytes()),
        b.add_checkpoint(second.as_bytes())
    );
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count(), 1);
    assert_eq!(a.latest(ORIGIN).await.unwrap().0, 10);
    let late = a.add_checkpoint(first.as_bytes()).await.unwrap_err();
    assert!(
        matches!(late, WitnessError::Conflict { old: 0, latest: 10 }),
        "{late}"
    );
    assert_eq!(b.latest(ORIGIN).await.unwrap().0, 10);
}

spondon_testkit::both_engines!(
    witness_cosigns_and_refuses_forks,
    witness_check_and_persist_is_atomic,
    tiles_router_serves_a_client
);
