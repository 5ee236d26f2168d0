//! The HTTP API (axum): well-known documents, the log's tiles and witness, staff operations.
//! Every error is RFC 9457 problem+json with a stable code.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, OptionalFromRequestParts, Path, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::access::{
    PasscodeRegistration, ReceiptsRequest, RedeemRequest, RevokeRequest, WriteRequest,
};
use crate::error::{PeerError, Result, problem};
use crate::fhir_api::DetailsUpdate;
use crate::patient::{EnrollRequest, ProofsRequest, PullRequest, RequestParts};
use crate::peer::Peer;
use crate::records::IssueRequest;
use crate::registry::{NewDoctor, NewPatient};
use crate::staff::Role;
use crate::write_keys::WriteKey;

type AppState = Arc<Peer>;

/// One documented route of this crate's own API.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method (`GET`, `POST`, …).
    pub method: &'static str,
    /// OpenAPI path template (`{param}`), identical to the axum path.
    pub path: &'static str,
    /// One line saying what the route does.
    pub summary: &'static str,
    /// Whether a staff bearer token is required.
    pub staff: bool,
    /// Whether the route takes a JSON body.
    pub json_body: bool,
}

macro_rules! route {
    ($m:literal, $p:literal, $s:literal, staff = $st:literal, body = $b:literal) => {
        RouteDoc {
            method: $m,
            path: $p,
            summary: $s,
            staff: $st,
            json_body: $b,
        }
    };
}

/// Declares every route of the peer's own API once: `ROUTES` (the table that the OpenAPI
/// document, the metrics' route labels and the tests read) and `api_router` (each handler
/// mounted on its route's path and method), so the two cannot disagree.
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:expr $(, layer = $layer:expr)?, staff = $staff:literal, body = $body:literal, $summary:literal; )*) => {
        /// Routes of the peer's own API (the ledger routers' are listed in [`LEDGER_ROUTES`]).
        #[rustfmt::skip]
        pub const ROUTES: &[RouteDoc] = &[
            $( RouteDoc { method: stringify!($method), path: $path, summary: $summary, staff: $staff, json_body: $body }, )*
        ];

        fn api_router() -> Router<AppState> {
            Router::new() $( .route($path, $method($handler) $(.layer($layer))?) )*
        }
    };
}

/// The largest upload (`POST /staff/files`): a document's file, above the JSON body limit.
fn file_body_limit() -> usize {
    usize::try_from(spondon_document::MAX_FILE_BYTES).unwrap_or(usize::MAX)
}

routes! {
    get "/.well-known/jwks.json" => jwks, staff = false, body = false, "Record-signing keys (JWKS with crlVersion)";
    get "/.well-known/crl/{file}" => crl, staff = false, body = false, "Card revocation list of a key: <kid>.json";
    get "/openapi.json" => openapi, staff = false, body = false, "This OpenAPI document";
    post "/staff/patients" => register_patient, staff = true, body = true, "Register a patient; returns Health ID and one-time enrollment code";
    get "/staff/patients/{health_id}" => get_patient, staff = true, body = false, "A registered patient's details";
    post "/staff/patients/{health_id}/enrollment-code" => new_code, staff = true, body = false, "A new one-time enrollment code (re-enrollment, e.g. a new phone)";
    post "/staff/doctors" => register_doctor, staff = true, body = true, "Register a doctor; returns the doctor credential";
    post "/staff/records" => issue_record, staff = true, body = true, "Issue a record (SMART Health Card) and log it";
    post "/staff/files" => upload_file, layer = DefaultBodyLimit::max(file_body_limit()), staff = true, body = false, "Upload a document's file (PDF, JPEG or PNG, at most 25 MiB; raw body, type in Content-Type): checked, then stored by SHA-256";
    post "/staff/records/{id}/revoke" => revoke_record, staff = true, body = true, "Revoke a record (wrong patient, entered in error): its rid joins the CRL; logged";
    post "/staff/share-proofs" => share_proof, staff = true, body = true, "Proof of sharing of one allowed access, for an investigator the trust list names (admin); no record content";
    post "/nonce" => nonce, staff = false, body = false, "A single-use server nonce for signed requests";
    post "/patient/enroll" => enroll, staff = false, body = true, "Redeem an enrollment code: bind the signing key (Spondon-Signature) to the Health ID";
    post "/patient/records" => pull, staff = false, body = true, "Incremental pull of the signing patient's records with log proofs (Spondon-Signature)";
    post "/patient/receipts" => receipts, staff = false, body = true, "The signing patient's access receipts with log proofs (Spondon-Signature)";
    post "/patient/proofs" => proofs, staff = false, body = true, "Inclusion proofs against the newest checkpoint with enough witness cosignatures (Spondon-Signature)";
    post "/patient/revocations" => revoke, staff = false, body = true, "Register a revocation, effective at once (Spondon-Signature)";
    post "/patient/rotate-key" => rotate_key, staff = false, body = true, "Lost phone: retire the old key and bind the new one on a key rotation statement (Spondon-Signature by the NEW key); every grant of the old key is revoked";
    post "/patient/grant-passcodes" => register_passcode, staff = false, body = true, "Register the passcode verifier of a bearer grant (Spondon-Signature by the grant's patient key); once per grant";
    post "/patient/delegations" => register_delegation, staff = false, body = true, "Register a delegation the signing patient issued (Spondon-Signature by its patient key)";
    post "/patient/files" => patient_file, staff = false, body = true, "The file of one of the signing patient's document records (Spondon-Signature)";
    post "/delegate/files" => delegate_file, staff = false, body = true, "A delegate with the view scope fetches the file of one of the patient's document records (Spondon-Signature); logged";
    post "/delegate/records" => delegate_pull, staff = false, body = true, "A delegate with the view scope pulls the patient's records with its own key (Spondon-Signature)";
    post "/delegate/receipts" => delegate_receipts, staff = false, body = true, "A delegate with view, or a minor's guardian, reads the patient's receipts (Spondon-Signature)";
    post "/patient/details" => update_details, staff = false, body = true, "The signing patient updates phone, district or upazila (Spondon-Signature)";
    post "/Patient/{id}/$health-cards-issue" => health_cards_issue, staff = false, body = true, "SMART Health Cards $health-cards-issue (Spondon-Signature by the enrolled key)";
    post "/grant/records" => redeem, staff = false, body = true, "Redeem a grant (Spondon-PoP): exactly the granted records with proofs; every attempt is logged";
    post "/authority/stats" => authority_stats, staff = false, body = true, "De-identified statistics of a period, signed and logged (Spondon-Signature by a key in stats_authority_keys)";
    post "/grant/files" => grant_file, staff = false, body = true, "The file of one document record a grant covers (Spondon-PoP or passcode); logged as an access";
    post "/grant/write" => grant_write, staff = false, body = true, "A registered doctor adds a record under a write grant (Spondon-PoP); logged";
    post "/emergency/requests" => emergency_request, staff = false, body = true, "A registered doctor asks for a patient's emergency summary without a grant (Spondon-Signature by the doctor's key): reason and free text; waits for a second staff member";
    post "/staff/emergency/{id}/confirm" => emergency_confirm, staff = true, body = false, "A second staff member confirms an emergency access: it opens for its hours and is logged (kind 7)";
    post "/emergency/summary" => emergency_summary, staff = false, body = true, "The emergency summary of a confirmed, unexpired access, for the doctor who asked (Spondon-Signature)";
    get "/staff/emergency" => emergency_list, staff = true, body = false, "Every emergency access with the patient's dispute (admin)";
    post "/patient/emergency-policy" => emergency_policy, staff = false, body = true, "The signing patient allows, refuses, or limits to named hospitals emergency access (Spondon-Signature)";
    post "/patient/emergency-disputes" => emergency_dispute, staff = false, body = true, "The signing patient disputes one of their emergency accesses (Spondon-Signature)";
    get "/.well-known/smart-configuration" => smart_configuration, staff = false, body = false, "SMART configuration for hospital systems: token endpoint, private_key_jwt (ES384, RS384), scopes";
    get "/fhir/.well-known/smart-configuration" => smart_configuration, staff = false, body = false, "SMART configuration at the FHIR base (the same document)";
    post "/auth/token" => system_token, staff = false, body = false, "SMART Backend Services token endpoint: client_credentials with a private_key_jwt assertion (RFC 7523); a five-minute bearer token";
    get "/fhir/metadata" => fhir_metadata, staff = false, body = false, "FHIR R4 CapabilityStatement (SMART-on-FHIR security, transaction)";
    post "/fhir" => fhir_transaction, staff = false, body = false, "A hospital system pushes a transaction Bundle (system bearer token): records issued and logged, idempotent on Bundle.identifier";
    post "/staff/systems" => register_system, staff = true, body = true, "Register a hospital system: name, public JWKS, allowed scopes (admin); returns its client_id";
    get "/staff/systems" => list_systems, staff = true, body = false, "The registered hospital systems (admin)";
    post "/staff/systems/{id}/disable" => disable_system, staff = true, body = false, "Disable a hospital system: its tokens stop at once (admin)";
    get "/healthz" => healthz, staff = false, body = false, "Liveness: the process answers";
    get "/readyz" => readyz, staff = false, body = false, "Readiness: the database answers and the log has a signed checkpoint";
    get "/metrics" => metrics, staff = false, body = false, "Prometheus metrics: requests and latency by route, log size, checkpoint age, witness lag, rate-limit refusals, database pool";
}

/// Routes mounted from `spondon-ledger`.
#[rustfmt::skip]
pub const LEDGER_ROUTES: &[RouteDoc] = &[
    route!("get", "/checkpoint", "The log's latest cosigned checkpoint (C2SP tlog-checkpoint)", staff = false, body = false),
    route!("get", "/tile/{path}", "A tlog-tiles tile or entry bundle", staff = false, body = false),
    route!("post", "/witness/add-checkpoint", "C2SP tlog-witness add-checkpoint", staff = false, body = false),
    route!("get", "/witness/forks", "Evidence of every fork this witness refused: both signed checkpoints (JSON, newest first)", staff = false, body = false),
];

/// The whole HTTP application.
pub fn router(peer: Arc<Peer>) -> Router {
    let limit = peer.config.max_body_bytes;
    api_router()
        .with_state(peer.clone())
        .merge(spondon_ledger::http::tiles_router(peer.log.clone()))
        .merge(crate::console::router(peer.clone()))
        .nest(
            "/witness",
            spondon_ledger::http::witness_router(peer.witness.clone()),
        )
        .layer(DefaultBodyLimit::max(limit))
        // The timeout inside the staff audit: a staff request that times out is audited
        // with its 408 (outside, the timeout would drop the audit's future with the request).
        .layer(axum::middleware::from_fn_with_state(
            std::time::Duration::from_secs(peer.config.request_timeout_secs),
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            peer.clone(),
            staff_audit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(crate::ratelimit::RateLimiter::new(&peer.config.rate_limit)),
            crate::ratelimit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(crate::ratelimit::RateLimiter::failures(
                &peer.config.rate_limit,
            )),
            crate::ratelimit::limit_failures,
        ))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(fhir_outcomes))
        .layer(axum::middleware::from_fn_with_state(peer, track))
}

/// The label a request is counted under: its route template, never the concrete path (which
/// may hold a Health ID or a record id).
fn route_label(path: &str) -> &'static str {
    if let Some(t) = route_template(ROUTES.iter().chain(LEDGER_ROUTES), path) {
        return t;
    }
    // A tile path has several segments where the template has one.
    if path.starts_with("/tile/") {
        "/tile/{path}"
    } else if path == "/console" || path.starts_with("/console/") {
        "/console"
    } else {
        "unmatched"
    }
}

/// Counts every request and its latency for `/metrics` (outermost layer: refusals by the rate
/// limits and timeouts are counted too).
async fn track(
    State(peer): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let route = route_label(req.uri().path());
    let resp = next.run(req).await;
    peer.metrics
        .observe(&method, route, resp.status().as_u16(), started);
    resp
}

async fn healthz() -> Response {
    text_response(StatusCode::OK, "ok\n".to_owned())
}

async fn readyz(State(peer): State<AppState>) -> Result<Response> {
    let db = crate::db::server::ping(&peer.db).await;
    if let Err(e) = db {
        tracing::warn!(error = %e, "readiness: the database does not answer");
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        ));
    }
    if peer.failover().is_some_and(|f| !f.available()) {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database primary is being failed over",
        ));
    }
    if *peer.signed_size.borrow() == 0 && peer.log.tree_head().await.0 > 0 {
        return Ok(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the log has no signed checkpoint yet",
        ));
    }
    Ok(text_response(StatusCode::OK, "ready\n".to_owned()))
}

async fn metrics(State(peer): State<AppState>) -> Response {
    let body = peer.metrics.render(&peer).await;
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

fn text_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Runs a state-changing operation (one that appends to the log) in its own task, so that a
/// client disconnecting or a timeout cannot cancel it halfway.
async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(f)
        .await
        .map_err(|e| PeerError::Integrity(format!("request task failed: {e}")))?
}

/// Bounds the time of a request (`request_timeout_secs`, reading its body included).
/// State-changing work runs [`detached`] and completes even when the response is abandoned.
async fn request_timeout(
    State(limit): State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => problem(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long",
        ),
    }
}

/// The template (`/staff/patients/{health_id}`) among `routes` a concrete path belongs to.
fn route_template<'a>(
    mut routes: impl Iterator<Item = &'a RouteDoc>,
    path: &str,
) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    routes
        .find(|r| {
            let t: Vec<&str> = r.path.split('/').collect();
            t.len() == segs.len()
                && t.iter().zip(&segs).all(|(a, b)| {
                    a == b || (a.starts_with('{') && a.ends_with('}') && !b.is_empty())
                })
        })
        .map(|r| r.path)
}

/// One audit entry per staff request (`/staff/…`), whatever its outcome: the token's id (or
/// none), the route, the path (its Health ID or record id), the status. Kept in the database,
/// never in the log output.
async fn staff_audit(
    State(peer): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if !path.starts_with("/staff/") {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_owned();
    let route = route_template(ROUTES.iter(), &path).map_or_else(|| path.clone(), str::to_owned);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let action = format!("{method} {route}");
    let target = (route != path).then_some(path.clone());
    // The `Staff` extractor names the token it accepted here, so that the token is not read
    // again; a request it did not accept (or never reached) has the token looked up as before.
    // A handler that wrote this entry with its own transaction says so here too.
    let slot = AuditSlot(std::sync::Arc::new(AuditSlotInner {
        action,
        target,
        token: std::sync::OnceLock::new(),
        named: std::sync::OnceLock::new(),
        written: std::sync::OnceLock::new(),
    }));
    let mut req = req;
    req.extensions_mut().insert(slot.clone());
    let r = next.run(req).await;
    if slot.0.written.get() == Some(&r.status().as_u16()) {
        return r;
    }
    let token_id = match (slot.0.token.get(), token) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(t)) => peer.staff_auth(&t).await.ok().flatten().map(|a| a.token_id),
        (None, None) => None,
    };
    let action = &slot.0.action;
    let target = slot
        .0
        .named
        .get()
        .or(slot.0.target.as_ref())
        .map(String::as_str);
    let id = token_id.as_deref().unwrap_or("-");
    if let Err(e) = peer
        .audit(Some(id), action, target, r.status().as_u16())
        .await
    {
        tracing::error!(code = e.code(), "staff audit entry not stored");
        if e.is_unavailable() {
            // The database went away (a failover): 503, and a retry with the request's
            // Idempotency-Key answers what was done.
            return PeerError::DatabaseUnavailable.into_response();
        }
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
    }
    r
}

/// Every error on `/fhir…` is a FHIR `OperationOutcome` (`application/fhir+json`), whichever
/// layer refused the request (authentication, body limit, rate limit, timeout, no route): the
/// problem's status stays, its code goes to `issue.details`, its detail to `diagnostics`.
async fn fhir_outcomes(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    if path != "/fhir" && !path.starts_with("/fhir/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if !is_problem {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let problem: serde_json::Value = axum::body::to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let code = problem["code"].as_str().unwrap_or("internal");
    let detail = problem["detail"].as_str().unwrap_or("internal error");
    let outcome = crate::fhir_push::operation_outcome(parts.status, code, detail);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::fhir_push::FHIR_JSON),
    );
    if parts.status == StatusCode::UNAUTHORIZED {
        parts.headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"fhir\""),
        );
    }
    Response::from_parts(parts, Body::from(outcome.to_string()))
}

async fn no_route() -> Response {
    problem(StatusCode::NOT_FOUND, "no_route", "no such route")
}

async fn method_not_allowed() -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        ),
    }
}

/// Reads a JSON body's bytes: content type `application/json`, at most `limit` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<axum::body::Bytes> {
    read_body_types(headers, body, limit, &["application/json"]).await
}

/// Reads a body's bytes: one of `types`, at most `limit` bytes.
pub async fn read_body_types(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    types: &[&str],
) -> Result<axum::body::Bytes> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !types.iter().any(|t| mime.eq_ignore_ascii_case(t)) {
        return Err(PeerError::UnsupportedMediaType);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(PeerError::BodyTooLarge(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| PeerError::BodyTooLarge(limit))
}

/// Decodes JSON strictly.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| PeerError::MalformedJson(e.to_string()))
}

/// Reads and decodes a JSON body ([`read_body`], [`parse_json`]).
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T> {
    parse_json(&read_body(headers, body, limit).await?)
}

// --- Extractors: one per kind of caller, so every handler states who may call it. ---

/// A caller holding an active staff bearer token (checked before the body is read); each
/// handler then requires its role.
#[derive(Debug)]
pub struct Staff(pub crate::staff::StaffAuth);

/// A staff request's audit entry in the making (`staff_audit`), in the request's extensions:
/// the token the [`Staff`] extractor accepted, and whether a handler already wrote the entry
/// in its own transaction ([`AuditSlot::entry`], [`AuditSlot::written`]).
#[derive(Debug, Clone)]
pub(crate) struct AuditSlot(std::sync::Arc<AuditSlotInner>);

#[derive(Debug)]
struct AuditSlotInner {
    /// `POST /staff/records`: the method and the route's template.
    action: String,
    /// The concrete path when the route has parameters (a Health ID, a record id).
    target: Option<String>,
    /// The id of the staff token the [`Staff`] extractor accepted.
    token: std::sync::OnceLock<String>,
    /// What the request was done to, named by its handler when the path does not name it (the
    /// record an issuance answered with).
    named: std::sync::OnceLock<String>,
    /// The status of the answer whose entry the handler wrote with its own transaction.
    written: std::sync::OnceLock<u16>,
}

impl AuditSlot {
    /// The request's audit entry for an answer with `status`, by the token `token_id`, for a
    /// handler to write in its own transaction; its target is the path's (none for
    /// `POST /staff/records`, whose handler names the record it issues instead).
    pub(crate) fn entry(&self, token_id: &str, status: StatusCode) -> crate::staff::AuditEntry {
        crate::staff::AuditEntry {
            token_id: token_id.to_owned(),
            action: self.0.action.clone(),
            target: self.0.target.clone(),
            status: i64::from(status.as_u16()),
            at: spondon_core::NumericDate::now().seconds(),
        }
    }

    /// Names what the request was done to, for the entry `staff_audit` writes.
    pub(crate) fn name(&self, target: &str) {
        let _ = self.0.named.set(target.to_owned());
    }

    /// The handler wrote [`AuditSlot::entry`] for `status`: an answer with that status is not
    /// audited again (any other answer still is, e.g. a failure after the commit).
    pub(crate) fn written(&self, status: StatusCode) {
        let _ = self.0.written.set(status.as_u16());
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuditSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<AuditSlot>().cloned())
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PeerError;

    async fn from_request_parts(parts: &mut Parts, peer: &AppState) -> Result<Self> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| peer.count_unlogged(PeerError::Unauthorized))?;
        match peer.staff_auth(token.trim()).await? {
            Some(auth) => {
                if let Some(slot) = parts.extensions.get::<AuditSlot>() {
                    let _ = slot.0.token.set(auth.token_id.clone());
                }
                Ok(Staff(auth))
            }
            None => Err(peer.count_unlogged(PeerError::Unauthorized)),
        }
    }
}

/// A strictly decoded `application/json` body of at most `max_body_bytes`.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for StrictJson<T> {
    type Rejection = PeerError;

    async fn from_request(req: axum::extract::Request, peer: &AppState) -> Result<Self> {
        let (parts, body) = req.into_parts();
        Ok(Self(
            read_json(&parts.headers, body, peer.config.max_body_bytes).await?,
        ))
    }
}

/// A patient's signed request: the decoded body, its exact bytes, the path and the
/// `Spondon-Signature` header. `FHIR` also accepts `application/fhir+json`.
#[derive(Debug)]
pub struct Signed<T, const FHIR: bool = false> {
    /// The decoded request body.
    pub body: T,
    bytes: axum::body::Bytes,
    path: String,
    signature: Option<String>,
}

impl<T, const FHIR: bool> Signed<T, FHIR> {
    /// What the signature must cover.
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: "POST",
            path: &self.path,
            signature: self.signature.as_deref(),
            body: &self.bytes,
        }
    }
}

impl<T: DeserializeOwned, const FHIR: bool> FromRequest<AppState> for Signed<T, FHIR> {
    type Rejection = PeerError;

    async fn from_request(req: axum::extract::Request, peer: &AppState) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let types: &[&str] = if FHIR {
            &["application/json", "application/fhir+json"]
        } else {
            &["application/json"]
        };
        let bytes =
            read_body_types(&parts.headers, body, peer.config.max_body_bytes, types).await?;
        Ok(Self {
            body: parse_json(&bytes)?,
            bytes,
            path: parts.uri.path().to_owned(),
            signature: header_text(&parts.headers, SIGNATURE_HEADER),
        })
    }
}

/// A doctor's request under a grant: the decoded body, its exact bytes (the PoP covers them),
/// the path and the `Spondon-PoP` header.
#[derive(Debug)]
pub struct WithPop<T> {
    /// The decoded request body.
    pub body: T,
    bytes: axum::body::Bytes,
    path: String,
    pop: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for WithPop<T> {
    type Rejection = PeerError;

    async fn from_request(req: axum::extract::Request, peer: &AppState) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(&parts.headers, body, peer.config.max_body_bytes).await?;
        Ok(Self {
            body: parse_json(&bytes)?,
            bytes,
            path: parts.uri.path().to_owned(),
            pop: header_text(&parts.headers, POP_HEADER),
        })
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Marks a response as not to be stored by caches (personal data, one-time values).
fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Header carrying a patient's signed request.
pub const SIGNATURE_HEADER: &str = "spondon-signature";
/// Header carrying a doctor's proof of possession.
pub const POP_HEADER: &str = "spondon-pop";

// --- Handlers ---

async fn jwks(State(peer): State<AppState>) -> Result<Response> {
    Ok(json_response(StatusCode::OK, &peer.jwks().await?))
}

async fn crl(State(peer): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    let kid = file.strip_suffix(".json").ok_or(PeerError::NotFound)?;
    let crl = peer.crl(kid).await?.ok_or(PeerError::NotFound)?;
    let mut r = json_response(StatusCode::OK, &crl);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

async fn openapi(State(peer): State<AppState>) -> Response {
    json_response(StatusCode::OK, &crate::openapi::document(&peer.config))
}

/// How a staff write's stored answer is replayed ([`keyed_write`]).
#[derive(Clone, Copy)]
pub(crate) enum Replay {
    /// The stored answer itself.
    Answer,
    /// A fresh enrollment code for the stored `health_id` (codes are stored only hashed).
    FreshCode,
}

/// The `Idempotency-Key` of a staff write to `path` whose request is `body` (see
/// [`crate::write_keys`]).
pub(crate) fn write_key(
    headers: &HeaderMap,
    staff: &crate::staff::StaffAuth,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<Option<WriteKey>> {
    let body =
        serde_json::to_vec(body).map_err(|e| PeerError::Integrity(format!("request hash: {e}")))?;
    WriteKey::from_header(
        headers.get("idempotency-key"),
        &staff.token_id,
        "POST",
        path,
        &body,
    )
}

/// Runs a staff write that stores `key` in its own transaction: a key already stored for this
/// request is answered from storage (`Idempotent-Replayed: true`) without writing; if the
/// write fails and meanwhile a racing retry stored the key for the same request, that answer
/// is replayed instead of the error.
pub(crate) async fn keyed_write<T: serde::Serialize>(
    peer: &Peer,
    key: Option<&WriteKey>,
    status: StatusCode,
    replay: Replay,
    write: impl std::future::Future<Output = Result<T>>,
) -> Result<Response> {
    if let Some(k) = key
        && let Some(answer) = peer.stored_write(k).await?
    {
        return replayed(peer, status, replay, answer).await;
    }
    match write.await {
        Ok(out) => Ok(json_response(status, &out)),
        Err(e) => match key {
            Some(k) => match peer.stored_write(k).await {
                Ok(Some(answer)) => replayed(peer, status, replay, answer).await,
                _ => Err(e),
            },
            None => Err(e),
        },
    }
}

async fn replayed(
    peer: &Peer,
    status: StatusCode,
    replay: Replay,
    answer: serde_json::Value,
) -> Result<Response> {
    let mut resp = match replay {
        Replay::Answer => json_response(status, &answer),
        Replay::FreshCode => {
            let hid = answer["health_id"]
                .as_str()
                .ok_or_else(|| PeerError::Integrity("stored answer has no health_id".into()))?;
            json_response(status, &peer.new_enrollment_code(hid).await?)
        }
    };
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(resp)
}

async fn register_patient(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    StrictJson(req): StrictJson<NewPatient>,
) -> Result<Response> {
    staff.need(Role::Registration)?;
    let key = write_key(&headers, &staff, "/staff/patients", &req)?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.register_patient_keyed(&req, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::FreshCode, w).await
    })
    .await
}

async fn get_patient(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    Path(health_id): Path<String>,
) -> Result<Response> {
    staff.need_any(&[Role::Registration, Role::Records])?;
    Ok(json_response(
        StatusCode::OK,
        &peer.patient(&health_id).await?,
    ))
}

async fn new_code(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    Path(health_id): Path<String>,
) -> Result<Response> {
    staff.need(Role::Registration)?;
    let path = format!("/staff/patients/{health_id}/enrollment-code");
    let key = write_key(&headers, &staff, &path, &())?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.new_enrollment_code_keyed(&health_id, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::FreshCode, w).await
    })
    .await
}

async fn register_doctor(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    StrictJson(req): StrictJson<NewDoctor>,
) -> Result<Response> {
    staff.need(Role::Admin)?;
    let key = write_key(&headers, &staff, "/staff/doctors", &req)?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.register_doctor_keyed(&req, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::Answer, w).await
    })
    .await
}

async fn issue_record(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    audit: Option<AuditSlot>,
    headers: HeaderMap,
    StrictJson(req): StrictJson<IssueRequest>,
) -> Result<Response> {
    staff.need(Role::Records)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| PeerError::BadIdempotencyKey("visible ASCII characters only"))?;
            // The draft's structured-field form is a quoted string; a bare token works too.
            let v = v.trim().trim_matches('"');
            Some(crate::records::Idempotency::new(&staff.token_id, v, &req)?)
        }
    };
    // The audit entry of a record written now is written with it, in its transaction.
    let entry = audit
        .as_ref()
        .map(|a| a.entry(&staff.token_id, StatusCode::CREATED));
    let (out, replayed) = detached(async move {
        match (entry, key) {
            (Some(entry), key) => peer.issue_record_audited(&req, key, entry).await,
            (None, Some(k)) => peer.issue_record_idempotent(&req, k).await,
            (None, None) => Ok((peer.issue_record(&req).await?, false)),
        }
    })
    .await?;
    if let Some(a) = &audit {
        // Written with the record, naming it; a replay is audited as any other answer.
        a.name(&out.id);
        if !replayed {
            a.written(StatusCode::CREATED);
        }
    }
    let mut resp = json_response(StatusCode::CREATED, &out);
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// `POST /staff/files`: the raw file, refused with 413 `file_too_large` by its declared
/// `Content-Length` before a byte is read, and by counting while it is read otherwise.
async fn upload_file(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    req: axum::extract::Request,
) -> Result<Response> {
    staff.need(Role::Records)?;
    let (parts, body) = req.into_parts();
    let max = spondon_document::MAX_FILE_BYTES;
    let too_large = |size: u64| {
        PeerError::Document(spondon_document::DocumentError::FileTooLarge { size, max })
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > max) {
        return Err(too_large(n));
    }
    let file_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(spondon_document::FileType::from_mime)
        .ok_or(PeerError::Document(
            spondon_document::DocumentError::UnsupportedFileType,
        ))?;
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.into_inner().is::<http_body_util::LengthLimitError>();
            return Err(if over {
                too_large(max.saturating_add(1))
            } else {
                PeerError::MalformedJson("the upload was cut off".into())
            });
        }
    };
    let by = format!("staff:{}", staff.token_id);
    let stored = detached(async move { peer.store_file(bytes, file_type, &by).await }).await?;
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &stored))
}

/// A document's file as served (§18.3): its own type, never sniffed, never shown inline,
/// never cached.
fn file_response(file: crate::files::FileContent) -> Response {
    let len = file.bytes.len();
    let mut r = Response::new(Body::from(file.bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.file_type.mime()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    no_store(r)
}

async fn patient_file(
    State(peer): State<AppState>,
    req: Signed<crate::files::FileRequest>,
) -> Result<Response> {
    Ok(file_response(
        peer.patient_file(&req.parts(), &req.body).await?,
    ))
}

async fn grant_file(
    State(peer): State<AppState>,
    req: WithPop<crate::files::GrantFileRequest>,
) -> Result<Response> {
    let out = detached(async move {
        peer.grant_file("POST", &req.path, req.pop.as_deref(), &req.bytes, &req.body)
            .await
    })
    .await?;
    Ok(file_response(out))
}

async fn delegate_file(
    State(peer): State<AppState>,
    req: Signed<crate::files::DelegateFileRequest>,
) -> Result<Response> {
    let out = detached(async move { peer.delegate_file(&req.parts(), &req.body).await }).await?;
    Ok(file_response(out))
}

async fn revoke_record(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<crate::revocation::RevokeRecordRequest>,
) -> Result<Response> {
    staff.need(Role::Records)?;
    let key = write_key(
        &headers,
        &staff,
        &format!("/staff/records/{id}/revoke"),
        &req,
    )?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.revoke_record_keyed(&id, req.reason, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::Answer, w).await
    })
    .await
}

async fn share_proof(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    StrictJson(req): StrictJson<crate::share_proof::ShareProofRequest>,
) -> Result<Response> {
    staff.need(Role::Admin)?;
    let out = detached(async move { peer.share_proof(&req).await }).await?;
    Ok(no_store(json_response(StatusCode::CREATED, &out)))
}

async fn nonce(State(peer): State<AppState>) -> Result<Response> {
    Ok(no_store(json_response(
        StatusCode::CREATED,
        &peer.new_nonce().await?,
    )))
}

async fn authority_stats(
    State(peer): State<AppState>,
    req: Signed<crate::stats::StatsRequest>,
) -> Result<Response> {
    let out = peer.authority_stats(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn enroll(State(peer): State<AppState>, req: Signed<EnrollRequest>) -> Result<Response> {
    let out = detached(async move { peer.enroll(&req.parts(), &req.body).await }).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn pull(State(peer): State<AppState>, req: Signed<PullRequest>) -> Result<Response> {
    let out = peer.pull(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn receipts(State(peer): State<AppState>, req: Signed<ReceiptsRequest>) -> Result<Response> {
    let out = peer.receipts(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn proofs(State(peer): State<AppState>, req: Signed<ProofsRequest>) -> Result<Response> {
    let out = peer.witnessed_proofs(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn revoke(State(peer): State<AppState>, req: Signed<RevokeRequest>) -> Result<Response> {
    let index = detached(async move { peer.revoke(&req.parts(), &req.body).await }).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({"log_index": index}),
    ))
}

async fn rotate_key(
    State(peer): State<AppState>,
    req: Signed<crate::rotation::RotateKeyRequest>,
) -> Result<Response> {
    // A retry of a done rotation is answered the same way, with `already: true`.
    let out = detached(async move { peer.rotate_key(&req.parts(), &req.body).await }).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn register_passcode(
    State(peer): State<AppState>,
    req: Signed<PasscodeRegistration>,
) -> Result<Response> {
    let out = peer.register_passcode(&req.parts(), &req.body).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn register_delegation(
    State(peer): State<AppState>,
    req: Signed<crate::delegation::DelegationRegistration>,
) -> Result<Response> {
    let out =
        detached(async move { peer.register_delegation(&req.parts(), &req.body).await }).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn delegate_pull(
    State(peer): State<AppState>,
    req: Signed<crate::delegation::DelegateRequest>,
) -> Result<Response> {
    let out = detached(async move { peer.delegate_pull(&req.parts(), &req.body).await }).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn delegate_receipts(
    State(peer): State<AppState>,
    req: Signed<crate::delegation::DelegateRequest>,
) -> Result<Response> {
    let out = peer.delegate_receipts(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn update_details(
    State(peer): State<AppState>,
    req: Signed<DetailsUpdate>,
) -> Result<Response> {
    Ok(json_response(
        StatusCode::OK,
        &peer.update_details(&req.parts(), &req.body).await?,
    ))
}

async fn health_cards_issue(
    State(peer): State<AppState>,
    Path(id): Path<String>,
    req: Signed<serde_json::Value, true>,
) -> Result<Response> {
    let out = peer
        .health_cards_issue(&req.parts(), &id, &req.body)
        .await?;
    let mut r = no_store(json_response(StatusCode::OK, &out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Ok(r)
}

async fn redeem(State(peer): State<AppState>, req: WithPop<RedeemRequest>) -> Result<Response> {
    let out = detached(async move {
        peer.redeem("POST", &req.path, req.pop.as_deref(), &req.bytes, &req.body)
            .await
    })
    .await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn grant_write(State(peer): State<AppState>, req: WithPop<WriteRequest>) -> Result<Response> {
    let out = detached(async move {
        peer.write_under_grant("POST", &req.path, req.pop.as_deref(), &req.bytes, &req.body)
            .await
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn emergency_request(
    State(peer): State<AppState>,
    req: Signed<crate::emergency::EmergencyRequest>,
) -> Result<Response> {
    let out =
        detached(async move { peer.request_emergency(&req.parts(), &req.body).await }).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn emergency_confirm(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    staff.need(Role::Records)?;
    let key = write_key(
        &headers,
        &staff,
        &format!("/staff/emergency/{id}/confirm"),
        &(),
    )?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.confirm_emergency_keyed(&staff, &id, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::Answer, w).await
    })
    .await
}

async fn emergency_summary(
    State(peer): State<AppState>,
    req: Signed<crate::emergency::SummaryRequest>,
) -> Result<Response> {
    let out = peer.emergency_summary(&req.parts(), &req.body).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn emergency_list(State(peer): State<AppState>, Staff(staff): Staff) -> Result<Response> {
    let out = peer.emergency_accesses(&staff).await?;
    Ok(no_store(json_response(StatusCode::OK, &out)))
}

async fn emergency_policy(
    State(peer): State<AppState>,
    req: Signed<crate::emergency::EmergencyPolicy>,
) -> Result<Response> {
    let out = peer.set_emergency_policy(&req.parts(), &req.body).await?;
    Ok(json_response(StatusCode::OK, &out))
}

async fn emergency_dispute(
    State(peer): State<AppState>,
    req: Signed<crate::emergency::DisputeRequest>,
) -> Result<Response> {
    let out = peer.dispute_emergency(&req.parts(), &req.body).await?;
    Ok(json_response(StatusCode::CREATED, &out))
}

// --- Hospital systems (FHIR push) ---

fn fhir_json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut r = json_response(status, value);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::fhir_push::FHIR_JSON),
    );
    r
}

async fn smart_configuration(State(peer): State<AppState>) -> Response {
    json_response(StatusCode::OK, &peer.smart_configuration())
}

async fn fhir_metadata(State(peer): State<AppState>) -> Response {
    fhir_json(StatusCode::OK, &peer.capability_statement())
}

/// Most bytes of a token request (a form with one assertion).
const MAX_TOKEN_REQUEST: usize = 16 * 1024;

async fn system_token(State(peer): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let form = match read_body_types(
        &headers,
        body,
        MAX_TOKEN_REQUEST,
        &["application/x-www-form-urlencoded"],
    )
    .await
    {
        Ok(b) => crate::systems::parse_form(&b),
        Err(e) => Err(crate::systems::OAuthError {
            error: "invalid_request",
            description: format!("{e} (expected an application/x-www-form-urlencoded body)"),
        }),
    };
    let out = match form {
        Ok(f) => match peer.system_token(&f).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        },
        Err(e) => Err(e),
    };
    let mut resp = match out {
        Ok(token) => json_response(StatusCode::OK, &token),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut r = json_response(status, &e.body());
            r.extensions_mut().insert(crate::ratelimit::ChargedFailure);
            r
        }
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

async fn fhir_transaction(
    State(peer): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    // The token is checked before the body is read.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| peer.count_unlogged(PeerError::SystemUnauthorized))?;
    let auth = peer
        .system_auth(token.trim())
        .await?
        .ok_or_else(|| peer.count_unlogged(PeerError::SystemUnauthorized))?;
    let bytes = read_body_types(
        &headers,
        body,
        crate::fhir_push::MAX_FHIR_BODY.max(peer.config.max_body_bytes),
        &[crate::fhir_push::FHIR_JSON, "application/json"],
    )
    .await?;
    let bundle: serde_json::Value = parse_json(&bytes)?;
    let (out, replayed) =
        detached(async move { peer.fhir_transaction(&auth, &bundle).await }).await?;
    let mut r = fhir_json(StatusCode::OK, &out);
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(r)
}

async fn register_system(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    StrictJson(req): StrictJson<crate::systems::NewSystem>,
) -> Result<Response> {
    staff.need(Role::Admin)?;
    let key = write_key(&headers, &staff, "/staff/systems", &req)?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.register_system_keyed(&req, k);
        keyed_write(&peer, k, StatusCode::CREATED, Replay::Answer, w).await
    })
    .await
}

async fn list_systems(State(peer): State<AppState>, Staff(staff): Staff) -> Result<Response> {
    staff.need(Role::Admin)?;
    Ok(json_response(StatusCode::OK, &peer.systems().await?))
}

async fn disable_system(
    State(peer): State<AppState>,
    Staff(staff): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    staff.need(Role::Admin)?;
    let key = write_key(
        &headers,
        &staff,
        &format!("/staff/systems/{id}/disable"),
        &(),
    )?;
    detached(async move {
        let k = key.as_ref();
        let w = peer.disable_system_keyed(&id, k);
        keyed_write(&peer, k, StatusCode::OK, Replay::Answer, w).await
    })
    .await
}

/// Serves `app` over plain HTTP on `listener` until `shutdown` resolves, then drains in-flight
/// requests (`spondon_net::server::serve` with TLS is what `spondon-peer serve` runs).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    spondon_net::server::serve(listener, None, app, shutdown).await
}
