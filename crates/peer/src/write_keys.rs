//! `Idempotency-Key` on the staff writes other than record issuance (which keeps its own table,
//! `peer_idempotency`, see `records.rs`): the key is scoped to the staff token, stored in
//! `peer_write_keys` with the SHA-256 of the request (method, path and body) and the answer to
//! replay, **in the write's own transaction**, so the write and its key exist together or not at
//! all. A retry with the same key and request answers the stored answer
//! (`Idempotent-Replayed: true`); another request under the key is refused
//! (`idempotency_key_reused`, 422). Two retries racing with one key write once: the loser's
//! transaction fails on the key (or on the write's own uniqueness) and rolls back, and the
//! loser is answered the winner's stored answer.
//!
//! Enrollment codes are stored only hashed, so an answer holding one is stored without it (the
//! Health ID alone); its replay issues a fresh code for the same patient, which invalidates the
//! earlier unused ones (`docs/peer.md`, "Retries").

use serde_json::Value;

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::Peer;

/// A staff write's key, with the hash of the request it was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteKey {
    pub scope: String,
    pub key: String,
    pub request_hash: [u8; 32],
}

/// Checks a header value: 1 to 255 visible ASCII characters, bare or as a quoted string.
pub(crate) fn check_key(v: &str) -> Result<&str> {
    let v = v.trim().trim_matches('"');
    if v.is_empty() || v.len() > 255 {
        return Err(PeerError::BadIdempotencyKey("1 to 255 characters"));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PeerError::BadIdempotencyKey(
            "visible ASCII characters only",
        ));
    }
    Ok(v)
}

impl WriteKey {
    /// The key of a request to `method path` with `body`, for the staff token `scope`; `None`
    /// without the header.
    pub fn from_header(
        header: Option<&axum::http::HeaderValue>,
        scope: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Option<WriteKey>> {
        let Some(v) = header else {
            return Ok(None);
        };
        let v = v
            .to_str()
            .map_err(|_| PeerError::BadIdempotencyKey("visible ASCII characters only"))?;
        let key = check_key(v)?;
        Ok(Some(WriteKey::new(scope, key, method, path, body)))
    }

    /// A key already checked ([`check_key`]).
    pub fn new(scope: &str, key: &str, method: &str, path: &str, body: &[u8]) -> WriteKey {
        let mut m = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
        m.extend_from_slice(method.as_bytes());
        m.push(b' ');
        m.extend_from_slice(path.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(body);
        WriteKey {
            scope: scope.to_owned(),
            key: key.to_owned(),
            request_hash: spondon_core::keys::sha256(&m),
        }
    }
}

impl Peer {
    /// The stored answer of a key's first use, if any; `idempotency_key_reused` if it was used
    /// for another request.
    pub async fn stored_write(&self, key: &WriteKey) -> Result<Option<Value>> {
        match db::staff::stored_write(&self.db, &key.scope, &key.key).await? {
            None => Ok(None),
            Some(w) if w.request_hash.as_slice() != key.request_hash.as_slice() => {
                Err(PeerError::IdempotencyKeyReused)
            }
            Some(w) => serde_json::from_str(&w.answer)
                .map(Some)
                .map_err(|e| PeerError::Integrity(format!("stored answer: {e}"))),
        }
    }
}
