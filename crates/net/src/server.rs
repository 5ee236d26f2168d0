//! Serving an axum app over plain HTTP or over TLS, with the client's address available to
//! handlers (`ConnectInfo<SocketAddr>`) and a graceful shutdown either way.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{NetError, read_file};

/// A server's certificate chain and private key, both PEM files (as certbot or a hospital's CA
/// hands them out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A rustls server configuration from PEM files: TLS 1.2 and 1.3 on the ring provider,
/// HTTP/1.1 by ALPN. Refused with a clear error if a file is missing, holds nothing, or the key
/// does not belong to the certificate.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, NetError> {
    let certs = certificates(&files.cert)?;
    let key = private_key(&files.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::TlsConfig(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            NetError::TlsConfig(format!(
                "{} and {}: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let pem = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NetError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(NetError::NothingInPem {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, NetError> {
    let pem = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => NetError::NothingInPem {
            path: path.to_owned(),
            what: "private key",
        },
        other => NetError::File {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    })
}

/// How long open connections get to finish after the shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` — over TLS when `tls` is given — until `shutdown` resolves, then
/// lets open requests finish (up to [`GRACE`]). Handlers can take `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.into_std()?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(GRACE));
    });
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(cfg) => {
            let cfg = axum_server::tls_rustls::RustlsConfig::from_config(cfg);
            axum_server::from_tcp_rustls(listener, cfg)?
                .handle(handle)
                .serve(make)
                .await
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(make)
                .await
        }
    }
}

/// An RFC 9457 problem response (`application/problem+json`), as every Spondon server answers
/// an error: `type` is `base` followed by the stable `code`, `title` the status's reason phrase,
/// and `detail` says what went wrong (never internal details: a server logs those).
pub fn problem(
    base: &str,
    status: axum::http::StatusCode,
    code: &str,
    detail: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let body = serde_json::json!({
        "type": format!("{base}{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    r
}
