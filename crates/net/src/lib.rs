//! Spondon's one HTTP stack.
//!
//! - [`client`]: the HTTPS client that the wallet, the peers (witness pushes), the clinic node and
//!   the authority's tool use to reach each other — reqwest on rustls with the *ring* provider
//!   (one crypto stack with the rest of the project), Mozilla's roots (`webpki-roots`, the same
//!   on every platform, phones included) plus any CA the operator configures (a hospital
//!   network's private CA, a test CA), no redirects, bounded in time and size, and errors that
//!   say what went wrong ("the certificate is not trusted", "timed out") with the origin only —
//!   never a path, which can hold a Health ID.
//! - [`server`] (feature `server`): TLS for the axum servers from a PEM certificate chain and
//!   key, so a peer or a clinic node can listen on `https` itself.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod client;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "test-ca")]
pub mod test_ca;

pub use client::{Client, ClientOptions, Response};

/// What can go wrong reaching another node, or setting TLS up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The address is not an `http://` or `https://` URL with a host.
    #[error("not an http:// or https:// URL: {0:?}")]
    BadUrl(String),
    /// A CA or certificate file could not be read.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A PEM file held no certificate (or no private key).
    #[error("{path} holds no {what} in PEM form")]
    NothingInPem {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// The TLS configuration was refused (a key that does not match its certificate, …).
    #[error("TLS set-up: {0}")]
    TlsConfig(String),
    /// The other side's certificate was refused, or the TLS handshake failed.
    #[error("{origin}: TLS refused: {reason}")]
    Tls {
        /// `scheme://host:port`.
        origin: String,
        /// What rustls said, in words.
        reason: String,
    },
    /// No connection (refused, unreachable, name not found).
    #[error("{origin}: cannot connect: {reason}")]
    Connect {
        /// `scheme://host:port`.
        origin: String,
        /// Why.
        reason: String,
    },
    /// No complete answer within the time limit.
    #[error("{origin}: no answer within {limit:?}")]
    Timeout {
        /// `scheme://host:port`.
        origin: String,
        /// The limit.
        limit: Duration,
    },
    /// The answer was larger than the caller accepts.
    #[error("{origin}: answer larger than {limit} bytes")]
    TooLarge {
        /// `scheme://host:port`.
        origin: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection broke or the answer was not HTTP.
    #[error("{origin}: {reason}")]
    Transport {
        /// `scheme://host:port`.
        origin: String,
        /// Why.
        reason: String,
    },
}

impl NetError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUrl(_) => "bad_url",
            Self::File { .. } => "file_unreadable",
            Self::NothingInPem { .. } => "pem_empty",
            Self::TlsConfig(_) => "tls_config",
            Self::Tls { .. } => "tls",
            Self::Connect { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::TooLarge { .. } => "too_large",
            Self::Transport { .. } => "transport",
        }
    }
}

/// `scheme://host[:port]` of a URL — what errors and logs name (a path can hold a Health ID).
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => "(bad URL)".to_owned(),
    }
}

/// Checks that `url` is an `http://` or `https://` URL with a host, and nothing a base URL should
/// not have (credentials, a query, a fragment).
pub fn check_base_url(url: &str) -> Result<url::Url, NetError> {
    let u = url::Url::parse(url).map_err(|_| NetError::BadUrl(url.to_owned()))?;
    let ok = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none()
        && u.query().is_none()
        && u.fragment().is_none();
    if ok {
        Ok(u)
    } else {
        Err(NetError::BadUrl(url.to_owned()))
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, NetError> {
    std::fs::read(path).map_err(|e| NetError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(check_base_url("https://dmch.example").is_ok());
        assert!(check_base_url("http://127.0.0.1:8400/api").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://a:b@x",
            "https://x/?q=1",
            "https://x/#f",
            "x",
        ] {
            assert_eq!(check_base_url(bad).unwrap_err().code(), "bad_url", "{bad}");
        }
        assert_eq!(
            origin("https://dmch.example/patient/records/1137-0975-7389-43"),
            "https://dmch.example"
        );
        assert_eq!(origin("http://127.0.0.1:8400/x"), "http://127.0.0.1:8400");
    }
}
