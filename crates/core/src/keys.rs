//! Signing keys: ES256 (ECDSA P-256 with SHA-256) for every actor, Ed25519 for transparency-log
//! checkpoints and cosignatures (the C2SP formats require it).
//!
//! Private keys never print (their `Debug` is redacted) and their secret bytes are zeroized on
//! drop. The private scalar is kept in a [`Zeroizing`] buffer and the `ring` key object is rebuilt
//! for each signature, so no long-lived copy of the secret exists outside memory this crate wipes.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;

/// What can go wrong with a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The system's random number generator failed; no key or signature was made.
    #[error("the system random number generator failed")]
    Random,
    /// The JWK's `kty` is not `EC`.
    #[error("JWK \"kty\" is {0:?}, expected \"EC\"")]
    WrongKeyType(String),
    /// The JWK's `crv` is not `P-256`.
    #[error("JWK \"crv\" is {0:?}, expected \"P-256\"")]
    WrongCurve(String),
    /// A JWK member the key needs (`x`, `y`, `d`) is absent.
    #[error("JWK is missing the {0:?} member")]
    MissingMember(&'static str),
    /// A coordinate or scalar is not 32 bytes of base64url.
    #[error("JWK member {0:?} is not 32 bytes of base64url")]
    BadCoordinate(&'static str),
    /// A JWK given as public carries the private scalar `d`.
    #[error("a public JWK must not contain the private member \"d\"")]
    PrivateKeyInPublicJwk,
    /// The point is not on P-256 (or is the point at infinity).
    #[error("the point is not a valid P-256 public key")]
    InvalidPublicKey,
    /// The private scalar is out of range or does not match the public key.
    #[error("the private key does not match its public key, or is out of range")]
    InvalidPrivateKey,
    /// A PKCS#8 document other than an unencrypted P-256 key as this crate writes it.
    #[error(
        "unsupported PKCS#8 document (expected an unencrypted P-256 key as this crate writes it)"
    )]
    UnsupportedPkcs8,
    /// An ES256 signature was not 64 bytes (raw `R ‖ S`; DER is refused).
    #[error("signature is {0} bytes; ES256 signatures are exactly 64 bytes (raw R‖S, not DER)")]
    SignatureLength(usize),
    /// An Ed25519 signature was not 64 bytes.
    #[error("Ed25519 signatures are exactly 64 bytes, got {0}")]
    Ed25519SignatureLength(usize),
    /// An Ed25519 public key was not 32 bytes.
    #[error("Ed25519 public keys are exactly 32 bytes, got {0}")]
    Ed25519KeyLength(usize),
    /// The signature does not verify under the key.
    #[error("signature does not verify")]
    BadSignature,
}

impl KeyError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Random => "random_failed",
            Self::WrongKeyType(_) => "jwk_wrong_kty",
            Self::WrongCurve(_) => "jwk_wrong_crv",
            Self::MissingMember(_) => "jwk_missing_member",
            Self::BadCoordinate(_) => "jwk_bad_coordinate",
            Self::PrivateKeyInPublicJwk => "jwk_private_in_public",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::InvalidPrivateKey => "invalid_private_key",
            Self::UnsupportedPkcs8 => "unsupported_pkcs8",
            Self::SignatureLength(_) | Self::Ed25519SignatureLength(_) => "signature_length",
            Self::Ed25519KeyLength(_) => "key_length",
            Self::BadSignature => "bad_signature",
        }
    }
}

fn rng() -> SystemRandom {
    SystemRandom::new()
}

/// Fills a fresh array with cryptographically secure random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    rng().fill(&mut out).map_err(|_| KeyError::Random)?;
    Ok(out)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

// ---------------------------------------------------------------------------------------------
// JWK

/// A JSON Web Key (RFC 7517) as found in a JWKS. Members are optional here so that a set can be
/// parsed leniently and each key judged on its own; [`Es256PublicKey::from_jwk`] does the judging.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwk {
    /// Key type: `EC` for every key Spondon uses.
    pub kty: String,
    /// Key id: Spondon writes the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use (`sig` for signing keys).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Algorithm (`ES256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Curve (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The x coordinate, 32 bytes of base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate, 32 bytes of base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The private scalar. Present only in private JWKs; never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// An X.509 chain for the key (SMART Health Cards directories), base64 DER, leaf first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// SMART Health Cards revocation: the current version of this key's CRL.
    #[serde(
        rename = "crlVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub crl_version: Option<u64>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("use", &self.use_)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &self.d.as_ref().map(|_| "[redacted]"))
            .field("x5c", &self.x5c.as_ref().map(Vec::len))
            .field("crl_version", &self.crl_version)
            .finish()
    }
}

/// A JSON Web Key Set (`{"keys": [...]}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwks {
    /// The keys, in the set's order.
    pub keys: Vec<Jwk>,
}

// ---------------------------------------------------------------------------------------------
// ES256

/// A P-256 public key, kept as the 65-byte uncompressed SEC1 point, with its RFC 7638 thumbprint.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Es256PublicKey {
    sec1: [u8; 65],
    kid: String,
}

impl fmt::Debug for Es256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Es256PublicKey({})", self.kid)
    }
}

impl Es256PublicKey {
    /// From the uncompressed SEC1 encoding `0x04 ‖ X ‖ Y`. Whether the point is on the curve is
    /// checked when a signature is verified (ring or aws-lc-rs validates the point then).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let sec1: [u8; 65] = bytes.try_into().map_err(|_| KeyError::InvalidPublicKey)?;
        if sec1[0] != 0x04 {
            return Err(KeyError::InvalidPublicKey);
        }
        let kid = thumbprint(&sec1);
        Ok(Es256PublicKey { sec1, kid })
    }

    /// From a public JWK. Requires `kty: EC`, `crv: P-256`, 32-byte `x` and `y`, and no `d`.
    /// `use`, `alg` and `kid` are policy of the format that carries the key and are not checked.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.d.is_some() {
            return Err(KeyError::PrivateKeyInPublicJwk);
        }
        Self::from_jwk_coordinates(jwk)
    }

    fn from_jwk_coordinates(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.kty != "EC" {
            return Err(KeyError::WrongKeyType(jwk.kty.clone()));
        }
        match jwk.crv.as_deref() {
            Some("P-256") => {}
            Some(other) => return Err(KeyError::WrongCurve(other.to_owned())),
            None => return Err(KeyError::MissingMember("crv")),
        }
        let x = jwk.x.as_deref().ok_or(KeyError::MissingMember("x"))?;
        let y = jwk.y.as_deref().ok_or(KeyError::MissingMember("y"))?;
        let x: [u8; 32] = b64::decode_array(x).ok_or(KeyError::BadCoordinate("x"))?;
        let y: [u8; 32] = b64::decode_array(y).ok_or(KeyError::BadCoordinate("y"))?;
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(&x);
        sec1[33..].copy_from_slice(&y);
        Self::from_sec1(&sec1)
    }

    /// The uncompressed SEC1 point.
    pub fn sec1(&self) -> &[u8; 65] {
        &self.sec1
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): this key's `kid` everywhere in Spondon.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK with `kid`, `use: sig` and `alg: ES256`, as SMART Health Cards publish it.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "EC".into(),
            kid: Some(self.kid.clone()),
            use_: Some("sig".into()),
            alg: Some("ES256".into()),
            crv: Some("P-256".into()),
            x: Some(b64::encode(&self.sec1[1..33])),
            y: Some(b64::encode(&self.sec1[33..])),
            ..Jwk::default()
        }
    }

    /// Verifies a raw `R ‖ S` ES256 signature (64 bytes) over `message`, with the crate's
    /// ES256 backend ([`ES256_BACKEND`]).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if signature.len() != 64 {
            return Err(KeyError::SignatureLength(signature.len()));
        }
        es256_backend::verify(&self.sec1, message, signature)
    }

    /// This key made ready for many verifications ([`Es256Verifier`]).
    pub fn verifier(&self) -> Es256Verifier {
        Es256Verifier::new(self)
    }
}

/// The library that verifies ES256 signatures in this build: `"aws-lc-rs"` with the `aws-lc`
/// feature (the servers: faster here), else `"ring"` (phones, WebAssembly). Both implement the
/// same verification (FIPS 186-5 ECDSA over P-256 with SHA-256, a 64-byte `R ‖ S`, the point
/// uncompressed and on the curve, `R` and `S` in `[1, n−1]`, no low-`S` rule), so a signature
/// gets the same outcome from either; a test checks that on edge cases and the published vectors.
pub const ES256_BACKEND: &str = es256_backend::NAME;

/// A P-256 public key made ready for many ES256 verifications: with aws-lc-rs, the point is
/// decoded and checked once (`ParsedPublicKey`) instead of at each verification; with ring
/// (which has no such API), the encoded point. [`Es256Verifier::verify`] gives exactly the
/// outcome of [`Es256PublicKey::verify`].
pub struct Es256Verifier(es256_backend::Prepared);

impl fmt::Debug for Es256Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Es256Verifier")
    }
}

impl Clone for Es256Verifier {
    fn clone(&self) -> Self {
        Es256Verifier(self.0.clone())
    }
}

impl Es256Verifier {
    /// Prepares `key`. A point that is not on the curve is not an error here: like
    /// [`Es256PublicKey::verify`], every verification with it fails with `BadSignature`.
    pub fn new(key: &Es256PublicKey) -> Self {
        Es256Verifier(es256_backend::Prepared::new(&key.sec1))
    }

    /// [`Es256PublicKey::verify`] with the prepared key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if signature.len() != 64 {
            return Err(KeyError::SignatureLength(signature.len()));
        }
        self.0.verify(message, signature)
    }
}

/// ES256 verification with ring.
#[cfg_attr(feature = "aws-lc", allow(dead_code))]
mod es256_ring {
    use super::KeyError;
    use ring::signature;

    pub(super) const NAME: &str = "ring";

    pub(super) fn verify(sec1: &[u8; 65], message: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &sec1[..])
            .verify(message, sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// ring has no parsed public key: the point is decoded at each verification.
    #[derive(Clone)]
    pub(super) struct Prepared([u8; 65]);

    impl Prepared {
        pub(super) fn new(sec1: &[u8; 65]) -> Self {
            Prepared(*sec1)
        }
        pub(super) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), KeyError> {
            verify(&self.0, message, sig)
        }
    }
}

/// ES256 verification with aws-lc-rs.
#[cfg(feature = "aws-lc")]
mod es256_aws_lc {
    use super::KeyError;
    use aws_lc_rs::signature;

    pub(super) const NAME: &str = "aws-lc-rs";

    pub(super) fn verify(sec1: &[u8; 65], message: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &sec1[..])
            .verify(message, sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The point decoded and checked once; `None`: it is not a valid P-256 point, and every
    /// signature fails, as with [`verify`].
    #[derive(Clone)]
    pub(super) struct Prepared(Option<signature::ParsedPublicKey>);

    impl Prepared {
        pub(super) fn new(sec1: &[u8; 65]) -> Self {
            Prepared(
                signature::ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &sec1[..])
                    .ok(),
            )
        }
        pub(super) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), KeyError> {
            match &self.0 {
                Some(key) => key
                    .verify_sig(message, sig)
                    .map_err(|_| KeyError::BadSignature),
                None => Err(KeyError::BadSignature),
            }
        }
    }
}

#[cfg(not(feature = "aws-lc"))]
use es256_ring as es256_backend;

#[cfg(feature = "aws-lc")]
use es256_aws_lc as es256_backend;

/// RFC 7638 thumbprint of a P-256 key: SHA-256 over the lexicographically ordered required members.
fn thumbprint(sec1: &[u8; 65]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64::encode(&sec1[1..33]),
        b64::encode(&sec1[33..])
    );
    b64::encode(sha256(canonical.as_bytes()))
}

/// An ES256 signing key. The private scalar is zeroized on drop and never printed.
pub struct Es256KeyPair {
    d: Zeroizing<[u8; 32]>,
    public: Es256PublicKey,
}

impl fmt::Debug for Es256KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Es256KeyPair")
            .field("public", &self.public)
            .field("d", &"[redacted]")
            .finish()
    }
}

/// The PKCS#8 v1 layout ring writes for P-256 keys: a fixed prefix, the 32-byte scalar, a fixed
/// middle and the 65-byte public point.
const PKCS8_PREFIX: [u8; 36] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02,
    0x01, 0x01, 0x04, 0x20,
];
const PKCS8_MIDDLE: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
const PKCS8_LEN: usize = PKCS8_PREFIX.len() + 32 + PKCS8_MIDDLE.len() + 65;

impl Es256KeyPair {
    /// A fresh key from the system's secure random generator.
    pub fn generate() -> Result<Self, KeyError> {
        let doc = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng(),
        )
        .map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// From the private scalar and the public point; checks that they belong together.
    pub fn from_parts(d: &[u8; 32], public: Es256PublicKey) -> Result<Self, KeyError> {
        let pair = Es256KeyPair {
            d: Zeroizing::new(*d),
            public,
        };
        pair.ring_key()?;
        Ok(pair)
    }

    /// From a private JWK (`kty: EC`, `crv: P-256`, `x`, `y`, `d`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let public = Es256PublicKey::from_jwk_coordinates(jwk)?;
        let d = jwk.d.as_deref().ok_or(KeyError::MissingMember("d"))?;
        let d: Zeroizing<[u8; 32]> =
            Zeroizing::new(b64::decode_array(d).ok_or(KeyError::BadCoordinate("d"))?);
        Self::from_parts(&d, public)
    }

    /// From an unencrypted PKCS#8 document in the layout [`Es256KeyPair::to_pkcs8`] writes.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        if der.len() != PKCS8_LEN || der[..36] != PKCS8_PREFIX || der[68..73] != PKCS8_MIDDLE {
            return Err(KeyError::UnsupportedPkcs8);
        }
        let mut d = Zeroizing::new([0u8; 32]);
        d.copy_from_slice(&der[36..68]);
        let public = Es256PublicKey::from_sec1(&der[73..])?;
        Self::from_parts(&d, public)
    }

    /// The unencrypted PKCS#8 document (RFC 5958). Wrap it before it goes anywhere.
    pub fn to_pkcs8(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(PKCS8_LEN));
        out.extend_from_slice(&PKCS8_PREFIX);
        out.extend_from_slice(&self.d[..]);
        out.extend_from_slice(&PKCS8_MIDDLE);
        out.extend_from_slice(self.public.sec1());
        out
    }

    /// The private JWK (with `d`), e.g. for a test fixture. Handle as a secret.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public.to_jwk();
        jwk.d = Some(b64::encode(&self.d[..]));
        let text = serde_json::to_string(&jwk).unwrap_or_default();
        if let Some(d) = jwk.d.as_mut() {
            zeroize::Zeroize::zeroize(d);
        }
        Zeroizing::new(text)
    }

    /// The public half.
    pub fn public_key(&self) -> &Es256PublicKey {
        &self.public
    }

    /// The RFC 7638 thumbprint of the public key, as used for `kid`.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    fn ring_key(&self) -> Result<signature::EcdsaKeyPair, KeyError> {
        signature::EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &self.d[..],
            self.public.sec1(),
            &rng(),
        )
        .map_err(|_| KeyError::InvalidPrivateKey)
    }

    /// Signs `message`, returning the raw `R ‖ S` signature JOSE and COSE use.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let key = self.ring_key()?;
        let sig = key.sign(&rng(), message).map_err(|_| KeyError::Random)?;
        sig.as_ref()
            .try_into()
            .map_err(|_| KeyError::SignatureLength(sig.as_ref().len()))
    }
}

// ---------------------------------------------------------------------------------------------
// Ed25519

/// An Ed25519 public key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ed25519PublicKey([u8; 32]);

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({})", b64::encode(self.0))
    }
}

impl Ed25519PublicKey {
    /// The key from its 32 raw bytes (RFC 8032); any other length is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Ed25519KeyLength(bytes.len()))?;
        Ok(Ed25519PublicKey(key))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks an Ed25519 signature (64 bytes) over `message`; `Ok` only if it verifies.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if signature.len() != 64 {
            return Err(KeyError::Ed25519SignatureLength(signature.len()));
        }
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0[..])
            .verify(message, signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// An Ed25519 signing key, held as its 32-byte seed (zeroized on drop, never printed).
pub struct Ed25519KeyPair {
    seed: Zeroizing<[u8; 32]>,
    public: Ed25519PublicKey,
}

impl fmt::Debug for Ed25519KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519KeyPair")
            .field("public", &self.public)
            .field("seed", &"[redacted]")
            .finish()
    }
}

impl Ed25519KeyPair {
    /// A fresh key from the system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let seed = Zeroizing::new(random_bytes::<32>()?);
        Self::from_seed(&seed)
    }

    /// From the 32-byte RFC 8032 private key ("seed").
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let pair = signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| KeyError::InvalidPrivateKey)?;
        let public = Ed25519PublicKey::from_bytes(pair.public_key().as_ref())?;
        Ok(Ed25519KeyPair {
            seed: Zeroizing::new(*seed),
            public,
        })
    }

    /// The 32-byte seed. Handle as a secret.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public half.
    pub fn public_key(&self) -> &Ed25519PublicKey {
        &self.public
    }

    /// Signs `message` (RFC 8032, deterministic).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let pair = signature::Ed25519KeyPair::from_seed_and_public_key(
            &self.seed[..],
            self.public.as_bytes(),
        )
        .map_err(|_| KeyError::InvalidPrivateKey)?;
        let sig = pair.sign(message);
        sig.as_ref()
            .try_into()
            .map_err(|_| KeyError::Ed25519SignatureLength(sig.as_ref().len()))
    }
}

/// ring and aws-lc-rs judge every ES256 signature alike: valid ones, the published cards', and
/// the edge cases (a scalar of zero or ≥ n, the other `S`, points off the curve or with a
/// coordinate ≥ p), with an unparsed key and with a prepared one.
#[cfg(all(test, feature = "aws-lc"))]
mod backend_tests {
    use super::*;

    /// The order of P-256, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    /// The field prime of P-256, big-endian.
    const P: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff,
    ];

    /// `a − b` on 32-byte big-endian numbers (wrapping).
    fn sub(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
            borrow = i16::from(d < 0);
            if d < 0 {
                d += 256;
            }
            out[i] = d as u8;
        }
        out
    }

    /// Both backends, unparsed and prepared: the one outcome they share.
    fn judge(sec1: &[u8; 65], message: &[u8], sig: &[u8; 64]) -> bool {
        let ring = es256_ring::verify(sec1, message, sig).is_ok();
        let aws = es256_aws_lc::verify(sec1, message, sig).is_ok();
        let ring_prepared = es256_ring::Prepared::new(sec1).verify(message, sig).is_ok();
        let aws_prepared = es256_aws_lc::Prepared::new(sec1)
            .verify(message, sig)
            .is_ok();
        assert_eq!(
            (ring, ring_prepared, aws_prepared),
            (aws, aws, aws),
            "ring, ring prepared, aws-lc-rs prepared vs aws-lc-rs on {} {:02x?}",
            b64::encode(sec1),
            sig
        );
        aws
    }

    fn with(sig: &[u8; 64], r: Option<[u8; 32]>, s: Option<[u8; 32]>) -> [u8; 64] {
        let mut out = *sig;
        if let Some(r) = r {
            out[..32].copy_from_slice(&r);
        }
        if let Some(s) = s {
            out[32..].copy_from_slice(&s);
        }
        out
    }

    /// The edge cases of one valid signature of `message` by `sec1`.
    fn edge_cases(sec1: &[u8; 65], message: &[u8], sig: &[u8; 64]) {
        assert!(judge(sec1, message, sig), "the signature itself");
        let r: [u8; 32] = sig[..32].try_into().unwrap_or_default();
        let s: [u8; 32] = sig[32..].try_into().unwrap_or_default();
        // (r, n − s) is the other valid signature: neither library has a low-S rule.
        assert!(judge(sec1, message, &with(sig, None, Some(sub(&N, &s)))));
        let zero = [0u8; 32];
        let ones = [0xffu8; 32];
        let mut one = [0u8; 32];
        one[31] = 1;
        for bad in [zero, N, ones, one, sub(&N, &one)] {
            assert!(!judge(sec1, message, &with(sig, Some(bad), None)));
            assert!(!judge(sec1, message, &with(sig, None, Some(bad))));
        }
        // r + n and s + n do not fit 32 bytes for P-256 except when r < 2^256 − n: try r − n
        // wrapped (a scalar ≥ n that is ≡ r mod n).
        let r_plus_n = sub(&r, &sub(&zero, &N));
        if r_plus_n > r {
            assert!(!judge(sec1, message, &with(sig, Some(r_plus_n), None)));
        }
        let mut other = message.to_vec();
        other.push(0);
        assert!(!judge(sec1, &other, sig));
        for bit in [0, 7, 100, 255, 256, 300, 511] {
            let mut flipped = *sig;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(!judge(sec1, message, &flipped));
        }
        // Points that are not keys: off the curve, x = p, zeros, y negated (on the curve, a
        // different key).
        let mut off = *sec1;
        off[64] ^= 1;
        assert!(!judge(&off, message, sig));
        let mut x_is_p = *sec1;
        x_is_p[1..33].copy_from_slice(&P);
        assert!(!judge(&x_is_p, message, sig));
        let mut zeros = [0u8; 65];
        zeros[0] = 4;
        assert!(!judge(&zeros, message, sig));
        let mut negated = *sec1;
        let y: [u8; 32] = sec1[33..].try_into().unwrap_or_default();
        negated[33..].copy_from_slice(&sub(&P, &y));
        assert!(!judge(&negated, message, sig));
    }

    #[test]
    fn ring_and_aws_lc_agree_on_fresh_signatures_and_edge_cases() {
        for i in 0..40u32 {
            let key = Es256KeyPair::generate().unwrap();
            let message = format!("message {i}").repeat(i as usize % 7 + 1);
            let sig = key.sign(message.as_bytes()).unwrap();
            edge_cases(key.public_key().sec1(), message.as_bytes(), &sig);
        }
    }

    #[test]
    fn ring_and_aws_lc_agree_on_the_published_cards() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shc");
        let jwks: Jwks = serde_json::from_str(
            &std::fs::read_to_string(root.join("issuer/.well-known/jwks.json")).unwrap(),
        )
        .unwrap();
        let keys: Vec<Es256PublicKey> = jwks
            .keys
            .iter()
            .filter_map(|k| Es256PublicKey::from_jwk(k).ok())
            .collect();
        let mut verified = 0;
        for n in 0..4 {
            let jws =
                std::fs::read_to_string(root.join(format!("example-0{n}-d-jws.txt"))).unwrap();
            let (input, sig) = jws.trim().rsplit_once('.').unwrap();
            let sig: [u8; 64] = b64::decode(sig).unwrap().try_into().unwrap();
            for key in &keys {
                if judge(key.sec1(), input.as_bytes(), &sig) {
                    edge_cases(key.sec1(), input.as_bytes(), &sig);
                    verified += 1;
                }
            }
        }
        assert_eq!(verified, 4, "each published card verifies with one key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_round_trip_and_pkcs8() {
        let key = Es256KeyPair::generate().unwrap();
        let sig = key.sign(b"hello").unwrap();
        key.public_key().verify(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify(b"hellp", &sig),
            Err(KeyError::BadSignature)
        );
        let again = Es256KeyPair::from_pkcs8(&key.to_pkcs8()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        again
            .public_key()
            .verify(b"hello", &again.sign(b"hello").unwrap())
            .unwrap();
    }

    #[test]
    fn der_signature_is_rejected_by_length() {
        let key = Es256KeyPair::generate().unwrap();
        assert_eq!(
            key.public_key().verify(b"m", &[0u8; 71]),
            Err(KeyError::SignatureLength(71))
        );
    }

    #[test]
    fn debug_never_prints_secrets() {
        let key = Es256KeyPair::generate().unwrap();
        let jwk: Jwk = serde_json::from_str(&key.to_private_jwk()).unwrap();
        let d = jwk.d.clone().unwrap();
        assert!(!format!("{key:?}").contains(&d));
        assert!(!format!("{jwk:?}").contains(&d));
        let round = Es256KeyPair::from_jwk(&jwk).unwrap();
        assert_eq!(round.public_key(), key.public_key());
        assert_eq!(
            Es256PublicKey::from_jwk(&jwk),
            Err(KeyError::PrivateKeyInPublicJwk)
        );
        let ed = Ed25519KeyPair::generate().unwrap();
        assert!(!format!("{ed:?}").contains(&b64::encode(ed.seed())));
    }

    #[test]
    fn mismatched_private_key_is_rejected() {
        let a = Es256KeyPair::generate().unwrap();
        let b = Es256KeyPair::generate().unwrap();
        let mut jwk = b.public_key().to_jwk();
        let a_jwk: Jwk = serde_json::from_str(&a.to_private_jwk()).unwrap();
        jwk.d = a_jwk.d;
        assert_eq!(
            Es256KeyPair::from_jwk(&jwk).map(|_| ()),
            Err(KeyError::InvalidPrivateKey)
        );
    }

    /// RFC 7638 §3.1 gives an RSA example only; this checks the EC member order against the
    /// thumbprint the SMART Health Cards spec publishes for its example issuer key.
    #[test]
    fn thumbprint_matches_smart_health_cards_example_kid() {
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some("11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw".into()),
            y: Some("eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8".into()),
            ..Jwk::default()
        };
        let key = Es256PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s");
    }

    #[test]
    fn ed25519_rfc8032_test_1() {
        // RFC 8032 §7.1 TEST 1.
        let seed: [u8; 32] =
            hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = Ed25519KeyPair::from_seed(&seed).unwrap();
        assert_eq!(
            key.public_key().as_bytes().to_vec(),
            hex_decode::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
                .to_vec()
        );
        let sig = key.sign(b"").unwrap();
        assert_eq!(
            sig.to_vec(),
            hex_decode::<64>(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
            .to_vec()
        );
        key.public_key().verify(b"", &sig).unwrap();
        assert_eq!(
            key.public_key().verify(b"x", &sig),
            Err(KeyError::BadSignature)
        );
    }

    fn hex_decode<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
