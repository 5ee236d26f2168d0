//! Group commit under SIGKILL (issue 14): a real `serve` process, 8 staff clients issuing with
//! an `Idempotency-Key` each, SIGKILL at seeded random moments, restart on the same data,
//! retries with the same key; no acknowledged record lost, none issued twice for one key, no
//! half-written batch after a restart, and `/checkpoint` covering the whole log at once. Both
//! engines; the long run is `examples/peer-crash.rs`. The seed is printed
//! (`SPONDON_CRASH_SEED=… ` replays it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;
#[path = "support/crash.rs"]
mod crash;

const BIN: &str = env!("CARGO_BIN_EXE_spondon-peer");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_survives_sigkill_and_retries_write_once() {
    for db in common::engines("group_commit_survives_sigkill_and_retries_write_once").await {
        let o = crash::Options {
            bin: BIN.into(),
            database_url: db,
            rounds: 5,
            clients: 8,
            seed: crash::seed(),
            round_ms: (150, 900),
        };
        let r = crash::run(&o).await;
        eprintln!("{r:?}");
        assert_eq!(r.rounds, 5);
        assert!(r.acknowledged > 0);
        assert_eq!(r.records, r.acknowledged);
    }
}
