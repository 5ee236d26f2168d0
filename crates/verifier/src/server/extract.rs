//! Extractors: who is asking (a staff member, by bearer token or page session) and what they
//! sent (a strictly decoded JSON body, or a raw upload of an accepted type), so each handler
//! states in its signature what it needs and every refusal is an [`ApiError`].

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::node::Node;

/// The page session cookie.
pub const COOKIE: &str = "spondon_session";
/// Largest JSON body (a grant with an enrollment, a prescription).
pub const MAX_JSON: usize = 256 * 1024;

/// The value of the session cookie, if the request carries one.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .map(|a| a.to_str().ok().and_then(|a| a.strip_prefix("Bearer ")))
        .map(|t| t.unwrap_or("").trim())
}

/// Who owns what a request fetches (a document's file): the hash of the bearer token, else of
/// the session cookie, the request came with.
pub fn owner_of(headers: &HeaderMap) -> Option<[u8; 32]> {
    if headers.get(header::AUTHORIZATION).is_some() {
        let token = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?
            .trim();
        return Some(spondon_core::keys::sha256(
            format!("token:{token}").as_bytes(),
        ));
    }
    cookie_value(headers).map(|id| spondon_core::keys::sha256(format!("session:{id}").as_bytes()))
}

/// A staff member of this clinic: by `Authorization: Bearer <staff token>` (API clients) or by
/// the page's session cookie. A cookie-authenticated POST must also carry
/// `X-Spondon-Request: 1`, a header no cross-site form can send.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The staff member's name.
    pub name: String,
    /// Whose session (or token) the files this request fetches belong to.
    pub owner: Option<[u8; 32]>,
}

impl FromRequestParts<Arc<Node>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, node: &Arc<Node>) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let owner = owner_of(headers);
        if let Some(token) = bearer(headers) {
            let name = node
                .staff_for_token(token)
                .await?
                .ok_or(ApiError::UnknownStaffToken)?;
            return Ok(Staff { name, owner });
        }
        let Some(id) = cookie_value(headers) else {
            return Err(ApiError::NotLoggedIn);
        };
        let name = node
            .session_staff(&id)
            .await?
            .ok_or(ApiError::SessionExpired)?;
        if parts.method == Method::POST && headers.get("x-spondon-request").is_none_or(|v| v != "1")
        {
            return Err(ApiError::Csrf);
        }
        Ok(Staff { name, owner })
    }
}

/// The media type of a request, lower case, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
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

/// A body of at most `limit` bytes.
pub async fn body_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge(limit))
}

/// A strictly decoded `application/json` body of at most [`MAX_JSON`] bytes: another type is
/// 415 `unsupported_media_type`, a larger body 413 `too_large`, JSON that does not fit `T` (an
/// unknown field included) 400 `bad_json`.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        if content_type(&parts.headers) != "application/json" {
            return Err(ApiError::NotJson);
        }
        let bytes = body_bytes(body, MAX_JSON).await?;
        serde_json::from_slice(&bytes)
            .map(StrictJson)
            .map_err(ApiError::BadJson)
    }
}

/// The media types `/api/document/check` accepts.
pub const DOCUMENT_TYPES: &[&str] = &[
    "application/octet-stream",
    "text/plain",
    "application/json",
    "application/smart-health-card",
    "image/png",
    "image/jpeg",
    "application/pdf",
];

/// A raw upload of one of [`DOCUMENT_TYPES`], non-empty, at most the node's
/// `max_upload_bytes`.
#[derive(Debug)]
pub struct Upload(pub Bytes);

impl FromRequest<Arc<Node>> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, node: &Arc<Node>) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        if !DOCUMENT_TYPES.contains(&content_type(&parts.headers).as_str()) {
            return Err(ApiError::UnsupportedDocumentType(DOCUMENT_TYPES));
        }
        let bytes = body_bytes(body, node.config.max_upload_bytes).await?;
        if bytes.is_empty() {
            return Err(ApiError::EmptyUpload);
        }
        Ok(Upload(bytes))
    }
}
