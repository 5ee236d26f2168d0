//! The clinic node under test: a node initialised and served by this package's real
//! `spondon-verifier` binary on 127.0.0.1. The rest (raw HTTP, the consortium, databases, the
//! peer) is the test kit's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::TrustList;
pub use spondon_testkit::consortium::{TestHospital, hospital, trust_list};
pub use spondon_testkit::db::postgres_url;
pub use spondon_testkit::http::{Resp, request};
pub use spondon_testkit::proc::free_port;
use spondon_testkit::proc::{KillOnDrop, wait_listening};

pub mod peer;

pub const BIN: &str = env!("CARGO_BIN_EXE_spondon-verifier");

/// Runs `spondon-verifier ARGS`, which must succeed.
pub fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    spondon_testkit::proc::ok(&out);
    out
}

/// A node directory initialised with `spondon-verifier init`.
pub struct TestNode {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub init: Value,
    pub token: String,
    pub addr: SocketAddr,
    child: Option<KillOnDrop>,
}

impl TestNode {
    pub fn doctor_kid(&self) -> String {
        self.init["doctor_key"].as_str().unwrap().to_owned()
    }
    pub fn data_str(&self) -> &str {
        self.data.to_str().unwrap()
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
    node.child = Some(KillOnDrop::new(child));
    wait_listening(node.addr).await;
}

/// Stops `serve` with SIGTERM and returns its log (stderr).
pub fn stop(node: &mut TestNode) -> String {
    let out = node.child.take().unwrap().terminate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl TestNode {
    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        spondon_testkit::http::post_json(self.addr, path, &self.token, body).await
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
