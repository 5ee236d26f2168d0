//! A peer served in this test process on 127.0.0.1 (SQLite in a temp dir, or the PostgreSQL
//! database given), with its witness push tasks, and its staff. Every answer received through
//! [`request`] is checked against the peer's served OpenAPI document.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use spondon_peer::Peer;
use spondon_peer::config::{Config, DataDir};

pub use crate::db::{engines, postgres_url};
pub use crate::fhir::{lab_report, patient_json, prescription};
pub use crate::http::Resp;
use crate::openapi::Conformance;

/// The test peer's URL.
pub const URL: &str = "https://dmch.example";

/// A peer serving in this process; [`TestPeer::stop`] ends it.
pub struct TestPeer {
    /// The peer, to call directly or read its database.
    pub peer: Arc<Peer>,
    /// Where it serves HTTP (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The first staff token (`init`'s).
    pub token: String,
    /// The temporary directory holding its data directory (`DIR/peer`).
    pub dir: tempfile::TempDir,
    /// Its witness push tasks (stopped with the peer).
    pub witnessing: Option<spondon_peer::witnessing::Witnessing>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for TestPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPeer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A peer at [`URL`] on SQLite (`None`) or the PostgreSQL database named.
pub async fn start(database_url: Option<&str>) -> TestPeer {
    start_with(database_url, |_| {}).await
}

/// Like [`start`], its config edited by `edit` before it serves.
pub async fn start_with(database_url: Option<&str>, edit: impl FnOnce(&mut Config)) -> TestPeer {
    let (dir, token) = Box::pin(init_dir(URL, database_url)).await;
    Box::pin(serve_dir(dir, token, None, edit)).await
}

/// Initializes a peer in a fresh temp dir (`DIR/peer`); returns the dir and the staff token.
pub async fn init_dir(url: &str, database_url: Option<&str>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("peer"));
    // The peer's large futures are awaited boxed, here and below: a test's own future then holds
    // a pointer, not their state, and its poll frame stays small in a debug build.
    let (peer, token) = Box::pin(Peer::init(
        &data,
        "Dhaka Medical College Hospital",
        url,
        database_url,
    ))
    .await
    .unwrap();
    Box::pin(peer.close()).await;
    (dir, token)
}

/// Serves an initialized peer (config edited by `edit`) on `addr` (default: a free port), with
/// its witness push tasks running.
pub async fn serve_dir(
    dir: tempfile::TempDir,
    token: String,
    addr: Option<SocketAddr>,
    edit: impl FnOnce(&mut Config),
) -> TestPeer {
    let data = DataDir::new(dir.path().join("peer"));
    let mut config = data.config().unwrap();
    edit(&mut config);
    let peer = Arc::new(
        Box::pin(Peer::from_parts(config, data.keys().unwrap()))
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

/// The peer's served OpenAPI document (its schemas do not depend on the config) with every route
/// the peer declares.
pub fn conformance() -> &'static Conformance {
    static C: OnceLock<Conformance> = OnceLock::new();
    C.get_or_init(|| {
        let cfg: Config = serde_json::from_value(json!({
            "name": "x", "url": "https://x.example", "database_url": "sqlite::memory:",
            "log_origin": "x.example/log"}))
        .unwrap();
        Conformance::new(spondon_peer::openapi::document(&cfg)).with_routes(
            spondon_peer::http::ROUTES
                .iter()
                .chain(spondon_peer::http::LEDGER_ROUTES)
                .map(|r| (r.method, r.path)),
        )
    })
}

/// One request ([`crate::http::request`]) whose answer must conform to the peer's OpenAPI
/// document.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let resp = crate::http::request(addr, method, path, headers, body).await;
    conformance().check(method, path, &resp);
    resp
}

impl TestPeer {
    /// Stops serving and closes the database.
    pub async fn stop(mut self) {
        Box::pin(self.shutdown()).await;
    }

    async fn shutdown(&mut self) {
        if let Some(w) = self.witnessing.take() {
            w.stop();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap();
        }
        Box::pin(self.peer.close()).await;
    }

    /// Stops serving and serves the same data directory (and database) again, as a restart of
    /// `serve` would; the config is read again from the data directory.
    pub async fn restart(mut self) -> TestPeer {
        Box::pin(self.shutdown()).await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Box::pin(serve_dir(dir, self.token.clone(), None, |_| {})).await
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `Bearer <staff token>`.
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// A GET of `path`, its answer conforming to the OpenAPI document.
    pub async fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[], b"").await
    }

    /// A staff POST with a JSON body.
    pub async fn staff_post(&self, path: &str, body: &Value) -> Resp {
        crate::http::post_json(self.addr, path, &self.token, body).await
    }
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

/// A fresh nonce from the peer (`POST /nonce`, 201).
pub async fn nonce(tp: &TestPeer) -> Vec<u8> {
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 201, "POST /nonce: {}", r.text());
    spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap()
}

/// A POST of `body` to `path` signed by `key` (a patient's, a delegate's or a doctor's), with a
/// fresh nonce (`docs/protocol.md` §7a); the answer conforms to the OpenAPI document.
pub async fn signed(
    tp: &TestPeer,
    key: &spondon_core::keys::Es256KeyPair,
    path: &str,
    body: &Value,
) -> Resp {
    let body = body.to_string().into_bytes();
    let n = nonce(tp).await;
    let sig = crate::patient::signature(key, URL, path, &n, &body);
    request(
        tp.addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", &sig),
        ],
        &body,
    )
    .await
}

/// `key` redeems the enrollment `code` of the patient `health_id` (`POST /patient/enroll`,
/// signed by that key); the answer, whatever it is.
pub async fn enroll(
    tp: &TestPeer,
    key: &spondon_core::keys::Es256KeyPair,
    health_id: &str,
    code: &str,
) -> Resp {
    let body =
        json!({"health_id": health_id, "code": code, "public_key": key.public_key().to_jwk()});
    signed(tp, key, "/patient/enroll", &body).await
}

/// Registers a patient over HTTP and enrolls a fresh wallet key: the Health ID and the key.
pub async fn enrolled_patient(
    tp: &TestPeer,
    nid: &str,
) -> (String, spondon_core::keys::Es256KeyPair) {
    let r = tp.staff_post("/staff/patients", &patient_json(nid)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let r = enroll(tp, &key, &hid, &code).await;
    assert_eq!(r.status, 201, "POST /patient/enroll: {}", r.text());
    (hid, key)
}
