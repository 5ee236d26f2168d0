//! Real `spondon-peer` processes on 127.0.0.1, a trust list naming them, and a response-rewriting
//! proxy (a misbehaving peer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey, Jwks};
use spondon_core::token::{Hospital, TrustList};
use spondon_ledger::Verifier;

/// The `spondon-peer` binary: next to this test's target directory, built on demand.
pub fn peer_bin() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let bin = profile_dir.join("spondon-peer");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Always ask cargo: it is a no-op when the binary is up to date.
        let status = Command::new(cargo)
            .args(["build", "-p", "spondon-peer", "--bin", "spondon-peer"])
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building spondon-peer failed");
        assert!(bin.exists(), "{} missing", bin.display());
        bin
    })
    .clone()
}

/// The `spondon-verifier` binary, built on demand next to this test's target directory.
pub fn verifier_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "spondon-verifier",
            "--bin",
            "spondon-verifier",
        ])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building spondon-verifier failed");
    profile_dir.join("spondon-verifier")
}

pub struct PeerProc {
    pub url: String,
    pub name: String,
    pub data: PathBuf,
    pub addr: SocketAddr,
    pub token: String,
    pub log_vkey: String,
    /// Its witness's `cosignature/v1` key (`name+keyid+key`).
    pub witness_vkey: String,
    child: Option<Child>,
    http: reqwest::Client,
    /// Serving HTTPS only, with a certificate from this CA file.
    pub tls_ca: Option<PathBuf>,
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

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

impl PeerProc {
    /// `spondon-peer init` then `serve` on a free port.
    pub async fn start(root: &Path, host: &str, name: &str) -> PeerProc {
        let mut p = Self::init(root, host, name);
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
        let mut p = Self::init(root, host, name);
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

    fn init(root: &Path, host: &str, name: &str) -> PeerProc {
        Self::init_on(root, host, name, None)
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
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let init: Value = serde_json::from_slice(&out.stdout).unwrap();
        PeerProc {
            url,
            name: name.into(),
            data,
            addr: free_addr(),
            token: init["staff_token"].as_str().unwrap().into(),
            log_vkey: init["log_vkey"].as_str().unwrap().into(),
            witness_vkey: init["witness_vkey"].as_str().unwrap().into(),
            child: None,
            http: harness_client(None),
            tls_ca: None,
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
            tls_ca: self.tls_ca.clone(),
            name: self.name.clone(),
            data,
            addr: free_addr(),
            token: self.token.clone(),
            log_vkey: self.log_vkey.clone(),
            witness_vkey: self.witness_vkey.clone(),
            child: None,
            http: self.http.clone(),
        };
        p.serve().await;
        p
    }

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
        self.child = Some(child);
        // Wait until it answers (readiness, not a timing assertion).
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
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("spondon-peer did not start");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

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

    /// Registers the test patient; returns (health id, enrollment text).
    pub async fn register_patient(&self) -> (String, String) {
        let v = self
            .staff(
                "/staff/patients",
                &json!({"name": "Fatema Begum", "birth_date": "1988-04-12", "sex": "female",
                        "national_id": "1987654321", "phone": "01711-234567",
                        "district": "Mymensingh", "upazila": "Trishal"}),
            )
            .await;
        (
            v["health_id"].as_str().unwrap().into(),
            v["enrollment_text"].as_str().unwrap().into(),
        )
    }

    /// Registers a doctor with a new key; returns (key, credential text).
    pub async fn register_doctor(&self, bmdc: &str, name: &str) -> (Es256KeyPair, String) {
        let key = Es256KeyPair::generate().unwrap();
        let v = self
            .staff(
                "/staff/doctors",
                &json!({"bmdc_number": bmdc, "name": name, "department": "Medicine",
                        "public_key": key.public_key().to_jwk()}),
            )
            .await;
        (key, v["credential"].as_str().unwrap().into())
    }

    pub async fn prescription(&self, hid: &str, bmdc: &str) -> String {
        let v = self
            .staff(
                "/staff/records",
                &json!({"health_id": hid, "kind": "prescription", "doctor_bmdc": bmdc,
                    "resources": [{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                        "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
                        "dosageInstruction": [{"text": "1 tablet three times daily after meals for 5 days"}]}]}),
            )
            .await;
        v["id"].as_str().unwrap().into()
    }

    pub async fn cbc(&self, hid: &str) -> String {
        let q = |v: f64| json!({"value": v, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"});
        let v = self
            .staff(
                "/staff/records",
                &json!({"health_id": hid, "kind": "lab_report", "resources": [
                    {"resourceType": "DiagnosticReport", "status": "final",
                     "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}},
                    {"resourceType": "Observation", "status": "final",
                     "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
                     "valueQuantity": q(95.0),
                     "referenceRange": [{"low": q(150.0), "high": q(450.0)}]}]}),
            )
            .await;
        v["id"].as_str().unwrap().into()
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
        let sha = hex::decode(up["sha256"].as_str().unwrap()).unwrap();
        use base64::Engine as _;
        let sha_b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        let v = self
            .staff(
                "/staff/records",
                &json!({"health_id": hid, "kind": "document", "resources": [{
                    "resourceType": "DocumentReference", "status": "current",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2",
                                         "display": "CBC panel - Blood by Automated count"}],
                             "text": "Complete blood count"},
                    "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category",
                                              "code": category}]}],
                    "description": "CBC report from the lab system",
                    "content": [{"attachment": {
                        "contentType": content_type, "title": title,
                        "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                                       "valueBase64Binary": sha_b64}]}}]}]}),
            )
            .await;
        v["id"].as_str().unwrap().into()
    }

    pub async fn hospital(&self) -> Hospital {
        let jwks: Jwks = self
            .http
            .get(format!("{}/.well-known/jwks.json", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = Verifier::from_vkey(&self.log_vkey).unwrap();
        Hospital {
            id: self
                .url
                .trim_start_matches("https://")
                .split('.')
                .next()
                .unwrap()
                .to_owned(),
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
            {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "medicationCodeableConcept": {"text": "Amoxicillin 500 mg capsule"},
             "dosageInstruction": [{"text": "1 capsule three times daily for 7 days"}]}]});
        self.with_pop(doctor, grant, "/grant/write", body).await
    }

    async fn with_pop(
        &self,
        doctor: &Es256KeyPair,
        grant: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let g = spondon_core::token::Grant::decode_and_verify(grant, NumericDate::now()).unwrap();
        let n: Value = self
            .http
            .post(format!("{}/nonce", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let nonce = spondon_core::b64::decode(n["nonce"].as_str().unwrap()).unwrap();
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

impl Drop for PeerProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

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
    // The copy's config must point at its own database file.
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

/// A trust list of these hospitals, signed by a fresh root key.
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
    let now = NumericDate::now();
    TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS".into(),
        sequence,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(30 * 86_400),
        hospitals,
    }
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

pub fn endpoints(peers: &[&PeerProc]) -> BTreeMap<String, String> {
    peers.iter().map(|p| (p.url.clone(), p.base())).collect()
}

/// How the proxy misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
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

pub struct Proxy {
    pub addr: SocketAddr,
    pub mode: Arc<Mutex<Mode>>,
    /// Applied to every 200 JSON answer (after `mode`), when set.
    pub rewrite: Arc<Mutex<Option<Rewrite>>>,
    /// Applied to every 200 answer that is not JSON, when set.
    pub rewrite_bytes: Arc<Mutex<Option<RewriteBytes>>>,
}

/// A proxy in front of `upstream` that rewrites `/patient/records` answers per `mode`.
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
                match mode {
                    Mode::Pass => {}
                    Mode::TamperRecord => {
                        if let Some(r) = v["records"].as_array_mut().and_then(|a| a.last_mut()) {
                            let jws = r["jws"].as_str().unwrap().to_owned();
                            let mut parts: Vec<String> =
                                jws.split('.').map(str::to_owned).collect();
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

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
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

/// The standard output of a command that must have succeeded (both streams shown if it failed).
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Runs `spondon-verifier ARGS` (the clinic node's CLI), which must succeed: its JSON output.
pub fn node(bin: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "spondon-verifier {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A running clinic node (`spondon-verifier serve`), killed on drop.
pub struct NodeProc(pub Child);

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `spondon-verifier serve` on a free port and waits until it listens: (guard, base URL).
pub async fn serve_node(bin: &std::path::Path, data: &str) -> (NodeProc, String) {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let child = NodeProc(
        Command::new(bin)
            .args(["serve", "--data", data, "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (child, format!("http://{addr}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("spondon-verifier did not start");
}
