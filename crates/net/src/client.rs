//! The HTTPS client every Spondon program uses to reach another node.

use std::path::PathBuf;
use std::time::Duration;

use crate::{NetError, origin, read_file};

/// How a [`Client`] is set up. `Default` is what a node uses unless its operator says otherwise.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// PEM files of CAs trusted besides Mozilla's roots (a hospital network's private CA, a test
    /// CA). Each file may hold several certificates.
    pub ca_files: Vec<PathBuf>,
    /// Time to set up a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for a whole exchange, connect to last byte.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            ca_files: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(20),
        }
    }
}

/// An HTTP(S) client: cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
}

/// An answer, read whole (within the caller's size limit).
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Client {
    /// A client with Mozilla's roots, the configured CAs, no redirects (a redirect is an answer
    /// the caller sees, never followed with a signed request), and the time limits.
    pub fn new(options: &ClientOptions) -> Result<Self, NetError> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(true)
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("spondon/", env!("CARGO_PKG_VERSION")));
        for path in &options.ca_files {
            for cert in ca_certificates(path)? {
                b = b.add_root_certificate(cert);
            }
        }
        let http = b
            .build()
            .map_err(|e| NetError::TlsConfig(error_chain(&e)))?;
        Ok(Self {
            http,
            timeout: options.timeout,
        })
    }

    /// The underlying reqwest client, for callers that build their own requests; send them with
    /// [`Client::send`] to get the same limits and errors.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `req` to `url` (the same URL the request was built with; it names the origin in
    /// errors) and reads the answer, refusing more than `limit` bytes.
    pub async fn send(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Response, NetError> {
        let at = origin(url);
        let mut resp = req.send().await.map_err(|e| self.classify(&at, &e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(NetError::TooLarge { origin: at, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(&at, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(NetError::TooLarge { origin: at, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// One request: `method` to `url` with `headers` and `body`, the answer read whole up to
    /// `limit` bytes.
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        limit: usize,
    ) -> Result<Response, NetError> {
        let bad = || NetError::BadUrl(origin(url));
        let u = url::Url::parse(url).map_err(|_| bad())?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
            return Err(bad());
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| bad())?;
        let mut req = self.http.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(url, req.body(body), limit).await
    }

    /// A reqwest error as a [`NetError`] that says what went wrong.
    pub fn classify(&self, origin: &str, e: &reqwest::Error) -> NetError {
        classify(origin, e, self.timeout)
    }
}

/// The certificates of a PEM file (one or more).
fn ca_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, NetError> {
    let pem = read_file(path)?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| NetError::File {
        path: path.to_owned(),
        reason: error_chain(&e),
    })?;
    if certs.is_empty() {
        return Err(NetError::NothingInPem {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

/// What went wrong, in the words a hospital's IT person needs.
pub fn classify(origin: &str, e: &reqwest::Error, timeout: Duration) -> NetError {
    if let Some(t) = find_rustls(e) {
        return NetError::Tls {
            origin: origin.to_owned(),
            reason: tls_words(t),
        };
    }
    if e.is_timeout() {
        return NetError::Timeout {
            origin: origin.to_owned(),
            limit: timeout,
        };
    }
    let reason = innermost(e);
    if e.is_connect() {
        NetError::Connect {
            origin: origin.to_owned(),
            reason,
        }
    } else {
        NetError::Transport {
            origin: origin.to_owned(),
            reason,
        }
    }
}

/// The rustls error somewhere in the chain (rustls errors travel inside `std::io::Error`,
/// whose `source()` skips them, so each io::Error is opened too).
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if !std::ptr::addr_eq(inner, err)
                && let Some(t) = find_rustls(inner)
            {
                return Some(t);
            }
        }
        cur = err.source();
    }
    None
}

fn tls_words(e: &rustls::Error) -> String {
    use rustls::{CertificateError, Error, InvalidMessage};
    match e {
        Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "its certificate is not signed by a trusted CA (configure the CA that signed it)"
                    .into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "its certificate is for another host name".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "its certificate has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "its certificate is not valid yet (check this machine's clock)".into()
            }
            CertificateError::Revoked => "its certificate is revoked".into(),
            CertificateError::BadSignature => "its certificate's signature is wrong".into(),
            other => format!("its certificate was refused ({other:?})"),
        },
        Error::InvalidMessage(InvalidMessage::InvalidContentType)
        | Error::InvalidMessage(InvalidMessage::InvalidEmptyPayload) => {
            "the server did not answer in TLS (is it plain http://?)".into()
        }
        Error::AlertReceived(a) => format!("the server ended the handshake ({a:?})"),
        other => other.to_string(),
    }
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        last = err.to_string();
        cur = err.source();
    }
    last
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = err.source();
    }
    out
}
