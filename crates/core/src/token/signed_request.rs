//! A patient's signed HTTP request to a peer (kind 7), mirroring [`super::PopProof`]: the key
//! holder signs method, URL, time, the peer's nonce and the SHA-256 of the request body. The
//! peer then checks that the key is the one it enrolled (or, when enrolling, the key in the body).
//!
//! Wire form: the unpadded base64url of a tagged COSE_Sign1 (ES256, protected `{1: -7, 4: kid}`)
//! whose payload is a CWT claims set with `iat`, `cti` and a Spondon claim of kind 7; sent in the
//! `Spondon-Signature` HTTP header. `docs/protocol.md` §7a.

use serde::Serialize;

use super::self_signed::{Spec, htu};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey, sha256};
use crate::time::NumericDate;

/// Longest accepted signed-request text.
pub const MAX_SIGNED_REQUEST_TEXT: usize = 2_048;

const SPEC: Spec = Spec {
    body: false,
    kind: TokenKind::SignedRequest,
    max: MAX_SIGNED_REQUEST_TEXT,
    what: "a signed request",
    extra: "body hash (-65537 / 6)",
    claim: "the signed request's Spondon claim",
};

/// A signed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedRequest {
    /// Unique id (`cti`), for the peer's replay cache.
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The signing key (a patient's key).
    #[serde(serialize_with = "ser::key")]
    pub key: Es256PublicKey,
    /// HTTP method, upper case.
    pub method: String,
    /// Request URL without query or fragment.
    pub url: String,
    /// The nonce the peer handed out.
    #[serde(serialize_with = "ser::b64_vec")]
    pub nonce: Vec<u8>,
    /// SHA-256 of the exact request body bytes (of the empty string when there is none).
    #[serde(serialize_with = "ser::b64")]
    pub body_hash: [u8; 32],
    /// When the request was signed (`iat`); the peer accepts it only within a short window around now.
    pub issued_at: NumericDate,
}

/// The request a signature must match, as the peer sees it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequestTarget<'a> {
    /// The HTTP method, upper case (`GET`, `POST`).
    pub method: &'a str,
    /// The full request URL; query and fragment are ignored.
    pub url: &'a str,
    /// The nonce the peer issued.
    pub nonce: &'a [u8],
    /// The exact body bytes.
    pub body: &'a [u8],
}

impl SignedRequest {
    /// Checks the fields' shapes (method, URL, nonce length, date); the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        super::self_signed::validate(&self.method, &self.url, &self.nonce, self.issued_at)
    }

    /// Signs; returns the base64url text.
    pub fn sign(&self, signer: &Es256KeyPair) -> Result<String, TokenError> {
        super::self_signed::sign(
            TokenKind::SignedRequest,
            signer,
            &super::self_signed::ToSign {
                id: &self.id,
                key: &self.key,
                method: &self.method,
                url: &self.url,
                nonce: &self.nonce,
                extra: &self.body_hash,
                body_hash: None,
                issued_at: self.issued_at,
            },
            "the signing key is not the request's key",
        )
    }

    /// Makes and signs a signature over `target` at `now`, with a fresh id.
    pub fn create(
        signer: &Es256KeyPair,
        target: &SignedRequestTarget<'_>,
        now: NumericDate,
    ) -> Result<String, TokenError> {
        SignedRequest {
            id: crate::keys::random_bytes::<16>()?,
            key: signer.public_key().clone(),
            method: target.method.to_owned(),
            url: htu(target.url)?,
            nonce: target.nonce.to_vec(),
            body_hash: sha256(target.body),
            issued_at: now,
        }
        .sign(signer)
    }

    /// Decodes and checks the signature by the key it carries (whose thumbprint must be the
    /// header kid). Says nothing yet about the request or who the key belongs to.
    pub fn decode(text: &str) -> Result<SignedRequest, TokenError> {
        let d = super::self_signed::decode_self_signed::<32>(text, &SPEC)?;
        Ok(SignedRequest {
            id: d.id,
            key: d.key,
            method: d.method,
            url: d.url,
            nonce: d.nonce,
            body_hash: d.extra,
            issued_at: d.issued_at,
        })
    }

    /// Full check by a peer: the signature verifies and matches method, URL, nonce, body and
    /// `now` within `max_skew` seconds. The caller keeps `id` in a replay cache for the skew
    /// window and checks that `key` is the one it enrolled.
    pub fn verify(
        text: &str,
        target: &SignedRequestTarget<'_>,
        now: NumericDate,
        max_skew: i64,
    ) -> Result<SignedRequest, TokenError> {
        let req = Self::decode(text)?;
        req.check(target, now, max_skew)?;
        Ok(req)
    }

    /// The checks of [`SignedRequest::verify`] for a request [`SignedRequest::decode`] gave (so
    /// its signature is verified): method, URL, nonce, body and time, in that order, without
    /// decoding and verifying it a second time.
    pub fn check(
        &self,
        target: &SignedRequestTarget<'_>,
        now: NumericDate,
        max_skew: i64,
    ) -> Result<(), TokenError> {
        let req = self;
        if req.method != target.method {
            return Err(TokenError::PopMismatch("method"));
        }
        if req.url != htu(target.url)? {
            return Err(TokenError::PopMismatch("url"));
        }
        if req.nonce != target.nonce {
            return Err(TokenError::PopMismatch("nonce"));
        }
        if req.body_hash != sha256(target.body) {
            return Err(TokenError::PopMismatch("body"));
        }
        if (req.issued_at.0 - now.0).abs() > max_skew {
            return Err(TokenError::PopStale {
                iat: req.issued_at.0,
                now: now.0,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const URL: &str = "https://dmch.example/patient/records";

    fn target<'a>(body: &'a [u8]) -> SignedRequestTarget<'a> {
        SignedRequestTarget {
            method: "POST",
            url: URL,
            nonce: b"0123456789abcdef",
            body,
        }
    }

    #[test]
    fn round_trip_and_every_mismatch() {
        let key = Es256KeyPair::generate().unwrap();
        let now = NumericDate(1_800_000_000);
        let text = SignedRequest::create(&key, &target(b"{\"since\":0}"), now).unwrap();
        let r = SignedRequest::verify(&text, &target(b"{\"since\":0}"), now, 120).unwrap();
        assert_eq!(r.key, *key.public_key());
        assert_eq!(r.issued_at, now);
        // Query strings are ignored, as for PoP.
        let q = SignedRequestTarget {
            url: "https://dmch.example/patient/records?x=1",
            ..target(b"{\"since\":0}")
        };
        assert!(SignedRequest::verify(&text, &q, now, 120).is_ok());
        let code = |t: SignedRequestTarget<'_>, now| {
            SignedRequest::verify(&text, &t, now, 120)
                .unwrap_err()
                .code()
        };
        assert_eq!(code(target(b"{\"since\":1}"), now), "pop_mismatch");
        assert_eq!(
            code(
                SignedRequestTarget {
                    method: "GET",
                    ..target(b"{\"since\":0}")
                },
                now
            ),
            "pop_mismatch"
        );
        assert_eq!(
            code(
                SignedRequestTarget {
                    url: "https://dmch.example/other",
                    ..target(b"{\"since\":0}")
                },
                now
            ),
            "pop_mismatch"
        );
        assert_eq!(
            code(
                SignedRequestTarget {
                    nonce: b"fedcba9876543210",
                    ..target(b"{\"since\":0}")
                },
                now
            ),
            "pop_mismatch"
        );
        assert_eq!(
            code(target(b"{\"since\":0}"), NumericDate(now.0 + 121)),
            "pop_stale"
        );
        assert_eq!(
            code(target(b"{\"since\":0}"), NumericDate(now.0 - 121)),
            "pop_stale"
        );
    }

    #[test]
    fn forged_or_foreign_texts_are_refused() {
        let key = Es256KeyPair::generate().unwrap();
        let now = NumericDate(1_800_000_000);
        let text = SignedRequest::create(&key, &target(b""), now).unwrap();
        // Flip one byte of the signature.
        let mut raw = crate::b64::decode(&text).unwrap();
        let n = raw.len();
        raw[n - 1] ^= 1;
        let forged = crate::b64::encode(&raw);
        assert_eq!(
            SignedRequest::decode(&forged).unwrap_err().code(),
            "bad_signature"
        );
        // A PoP proof is not a signed request.
        let pop = super::super::PopProof::create(
            &key,
            [7; 16],
            &super::super::PopRequest {
                method: "POST",
                url: URL,
                nonce: b"0123456789abcdef",
                body: b"",
            },
            now,
        )
        .unwrap();
        assert_eq!(
            SignedRequest::decode(&pop).unwrap_err().code(),
            "kind_mismatch"
        );
        assert_eq!(SignedRequest::decode("").unwrap_err().code(), "empty");
        assert_eq!(
            SignedRequest::decode("***").unwrap_err().code(),
            "base64_invalid"
        );
        let other = Es256KeyPair::generate().unwrap();
        let mut r = SignedRequest::decode(&text).unwrap();
        assert!(r.sign(&other).is_err());
        r.method = "get".into();
        assert!(r.sign(&key).is_err());
    }
}
