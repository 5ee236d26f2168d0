//! `spondon-authority serve`: publishes the last signed trust list and the root key over HTTP,
//! for wallets and clinic nodes to refresh from. Both are public documents; the root key file
//! stays unread. Put it behind TLS (or a CDN) in production.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use spondon_authority::PUBLISHED_FILE;

/// Largest file served (the trust list format's own limit is 1 MiB).
const MAX_SERVED: u64 = 2 * 1024 * 1024;

pub fn run(data: &Path, listen: SocketAddr) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        println!("Serving http://{addr}/trust-list and http://{addr}/root.jwk");
        let dir = Arc::new(data.to_owned());
        let app = Router::new()
            .route("/trust-list", get(trust_list))
            .route("/root.jwk", get(root_jwk))
            .with_state(dir);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server failed")
    })
}

async fn trust_list(State(dir): State<Arc<PathBuf>>) -> Response {
    file(&dir.join(PUBLISHED_FILE), "text/plain; charset=utf-8").await
}

async fn root_jwk(State(dir): State<Arc<PathBuf>>) -> Response {
    file(&dir.join("root.jwk"), "application/jwk+json").await
}

async fn file(path: &Path, content_type: &'static str) -> Response {
    let read = async {
        let meta = tokio::fs::metadata(path).await?;
        if meta.len() > MAX_SERVED {
            return Err(std::io::Error::other("too large"));
        }
        tokio::fs::read(path).await
    };
    match read.await {
        Ok(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            StatusCode::NOT_FOUND,
            "nothing signed yet: run `spondon-authority sign`\n",
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n").into_response(),
    }
}
