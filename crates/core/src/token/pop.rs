//! Proof of possession for redeeming a key-bound grant (modelled on DPoP, RFC 9449): the
//! audience signs each request — method, URL, time, the peer's nonce, the grant id and the
//! SHA-256 of the request body.
//!
//! Wire form: the unpadded base64url of a tagged COSE_Sign1 (ES256, protected
//! `{1: -7, 4: kid}`) whose payload is a CWT claims set with `iat`, `cti` and a Spondon claim of
//! kind 6; sent in the `Spondon-PoP` HTTP header. `docs/protocol.md` §7.

use serde::Serialize;

use super::self_signed::{Spec, htu};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

/// Longest accepted proof text.
pub const MAX_POP_TEXT: usize = 2_048;
/// Default window either side of `now` in which `iat` must fall.
pub const POP_MAX_SKEW: i64 = 120;

const SPEC: Spec = Spec {
    kind: TokenKind::PopProof,
    max: MAX_POP_TEXT,
    what: "a proof",
    extra: "grant id (-65537 / 6)",
    claim: "the proof's Spondon claim",
    body: true,
};

/// A proof-of-possession proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PopProof {
    /// Unique id (`cti`), for the peer's replay cache.
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The audience key that signs the proof.
    #[serde(serialize_with = "ser::key")]
    pub key: Es256PublicKey,
    /// HTTP method, upper case.
    pub method: String,
    /// Request URL without query or fragment (DPoP `htu`).
    pub url: String,
    /// The nonce the peer handed out.
    #[serde(serialize_with = "ser::b64_vec")]
    pub nonce: Vec<u8>,
    /// The id (`cti`) of the grant whose audience key signs this proof.
    #[serde(serialize_with = "ser::b64")]
    pub grant_id: [u8; 16],
    /// SHA-256 of the exact request body (of "" when there is none).
    #[serde(serialize_with = "ser::b64")]
    pub body_hash: [u8; 32],
    /// When the proof was made (`iat`); the peer accepts it only within a short window around now.
    pub issued_at: NumericDate,
}

/// The request a proof must match, as the peer sees it.
#[derive(Debug, Clone, Copy)]
pub struct PopRequest<'a> {
    /// The HTTP method, upper case (`GET`, `POST`).
    pub method: &'a str,
    /// The full request URL; query and fragment are ignored.
    pub url: &'a str,
    /// The nonce the peer issued for this client.
    pub nonce: &'a [u8],
    /// The exact request body bytes (empty when there is none).
    pub body: &'a [u8],
}

impl PopProof {
    /// Checks the fields' shapes (method, URL, nonce length, date); the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        super::self_signed::validate(&self.method, &self.url, &self.nonce, self.issued_at)
    }

    /// Signs the proof; returns its base64url text.
    pub fn sign(&self, audience: &Es256KeyPair) -> Result<String, TokenError> {
        super::self_signed::sign(
            TokenKind::PopProof,
            audience,
            &super::self_signed::ToSign {
                id: &self.id,
                key: &self.key,
                method: &self.method,
                url: &self.url,
                nonce: &self.nonce,
                extra: &self.grant_id,
                body_hash: Some(&self.body_hash),
                issued_at: self.issued_at,
            },
            "the signing key is not the proof's key",
        )
    }

    /// Makes and signs a proof for `request` under `grant_id` at `now`, with a fresh id.
    pub fn create(
        audience: &Es256KeyPair,
        grant_id: [u8; 16],
        request: &PopRequest<'_>,
        now: NumericDate,
    ) -> Result<String, TokenError> {
        PopProof {
            id: crate::keys::random_bytes::<16>()?,
            key: audience.public_key().clone(),
            method: request.method.to_owned(),
            url: htu(request.url)?,
            nonce: request.nonce.to_vec(),
            grant_id,
            body_hash: crate::keys::sha256(request.body),
            issued_at: now,
        }
        .sign(audience)
    }

    /// Decodes a proof and checks its own signature (by the key it carries, whose thumbprint
    /// must be the header kid). Says nothing yet about the grant or the request.
    pub fn decode(text: &str) -> Result<PopProof, TokenError> {
        let d = super::self_signed::decode_self_signed::<16>(text, &SPEC)?;
        Ok(PopProof {
            id: d.id,
            key: d.key,
            method: d.method,
            url: d.url,
            nonce: d.nonce,
            grant_id: d.extra,
            body_hash: d
                .body_hash
                .ok_or(TokenError::MissingField("body hash (-65537 / 7)"))?,
            issued_at: d.issued_at,
        })
    }

    /// Full check by a peer: the proof verifies, its key is the grant's audience key, and it
    /// matches the request, the nonce, the grant id and `now` within `max_skew` seconds.
    /// The caller keeps `id` in a replay cache for the skew window and checks the grant itself
    /// (signature, time, revocation, use count) separately.
    pub fn verify(
        text: &str,
        grant: &super::Grant,
        request: &PopRequest<'_>,
        now: NumericDate,
        max_skew: i64,
    ) -> Result<PopProof, TokenError> {
        Self::decode(text)?.check(grant, request, now, max_skew)
    }

    /// [`PopProof::verify`] for a proof [`PopProof::decode`] gave (so its own signature is
    /// verified): the same checks against the grant, the request and `now`, without decoding
    /// and verifying it a second time.
    pub fn check(
        self,
        grant: &super::Grant,
        request: &PopRequest<'_>,
        now: NumericDate,
        max_skew: i64,
    ) -> Result<PopProof, TokenError> {
        let proof = self;
        let super::Audience::Key { kid } = &grant.audience else {
            return Err(TokenError::PopNotBound);
        };
        if proof.key.kid() != kid {
            return Err(TokenError::PopKeyMismatch);
        }
        if proof.grant_id != grant.id {
            return Err(TokenError::PopMismatch("grant id"));
        }
        if proof.method != request.method {
            return Err(TokenError::PopMismatch("method"));
        }
        if proof.url != htu(request.url)? {
            return Err(TokenError::PopMismatch("url"));
        }
        if proof.nonce != request.nonce {
            return Err(TokenError::PopMismatch("nonce"));
        }
        if proof.body_hash != crate::keys::sha256(request.body) {
            return Err(TokenError::PopMismatch("body"));
        }
        if (proof.issued_at.0 - now.0).abs() > max_skew {
            return Err(TokenError::PopStale {
                iat: proof.issued_at.0,
                now: now.0,
            });
        }
        Ok(proof)
    }
}
