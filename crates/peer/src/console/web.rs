//! The console page's static files, compiled into the binary (no CDN, no inline script or
//! style, so the strict CSP of [`super::router`] holds).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const I18N_JS: &str = include_str!("web/i18n.js");
const STYLE: &str = include_str!("web/style.css");

fn asset(body: &'static str, ct: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

pub async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn i18n_js() -> Response {
    asset(I18N_JS, "text/javascript; charset=utf-8")
}

pub async fn style_css() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}
