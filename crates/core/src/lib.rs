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
    Ed25519KeyPair, Ed25519PublicKey, Es256KeyPair, Es256PublicKey, Jwk, Jwks, KeyError,
};
pub use qr::QrError;
pub use time::NumericDate;
pub use token::{ParsedToken, TokenError, TokenKind, TrustAnchors};
