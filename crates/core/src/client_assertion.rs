//! OAuth 2.0 client assertions (RFC 7523 `private_key_jwt`) as SMART Backend Services uses them
//! (SMART App Launch v2, `client-confidential-asymmetric`): a hospital system signs a
//! short-lived JWT with its private key; the peer verifies it against the public JWK Set an
//! admin registered. Strict decoding, written with *ring* and serde:
//!
//! - compact serialization only, three base64url parts without padding (canonical);
//! - header: exactly `alg` (`ES384` or `RS384`: `none` and every HMAC are refused), `kid`, `typ`
//!   (`JWT`); `jku`, `x5u`, `jwk`, `x5c` and anything else refused (keys never come from the
//!   token: nothing is fetched);
//! - claims `iss`, `sub`, `aud` (string or strings), `exp` (integer), `jti`; `nbf` if present.
//!
//! The time, audience, issuer and replay checks are the caller's ([`Assertion`] exposes the
//! claims); [`Assertion::verified_by`] checks the signature with the key `kid` names.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value, json};

/// Longest assertion accepted (characters).
pub const MAX_ASSERTION_LEN: usize = 8192;
/// Most keys in a registered JWK Set.
pub const MAX_KEYS: usize = 10;

/// Why an assertion or a JWK Set is refused. Messages never hold key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// The JWT is not three base64url parts of JSON objects with the expected members and types.
    #[error("the assertion is malformed: {0}")]
    Malformed(String),
    /// The header carries a key or a key reference (`jwk`, `jku`, `x5c`, …); keys come only from the registered JWK Set.
    #[error("header {0} is refused: keys come only from the JWK Set registered for the client")]
    KeyInHeader(String),
    /// The header has a parameter this verifier does not know.
    #[error("unsupported header parameter {0}")]
    UnknownHeader(String),
    /// The algorithm is neither ES384 nor RS384.
    #[error("alg {0} is refused: only ES384 and RS384")]
    AlgRefused(String),
    /// A required claim (`iss`, `sub`, `aud`, `exp`, `jti`) or header member (`kid`) is missing.
    #[error("the assertion needs {0}")]
    MissingClaim(&'static str),
    /// A registered JWK Set is refused: not JSON, too many keys, a private member, a bad key.
    #[error("invalid JWK Set: {0}")]
    Jwks(String),
}

impl AssertionError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AssertionError::Malformed(_) => "assertion_malformed",
            AssertionError::KeyInHeader(_) => "assertion_key_in_header",
            AssertionError::UnknownHeader(_) => "assertion_unknown_header",
            AssertionError::AlgRefused(_) => "alg_refused",
            AssertionError::MissingClaim(_) => "assertion_claim_missing",
            AssertionError::Jwks(_) => "invalid_jwks",
        }
    }
}

type Result<T> = std::result::Result<T, AssertionError>;

/// The signing algorithms accepted (SMART: at least one of RS384, ES384; both here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-384 with SHA-384, fixed-width `r ‖ s` (96 bytes).
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-384, 2048–8192-bit keys.
    Rs384,
}

impl Alg {
    /// The JWS `alg` name (`ES384`, `RS384`).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es384 => "ES384",
            Alg::Rs384 => "RS384",
        }
    }
    /// The JWK `kty` a key for this algorithm has.
    pub fn kty(self) -> &'static str {
        match self {
            Alg::Es384 => "EC",
            Alg::Rs384 => "RSA",
        }
    }
}

/// A decoded, not yet verified client assertion.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The header's algorithm, already restricted to ES384 or RS384.
    pub alg: Alg,
    /// The header's `kid`: which registered key should verify it.
    pub kid: String,
    /// `iss`: the client id (must equal `sub`, checked by the caller).
    pub iss: String,
    /// `sub`: the client id.
    pub sub: String,
    /// `aud`: one string, or every string of an array.
    pub aud: Vec<String>,
    /// `exp`, seconds since the Unix epoch.
    pub exp: i64,
    /// `nbf`, seconds since the Unix epoch, if present.
    pub nbf: Option<i64>,
    /// `jti`: the assertion's unique id, for replay protection by the caller.
    pub jti: String,
    signing_input: String,
    signature: Vec<u8>,
}

fn malformed(m: impl Into<String>) -> AssertionError {
    AssertionError::Malformed(m.into())
}

fn b64url(part: &str, what: &str) -> Result<Vec<u8>> {
    if part.is_empty()
        || !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(malformed(format!(
            "{what} is not base64url without padding"
        )));
    }
    crate::b64::decode(part).map_err(|_| malformed(format!("{what} is not canonical base64url")))
}

fn json_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(malformed(format!("{what} is not a JSON object"))),
    }
}

fn claim_str(m: &Map<String, Value>, name: &'static str) -> Result<String> {
    match m.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(s.clone()),
        _ => Err(AssertionError::MissingClaim(name)),
    }
}

impl Assertion {
    /// Parses a client assertion strictly (see the module documentation); verifies nothing.
    pub fn parse(text: &str) -> Result<Assertion> {
        if text.len() > MAX_ASSERTION_LEN {
            return Err(malformed("too long"));
        }
        let parts: Vec<&str> = text.split('.').collect();
        let [h, c, s] = parts.as_slice() else {
            return Err(malformed("not a compact JWS (three parts)"));
        };
        let header = json_object(&b64url(h, "the header")?, "the header")?;
        for k in header.keys() {
            match k.as_str() {
                "alg" | "kid" | "typ" => {}
                "jku" | "x5u" | "jwk" | "x5c" => {
                    return Err(AssertionError::KeyInHeader(k.clone()));
                }
                other => return Err(AssertionError::UnknownHeader(other.to_owned())),
            }
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) if a == "ES384" => Alg::Es384,
            Some(Value::String(a)) if a == "RS384" => Alg::Rs384,
            Some(Value::String(a)) => {
                return Err(AssertionError::AlgRefused(a.chars().take(20).collect()));
            }
            _ => return Err(AssertionError::MissingClaim("header alg")),
        };
        if header.get("typ").and_then(Value::as_str) != Some("JWT") {
            return Err(AssertionError::MissingClaim("header typ JWT"));
        }
        let kid = match header.get("kid") {
            Some(Value::String(k)) if !k.is_empty() && k.len() <= 128 => k.clone(),
            _ => return Err(AssertionError::MissingClaim("header kid")),
        };
        let claims = json_object(&b64url(c, "the payload")?, "the payload")?;
        let signature = b64url(s, "the signature")?;
        let aud = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= 10 => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(AssertionError::MissingClaim("aud (a string or strings)"))?,
            _ => return Err(AssertionError::MissingClaim("aud")),
        };
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(AssertionError::MissingClaim("an integer exp"))?;
        let nbf = match claims.get("nbf") {
            None => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or(AssertionError::MissingClaim("an integer nbf"))?,
            ),
        };
        Ok(Assertion {
            alg,
            kid,
            iss: claim_str(&claims, "iss")?,
            sub: claim_str(&claims, "sub")?,
            aud,
            exp,
            nbf,
            jti: claim_str(&claims, "jti")?,
            signing_input: format!("{h}.{c}"),
            signature,
        })
    }

    /// Whether `key` (its `kty` must match `alg`) verifies the signature.
    pub fn verified_by(&self, key: &ClientKey) -> bool {
        key.kty() == self.alg.kty() && key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

/// A client's registered public key (only its public members are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// An elliptic-curve P-384 key (ES384).
    Ec {
        /// Its `kid` in the JWK Set.
        kid: String,
        /// The x coordinate, 48 bytes big-endian.
        x: Vec<u8>,
        /// The y coordinate, 48 bytes big-endian.
        y: Vec<u8>,
    },
    /// An RSA key (RS384), 2048 to 8192 bits.
    Rsa {
        /// Its `kid` in the JWK Set.
        kid: String,
        /// The modulus, big-endian.
        n: Vec<u8>,
        /// The public exponent, big-endian.
        e: Vec<u8>,
    },
}

/// Members a private JWK carries (EC `d`; RSA `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`;
/// symmetric `k`): refused, a private key must never reach the server.
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn jwks_error(m: impl Into<String>) -> AssertionError {
    AssertionError::Jwks(m.into())
}

fn key_bytes(k: &Map<String, Value>, name: &str, i: usize) -> Result<Vec<u8>> {
    k.get(name)
        .and_then(Value::as_str)
        .and_then(|s| crate::b64::decode(s).ok())
        .ok_or_else(|| jwks_error(format!("keys[{i}].{name} must be base64url")))
}

impl ClientKey {
    /// The key's `kid` in the registered JWK Set.
    pub fn kid(&self) -> &str {
        match self {
            ClientKey::Ec { kid, .. } | ClientKey::Rsa { kid, .. } => kid,
        }
    }
    /// The JWK `kty`: `EC` or `RSA`.
    pub fn kty(&self) -> &'static str {
        match self {
            ClientKey::Ec { .. } => "EC",
            ClientKey::Rsa { .. } => "RSA",
        }
    }
    /// The public JWK as stored (with `alg`).
    pub fn to_jwk(&self) -> Value {
        let e = crate::b64::encode;
        match self {
            ClientKey::Ec { kid, x, y } => {
                json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "x": e(x), "y": e(y)})
            }
            ClientKey::Rsa { kid, n, e: ex } => {
                json!({"kty": "RSA", "kid": kid, "alg": "RS384", "n": e(n), "e": e(ex)})
            }
        }
    }
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            ClientKey::Ec { x, y, .. } => {
                let mut point = Vec::with_capacity(97);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            ClientKey::Rsa { n, e, .. } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA384, message, sig)
                .is_ok(),
        }
    }

    /// Checks a JWK Set of public keys: 1–[`MAX_KEYS`] keys, each `kty` EC (`crv` P-384,
    /// 48-byte `x` and `y`, `alg` ES384 if given) or RSA (a 2048–8192-bit `n`, `e`, `alg` RS384
    /// if given), a unique `kid`, `use` `sig` if given, and none of [`PRIVATE_MEMBERS`].
    pub fn parse_jwks(jwks: &Value) -> Result<Vec<ClientKey>> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| jwks_error("must be a JWK Set: {\"keys\": [...]}"))?;
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(jwks_error(format!("must hold 1–{MAX_KEYS} keys")));
        }
        let mut out: Vec<ClientKey> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let k = k
                .as_object()
                .ok_or_else(|| jwks_error(format!("keys[{i}] is not an object")))?;
            if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| k.contains_key(**m)) {
                return Err(jwks_error(format!(
                    "keys[{i}] has the private member {m}: register public keys only"
                )));
            }
            let kid = match k.get("kid") {
                Some(Value::String(s))
                    if !s.is_empty() && s.len() <= 128 && !s.chars().any(char::is_control) =>
                {
                    s.clone()
                }
                _ => {
                    return Err(jwks_error(format!(
                        "keys[{i}] needs a kid (1–128 characters)"
                    )));
                }
            };
            if out.iter().any(|o| o.kid() == kid) {
                return Err(jwks_error(format!("keys[{i}].kid is not unique")));
            }
            if k.get("use").is_some_and(|u| u != "sig") {
                return Err(jwks_error(format!("keys[{i}].use must be sig")));
            }
            let alg = k.get("alg");
            let key = match k.get("kty").and_then(Value::as_str) {
                Some("EC") => {
                    if k.get("crv").and_then(Value::as_str) != Some("P-384") {
                        return Err(jwks_error(format!("keys[{i}].crv must be P-384")));
                    }
                    if alg.is_some_and(|a| a != "ES384") {
                        return Err(jwks_error(format!("keys[{i}].alg must be ES384")));
                    }
                    let (x, y) = (key_bytes(k, "x", i)?, key_bytes(k, "y", i)?);
                    if x.len() != 48 || y.len() != 48 {
                        return Err(jwks_error(format!("keys[{i}]: x and y are 48 bytes")));
                    }
                    ClientKey::Ec { kid, x, y }
                }
                Some("RSA") => {
                    if alg.is_some_and(|a| a != "RS384") {
                        return Err(jwks_error(format!("keys[{i}].alg must be RS384")));
                    }
                    let (n, e) = (key_bytes(k, "n", i)?, key_bytes(k, "e", i)?);
                    let bits = n.len() * 8;
                    if n.first() == Some(&0) || !(2048..=8192).contains(&bits) {
                        return Err(jwks_error(format!(
                            "keys[{i}].n must be a 2048–8192-bit modulus"
                        )));
                    }
                    if e.is_empty() || e.len() > 4 || e.first() == Some(&0) {
                        return Err(jwks_error(format!("keys[{i}].e is not a valid exponent")));
                    }
                    ClientKey::Rsa { kid, n, e }
                }
                _ => return Err(jwks_error(format!("keys[{i}].kty must be EC or RSA"))),
            };
            out.push(key);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        crate::b64::encode(v.to_string())
    }

    #[test]
    fn assertions_are_parsed_strictly() {
        let h = enc(&json!({"alg": "ES384", "kid": "k1", "typ": "JWT"}));
        let c = enc(&json!({"iss": "c", "sub": "c", "aud": "u", "exp": 5, "jti": "j"}));
        let sig = crate::b64::encode([1u8; 96]);
        let a = Assertion::parse(&format!("{h}.{c}.{sig}")).unwrap();
        assert_eq!((a.alg, a.kid.as_str(), a.exp), (Alg::Es384, "k1", 5));
        for (header, code) in [
            (
                json!({"alg": "none", "kid": "k1", "typ": "JWT"}),
                "alg_refused",
            ),
            (
                json!({"alg": "HS256", "kid": "k1", "typ": "JWT"}),
                "alg_refused",
            ),
            (
                json!({"alg": "ES384", "typ": "JWT"}),
                "assertion_claim_missing",
            ),
            (
                json!({"alg": "ES384", "kid": "k", "typ": "JWT", "jku": "https://x"}),
                "assertion_key_in_header",
            ),
            (
                json!({"alg": "ES384", "kid": "k", "typ": "JWT", "crit": ["b64"]}),
                "assertion_unknown_header",
            ),
            (
                json!({"alg": "ES384", "kid": "k"}),
                "assertion_claim_missing",
            ),
        ] {
            let t = format!("{}.{c}.{sig}", enc(&header));
            assert_eq!(Assertion::parse(&t).unwrap_err().code(), code, "{header}");
        }
        for bad in [
            format!("{h}.{c}"),
            format!("{h}.{c}.{sig}="),
            format!("{h}.{c}.{sig}.x"),
            format!("{h}=.{c}.{sig}"),
            format!("{h}.{c}.{}", sig.replace('A', "+")),
            format!("{h}.{c}."),
            format!(" {h}.{c}.{sig}"),
        ] {
            assert!(Assertion::parse(&bad).is_err(), "{bad}");
        }
        let no_exp = enc(&json!({"iss": "c", "sub": "c", "aud": "u", "exp": "5", "jti": "j"}));
        assert!(Assertion::parse(&format!("{h}.{no_exp}.{sig}")).is_err());
    }

    #[test]
    fn private_keys_are_refused() {
        let x = crate::b64::encode([7u8; 48]);
        let ok = json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "a", "x": x, "y": x}]});
        assert_eq!(ClientKey::parse_jwks(&ok).unwrap().len(), 1);
        for m in PRIVATE_MEMBERS {
            let mut bad = ok.clone();
            bad["keys"][0][*m] = json!(x);
            assert_eq!(
                ClientKey::parse_jwks(&bad).unwrap_err().code(),
                "invalid_jwks",
                "{m}"
            );
        }
        let p256 = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "a", "x": x, "y": x}]});
        assert!(ClientKey::parse_jwks(&p256).is_err());
        let twice = json!({"keys": [ok["keys"][0], ok["keys"][0]]});
        assert!(ClientKey::parse_jwks(&twice).is_err());
    }
}
