//! HTTP to peers: signed patient requests (`Spondon-Signature`, docs/protocol.md §7a), over
//! `spondon-net`'s HTTPS client (rustls on ring; Mozilla's roots plus any configured CA).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget};

use crate::error::{Result, WalletError};

/// Largest answer read from a peer.
const MAX_RESPONSE: usize = 64 << 20;

/// How long one file download may take.
const FILE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A transport error as the wallet's: what happened, said for a person.
fn net_error(peer: &str, e: spondon_net::NetError) -> WalletError {
    match e {
        spondon_net::NetError::TooLarge { .. } => WalletError::BadResponse {
            peer: peer.to_owned(),
            reason: "answer too large".into(),
        },
        e => WalletError::Network {
            peer: peer.to_owned(),
            reason: match &e {
                spondon_net::NetError::Timeout { .. } => "timed out".into(),
                spondon_net::NetError::Connect { .. } => "connection failed".into(),
                // The cause after the origin: "TLS refused: its certificate is …".
                other => other
                    .to_string()
                    .split_once(": ")
                    .map_or_else(|| other.to_string(), |(_, r)| r.to_owned()),
            },
        },
    }
}

/// An HTTP client for peers.
#[derive(Debug, Clone)]
pub(crate) struct PeerClient {
    http: spondon_net::Client,
    /// Peer URL → transport base URL.
    pub(crate) endpoints: BTreeMap<String, String>,
}

impl PeerClient {
    pub(crate) fn new(ca_files: &[PathBuf]) -> Result<Self> {
        let http = spondon_net::Client::new(&spondon_net::ClientOptions {
            ca_files: ca_files.to_vec(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
        })
        .map_err(|e| match e {
            spondon_net::NetError::File { .. } | spondon_net::NetError::NothingInPem { .. } => {
                WalletError::BadSetting(format!("CA file: {e}"))
            }
            other => WalletError::Internal(format!("HTTP client: {other}")),
        })?;
        Ok(Self {
            http,
            endpoints: BTreeMap::new(),
        })
    }

    fn base<'a>(&'a self, peer: &'a str) -> &'a str {
        self.endpoints.get(peer).map(String::as_str).unwrap_or(peer)
    }

    /// Sends `req` (built for `url`) and reads the answer, at most [`MAX_RESPONSE`] bytes.
    async fn send(
        &self,
        peer: &str,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>)> {
        match self.http.send(url, req, MAX_RESPONSE).await {
            Ok(r) => Ok((r.status, r.body)),
            Err(e) => Err(net_error(peer, e)),
        }
    }

    fn refused(peer: &str, status: u16, body: &[u8]) -> WalletError {
        let p = spondon_protocol::Problem::read(body);
        let s = |x: &Option<String>| {
            x.as_deref()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>()
        };
        WalletError::PeerRefused {
            peer: peer.to_owned(),
            status,
            code: if s(&p.code).is_empty() {
                "unknown".into()
            } else {
                s(&p.code)
            },
            detail: if s(&p.detail).is_empty() {
                s(&p.title)
            } else {
                s(&p.detail)
            },
        }
    }

    fn parse<T: DeserializeOwned>(peer: &str, body: &[u8]) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| WalletError::BadResponse {
            peer: peer.to_owned(),
            reason: e.to_string(),
        })
    }

    /// A fresh single-use nonce from the peer.
    pub(crate) async fn nonce(&self, peer: &str) -> Result<Vec<u8>> {
        let url = format!("{}/nonce", self.base(peer));
        let req = self.http.reqwest().post(&url);
        let (status, body) = self.send(peer, &url, req).await?;
        if status != 201 && status != 200 {
            return Err(Self::refused(peer, status, &body));
        }
        let n: spondon_protocol::Nonce = Self::parse(peer, &body)?;
        n.bytes().ok_or_else(|| WalletError::BadResponse {
            peer: peer.to_owned(),
            reason: "nonce is not base64url".into(),
        })
    }

    /// The body, `Spondon-Signature` and transport URL of a POST to `peer` + `path` signed by
    /// `key` (a fresh nonce, method, peer URL + path, body hash).
    async fn sign_post(
        &self,
        key: &Es256KeyPair,
        peer: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<(Vec<u8>, String, String)> {
        let body = serde_json::to_vec(body).map_err(|e| WalletError::Internal(e.to_string()))?;
        let nonce = self.nonce(peer).await?;
        let url = format!("{peer}{path}");
        let sig = SignedRequest::create(
            key,
            &SignedRequestTarget {
                method: "POST",
                url: &url,
                nonce: &nonce,
                body: &body,
            },
            NumericDate::now(),
        )?;
        Ok((body, sig, format!("{}{path}", self.base(peer))))
    }

    /// A POST signed by `key` (nonce, method, peer URL + path, body hash).
    pub(crate) async fn signed_post<T: DeserializeOwned>(
        &self,
        key: &Es256KeyPair,
        peer: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let (body, sig, to) = self.sign_post(key, peer, path, body).await?;
        let req = self
            .http
            .reqwest()
            .post(&to)
            .header("Content-Type", "application/json")
            .header("Spondon-Signature", sig)
            .body(body);
        let (status, body) = self.send(peer, &to, req).await?;
        if !(200..300).contains(&status) {
            return Err(Self::refused(peer, status, &body));
        }
        Self::parse(peer, &body)
    }

    /// A POST signed by `key` whose answer is a file (`docs/protocol.md` §18.3) of at most
    /// `limit` bytes (its card's size; reading stops at the first byte past it);
    /// `progress(done, total)` follows the download. Returns the answer's `Content-Type` and
    /// the bytes. A file is given 30 minutes (a slow phone line), not the client's usual limit.
    pub(crate) async fn signed_post_file(
        &self,
        key: &Es256KeyPair,
        peer: &str,
        path: &str,
        body: &impl Serialize,
        limit: u64,
        progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<(Option<String>, Vec<u8>)> {
        let (body, sig, to) = self.sign_post(key, peer, path, body).await?;
        let at = spondon_net::origin(&to);
        let mut resp = self
            .http
            .reqwest()
            .post(&to)
            .timeout(FILE_TIMEOUT)
            .header("Content-Type", "application/json")
            .header("Spondon-Signature", sig)
            .body(body)
            .send()
            .await
            .map_err(|e| net_error(peer, self.http.classify(&at, &e)))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let mut err = Vec::new();
            while let Some(c) = resp
                .chunk()
                .await
                .map_err(|e| net_error(peer, self.http.classify(&at, &e)))?
            {
                if err.len() + c.len() > 64 << 10 {
                    break;
                }
                err.extend_from_slice(&c);
            }
            return Err(Self::refused(peer, status, &err));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let total = resp.content_length();
        let too_large = || WalletError::BadResponse {
            peer: peer.to_owned(),
            reason: format!("the file is longer than the {limit} bytes its card states"),
        };
        if total.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut out = Vec::with_capacity(usize::try_from(total.unwrap_or(0)).unwrap_or(0));
        progress(0, total);
        while let Some(c) = resp
            .chunk()
            .await
            .map_err(|e| net_error(peer, self.http.classify(&at, &e)))?
        {
            if (out.len() + c.len()) as u64 > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&c);
            progress(out.len() as u64, total);
        }
        Ok((content_type, out))
    }

    /// An unsigned GET (e.g. an issuer's JWKS), at most 1 MiB.
    pub(crate) async fn get_text(&self, url: &str) -> Result<String> {
        let req = self.http.reqwest().get(url);
        let (status, body) = self.send(url, url, req).await?;
        if status != 200 || body.len() > 1 << 20 {
            return Err(Self::refused(url, status, &body));
        }
        String::from_utf8(body).map_err(|_| WalletError::BadResponse {
            peer: url.to_owned(),
            reason: "not UTF-8".into(),
        })
    }
}
