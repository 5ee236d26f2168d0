//! The clinic node's HTTP errors: one variant per way a request fails, each with its status
//! and a stable code (docs/architecture.md, "Errors"), answered as RFC 9457 problem+json.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::check::CheckError;
use crate::node::NodeError;
use crate::node::emergency::EmergencyFailure;
use crate::node::grant::GrantInputError;
use crate::node::records::PeerFailure;

/// Base of problem `type` URIs; the code is appended.
pub const PROBLEM_BASE: &str = "https://spondon.example/problems/verifier/";

/// Why a request to the clinic node was not answered with what it asked for. A refused grant
/// is a verdict (200) on `/api/grant/check`, and an error ([`ApiError::GrantRefused`]) only
/// where the grant is redeemed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // --- who is asking ---
    /// A staff route was called with neither a session cookie nor a staff token.
    #[error("log in, or send Authorization: Bearer <staff token>")]
    NotLoggedIn,
    /// The bearer staff token is not known (or was removed).
    #[error("unknown staff token")]
    UnknownStaffToken,
    /// The session cookie names a session that ended or timed out.
    #[error("the session has ended; log in again")]
    SessionExpired,
    /// A cookie-authenticated state-changing request lacks `X-Spondon-Request: 1`.
    #[error("a page request must carry X-Spondon-Request: 1")]
    Csrf,
    /// The staff token given at login is not known.
    #[error("this staff token is not known")]
    BadLogin,
    // --- the request itself ---
    /// A JSON route got another content type.
    #[error("send Content-Type: application/json")]
    NotJson,
    /// An upload of a media type the route does not take: the ones it does.
    #[error("send the file as one of: {}", .0.join(", "))]
    UnsupportedDocumentType(&'static [&'static str]),
    /// The body is larger than the route's limit (bytes).
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not the JSON the route expects.
    #[error("the body is not the expected JSON: {0}")]
    BadJson(serde_json::Error),
    /// The upload has no bytes.
    #[error("the upload is empty")]
    EmptyUpload,
    /// A record write carries no FHIR resources, or more than 50.
    #[error("send 1 to 50 FHIR resources")]
    BadResources,
    /// No route has this path.
    #[error("no such route")]
    NoRoute,
    /// The path exists, but not with this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// A page asset (`/qr/{file}`) that does not exist.
    #[error("no such file")]
    NoSuchAsset,
    /// The QR page's decoder asset was not built into this installation.
    #[error("the WebAssembly QR decoder is not installed (scripts/build-qr-wasm.sh)")]
    QrDecoderNotBuilt,
    // --- grants, documents, records ---
    /// The grant text cannot be read as a grant (or its enrollment credential is unusable).
    #[error(transparent)]
    GrantInput(#[from] GrantInputError),
    /// The verdict on the grant is not "accepted": its code and summary.
    #[error("{summary}")]
    GrantRefused {
        /// The verdict's stable code (`expired`, `revoked`, …).
        code: &'static str,
        /// The verdict's sentence for people.
        summary: String,
    },
    /// The grant is read-only, and the request would add a record.
    #[error("this grant does not allow adding records")]
    NotWriteScoped,
    /// The document file asked for is not (or no longer) held for this session.
    #[error(
        "no such file for this session (files are kept 30 minutes after the records were fetched)"
    )]
    FileNotFound,
    /// Record writes need a doctor credential, and none is imported.
    #[error("no doctor credential is imported (spondon-verifier doctor-credential import FILE)")]
    NoCredential,
    /// The uploaded document cannot be judged at all.
    #[error(transparent)]
    Unreadable(CheckError),
    /// The hospital refused the write, or could not be reached.
    #[error(
        "{}: {}{}",
        .0.hospital.as_deref().unwrap_or(&.0.peer),
        .0.message,
        .0.peer_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )]
    Write(PeerFailure),
    /// An emergency access the node could not ask for or read (the hospital's own code when it
    /// refused).
    #[error("{}", .0.message)]
    Emergency(EmergencyFailure),
    // --- the node ---
    /// The node cannot serve yet (`/readyz`): why.
    #[error("{0}")]
    NotReady(&'static str),
    /// A document check's task ended without an answer.
    #[error("the check failed")]
    CheckAborted,
    /// The node's own failure (database, keys, stored data): logged, answered as `internal`.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl ApiError {
    /// The stable problem code (the last path segment of the problem `type`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotLoggedIn | Self::UnknownStaffToken => "unauthorized",
            Self::SessionExpired => "session_expired",
            Self::Csrf => "csrf",
            Self::BadLogin => "bad_login",
            Self::NotJson | Self::UnsupportedDocumentType(_) => "unsupported_media_type",
            Self::TooLarge(_) => "too_large",
            Self::BadJson(_) => "bad_json",
            Self::EmptyUpload => "empty",
            Self::BadResources => "bad_resources",
            Self::NoRoute | Self::NoSuchAsset => "not_found",
            Self::QrDecoderNotBuilt => "qr_decoder_not_built",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::GrantInput(e) => e.code(),
            Self::GrantRefused { code, .. } => code,
            Self::NotWriteScoped => "not_write_scoped",
            Self::FileNotFound => "file_not_found",
            Self::NoCredential => "no_credential",
            Self::Unreadable(_) => "unreadable",
            Self::Write(f) if f.code == "refused" => "peer_refused",
            Self::Write(_) => "peer_unreachable",
            Self::Emergency(f) => f.code,
            Self::NotReady(_) => "not_ready",
            Self::CheckAborted | Self::Node(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotLoggedIn | Self::UnknownStaffToken | Self::SessionExpired | Self::BadLogin => {
                StatusCode::UNAUTHORIZED
            }
            Self::Csrf | Self::GrantRefused { .. } | Self::NotWriteScoped => StatusCode::FORBIDDEN,
            Self::NotJson | Self::UnsupportedDocumentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadJson(_) | Self::EmptyUpload | Self::BadResources => StatusCode::BAD_REQUEST,
            Self::NoRoute
            | Self::NoSuchAsset
            | Self::QrDecoderNotBuilt
            | Self::FileNotFound
            | Self::NoCredential => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::GrantInput(_) | Self::Unreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Write(_) => StatusCode::BAD_GATEWAY,
            Self::Emergency(f) => StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY),
            Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::CheckAborted | Self::Node(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EmergencyFailure> for ApiError {
    fn from(f: EmergencyFailure) -> Self {
        Self::Emergency(f)
    }
}

/// An RFC 9457 problem response of the clinic node ([`spondon_net::server::problem`] under
/// [`PROBLEM_BASE`]).
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    spondon_net::server::problem(PROBLEM_BASE, status, code, detail)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Node(e) = &self {
            // Internal details go to the operator's log, not the client.
            tracing::error!(error = %e, code = e.code(), "internal error");
            return problem(status, self.code(), "internal error");
        }
        problem(status, self.code(), &self.to_string())
    }
}

/// What a handler returns.
pub type ApiResult<T = Response> = Result<T, ApiError>;
