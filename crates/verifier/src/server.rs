//! `spondon-verifier serve`: the JSON API (OpenAPI at `/openapi.json`, RFC 9457 problems with
//! stable codes, [`ApiError`]) and the embedded web page. Staff authenticate with a bearer token
//! (API clients) or a session cookie (the page; HttpOnly, SameSite=Strict, Secure behind TLS):
//! the `Staff` extractor. A cookie-authenticated POST must also carry `X-Spondon-Request: 1`,
//! a header no cross-site form can send, and every POST needs its exact content type
//! (`StrictJson`, `Upload`).
//!
//! Every route is declared once, in the `routes!` table: its method, path, handler, who may call it and
//! its summary. The router, the OpenAPI document and the metrics' route labels are all read
//! from that one table.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::token::{self, TokenClaims};

use crate::node::grant::{self, utc_words};
use crate::node::{Node, emergency, records};

mod error;
mod extract;

pub(crate) use error::ApiResult;
pub use error::{ApiError, PROBLEM_BASE};
pub use extract::MAX_JSON;
pub(crate) use extract::{COOKIE, Staff, StrictJson, Upload};

type AppState = Arc<Node>;

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

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the page's assets are not in the OpenAPI document).
    Public,
    /// A staff member (the `Staff` extractor): bearer token or page session.
    Staff,
    /// The page and its assets: public, and not part of the API document.
    Page,
}

/// One route of the node, as the router mounts it and the OpenAPI document describes it.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The axum path template (`{param}`), identical to the OpenAPI one.
    pub path: &'static str,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The request body's media types, comma-separated.
    pub body: Option<&'static str>,
}

/// Declares every route once: `ROUTES` (the table) and `api_router` (the handlers mounted on
/// the same paths), so the two cannot disagree.
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:expr, $access:ident, body = $body:expr, $summary:literal; )*) => {
        /// Every route of the node.
        #[rustfmt::skip]
        pub const ROUTES: &[RouteDoc] = &[
            $( RouteDoc { method: stringify!($method), path: $path, summary: $summary, access: Access::$access, body: $body }, )*
        ];

        fn api_router() -> Router<AppState> {
            Router::new() $( .route($path, $method($handler)) )*
        }
    };
}

const JSON: Option<&str> = Some("application/json");

routes! {
    get "/" => crate::web::index, Page, body = None, "The clinic's page";
    get "/app.js" => crate::web::app_js, Page, body = None, "The page's script";
    get "/style.css" => crate::web::style_css, Page, body = None, "The page's style";
    get "/qr/{file}" => crate::web::qr_asset, Page, body = None, "The page's fallback QR decoder (WebAssembly)";
    get "/openapi.json" => openapi_document, Public, body = None, "This OpenAPI document";
    post "/api/login" => login, Public, body = JSON, "Log in with a staff token: sets the session cookie";
    post "/api/logout" => logout, Public, body = None, "End the session";
    get "/api/status" => status, Staff, body = None, "Clinic, doctor key and credential, trust list and revocation freshness";
    post "/api/grant/check" => grant_check, Staff, body = JSON, "Verdict on a grant {grant, enrollment?}: accepted, or exactly why refused";
    post "/api/grant/records" => grant_records, Staff, body = JSON, "Fetch and verify the granted records from each peer {grant, passcode?}";
    post "/api/grant/write" => grant_write, Staff, body = JSON, "Add a prescription or note under a write grant {grant, kind, resources}";
    get "/api/document/file/{id}" => document_file, Staff, body = None, "Download a document record's file fetched by this session's redemption and checked against its card (docs/protocol.md §18); only to that session";
    post "/api/document/check" => document_check, Staff, body = Some("application/octet-stream, text/plain, application/json, application/smart-health-card, image/png, image/jpeg, application/pdf"), "Verify a .smart-health-card file, JWS, shc:/ text, Spondon token or QR photo (raw body)";
    get "/api/doctor-credential" => doctor_credential, Staff, body = None, "The doctor credential of this node's key, text and QR (SVG)";
    post "/api/emergency/request" => emergency_request, Staff, body = JSON, "Ask a hospital for a patient's emergency summary without a grant {peer, health_id, reason, details, hours?}, signed with this node's doctor key; waits for a second staff confirmation there";
    post "/api/emergency/summary" => emergency_summary, Staff, body = JSON, "The verified emergency summary of a confirmed access {peer, access_id, health_id}, or {status: waiting} until the confirmation";
    get "/api/receipts" => receipts, Staff, body = None, "The latest access receipts (no health data)";
    get "/healthz" => healthz, Public, body = None, "Liveness: the process answers (text)";
    get "/readyz" => readyz, Public, body = None, "Readiness: the database answers and the trust list has not expired (text)";
    get "/metrics" => metrics, Public, body = None, "Prometheus metrics: requests and latency by route, trust list and revocation-list freshness, database pool";
}

/// The route template (`/api/document/file/{id}`) a concrete path belongs to: what requests
/// are counted under, never the concrete path (which may hold an identifier).
pub(crate) fn route_template(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    ROUTES
        .iter()
        .find(|r| {
            let t: Vec<&str> = r.path.split('/').collect();
            t.len() == segs.len()
                && t.iter().zip(&segs).all(|(a, b)| {
                    a == b || (a.starts_with('{') && a.ends_with('}') && !b.is_empty())
                })
        })
        .map(|r| r.path)
}

/// The OpenAPI 3.1 document of the API routes.
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES.iter().filter(|r| r.access != Access::Page) {
        let mut op = json!({
            "summary": r.summary,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "default": {"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        });
        if r.access == Access::Staff {
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

async fn openapi_document() -> Response {
    json_response(StatusCode::OK, &openapi())
}

/// The whole application: every route of [`ROUTES`], the problem answers for anything else,
/// and the request metrics. Serve it with [`serve`], or call it in-process
/// (`tower::ServiceExt::oneshot`).
pub fn router(node: Arc<Node>) -> Router {
    api_router()
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(node.clone(), track))
        .with_state(node)
}

/// Counts every request and its latency for `/metrics`.
async fn track(
    State(node): State<AppState>,
    req: axum::extract::Request,
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

async fn readyz(State(node): State<AppState>) -> ApiResult {
    if let Err(e) = node.db.ping().await {
        tracing::warn!(error = %e, "readiness: the database does not answer");
        return Err(ApiError::NotReady("the database does not answer"));
    }
    if node.trust().list.expires.seconds() <= NumericDate::now().seconds() {
        return Err(ApiError::NotReady(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    token: String,
}

async fn login(State(node): State<AppState>, StrictJson(r): StrictJson<LoginRequest>) -> ApiResult {
    let Some(name) = node.staff_for_token(r.token.trim()).await? else {
        return Err(ApiError::BadLogin);
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
    if let Some(owner) = extract::owner_of(&headers) {
        node.files.forget(&owner);
    }
    if let Some(id) = extract::cookie_value(&headers) {
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

async fn status(State(node): State<AppState>, staff: Staff) -> ApiResult {
    let staff = staff.name;
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

async fn grant_check(
    State(node): State<AppState>,
    _: Staff,
    StrictJson(r): StrictJson<GrantRequest>,
) -> ApiResult {
    let trust = node.trust();
    let v = grant::check(
        &r.grant,
        r.enrollment.as_deref(),
        node.key.kid(),
        &trust,
        NumericDate::now(),
    )?;
    let mut out = serde_json::to_value(&v).unwrap_or(Value::Null);
    out["freshness"] = json!(trust.revocations_as_of);
    Ok(json_response(StatusCode::OK, &out))
}

/// Checks the grant and decodes it for redemption; a refused verdict is a 403 problem with the
/// verdict's code.
fn accepted_grant(node: &Node, r: &GrantRequest) -> ApiResult<(token::Grant, grant::Verdict)> {
    let trust = node.trust();
    let v = grant::check(
        &r.grant,
        r.enrollment.as_deref(),
        node.key.kid(),
        &trust,
        NumericDate::now(),
    )?;
    let bearer_ok = v.code == "ok";
    if !v.accepted || !bearer_ok {
        return Err(ApiError::GrantRefused {
            code: v.code,
            summary: v.summary,
        });
    }
    let parsed = token::decode_any(r.grant.trim()).map_err(grant::GrantInputError::Malformed)?;
    match parsed.claims {
        TokenClaims::Grant(g) => Ok((g, v)),
        other => Err(grant::GrantInputError::NotAGrant(other.kind().name()).into()),
    }
}

/// A document's file, to the session that fetched it, as a download that no browser renders
/// in the page: `Content-Disposition: attachment`, `nosniff`, a sandboxing CSP, `no-store`.
async fn document_file(
    State(node): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult {
    let owner = staff.owner.ok_or(ApiError::FileNotFound)?;
    let file = node
        .files
        .get(&owner, &id, NumericDate::now().0)
        .ok_or(ApiError::FileNotFound)?;
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

async fn grant_records(
    State(node): State<AppState>,
    staff: Staff,
    StrictJson(r): StrictJson<GrantRequest>,
) -> ApiResult {
    let owner = staff.owner;
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

async fn grant_write(
    State(node): State<AppState>,
    _: Staff,
    StrictJson(w): StrictJson<WriteRequest>,
) -> ApiResult {
    if w.resources.is_empty() || w.resources.len() > 50 {
        return Err(ApiError::BadResources);
    }
    let gr = GrantRequest {
        grant: w.grant.clone(),
        enrollment: None,
        passcode: None,
    };
    let (g, _) = accepted_grant(&node, &gr)?;
    if !g.write {
        return Err(ApiError::NotWriteScoped);
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
        Err(f) => Err(ApiError::Write(f)),
    }
}

async fn document_check(
    State(node): State<AppState>,
    _: Staff,
    Upload(bytes): Upload,
) -> ApiResult {
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
    .map_err(|_| ApiError::CheckAborted)?;
    match result {
        Ok((view, report)) => Ok(json_response(
            StatusCode::OK,
            &json!({"report": report, "text": report.to_text(), "view": view}),
        )),
        Err(e) => Err(ApiError::Unreadable(e)),
    }
}

async fn doctor_credential(State(node): State<AppState>, _: Staff) -> ApiResult {
    let Some(c) = node.credential() else {
        return Err(ApiError::NoCredential);
    };
    let svg = spondon_core::qr::encode(&c.text).map(|q| q.to_svg()).ok();
    Ok(json_response(
        StatusCode::OK,
        &json!({"credential": c.text, "qr_svg": svg,
        "name": c.credential.name, "bmdc_number": c.credential.bmdc_number, "key": node.key.kid()}),
    ))
}

async fn receipts(State(node): State<AppState>, _: Staff) -> ApiResult {
    Ok(json_response(
        StatusCode::OK,
        &json!({"receipts": node.db.receipts(100).await?}),
    ))
}

async fn emergency_receipt(
    node: &Node,
    access_id: &str,
    peer: &str,
    outcome: &str,
    records: usize,
) -> ApiResult<()> {
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
async fn emergency_request(
    State(node): State<AppState>,
    _: Staff,
    StrictJson(f): StrictJson<emergency::AskForm>,
) -> ApiResult {
    let trust = node.trust();
    let out = emergency::ask(&f, &node.key, &trust, &node.peers).await?;
    let id = out["access_id"].as_str().unwrap_or_default();
    emergency_receipt(&node, id, &f.peer, "requested", 0).await?;
    tracing::info!("emergency access requested");
    Ok(json_response(StatusCode::CREATED, &out))
}

/// The emergency summary once a second staff member at the hospital confirmed; until then
/// `{"status": "waiting"}`.
async fn emergency_summary(
    State(node): State<AppState>,
    _: Staff,
    StrictJson(f): StrictJson<emergency::SummaryForm>,
) -> ApiResult {
    let trust = node.trust();
    let out = emergency::summary(&f, &node.key, &trust, &node.peers).await?;
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
