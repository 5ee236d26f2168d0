//! The clinic node's router run in-process (`tower::ServiceExt::oneshot`, no binary, no port):
//! every route of the one table is mounted and documented as declared, staff routes refuse
//! anonymous callers, JSON bodies are refused with a clear 4xx, and the session's CSRF rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::token::{Hospital, TrustList};
use spondon_verifier::node::DataDir;
use spondon_verifier::node::Node;
use spondon_verifier::server::{self, Access, ROUTES};
use tower::ServiceExt as _;

struct App {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    token: String,
}

async fn app() -> App {
    let root = Es256KeyPair::generate().unwrap();
    let record = Es256KeyPair::generate().unwrap();
    let log = Ed25519KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let list = TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS Spondon Root (test)".into(),
        sequence: 1,
        issued_at: now,
        not_before: now.saturating_add(-60),
        expires: now.saturating_add(30 * 86_400),
        hospitals: vec![Hospital {
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: "https://dmch.example".into(),
            record_keys: vec![record.public_key().clone()],
            log_key: *log.public_key(),
            log_origin: "dmch.example/log".into(),
        }],
    };
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("node"));
    let node = Node::init(
        &data,
        "Trishal Community Clinic",
        None,
        &list.sign(&root).unwrap(),
        &root.public_key().to_jwk(),
        None,
    )
    .await
    .unwrap();
    let token = node.add_staff("Nasrin Akter").await.unwrap();
    App {
        _dir: dir,
        node: Arc::new(node),
        token,
    }
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    set_cookie: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    /// The problem code, checking that this is problem+json.
    fn code(&self) -> String {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()["code"].as_str().unwrap().to_owned()
    }
}

async fn call(app: &App, req: Request<Body>) -> Answer {
    let r = server::router(app.node.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let h = |n| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = h(header::CONTENT_TYPE);
    let set_cookie = h(header::SET_COOKIE);
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        content_type,
        set_cookie,
        body,
    }
}

fn req(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path)
}

/// A concrete path for a route template.
fn concrete(path: &str) -> String {
    path.replace("{file}", "nothing.js")
        .replace("{id}", "nothing")
}

#[tokio::test]
async fn every_declared_route_is_mounted_guarded_and_documented() {
    let app = app().await;
    for r in ROUTES {
        let method = r.method.to_ascii_uppercase();
        let a = call(
            &app,
            req(&method, &concrete(r.path)).body(Body::empty()).unwrap(),
        )
        .await;
        match r.access {
            // Staff routes refuse a caller with no credentials, before anything else.
            Access::Staff => {
                assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {}", r.path);
                assert_eq!(a.code(), "unauthorized", "{method} {}", r.path);
            }
            // Public routes answer (the fallback's `not_found` would mean it is not mounted).
            Access::Public | Access::Page => {
                assert!(
                    a.status != StatusCode::METHOD_NOT_ALLOWED
                        && !(a.status == StatusCode::NOT_FOUND
                            && a.content_type.as_deref() == Some("application/problem+json")
                            && a.json()["code"] == "not_found"
                            && r.path != "/qr/{file}"),
                    "{method} {} is not mounted: {}",
                    r.path,
                    a.status
                );
            }
        }
    }
    // The OpenAPI document lists exactly the API routes of the table, with their security.
    let doc = call(
        &app,
        req("GET", "/openapi.json").body(Body::empty()).unwrap(),
    )
    .await
    .json();
    let paths = doc["paths"].as_object().unwrap();
    let api: Vec<_> = ROUTES.iter().filter(|r| r.access != Access::Page).collect();
    assert_eq!(paths.len(), api.len());
    for r in api {
        let op = &doc["paths"][r.path][r.method];
        assert!(op.is_object(), "{} {} undocumented", r.method, r.path);
        assert_eq!(
            op["security"].is_array(),
            r.access == Access::Staff,
            "{} {}",
            r.method,
            r.path
        );
    }
    // Anything else is a problem, not a bare 404.
    let a = call(&app, req("GET", "/api/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let a = call(
        &app,
        req("DELETE", "/api/status").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
    );
    // Requests are counted under their template, never the concrete path.
    let a = call(
        &app,
        req("GET", "/api/document/file/abcdef")
            .header("authorization", format!("Bearer {}", app.token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "file_not_found".into())
    );
    let m = call(&app, req("GET", "/metrics").body(Body::empty()).unwrap()).await;
    let m = String::from_utf8(m.body).unwrap();
    assert!(m.contains("route=\"/api/document/file/{id}\""), "{m}");
    assert!(!m.contains("abcdef"), "{m}");
}

#[tokio::test]
async fn json_bodies_are_refused_with_a_clear_4xx() {
    let app = app().await;
    let bearer = format!("Bearer {}", app.token);
    let post = |ct: &str, body: &str| {
        req("POST", "/api/grant/check")
            .header("authorization", &bearer)
            .header("content-type", ct)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    for (ct, body, status, code) in [
        ("text/plain", "{}", 415, "unsupported_media_type"),
        ("application/json", "{not json", 400, "bad_json"),
        ("application/json", "{}", 400, "bad_json"),
        (
            "application/json",
            r#"{"grant": "x", "extra": 1}"#,
            400,
            "bad_json",
        ),
        (
            "application/json",
            r#"{"grant": "not a token"}"#,
            422,
            "not_a_token",
        ),
    ] {
        let a = call(&app, post(ct, body)).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (status, code.to_owned()),
            "{body}"
        );
    }
    let big = format!(r#"{{"grant": "{}"}}"#, "a".repeat(server::MAX_JSON));
    let a = call(&app, post("application/json", &big)).await;
    assert_eq!((a.status.as_u16(), a.code()), (413, "too_large".to_owned()));
    // An unknown token is refused before the body is read.
    let a = call(
        &app,
        req("POST", "/api/grant/check")
            .header("authorization", "Bearer spvs_unknown")
            .header("content-type", "text/plain")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status.as_u16(), a.code()),
        (401, "unauthorized".to_owned())
    );
}

#[tokio::test]
async fn a_page_session_posts_only_with_the_csrf_header() {
    let app = app().await;
    let a = call(
        &app,
        req("POST", "/api/login")
            .header("content-type", "application/json")
            .body(Body::from(json!({"token": "spvs_wrong"}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code()), (401, "bad_login".to_owned()));
    let a = call(
        &app,
        req("POST", "/api/login")
            .header("content-type", "application/json")
            .body(Body::from(json!({"token": app.token}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["staff"], "Nasrin Akter");
    let cookie = a.set_cookie.unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    // A GET with the cookie needs no extra header.
    let a = call(
        &app,
        req("GET", "/api/status")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["staff"], "Nasrin Akter");
    let check = |csrf: bool| {
        let mut b = req("POST", "/api/grant/check")
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        if csrf {
            b = b.header("x-spondon-request", "1");
        }
        b.body(Body::from(json!({"grant": "not a token"}).to_string()))
            .unwrap()
    };
    let a = call(&app, check(false)).await;
    assert_eq!((a.status.as_u16(), a.code()), (403, "csrf".to_owned()));
    let a = call(&app, check(true)).await;
    assert_eq!(
        (a.status.as_u16(), a.code()),
        (422, "not_a_token".to_owned())
    );
    // After logout the cookie is an ended session.
    let a = call(
        &app,
        req("POST", "/api/logout")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = call(&app, check(true)).await;
    assert_eq!(
        (a.status.as_u16(), a.code()),
        (401, "session_expired".to_owned())
    );
}

/// A bad configuration is refused with a code that says what is wrong (docs/verifier.md,
/// "Configuration errors"), on real files of a real data directory.
#[tokio::test]
async fn configuration_errors_say_what_is_wrong() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = app().await;
    let code = |e: spondon_verifier::node::NodeError| e.code();
    // A staff name out of its range.
    assert_eq!(
        code(app.node.add_staff(" ").await.unwrap_err()),
        "config_out_of_range"
    );
    // A database URL of no known engine.
    let e = spondon_verifier::node::Db::open("mysql://localhost/x")
        .await
        .unwrap_err();
    assert_eq!(code(e), "config_database_url");
    // No configuration file; then one that is not JSON; then one readable by others.
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    assert_eq!(code(data.config().unwrap_err()), "file_not_found");
    let file = dir.path().join("verifier.json");
    std::fs::write(&file, b"{not json").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(code(data.config().unwrap_err()), "config_malformed");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(code(data.config().unwrap_err()), "file_exposed");
    // A peer address that is not a base URL, and a CA file that holds no certificate.
    let node_data = DataDir::new(app._dir.path().join("node"));
    let e = node_data
        .set_peer_address("https://dmch.example", Some("ftp://10.0.4.2"))
        .unwrap_err();
    assert_eq!(code(e), "config_bad_url");
    let not_a_ca = app._dir.path().join("not-a-ca.pem");
    std::fs::write(&not_a_ca, b"nothing here").unwrap();
    assert_eq!(
        code(node_data.add_ca_file(&not_a_ca).unwrap_err()),
        "config_ca_files"
    );
}
