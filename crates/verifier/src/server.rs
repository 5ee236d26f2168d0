//! `spondon-verifier serve`: the JSON API (OpenAPI at `/openapi.json`, RFC 9457 problems with
//! stable codes) and the embedded web page. Staff authenticate with a bearer token (API
//! clients) or a session cookie (the page; HttpOnly, SameSite=Strict, Secure behind TLS). A
//! cookie-authenticated POST must also carry `X-Spondon-Request: 1`, a header no cross-site
//! form can send, and every POST needs its exact content type.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::token::{self, TokenClaims};

use crate::node::grant::{self, utc_words};
use crate::node::{Node, emergency, records};

type AppState = Arc<Node>;

/// Base of problem `type` URIs.
pub const PROBLEM_BASE: &str = "https://spondon.example/problems/verifier/";
const COOKIE: &str = "spondon_session";
/// Largest JSON body (a grant with an enrollment, a prescription).
const MAX_JSON: usize = 256 * 1024;

/// An RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("{PROBLEM_BASE}{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

impl From<crate::node::NodeError> for Problem {
    fn from(e: crate::node::NodeError) -> Self {
        tracing::error!(error = %e, code = e.code(), "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

type ApiResult = Result<Response, Problem>;

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub body: Option<&'static str>,
}

#[rustfmt::skip]
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc { method: "get", path: "/openapi.json", summary: "This OpenAPI document", auth: false, body: None },
    RouteDoc { method: "post", path: "/api/login", summary: "Log in with a staff token: sets the session cookie", auth: false, body: Some("application/json") },
    RouteDoc { method: "post", path: "/api/logout", summary: "End the session", auth: false, body: None },
    RouteDoc { method: "get", path: "/api/status", summary: "Clinic, doctor key and credential, trust list and revocation freshness", auth: true, body: None },
    RouteDoc { method: "post", path: "/api/grant/check", summary: "Verdict on a grant {grant, enrollment?}: accepted, or exactly why refused", auth: true, body: Some("application/json") },
    RouteDoc { method: "post", path: "/api/grant/records", summary: "Fetch and verify the granted records from each peer {grant, passcode?}", auth: true, body: Some("application/json") },
    RouteDoc { method: "post", path: "/api/grant/write", summary: "Add a prescription or note under a write grant {grant, kind, resources}", auth: true, body: Some("application/json") },
    RouteDoc { method: "get", path: "/api/document/file/{id}", summary: "Download a document record's file fetched by this session's redemption and checked against its card (docs/protocol.md §18); only to that session", auth: true, body: None },
    RouteDoc { method: "post", path: "/api/document/check", summary: "Verify a .smart-health-card file, JWS, shc:/ text, Spondon token or QR photo (raw body)", auth: true, body: Some("application/octet-stream, text/plain, application/json, image/png, image/jpeg, application/pdf") },
    RouteDoc { method: "get", path: "/api/doctor-credential", summary: "The doctor credential of this node's key, text and QR (SVG)", auth: true, body: None },
    RouteDoc { method: "post", path: "/api/emergency/request", summary: "Ask a hospital for a patient's emergency summary without a grant {peer, health_id, reason, details, hours?}, signed with this node's doctor key; waits for a second staff confirmation there", auth: true, body: Some("application/json") },
    RouteDoc { method: "post", path: "/api/emergency/summary", summary: "The verified emergency summary of a confirmed access {peer, access_id, health_id}, or {status: waiting} until the confirmation", auth: true, body: Some("application/json") },
    RouteDoc { method: "get", path: "/api/receipts", summary: "The latest access receipts (no health data)", auth: true, body: None },
    RouteDoc { method: "get", path: "/healthz", summary: "Liveness: the process answers (text)", auth: false, body: None },
    RouteDoc { method: "get", path: "/readyz", summary: "Readiness: the database answers and the trust list has not expired (text)", auth: false, body: None },
    RouteDoc { method: "get", path: "/metrics", summary: "Prometheus metrics: requests and latency by route, trust list and revocation-list freshness, database pool", auth: false, body: None },
];

/// The OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut op = json!({
            "summary": r.summary,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "default": {"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        });
        if r.auth {
            op["security"] = json!([{"staffToken": []}, {"session": []}]);
        }
        if let Some(ct) = r.body {
            let mut content = serde_json::Map::new();
            for t in ct.split(", ") {
                content.insert(t.to_owned(), json!({}));
            }
            op["requestBody"] = json!({"required": true, "content": content});
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Spondon clinic verifier", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "staffToken": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
            },
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string"}, "detail": {"type": "string"}}}},
        },
    })
}

/// The whole application.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/", get(crate::web::index))
        .route("/app.js", get(crate::web::app_js))
        .route("/style.css", get(crate::web::style_css))
        .route("/qr/{file}", get(crate::web::qr_asset))
        .route(
            "/openapi.json",
            get(|| async { json_response(StatusCode::OK, &openapi()) }),
        )
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/status", get(status))
        .route("/api/grant/check", post(grant_check))
        .route("/api/grant/records", post(grant_records))
        .route("/api/grant/write", post(grant_write))
        .route("/api/document/check", post(document_check))
        .route("/api/document/file/{id}", get(document_file))
        .route("/api/doctor-credential", get(doctor_credential))
        .route("/api/emergency/request", post(emergency_request))
        .route("/api/emergency/summary", post(emergency_summary))
        .route("/api/receipts", get(receipts))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .layer(axum::middleware::from_fn_with_state(node.clone(), track))
        .with_state(node)
}

/// Counts every request and its latency for `/metrics`.
async fn track(
    State(node): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let route = crate::node::metrics::route_label(req.uri().path());
    let resp = next.run(req).await;
    node.metrics
        .observe(&method, route, resp.status().as_u16(), started);
    resp
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn healthz() -> Response {
    text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into())
}

async fn readyz(State(node): State<AppState>) -> Result<Response, Problem> {
    if let Err(e) = node.db.ping().await {
        tracing::warn!(error = %e, "readiness: the database does not answer");
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        ));
    }
    if node.trust().list.expires.seconds() <= NumericDate::now().seconds() {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the trust list has expired: refresh it from the health authority",
        ));
    }
    Ok(text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        "ready\n".into(),
    ))
}

async fn metrics(State(node): State<AppState>) -> Response {
    let body = node.metrics.render(&node);
    text(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        body,
    )
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The staff member making the request.
async fn authenticate(node: &Node, headers: &HeaderMap, post: bool) -> Result<String, Problem> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or("");
        return node.staff_for_token(token.trim()).await?.ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown staff token",
            )
        });
    }
    if let Some(id) = cookie_value(headers) {
        if let Some(name) = node.session_staff(&id).await? {
            if post && headers.get("x-spondon-request").is_none_or(|v| v != "1") {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "a page request must carry X-Spondon-Request: 1",
                ));
            }
            return Ok(name);
        }
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "the session has ended; log in again",
        ));
    }
    Err(Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "log in, or send Authorization: Bearer <staff token>",
    ))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

async fn body_bytes(body: Body, limit: usize) -> Result<Bytes, Problem> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes"),
        )
    })
}

async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, Problem> {
    if content_type(headers) != "application/json" {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ));
    }
    let bytes = body_bytes(body, MAX_JSON).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not the expected JSON: {e}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    token: String,
}

async fn login(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    let r: LoginRequest = json_body(&parts.headers, body).await?;
    let Some(name) = node.staff_for_token(r.token.trim()).await? else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad_login",
            "this staff token is not known",
        ));
    };
    let id = node.new_session(&name).await?;
    let secure = if node.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        crate::node::state::SESSION_SECS
    );
    let mut r = json_response(StatusCode::OK, &json!({"staff": name}));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn logout(State(node): State<AppState>, headers: HeaderMap) -> ApiResult {
    if let Some(owner) = file_owner(&headers) {
        node.files.forget(&owner);
    }
    if let Some(id) = cookie_value(&headers) {
        node.end_session(&id).await?;
    }
    let mut r = json_response(StatusCode::OK, &json!({"logged_out": true}));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("spondon_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

/// Trust list and revocation freshness, in words and numbers.
fn freshness(node: &Node) -> Value {
    let t = node.trust();
    let now = NumericDate::now().0;
    json!({
        "trust_list": {
            "authority": t.list.authority,
            "sequence": t.list.sequence,
            "expires": t.list.expires.0,
            "expired": now >= t.list.expires.0,
            "fetched_at": t.fetched_at,
            "hospitals": t.list.hospitals.iter().map(|h| json!({"id": h.id, "name": h.name, "peer_url": h.peer_url})).collect::<Vec<_>>(),
        },
        "revocations_as_of": t.revocations_as_of,
        "words": format!(
            "Trust list #{} of {} (fetched {}); {}",
            t.list.sequence,
            t.list.authority,
            utc_words(t.fetched_at),
            match t.revocations_as_of {
                Some(at) => format!("revocations as of {}", utc_words(at)),
                None => "revocation lists not yet fetched from every hospital".into(),
            }
        ),
    })
}

async fn status(State(node): State<AppState>, headers: HeaderMap) -> ApiResult {
    let staff = authenticate(&node, &headers, false).await?;
    let cred = node.credential().map(|c| {
        json!({"name": c.credential.name, "bmdc_number": c.credential.bmdc_number,
               "department": c.credential.department, "hospital_id": c.credential.hospital_id,
               "expires": c.credential.expires.0})
    });
    let refresh = node.db.refresh_status().await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "clinic": node.config.clinic,
            "staff": staff,
            "doctor_key": node.key.kid(),
            "doctor_credential": cred,
            "freshness": freshness(&node),
            "refresh": refresh,
            "stored_rows": node.db.counts().await?.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantRequest {
    grant: String,
    #[serde(default)]
    enrollment: Option<String>,
    #[serde(default)]
    passcode: Option<String>,
}

fn grant_problem(e: &grant::GrantInputError) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
}

async fn grant_check(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let r: GrantRequest = json_body(&parts.headers, body).await?;
    let trust = node.trust();
    let v = grant::check(
        &r.grant,
        r.enrollment.as_deref(),
        node.key.kid(),
        &trust,
        NumericDate::now(),
    )
    .map_err(|e| grant_problem(&e))?;
    let mut out = serde_json::to_value(&v).unwrap_or(Value::Null);
    out["freshness"] = json!(trust.revocations_as_of);
    Ok(json_response(StatusCode::OK, &out))
}

/// Checks the grant and decodes it for redemption; a refused verdict is a 403 problem with the
/// verdict's code.
fn accepted_grant(
    node: &Node,
    r: &GrantRequest,
) -> Result<(token::Grant, grant::Verdict), Problem> {
    let trust = node.trust();
    let v = grant::check(
        &r.grant,
        r.enrollment.as_deref(),
        node.key.kid(),
        &trust,
        NumericDate::now(),
    )
    .map_err(|e| grant_problem(&e))?;
    let bearer_ok = v.code == "ok";
    if !v.accepted || !bearer_ok {
        return Err(Problem::new(StatusCode::FORBIDDEN, v.code, v.summary));
    }
    let parsed = token::decode_any(r.grant.trim())
        .map_err(|e| grant_problem(&grant::GrantInputError::Malformed(e)))?;
    match parsed.claims {
        TokenClaims::Grant(g) => Ok((g, v)),
        other => Err(grant_problem(&grant::GrantInputError::NotAGrant(
            other.kind().name(),
        ))),
    }
}

/// Who a fetched document file belongs to: the hash of the session cookie, else of the staff
/// token, the request came with (`authenticate` has accepted it).
fn file_owner(headers: &HeaderMap) -> Option<[u8; 32]> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok()?.strip_prefix("Bearer ")?.trim();
        return Some(spondon_core::keys::sha256(
            format!("token:{token}").as_bytes(),
        ));
    }
    cookie_value(headers).map(|id| spondon_core::keys::sha256(format!("session:{id}").as_bytes()))
}

/// A document's file, to the session that fetched it, as a download that no browser renders
/// in the page: `Content-Disposition: attachment`, `nosniff`, a sandboxing CSP, `no-store`.
async fn document_file(
    State(node): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    authenticate(&node, &headers, false).await?;
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "file_not_found",
            "no such file for this session (files are kept 30 minutes after the records were fetched)",
        )
    };
    let owner = file_owner(&headers).ok_or_else(not_found)?;
    let file = node
        .files
        .get(&owner, &id, NumericDate::now().0)
        .ok_or_else(not_found)?;
    // An ASCII file name for the header (the card's title may hold any letter).
    let ascii: String = file
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = Response::new(Body::from(file.bytes.as_ref().clone()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    } else {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn grant_records(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let owner = file_owner(&parts.headers);
    let r: GrantRequest = json_body(&parts.headers, body).await?;
    let (g, verdict) = accepted_grant(&node, &r)?;
    let trust = node.trust();
    let mut fetched = records::fetch(
        &g,
        r.grant.trim(),
        r.passcode.as_deref(),
        &node.key,
        &trust,
        &node.peers,
    )
    .await;
    // Each checked file, kept for this session only; the page links to it.
    let now = NumericDate::now().0;
    let files = std::mem::take(&mut fetched.files);
    for (record_id, file) in files {
        let Some(id) = owner.and_then(|o| node.files.keep(o, file, now)) else {
            continue;
        };
        let url = format!("/api/document/file/{id}");
        for d in fetched
            .documents
            .iter_mut()
            .filter(|d| d.record_id == record_id)
        {
            d.download = Some(url.clone());
        }
        for t in fetched.timeline.iter_mut().filter(|t| t.id == record_id) {
            if let Some(d) = t.document.as_mut() {
                d.download = Some(url.clone());
            }
        }
    }
    let gid = spondon_core::b64::encode(g.id);
    for (peer, n, idx) in &fetched.receipts {
        let outcome = if fetched.failures.iter().any(|f| &f.peer == peer) {
            "refused"
        } else {
            "records_shown"
        };
        node.db
            .add_receipt(&crate::node::db::Receipt {
                grant_id: gid.clone(),
                peer: peer.clone(),
                action: "read".into(),
                outcome: outcome.into(),
                records: i64::try_from(*n).unwrap_or(i64::MAX),
                access_log_index: idx.and_then(|i| i64::try_from(i).ok()),
                at: now,
            })
            .await?;
    }
    let revocation = records::revocation_check(&g, &fetched, &trust);
    tracing::info!(
        records = fetched.timeline.len(),
        failures = fetched.failures.len(),
        revocation = revocation.state,
        "grant redeemed"
    );
    // The whole verdict: green only when the signature is good, every peer was asked and none
    // refused the grant, and the patient is named by a hospital-signed card.
    let status = match revocation.state {
        "not_revoked" if fetched.patient.is_some() => "valid",
        "not_revoked" => "unidentified",
        other => other,
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"status": status, "verdict": verdict, "revocation": revocation,
                "patient": fetched.patient, "records": fetched}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteRequest {
    grant: String,
    kind: String,
    resources: Vec<Value>,
}

async fn grant_write(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let w: WriteRequest = json_body(&parts.headers, body).await?;
    if w.resources.is_empty() || w.resources.len() > 50 {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_resources",
            "send 1 to 50 FHIR resources",
        ));
    }
    let gr = GrantRequest {
        grant: w.grant.clone(),
        enrollment: None,
        passcode: None,
    };
    let (g, _) = accepted_grant(&node, &gr)?;
    if !g.write {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not_write_scoped",
            "this grant does not allow adding records",
        ));
    }
    let trust = node.trust();
    let res = records::write(
        &g,
        w.grant.trim(),
        &w.kind,
        &w.resources,
        &node.key,
        &trust,
        &node.peers,
    )
    .await;
    let gid = spondon_core::b64::encode(g.id);
    let now = NumericDate::now().0;
    let peer = g.peers.first().cloned().unwrap_or_default();
    let outcome = if res.is_ok() { "written" } else { "refused" };
    node.db
        .add_receipt(&crate::node::db::Receipt {
            grant_id: gid,
            peer,
            action: "write".into(),
            outcome: outcome.into(),
            records: i64::from(res.is_ok()),
            access_log_index: None,
            at: now,
        })
        .await?;
    match res {
        Ok(v) => Ok(json_response(
            StatusCode::CREATED,
            &json!({"written": true, "record": {"id": v["id"], "kind": v["kind"]}}),
        )),
        Err(f) => Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            if f.code == "refused" {
                "peer_refused"
            } else {
                "peer_unreachable"
            },
            format!(
                "{}: {}{}",
                f.hospital.unwrap_or(f.peer),
                f.message,
                f.peer_code.map(|c| format!(" ({c})")).unwrap_or_default()
            ),
        )),
    }
}

const DOCUMENT_TYPES: &[&str] = &[
    "application/octet-stream",
    "text/plain",
    "application/json",
    "application/smart-health-card",
    "image/png",
    "image/jpeg",
    "application/pdf",
];

async fn document_check(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let ct = content_type(&parts.headers);
    if !DOCUMENT_TYPES.contains(&ct.as_str()) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the file as one of: {}", DOCUMENT_TYPES.join(", ")),
        ));
    }
    let bytes = body_bytes(body, node.config.max_upload_bytes).await?;
    if bytes.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "empty",
            "the upload is empty",
        ));
    }
    let trust = node.trust();
    let check_trust = crate::check::Trust {
        directory: trust.directory.clone(),
        trust_list: Some(trust.list.clone()),
        root_key: Some(node.root_key().clone()),
    };
    // The check runs on the blocking pool; if this request ends first (client gone, timeout),
    // dropping the guard cancels its QR decoding instead of letting it burn CPU.
    let cancel = spondon_core::qr::Cancel::new();
    let _guard = spondon_core::qr::CancelOnDrop(cancel.clone());
    let result = tokio::task::spawn_blocking(move || {
        let shape = crate::input::classify("the upload", bytes.to_vec(), token::is_spondon_text)?;
        // An export's report carries no health content; the words for people need the cards'.
        let bundles = crate::check::export_bundles(&shape);
        let now = NumericDate::now();
        crate::check::check_shape_cancellable(shape, &check_trust, now, &cancel)
            .map(|report| (records::document_view(&report, &bundles, now), report))
    })
    .await
    .map_err(|_| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the check failed",
        )
    })?;
    match result {
        Ok((view, report)) => Ok(json_response(
            StatusCode::OK,
            &json!({"report": report, "text": report.to_text(), "view": view}),
        )),
        Err(e) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable",
            e.to_string(),
        )),
    }
}

async fn doctor_credential(State(node): State<AppState>, headers: HeaderMap) -> ApiResult {
    authenticate(&node, &headers, false).await?;
    let Some(c) = node.credential() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "no_credential",
            "no doctor credential is imported (spondon-verifier doctor-credential import FILE)",
        ));
    };
    let svg = spondon_core::qr::encode(&c.text).map(|q| q.to_svg()).ok();
    Ok(json_response(
        StatusCode::OK,
        &json!({"credential": c.text, "qr_svg": svg,
        "name": c.credential.name, "bmdc_number": c.credential.bmdc_number, "key": node.key.kid()}),
    ))
}

async fn receipts(State(node): State<AppState>, headers: HeaderMap) -> ApiResult {
    authenticate(&node, &headers, false).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"receipts": node.db.receipts(100).await?}),
    ))
}

fn emergency_problem(f: emergency::EmergencyFailure) -> Problem {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY);
    Problem::new(status, f.code, f.message)
}

async fn emergency_receipt(
    node: &Node,
    access_id: &str,
    peer: &str,
    outcome: &str,
    records: usize,
) -> Result<(), Problem> {
    node.db
        .add_receipt(&crate::node::db::Receipt {
            grant_id: access_id.to_owned(),
            peer: peer.to_owned(),
            action: "emergency".into(),
            outcome: outcome.into(),
            records: i64::try_from(records).unwrap_or(i64::MAX),
            access_log_index: None,
            at: NumericDate::now().0,
        })
        .await?;
    Ok(())
}

/// Asks a hospital for an emergency (break-glass) access, signed with this node's doctor key.
async fn emergency_request(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let f: emergency::AskForm = json_body(&parts.headers, body).await?;
    let trust = node.trust();
    let out = emergency::ask(&f, &node.key, &trust, &node.peers)
        .await
        .map_err(emergency_problem)?;
    let id = out["access_id"].as_str().unwrap_or_default();
    emergency_receipt(&node, id, &f.peer, "requested", 0).await?;
    tracing::info!("emergency access requested");
    Ok(json_response(StatusCode::CREATED, &out))
}

/// The emergency summary once a second staff member at the hospital confirmed; until then
/// `{"status": "waiting"}`.
async fn emergency_summary(State(node): State<AppState>, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    authenticate(&node, &parts.headers, true).await?;
    let f: emergency::SummaryForm = json_body(&parts.headers, body).await?;
    let trust = node.trust();
    let out = emergency::summary(&f, &node.key, &trust, &node.peers)
        .await
        .map_err(emergency_problem)?;
    if out["status"] == "open" {
        let n = out["verified_records"].as_u64().unwrap_or(0);
        emergency_receipt(&node, &f.access_id, &f.peer, "summary_shown", n as usize).await?;
        tracing::info!(records = n, "emergency summary shown");
    }
    Ok(json_response(StatusCode::OK, &out))
}

/// Serves until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
