//! HTTP to peers: signed patient requests (`Spondon-Signature`, docs/protocol.md §7a).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget};

use crate::error::{Result, WalletError};

/// Largest answer read from a peer.
const MAX_RESPONSE: usize = 64 << 20;

/// An HTTP client for peers.
#[derive(Debug, Clone)]
pub(crate) struct PeerClient {
    http: reqwest::Client,
    /// Peer URL → transport base URL.
    pub(crate) endpoints: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct NonceResp {
    nonce: String,
}

impl PeerClient {
    pub(crate) fn new() -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WalletError::Internal(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoints: BTreeMap::new(),
        })
    }

    fn base<'a>(&'a self, peer: &'a str) -> &'a str {
        self.endpoints.get(peer).map(String::as_str).unwrap_or(peer)
    }

    fn net_err(peer: &str, e: &reqwest::Error) -> WalletError {
        WalletError::Network {
            peer: peer.to_owned(),
            reason: if e.is_timeout() {
                "timed out".into()
            } else if e.is_connect() {
                "connection failed".into()
            } else {
                e.to_string()
            },
        }
    }

    async fn read(peer: &str, resp: reqwest::Response) -> Result<(u16, Vec<u8>)> {
        let status = resp.status().as_u16();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE as u64)
        {
            return Err(WalletError::BadResponse {
                peer: peer.to_owned(),
                reason: "answer too large".into(),
            });
        }
        let body = resp.bytes().await.map_err(|e| Self::net_err(peer, &e))?;
        if body.len() > MAX_RESPONSE {
            return Err(WalletError::BadResponse {
                peer: peer.to_owned(),
                reason: "answer too large".into(),
            });
        }
        Ok((status, body.to_vec()))
    }

    fn refused(peer: &str, status: u16, body: &[u8]) -> WalletError {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>()
        };
        WalletError::PeerRefused {
            peer: peer.to_owned(),
            status,
            code: if s("code").is_empty() {
                "unknown".into()
            } else {
                s("code")
            },
            detail: if s("detail").is_empty() {
                s("title")
            } else {
                s("detail")
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
        let resp = self
            .http
            .post(&url)
            .send()
            .await
            .map_err(|e| Self::net_err(peer, &e))?;
        let (status, body) = Self::read(peer, resp).await?;
        if status != 201 && status != 200 {
            return Err(Self::refused(peer, status, &body));
        }
        let n: NonceResp = Self::parse(peer, &body)?;
        spondon_core::b64::decode(&n.nonce).map_err(|_| WalletError::BadResponse {
            peer: peer.to_owned(),
            reason: "nonce is not base64url".into(),
        })
    }

    /// A POST signed by `key` (nonce, method, peer URL + path, body hash).
    pub(crate) async fn signed_post<T: DeserializeOwned>(
        &self,
        key: &Es256KeyPair,
        peer: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
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
        let resp = self
            .http
            .post(format!("{}{path}", self.base(peer)))
            .header("Content-Type", "application/json")
            .header("Spondon-Signature", sig)
            .body(body)
            .send()
            .await
            .map_err(|e| Self::net_err(peer, &e))?;
        let (status, body) = Self::read(peer, resp).await?;
        if !(200..300).contains(&status) {
            return Err(Self::refused(peer, status, &body));
        }
        Self::parse(peer, &body)
    }

    /// An unsigned GET (e.g. an issuer's JWKS), at most 1 MiB.
    pub(crate) async fn get_text(&self, url: &str) -> Result<String> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Self::net_err(url, &e))?;
        let (status, body) = Self::read(url, resp).await?;
        if status != 200 || body.len() > 1 << 20 {
            return Err(Self::refused(url, status, &body));
        }
        String::from_utf8(body).map_err(|_| WalletError::BadResponse {
            peer: url.to_owned(),
            reason: "not UTF-8".into(),
        })
    }
}
