//! `spondon-core`: the formats and cryptography every Spondon part shares.
//!
//! No I/O and no async: every function here takes bytes or values and returns bytes, values or a
//! specific error. Time is always passed in by the caller, so verification is reproducible.
//!
//! - [`token`]: Spondon's signed tokens (grant, revocation, enrollment and doctor credentials,
//!   trust list, proof of possession): COSE_Sign1 + CWT + base45, specified in `docs/protocol.md`.
//! - [`emergency`]: emergency (break-glass) access requests, the patient's policy and disputes,
//!   and the logged event, with their checks.
//! - [`stats`]: de-identified statistics: suppression, the signed aggregate, merging.
//! - [`client_assertion`]: OAuth 2.0 client assertions (RFC 7523, SMART Backend Services): strict
//!   JWT decoding and ES384 / RS384 verification against a registered JWK Set.
//! - [`qr`]: QR rendering (SVG, PNG) and reading QR codes from images.
//! - [`shc`], [`shl`]: SMART Health Cards (issue, parse, verify against a trusted directory) and
//!   SMART Health Links (the link payload and its encrypted file).
//! - [`keys`], [`b64`], [`time`]: the key types (ES256 [`Es256KeyPair`], Ed25519
//!   [`Ed25519KeyPair`], JWK), base64url, and [`NumericDate`] (whole seconds since the Unix
//!   epoch, 1970 to 9999).
//!
//! The modules are the namespaces callers import from (`spondon_core::token::Grant`,
//! `spondon_core::keys::sha256`); the most used types are also re-exported here.
//!
//! A patient signs a revocation of everything issued before now; anyone can decode it and
//! check its signature against the patient key it carries:
//!
//! ```
//! use spondon_core::token::{Revocation, RevocationTarget, TokenClaims, TrustAnchors, decode_any};
//! use spondon_core::{Es256KeyPair, NumericDate};
//!
//! let patient = Es256KeyPair::generate()?;
//! let now = NumericDate(1_780_000_000);
//! let text = Revocation {
//!     id: [7; 16],
//!     patient_key: patient.public_key().clone(),
//!     target: RevocationTarget::IssuedBefore { before: now },
//!     issued_at: now,
//! }
//! .sign(&patient)?;
//! assert!(text.starts_with("SPONDON:1:"));
//!
//! let parsed = decode_any(&text)?;
//! parsed.verify(&TrustAnchors::default(), now)?;
//! assert!(matches!(parsed.claims, TokenClaims::Revocation(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod b64;
pub mod client_assertion;
pub mod emergency;
pub mod keys;
pub mod qr;
pub mod shc;
pub mod shl;
pub mod stats;
pub mod time;
pub mod token;

pub use keys::{
    ES256_BACKEND, Ed25519KeyPair, Ed25519PublicKey, Es256KeyPair, Es256PublicKey, Es256Verifier,
    Jwk, Jwks, KeyError,
};
pub use qr::QrError;
pub use time::NumericDate;
pub use token::{ParsedToken, TokenError, TokenKind, TrustAnchors};
