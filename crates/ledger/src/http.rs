//! axum routers: the C2SP `tlog-tiles` read API of a log, and a witness's `add-checkpoint`.
//!
//! Mount them under any prefix with `Router::nest`. Errors never echo stored data.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::storage::{LedgerError, Log};
use crate::witness::{Witness, WitnessError};

/// The `tlog-tiles` read API for `log`: `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`,
/// `GET /tile/entries/<N>[.p/<W>]`.
pub fn tiles_router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .with_state(log)
}

/// A witness's `POST /add-checkpoint`, and `GET /forks`: the evidence of every fork it refused
/// (JSON, newest first).
pub fn witness_router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/forks", get(forks))
        .with_state(witness)
}

async fn forks(State(witness): State<Arc<Witness>>) -> Response {
    match witness.forks().await {
        Ok(list) => match serde_json::to_string(&serde_json::json!({ "forks": list })) {
            Ok(body) => text(StatusCode::OK, body, "application/json"),
            Err(_) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error\n".into(),
                "text/plain; charset=utf-8",
            ),
        },
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "witness storage failed\n".into(),
            "text/plain; charset=utf-8",
        ),
    }
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn error(e: &LedgerError) -> Response {
    let (status, msg) = match e {
        LedgerError::IndexOutOfRange { .. }
        | LedgerError::SizeOutOfRange { .. }
        | LedgerError::NotSigned => (StatusCode::NOT_FOUND, "not found\n"),
        LedgerError::Integrity(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "log storage failed its integrity check\n",
        ),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    };
    text(status, msg.to_owned(), "text/plain; charset=utf-8")
}

async fn checkpoint(State(log): State<Arc<Log>>) -> Response {
    match log.cosigned_checkpoint().await {
        Ok(note) => {
            let mut r = text(StatusCode::OK, note, "text/plain; charset=utf-8");
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, max-age=0"),
            );
            r
        }
        Err(e) => error(&e),
    }
}

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    /// `None` for entry bundles, else the tile level.
    pub level: Option<u8>,
    /// Tile index.
    pub index: u64,
    /// Width of a partial tile, `None` for a full tile.
    pub width: Option<u64>,
}

fn small_decimal(s: &str, max: u64) -> Option<u64> {
    crate::checkpoint::parse_decimal(s).filter(|v| *v <= max)
}

/// Encodes a tile index as `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Parses `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` (the part after `tile/`), canonically.
pub fn parse_tile_path(path: &str) -> Option<TilePath> {
    let (head, rest) = path.split_once('/')?;
    let level = if head == "entries" {
        None
    } else {
        Some(u8::try_from(small_decimal(head, 63)?).ok()?)
    };
    let (index_part, width) = match rest.split_once(".p/") {
        Some((i, w)) => (i, Some(small_decimal(w, 255).filter(|w| *w >= 1)?)),
        None => (rest, None),
    };
    let groups: Vec<&str> = index_part.split('/').collect();
    let mut index: u64 = 0;
    for (k, g) in groups.iter().enumerate() {
        let digits = if k + 1 < groups.len() {
            g.strip_prefix('x')?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    if encode_index(index) != index_part {
        return None;
    }
    Some(TilePath {
        level,
        index,
        width,
    })
}

async fn tile(State(log): State<Arc<Log>>, Path(path): Path<String>) -> Response {
    let Some(t) = parse_tile_path(&path) else {
        return text(
            StatusCode::BAD_REQUEST,
            "malformed tile path\n".into(),
            "text/plain; charset=utf-8",
        );
    };
    // Only what a published checkpoint commits to is served.
    let size = match log.signed_checkpoint().await {
        Ok((cp, _)) => cp.size,
        Err(e) => return error(&e),
    };
    let width = t.width.unwrap_or(crate::storage::TILE_WIDTH);
    let res = match t.level {
        Some(level) => log.tile(level, t.index, width, size).await,
        None => log.entry_bundle(t.index, width, size).await,
    };
    match res {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        Err(e) => error(&e),
    }
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    match w.add_checkpoint(&body).await {
        Ok(lines) => text(StatusCode::OK, lines, "text/plain; charset=utf-8"),
        Err(WitnessError::Conflict { latest, .. }) => text(
            StatusCode::CONFLICT,
            format!("{latest}\n"),
            "text/x.tlog.size",
        ),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = if status == StatusCode::INTERNAL_SERVER_ERROR {
                "internal error".to_owned()
            } else {
                e.to_string()
            };
            text(status, format!("{msg}\n"), "text/plain; charset=utf-8")
        }
    }
}
