//! Criterion benches (not part of the test run):
//! - batched appends (1,000 entries of 42 bytes per transaction) on SQLite, and on PostgreSQL
//!   when `SPONDON_TEST_POSTGRES_URL` is set (e.g. under `scripts/with-postgres.sh`);
//! - inclusion and consistency proofs from storage on a 100,000-entry SQLite log;
//! - proof verification (pure).
//!
//! `cargo bench -p spondon-ledger --bench ledger`. The 10,000,000-entry figures come from the
//! bench binary `examples/ledger_bench.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spondon_ledger::merkle::{leaf_hash, verify_inclusion};
use spondon_ledger::{Database, IntegrityCheck, Log};

const BATCH: u64 = 1000;

fn batch(start: u64) -> Vec<Vec<u8>> {
    (start..start + BATCH)
        .map(|i| {
            let mut e = vec![1u8, 2];
            e.extend_from_slice(&1_700_000_000i64.to_be_bytes());
            e.extend_from_slice(&[0u8; 24]);
            e.extend_from_slice(&i.to_be_bytes());
            e
        })
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bench_appends(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let mut engines = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("b.db").display()),
    )];
    if let Ok(url) = std::env::var("SPONDON_TEST_POSTGRES_URL") {
        engines.push(("postgres", url));
    } else {
        eprintln!("postgres append bench skipped: SPONDON_TEST_POSTGRES_URL is not set");
    }
    let mut g = c.benchmark_group("append_batch_1000");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(30);
    for (name, url) in engines {
        let log = rt.block_on(async {
            let db = Database::connect(&url).await.unwrap();
            Log::open(db, "bench.example/log", IntegrityCheck::Quick)
                .await
                .unwrap()
        });
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let start = log.tree_head().await.0;
                    log.append(&batch(start)).await.unwrap();
                })
            })
        });
    }
    g.finish();
}

fn bench_proofs(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    const SIZE: u64 = 100_000;
    let log = rt.block_on(async {
        let log = Log::open(
            Database::connect(&url).await.unwrap(),
            "bench.example/log",
            IntegrityCheck::Quick,
        )
        .await
        .unwrap();
        let mut s = 0;
        while s < SIZE {
            s = log.append(&batch(s)).await.unwrap().size;
        }
        log
    });
    let root = rt.block_on(log.root_at(SIZE)).unwrap();
    let mut i = 0u64;
    c.bench_function("inclusion_proof_from_sqlite_100k", |b| {
        b.iter(|| {
            i = (i + 7919) % SIZE;
            rt.block_on(log.inclusion_proof(i, SIZE)).unwrap()
        })
    });
    let mut old = 1u64;
    c.bench_function("consistency_proof_from_sqlite_100k", |b| {
        b.iter(|| {
            old = 1 + (old + 7919) % (SIZE - 1);
            rt.block_on(log.consistency_proof(old, SIZE)).unwrap()
        })
    });
    let (leaf, proof) = rt.block_on(log.inclusion_proof(12_345, SIZE)).unwrap();
    assert_eq!(leaf, leaf_hash(&batch(12_000)[345]));
    c.bench_function("verify_inclusion_100k", |b| {
        b.iter(|| verify_inclusion(&leaf, 12_345, SIZE, &proof, &root).unwrap())
    });
}

criterion_group!(benches, bench_appends, bench_proofs);
criterion_main!(benches);
