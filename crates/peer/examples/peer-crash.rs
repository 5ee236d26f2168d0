//! The long crash-and-retry run (issue 14; `tests/crash.rs` is the short one in CI): a real
//! `spondon-peer serve`, `--clients` staff clients issuing records with an `Idempotency-Key`
//! each, SIGKILL at a random moment every round (seeded; the seed is printed), a restart on the
//! same data, retries with the same key. Checked every round, with the process dead: no
//! acknowledged record lost, no log entry without its record row or the reverse, one key per
//! record; after every restart: `/checkpoint` covers the whole log, the tiles audit clean.
//! Prints acknowledged records and the unanswered-then-retried counts.
//!
//! `cargo build --release -p spondon-peer --bin spondon-peer && cargo run --release -p
//! spondon-peer --example peer-crash -- [--rounds 30] [--clients 8] [--seed N] [--database-url
//! postgres://…/fresh_db]`
//!
//! It runs the `spondon-peer` binary of the same profile, next to the example (examples do not
//! build their package's binaries: build it first, as above).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/crash.rs"]
mod crash;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    let v = args
        .get(i + 1)
        .unwrap_or_else(|| panic!("{name} needs a value"));
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}: cannot parse {v}")),
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/peer-crash → target/<profile>/spondon-peer
    let profile_dir = exe.parent().and_then(|p| p.parent()).unwrap().to_path_buf();
    let bin = profile_dir.join("spondon-peer");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p spondon-peer --bin spondon-peer (same profile) first",
        bin.display()
    );
    let o = crash::Options {
        bin,
        database_url: arg(&args, "--database-url"),
        rounds: arg(&args, "--rounds").unwrap_or(30),
        clients: arg(&args, "--clients").unwrap_or(8),
        seed: arg(&args, "--seed").unwrap_or_else(crash::seed),
        round_ms: (
            arg(&args, "--min-ms").unwrap_or(200),
            arg(&args, "--max-ms").unwrap_or(2000),
        ),
    };
    let start = std::time::Instant::now();
    let r = crash::run(&o).await;
    println!(
        "{} rounds ({} clients, seed {}) in {:.1} s: {} records acknowledged, all stored once; \
         {} writes unanswered then retried with their key, {} of them committed before the kill \
         (answered as replays); log size at each kill: {:?}",
        r.rounds,
        o.clients,
        o.seed,
        start.elapsed().as_secs_f64(),
        r.acknowledged,
        r.unanswered_retried,
        r.committed_unheard,
        r.log_sizes
    );
}
