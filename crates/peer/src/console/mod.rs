//! The hospital staff console: a web page served by `spondon-peer serve` at `/console`, and the
//! JSON routes it calls under `/console/api/`.
//!
//! - Staff log in with their staff token; the session lives in the database ([`session`]):
//!   an `HttpOnly`, `SameSite=Strict` cookie scoped to `/console` (`Secure` unless
//!   `console_secure_cookie` is off), expiring, revocable, dying with its staff token.
//! - Every state change needs the session's CSRF token in `X-CSRF-Token`, and is refused when
//!   `Sec-Fetch-Site` says cross-site or `Origin` names another host.
//! - Each route needs the same role as the staff API's (registration, records, admin); every
//!   call is in the staff audit trail with the token's id.
//! - The page is static (no inline script or style) under a strict CSP; everything from the
//!   server or the user is put into the page as text, never as HTML.
//! - Emergency (break-glass) requests wait here for the second staff member (role `records`
//!   or `admin`), who confirms one through the peer's own [`Peer::confirm_emergency`]; the
//!   admin also sees every access and the patients' disputes.
//! - Records are issued from forms ([`forms`]) through the peer's own issuance, revocation
//!   and registration code paths.

pub mod catalog;
pub mod forms;
pub mod queries;
pub mod session;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use spondon_core::keys::Jwk;

use crate::error::{PeerError, Result, problem};
use crate::http::{Replay, keyed_write, read_json, write_key};
use crate::peer::Peer;
use crate::registry::{NewDoctor, NewPatient};
use crate::revocation::RevocationReason;
use crate::staff::Role;
use crate::write_keys::WriteKey;
use session::Session;

type AppState = Arc<Peer>;

/// The session cookie's name.
pub const COOKIE: &str = "spondon_console";
/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header marking the page's background refresh (not user activity).
pub const POLL_HEADER: &str = "x-console-poll";

/// The console's routes (mounted by [`crate::http::router`]).
pub fn router(peer: Arc<Peer>) -> Router {
    let api: Router<AppState> = Router::new()
        .route("/session", get(session_info))
        .route("/catalog", get(catalog_route))
        .route("/patients", get(search_patients).post(register_patient))
        .route("/patients/check", post(check_patient))
        .route("/patients/{health_id}", get(patient_page))
        .route("/patients/{health_id}/enrollment-code", post(new_code))
        .route("/records/preview", post(preview_record))
        .route("/records", post(issue_record))
        .route("/records/{id}/revoke", post(revoke_record))
        .route("/files", post(upload_file))
        .route("/documents", post(issue_document))
        .route("/doctors", get(list_doctors).post(register_doctor))
        .route("/doctors/{bmdc}/credential", get(doctor_credential))
        .route("/staff-tokens", get(list_tokens).post(create_token))
        .route("/staff-tokens/{id}/revoke", post(revoke_token))
        .route("/emergency/pending", get(emergency_pending))
        .route("/emergency", get(emergency_all))
        .route("/emergency/{id}/confirm", post(emergency_confirm))
        .layer(axum::middleware::from_fn_with_state(peer.clone(), guard));
    Router::new()
        .route("/console", get(web::index))
        .route("/console/", get(web::index))
        .route("/console/app.js", get(web::app_js))
        .route("/console/i18n.js", get(web::i18n_js))
        .route("/console/style.css", get(web::style_css))
        .route("/console/api/login", post(login))
        .route("/console/api/logout", post(logout))
        .nest("/console/api", api)
        .with_state(peer)
        .layer(axum::middleware::from_fn(security_headers))
}

/// The clinic page's headers on every console response; API answers are never cached.
async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/console/api/");
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if api { "no-store" } else { "no-cache" }),
    );
    r
}

/// A console error: the peer's problem, plus the form field it is about.
struct ConsoleError(PeerError);

impl From<PeerError> for ConsoleError {
    fn from(e: PeerError) -> Self {
        ConsoleError(e)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let field = match &self.0 {
            PeerError::InvalidField { field, .. } => (*field).to_owned(),
            PeerError::InvalidFormField { field, .. } => field.clone(),
            _ => return self.0.into_response(),
        };
        let status = self.0.status();
        let body = json!({
            "type": format!("{}invalid_field", crate::error::PROBLEM_BASE),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": "invalid_field",
            "field": field,
            "detail": self.0.to_string(),
        });
        let mut r = (status, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

type ApiResult = std::result::Result<Response, ConsoleError>;

fn json_ok(status: StatusCode, v: &impl serde::Serialize) -> ApiResult {
    let body = serde_json::to_string(v)
        .map_err(|e| PeerError::Integrity(format!("response encoding: {e}")))?;
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
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

/// Whether a request comes from this site: `Sec-Fetch-Site` is not `cross-site` /
/// `same-site`, and an `Origin`, when sent, names the `Host` the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, h)| h);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Resolves the session of every `/console/api/` request (except login and logout), checks
/// CSRF on state changes, and writes the audit entry after the handler.
async fn guard(
    State(peer): State<AppState>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    // The page's background refresh (a GET marked `X-Console-Poll: 1`) is not activity: an
    // unattended console still logs out after the idle limit.
    let poll = method == Method::GET && req.headers().get(POLL_HEADER).is_some_and(|v| v == "1");
    let session = match cookie_value(req.headers()) {
        None => return ConsoleError(PeerError::Unauthorized).into_response(),
        Some(id) => match peer.console_session_with(&id, !poll).await {
            Ok(Some(s)) => s,
            Ok(None) => return ConsoleError(PeerError::SessionExpired).into_response(),
            Err(e) => return ConsoleError(e).into_response(),
        },
    };
    if method != Method::GET && method != Method::HEAD {
        let token_ok = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| session::same_secret(t, &session.csrf));
        if !token_ok || !same_origin(req.headers()) {
            let r = ConsoleError(PeerError::Charged(Box::new(PeerError::Csrf))).into_response();
            if let Err(e) = peer
                .audit(
                    Some(&session.staff.token_id),
                    &format!("console {method} /console/api{path}"),
                    None,
                    r.status().as_u16(),
                )
                .await
            {
                tracing::error!(code = e.code(), "staff audit entry not stored");
            }
            return r;
        }
    }
    let token_id = session.staff.token_id.clone();
    req.extensions_mut().insert(session);
    let r = next.run(req).await;
    if method != Method::GET
        && let Err(e) = peer
            .audit(
                Some(&token_id),
                &format!("console {method} /console/api{path}"),
                None,
                r.status().as_u16(),
            )
            .await
    {
        tracing::error!(code = e.code(), "staff audit entry not stored");
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
    }
    r
}

/// The session the guard resolved.
struct Staff(Session);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> std::result::Result<Self, ConsoleError> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .map(Staff)
            .ok_or(ConsoleError(PeerError::Unauthorized))
    }
}

fn need(s: &Session, role: Role) -> std::result::Result<(), ConsoleError> {
    s.staff.need(role).map_err(ConsoleError)
}

fn need_any(s: &Session, roles: &[Role]) -> std::result::Result<(), ConsoleError> {
    s.staff.need_any(roles).map_err(ConsoleError)
}

async fn body<T: serde::de::DeserializeOwned>(peer: &Peer, req: Request) -> Result<T> {
    let (parts, b) = req.into_parts();
    read_json(&parts.headers, b, peer.config.max_body_bytes).await
}

fn qr_svg(text: &str) -> Result<String> {
    spondon_core::qr::encode(text)
        .map(|q| q.to_svg())
        .map_err(|e| PeerError::Integrity(format!("QR: {e}")))
}

// --- login ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    token: String,
}

async fn login(State(peer): State<AppState>, req: Request) -> ApiResult {
    if !same_origin(req.headers()) {
        return Err(ConsoleError(PeerError::Csrf));
    }
    let r: LoginRequest = body(&peer, req).await?;
    let s = peer.console_login(&r.token).await?;
    let secure = if peer.config.console_secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        s.id,
        session::SESSION_MAX_SECS
    );
    let mut r = json_ok(
        StatusCode::OK,
        &json!({"roles": s.staff.roles, "csrf": s.csrf, "expires_at": s.expires_at}),
    )?;
    let v = HeaderValue::from_str(&cookie)
        .map_err(|_| PeerError::Integrity("session cookie".into()))?;
    r.headers_mut().insert(header::SET_COOKIE, v);
    Ok(r)
}

async fn logout(State(peer): State<AppState>, headers: HeaderMap) -> ApiResult {
    if let Some(id) = cookie_value(&headers) {
        // Logging out needs the CSRF token too (a forged logout is a nuisance, not a leak).
        if let Some(s) = peer.console_session(&id).await? {
            let ok = headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| session::same_secret(t, &s.csrf));
            if !ok || !same_origin(&headers) {
                return Err(ConsoleError(PeerError::Csrf));
            }
            peer.end_console_session(&id).await?;
            peer.audit(Some(&s.staff.token_id), "console logout", None, 200)
                .await?;
        }
    }
    let mut r = json_ok(StatusCode::OK, &json!({"logged_out": true}))?;
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "spondon_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}

async fn session_info(State(peer): State<AppState>, Staff(s): Staff) -> ApiResult {
    json_ok(
        StatusCode::OK,
        &json!({
            "hospital": peer.config.name,
            "url": peer.config.url,
            "label": s.label,
            "token_id": s.staff.token_id,
            "roles": s.staff.roles,
            "csrf": s.csrf,
            "expires_at": s.expires_at,
        }),
    )
}

async fn catalog_route(Staff(_): Staff) -> ApiResult {
    json_ok(StatusCode::OK, &catalog::catalog())
}

// --- patients ---

/// The value of `name` in a URL query (`application/x-www-form-urlencoded`).
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| form_decode(v))
    })?
}

/// Decodes `+` and `%XX`; `None` for a broken escape or bytes that are not UTF-8.
fn form_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = v.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

async fn search_patients(State(peer): State<AppState>, Staff(s): Staff, uri: Uri) -> ApiResult {
    need_any(&s, &[Role::Registration, Role::Records])?;
    let q = query_param(&uri, "q")
        .ok_or_else(|| PeerError::field("q", "a search text (?q=…) is required"))?;
    json_ok(
        StatusCode::OK,
        &json!({"patients": peer.search_patients(&q).await?}),
    )
}

async fn check_patient(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Registration)?;
    let p: NewPatient = body(&peer, req).await?;
    let p = p.validated()?;
    json_ok(
        StatusCode::OK,
        &json!({"duplicates": peer.possible_duplicates(&p).await?}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    patient: NewPatient,
    /// Register although possible duplicates (same phone, or name + birth date) exist.
    #[serde(default)]
    confirm_not_duplicate: bool,
}

async fn register_patient(
    State(peer): State<AppState>,
    Staff(s): Staff,
    req: Request,
) -> ApiResult {
    need(&s, Role::Registration)?;
    let headers = req.headers().clone();
    let r: RegisterRequest = body(&peer, req).await?;
    let key = write_key(&headers, &s.staff, "/console/api/patients", &r.patient)?;
    let k = key.as_ref();
    // Lazy: a key already stored answers before the duplicate checks would refuse the retry.
    let write = async {
        let p = r.patient.validated()?;
        let dups = peer.possible_duplicates(&p).await?;
        if dups.iter().any(|d| d.matches.contains(&"national_id")) {
            return Err(PeerError::DuplicatePatient);
        }
        if !dups.is_empty() && !r.confirm_not_duplicate {
            return Err(PeerError::PossibleDuplicate);
        }
        peer.register_patient_keyed(&p, k).await
    };
    Ok(keyed_write(&peer, k, StatusCode::CREATED, Replay::FreshCode, write).await?)
}

async fn patient_page(
    State(peer): State<AppState>,
    Staff(s): Staff,
    Path(health_id): Path<String>,
) -> ApiResult {
    need_any(&s, &[Role::Registration, Role::Records])?;
    let patient = peer.patient(&health_id).await?;
    let records = peer.patient_records(&health_id).await?;
    let access = peer.patient_access_log(&health_id).await?;
    json_ok(
        StatusCode::OK,
        &json!({"patient": patient, "records": records, "access": access}),
    )
}

async fn new_code(
    State(peer): State<AppState>,
    Staff(s): Staff,
    headers: HeaderMap,
    Path(health_id): Path<String>,
) -> ApiResult {
    need(&s, Role::Registration)?;
    let path = format!("/console/api/patients/{health_id}/enrollment-code");
    let key = write_key(&headers, &s.staff, &path, &())?;
    let k = key.as_ref();
    let write = peer.new_enrollment_code_keyed(&health_id, k);
    Ok(keyed_write(&peer, k, StatusCode::CREATED, Replay::FreshCode, write).await?)
}

// --- records ---

async fn preview_record(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Records)?;
    let f: forms::RecordFormRequest = body(&peer, req).await?;
    let built = f.build()?;
    let (_, _, mut bundle) = peer.record_bundle(&built.request).await?;
    // Exactly what the card will hold: SMART Health Cards drop `Coding.display` and the text
    // of coded concepts (readers name codes from spondon-core's table).
    spondon_core::shc::fhir::minify(&mut bundle);
    json_ok(
        StatusCode::OK,
        &json!({"kind": built.request.kind, "summary": built.summary, "bundle": bundle}),
    )
}

async fn issue_record(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Records)?;
    let key = record_key(req.headers())?;
    let f: forms::RecordFormRequest = body(&peer, req).await?;
    let built = f.build()?;
    let (issued, replayed) = issue_keyed(&peer, &s, key, built.request).await?;
    let entry = peer.log_entry_view(issued.log_index).await?;
    mark_replayed(
        json_ok(
            StatusCode::CREATED,
            &json!({"record": issued, "summary": built.summary, "log_entry": entry}),
        ),
        replayed,
    )
}

/// The form's `Idempotency-Key` header (the page sends one per form: a double submit writes
/// once), checked.
fn record_key(headers: &HeaderMap) -> Result<Option<String>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            let v = v
                .to_str()
                .map_err(|_| PeerError::BadIdempotencyKey("visible ASCII characters only"))?;
            crate::write_keys::check_key(v).map(str::to_owned)
        })
        .transpose()
}

/// Issues a console record, with its form's key when it has one (scoped to the session's staff
/// token, as `POST /staff/records`); `true` when it answers an earlier submit's record.
async fn issue_keyed(
    peer: &Arc<Peer>,
    s: &Session,
    key: Option<String>,
    request: crate::records::IssueRequest,
) -> Result<(crate::records::IssuedRecord, bool)> {
    let key = key
        .map(|k| crate::records::Idempotency::new(&s.staff.token_id, &k, &request))
        .transpose()?;
    let p = peer.clone();
    tokio::spawn(async move {
        match key {
            Some(k) => p.issue_record_idempotent(&request, k).await,
            None => Ok((p.issue_record(&request).await?, false)),
        }
    })
    .await
    .map_err(|e| PeerError::Integrity(format!("request task failed: {e}")))?
}

fn mark_replayed(r: ApiResult, replayed: bool) -> ApiResult {
    let mut r = r?;
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(r)
}

// --- documents (`docs/protocol.md` §18) ---

/// `POST /console/api/files`: the raw file of a document (the page sends the chosen file as
/// is, its type in `Content-Type`); the same checks and storage as `POST /staff/files`.
async fn upload_file(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Records)?;
    let (parts, b) = req.into_parts();
    let max = spondon_document::MAX_FILE_BYTES;
    let too_large =
        |size| PeerError::Document(spondon_document::DocumentError::FileTooLarge { size, max });
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > max) {
        return Err(too_large(n).into());
    }
    let file_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(spondon_document::FileType::from_mime)
        .ok_or(PeerError::Document(
            spondon_document::DocumentError::UnsupportedFileType,
        ))?;
    let bytes = axum::body::to_bytes(b, usize::try_from(max).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_large(max.saturating_add(1)))?;
    let by = format!("console:{}", s.staff.token_id);
    let p = peer.clone();
    let stored = tokio::spawn(async move { p.store_file(bytes, file_type, &by).await })
        .await
        .map_err(|e| PeerError::Integrity(format!("request task failed: {e}")))??;
    json_ok(StatusCode::CREATED, &stored)
}

/// The "Upload a document" form once its file is stored: who, what kind of document, its
/// grant category and title, and the stored file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentForm {
    health_id: String,
    #[serde(default)]
    doctor_bmdc: Option<String>,
    /// `lab_report`, `prescription`, `imaging`, `discharge_summary`, `other`.
    doc_type: String,
    /// The grant category (`lab_result`, …).
    category: String,
    #[serde(default)]
    title: Option<String>,
    /// 64 hex digits, as `/files` answered.
    sha256: String,
    content_type: String,
}

/// The document kinds of the form: LOINC document code and English name.
const DOCUMENT_TYPES: [(&str, Option<&str>, &str); 5] = [
    ("lab_report", Some("11502-2"), "Laboratory report"),
    (
        "prescription",
        Some("57833-6"),
        "Prescription for medication",
    ),
    ("imaging", Some("18748-4"), "Diagnostic imaging study"),
    ("discharge_summary", Some("18842-5"), "Discharge summary"),
    ("other", None, "Document"),
];

impl DocumentForm {
    fn request(&self) -> Result<crate::records::IssueRequest> {
        let bad = |field: &str, reason: &str| PeerError::InvalidFormField {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let (_, code, name) = DOCUMENT_TYPES
            .iter()
            .find(|(k, _, _)| *k == self.doc_type)
            .ok_or_else(|| bad("doc_type", "choose the kind of document"))?;
        if crate::records::category_named(&self.category).is_none() {
            return Err(bad("category", "choose a category"));
        }
        let sha: [u8; 32] = hex::decode(&self.sha256)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("file", "upload the file first"))?;
        let file_type = spondon_document::FileType::from_mime(&self.content_type)
            .ok_or_else(|| bad("file", "a document is a PDF, JPEG or PNG file"))?;
        let title = self
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(t) = title
            && (t.chars().count() > spondon_document::MAX_TITLE_CHARS
                || t.chars().any(|c| c == '/' || c == '\\' || c.is_control()))
        {
            return Err(bad("title", "at most 200 characters, without / or \\"));
        }
        let mut doc_type = json!({"text": name});
        if let Some(code) = code {
            doc_type["coding"] =
                json!([{"system": "http://loinc.org", "code": code, "display": name}]);
        }
        let mut attachment = json!({
            "contentType": file_type.mime(),
            "extension": [{"url": spondon_document::SHA256_EXTENSION_URL,
                           "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)}],
        });
        if let Some(t) = title {
            attachment["title"] = json!(t);
        }
        Ok(crate::records::IssueRequest {
            health_id: self.health_id.trim().to_owned(),
            kind: crate::records::RecordKind::Document,
            doctor_bmdc: self.doctor_bmdc.clone().filter(|b| !b.is_empty()),
            supersedes: None,
            resources: vec![json!({
                "resourceType": "DocumentReference",
                "status": "current",
                "type": doc_type,
                "category": [{"coding": [{"system": spondon_document::RECORD_CATEGORY_SYSTEM, "code": self.category}]}],
                "content": [{"attachment": attachment}],
            })],
        })
    }
}

/// `POST /console/api/documents`: issues the document record through the same code as every
/// record (`Peer::issue_record`).
async fn issue_document(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Records)?;
    let key = record_key(req.headers())?;
    let f: DocumentForm = body(&peer, req).await?;
    let request = f.request()?;
    let (issued, replayed) = issue_keyed(&peer, &s, key, request).await?;
    let entry = peer.log_entry_view(issued.log_index).await?;
    let summary = json!([{"item": "document", "detail": f.title.unwrap_or_default()}]);
    mark_replayed(
        json_ok(
            StatusCode::CREATED,
            &json!({"record": issued, "summary": summary, "log_entry": entry}),
        ),
        replayed,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    reason: RevocationReason,
}

async fn revoke_record(
    State(peer): State<AppState>,
    Staff(s): Staff,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    need(&s, Role::Records)?;
    let headers = req.headers().clone();
    let r: RevokeRequest = body(&peer, req).await?;
    let path = format!("/console/api/records/{id}/revoke");
    let key = write_key(&headers, &s.staff, &path, &r.reason)?;
    let p = peer.clone();
    let out = tokio::spawn(async move {
        let k = key.as_ref();
        let write = p.revoke_record_keyed(&id, r.reason, k);
        keyed_write(&p, k, StatusCode::CREATED, Replay::Answer, write).await
    })
    .await
    .map_err(|e| PeerError::Integrity(format!("request task failed: {e}")))??;
    Ok(out)
}

// --- doctors ---

async fn list_doctors(State(peer): State<AppState>, Staff(s): Staff) -> ApiResult {
    need_any(&s, &[Role::Records, Role::Admin])?;
    json_ok(StatusCode::OK, &json!({"doctors": peer.doctors().await?}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoctorForm {
    bmdc_number: String,
    name: String,
    specialty: String,
    /// The doctor's public key as JWK JSON text (from their clinic node).
    public_key: String,
}

async fn register_doctor(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Admin)?;
    let key = record_key(req.headers())?;
    let f: DoctorForm = body(&peer, req).await?;
    let jwk: Jwk = serde_json::from_str(f.public_key.trim()).map_err(|_| {
        PeerError::field(
            "public_key",
            "must be the doctor's public key as JWK JSON ({\"kty\":\"EC\",\"crv\":\"P-256\",…})",
        )
    })?;
    let doctor = NewDoctor {
        bmdc_number: f.bmdc_number,
        name: f.name,
        department: f.specialty,
        public_key: jwk,
    };
    let key = match key {
        Some(k) => {
            let body = serde_json::to_vec(&doctor)
                .map_err(|e| PeerError::Integrity(format!("request hash: {e}")))?;
            let k = WriteKey::new(&s.staff.token_id, &k, "POST", "/console/api/doctors", &body);
            Some(k)
        }
        None => None,
    };
    let (out, replayed) = match key.as_ref().map(|k| peer.stored_write(k)) {
        Some(stored) => match stored.await? {
            Some(answer) => (
                serde_json::from_value::<crate::registry::DoctorRegistered>(answer)
                    .map_err(|e| PeerError::Integrity(format!("stored answer: {e}")))?,
                true,
            ),
            None => match peer.register_doctor_keyed(&doctor, key.as_ref()).await {
                Ok(out) => (out, false),
                Err(e) => match key.as_ref().map(|k| peer.stored_write(k)) {
                    Some(again) => match again.await {
                        Ok(Some(answer)) => (
                            serde_json::from_value(answer)
                                .map_err(|e| PeerError::Integrity(format!("stored answer: {e}")))?,
                            true,
                        ),
                        _ => return Err(e.into()),
                    },
                    None => return Err(e.into()),
                },
            },
        },
        None => (peer.register_doctor(&doctor).await?, false),
    };
    let svg = qr_svg(&out.credential)?;
    mark_replayed(
        json_ok(
            StatusCode::CREATED,
            &json!({"bmdc_number": out.bmdc_number, "kid": out.kid, "credential": out.credential, "qr_svg": svg}),
        ),
        replayed,
    )
}

async fn doctor_credential(
    State(peer): State<AppState>,
    Staff(s): Staff,
    Path(bmdc): Path<String>,
) -> ApiResult {
    need(&s, Role::Admin)?;
    let credential = peer.doctor_credential(&bmdc).await?;
    let svg = qr_svg(&credential)?;
    json_ok(
        StatusCode::OK,
        &json!({"bmdc_number": bmdc, "credential": credential, "qr_svg": svg}),
    )
}

// --- staff tokens ---

async fn list_tokens(State(peer): State<AppState>, Staff(s): Staff) -> ApiResult {
    need(&s, Role::Admin)?;
    json_ok(
        StatusCode::OK,
        &json!({"tokens": peer.staff_tokens().await?}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenForm {
    label: String,
    roles: Vec<String>,
    days: i64,
}

async fn create_token(State(peer): State<AppState>, Staff(s): Staff, req: Request) -> ApiResult {
    need(&s, Role::Admin)?;
    let f: TokenForm = body(&peer, req).await?;
    let roles = crate::staff::Role::parse_list(&f.roles.join(","))?;
    let t = peer
        .create_staff_token_with(&f.label, &roles, f.days)
        .await?;
    json_ok(StatusCode::CREATED, &t)
}

async fn revoke_token(
    State(peer): State<AppState>,
    Staff(s): Staff,
    Path(id): Path<String>,
) -> ApiResult {
    need(&s, Role::Admin)?;
    peer.revoke_staff_token(&id).await?;
    let ended = peer.end_console_sessions_of(&id).await?;
    json_ok(
        StatusCode::OK,
        &json!({"revoked": id, "sessions_ended": ended}),
    )
}

// --- emergency (break-glass) access ---

/// The requests waiting for a second staff member (role `records` or `admin`).
async fn emergency_pending(State(peer): State<AppState>, Staff(s): Staff) -> ApiResult {
    need(&s, Role::Records)?;
    json_ok(StatusCode::OK, &peer.pending_emergencies(&s.staff).await?)
}

/// Every emergency access with its dispute (admin).
async fn emergency_all(State(peer): State<AppState>, Staff(s): Staff) -> ApiResult {
    need(&s, Role::Admin)?;
    let list = peer.emergency_accesses(&s.staff).await?;
    json_ok(
        StatusCode::OK,
        &json!({"accesses": list.accesses, "now": spondon_core::NumericDate::now().seconds()}),
    )
}

/// The second person's confirmation: the peer's own code path (role re-checked there, the
/// writer lock taken, the kind-7 entry appended).
async fn emergency_confirm(
    State(peer): State<AppState>,
    Staff(s): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    need(&s, Role::Records)?;
    let p = peer.clone();
    let staff = s.staff.clone();
    let path = format!("/console/api/emergency/{id}/confirm");
    let key = write_key(&headers, &staff, &path, &())?;
    let out = tokio::spawn(async move {
        let k = key.as_ref();
        let write = p.confirm_emergency_keyed(&staff, &id, k);
        keyed_write(&p, k, StatusCode::CREATED, Replay::Answer, write).await
    })
    .await
    .map_err(|e| PeerError::Integrity(format!("request task failed: {e}")))??;
    Ok(out)
}
