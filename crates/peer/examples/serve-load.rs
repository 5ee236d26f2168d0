//! Load against real `spondon-peer serve` processes over HTTP on 127.0.0.1 (not part of the test
//! run; `scripts/bench.sh` and `scripts/soak.sh` drive it).
//!
//! Sets up a throwaway peer with the release binary (`init`, a staff token, rate limiting off),
//! starts `--processes` `serve` processes on it (more than one needs `--database-url`: they
//! share one PostgreSQL database), registers patients and a doctor and enrolls a patient over
//! the staff and patient APIs, then for `--secs` seconds runs `--issuers` staff clients issuing
//! prescriptions (`POST /staff/records`, spread over the processes) and `--redeemers` doctor
//! clients redeeming one grant (`POST /nonce`, then `POST /grant/records` with a PoP proof).
//! `--issue-rate` and `--redeem-rate` cap the total rates (0: as fast as the clients go).
//! Staff and doctor clients open a fresh TCP connection per request unless `--keep-alive` is
//! given: then each keeps one HTTP/1.1 connection open (a `reqwest` client per client, as real
//! hospital systems and a clinic node's pooled client do).
//!
//! `--fhir N`: the issuers are hospital systems instead of staff clients: each is registered
//! over the staff API (`POST /staff/systems`, an EC P-384 key, scope `system/Immunization.c`),
//! gets its bearer token from `POST /auth/token` (SMART Backend Services, an ES384 client
//! assertion) and posts FHIR transaction Bundles of `N` Immunizations, one for each of `N`
//! distinct registered patients, each Bundle under its own `Bundle.identifier` (`POST /fhir`;
//! a connection per Bundle, or one kept open with `--keep-alive`). Rates and CPU are then
//! counted per record, latency per Bundle.
//!
//! Prints the throughput of every `--report-every` seconds interval, then a summary: rates,
//! p50/p99 latency, errors (any answer but the expected one, or a failed connection), and the
//! RSS of every `serve` process at the start and at the end of the load; the last line is the
//! same summary as one JSON object (`result: {...}`). It also prints what the `serve`
//! processes spent during the load: CPU time (user + system, `/proc/PID/stat`) and context
//! switches (voluntary and not, summed over the threads alive at the end of the load,
//! `/proc/PID/task/*/status`) per operation, and the load generator's own CPU per operation.
//!
//! `cargo run --release -p spondon-peer --example serve-load -- [--processes 1] [--secs 20]
//! [--issuers 8] [--redeemers 0] [--issue-rate 0] [--redeem-rate 0] [--report-every 10]
//! [--keep-alive] [--fhir N] [--bin path/to/spondon-peer] [--database-url postgres://…]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Audience, Category, Grant, PopProof, PopRequest, Purpose};
use spondon_testkit::bench::{arg, num};
use spondon_testkit::patient::{nonce_in, signed_ok};

const URL: &str = "https://load.example";

/// One request; `None` when the peer did not answer: (status, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    spondon_testkit::http::try_request(addr, method, path, headers, body)
        .await
        .map(|r| (r.status, r.body))
}

/// `POST path` with `headers` and `body`: over `client`'s kept-open connection
/// (`--keep-alive`), or a fresh connection. The status and body, or `None` when no answer came.
async fn exchange(
    client: Option<&reqwest::Client>,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    match client {
        Some(c) => {
            let mut req = c.post(format!("http://{addr}{path}"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let resp = req.body(body.to_vec()).send().await.ok()?;
            let status = resp.status().as_u16();
            resp.bytes().await.ok().map(|b| (status, b.to_vec()))
        }
        None => request(addr, "POST", path, headers, body).await,
    }
}

/// `POST path` with a bearer token and a body of `content_type` ([`exchange`]).
async fn post(
    client: Option<&reqwest::Client>,
    addr: SocketAddr,
    path: &str,
    auth: &str,
    content_type: &str,
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let headers = [("Authorization", auth), ("Content-Type", content_type)];
    exchange(client, addr, path, &headers, body).await
}

/// A fresh server nonce (`POST /nonce`, [`exchange`]), or what came instead.
async fn fresh_nonce(
    client: Option<&reqwest::Client>,
    addr: SocketAddr,
) -> Result<Vec<u8>, String> {
    let Some((status, body)) = exchange(client, addr, "/nonce", &[], b"").await else {
        return Err("no answer".into());
    };
    nonce_in(status, &body).ok_or_else(|| format!("{status} {}", String::from_utf8_lossy(&body)))
}

/// A client that keeps one connection open (`--keep-alive`), as a hospital system or a clinic
/// node's pooled client does.
fn kept_open(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(timeout)
        .build()
        .unwrap()
}

fn cli(bin: &Path, args: &[&str], db: Option<&str>) -> Value {
    let mut c = Command::new(bin);
    c.args(args);
    if let Some(db) = db {
        c.env("SPONDON_PEER_DATABASE_URL", db);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Resident memory of a process, KiB (`VmRSS` of /proc/PID/status).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of a process so far, seconds (`/proc/PID/stat`, in clock ticks of
/// 1/100 s, Linux's `USER_HZ`).
fn cpu_secs(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let (u, s): (u64, u64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
            Some((u + s) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

/// Context switches (voluntary + involuntary) of every live thread of a process.
fn ctxt_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    f64::from(sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]) / 1000.0
}

/// `--bin`, or the `spondon-peer` of this example's profile, built now if it is stale.
fn binary() -> PathBuf {
    arg("--bin").map_or_else(
        || spondon_testkit::proc::cargo_bin("spondon-peer", "spondon-peer"),
        PathBuf::from,
    )
}

/// The `serve` processes, stopped (SIGTERM, then waited for) however this program ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

/// A hospital system's ES384 key (EC P-384), as `POST /staff/systems` registers it.
struct SystemKey(ring::signature::EcdsaKeyPair);

impl SystemKey {
    fn generate() -> SystemKey {
        use ring::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        SystemKey(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pk8.as_ref(), &rng).unwrap(),
        )
    }

    fn jwk(&self) -> Value {
        use ring::signature::KeyPair as _;
        let p = self.0.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-384", "kid": "load-1",
               "x": spondon_core::b64::encode(&p[1..49]), "y": spondon_core::b64::encode(&p[49..97])})
    }

    /// A `client_credentials` token request with a fresh client assertion.
    fn token_form(&self, client_id: &str) -> String {
        let b64 = |b: &[u8]| spondon_core::b64::encode(b);
        let now = NumericDate::now().seconds();
        let claims = json!({"iss": client_id, "sub": client_id, "aud": format!("{URL}/auth/token"),
            "exp": now + 120, "jti": b64(&spondon_core::keys::random_bytes::<12>().unwrap())});
        let header = json!({"alg": "ES384", "kid": "load-1", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .0
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        // The assertion is base64url and dots: nothing to percent-encode.
        format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={input}.{}&scope=system%2FImmunization.c",
            b64(sig.as_ref())
        )
    }
}

/// A system's bearer token from `POST /auth/token`.
async fn system_token(addr: SocketAddr, key: &SystemKey, client_id: &str) -> String {
    let (st, b) = request(
        addr,
        "POST",
        "/auth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        key.token_form(client_id).as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    let t: Value = serde_json::from_slice(&b).unwrap();
    t["access_token"].as_str().unwrap().to_owned()
}

/// A transaction Bundle of one Immunization for each patient, under `identifier`.
fn immunizations(system: &str, value: &str, hids: &[String]) -> Vec<u8> {
    let entry: Vec<Value> = hids
        .iter()
        .map(|h| {
            json!({"resource": {"resourceType": "Immunization", "status": "completed",
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
                "occurrenceDateTime": "2026-12-01",
                "patient": {"identifier": {"system": spondon_peer::fhir_push::HEALTH_ID_SYSTEM, "value": h}}},
             "request": {"method": "POST", "url": "Immunization"}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction",
           "identifier": {"system": system, "value": value}, "entry": entry})
    .to_string()
    .into_bytes()
}

#[derive(Default)]
struct Counters {
    issued: AtomicU64,
    redeemed: AtomicU64,
    errors: AtomicU64,
}

/// Waits for the next slot of a client paced at `interval` (none: no pacing).
async fn pace(next: &mut Instant, interval: Option<Duration>) {
    if let Some(i) = interval {
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep(*next - now).await;
        }
        // Behind schedule (slow answers) the client catches up without a burst beyond one slot.
        *next = (*next + i).max(Instant::now() - i);
    }
}

fn interval(rate: f64, clients: usize) -> Option<Duration> {
    (rate > 0.0).then(|| Duration::from_secs_f64(clients as f64 / rate))
}

/// The usage line of this file's documentation.
const USAGE: &str = "serve-load [--processes 1] [--secs 20] [--issuers 8] [--redeemers 0] \
[--issue-rate 0] [--redeem-rate 0] [--report-every 10] [--keep-alive] [--fhir N] \
[--bin path/to/spondon-peer] [--database-url postgres://…]
  Load against real `spondon-peer serve` processes over HTTP on 127.0.0.1: staff issuances
  and doctors' grant redemptions; prints rates, p50/p99, errors, serve CPU and RSS, then one
  JSON line (`result: {...}`). See crates/peer/examples/serve-load.rs for each option.";

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let processes: usize = num("--processes", 1);
    let secs: u64 = num("--secs", 20);
    let issuers: usize = num("--issuers", 8);
    let redeemers: usize = num("--redeemers", 0);
    let issue_rate: f64 = num("--issue-rate", 0.0);
    let redeem_rate: f64 = num("--redeem-rate", 0.0);
    let every: u64 = num("--report-every", 10);
    let keep_alive = std::env::args().any(|a| a == "--keep-alive");
    let fhir: usize = num("--fhir", 0);
    assert!(
        fhir <= spondon_peer::fhir_push::MAX_ENTRIES,
        "--fhir: at most {} records a Bundle",
        spondon_peer::fhir_push::MAX_ENTRIES
    );
    let db = arg("--database-url");
    assert!(
        processes == 1 || db.is_some(),
        "more than one process needs --database-url (one shared PostgreSQL database)"
    );
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let d = data.to_str().unwrap();
    cli(
        &bin,
        &["init", "--name", "Load Hospital", "--url", URL, "--data", d],
        db.as_deref(),
    );
    // One client address for all the load: no per-client rate limit, room for the nonces.
    let config_file = data.join("peer.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_file).unwrap()).unwrap();
    config["rate_limit"]["per_second"] = 0.into();
    config["max_outstanding_nonces"] = 10_000_000.into();
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    // The token before `serve` (on SQLite the CLI takes the data directory's writer lock).
    let tok = cli(
        &bin,
        &[
            "staff-token",
            "--data",
            d,
            "--label",
            "load",
            "--roles",
            "admin",
        ],
        db.as_deref(),
    );
    let auth = format!("Bearer {}", tok["token"].as_str().unwrap());

    let mut children = Children(Vec::new());
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for k in 0..processes {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut c = Command::new(&bin);
        c.args([
            "--log-level",
            "warn",
            "serve",
            "--data",
            d,
            "--listen",
            &addr.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join(format!("serve-{k}.log"))).unwrap());
        if let Some(db) = &db {
            c.env("SPONDON_PEER_DATABASE_URL", db);
        }
        children.0.push(c.spawn().unwrap());
        addrs.push(addr);
    }
    for (k, addr) in addrs.iter().enumerate() {
        let mut ready = false;
        for _ in 0..1200 {
            if let Some(st) = children.0[k].try_wait().unwrap() {
                panic!(
                    "serve {k} exited ({st}): {}",
                    std::fs::read_to_string(dir.path().join(format!("serve-{k}.log")))
                        .unwrap_or_default()
                );
            }
            if let Some((200, _)) = request(*addr, "GET", "/readyz", &[], b"").await {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "serve on {addr} never became ready");
    }

    let staff = |addr: SocketAddr, path: &'static str, body: Value| {
        let auth = auth.clone();
        async move {
            request(
                addr,
                "POST",
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    let doctor = Es256KeyPair::generate().unwrap();
    let (st, b) = staff(
        addrs[0],
        "/staff/doctors",
        json!({"bmdc_number": "A-1", "name": "Dr. Load", "department": "Medicine",
               "public_key": doctor.public_key().to_jwk()}),
    )
    .await
    .unwrap();
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    let mut patients = Vec::new();
    // 12 patients for the staff issuers (13 with the redeemer's), or one a record of a Bundle.
    for i in 0..13.max(fhir + 1) {
        let (st, b) = staff(
            addrs[i % processes],
            "/staff/patients",
            json!({"name": "Rokeya Khatun", "birth_date": "1979-02-03", "sex": "female",
                   "national_id": format!("1987654{i:03}"), "phone": "01811000000",
                   "district": "Dhaka", "upazila": "Savar"}),
        )
        .await
        .unwrap();
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
        patients.push(serde_json::from_slice::<Value>(&b).unwrap());
    }
    let prescription = |hid: &str| {
        json!({"health_id": hid, "kind": "prescription", "doctor_bmdc": "A-1",
               "resources": [{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                   "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
                   "dosageInstruction": [{"text": "1 tablet three times daily for 5 days"}]}]})
    };
    // The redeeming doctor's grant: the last patient, enrolled, with 5 prescriptions.
    let small = patients.pop().unwrap();
    let small_hid = small["health_id"].as_str().unwrap().to_owned();
    let pkey = Es256KeyPair::generate().unwrap();
    signed_ok(
        addrs[0],
        URL,
        &pkey,
        "/patient/enroll",
        &json!({"health_id": small_hid, "code": small["enrollment_code"],
                "public_key": pkey.public_key().to_jwk()}),
    )
    .await;
    for _ in 0..5 {
        let (st, b) = staff(addrs[0], "/staff/records", prescription(&small_hid))
            .await
            .unwrap();
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    }
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: pkey.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.public_key().kid().to_owned(),
        },
        categories: vec![Category::Prescription],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400 * 2),
        use_limit: None,
        peers: vec![URL.into()],
    };
    let grant_body = Arc::new(json!({"grant": g.sign(&pkey).unwrap()}).to_string());
    let doctor = Arc::new(doctor);

    // The hospital systems and their tokens (`--fhir`).
    let mut systems = Vec::new();
    for c in 0..if fhir > 0 { issuers } else { 0 } {
        let key = SystemKey::generate();
        let (st, b) = staff(
            addrs[c % processes],
            "/staff/systems",
            json!({"name": format!("Load HIS {c}"), "jwks": {"keys": [key.jwk()]},
                   "scopes": ["system/Immunization.c"]}),
        )
        .await
        .unwrap();
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
        let client_id = serde_json::from_slice::<Value>(&b).unwrap()["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        systems.push((key, client_id));
    }

    let pids: Vec<u32> = children.0.iter().map(Child::id).collect();
    let rss_start: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let cpu_start: f64 = pids.iter().map(|p| cpu_secs(&p.to_string())).sum();
    let ctx_start: u64 = pids.iter().map(|p| ctxt_switches(*p)).sum();
    let own_start = cpu_secs("self");
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    let hids: Vec<String> = patients
        .iter()
        .map(|p| p["health_id"].as_str().unwrap().to_owned())
        .collect();
    let mut systems = systems.into_iter();
    for c in 0..issuers {
        let addr = addrs[c % processes];
        if fhir > 0 {
            let (key, client_id) = systems.next().unwrap();
            tasks.push(tokio::spawn(fhir_client(
                c,
                addr,
                key,
                client_id,
                hids.clone(),
                fhir,
                counters.clone(),
                interval(issue_rate, issuers),
                keep_alive,
                until,
            )));
            continue;
        }
        let body = prescription(&hids[c % hids.len()]).to_string();
        let auth = auth.clone();
        let counters = counters.clone();
        let iv = interval(issue_rate, issuers);
        // With --keep-alive, one connection kept open per client.
        let client = keep_alive.then(|| kept_open(Duration::from_secs(30)));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut next = Instant::now();
            loop {
                pace(&mut next, iv).await;
                if Instant::now() >= until {
                    break;
                }
                let t = Instant::now();
                let r = post(
                    client.as_ref(),
                    addr,
                    "/staff/records",
                    &auth,
                    "application/json",
                    body.as_bytes(),
                )
                .await;
                let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                match r {
                    Some((201, _)) => {
                        lat.push(us);
                        counters.issued.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        if counters.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!(
                                "issuance error: {:?}",
                                other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned()))
                            );
                        }
                    }
                }
            }
            (true, lat)
        }));
    }
    for c in 0..redeemers {
        let addr = addrs[c % processes];
        let (doctor, body, counters) = (doctor.clone(), grant_body.clone(), counters.clone());
        let gid = g.id;
        let iv = interval(redeem_rate, redeemers);
        let client = keep_alive.then(|| kept_open(Duration::from_secs(30)));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let url = format!("{URL}/grant/records");
            let mut next = Instant::now();
            loop {
                pace(&mut next, iv).await;
                if Instant::now() >= until {
                    break;
                }
                let n = match fresh_nonce(client.as_ref(), addr).await {
                    Ok(n) => n,
                    Err(e) => {
                        if counters.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("nonce error: {e}");
                        }
                        continue;
                    }
                };
                let pop = PopProof::create(
                    &doctor,
                    gid,
                    &PopRequest {
                        method: "POST",
                        url: &url,
                        nonce: &n,
                        body: body.as_bytes(),
                    },
                    NumericDate::now(),
                )
                .unwrap();
                let t = Instant::now();
                let r = exchange(
                    client.as_ref(),
                    addr,
                    "/grant/records",
                    &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
                    body.as_bytes(),
                )
                .await;
                let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                match r {
                    Some((200, _)) => {
                        lat.push(us);
                        counters.redeemed.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        if counters.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!(
                                "redemption error: {:?}",
                                other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned()))
                            );
                        }
                    }
                }
            }
            (false, lat)
        }));
    }
    // Throughput over time.
    let reporter = {
        let counters = counters.clone();
        let pids = pids.clone();
        tokio::spawn(async move {
            let (mut i0, mut r0, mut t0) = (0u64, 0u64, Instant::now());
            let mut series = Vec::new();
            while Instant::now() + Duration::from_millis(500) < until {
                tokio::time::sleep(Duration::from_secs(every).min(until - Instant::now())).await;
                let (i, r, e) = (
                    counters.issued.load(Ordering::Relaxed),
                    counters.redeemed.load(Ordering::Relaxed),
                    counters.errors.load(Ordering::Relaxed),
                );
                let dt = t0.elapsed().as_secs_f64();
                let rss: Vec<u64> = pids.iter().map(|p| rss_kib(*p) / 1024).collect();
                let at = start.elapsed().as_secs_f64();
                println!(
                    "t={at:>5.0} s: {:>6.0} issuances/s, {:>6.0} redemptions/s, errors {e}, serve RSS {rss:?} MiB",
                    (i - i0) as f64 / dt,
                    (r - r0) as f64 / dt
                );
                series.push(
                    json!({"t": at.round(), "issue_per_s": ((i - i0) as f64 / dt).round(),
                    "redeem_per_s": ((r - r0) as f64 / dt).round(), "errors": e, "rss_mib": rss}),
                );
                (i0, r0, t0) = (i, r, Instant::now());
            }
            series
        })
    };
    let (mut ilat, mut rlat) = (Vec::new(), Vec::new());
    let records = |ilat: &[u32]| {
        if fhir > 0 {
            ilat.len() * fhir
        } else {
            ilat.len()
        }
    };
    for t in tasks {
        let (issuing, lat) = t.await.unwrap();
        if issuing {
            ilat.extend(lat);
        } else {
            rlat.extend(lat);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let serve_cpu = pids.iter().map(|p| cpu_secs(&p.to_string())).sum::<f64>() - cpu_start;
    let serve_ctx = pids
        .iter()
        .map(|p| ctxt_switches(*p))
        .sum::<u64>()
        .saturating_sub(ctx_start);
    let own_cpu = cpu_secs("self") - own_start;
    let series = reporter.await.unwrap();
    let rss_end: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    ilat.sort_unstable();
    rlat.sort_unstable();
    let errors = counters.errors.load(Ordering::Relaxed);
    let engine = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    let issued = records(&ilat);
    if fhir > 0 {
        println!(
            "[{engine}, {processes} serve] FHIR issuance: {issued} records in {} Bundles of {fhir} in {wall:.1} s with {issuers} systems = {:.0} records/s, {:.1} Bundles/s, per Bundle p50 {:.1} ms, p99 {:.1} ms",
            ilat.len(),
            issued as f64 / wall,
            ilat.len() as f64 / wall,
            percentile_ms(&ilat, 0.5),
            percentile_ms(&ilat, 0.99)
        );
    } else {
        println!(
            "[{engine}, {processes} serve] issuance: {issued} in {wall:.1} s with {issuers} clients = {:.0} records/s, p50 {:.1} ms, p99 {:.1} ms",
            issued as f64 / wall,
            percentile_ms(&ilat, 0.5),
            percentile_ms(&ilat, 0.99)
        );
    }
    if redeemers > 0 {
        println!(
            "[{engine}, {processes} serve] redemption: {} in {wall:.1} s with {redeemers} clients = {:.0} /s, p50 {:.1} ms, p99 {:.1} ms",
            rlat.len(),
            rlat.len() as f64 / wall,
            percentile_ms(&rlat, 0.5),
            percentile_ms(&rlat, 0.99)
        );
    }
    // An operation is a record issued or a grant redeemed (a Bundle of N is N operations).
    let ops = (issued + rlat.len()).max(1) as f64;
    println!(
        "serve CPU {serve_cpu:.2} s = {:.3} ms per operation, {:.1} context switches per operation; load generator {:.3} ms per operation ({}; load average {})",
        serve_cpu * 1000.0 / ops,
        serve_ctx as f64 / ops,
        own_cpu * 1000.0 / ops,
        match (keep_alive, fhir > 0) {
            (true, false) => "keep-alive",
            (false, false) => "a connection per request",
            (true, true) => "FHIR keep-alive",
            (false, true) => "a connection per FHIR Bundle",
        },
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "errors: {errors}; serve RSS at start {:?} KiB, at end {:?} KiB",
        rss_start, rss_end
    );
    let result = json!({
        "engine": engine, "processes": processes, "secs": wall, "errors": errors,
        "issuers": issuers, "redeemers": redeemers,
        "issue_per_s": issued as f64 / wall, "issue_p50_ms": percentile_ms(&ilat, 0.5),
        "issue_p99_ms": percentile_ms(&ilat, 0.99),
        "redeem_per_s": rlat.len() as f64 / wall, "redeem_p50_ms": percentile_ms(&rlat, 0.5),
        "redeem_p99_ms": percentile_ms(&rlat, 0.99),
        "rss_start_kib": rss_start, "rss_end_kib": rss_end, "series": series,
        "keep_alive": keep_alive, "serve_cpu_ms_per_op": serve_cpu * 1000.0 / ops,
        "serve_ctx_switches_per_op": serve_ctx as f64 / ops,
        "loadgen_cpu_ms_per_op": own_cpu * 1000.0 / ops,
        // `--fhir`: records a Bundle (0: staff mode); issue_p50/p99_ms are then per Bundle.
        "fhir_bundle": fhir, "records": issued, "bundles": if fhir > 0 { ilat.len() } else { 0 },
        "bundles_per_s": if fhir > 0 { ilat.len() as f64 / wall } else { 0.0 },
        "bundle_p50_ms": if fhir > 0 { percentile_ms(&ilat, 0.5) } else { 0.0 },
        "bundle_p99_ms": if fhir > 0 { percentile_ms(&ilat, 0.99) } else { 0.0 },
        "serve_cpu_ms_per_record": serve_cpu * 1000.0 / issued.max(1) as f64,
        "serve_ctx_switches_per_record": serve_ctx as f64 / issued.max(1) as f64,
    });
    println!("result: {result}");
    drop(children);
    if errors > 0 {
        std::process::exit(1);
    }
}

/// A hospital system posting transaction Bundles of `n` Immunizations until `until`; answers
/// (true, per-Bundle latencies in µs). Its token is renewed before it expires (300 s).
#[allow(clippy::too_many_arguments)]
async fn fhir_client(
    c: usize,
    addr: SocketAddr,
    key: SystemKey,
    client_id: String,
    hids: Vec<String>,
    n: usize,
    counters: Arc<Counters>,
    iv: Option<Duration>,
    keep_alive: bool,
    until: Instant,
) -> (bool, Vec<u32>) {
    let client = keep_alive.then(|| kept_open(Duration::from_secs(60)));
    let system = format!("https://his{c}.load.example/orders");
    let mut auth = format!("Bearer {}", system_token(addr, &key, &client_id).await);
    let mut token_at = Instant::now();
    let mut lat = Vec::new();
    let mut next = Instant::now();
    for b in 0u64.. {
        pace(&mut next, iv).await;
        if Instant::now() >= until {
            break;
        }
        if token_at.elapsed() > Duration::from_secs(200) {
            auth = format!("Bearer {}", system_token(addr, &key, &client_id).await);
            token_at = Instant::now();
        }
        // N distinct patients, a different set each Bundle.
        let first = (c + b as usize * n) % hids.len();
        let who: Vec<String> = (0..n)
            .map(|j| hids[(first + j) % hids.len()].clone())
            .collect();
        let body = immunizations(&system, &format!("b{b}"), &who);
        let t = Instant::now();
        let r = post(
            client.as_ref(),
            addr,
            "/fhir",
            &auth,
            "application/fhir+json",
            &body,
        )
        .await;
        let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
        match r {
            Some((200, _)) => {
                lat.push(us);
                counters.issued.fetch_add(n as u64, Ordering::Relaxed);
            }
            other => {
                if counters.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!(
                        "FHIR push error: {:?}",
                        other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned()))
                    );
                }
            }
        }
    }
    (true, lat)
}
