//! The embedded web page (no CDN): HTML, CSS and JS compiled into the binary. The QR decoder
//! for browsers without `BarcodeDetector` is our `rqrr` compiled to WebAssembly
//! (`scripts/build-qr-wasm.sh`); the node serves it from `SPONDON_VERIFIER_QR_WASM_DIR`, the
//! data directory's `web/` folder, or `qr-wasm/` beside the binary's directory.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::node::Node;
use crate::server::ApiError;

const INDEX: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const STYLE: &str = include_str!("web/style.css");

fn asset(body: impl Into<axum::body::Body>, ct: &'static str) -> Response {
    let mut r = (StatusCode::OK, body.into()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
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
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

pub async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn style_css() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `/qr/spondon_qr_wasm.js` and `/qr/spondon_qr_wasm_bg.wasm`, the fallback decoder.
pub async fn qr_asset(State(node): State<Arc<Node>>, Path(file): Path<String>) -> Response {
    let ct = match file.as_str() {
        "spondon_qr_wasm.js" => "text/javascript; charset=utf-8",
        "spondon_qr_wasm_bg.wasm" => "application/wasm",
        _ => {
            return ApiError::NoSuchAsset.into_response();
        }
    };
    // Next to the binary: `$CARGO_TARGET_DIR/debug/spondon-verifier` → `$CARGO_TARGET_DIR/qr-wasm`.
    let beside_binary = std::env::current_exe().ok().and_then(|e| {
        e.parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("qr-wasm"))
    });
    let dirs = [
        std::env::var_os("SPONDON_VERIFIER_QR_WASM_DIR").map(std::path::PathBuf::from),
        Some(node.data.path.join("web")),
        beside_binary,
    ];
    for d in dirs.into_iter().flatten() {
        if let Ok(bytes) = tokio::fs::read(d.join(&file)).await {
            return asset(bytes, ct);
        }
    }
    ApiError::QrDecoderNotBuilt.into_response()
}
