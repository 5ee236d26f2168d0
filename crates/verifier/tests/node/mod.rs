//! Test helpers for the verifier node: a consortium (root key, hospitals, trust list), a node
//! initialised and served by the real `spondon-verifier` binary on 127.0.0.1, and a minimal
//! HTTP/1.1 client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::token::{Hospital, TrustList};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub mod peer;

pub const BIN: &str = env!("CARGO_BIN_EXE_spondon-verifier");

pub fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hospital of the consortium: its keys and its trust-list entry.
pub struct TestHospital {
    pub record: Es256KeyPair,
    pub log: Ed25519KeyPair,
    pub entry: Hospital,
}

pub fn hospital(id: &str, name: &str, url: &str) -> TestHospital {
    let record = Es256KeyPair::generate().unwrap();
    let log = Ed25519KeyPair::generate().unwrap();
    let origin = format!("{}/log", url.trim_start_matches("https://"));
    let entry = Hospital {
        id: id.into(),
        name: name.into(),
        peer_url: url.into(),
        record_keys: vec![record.public_key().clone()],
        log_key: *log.public_key(),
        log_origin: origin,
    };
    TestHospital { record, log, entry }
}

pub fn trust_list(hospitals: Vec<Hospital>, sequence: u64) -> TrustList {
    let now = NumericDate::now();
    TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS Spondon Root (test)".into(),
        sequence,
        issued_at: now,
        not_before: now.saturating_add(-60),
        expires: now.saturating_add(30 * 86_400),
        hospitals,
    }
}

/// A node directory initialised with `spondon-verifier init`.
pub struct TestNode {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub init: Value,
    pub token: String,
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl TestNode {
    pub fn doctor_kid(&self) -> String {
        self.init["doctor_key"].as_str().unwrap().to_owned()
    }
    pub fn data_str(&self) -> &str {
        self.data.to_str().unwrap()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `init` + `staff add`, not yet serving.
pub fn init_node(root: &Es256KeyPair, list: &TrustList, database_url: Option<&str>) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let trust = write(dir.path(), "trust-list.txt", &list.sign(root).unwrap());
    let jwk = write(
        dir.path(),
        "root.jwk",
        &serde_json::to_string(&root.public_key().to_jwk()).unwrap(),
    );
    let data = dir.path().join("node");
    let mut args = vec![
        "init".to_owned(),
        "--clinic".into(),
        "Trishal Community Clinic".into(),
        "--data".into(),
        data.to_str().unwrap().into(),
        "--trust".into(),
        trust.to_str().unwrap().into(),
        "--root-key".into(),
        jwk.to_str().unwrap().into(),
    ];
    if let Some(u) = database_url {
        args.push("--database-url".into());
        args.push(u.into());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let init: Value = serde_json::from_slice(&run(&a).stdout).unwrap();
    let out = run(&[
        "staff",
        "add",
        "--data",
        data.to_str().unwrap(),
        "Nasrin Akter",
    ]);
    let staff: Value = serde_json::from_slice(&out.stdout).unwrap();
    TestNode {
        dir,
        data,
        init,
        token: staff["token"].as_str().unwrap().to_owned(),
        addr: "127.0.0.1:1".parse().unwrap(),
        child: None,
    }
}

/// Starts `serve` and waits until it accepts connections.
pub async fn serve(node: &mut TestNode, extra: &[&str]) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--data",
        node.data.to_str().unwrap(),
        "--listen",
        &listen,
    ];
    args.extend_from_slice(extra);
    let child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    node.addr = listen.parse().unwrap();
    node.child = Some(child);
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(node.addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the verifier did not start");
}

/// Stops `serve` with SIGTERM and returns its log (stderr).
pub fn stop(node: &mut TestNode) -> String {
    let child = node.child.take().unwrap();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The problem code of a problem+json response.
    pub fn code(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        self.json()["code"].as_str().unwrap().to_owned()
    }
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    // Read to the end of the body (Content-Length) or of the connection: some servers
    // (chromedriver) keep the connection open despite `Connection: close`.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|len| buf.len() >= p + 4 + len) {
                break;
            }
        }
    }
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        b = &b[nl + 2..];
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[..n]);
        b = &b[n + 2..];
    }
}

impl TestNode {
    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {}", self.token);
        request(
            self.addr,
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
    pub async fn get(&self, path: &str) -> Resp {
        let auth = format!("Bearer {}", self.token);
        request(self.addr, "GET", path, &[("Authorization", &auth)], b"").await
    }
    pub async fn upload(&self, ct: &str, body: &[u8]) -> Resp {
        let auth = format!("Bearer {}", self.token);
        request(
            self.addr,
            "POST",
            "/api/document/check",
            &[("Authorization", &auth), ("Content-Type", ct)],
            body,
        )
        .await
    }
    pub async fn stored(&self) -> Value {
        self.get("/api/status").await.json()["stored_rows"].clone()
    }
}

/// A fresh PostgreSQL database URL; `None` (skipped) without a server, unless
/// `SPONDON_REQUIRE_POSTGRES=1`.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("SPONDON_TEST_POSTGRES_URL") else {
        if std::env::var("SPONDON_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("SPONDON_REQUIRE_POSTGRES=1 but SPONDON_TEST_POSTGRES_URL is not set");
        }
        eprintln!("skipped {test} on PostgreSQL: SPONDON_TEST_POSTGRES_URL is not set");
        return None;
    };
    let suffix: [u8; 8] = spondon_core::keys::random_bytes().unwrap();
    let name = format!("v_{}", hex::encode(suffix));
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, rest) = base.rsplit_once('/').unwrap();
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Some(format!("{prefix}/{name}{query}"))
}
