//! The CWT claims set (RFC 8392) shared by every Spondon token, and its Spondon claim (-65537).

use ciborium::value::Value;

use super::cbor::{self, Fields};
use super::{TokenError, TokenKind};
use crate::keys::Es256PublicKey;
use crate::time::NumericDate;

pub(crate) const CLAIM_ISS: i64 = 1;
pub(crate) const CLAIM_SUB: i64 = 2;
pub(crate) const CLAIM_EXP: i64 = 4;
pub(crate) const CLAIM_NBF: i64 = 5;
pub(crate) const CLAIM_IAT: i64 = 6;
pub(crate) const CLAIM_CTI: i64 = 7;
pub(crate) const CLAIM_CNF: i64 = 8;
/// The private-use claim (RFC 8392 §9.1: below -65536) holding the Spondon-specific fields.
pub const CLAIM_SPONDON: i64 = -65537;
const KNOWN_CLAIMS: [i64; 8] = [
    CLAIM_ISS,
    CLAIM_SUB,
    CLAIM_EXP,
    CLAIM_NBF,
    CLAIM_IAT,
    CLAIM_CTI,
    CLAIM_CNF,
    CLAIM_SPONDON,
];

/// Keys of the Spondon claim map shared by all kinds. Kind-specific fields start at 2.
const SP_KIND: i128 = 0;
const SP_CRIT: i128 = 1;

/// Confirmation (RFC 8747): the key the token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cnf {
    /// `{1: COSE_Key}`: the key itself.
    Key(Es256PublicKey),
    /// `{3: kid}`: the raw 32-byte RFC 7638 thumbprint of the key.
    Kid([u8; 32]),
}

/// The common claims, checked for type and range, plus the kind-specific Spondon fields left to
/// the kind's decoder.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub kind: TokenKind,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<NumericDate>,
    pub nbf: Option<NumericDate>,
    pub iat: Option<NumericDate>,
    pub cti: Option<Vec<u8>>,
    pub cnf: Option<Cnf>,
    pub fields: Fields,
}

pub(crate) const MAX_ID_LEN: usize = 128;

pub(crate) fn parse(payload: &[u8]) -> Result<Envelope, TokenError> {
    let value = cbor::decode(payload)?;
    cbor::deny_duplicate_keys(&value)?;
    let mut claims = match Fields::new(value, "claims") {
        Ok(f) => f,
        Err(TokenError::DuplicateKey(k)) => return Err(TokenError::DuplicateKey(k)),
        Err(e) => return Err(TokenError::ClaimsNotMap(e.to_string())),
    };
    let spondon = claims
        .take(CLAIM_SPONDON.into())
        .ok_or(TokenError::NotSpondon)?;
    let mut fields = Fields::new(spondon, "claim -65537")?;
    let kind_code = cbor::as_uint(
        fields.require(SP_KIND, "kind (-65537 / 0)")?,
        "kind",
        0,
        u64::MAX,
    )?;
    let kind = TokenKind::from_code(kind_code).ok_or(TokenError::UnknownKind(kind_code))?;
    if let Some(crit) = fields.take(SP_CRIT) {
        for label in cbor::as_array(crit, "crit (-65537 / 1)", 1, 16)? {
            let label = cbor::as_int(label, "crit (-65537 / 1)")?;
            if !KNOWN_CLAIMS.iter().any(|k| i128::from(*k) == label) {
                return Err(TokenError::UnknownCriticalClaim(label.to_string()));
            }
        }
    }
    let iss = claims
        .take(CLAIM_ISS.into())
        .map(|v| cbor::as_text(v, "iss (1)", MAX_ID_LEN))
        .transpose()?;
    let sub = claims
        .take(CLAIM_SUB.into())
        .map(|v| cbor::as_text(v, "sub (2)", MAX_ID_LEN))
        .transpose()?;
    let exp = claims
        .take(CLAIM_EXP.into())
        .map(|v| cbor::as_date(v, "exp (4)"))
        .transpose()?;
    let nbf = claims
        .take(CLAIM_NBF.into())
        .map(|v| cbor::as_date(v, "nbf (5)"))
        .transpose()?;
    let iat = claims
        .take(CLAIM_IAT.into())
        .map(|v| cbor::as_date(v, "iat (6)"))
        .transpose()?;
    let cti = claims
        .take(CLAIM_CTI.into())
        .map(|v| cbor::as_byte_array::<16>(v, "cti (7)"))
        .transpose()?;
    let cnf = claims.take(CLAIM_CNF.into()).map(parse_cnf).transpose()?;
    if let (Some(nbf), Some(exp)) = (nbf, exp)
        && nbf > exp
    {
        return Err(TokenError::NbfAfterExp {
            nbf: nbf.0,
            exp: exp.0,
        });
    }
    // Claims not listed in crit and not known are ignored (RFC 8392 §4: unknown claims).
    Ok(Envelope {
        kind,
        iss,
        sub,
        exp,
        nbf,
        iat,
        cti: cti.map(|c| c.to_vec()),
        cnf,
        fields,
    })
}

fn parse_cnf(v: Value) -> Result<Cnf, TokenError> {
    let mut f = Fields::new(v, "cnf (8)")?;
    let key = f.take(1);
    let kid = f.take(3);
    f.deny_rest("cnf (8)")?;
    match (key, kid) {
        (Some(key), None) => Ok(Cnf::Key(parse_cose_key(key)?)),
        (None, Some(kid)) => Ok(Cnf::Kid(cbor::as_byte_array::<32>(kid, "cnf kid (8 / 3)")?)),
        _ => Err(TokenError::Invalid(
            "cnf must hold exactly one of COSE_Key (1) or kid (3)",
        )),
    }
}

/// `COSE_Key = {1: 2, -1: 1, -2: x, -3: y}` (EC2, P-256, 32-byte coordinates). Nothing else.
pub(crate) fn parse_cose_key(v: Value) -> Result<Es256PublicKey, TokenError> {
    let mut f = Fields::new(v, "COSE_Key")?;
    let kty = cbor::as_int(f.require(1, "COSE_Key kty (1)")?, "COSE_Key kty (1)")?;
    let crv = cbor::as_int(f.require(-1, "COSE_Key crv (-1)")?, "COSE_Key crv (-1)")?;
    if kty != 2 || crv != 1 {
        return Err(TokenError::InvalidKey);
    }
    let x = cbor::as_byte_array::<32>(f.require(-2, "COSE_Key x (-2)")?, "COSE_Key x (-2)")?;
    let y = cbor::as_byte_array::<32>(f.require(-3, "COSE_Key y (-3)")?, "COSE_Key y (-3)")?;
    f.deny_rest("COSE_Key")?;
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..33].copy_from_slice(&x);
    sec1[33..].copy_from_slice(&y);
    Es256PublicKey::from_sec1(&sec1).map_err(|_| TokenError::InvalidKey)
}

pub(crate) fn cose_key(key: &Es256PublicKey) -> Value {
    let sec1 = key.sec1();
    cbor::int_map(vec![
        (1, cbor::int(2)),
        (-1, cbor::int(1)),
        (-2, cbor::bytes(&sec1[1..33])),
        (-3, cbor::bytes(&sec1[33..])),
    ])
}

/// A public key as a 65-byte uncompressed SEC1 byte string.
pub(crate) fn parse_sec1(v: Value, field: &'static str) -> Result<Es256PublicKey, TokenError> {
    let b = cbor::as_byte_array::<65>(v, field)?;
    Es256PublicKey::from_sec1(&b).map_err(|_| TokenError::InvalidKey)
}

/// The raw 32-byte RFC 7638 thumbprint of a key (its `kid` without base64url).
pub(crate) fn kid_bytes(key: &Es256PublicKey) -> [u8; 32] {
    crate::b64::decode_array(key.kid()).unwrap_or([0; 32])
}

/// Builder for a claims set.
#[derive(Debug, Default)]
pub(crate) struct ClaimsBuilder {
    claims: Vec<(i64, Value)>,
    spondon: Vec<(i64, Value)>,
}

impl ClaimsBuilder {
    pub(crate) fn new(kind: TokenKind) -> Self {
        ClaimsBuilder {
            claims: Vec::new(),
            spondon: vec![(0, cbor::uint(kind.code()))],
        }
    }
    pub(crate) fn claim(mut self, key: i64, v: Value) -> Self {
        self.claims.push((key, v));
        self
    }
    pub(crate) fn opt_claim(self, key: i64, v: Option<Value>) -> Self {
        match v {
            Some(v) => self.claim(key, v),
            None => self,
        }
    }
    pub(crate) fn date(self, key: i64, d: NumericDate) -> Self {
        self.claim(key, cbor::int(d.0))
    }
    pub(crate) fn field(mut self, key: i64, v: Value) -> Self {
        self.spondon.push((key, v));
        self
    }
    pub(crate) fn opt_field(self, key: i64, v: Option<Value>) -> Self {
        match v {
            Some(v) => self.field(key, v),
            None => self,
        }
    }
    pub(crate) fn encode(self) -> Result<Vec<u8>, TokenError> {
        let mut claims = self.claims;
        claims.push((CLAIM_SPONDON, cbor::int_map(self.spondon)));
        cbor::encode(&cbor::int_map(claims))
    }
}

/// Checks `nbf ≤ exp` and `exp - nbf ≤ max`.
pub(crate) fn check_lifetime(
    nbf: NumericDate,
    exp: NumericDate,
    max: i64,
) -> Result<(), TokenError> {
    if nbf > exp {
        return Err(TokenError::NbfAfterExp {
            nbf: nbf.0,
            exp: exp.0,
        });
    }
    let lifetime = exp.0 - nbf.0;
    if lifetime > max {
        return Err(TokenError::LifetimeTooLong { lifetime, max });
    }
    Ok(())
}

/// Checks a date is in the range every Spondon format accepts.
pub(crate) fn check_date(d: NumericDate, field: &'static str) -> Result<(), TokenError> {
    if (NumericDate::MIN..=NumericDate::MAX).contains(&d) {
        Ok(())
    } else {
        Err(TokenError::OutOfRange {
            field,
            reason: "must be seconds in 1970..=9999".into(),
        })
    }
}

/// `nbf ≤ now < exp`.
pub(crate) fn check_time(
    nbf: Option<NumericDate>,
    exp: Option<NumericDate>,
    now: NumericDate,
) -> Result<(), TokenError> {
    if let Some(nbf) = nbf
        && now < nbf
    {
        return Err(TokenError::NotYetValid {
            nbf: nbf.0,
            now: now.0,
        });
    }
    if let Some(exp) = exp
        && now >= exp
    {
        return Err(TokenError::Expired {
            exp: exp.0,
            now: now.0,
        });
    }
    Ok(())
}

/// Checks a text field against the limits every Spondon identifier has.
pub(crate) fn check_text(s: &str, field: &'static str, max_len: usize) -> Result<(), TokenError> {
    cbor::as_text(Value::Text(s.to_owned()), field, max_len).map(|_| ())
}

/// A peer or issuer URL: `https` (or `http` for loopback and `.localhost` hosts, for
/// development), no user info, query or fragment, at most 256 bytes.
pub(crate) fn check_url(s: &str, field: &'static str) -> Result<(), TokenError> {
    let bad = |reason: &str| TokenError::InvalidUrl {
        field,
        reason: reason.to_owned(),
    };
    check_text(s, field, 256)?;
    let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host == "127.0.0.1"
        || host == "[::1]";
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("scheme must be https (http only for loopback)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user info is not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("query and fragment are not allowed"));
    }
    // One spelling per URL: the WHATWG-normalized form, and a bare origin without its "/"
    // (so `https://x` and `https://x/` cannot both name one peer).
    let one_spelling = if url.path() == "/" {
        url.as_str() == format!("{s}/")
    } else {
        url.as_str() == s
    };
    if !one_spelling {
        return Err(bad(
            "not in normalized form (a bare origin is written without a trailing /)",
        ));
    }
    Ok(())
}
