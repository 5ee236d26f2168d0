//! Several `spondon-peer serve` processes over one PostgreSQL database: three real processes
//! sharing one data directory (keys and config), started at the same moment on a fresh
//! database, 300 concurrent staff issuances spread over the three, then an independent check
//! of the log over the tiles each process serves: no index used twice, no gap, one linear
//! history, and every checkpoint seen (from any process, at any time) consistent with every
//! other by RFC 9162 consistency proofs computed from the tiles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::http::get_ok;
use spondon_testkit::inproc as common;
use spondon_testkit::proc::{free_port, wait_ready};
use spondon_testkit::tiles;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use spondon_ledger::merkle::{Hash, NodeId, leaf_hash, plan_consistency, verify_consistency};
use spondon_ledger::{Checkpoint, EntryKind, LogEntry, SignedCheckpoint, Verifier};

const BIN: &str = env!("CARGO_BIN_EXE_spondon-peer");
const PROCESSES: usize = 3;
const ISSUANCES: usize = 300;
const PATIENTS: usize = 12;

fn run(args: &[&str], database_url: &str) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .env("SPONDON_PEER_DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_serve_processes_on_one_postgres_database_keep_one_log() {
    let Some(pg) =
        common::postgres_url("three_serve_processes_on_one_postgres_database_keep_one_log").await
    else {
        return;
    };
    // One data directory (keys, config) shared by the three processes; the database is the
    // fresh PostgreSQL one, so the three create the schema and migrate it at the same moment.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let data_s = data.to_str().unwrap();
    let init = Command::new(BIN)
        .args([
            "init",
            "--name",
            "Dhaka Medical College Hospital",
            "--url",
            "https://dmch.example",
            "--data",
            data_s,
        ])
        .output()
        .unwrap();
    assert!(init.status.success());
    let init: Value = serde_json::from_slice(&init.stdout).unwrap();
    let log_key = Verifier::from_vkey(init["log_vkey"].as_str().unwrap()).unwrap();
    // The checkpoint watcher below reads as fast as it can: no per-client rate limit.
    let config_file = data.join("peer.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_file).unwrap()).unwrap();
    config["rate_limit"]["per_second"] = 0.into();
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let addrs: Vec<SocketAddr> = (0..PROCESSES)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let logs: Vec<std::path::PathBuf> = (0..PROCESSES)
        .map(|k| dir.path().join(format!("serve-{k}.log")))
        .collect();
    let mut children: Vec<Child> = addrs
        .iter()
        .zip(&logs)
        .map(|(a, log)| {
            Command::new(BIN)
                .args(["serve", "--data", data_s, "--listen", &a.to_string()])
                .env("SPONDON_PEER_DATABASE_URL", &pg)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log).unwrap())
                .spawn()
                .unwrap()
        })
        .collect();
    for ((c, a), log) in children.iter_mut().zip(&addrs).zip(&logs) {
        wait_ready(c, *a, log).await;
    }

    // A staff token in the shared database (the CLI needs no lock on PostgreSQL either).
    let tok = run(
        &[
            "staff-token",
            "--data",
            data_s,
            "--label",
            "multi",
            "--roles",
            "admin",
        ],
        &pg,
    );
    let token = tok["token"].as_str().unwrap().to_owned();
    let staff = |addr: SocketAddr, path: &'static str, body: Value| {
        let token = token.clone();
        async move { spondon_testkit::http::post_json(addr, path, &token, &body).await }
    };
    let mut patients = Vec::new();
    for i in 0..PATIENTS {
        let nid = format!("19876543{:02}", i);
        let r = staff(
            addrs[i % PROCESSES],
            "/staff/patients",
            common::patient_json(&nid),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        patients.push(r.json()["health_id"].as_str().unwrap().to_owned());
    }

    // While the issuances run, read the checkpoint from every process in turn.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        let addrs = addrs.clone();
        tokio::spawn(async move {
            let mut seen: Vec<String> = Vec::new();
            let mut k = 0;
            while !done.load(Ordering::Acquire) {
                let note = get_ok(addrs[k % PROCESSES], "/checkpoint").await;
                seen.push(String::from_utf8(note).unwrap());
                k += 1;
            }
            seen
        })
    };

    let issued = futures_join(
        (0..ISSUANCES)
            .map(|i| {
                let body = common::lab_report(&patients[i % PATIENTS]);
                let f = staff(addrs[i % PROCESSES], "/staff/records", body);
                tokio::spawn(f)
            })
            .collect(),
    )
    .await;
    done.store(true, Ordering::Release);
    let mut indexes = BTreeSet::new();
    for r in &issued {
        assert_eq!(r.status, 201, "{}", r.text());
        let i = r.json()["log_index"].as_u64().unwrap();
        assert!(indexes.insert(i), "log index {i} answered twice");
    }
    // Patient registrations do not touch the log: the records are the whole log.
    assert_eq!(
        indexes,
        (0..ISSUANCES as u64).collect::<BTreeSet<_>>(),
        "no gap, no index used twice"
    );
    let mut seen = watcher.await.unwrap();

    // Every process serves the same final checkpoint and the same tiles.
    let mut finals = Vec::new();
    for a in &addrs {
        let note = String::from_utf8(get_ok(*a, "/checkpoint").await).unwrap();
        let cp = SignedCheckpoint::verify(
            note.as_bytes(),
            "dmch.example/log",
            std::slice::from_ref(&log_key),
        )
        .unwrap()
        .checkpoint;
        assert_eq!(cp.size, ISSUANCES as u64, "checkpoint of {a}");
        finals.push(cp);
        seen.push(note);
    }
    let size = ISSUANCES as u64;
    let entries = tiles::entries_at(addrs[0], size).await;
    for a in &addrs[1..] {
        assert_eq!(
            tiles::entries_at(*a, size).await,
            entries,
            "{a} serves another history"
        );
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    // Each entry is a record issuance (and the 300 answers opened exactly these indexes).
    for e in &entries {
        assert_eq!(LogEntry::decode(e).unwrap().kind, EntryKind::RecordIssued);
    }
    // The level-1 tile matches the leaves.
    let l1 = get_ok(addrs[2], &tiles::tile_path("1", 0, 1)).await;
    assert_eq!(
        l1,
        tiles::node(&leaves, NodeId { level: 8, index: 0 }).to_vec()
    );

    // Every checkpoint seen — from every process, during and after the issuances — is signed
    // by the log key, never went backwards, and is consistent with every later one: its root is
    // the root of the first `size` leaves of the one history, and an RFC 9162 consistency proof
    // built from the tiles verifies between consecutive ones.
    let mut cps: Vec<Checkpoint> = Vec::new();
    for note in &seen {
        let cp = SignedCheckpoint::verify(
            note.as_bytes(),
            "dmch.example/log",
            std::slice::from_ref(&log_key),
        )
        .unwrap()
        .checkpoint;
        if let Some(prev) = cps.last() {
            assert!(
                cp.size >= prev.size,
                "checkpoint went back from {} to {}",
                prev.size,
                cp.size
            );
        }
        assert_eq!(
            cp.root,
            tiles::root(&leaves, cp.size),
            "root of the checkpoint of size {}",
            cp.size
        );
        cps.push(cp);
    }
    let distinct: Vec<&Checkpoint> = {
        let mut v: Vec<&Checkpoint> = cps.iter().filter(|c| c.size > 0).collect();
        v.dedup_by_key(|c| c.size);
        v
    };
    for w in distinct.windows(2) {
        let (a, b) = (w[0], w[1]);
        let plan = plan_consistency(a.size, b.size).unwrap();
        let proof = plan
            .assemble(|id| Ok::<_, ()>(tiles::node(&leaves, id)))
            .unwrap();
        verify_consistency(a.size, b.size, &proof, &a.root, &b.root).unwrap();
    }
    for cp in &finals {
        assert_eq!(cp.root, finals[0].root);
    }

    // Each process stops cleanly, having logged no error.
    for (mut c, log) in children.into_iter().zip(&logs) {
        let status = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = c.wait().unwrap();
        let err = std::fs::read_to_string(log).unwrap();
        assert!(status.success(), "{err}");
        assert!(!err.contains("ERROR"), "{err}");
        assert!(err.contains("shutting down"), "{err}");
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<common::Resp>>) -> Vec<common::Resp> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
