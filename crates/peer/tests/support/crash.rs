//! Group commit under SIGKILL, through the peer (issue 14, "Crash and retry"): a real
//! `spondon-peer serve` process, concurrent staff clients issuing records with an
//! `Idempotency-Key` each, SIGKILL at a random moment (seeded), a restart on the same data, and
//! the clients retrying whatever got no answer with the same key and body. After every crash,
//! with the process dead, the storage itself is checked; after every restart, the served
//! checkpoint and tiles.
//!
//! Shared by `tests/crash.rs` (a few rounds per engine, in CI) and `examples/peer-crash.rs` (the
//! long run): `#[path]`-included by both, so it depends only on what both can use (the test kit
//! is a dev-dependency, which examples have too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use spondon_ledger::merkle::{Hash, leaf_hash};
use spondon_ledger::{EntryKind, LogEntry, Opening, SignedCheckpoint, Verifier};
use spondon_testkit::http::{get_ok, try_request};
use spondon_testkit::proc::{KillOnDrop, free_port, wait_ready};
use spondon_testkit::tiles::{self, Tiles};
use sqlx::Row as _;

const ORIGIN: &str = "dmch.example/log";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `spondon-peer` binary.
    pub bin: PathBuf,
    /// A fresh PostgreSQL database, or `None` for SQLite in the data directory.
    pub database_url: Option<String>,
    /// Crash-and-restart rounds.
    pub rounds: usize,
    /// Concurrent staff clients.
    pub clients: usize,
    /// Seed of the kill times.
    pub seed: u64,
    /// Each round lasts a random time in this range (ms) before the SIGKILL.
    pub round_ms: (u64, u64),
}

/// What happened, counted by the clients and read from storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rounds: usize,
    /// Records whose issuance a client heard answered (201), each once.
    pub acknowledged: u64,
    /// Requests that got no answer (connection refused, reset or cut by the kill) and were
    /// retried with the same key until answered.
    pub unanswered_retried: u64,
    /// Of those, the ones the peer had committed before it died: the retry answered the
    /// first record (`Idempotent-Replayed: true`) instead of issuing another.
    pub committed_unheard: u64,
    /// Records stored at the end (= log entries).
    pub records: u64,
    /// Records stored when the process was killed, per round.
    pub log_sizes: Vec<u64>,
}

/// splitmix64: a seeded, reproducible sequence (no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A seed from the environment (`SPONDON_CRASH_SEED`, to replay a failure) or fresh.
pub fn seed() -> u64 {
    match std::env::var("SPONDON_CRASH_SEED") {
        Ok(s) => s.parse().expect("SPONDON_CRASH_SEED must be a u64"),
        Err(_) => u64::from_le_bytes(spondon_core::keys::random_bytes().unwrap()),
    }
}

/// The `serve` process; killed (SIGKILL) when dropped, so a failing run leaves none behind.
fn spawn_serve(bin: &Path, data: &Path, addr: SocketAddr, log: &Path) -> KillOnDrop {
    let child = Command::new(bin)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &addr.to_string(),
        ])
        .env_remove("SPONDON_PEER_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    KillOnDrop::new(child)
}

/// One logical write of a client: its key and body, both fixed for every retry.
struct Ack {
    key: String,
    id: String,
    log_index: u64,
}

/// What the clients share with the rounds.
#[derive(Default)]
struct Shared {
    /// Set after the last round: each client stops after its write in hand.
    stop: AtomicBool,
    /// Read-held for each attempt; write-held while the peer is down for the checks.
    gate: tokio::sync::RwLock<()>,
    acks: Mutex<Vec<Ack>>,
    unanswered_retried: AtomicU64,
    committed_unheard: AtomicU64,
}

/// A staff client: issues records one after another, each with its own key; a request that
/// gets no answer is sent again, same key, same body, until answered. Stops (between writes)
/// when `stop` is set.
async fn client(c: usize, addr: SocketAddr, auth: String, health_id: String, sh: Arc<Shared>) {
    let mut n = 0u64;
    while !sh.stop.load(Ordering::Acquire) {
        let key = format!("crash-c{c}-{n}");
        // Bodies differ from write to write (the platelet count), so a key sent again with
        // another body would show as a 422.
        let body = lab_report(&health_id, n).to_string();
        let mut unanswered = false;
        let r = loop {
            // Held for the attempt: while the peer is down for the checks, none is sent.
            let open = sh.gate.read().await;
            let r = try_request(
                addr,
                "POST",
                "/staff/records",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                    ("Idempotency-Key", &key),
                ],
                body.as_bytes(),
            )
            .await;
            drop(open);
            match r {
                Some(r) => break r,
                None => {
                    unanswered = true;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        assert_eq!(r.status, 201, "client {c} key {key}: {}", r.text());
        let replayed = r.header("idempotent-replayed") == Some("true");
        // Only a retry can be a replay: every key is new.
        assert!(
            !replayed || unanswered,
            "{key} replayed on its first answer"
        );
        if unanswered {
            sh.unanswered_retried.fetch_add(1, Ordering::Relaxed);
            if replayed {
                sh.committed_unheard.fetch_add(1, Ordering::Relaxed);
            }
        }
        let v = r.json();
        sh.acks.lock().unwrap().push(Ack {
            key,
            id: v["id"].as_str().unwrap().to_owned(),
            log_index: v["log_index"].as_u64().unwrap(),
        });
        n += 1;
    }
}

fn lab_report(health_id: &str, n: u64) -> Value {
    json!({
        "health_id": health_id,
        "kind": "lab_report",
        "resources": [
            {"resourceType": "DiagnosticReport", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
             "valueQuantity": {"value": 95 + n % 300, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}},
        ],
    })
}

/// The stored state, read with the process dead.
struct Stored {
    size: u64,
    entries: Vec<Vec<u8>>,
    /// log_index → (record id, salt, jws)
    records: BTreeMap<u64, (String, Vec<u8>, String)>,
    /// record id → idempotency keys naming it
    keys: BTreeMap<String, Vec<String>>,
    /// record id → the staff audit entries of `POST /staff/records` answered 201 naming it
    audited: BTreeMap<String, usize>,
}

macro_rules! read_stored {
    ($pool:expr) => {{
        let p = $pool;
        let size: i64 = sqlx::query("SELECT size FROM ledger_meta WHERE id = 1")
            .fetch_one(p)
            .await
            .unwrap()
            .get(0);
        let entries: Vec<Vec<u8>> = sqlx::query("SELECT data FROM ledger_entries ORDER BY idx")
            .fetch_all(p)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut records = BTreeMap::new();
        for r in sqlx::query("SELECT log_index, id, salt, jws FROM peer_records")
            .fetch_all(p)
            .await
            .unwrap()
        {
            let i: i64 = r.get(0);
            let prev = records.insert(u64::try_from(i).unwrap(), (r.get(1), r.get(2), r.get(3)));
            assert!(prev.is_none(), "two records at log index {i}");
        }
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in sqlx::query("SELECT record_id, key FROM peer_idempotency")
            .fetch_all(p)
            .await
            .unwrap()
        {
            keys.entry(r.get(0)).or_default().push(r.get(1));
        }
        let mut audited: BTreeMap<String, usize> = BTreeMap::new();
        for r in sqlx::query("SELECT target FROM peer_staff_audit WHERE action = 'POST /staff/records' AND status = 201")
            .fetch_all(p)
            .await
            .unwrap()
        {
            let target: Option<String> = r.get(0);
            *audited.entry(target.expect("an issuance's entry names its record")).or_default() += 1;
        }
        Stored {
            size: u64::try_from(size).unwrap(),
            entries,
            records,
            keys,
            audited,
        }
    }};
}

async fn read_stored(database_url: &str) -> Stored {
    if database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database_url).await.unwrap();
        let s = read_stored!(&pool);
        pool.close().await;
        s
    } else {
        let pool = sqlx::SqlitePool::connect(database_url).await.unwrap();
        let s = read_stored!(&pool);
        pool.close().await;
        s
    }
}

/// No half-written batch: the stored head counts exactly the stored entries, every entry is a
/// record issuance opened by the record row at its index (with its salt and JWS), every record
/// row has its entry, and every record carries the one idempotency key it was issued for and
/// its staff audit entry.
fn check_stored(s: &Stored, round: usize) {
    assert_eq!(
        s.entries.len() as u64,
        s.size,
        "round {round}: head and entries"
    );
    assert_eq!(
        s.records.len() as u64,
        s.size,
        "round {round}: a log entry without its record row or a row without its entry"
    );
    for (i, e) in s.entries.iter().enumerate() {
        let entry = LogEntry::decode(e).unwrap();
        assert_eq!(entry.kind, EntryKind::RecordIssued);
        let (id, salt, jws) = s
            .records
            .get(&(i as u64))
            .unwrap_or_else(|| panic!("round {round}: log entry {i} has no record row"));
        let opening = Opening {
            salt: salt.as_slice().try_into().unwrap(),
            payload: jws.as_bytes().to_vec(),
        };
        assert!(
            entry.opens(&opening),
            "round {round}: record {id} does not open entry {i}"
        );
        let keys = s.keys.get(id).map(Vec::len).unwrap_or(0);
        assert_eq!(keys, 1, "round {round}: record {id} has {keys} keys");
        // Its audit entry committed with it, even when the kill cut its answer (a replay of
        // it after a restart adds one more).
        assert!(
            s.audited.contains_key(id),
            "round {round}: record {id} has no audit entry"
        );
    }
    assert_eq!(s.keys.len(), s.records.len(), "a key names no record");
    assert!(
        s.audited.keys().all(|id| s.keys.contains_key(id)),
        "round {round}: an issuance's audit entry names no record"
    );
}

/// Right after a restart, before any client writes: the served checkpoint is signed by the
/// log key and covers exactly the whole stored log, and the log audits clean from the served
/// tiles (entries equal the stored ones, level-0 tiles are their leaf hashes, the root is the
/// checkpoint's).
async fn audit(addr: SocketAddr, key: &Verifier, stored: &Stored, round: usize) {
    let note = get_ok(addr, "/checkpoint").await;
    let cp = SignedCheckpoint::verify(&note, ORIGIN, std::slice::from_ref(key))
        .unwrap()
        .checkpoint;
    assert_eq!(
        cp.size, stored.size,
        "round {round}: the checkpoint after restart does not cover the whole log"
    );
    let Tiles { entries, leaves } = tiles::read(stored.size, |path: String| async move {
        get_ok(addr, &path).await
    })
    .await;
    assert_eq!(entries, stored.entries, "round {round}: served entries");
    let computed: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(leaves, computed, "round {round}: level-0 tiles");
    assert_eq!(
        cp.root,
        tiles::mth(&leaves),
        "round {round}: checkpoint root"
    );
}

/// Runs the crash rounds; panics on any broken guarantee.
pub async fn run(o: &Options) -> Report {
    eprintln!(
        "crash test: seed {} (SPONDON_CRASH_SEED={} replays it), {} rounds, {} clients, {}",
        o.seed,
        o.seed,
        o.rounds,
        o.clients,
        if o.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let mut rng = Rng(o.seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let mut init = Command::new(&o.bin);
    init.args([
        "init",
        "--name",
        "Dhaka Medical College Hospital",
        "--url",
        "https://dmch.example",
        "--data",
        data.to_str().unwrap(),
    ])
    .env_remove("SPONDON_PEER_DATABASE_URL");
    if let Some(u) = &o.database_url {
        init.args(["--database-url", u]);
    }
    let out = init.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init: Value = serde_json::from_slice(&out.stdout).unwrap();
    let log_key = Verifier::from_vkey(init["log_vkey"].as_str().unwrap()).unwrap();
    let auth = format!("Bearer {}", init["staff_token"].as_str().unwrap());
    let config_file = data.join("peer.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_file).unwrap()).unwrap();
    config["rate_limit"]["per_second"] = 0.into();
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let database_url = config["database_url"].as_str().unwrap().to_owned();

    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = |round: usize| dir.path().join(format!("serve-{round}.log"));
    let mut serve = spawn_serve(&o.bin, &data, addr, &log(0));
    wait_ready(serve.child(), addr, &log(0)).await;

    let mut patients = Vec::new();
    for c in 0..o.clients {
        let body = json!({
            "name": "Fatema Begum", "birth_date": "1988-04-12", "sex": "female",
            "national_id": format!("19876543{c:02}"), "phone": "01711-234567",
            "district": "Mymensingh", "upazila": "Trishal",
        })
        .to_string();
        let r = try_request(
            addr,
            "POST",
            "/staff/patients",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        patients.push(r.json()["health_id"].as_str().unwrap().to_owned());
    }

    let sh = Arc::new(Shared::default());
    let clients: Vec<_> = patients
        .iter()
        .enumerate()
        .map(|(c, hid)| tokio::spawn(client(c, addr, auth.clone(), hid.clone(), sh.clone())))
        .collect();

    let mut report = Report {
        rounds: o.rounds,
        ..Report::default()
    };
    for round in 1..=o.rounds {
        tokio::time::sleep(Duration::from_millis(
            rng.between(o.round_ms.0, o.round_ms.1),
        ))
        .await;
        // SIGKILL: no shutdown, no flush, whatever the peer was doing.
        drop(serve);
        // The attempts in flight fail; no new one starts until the peer is back and audited.
        let closed = sh.gate.write().await;
        let stored = read_stored(&database_url).await;
        check_stored(&stored, round);
        {
            // Nothing acknowledged is lost: every answered record is stored at its index.
            let acks = sh.acks.lock().unwrap();
            for a in acks.iter() {
                let (id, _, _) = stored
                    .records
                    .get(&a.log_index)
                    .unwrap_or_else(|| panic!("round {round}: acknowledged {} lost", a.key));
                assert_eq!(
                    *id, a.id,
                    "round {round}: {} answered another record",
                    a.key
                );
            }
        }
        report.log_sizes.push(stored.size);
        serve = spawn_serve(&o.bin, &data, addr, &log(round));
        wait_ready(serve.child(), addr, &log(round)).await;
        audit(addr, &log_key, &stored, round).await;
        drop(closed);
    }

    // Every client finishes its write in hand (retrying it if needed), then stops.
    sh.stop.store(true, Ordering::Release);
    for c in clients {
        c.await.unwrap();
    }
    drop(serve);
    let stored = read_stored(&database_url).await;
    check_stored(&stored, o.rounds + 1);
    let acks = std::mem::take(&mut *sh.acks.lock().unwrap());
    // No record issued twice for one key, none lost, none unanswered: the records are exactly
    // the acknowledged writes, one each.
    let keys: BTreeSet<&str> = acks.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), acks.len(), "a key answered twice");
    let ids: BTreeSet<&str> = acks.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), acks.len(), "one record answered for two keys");
    assert_eq!(stored.records.len(), acks.len(), "stored vs acknowledged");
    for a in &acks {
        let (id, _, _) = &stored.records[&a.log_index];
        assert_eq!(*id, a.id);
        assert_eq!(stored.keys[id], vec![a.key.clone()]);
    }
    report.acknowledged = acks.len() as u64;
    report.records = stored.records.len() as u64;
    report.unanswered_retried = sh.unanswered_retried.load(Ordering::Relaxed);
    report.committed_unheard = sh.committed_unheard.load(Ordering::Relaxed);
    report
}
