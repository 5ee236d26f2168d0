//! Test peers on 127.0.0.1 (SQLite in a temp dir, or a fresh PostgreSQL database on the server
//! named by `SPONDON_TEST_POSTGRES_URL`), and a minimal HTTP/1.1 client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub struct TestPeer {
    pub peer: Arc<Peer>,
    pub addr: SocketAddr,
    pub token: String,
    pub dir: tempfile::TempDir,
    pub witnessing: Option<spondon_peer::witnessing::Witnessing>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestPeer {
    pub async fn stop(mut self) {
        if let Some(w) = self.witnessing.take() {
            w.stop();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap();
        }
        self.peer.close().await;
    }
}

/// A fresh PostgreSQL database URL; `None` (skipped) without a server, unless
/// `SPONDON_REQUIRE_POSTGRES=1`.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("SPONDON_TEST_POSTGRES_URL") else {
        if std::env::var("SPONDON_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("SPONDON_REQUIRE_POSTGRES=1 but SPONDON_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "skipped {test} on PostgreSQL: SPONDON_TEST_POSTGRES_URL is not set (run under scripts/with-postgres.sh)"
        );
        return None;
    };
    let suffix: [u8; 8] = spondon_core::keys::random_bytes().unwrap();
    let name = format!("p_{}", hex::encode(suffix));
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

/// Engines to run a test on: SQLite always, PostgreSQL when configured.
pub async fn engines(test: &str) -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(u) = postgres_url(test).await {
        v.push(Some(u));
    }
    v
}

pub const URL: &str = "https://dmch.example";

pub async fn start(database_url: Option<&str>) -> TestPeer {
    start_with(database_url, |_| {}).await
}

pub async fn start_with(
    database_url: Option<&str>,
    edit: impl FnOnce(&mut spondon_peer::config::Config),
) -> TestPeer {
    let (dir, token) = init_dir(URL, database_url).await;
    serve_dir(dir, token, None, edit).await
}

/// Initializes a peer in a fresh temp dir (`DIR/peer`); returns the dir and the staff token.
pub async fn init_dir(url: &str, database_url: Option<&str>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("peer"));
    let (peer, token) = Peer::init(&data, "Dhaka Medical College Hospital", url, database_url)
        .await
        .unwrap();
    peer.close().await;
    (dir, token)
}

/// Serves an initialized peer (config edited by `edit`) on `addr` (default: a free port),
/// with its witness push tasks running.
pub async fn serve_dir(
    dir: tempfile::TempDir,
    token: String,
    addr: Option<SocketAddr>,
    edit: impl FnOnce(&mut spondon_peer::config::Config),
) -> TestPeer {
    let data = DataDir::new(dir.path().join("peer"));
    let mut config = data.config().unwrap();
    edit(&mut config);
    let peer = Arc::new(
        Peer::from_parts(config, data.keys().unwrap())
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind(addr.unwrap_or(([127, 0, 0, 1], 0).into()))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = spondon_peer::http::router(peer.clone());
    let server = tokio::spawn(async move {
        spondon_peer::http::serve(listener, app, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let witnessing = Some(spondon_peer::witnessing::Witnessing::start(peer.clone()).unwrap());
    TestPeer {
        peer,
        addr,
        token,
        dir,
        witnessing,
        stop: Some(tx),
        server: Some(server),
    }
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

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
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
    // A server may answer (e.g. 413) before reading the whole body; ignore write errors then.
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
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
    let resp = Resp {
        status,
        headers,
        body,
    };
    check_documented(method, path, &resp);
    resp
}

/// The served OpenAPI document (its schemas do not depend on the config).
fn openapi_doc() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let cfg: spondon_peer::config::Config = serde_json::from_value(json!({
            "name": "x", "url": "https://x.example", "database_url": "sqlite::memory:",
            "log_origin": "x.example/log"}))
        .unwrap();
        spondon_peer::openapi::document(&cfg)
    })
}

/// The documented route template a concrete path belongs to.
fn template_of(method: &str, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    spondon_peer::http::ROUTES
        .iter()
        .chain(spondon_peer::http::LEDGER_ROUTES)
        .filter(|r| r.method.eq_ignore_ascii_case(method))
        .find(|r| {
            let t: Vec<&str> = r.path.split('/').collect();
            if r.path == "/tile/{path}" {
                return path.starts_with("/tile/");
            }
            t.len() == segs.len()
                && t.iter().zip(&segs).all(|(a, b)| {
                    (a.starts_with('{') && a.ends_with('}') && !b.is_empty())
                        || a == b
                        || (a.contains('{') && {
                            // `{id}`-prefixed segments such as `{file}` or `$health-cards-issue`.
                            false
                        })
                })
        })
        .map(|r| r.path)
}

/// Every JSON response any test receives must match the schema the OpenAPI document gives for
/// its route and status (problem+json: the Problem schema).
fn check_documented(method: &str, path: &str, r: &Resp) {
    let doc = openapi_doc();
    let ct = r.header("content-type").unwrap_or("").to_owned();
    if ct == "application/problem+json" {
        conforms(
            doc,
            &doc["components"]["schemas"]["Problem"],
            &r.json(),
            "problem",
        );
        return;
    }
    if !(200..300).contains(&r.status) {
        return;
    }
    let Some(t) = template_of(method, path) else {
        return;
    };
    let op = &doc["paths"][t][method.to_ascii_lowercase()];
    let documented = &op["responses"][r.status.to_string()];
    assert!(
        documented.is_object(),
        "{method} {t} answered {} which /openapi.json does not document",
        r.status
    );
    let media = documented["content"].as_object().unwrap();
    // A document's file is answered in its own type: one of the documented ones.
    let content = media
        .get(&ct)
        .unwrap_or_else(|| panic!("{method} {t}: content type {ct} is not documented"));
    if ct.contains("json") {
        conforms(doc, &content["schema"], &r.json(), &format!("{method} {t}"));
    }
}

/// A minimal JSON Schema check for the subset the document uses.
fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        let s = &doc["components"]["schemas"][name];
        assert!(s.is_object(), "{at}: dangling {r}");
        return conforms(doc, s, v, at);
    }
    if let Some(c) = schema.get("const") {
        assert_eq!(v, c, "{at}");
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let ok = types.iter().any(|t| match *t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    });
    assert!(ok, "{at}: {v} is not {types:?}");
    if schema.get("minimum").and_then(Value::as_i64) == Some(0) {
        assert!(v.is_u64(), "{at}: {v} is negative");
    }
    if let (Some(o), Some(props)) = (
        v.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for req in schema["required"].as_array().into_iter().flatten() {
            assert!(
                o.contains_key(req.as_str().unwrap()),
                "{at}: {req} missing in {v}"
            );
        }
        for (k, val) in o {
            match props.get(k) {
                Some(ps) => conforms(doc, ps, val, &format!("{at}.{k}")),
                None => assert!(
                    schema["additionalProperties"] != json!(false),
                    "{at}: undocumented field {k}"
                ),
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (n, x) in a.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{n}]"));
        }
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

impl TestPeer {
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub async fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[], b"").await
    }

    /// A staff POST with a JSON body.
    pub async fn staff_post(&self, path: &str, body: &Value) -> Resp {
        let auth = self.auth();
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
}

pub fn patient_json(nid: &str) -> Value {
    json!({
        "name": "Fatema Begum",
        "birth_date": "1988-04-12",
        "sex": "female",
        "national_id": nid,
        "phone": "01711-234567",
        "district": "Mymensingh",
        "upazila": "Trishal",
    })
}

pub fn prescription(health_id: &str, bmdc: &str) -> Value {
    json!({
        "health_id": health_id,
        "kind": "prescription",
        "doctor_bmdc": bmdc,
        "resources": [{
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
            "dosageInstruction": [{"text": "1 tablet three times daily after meals for 5 days"}],
        }],
    })
}

pub fn lab_report(health_id: &str) -> Value {
    json!({
        "health_id": health_id,
        "kind": "lab_report",
        "resources": [
            {"resourceType": "DiagnosticReport", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
             "valueQuantity": {"value": 95, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
             "referenceRange": [{"low": {"value": 150, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
                                 "high": {"value": 450, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}}]},
        ],
    })
}

/// Registers a patient over HTTP; returns the Health ID.
pub async fn register_patient(tp: &TestPeer, nid: &str) -> String {
    let r = tp.staff_post("/staff/patients", &patient_json(nid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["health_id"].as_str().unwrap().to_owned()
}

/// Registers a doctor with a fresh key; returns (bmdc, key).
pub async fn register_doctor(
    tp: &TestPeer,
    bmdc: &str,
) -> (String, spondon_core::keys::Es256KeyPair) {
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let r = tp
        .staff_post(
            "/staff/doctors",
            &json!({"bmdc_number": bmdc, "name": "Dr. Abul Kalam Azad", "department": "Medicine",
                    "public_key": key.public_key().to_jwk()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (bmdc.to_owned(), key)
}

impl TestPeer {
    /// Stops serving and serves the same data directory (and database) again, as a restart of
    /// `serve` would; the config is read again from the data directory.
    pub async fn restart(mut self) -> TestPeer {
        if let Some(w) = self.witnessing.take() {
            w.stop();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap();
        }
        self.peer.close().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        serve_dir(dir, self.token.clone(), None, |_| {}).await
    }
}
