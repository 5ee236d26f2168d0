//! Crash test: SIGKILL an appending process at random points, 50 rounds. After each restart the
//! log passes its full integrity check, no acknowledged entry is missing or changed, and no index
//! is reused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use spondon_ledger::{Database, IntegrityCheck, Log};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_appending_loses_nothing_acknowledged() {
    const ROUNDS: u32 = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut acked: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut size_before = 0u64;
    let mut total_acks = 0usize;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-crash-child"))
            .arg(&path)
            .arg(round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r: [u8; 1] = spondon_core::keys::random_bytes().unwrap();
        std::thread::sleep(Duration::from_millis(20 + u64::from(r[0]) % 120));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // Only complete lines were acknowledged.
        let complete = match out.rfind('\n') {
            Some(i) => &out[..=i],
            None => "",
        };
        for line in complete.lines() {
            let mut parts = line.split(' ');
            assert_eq!(parts.next(), Some("ACK"), "{line}");
            let first: u64 = parts.next().unwrap().parse().unwrap();
            assert!(
                first >= size_before,
                "round {round}: index {first} reused (log had {size_before})"
            );
            for (k, e) in parts.next().unwrap().split(',').enumerate() {
                let prev = acked.insert(first + k as u64, unhex(e));
                assert!(
                    prev.is_none(),
                    "index {} acknowledged twice",
                    first + k as u64
                );
            }
            total_acks += 1;
        }
        // Restart: full integrity check, then every acknowledged entry is there, unchanged.
        let db = Database::sqlite(&path).await.unwrap();
        let log = Log::open(db.clone(), "crash.test/log", IntegrityCheck::Full)
            .await
            .unwrap();
        let (size, _) = log.tree_head().await;
        assert!(
            size >= size_before,
            "log shrank from {size_before} to {size}"
        );
        if let Some((&last, _)) = acked.last_key_value() {
            assert!(
                size > last,
                "acknowledged entry {last} missing: size {size}"
            );
        }
        if size > 0 {
            let stored = log.entries(0, size).await.unwrap();
            for (idx, e) in &acked {
                assert_eq!(&stored[*idx as usize], e, "entry {idx} changed");
            }
        }
        size_before = size;
        db.close().await;
    }
    assert!(
        total_acks >= ROUNDS as usize,
        "too few acknowledged batches ({total_acks}) to be meaningful"
    );
    eprintln!(
        "crash test: {ROUNDS} rounds, {total_acks} acknowledged batches, {} entries",
        acked.len()
    );
}
