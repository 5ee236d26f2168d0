//! Bench binary (not part of the test run): fills a log to N entries with batched appends,
//! reporting throughput and resident memory as it grows, then times inclusion and consistency
//! proofs served from storage at that size.
//!
//! ```text
//! cargo run --release -p spondon-ledger --example ledger_bench -- \
//!     [--url sqlite:///path/to.db | postgres://…] [--entries 10000000] [--batch 1000] [--proofs 2000]
//!     [--full-check]
//! ```
//! An existing database is reused (only the missing entries are appended), so the 10M fill is
//! paid once.

use std::time::{Duration, Instant};

use spondon_core::NumericDate;
use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::merkle::{verify_consistency, verify_inclusion};
use spondon_ledger::note::Signer;
use spondon_ledger::{Database, IntegrityCheck, Log};
use spondon_ledger::{EntryKind, LogEntry, Opening};

type Error = Box<dyn std::error::Error>;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let n = v.len().max(1);
    let mean = v.iter().sum::<Duration>() / n as u32;
    let p = |q: f64| {
        v.get(((n as f64 * q) as usize).min(n - 1))
            .copied()
            .unwrap_or_default()
    };
    format!(
        "mean {:?}, p50 {:?}, p99 {:?}, max {:?} (n={})",
        mean,
        p(0.5),
        p(0.99),
        p(1.0),
        v.len()
    )
}

async fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let url =
        arg("--url").unwrap_or_else(|| "sqlite:///root/.cache/spondon/ledger-bench.db".into());
    let target: u64 = arg("--entries")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let batch: u64 = arg("--batch")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(1000);
    let proofs: usize = arg("--proofs")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(2000);

    println!("ledger_bench: {url}, target {target} entries, batch {batch}");
    let full = args.iter().any(|a| a == "--full-check");
    let check = if full {
        IntegrityCheck::Full
    } else {
        IntegrityCheck::Quick
    };
    let t0 = Instant::now();
    let log = Log::open(Database::connect(&url).await?, "bench.example/log", check).await?;
    println!(
        "open ({} integrity check): {:?}, size {}, RSS {} KiB",
        if full { "full" } else { "quick" },
        t0.elapsed(),
        log.tree_head().await.0,
        rss_kib()
    );

    let opening = Opening {
        salt: [7; 32],
        payload: b"bench".to_vec(),
    };
    let start_size = log.tree_head().await.0;
    let fill_start = Instant::now();
    let mut last_report = Instant::now();
    let mut last_size = start_size;
    let mut size = start_size;
    while size < target {
        let n = batch.min(target - size);
        let entries: Vec<Vec<u8>> = (size..size + n)
            .map(|i| {
                let mut e = LogEntry::commit(
                    EntryKind::AccessGranted,
                    NumericDate(1_700_000_000),
                    &opening,
                );
                e.commitment[..8].copy_from_slice(&i.to_be_bytes());
                e.encode().to_vec()
            })
            .collect();
        size = log.append(&entries).await?.size;
        if last_report.elapsed() > Duration::from_secs(30) || size == target {
            let rate = (size - last_size) as f64 / last_report.elapsed().as_secs_f64();
            println!(
                "  size {size:>10}: {rate:>8.0} entries/s (last interval), RSS {} KiB",
                rss_kib()
            );
            last_report = Instant::now();
            last_size = size;
        }
    }
    if size > start_size {
        let el = fill_start.elapsed();
        println!(
            "fill: {} entries in {:.1?} = {:.0} entries/s (batch {batch})",
            size - start_size,
            el,
            (size - start_size) as f64 / el.as_secs_f64()
        );
    }

    let key = Signer::ed25519("bench.example/log", Ed25519KeyPair::from_seed(&[1; 32])?)?;
    log.sign_checkpoint(&key).await?;
    let (size, root) = log.tree_head().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Warm up the page cache a little, as a serving peer would be.
    for _ in 0..100 {
        log.inclusion_proof(rng.below(size), size).await?;
    }
    let mut inc = Vec::with_capacity(proofs);
    for _ in 0..proofs {
        let i = rng.below(size);
        let t = Instant::now();
        let (leaf, proof) = log.inclusion_proof(i, size).await?;
        inc.push(t.elapsed());
        verify_inclusion(&leaf, i, size, &proof, &root)?;
    }
    println!("inclusion proof at size {size}: {}", stats(inc));

    let mut con = Vec::with_capacity(proofs);
    let mut old_roots = Vec::new();
    for _ in 0..proofs.min(200) {
        let old = 1 + rng.below(size - 1);
        old_roots.push((old, log.root_at(old).await?));
    }
    for k in 0..proofs {
        let (old, old_root) = old_roots[k % old_roots.len()];
        let t = Instant::now();
        let proof = log.consistency_proof(old, size).await?;
        con.push(t.elapsed());
        verify_consistency(old, size, &proof, &old_root, &root)?;
    }
    println!("consistency proof to size {size}: {}", stats(con));
    println!("RSS at end: {} KiB", rss_kib());
    Ok(())
}

fn main() -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
