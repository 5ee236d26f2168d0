//! `spondon-core`: the formats and cryptography every Spondon part shares.
//!
//! No I/O and no async: every function here takes bytes or values and returns bytes, values or a
//! specific error. Time is always passed in by the caller, so verification is reproducible.

pub mod b64;
pub mod keys;
pub mod qr;
pub mod shc;
pub mod shl;
pub mod time;
pub mod token;

pub use keys::{
    Ed25519KeyPair, Ed25519PublicKey, Es256KeyPair, Es256PublicKey, Jwk, Jwks, KeyError,
};
pub use time::NumericDate;
