//! Real processes on 127.0.0.1: `spondon-peer` (HTTP or HTTPS only, SQLite or PostgreSQL) with its
//! staff, patient-signed requests and a doctor's proof-of-possession redemption; the trust list
//! naming such peers; the misbehaving proxy in front of one; the CLI wallet and the clinic node
//! (`spondon-verifier`) as processes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, Jwks};
use spondon_core::token::{Hospital, TrustList};
use spondon_ledger::Verifier;

pub use crate::http::{Resp, contains, request};
use crate::proc::{KillOnDrop, cargo_bin, free_addr};
pub use crate::proc::{free_port, ok};

/// The `spondon-peer` binary, built on first use (never stale).
pub fn peer_bin() -> PathBuf {
    cargo_bin("spondon-peer", "spondon-peer")
}

/// The `spondon-verifier` binary (the clinic node), built on first use (never stale).
pub fn verifier_bin() -> PathBuf {
    cargo_bin("spondon-verifier", "spondon-verifier")
}

/// The URL of the peer [`start_peer`] starts.
pub const URL: &str = "https://dmch.example";

/// A `spondon-peer serve` process (killed on drop) and what a test needs of it.
#[derive(Debug)]
pub struct PeerProc {
    /// Its public URL (`https://host`), as the trust list names it.
    pub url: String,
    /// Its hospital name.
    pub name: String,
    /// Its id in the trust list [`PeerProc::hospital`] makes.
    pub id: String,
    /// Its data directory.
    pub data: PathBuf,
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// `init`'s staff token (roles: all).
    pub token: String,
    /// Its log's note verifier key, as `init` printed it.
    pub log_vkey: String,
    /// Its witness's `cosignature/v1` key (`name+keyid+key`).
    pub witness_vkey: String,
    /// What `init` printed.
    pub init: Value,
    /// Serving HTTPS only, with a certificate from this CA file.
    pub tls_ca: Option<PathBuf>,
    child: Option<KillOnDrop>,
    http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

/// A reqwest client for the harness's own calls (trusting `ca` when given).
fn harness_client(ca: Option<&Path>) -> reqwest::Client {
    let mut b = reqwest::Client::builder();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap();
        b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    b.build().unwrap()
}

/// The Dhaka Medical College Hospital peer at [`URL`] on SQLite, in its own temp dir; its
/// trust-list id is its URL.
pub async fn start_peer() -> PeerProc {
    start_peer_on(None).await
}

/// Like [`start_peer`], on the PostgreSQL database named when given.
pub async fn start_peer_on(database_url: Option<&str>) -> PeerProc {
    let dir = tempfile::tempdir().unwrap();
    let mut p = PeerProc::init_on(
        dir.path(),
        "dmch.example",
        "Dhaka Medical College Hospital",
        database_url,
    );
    p.id = URL.into();
    p._dir = Some(dir);
    p.serve().await;
    p
}

impl PeerProc {
    /// `spondon-peer init` (data in `root/host`) then `serve` on a free port; its trust-list id
    /// is the first label of `host`.
    pub async fn start(root: &Path, host: &str, name: &str) -> PeerProc {
        Self::start_on(root, host, name, None).await
    }

    /// Like [`PeerProc::start`], on the database `database_url` (PostgreSQL) when given.
    pub async fn start_on(
        root: &Path,
        host: &str,
        name: &str,
        database_url: Option<&str>,
    ) -> PeerProc {
        let mut p = Self::init_on(root, host, name, database_url);
        p.serve().await;
        p
    }

    /// Like [`PeerProc::start`], serving HTTPS only: a certificate for 127.0.0.1 from `ca`
    /// (`spondon-peer tls --cert --key`), and `ca_file` trusted for its own outgoing HTTPS
    /// (`--ca`: its witness pushes).
    pub async fn start_tls(
        root: &Path,
        host: &str,
        name: &str,
        ca: &spondon_net::test_ca::TestCa,
        ca_file: &Path,
    ) -> PeerProc {
        let mut p = Self::init_on(root, host, name, None);
        let files = ca.issue(root, host, &["127.0.0.1", "localhost"]).unwrap();
        p.admin(
            "tls",
            &[
                "--cert",
                files.cert.to_str().unwrap(),
                "--key",
                files.key.to_str().unwrap(),
                "--ca",
                ca_file.to_str().unwrap(),
            ],
        );
        p.http = harness_client(Some(ca_file));
        p.tls_ca = Some(ca_file.to_owned());
        p.serve().await;
        p
    }

    fn init_on(root: &Path, host: &str, name: &str, database_url: Option<&str>) -> PeerProc {
        let data = root.join(host);
        let url = format!("https://{host}");
        let mut args = vec![
            "init",
            "--name",
            name,
            "--url",
            &url,
            "--data",
            data.to_str().unwrap(),
        ];
        if let Some(db) = database_url {
            args.extend(["--database-url", db]);
        }
        let out = Command::new(peer_bin()).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "spondon-peer init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let init: Value = serde_json::from_slice(&out.stdout).unwrap();
        PeerProc {
            id: host.split('.').next().unwrap_or(host).to_owned(),
            url,
            name: name.into(),
            data,
            addr: free_addr(),
            token: init["staff_token"].as_str().unwrap().into(),
            log_vkey: init["log_vkey"].as_str().unwrap().into(),
            witness_vkey: init["witness_vkey"].as_str().unwrap().into(),
            init,
            tls_ca: None,
            child: None,
            http: harness_client(None),
            _dir: None,
        }
    }

    /// A second peer process from a copy of this one's data directory (same keys, same URL,
    /// same history so far): its log can then fork.
    pub async fn fork(&mut self, root: &Path) -> PeerProc {
        self.stop();
        let data = root.join(format!("{}-fork", self.url.trim_start_matches("https://")));
        copy_dir(&self.data, &data);
        self.serve().await;
        let mut p = PeerProc {
            url: self.url.clone(),
            name: self.name.clone(),
            id: self.id.clone(),
            data,
            addr: free_addr(),
            token: self.token.clone(),
            log_vkey: self.log_vkey.clone(),
            witness_vkey: self.witness_vkey.clone(),
            init: self.init.clone(),
            tls_ca: self.tls_ca.clone(),
            child: None,
            http: self.http.clone(),
            _dir: None,
        };
        p.serve().await;
        p
    }

    /// Starts `serve` on its address and waits until it answers.
    pub async fn serve(&mut self) {
        let child = Command::new(peer_bin())
            .args([
                "serve",
                "--data",
                self.data.to_str().unwrap(),
                "--listen",
                &self.addr.to_string(),
            ])
            .env("SPONDON_PEER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(KillOnDrop::new(child));
        // Readiness, not a timing assertion.
        for _ in 0..600 {
            if self
                .http
                .get(format!("{}/.well-known/jwks.json", self.base()))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.child().try_wait()
            {
                panic!("spondon-peer serve exited ({status}) while starting");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("spondon-peer did not start");
    }

    /// Kills `serve` (SIGKILL: a crash) and waits for it.
    pub fn kill(&mut self) {
        drop(self.child.take());
    }

    /// Stops `serve` (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            c.terminate();
        }
    }

    /// Where the harness reaches it: `http(s)://127.0.0.1:port`.
    pub fn base(&self) -> String {
        let scheme = if self.tls_ca.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Runs `spondon-peer <command> --data <this peer> <args…>` (stop it first when the
    /// command changes the configuration).
    pub fn admin(&self, command: &str, args: &[&str]) {
        let out = Command::new(peer_bin())
            .arg(command)
            .args(["--data", self.data.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Another staff token with these roles (`spondon-peer staff-token`, beside `serve`).
    pub fn staff_token(&self, label: &str, roles: &str) -> String {
        let out = Command::new(peer_bin())
            .args([
                "staff-token",
                "--data",
                self.data.to_str().unwrap(),
                "--label",
                label,
                "--roles",
                roles,
            ])
            .output()
            .unwrap();
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    /// This peer's log checkpoint as served now.
    pub async fn checkpoint(&self) -> String {
        self.http
            .get(format!("{}/checkpoint", self.base()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A staff POST of JSON that must succeed: the answer.
    pub async fn staff(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base()))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// A staff POST of JSON over raw HTTP (plain peers only): the answer, whatever it is.
    pub async fn staff_post(&self, path: &str, body: &Value) -> Resp {
        crate::http::post_json(self.addr, path, &self.token, body).await
    }

    /// A fresh nonce (`POST /nonce`).
    pub async fn nonce(&self) -> Vec<u8> {
        let n: Value = self
            .http
            .post(format!("{}/nonce", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        spondon_core::b64::decode(n["nonce"].as_str().unwrap()).unwrap()
    }

    /// A patient-signed POST (`Spondon-Signature` over method, URL, nonce and body) over raw HTTP.
    pub async fn signed(&self, key: &Es256KeyPair, path: &str, body: &Value) -> Resp {
        crate::patient::signed(self.addr, &self.url, key, path, body)
            .await
            .unwrap_or_else(|| panic!("{path}: no answer"))
    }

    /// Registers the test patient (national ID `nid`); returns (Health ID, enrollment text,
    /// one-time enrollment code).
    pub async fn register(&self, nid: &str) -> (String, String, String) {
        let v = self
            .staff("/staff/patients", &crate::fhir::patient_json(nid))
            .await;
        (
            v["health_id"].as_str().unwrap().into(),
            v["enrollment_text"].as_str().unwrap().into(),
            v["enrollment_code"].as_str().unwrap().into(),
        )
    }

    /// Registers the test patient; returns (Health ID, enrollment text).
    pub async fn register_patient(&self) -> (String, String) {
        let (hid, text, _) = self.register("1987654321").await;
        (hid, text)
    }

    /// The patient's wallet key enrolls (`POST /patient/enroll`, signed by it) with the desk's
    /// one-time code: the enrollment credential the peer answers, checked to bind that key and
    /// that Health ID.
    pub async fn enroll(&self, hid: &str, code: &str, key: &Es256KeyPair) -> String {
        let r = self
            .signed(
                key,
                "/patient/enroll",
                &json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let credential = enrollment_credential(&r.json())
            .unwrap_or_else(|| panic!("no enrollment credential in {}", r.text()));
        let parsed = spondon_core::token::decode_any(&credential)
            .unwrap_or_else(|e| panic!("the enrollment credential does not parse: {e}"));
        let spondon_core::token::TokenClaims::Enrollment(c) = &parsed.claims else {
            panic!("the enrollment answer carries a {:?}", parsed.kind);
        };
        assert_eq!(c.health_id, hid, "the credential binds another Health ID");
        assert_eq!(
            c.patient_key.kid(),
            key.public_key().kid(),
            "the credential binds another key"
        );
        // Signed by this peer's record key, under whatever id it calls itself.
        let mut me = self.hospital().await;
        me.id = c.hospital_id.clone();
        let list = crate::consortium::trust_list(vec![me], 1);
        let anchors = spondon_core::token::TrustAnchors {
            trust_list: Some(&list),
            root_key: None,
            min_trust_list_sequence: 0,
        };
        parsed
            .verify(&anchors, NumericDate::now())
            .unwrap_or_else(|e| panic!("the enrollment credential does not verify: {e}"));
        credential
    }

    /// Registers a doctor with this public JWK; returns the doctor credential text.
    pub async fn register_doctor_key(&self, bmdc: &str, name: &str, jwk: &Value) -> String {
        let v = self
            .staff(
                "/staff/doctors",
                &json!({"bmdc_number": bmdc, "name": name, "department": "Medicine",
                        "public_key": jwk}),
            )
            .await;
        v["credential"].as_str().unwrap().into()
    }

    /// Registers a doctor with a new key; returns (key, credential text).
    pub async fn register_doctor(&self, bmdc: &str, name: &str) -> (Es256KeyPair, String) {
        let key = Es256KeyPair::generate().unwrap();
        let jwk = serde_json::to_value(key.public_key().to_jwk()).unwrap();
        let credential = self.register_doctor_key(bmdc, name, &jwk).await;
        (key, credential)
    }

    /// Issues a record (`/staff/records`); returns its id.
    pub async fn issue(&self, record: &Value) -> String {
        let v = self.staff("/staff/records", record).await;
        v["id"]
            .as_str()
            .or(v["record_id"].as_str())
            .unwrap_or_else(|| panic!("no record id in {v}"))
            .into()
    }

    /// Issues a paracetamol prescription by `bmdc`; returns the record id.
    pub async fn prescription(&self, hid: &str, bmdc: &str) -> String {
        self.issue(&crate::fhir::prescription(hid, bmdc)).await
    }

    /// Issues a CBC report (platelets 95); returns the record id.
    pub async fn cbc(&self, hid: &str) -> String {
        self.issue(&crate::fhir::lab_report(hid)).await
    }

    /// A registered patient with an enrolled wallet key and three records (a prescription by
    /// the doctor `A-40112`, who must be registered, a CBC with a low platelet count, a
    /// diagnosis): (Health ID, key, enrollment credential).
    pub async fn patient_with_records(&self) -> (String, Es256KeyPair, String) {
        let (hid, _, code) = self.register("1988000111").await;
        let patient = Es256KeyPair::generate().unwrap();
        let credential = self.enroll(&hid, &code, &patient).await;
        for rec in crate::fhir::three_records(&hid, "A-40112") {
            self.issue(&rec).await;
        }
        (hid, patient, credential)
    }

    /// Uploads `bytes` (`POST /staff/files`) and issues a document record naming it in
    /// `category` (`docs/protocol.md` §18.3); returns the record id.
    pub async fn document(
        &self,
        hid: &str,
        bytes: &[u8],
        content_type: &str,
        title: &str,
        category: &str,
    ) -> String {
        let r = self
            .http
            .post(format!("{}/staff/files", self.base()))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let up: Value = r.json().await.unwrap();
        assert!(status.is_success(), "/staff/files: {status} {up}");
        use sha2::Digest as _;
        let sha = sha2::Sha256::digest(bytes);
        assert_eq!(up["sha256"], hex::encode(sha), "the stored file's hash");
        use base64::Engine as _;
        let sha_b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        self.issue(&crate::fhir::document_record(
            hid,
            &sha_b64,
            content_type,
            title,
            category,
        ))
        .await
    }

    /// The record-signing keys it serves.
    pub async fn jwks(&self) -> Jwks {
        self.http
            .get(format!("{}/.well-known/jwks.json", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Its trust-list entry: record keys from its JWKS, log key from its `log_vkey`.
    pub async fn hospital(&self) -> Hospital {
        let jwks = self.jwks().await;
        let v = Verifier::from_vkey(&self.log_vkey).unwrap();
        Hospital {
            id: self.id.clone(),
            name: self.name.clone(),
            peer_url: self.url.clone(),
            record_keys: jwks
                .keys
                .iter()
                .map(|k| Es256PublicKey::from_jwk(k).unwrap())
                .collect(),
            log_key: *v.public_key(),
            log_origin: v.name().to_owned(),
        }
    }

    /// A doctor redeems `grant` with proof of possession; returns (status, body).
    pub async fn redeem(&self, doctor: &Es256KeyPair, grant: &str) -> (u16, Value) {
        self.with_pop(doctor, grant, "/grant/records", json!({"grant": grant}))
            .await
    }

    /// A doctor adds a prescription under a write grant (proof of possession); (status, body).
    pub async fn write_prescription(&self, doctor: &Es256KeyPair, grant: &str) -> (u16, Value) {
        let body = json!({"grant": grant, "kind": "prescription", "resources": [
            crate::fhir::medication_request("Amoxicillin 500 mg capsule",
                "1 capsule three times daily for 7 days")]});
        self.with_pop(doctor, grant, "/grant/write", body).await
    }

    /// A POST of `body` to `path` with the doctor's proof of possession of `grant`.
    pub async fn with_pop(
        &self,
        doctor: &Es256KeyPair,
        grant: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let g = spondon_core::token::Grant::decode_and_verify(grant, NumericDate::now()).unwrap();
        let nonce = self.nonce().await;
        let url = format!("{}{path}", self.url);
        let pop = spondon_core::token::PopProof::create(
            doctor,
            g.id,
            &spondon_core::token::PopRequest {
                method: "POST",
                url: &url,
                nonce: &nonce,
                body: &serde_json::to_vec(&body).unwrap(),
            },
            NumericDate::now(),
        )
        .unwrap();
        let r = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("Spondon-PoP", pop)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

/// The enrollment credential in a peer's answer to `/patient/enroll` or a key rotation
/// (`Enrolled`, `KeyRotated` in its OpenAPI document: `enrollment_credential`).
pub fn enrollment_credential(answer: &Value) -> Option<String> {
    answer["enrollment_credential"].as_str().map(str::to_owned)
}

/// Copies a peer's data directory; the copy's config points at its own database file.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
    let cfg = to.join("peer.json");
    if cfg.exists() {
        let mut v: Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
        if let Some(u) = v["database_url"].as_str() {
            let from_s = from.to_str().unwrap();
            let to_s = to.to_str().unwrap();
            v["database_url"] = Value::String(u.replace(from_s, to_s));
        }
        std::fs::write(&cfg, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
}

/// A trust list of these hospitals, signed by a fresh root key: (root, text).
pub async fn trust_list(peers: &[&PeerProc]) -> (Es256KeyPair, String) {
    let root = Es256KeyPair::generate().unwrap();
    let text = trust_list_value(peers, 1).await.sign(&root).unwrap();
    (root, text)
}

/// The trust list of these hospitals with this sequence (no witnesses), to sign.
pub async fn trust_list_value(peers: &[&PeerProc], sequence: u64) -> TrustList {
    let mut hospitals = Vec::new();
    for p in peers {
        hospitals.push(p.hospital().await);
    }
    crate::consortium::trust_list(hospitals, sequence)
}

/// Every peer's witness, run by that peer, in a trust list's witnessing with this quorum.
pub async fn witnessing(peers: &[&PeerProc], quorum: u8) -> spondon_core::token::Witnessing {
    let mut witnesses = Vec::new();
    for p in peers {
        let v = Verifier::from_vkey(&p.witness_vkey).unwrap();
        witnesses.push(spondon_core::token::TrustedWitness {
            name: v.name().to_owned(),
            key: *v.public_key(),
            operator: Some(p.hospital().await.id),
        });
    }
    spondon_core::token::Witnessing { witnesses, quorum }
}

/// Where each peer's URL is reached (`SPONDON_PEER_ENDPOINTS`).
pub fn endpoints(peers: &[&PeerProc]) -> BTreeMap<String, String> {
    peers.iter().map(|p| (p.url.clone(), p.base())).collect()
}

/// How the proxy misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes every answer through unchanged.
    Pass,
    /// Changes one character in the last record's card.
    TamperRecord,
    /// Changes the last record's salt (the commitment no longer opens).
    TamperSalt,
    /// Answers record pulls with the first checkpoint it ever saw (a replayed old tree head).
    ReplayOldCheckpoint,
}

/// Rewrites a JSON answer: (path, answer) → answer.
pub type Rewrite = Box<dyn Fn(&str, Value) -> Value + Send>;

/// Rewrites any other 200 answer's bytes (a file): (path, bytes) → bytes.
pub type RewriteBytes = Box<dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send>;

/// A misbehaving peer: a proxy in front of a real one.
pub struct Proxy {
    /// Where the proxy listens.
    pub addr: SocketAddr,
    /// How it misbehaves now (change it at any time).
    pub mode: Arc<Mutex<Mode>>,
    /// Applied to every 200 JSON answer (after `mode`), when set.
    pub rewrite: Arc<Mutex<Option<Rewrite>>>,
    /// Applied to every 200 answer that is not JSON, when set.
    pub rewrite_bytes: Arc<Mutex<Option<RewriteBytes>>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A proxy in front of `upstream` (a base URL) that rewrites `/patient/records` answers per its
/// mode, and any 200 answer per its rewrite hooks.
pub async fn proxy(upstream: String) -> Proxy {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    let mode = Arc::new(Mutex::new(Mode::Pass));
    let rewrite: Arc<Mutex<Option<Rewrite>>> = Arc::new(Mutex::new(None));
    let rewrite_bytes: Arc<Mutex<Option<RewriteBytes>>> = Arc::new(Mutex::new(None));
    let rb2 = rewrite_bytes.clone();
    let first: Arc<Mutex<Option<Value>>> = Arc::new(Mutex::new(None));
    let client = reqwest::Client::new();
    let m2 = mode.clone();
    let r2 = rewrite.clone();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let rewrite = r2.clone();
        let rewrite_bytes = rb2.clone();
        let client = client.clone();
        let upstream = upstream.clone();
        let mode = *m2.lock().unwrap();
        let first = first.clone();
        async move {
            let mut req = client.request(
                reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
                format!("{upstream}{}", uri.path()),
            );
            for name in [
                "content-type",
                "spondon-signature",
                "spondon-pop",
                "authorization",
            ] {
                if let Some(v) = headers.get(name) {
                    req = req.header(name, v.to_str().unwrap());
                }
            }
            let resp = req.body(body.to_vec()).send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let mut bytes = resp.bytes().await.unwrap().to_vec();
            if uri.path() == "/patient/records" && status == 200 {
                let mut v: Value = serde_json::from_slice(&bytes).unwrap();
                {
                    let mut f = first.lock().unwrap();
                    if f.is_none() {
                        *f = Some(v.clone());
                    }
                }
                misbehave(mode, &mut v, &first);
                bytes = serde_json::to_vec(&v).unwrap();
            }
            if status == 200 && ct.starts_with("application/json") {
                let hook = rewrite.lock().unwrap();
                if let Some(f) = hook.as_ref() {
                    let v: Value = serde_json::from_slice(&bytes).unwrap();
                    bytes = serde_json::to_vec(&f(uri.path(), v)).unwrap();
                }
            } else if status == 200 {
                let hook = rewrite_bytes.lock().unwrap();
                if let Some(f) = hook.as_ref() {
                    bytes = f(uri.path(), bytes);
                }
            }
            (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", ct)],
                bytes,
            )
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Proxy {
        addr,
        mode,
        rewrite,
        rewrite_bytes,
    }
}

/// Rewrites a `/patient/records` answer per `mode`.
fn misbehave(mode: Mode, v: &mut Value, first: &Mutex<Option<Value>>) {
    match mode {
        Mode::Pass => {}
        Mode::TamperRecord => {
            if let Some(r) = v["records"].as_array_mut().and_then(|a| a.last_mut()) {
                let jws = r["jws"].as_str().unwrap().to_owned();
                let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
                let sig = &mut parts[2];
                let c = if sig.starts_with('A') { "B" } else { "A" };
                sig.replace_range(0..1, c);
                r["jws"] = Value::String(parts.join("."));
            }
        }
        Mode::TamperSalt => {
            if let Some(r) = v["records"].as_array_mut().and_then(|a| a.last_mut()) {
                r["salt"] = Value::String(spondon_core::b64::encode([7u8; 32]));
            }
        }
        Mode::ReplayOldCheckpoint => {
            let old = first.lock().unwrap().clone().unwrap();
            v["checkpoint"] = old["checkpoint"].clone();
            v["tree_size"] = old["tree_size"].clone();
            v["consistency_proof"] = json!([]);
            v["records"] = json!([]);
        }
    }
}

/// Writes what a CLI wallet is set up with against `peers` into `dir`: the trust list
/// (`trust.txt`), the authority's root key (`root.jwk`) and a passphrase file (`pass`).
pub async fn cli_consortium(dir: &Path, peers: &[&PeerProc]) {
    let (root, list) = trust_list(peers).await;
    std::fs::write(dir.join("trust.txt"), &list).unwrap();
    std::fs::write(
        dir.join("root.jwk"),
        serde_json::to_vec(&root.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("pass"), "correct horse battery\n").unwrap();
}

/// Runs the `spondon` binary `bin` on `wallet`, passphrase-only (no keychain), with the
/// passphrase from the file `pass`, reaching peers through `endpoint`.
pub fn cli(
    bin: &str,
    wallet: &Path,
    pass: &Path,
    endpoint: &str,
    args: &[&str],
) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .env("SPONDON_WALLET", wallet)
        .env("SPONDON_PASSPHRASE_FILE", pass)
        .env("SPONDON_KEYSTORE", "none")
        .env("SPONDON_PEER_ENDPOINTS", endpoint)
        .output()
        .unwrap()
}

/// Runs `spondon-verifier ARGS` (the clinic node's CLI), which must succeed: its JSON output.
pub fn node(bin: &Path, args: &[&str]) -> Value {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "spondon-verifier {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A running clinic node (`spondon-verifier serve`), killed on drop.
pub type NodeProc = KillOnDrop;

/// Starts `spondon-verifier serve` on a free port and waits until it listens: (guard, base URL).
pub async fn serve_node(bin: &Path, data: &str) -> (NodeProc, String) {
    let addr = free_addr();
    let child = KillOnDrop::new(
        Command::new(bin)
            .args(["serve", "--data", data, "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    crate::proc::wait_listening(addr).await;
    (child, format!("http://{addr}"))
}
