//! The shared wire form of the two request tokens signed by the key they carry —
//! [`super::PopProof`] (kind 6) and [`super::SignedRequest`] (kind 7): a CWT with only `iat`,
//! `cti` and the Spondon claim `{0: kind, 2: SEC1 key, 3: method, 4: url, 5: nonce, 6: <N bytes>}`
//! in a COSE_Sign1 whose header kid is the key's thumbprint. They differ in the kind, the size
//! limit and the meaning of field 6 (grant id, body hash).

use super::cbor;
use super::claims::{self, ClaimsBuilder};
use super::{TokenError, TokenKind};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

pub(crate) const F_KEY: i64 = 2;
pub(crate) const F_METHOD: i64 = 3;
pub(crate) const F_URL: i64 = 4;
pub(crate) const F_NONCE: i64 = 5;
/// Field 6: the grant id (16 bytes) of a proof, the body hash (32 bytes) of a signed request.
pub(crate) const F_EXTRA: i64 = 6;
/// PoP only: SHA-256 of the request body.
pub(crate) const F_BODY: i64 = 7;

/// What distinguishes one self-signed kind from the other in decoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub kind: TokenKind,
    /// Longest accepted text.
    pub max: usize,
    /// "a proof", "a signed request" (in error messages).
    pub what: &'static str,
    /// Field 6's name in error messages.
    pub extra: &'static str,
    /// The Spondon claim's name in error messages.
    pub claim: &'static str,
    /// Whether field 7 (the body hash) is required (PoP) rather than refused.
    pub body: bool,
}

/// The decoded, signature-checked common content.
#[derive(Debug)]
pub(crate) struct SelfSigned<const N: usize> {
    pub id: [u8; 16],
    pub key: Es256PublicKey,
    pub method: String,
    pub url: String,
    pub nonce: Vec<u8>,
    pub extra: [u8; N],
    pub body_hash: Option<[u8; 32]>,
    pub issued_at: NumericDate,
}

/// Checks the request fields both kinds share.
pub(crate) fn validate(
    method: &str,
    url: &str,
    nonce: &[u8],
    issued_at: NumericDate,
) -> Result<(), TokenError> {
    if method.is_empty() || method.len() > 16 || !method.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(TokenError::OutOfRange {
            field: "method (-65537 / 3)",
            reason: "1..=16 upper-case letters".into(),
        });
    }
    claims::check_url(url, "url (-65537 / 4)")?;
    if nonce.len() < 8 || nonce.len() > 64 {
        return Err(TokenError::OutOfRange {
            field: "nonce (-65537 / 5)",
            reason: "8..=64 bytes".into(),
        });
    }
    claims::check_date(issued_at, "iat (6)")
}

/// The common content of a token about to be signed, borrowed from the kind's struct.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToSign<'a> {
    pub id: &'a [u8; 16],
    pub key: &'a Es256PublicKey,
    pub method: &'a str,
    pub url: &'a str,
    pub nonce: &'a [u8],
    /// Field 6.
    pub extra: &'a [u8],
    /// Field 7 (PoP only).
    pub body_hash: Option<&'a [u8; 32]>,
    pub issued_at: NumericDate,
}

/// Validates and signs a self-signed token of `kind` with `signer`, which must hold the key the
/// token carries (`wrong_key` is the refusal otherwise); returns its base64url text.
pub(crate) fn sign(
    kind: TokenKind,
    signer: &Es256KeyPair,
    t: &ToSign<'_>,
    wrong_key: &'static str,
) -> Result<String, TokenError> {
    validate(t.method, t.url, t.nonce, t.issued_at)?;
    if signer.public_key() != t.key {
        return Err(TokenError::Invalid(wrong_key));
    }
    let payload = ClaimsBuilder::new(kind)
        .date(claims::CLAIM_IAT, t.issued_at)
        .claim(claims::CLAIM_CTI, cbor::bytes(t.id))
        .field(F_KEY, cbor::bytes(t.key.sec1()))
        .field(F_METHOD, cbor::text(t.method))
        .field(F_URL, cbor::text(t.url))
        .field(F_NONCE, cbor::bytes(t.nonce))
        .field(F_EXTRA, cbor::bytes(t.extra))
        .opt_field(F_BODY, t.body_hash.map(|h| cbor::bytes(h)))
        .encode()?;
    let cose = super::cose::sign(signer, Some(&claims::kid_bytes(t.key)), payload)?;
    Ok(crate::b64::encode(cose))
}

/// The request URL as signed (DPoP `htu`): query and fragment removed.
pub(crate) fn htu(url: &str) -> Result<String, TokenError> {
    let mut u = url::Url::parse(url).map_err(|e| TokenError::InvalidUrl {
        field: "url",
        reason: e.to_string(),
    })?;
    u.set_query(None);
    u.set_fragment(None);
    // The one spelling of a bare origin has no trailing "/" (claims::check_url).
    let s = u.to_string();
    Ok(match (u.path(), s.strip_suffix('/')) {
        ("/", Some(bare)) => bare.to_owned(),
        _ => s,
    })
}

/// Decodes a self-signed token of `spec.kind` and checks its signature by the key it carries
/// (whose thumbprint must be the header kid): size limit, base64url, COSE, kind, closed claim
/// set (`iat`, `cti`, -65537), the fields, their ranges, kid, signature — in that order.
pub(crate) fn decode_self_signed<const N: usize>(
    text: &str,
    spec: &Spec,
) -> Result<SelfSigned<N>, TokenError> {
    if text.is_empty() {
        return Err(TokenError::Empty);
    }
    if text.len() > spec.max {
        return Err(TokenError::TooLarge {
            len: text.len(),
            max: spec.max,
        });
    }
    let bytes = crate::b64::decode(text).map_err(|_| TokenError::Base64)?;
    let sign1 = super::cose::decode(&bytes)?;
    let mut env = claims::parse(&sign1.payload)?;
    if env.kind != spec.kind {
        return Err(TokenError::KindMismatch {
            expected: spec.kind.name(),
            found: env.kind.name(),
        });
    }
    if env.iss.is_some()
        || env.sub.is_some()
        || env.cnf.is_some()
        || env.exp.is_some()
        || env.nbf.is_some()
    {
        return Err(TokenError::UnknownField(format!(
            "only iat (6), cti (7) and -65537 in {}",
            spec.what
        )));
    }
    let f = &mut env.fields;
    let key = claims::parse_sec1(
        f.require(F_KEY.into(), "key (-65537 / 2)")?,
        "key (-65537 / 2)",
    )?;
    let method = cbor::as_text(
        f.require(F_METHOD.into(), "method (-65537 / 3)")?,
        "method (-65537 / 3)",
        16,
    )?;
    let url = cbor::as_text(
        f.require(F_URL.into(), "url (-65537 / 4)")?,
        "url (-65537 / 4)",
        256,
    )?;
    let nonce = cbor::as_bytes(
        f.require(F_NONCE.into(), "nonce (-65537 / 5)")?,
        "nonce (-65537 / 5)",
    )?;
    let extra = cbor::as_byte_array::<N>(f.require(F_EXTRA.into(), spec.extra)?, spec.extra)?;
    let body_hash = if spec.body {
        Some(cbor::as_byte_array::<32>(
            f.require(F_BODY.into(), "body hash (-65537 / 7)")?,
            "body hash (-65537 / 7)",
        )?)
    } else {
        None
    };
    f.deny_rest(spec.claim)?;
    let id = super::grant::cti16(env.cti)?;
    let issued_at = env.iat.ok_or(TokenError::MissingField("iat (6)"))?;
    validate(&method, &url, &nonce, issued_at)?;
    if sign1.kid.as_deref() != Some(&claims::kid_bytes(&key)[..]) {
        return Err(TokenError::KidMismatch);
    }
    sign1.verify_with(&key)?;
    Ok(SelfSigned {
        id,
        key,
        method,
        url,
        nonce,
        extra,
        body_hash,
        issued_at,
    })
}
