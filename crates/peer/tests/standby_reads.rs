//! Reads from a streaming standby (issue 14): a real `spondon-peer serve` writes to the primary
//! of `scripts/with-postgres-ha.sh` and reads from its standby (`--read-database-url`). Patients'
//! pulls and the log's tiles are served from the standby (the `/metrics` counters say so) and
//! verify as a wallet checks them; when the standby is lost, the same reads come from the
//! primary, without a wait per request, and still verify.
//!
//! Skipped unless `SPONDON_TEST_POSTGRES_HA_PRIMARY_URL` is set (run under
//! `scripts/with-postgres-ha.sh`); fails instead with `SPONDON_REQUIRE_POSTGRES_HA=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/pull.rs"]
mod pull;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

use pull::{pull, signed};
use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;
use spondon_ledger::merkle::{Hash, leaf_hash};
use spondon_ledger::{SignedCheckpoint, Verifier};
use spondon_testkit::http::{get_ok, post_json};
use spondon_testkit::inproc as common;
use spondon_testkit::proc::{free_port, wait_ready};
use spondon_testkit::tiles;

const BIN: &str = env!("CARGO_BIN_EXE_spondon-peer");
const ORIGIN: &str = "dmch.example/log";
const RECORDS: usize = 40;

/// `spondon_peer_replica_reads_total{result="…"}` from `/metrics`.
async fn replica_reads(addr: SocketAddr, result: &str) -> u64 {
    let text = String::from_utf8(get_ok(addr, "/metrics").await).unwrap();
    let prefix = format!("spondon_peer_replica_reads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The whole log over its tiles, checked against the signed checkpoint.
async fn tiles_verify(addr: SocketAddr, log_key: &Verifier) -> u64 {
    let note = String::from_utf8(get_ok(addr, "/checkpoint").await).unwrap();
    let cp = SignedCheckpoint::verify(note.as_bytes(), ORIGIN, std::slice::from_ref(log_key))
        .unwrap()
        .checkpoint;
    let entries = tiles::entries_at(addr, cp.size).await;
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(tiles::root(&leaves, cp.size), cp.root);
    cp.size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_and_tiles_are_read_from_the_standby_and_from_the_primary_without_it() {
    let (Ok(primary), Ok(standby), Ok(ctl)) = (
        std::env::var("SPONDON_TEST_POSTGRES_HA_PRIMARY_URL"),
        std::env::var("SPONDON_TEST_POSTGRES_HA_STANDBY_URL"),
        std::env::var("SPONDON_PG_HA_CTL"),
    ) else {
        assert!(
            std::env::var("SPONDON_REQUIRE_POSTGRES_HA").as_deref() != Ok("1"),
            "SPONDON_REQUIRE_POSTGRES_HA=1 but the HA environment is not set"
        );
        eprintln!("skipped: run under scripts/with-postgres-ha.sh");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let data_s = data.to_str().unwrap();
    let init = Command::new(BIN)
        .args(["init", "--name", "Dhaka Medical College Hospital"])
        .args(["--url", common::URL, "--data", data_s])
        .args(["--database-url", &primary])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let init: Value = serde_json::from_slice(&init.stdout).unwrap();
    let log_key = Verifier::from_vkey(init["log_vkey"].as_str().unwrap()).unwrap();
    let token = init["staff_token"].as_str().unwrap().to_owned();
    let config_file = data.join("peer.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_file).unwrap()).unwrap();
    config["rate_limit"]["per_second"] = 0.into();
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    // A standby that is not PostgreSQL, or without a PostgreSQL primary, is refused up front.
    let bad = Command::new(BIN)
        .args(["serve", "--data", data_s, "--listen", "127.0.0.1:1"])
        .args(["--read-database-url", "sqlite:///tmp/x.db"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && said.contains("read_database_url"),
        "{said}"
    );

    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data_s, "--listen", &addr.to_string()])
        .args(["--read-database-url", &standby])
        .env("SPONDON_PEER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_ready(&mut child, addr, &log).await;
    let staff = |path: &'static str, body: Value| {
        let token = token.clone();
        async move { post_json(addr, path, &token, &body).await }
    };

    // A patient with a phone key and records (written to the primary; with synchronous
    // replication each is applied on the standby before it is acknowledged).
    let r = staff("/staff/patients", common::patient_json("1987654300")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let phone = Es256KeyPair::generate().unwrap();
    let body = json!({"health_id": hid, "code": code, "public_key": phone.public_key().to_jwk()});
    let r = signed(addr, &phone, "/patient/enroll", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    for _ in 0..RECORDS {
        let r = staff("/staff/records", common::lab_report(&hid)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }

    // The pull and the tiles: verified, and served by the standby.
    let served = replica_reads(addr, "served").await;
    let (cp, cursor, recs) = pull(addr, &phone, &log_key, None).await;
    assert_eq!(recs.len(), RECORDS);
    let size = tiles_verify(addr, &log_key).await;
    assert_eq!(size, cp.size);
    let served_after = replica_reads(addr, "served").await;
    assert!(
        served_after > served,
        "the standby served no read ({served} → {served_after})"
    );
    eprintln!(
        "standby reads: {served_after} served, {} fell back",
        replica_reads(addr, "fell_back").await
    );

    // The standby is lost: the same reads come from the primary, each without waiting for
    // the lost standby, and verify.
    // (With synchronous replication the primary's commits — a pull's nonce among them — wait
    // for the lost standby until the operator lets the primary commit alone.)
    for step in ["stop-standby", "primary-alone"] {
        let out = Command::new(&ctl).arg(step).output().unwrap();
        assert!(
            out.status.success(),
            "pg-ha-ctl {step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let fell_back = replica_reads(addr, "fell_back").await;
    let started = Instant::now();
    let (_, _, again) = pull(addr, &phone, &log_key, None).await;
    assert_eq!(again, recs);
    let (_, _, none) = pull(addr, &phone, &log_key, Some((&cp, cursor))).await;
    assert!(none.is_empty());
    assert_eq!(tiles_verify(addr, &log_key).await, size);
    let took = started.elapsed();
    let tries = replica_reads(addr, "fell_back").await - fell_back;
    eprintln!(
        "after the standby stopped: two pulls and the tiles in {took:?}, {tries} tries of it"
    );
    // It was tried, failed, and then left alone (5 s) rather than tried, and waited for, by
    // every read.
    assert!(
        (1..=2).contains(&tries),
        "{tries} reads tried the lost standby"
    );
    child.kill().ok();
    child.wait().ok();
}
