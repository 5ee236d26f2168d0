//! The storage suite, run on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestDb, tamper};
use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::SignedCheckpoint;
use spondon_ledger::merkle::{
    CompactRange, Hash, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
use spondon_ledger::note::Signer;
use spondon_ledger::{IntegrityCheck, LedgerError, Log};

const ORIGIN: &str = "peer.hospital.example/log";

fn signer() -> Signer {
    Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[1; 32]).unwrap()).unwrap()
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i}").into_bytes()
}

async fn fill(log: &Log, from: u64, to: u64, batch: u64) {
    let mut i = from;
    while i < to {
        let end = (i + batch).min(to);
        let entries: Vec<Vec<u8>> = (i..end).map(entry).collect();
        let a = log.append(&entries).await.unwrap();
        assert_eq!(a.first_index, i);
        assert_eq!(a.size, end);
        i = end;
    }
}

/// Tile hashes of a tree computed in memory (level `l` = tree height `8 l`).
fn memory_levels(n: u64) -> Vec<Vec<Hash>> {
    let mut levels: Vec<Vec<Hash>> = vec![Vec::new(); 4];
    let mut c = CompactRange::new();
    for i in 0..n {
        c.push(leaf_hash(&entry(i)), |id, h| {
            if id.level % 8 == 0 {
                let l = usize::from(id.level / 8);
                assert_eq!(levels[l].len() as u64, id.index);
                levels[l].push(*h);
            }
        });
    }
    levels
}

async fn append_prove_and_tiles(t: TestDb) {
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    assert_eq!(log.tree_head().await.0, 0);
    let mut sizes = vec![];
    // Batches crossing tile boundaries, then enough to complete a level-1 tile (65,536).
    for (from, to, batch) in [
        (0, 1, 1),
        (1, 256, 255),
        (256, 257, 1),
        (257, 1000, 300),
        (1000, 70_000, 10_000),
    ] {
        fill(&log, from, to, batch).await;
        sizes.push(to);
    }
    let (size, root) = log.tree_head().await;
    assert_eq!(size, 70_000);
    let mut c = CompactRange::new();
    for i in 0..size {
        c.push(leaf_hash(&entry(i)), |_, _| {});
    }
    assert_eq!(root, c.root());

    // Tiles as in the tlog-tiles example: 273 full level-0 tiles, partial width 112, one full
    // level-1 tile, partial level-1 width 17, partial level-2 width 1.
    let levels = memory_levels(size);
    let tile = log.tile(0, 272, 256, size).await.unwrap();
    assert_eq!(tile, levels[0][272 * 256..273 * 256].concat());
    assert_eq!(
        log.tile(0, 273, 112, size).await.unwrap(),
        levels[0][273 * 256..].concat()
    );
    assert!(matches!(
        log.tile(0, 273, 113, size).await,
        Err(LedgerError::IndexOutOfRange { .. })
    ));
    assert!(log.tile(0, 273, 256, size).await.is_err());
    assert_eq!(
        log.tile(1, 0, 256, size).await.unwrap(),
        levels[1][..256].concat()
    );
    assert_eq!(
        log.tile(1, 1, 17, size).await.unwrap(),
        levels[1][256..].concat()
    );
    assert_eq!(
        log.tile(2, 0, 1, size).await.unwrap(),
        levels[2][..1].concat()
    );
    assert!(log.tile(2, 0, 2, size).await.is_err());
    assert!(log.tile(9, 0, 1, size).await.is_err());
    assert!(log.tile(0, u64::MAX, 1, size).await.is_err());
    // Entry bundle: uint16 length prefixes.
    let bundle = log.entry_bundle(1, 3, size).await.unwrap();
    let mut expect = Vec::new();
    for i in 256..259 {
        let e = entry(i);
        expect.extend_from_slice(&(e.len() as u16).to_be_bytes());
        expect.extend_from_slice(&e);
    }
    assert_eq!(bundle, expect);

    // Proofs from storage verify, at several sizes.
    for &s in &[1u64, 2, 255, 256, 257, 1000, 65_536, 65_537, 70_000] {
        let r = log.root_at(s).await.unwrap();
        for &i in &[0, s / 3, s / 2, s - 1] {
            let (leaf, proof) = log.inclusion_proof(i, s).await.unwrap();
            assert_eq!(leaf, leaf_hash(&entry(i)));
            verify_inclusion(&leaf, i, s, &proof, &r).unwrap();
        }
        // The batch form answers each proof exactly as one at a time, in the order asked.
        let asked = [s - 1, 0, s / 2, s / 3, s - 1];
        let batch = log.inclusion_proofs(&asked, s).await.unwrap();
        assert_eq!(batch.len(), asked.len());
        for (&i, got) in asked.iter().zip(&batch) {
            assert_eq!(got, &log.inclusion_proof(i, s).await.unwrap());
        }
        let entries = log.entries_at(&asked).await.unwrap();
        assert_eq!(entries, asked.iter().map(|&i| entry(i)).collect::<Vec<_>>());
        for &old in &[1u64, 7, 255, 256, 1000, 65_535] {
            if old <= s {
                let p = log.consistency_proof(old, s).await.unwrap();
                verify_consistency(old, s, &p, &log.root_at(old).await.unwrap(), &r).unwrap();
            }
        }
    }
    assert!(log.consistency_proof(0, size).await.unwrap().is_empty());
    // Bad input
    assert!(matches!(
        log.append::<Vec<u8>>(&[]).await,
        Err(LedgerError::EmptyBatch)
    ));
    assert!(matches!(
        log.append(&[vec![0u8; 70_000]]).await,
        Err(LedgerError::EntryTooLarge {
            position: 0,
            len: 70_000
        })
    ));
    assert!(matches!(
        log.inclusion_proof(size, size).await,
        Err(LedgerError::Proof(_))
    ));
    assert!(matches!(
        log.inclusion_proof(0, size + 1).await,
        Err(LedgerError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        log.entry(size).await,
        Err(LedgerError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        log.entries_at(&[0, size]).await,
        Err(LedgerError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        log.inclusion_proofs(&[0, size], size).await,
        Err(LedgerError::Proof(_))
    ));
    assert!(log.inclusion_proofs(&[], size).await.unwrap().is_empty());
    assert_eq!(log.entry(69_999).await.unwrap(), entry(69_999));
    // Full integrity check passes on a healthy 70k log.
    drop(log);
    Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
}

async fn checkpoints_cas_and_restart(t: TestDb) {
    let s = signer();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    assert!(matches!(
        log.signed_checkpoint().await,
        Err(LedgerError::NotSigned)
    ));
    fill(&log, 0, 100, 40).await;
    let note1 = log.sign_checkpoint(&s).await.unwrap();
    // Signing again without appends gives the same note.
    assert_eq!(log.sign_checkpoint(&s).await.unwrap(), note1);
    let cp1 = SignedCheckpoint::verify(note1.as_bytes(), ORIGIN, &[s.verifier().clone()])
        .unwrap()
        .checkpoint;
    assert_eq!(cp1.size, 100);

    // A second process with a stale view never reuses an index. On SQLite (one writing
    // process) its append is refused; on PostgreSQL (several processes may append) the append
    // transaction reads the moved head under the database's append lock and goes after it.
    let stale = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap();
    fill(&log, 100, 150, 50).await;
    if t.is_postgres() {
        // Reads see what the other process appended.
        assert_eq!(stale.entry(149).await.unwrap(), entry(149));
        let a = stale.append(&[entry(150)]).await.unwrap();
        assert_eq!((a.first_index, a.size), (150, 151));
        // The first one in turn appends after it, and signs the head it did not append.
        fill(&log, 151, 152, 1).await;
        let note = stale.sign_checkpoint(&s).await.unwrap();
        let cp = SignedCheckpoint::verify(note.as_bytes(), ORIGIN, &[s.verifier().clone()])
            .unwrap()
            .checkpoint;
        assert_eq!(cp.size, 152);
        assert_eq!(log.sign_checkpoint(&s).await.unwrap(), note);
    } else {
        assert!(matches!(
            stale.append(&[b"x".to_vec()]).await,
            Err(LedgerError::ConcurrentAppend)
        ));
    }
    assert_eq!(log.entry(100).await.unwrap(), entry(100));
    drop(stale);

    // Restart: reopen, append more, consistency from the old checkpoint verifies.
    drop(log);
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    let start = log.tree_head().await.0;
    assert_eq!(start, if t.is_postgres() { 152 } else { 150 });
    fill(&log, start, 400, 100).await;
    let note2 = log.sign_checkpoint(&s).await.unwrap();
    let cp2 = SignedCheckpoint::verify(note2.as_bytes(), ORIGIN, &[s.verifier().clone()])
        .unwrap()
        .checkpoint;
    assert_eq!(cp2.size, 400);
    let proof = log.consistency_proof(cp1.size, cp2.size).await.unwrap();
    verify_consistency(cp1.size, cp2.size, &proof, &cp1.root, &cp2.root).unwrap();

    // Opening under another origin is refused.
    assert!(matches!(
        Log::open(
            t.connect().await,
            "other.example/log",
            IntegrityCheck::Quick
        )
        .await,
        Err(LedgerError::OriginMismatch { .. })
    ));
    // The entries table is insert-only.
    let db = log.database().clone();
    let refused = match &db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query("UPDATE ledger_entries SET data = x'00' WHERE idx = 0")
                .execute(p)
                .await
                .is_err()
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query("UPDATE ledger_entries SET data = '\\x00' WHERE idx = 0")
                .execute(p)
                .await
                .is_err()
        }
    };
    assert!(refused, "update of an entry must be refused");
    let refused = match &db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query("DELETE FROM ledger_hashes WHERE level = 0")
                .execute(p)
                .await
                .is_err()
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query("DELETE FROM ledger_hashes WHERE level = 0")
                .execute(p)
                .await
                .is_err()
        }
    };
    assert!(refused, "delete of hashes must be refused");

    // Never two different trees of the same size: forge the checkpoint row to another root at
    // the current size, and signing refuses.
    fill(&log, 400, 401, 1).await;
    match &db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query("UPDATE ledger_checkpoint SET size = 401, root = $1 WHERE id = 1")
                .bind(vec![9u8; 32])
                .execute(p)
                .await
                .unwrap();
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query("UPDATE ledger_checkpoint SET size = 401, root = $1 WHERE id = 1")
                .bind(vec![9u8; 32])
                .execute(p)
                .await
                .unwrap();
        }
    }
    assert!(matches!(
        log.sign_checkpoint(&s).await,
        Err(LedgerError::ForkRefused(401))
    ));
}

async fn tamper_entry_fails_loudly(t: TestDb) {
    let s = signer();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    fill(&log, 0, 600, 200).await;
    let note = log.sign_checkpoint(&s).await.unwrap();
    let cp = SignedCheckpoint::verify(note.as_bytes(), ORIGIN, &[s.verifier().clone()])
        .unwrap()
        .checkpoint;
    drop(log);
    // Change one byte of entry 300.
    let db = t.connect().await;
    let mut e = entry(300);
    e[0] ^= 1;
    tamper(
        &db,
        "UPDATE ledger_entries SET data = $1 WHERE idx = $2",
        300,
        e,
    )
    .await;
    let err = Log::open(db.clone(), ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Integrity(_)), "{err}");
    // If started anyway (quick check), no proof for the tampered entry verifies.
    let log = Log::open(db, ORIGIN, IntegrityCheck::Quick).await.unwrap();
    let served = log.entry(300).await.unwrap();
    if let Ok((_, proof)) = log.inclusion_proof(300, cp.size).await {
        assert!(verify_inclusion(&leaf_hash(&served), 300, cp.size, &proof, &cp.root).is_err());
    }
}

async fn tamper_hash_fails_loudly(t: TestDb) {
    let s = signer();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    fill(&log, 0, 600, 600).await;
    let note = log.sign_checkpoint(&s).await.unwrap();
    let cp = SignedCheckpoint::verify(note.as_bytes(), ORIGIN, &[s.verifier().clone()])
        .unwrap()
        .checkpoint;
    drop(log);
    let db = t.connect().await;
    // Change one byte of the stored leaf hash of entry 10.
    let mut h = leaf_hash(&entry(10));
    h[31] ^= 0x80;
    tamper(
        &db,
        "UPDATE ledger_hashes SET hash = $1 WHERE level = 0 AND idx = $2",
        10,
        h.to_vec(),
    )
    .await;
    let err = Log::open(db.clone(), ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Integrity(_)), "{err}");
    let log = Log::open(db.clone(), ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap();
    // Every inclusion proof whose path crosses leaf 10 (all of the first tile) is refused or
    // fails to verify against the signed checkpoint.
    for i in 0..256u64 {
        let e = log.entry(i).await.unwrap();
        if let Ok((_, proof)) = log.inclusion_proof(i, cp.size).await {
            assert!(
                verify_inclusion(&leaf_hash(&e), i, cp.size, &proof, &cp.root).is_err(),
                "proof for {i} verified"
            );
        }
    }
    // A consistency proof from a size inside the damaged tile is refused too.
    if let Ok(p) = log.consistency_proof(11, cp.size).await {
        let mut c = CompactRange::new();
        for i in 0..11 {
            c.push(leaf_hash(&entry(i)), |_, _| {});
        }
        assert!(verify_consistency(11, cp.size, &p, &c.root(), &cp.root).is_err());
    }
    // Tampering a level-1 hash is caught by the quick check too (it is on the right edge).
    let fake = node_hash(&h, &h);
    tamper(
        &db,
        "UPDATE ledger_hashes SET hash = $1 WHERE level = 1 AND idx = $2",
        1,
        fake.to_vec(),
    )
    .await;
    let err = Log::open(db, ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Integrity(_)), "{err}");
}

/// Appends whose futures are dropped at every await point (the commit among them, which may
/// land after the drop) never wedge the log: the next append succeeds, the dropped entry is
/// either fully there or not at all, and the reopened log agrees with the in-memory head.
async fn dropped_appends_do_not_wedge_the_log(t: TestDb) {
    use std::future::Future as _;
    use std::task::Poll;
    let s = signer();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    let mut expected: Vec<Vec<u8>> = Vec::new();
    let (mut landed_after_drop, mut completed) = (0, 0);
    for round in 0..120u64 {
        let dropped = format!("dropped {round}").into_bytes();
        let polls = round % 12;
        let mut fut = Box::pin(log.append(std::slice::from_ref(&dropped)));
        let mut n = 0;
        let done = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending if n >= polls => Poll::Ready(None),
            Poll::Pending => {
                n += 1;
                Poll::Pending
            }
        })
        .await;
        drop(fut);
        if let Some(r) = done {
            assert_eq!(r.unwrap().first_index, expected.len() as u64);
            expected.push(dropped.clone());
            completed += 1;
        }
        // Give a commit sent before the drop the time to land or roll back.
        tokio::task::yield_now().await;
        let next = format!("next {round}").into_bytes();
        let a = log.append(std::slice::from_ref(&next)).await.unwrap();
        if a.first_index == expected.len() as u64 + 1 {
            assert_eq!(log.entry(expected.len() as u64).await.unwrap(), dropped);
            expected.push(dropped);
            landed_after_drop += 1;
        }
        assert_eq!(a.first_index, expected.len() as u64, "round {round}");
        expected.push(next);
        if round % 10 == 0 {
            log.sign_checkpoint(&s).await.unwrap();
        }
    }
    eprintln!(
        "{completed} appends completed, {landed_after_drop} landed after their future was dropped"
    );
    let head = log.tree_head().await;
    assert_eq!(head.0, expected.len() as u64);
    assert_eq!(log.entries(0, head.0).await.unwrap(), expected);
    log.sign_checkpoint(&s).await.unwrap();
    drop(log);
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    assert_eq!(log.tree_head().await, head);
}

/// `Log::resync` waits for an append still under way whose caller has gone (the append runs
/// to its end in a task of its own): it re-reads the log after that commit, never beside it,
/// so the append's entries count and the tile hashes it caches are cleared with the rest.
async fn resync_waits_for_an_append_whose_caller_has_gone(t: TestDb) {
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap();
    fill(&log, 0, 10, 10).await;
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (go, held) = tokio::sync::oneshot::channel::<()>();
    let rows: spondon_ledger::ExtraRows = Box::new(move |_tx, _first| {
        Box::pin(async move {
            let _ = started_tx.send(());
            let _ = held.await;
            Ok(())
        })
    });
    let late = entry(10);
    {
        // The append's caller waits until the append writes its rows, then goes away.
        let mut append = Box::pin(log.append_with(std::slice::from_ref(&late), rows));
        tokio::select! {
            r = &mut append => panic!("the append ended while its rows were held: {r:?}"),
            _ = started => {}
        }
    }
    let resync = log.resync();
    tokio::pin!(resync);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), &mut resync)
            .await
            .is_err(),
        "resync ran beside an append under way"
    );
    go.send(()).unwrap();
    assert_eq!(resync.await.unwrap().0, 11);
    assert_eq!(log.entry(10).await.unwrap(), late);
}

/// Sets the stored head or checkpoint row back (a database that lags what this process saw:
/// a promoted standby that missed acknowledged commits under asynchronous replication).
async fn set_back(db: &spondon_ledger::Database, sql: &str, size: u64, root: Hash, note: &str) {
    let size = i64::try_from(size).unwrap();
    match db {
        spondon_ledger::Database::Sqlite(p) => {
            let q = sqlx::query(sql).bind(size).bind(&root[..]);
            let q = if sql.contains("$3") { q.bind(note) } else { q };
            assert_eq!(q.execute(p).await.unwrap().rows_affected(), 1);
        }
        spondon_ledger::Database::Postgres(p) => {
            let q = sqlx::query(sql).bind(size).bind(&root[..]);
            let q = if sql.contains("$3") { q.bind(note) } else { q };
            assert_eq!(q.execute(p).await.unwrap().rows_affected(), 1);
        }
    }
}

/// `Log::resync` (after a failover the peer re-reads the log): the same database passes; one
/// whose signed checkpoint or head is behind what this process signed or saw committed is
/// refused, and nothing is changed by the refusal.
async fn resync_refuses_a_database_behind_what_was_acknowledged(t: TestDb) {
    let s = signer();
    let db = t.connect().await;
    let log = Log::open(db.clone(), ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap();
    fill(&log, 0, 10, 10).await;
    let old_note = log.sign_checkpoint(&s).await.unwrap();
    let (old_size, old_root) = log.tree_head().await;
    fill(&log, 10, 300, 100).await;
    log.sign_checkpoint(&s).await.unwrap();
    assert_eq!(log.resync().await.unwrap().0, 300);
    assert_eq!(log.entry(299).await.unwrap(), entry(299));

    set_back(
        &db,
        "UPDATE ledger_checkpoint SET size = $1, root = $2, note = $3 WHERE id = 1",
        old_size,
        old_root,
        &old_note,
    )
    .await;
    let e = log.resync().await.unwrap_err();
    assert!(matches!(e, LedgerError::Integrity(_)), "{e}");
    assert!(
        e.to_string().contains("acknowledged entries are missing"),
        "{e}"
    );

    set_back(
        &db,
        "UPDATE ledger_meta SET size = $1, root = $2 WHERE id = 1",
        old_size,
        old_root,
        "",
    )
    .await;
    let e = log.resync().await.unwrap_err();
    assert!(
        e.to_string().contains("fewer than the 300 committed"),
        "{e}"
    );
}

/// The signed size of a checkpoint note.
fn note_size(note: &str) -> u64 {
    SignedCheckpoint::verify(note.as_bytes(), ORIGIN, &[signer().verifier().clone()])
        .unwrap()
        .checkpoint
        .size
}

/// `Log::append_signed`: the batch and a checkpoint over it signed in one transaction, so a
/// failing batch leaves the checkpoint where it was (never ahead of the log) and the stored
/// checkpoint is always the head after it; a checkpoint behind the head (an unsigned append
/// before) is caught up with `sign_checkpoint`'s checks, and a stored checkpoint that is not the
/// one the batch extends (here forged) is never overwritten. On PostgreSQL, two processes
/// appending in turn each sign the database's head.
async fn append_signed_commits_the_checkpoint_with_the_batch(t: TestDb) {
    let s = signer();
    let db = t.connect().await;
    let log = Log::open(db.clone(), ORIGIN, IntegrityCheck::Quick)
        .await
        .unwrap();
    let (a, note) = log.append_signed(&[entry(0)], None, &s).await.unwrap();
    assert_eq!((a.first_index, a.size), (0, 1));
    assert_eq!(note_size(&note), 1);
    for i in 1..5u64 {
        let rows: spondon_ledger::ExtraRows = Box::new(move |_tx, first| {
            Box::pin(async move {
                assert_eq!(first, i);
                Ok(())
            })
        });
        let (a, note) = log
            .append_signed(&[entry(i)], Some(rows), &s)
            .await
            .unwrap();
        assert_eq!(a.size, i + 1);
        assert_eq!(note_size(&note), i + 1);
        assert_eq!(log.signed_checkpoint().await.unwrap().1, note);
    }
    // A failing batch: neither its entries nor a checkpoint over them.
    let failing: spondon_ledger::ExtraRows =
        Box::new(|_tx, _| Box::pin(async { Err(sqlx::Error::Protocol("refused row".into())) }));
    assert!(matches!(
        log.append_signed(&[entry(5)], Some(failing), &s).await,
        Err(LedgerError::Db(_))
    ));
    assert_eq!(log.stored_head().await.unwrap().0, 5);
    assert_eq!(log.signed_checkpoint().await.unwrap().0.size, 5);
    // Behind the head (an unsigned append): signed up to the new head, with its checks.
    fill(&log, 5, 8, 3).await;
    let (_, note) = log.append_signed(&[entry(8)], None, &s).await.unwrap();
    assert_eq!(note_size(&note), 9);
    let old = log.signed_checkpoint().await.unwrap().0;
    // Every signed checkpoint is consistent with the next.
    let proof = log.consistency_proof(1, 9).await.unwrap();
    verify_consistency(1, 9, &proof, &log.root_at(1).await.unwrap(), &old.root).unwrap();
    let mut head = 9;
    if t.is_postgres() {
        // Two processes on one database appending in turn (each with a stale head after the
        // other's batch): each checkpoint is signed over the database's head.
        let other = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Quick)
            .await
            .unwrap();
        for k in 0..4u64 {
            let l = if k % 2 == 0 { &other } else { &log };
            let (a, note) = l.append_signed(&[entry(head)], None, &s).await.unwrap();
            assert_eq!(a.first_index, head);
            head += 1;
            assert_eq!(note_size(&note), head);
            assert_eq!(log.stored_head().await.unwrap().0, head);
            assert_eq!(other.signed_checkpoint().await.unwrap().1, note);
        }
    }
    // A forged stored checkpoint (another root at the head's size) is not overwritten: the
    // batch commits, its checkpoint is refused.
    set_back(
        &db,
        "UPDATE ledger_checkpoint SET size = $1, root = $2 WHERE id = 1",
        head,
        [9u8; 32],
        "",
    )
    .await;
    let e = log
        .append_signed(&[entry(head)], None, &s)
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::Integrity(_)), "{e}");
    assert_eq!(log.stored_head().await.unwrap().0, head + 1);
    let forged: (i64, Vec<u8>) = match &db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query_as("SELECT size, root FROM ledger_checkpoint WHERE id = 1")
                .fetch_one(p)
                .await
                .unwrap()
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query_as("SELECT size, root FROM ledger_checkpoint WHERE id = 1")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(forged, (i64::try_from(head).unwrap(), vec![9u8; 32]));
}

spondon_testkit::both_engines!(
    append_signed_commits_the_checkpoint_with_the_batch,
    resync_refuses_a_database_behind_what_was_acknowledged,
    resync_waits_for_an_append_whose_caller_has_gone,
    dropped_appends_do_not_wedge_the_log,
    append_prove_and_tiles,
    checkpoints_cas_and_restart,
    tamper_entry_fails_loudly,
    tamper_hash_fails_loudly
);

/// Both ways of opening a SQLite log give the pool that neither pings before each use (a round
/// trip to the connection's thread that checks nothing in process) nor runs sqlx's maintenance
/// task (no idle timeout, lifetime or minimum size): that task's sweep can read the idle count
/// while it is transiently below zero and then spin a runtime worker for good, so a process
/// never exits (sqlx 0.8.6, launchbadge/sqlx#3645; `Database::sqlite`'s comment).
#[tokio::test]
async fn sqlite_pools_neither_ping_nor_reap() {
    let dir = tempfile::tempdir().unwrap();
    let by_path = spondon_ledger::Database::sqlite(&dir.path().join("a.db"))
        .await
        .unwrap();
    let t = common::sqlite_db();
    let by_url = t.connect().await;
    for db in [by_path, by_url] {
        let spondon_ledger::Database::Sqlite(p) = &db else {
            panic!("a SQLite database");
        };
        let o = p.options();
        assert!(!o.get_test_before_acquire());
        assert_eq!(o.get_idle_timeout(), None);
        assert_eq!(o.get_max_lifetime(), None);
        assert_eq!(o.get_min_connections(), 0);
        assert_eq!(o.get_max_connections(), 4);
        // Still a working pool: concurrent statements, then a close that returns.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&p).await.unwrap();
                    assert_eq!(one, 1);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        tokio::time::timeout(std::time::Duration::from_secs(10), db.close())
            .await
            .unwrap();
    }
}
