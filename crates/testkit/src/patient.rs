//! What a patient's wallet sends a peer: a fresh nonce, and requests signed with the wallet key
//! (`Spondon-Signature` over method, the peer's public URL, nonce and body).

use std::net::SocketAddr;

use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{SignedRequest, SignedRequestTarget};

use crate::http::{Resp, try_request};

/// A fresh nonce from the peer at `addr` (`POST /nonce`); `None` if it did not answer one.
pub async fn nonce(addr: SocketAddr) -> Option<Vec<u8>> {
    let r = try_request(addr, "POST", "/nonce", &[], b"").await?;
    nonce_in(r.status, &r.body)
}

/// The nonce in an answer to `POST /nonce` (status and body); `None` if it holds none.
pub fn nonce_in(status: u16, body: &[u8]) -> Option<Vec<u8>> {
    if !(200..300).contains(&status) {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    spondon_core::b64::decode(v["nonce"].as_str()?).ok()
}

/// The `Spondon-Signature` of a POST of `body` to `path` at the peer whose public URL is `url`,
/// by `key`, with the peer's `nonce` (`docs/protocol.md` §7a).
pub fn signature(key: &Es256KeyPair, url: &str, path: &str, nonce: &[u8], body: &[u8]) -> String {
    SignedRequest::create(
        key,
        &SignedRequestTarget {
            method: "POST",
            url: &format!("{url}{path}"),
            nonce,
            body,
        },
        NumericDate::now(),
    )
    .unwrap()
}

/// A POST of `body` to `path`, signed by `key` for the peer whose public URL is `url` and which
/// listens on `addr`; `None` if the peer did not answer (a nonce or the request).
pub async fn signed(
    addr: SocketAddr,
    url: &str,
    key: &Es256KeyPair,
    path: &str,
    body: &Value,
) -> Option<Resp> {
    let body = body.to_string().into_bytes();
    let nonce = nonce(addr).await?;
    let sig = signature(key, url, path, &nonce, &body);
    try_request(
        addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", &sig),
        ],
        &body,
    )
    .await
}

/// [`signed`], which must succeed (2xx): the answer's JSON.
pub async fn signed_ok(
    addr: SocketAddr,
    url: &str,
    key: &Es256KeyPair,
    path: &str,
    body: &Value,
) -> Value {
    let r = signed(addr, url, key, path, body)
        .await
        .unwrap_or_else(|| panic!("{path}: no answer"));
    assert!(r.status < 300, "{path}: {} {}", r.status, r.text());
    r.json()
}
