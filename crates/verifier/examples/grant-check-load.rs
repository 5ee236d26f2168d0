//! Load generator for `POST /api/grant/check` (not run in CI).
//!
//! `cargo run --release -p spondon-verifier --example grant-check-load -- --secs 60`
//!
//! Sets up a throwaway node with the release `spondon-verifier` binary (built if missing):
//! a consortium trust list, `init`, `staff add`, `serve` on 127.0.0.1; then keeps
//! `--connections` keep-alive HTTP/1.1 connections busy with valid grants for `--secs` and
//! prints requests/s and latency percentiles. Load generator and server share the machine.
//!
//! `--rate R` paces the connections to R checks/s in total (default 0: as fast as they go);
//! `--report-every S` prints the checks/s of every S-second interval and the node's RSS (for
//! `scripts/soak.sh`). The last line is the summary as one JSON object (`result: {...}`),
//! with the node's RSS at the start and at the end of the load.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::token::{Audience, Category, Grant, Hospital, Purpose, TrustList};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Args {
    secs: u64,
    connections: usize,
    grants: usize,
    rate: f64,
    report_every: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        secs: 10,
        connections: 32,
        grants: 64,
        rate: 0.0,
        report_every: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--secs" => a.secs = v.parse()?,
            "--connections" => a.connections = v.parse()?,
            "--grants" => a.grants = v.parse()?,
            "--rate" => a.rate = v.parse()?,
            "--report-every" => a.report_every = v.parse()?,
            _ => bail!(
                "unknown option {k} (--secs, --connections, --grants, --rate, --report-every)"
            ),
        }
    }
    Ok(a)
}

fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .context("no target directory")?;
    let bin = dir.join("spondon-verifier");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "spondon-verifier",
                "--bin",
                "spondon-verifier",
            ])
            .status()?;
        anyhow::ensure!(st.success(), "cannot build spondon-verifier");
    }
    Ok(bin)
}

fn run(bin: &PathBuf, args: &[&str]) -> Result<serde_json::Value> {
    let out = Command::new(bin).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
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

/// One keep-alive connection: request after request until `until` (one per `interval` if
/// given), counting them in `done`; returns latencies (µs).
async fn worker(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    until: Instant,
    interval: Option<Duration>,
    done: Arc<AtomicU64>,
) -> Result<Vec<u32>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut lat = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = 0;
    let mut next = Instant::now();
    while Instant::now() < until {
        if let Some(iv) = interval {
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
            next = (next + iv).max(Instant::now() - iv);
            if Instant::now() >= until {
                break;
            }
        }
        let req = &requests[i % requests.len()];
        i += 1;
        let t = Instant::now();
        s.write_all(req).await?;
        // Read the head, then Content-Length bytes.
        let mut have = 0;
        let (head_end, len) = loop {
            let n = s.read(&mut buf[have..]).await?;
            if n == 0 {
                bail!("connection closed");
            }
            have += n;
            if let Some(p) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                if !head.starts_with("http/1.1 200") {
                    bail!("unexpected answer: {head}");
                }
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .context("no content-length")?
                    .trim()
                    .parse()?;
                break (p + 4, len);
            }
        };
        while have < head_end + len {
            let n = s.read(&mut buf[have..]).await?;
            if n == 0 {
                bail!("connection closed");
            }
            have += n;
        }
        if !buf[head_end..head_end + len].starts_with(b"{\"accepted\":true") {
            bail!(
                "not accepted: {}",
                String::from_utf8_lossy(&buf[head_end..head_end + len])
            );
        }
        lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(lat)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let bin = binary()?;
    let dir = tempfile::tempdir()?;
    let now = NumericDate::now();
    let root = Es256KeyPair::generate()?;
    let list = TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS Spondon Root (load test)".into(),
        sequence: 1,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
        hospitals: vec![Hospital {
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: "https://dmch.example".into(),
            record_keys: vec![Es256KeyPair::generate()?.public_key().clone()],
            log_key: *Ed25519KeyPair::generate()?.public_key(),
            log_origin: "dmch.example/log".into(),
        }],
    };
    let trust = dir.path().join("trust-list.txt");
    std::fs::write(&trust, list.sign(&root)?)?;
    let jwk = dir.path().join("root.jwk");
    std::fs::write(&jwk, serde_json::to_string(&root.public_key().to_jwk())?)?;
    let data = dir.path().join("node");
    let d = data.to_str().context("path")?;
    let init = run(
        &bin,
        &[
            "init",
            "--clinic",
            "Load Test Clinic",
            "--data",
            d,
            "--trust",
            trust.to_str().context("path")?,
            "--root-key",
            jwk.to_str().context("path")?,
        ],
    )?;
    let kid = init["doctor_key"]
        .as_str()
        .context("no doctor_key")?
        .to_owned();
    let token = run(&bin, &["staff", "add", "--data", d, "load"])?["token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--data",
            d,
            "--listen",
            &listen,
            "--no-refresh",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .spawn()?;
    let addr: SocketAddr = listen.parse()?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Distinct grants from distinct patients (no caching can help).
    let mut requests = Vec::new();
    for _ in 0..a.grants {
        let patient = Es256KeyPair::generate()?;
        let g = Grant {
            id: Grant::new_id()?,
            patient_key: patient.public_key().clone(),
            audience: Audience::Key { kid: kid.clone() },
            categories: vec![Category::Prescription, Category::LabResult],
            record_ids: vec![],
            write: false,
            purpose: Purpose::Treatment,
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(86_400),
            use_limit: None,
            peers: vec!["https://dmch.example".into()],
        };
        let body = serde_json::json!({"grant": g.sign(&patient)?}).to_string();
        requests.push(
            format!("POST /api/grant/check HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                .into_bytes(),
        );
    }
    // Warm up, then measure.
    let _ = worker(
        addr,
        requests.clone(),
        Instant::now() + Duration::from_millis(500),
        None,
        Arc::default(),
    )
    .await?;
    let pid = child.id();
    let rss_start = rss_kib(pid);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(a.secs);
    let interval = (a.rate > 0.0).then(|| Duration::from_secs_f64(a.connections as f64 / a.rate));
    let mut tasks = Vec::new();
    for c in 0..a.connections {
        let mut r = requests.clone();
        r.rotate_left(c % requests.len());
        tasks.push(tokio::spawn(worker(addr, r, until, interval, done.clone())));
    }
    let reporter = (a.report_every > 0).then(|| {
        let done = done.clone();
        let every = Duration::from_secs(a.report_every);
        tokio::spawn(async move {
            let (mut n0, mut t0) = (0, Instant::now());
            let mut series = Vec::new();
            while Instant::now() + Duration::from_millis(500) < until {
                tokio::time::sleep(every.min(until - Instant::now())).await;
                let n = done.load(Ordering::Relaxed);
                let rate = (n - n0) as f64 / t0.elapsed().as_secs_f64();
                let at = start.elapsed().as_secs_f64();
                let rss = rss_kib(pid) / 1024;
                println!("t={at:>5.0} s: {rate:>6.0} checks/s, node RSS {rss} MiB");
                series.push(serde_json::json!({"t": at.round(), "checks_per_s": rate.round(), "rss_mib": rss}));
                (n0, t0) = (n, Instant::now());
            }
            series
        })
    });
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rss_end = rss_kib(pid);
    let series = match reporter {
        Some(r) => r.await?,
        None => Vec::new(),
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        f64::from(lat[i]) / 1000.0
    };
    anyhow::ensure!(!lat.is_empty(), "no request completed");
    println!(
        "POST /api/grant/check: {} checks in {elapsed:.1} s = {:.0} checks/s over {} connections; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} CPUs)",
        lat.len(),
        lat.len() as f64 / elapsed,
        a.connections,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "result: {}",
        serde_json::json!({"checks_per_s": lat.len() as f64 / elapsed, "p50_ms": pct(0.50),
            "p99_ms": pct(0.99), "connections": a.connections, "secs": elapsed, "errors": 0,
            "rss_start_kib": rss_start, "rss_end_kib": rss_end, "series": series})
    );
    Ok(())
}
