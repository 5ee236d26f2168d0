//! Reads from a replica (`Log::read_from`): a lagging copy of the log's database serves what it
//! holds, byte for byte what the primary would; the rest, and everything while the replica fails,
//! comes from the primary. The copy is a real SQLite file made with `VACUUM INTO` partway through
//! the log's history (as a streaming standby that has not replayed the latest commits yet); the
//! PostgreSQL standby itself is driven by the peer's `failover` test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::note::Signer;
use spondon_ledger::{Database, IntegrityCheck, Log, ReplicaReads};

const ORIGIN: &str = "peer.hospital.example/log";

fn signer() -> Signer {
    Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[7; 32]).unwrap()).unwrap()
}

async fn fill(log: &Log, from: u64, to: u64) {
    let entries: Vec<Vec<u8>> = (from..to)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    for chunk in entries.chunks(100) {
        log.append(chunk).await.unwrap();
    }
}

fn reads(log: &Log) -> ReplicaReads {
    log.replica_reads().expect("a replica is set")
}

#[tokio::test]
async fn a_lagging_replica_serves_what_it_holds_and_the_primary_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (primary_path, copy_path) = (dir.path().join("log.db"), dir.path().join("copy.db"));
    let signer = signer();
    {
        let log = Log::open(
            Database::sqlite(&primary_path).await.unwrap(),
            ORIGIN,
            IntegrityCheck::Full,
        )
        .await
        .unwrap();
        fill(&log, 0, 600).await;
        log.sign_checkpoint(&signer).await.unwrap();
        // The replica stops here: 600 entries.
        let Database::Sqlite(p) = log.database() else {
            panic!("sqlite")
        };
        sqlx::query(&format!("VACUUM INTO '{}'", copy_path.display()))
            .execute(p)
            .await
            .unwrap();
        fill(&log, 600, 1000).await;
        log.sign_checkpoint(&signer).await.unwrap();
        log.database().close().await;
    }
    // The same log read without a replica: what every answer must equal.
    let plain = Log::open(
        Database::sqlite(&primary_path).await.unwrap(),
        ORIGIN,
        IntegrityCheck::Quick,
    )
    .await
    .unwrap();
    let replica = Database::sqlite(&copy_path).await.unwrap();
    let log = Log::open(
        Database::sqlite(&primary_path).await.unwrap(),
        ORIGIN,
        IntegrityCheck::Quick,
    )
    .await
    .unwrap()
    .read_from(replica.clone());
    assert_eq!(reads(&log), ReplicaReads::default());

    // Entries and hashes the replica holds come from it.
    assert_eq!(
        log.entry_bundle(1, 256, 1000).await.unwrap(),
        plain.entry_bundle(1, 256, 1000).await.unwrap()
    );
    assert_eq!(
        log.tile(0, 0, 256, 1000).await.unwrap(),
        plain.tile(0, 0, 256, 1000).await.unwrap()
    );
    assert_eq!(
        reads(&log),
        ReplicaReads {
            served: 2,
            fell_back: 0
        }
    );
    // Beyond it (entries 768..1000, the partial tile) the primary answers, the same bytes.
    assert_eq!(
        log.entry_bundle(3, 232, 1000).await.unwrap(),
        plain.entry_bundle(3, 232, 1000).await.unwrap()
    );
    assert_eq!(
        log.tile(0, 3, 232, 1000).await.unwrap(),
        plain.tile(0, 3, 232, 1000).await.unwrap()
    );
    assert_eq!(
        reads(&log),
        ReplicaReads {
            served: 2,
            fell_back: 2
        }
    );
    // Proofs in the tree the primary signed verify, whichever copy held their hashes.
    for i in [0, 599, 600, 999] {
        assert_eq!(
            log.inclusion_proof(i, 1000).await.unwrap(),
            plain.inclusion_proof(i, 1000).await.unwrap()
        );
    }
    assert_eq!(
        log.consistency_proof(600, 1000).await.unwrap(),
        plain.consistency_proof(600, 1000).await.unwrap()
    );

    // Rows committed with the first 600 entries may be read from the replica; with 1000, not.
    let before = reads(&log);
    assert!(matches!(log.reader_for(600).await, Database::Sqlite(_)));
    let after = reads(&log);
    assert_eq!(after.served, before.served + 1);
    let _ = log.reader_for(1000).await;
    assert_eq!(reads(&log).fell_back, after.fell_back + 1);
    assert_eq!(reads(&log).served, after.served);

    // A replica that stops answering: the read goes to the primary, and the replica is left
    // alone for a while (no second try, so no second timeout).
    replica.close().await;
    let before = reads(&log);
    assert_eq!(
        log.entry_bundle(0, 256, 1000).await.unwrap(),
        plain.entry_bundle(0, 256, 1000).await.unwrap()
    );
    assert_eq!(reads(&log).fell_back, before.fell_back + 1);
    assert_eq!(
        log.entry_bundle(2, 256, 1000).await.unwrap(),
        plain.entry_bundle(2, 256, 1000).await.unwrap()
    );
    let _ = log.reader_for(10).await;
    assert_eq!(
        reads(&log),
        ReplicaReads {
            served: before.served,
            fell_back: before.fell_back + 1
        }
    );
}

#[tokio::test]
async fn only_postgresql_standbys_are_taken_as_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    assert_eq!(
        Database::connect_replica(&url).unwrap_err().code(),
        spondon_ledger::LedgerError::UnsupportedUrl.code()
    );
}
