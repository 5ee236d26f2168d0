//! SMART Health Links (HL7 "SMART Health Cards and Links" IG 1.0.0, links part).
//!
//! - [`ShlPayload`]: the `shlink:/<base64url(JSON)>` payload (`url`, `key`, `exp`, `flag`,
//!   `label`, `v`; unknown members ignored), also in the viewer-prefixed form
//!   `https://viewer.example#shlink:/…`.
//! - [`encrypt_file`] / [`decrypt_file`]: the files behind a link, JWE compact serialization with
//!   `alg: dir`, `enc: A256GCM`, optional `zip: DEF`, a fresh random 96-bit IV per encryption.
//!   Decryption tolerates a missing `cty` and a `kid` header.

use std::fmt;

use ring::aead;
use serde_json::{Map, Number, Value};
use zeroize::Zeroizing;

use crate::{NumericDate, b64};

/// URI scheme prefix of a link payload.
pub const PREFIX: &str = "shlink:/";
/// Longest link text accepted (a QR holds far less).
pub const MAX_LINK_LEN: usize = 16 * 1024;
/// Largest JWE accepted by [`decrypt_file`].
pub const MAX_JWE_LEN: usize = 32 * 1024 * 1024;
/// Largest plaintext [`decrypt_file`] inflates to.
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024 * 1024;
/// Longest `label`, in characters.
pub const MAX_LABEL_CHARS: usize = 80;

/// Everything that can be wrong with a link payload or an encrypted file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShlError {
    /// The input is longer than accepted; nothing of it was parsed (its length, the limit, in bytes).
    #[error("input is {0} bytes, more than the {1}-byte limit")]
    InputTooLarge(usize, usize),
    /// No `shlink:/` payload in the text.
    #[error("not a SMART Health Link (no \"shlink:/\" payload)")]
    BadPrefix,
    /// The payload is not base64url.
    #[error("link payload is not base64url")]
    BadBase64,
    /// The payload is not a JSON object.
    #[error("link payload is not a JSON object: {0}")]
    NotJson(String),
    /// The payload has no string `url`.
    #[error("link payload has no string \"url\"")]
    MissingUrl,
    /// The `url` is not an absolute URL.
    #[error("link \"url\" is not an absolute URL: {0}")]
    BadUrl(String),
    /// The `key` is not 43 base64url characters encoding 32 bytes.
    #[error("link \"key\" must be 43 characters of base64url encoding 32 bytes")]
    BadKey,
    /// The `exp` is not a number of seconds.
    #[error("link \"exp\" must be a number of seconds")]
    BadExp,
    /// The `flag` has letters other than L, P, U, or combines U with P.
    #[error("link \"flag\" {0:?} is invalid (letters L, P, U; U cannot be combined with P)")]
    BadFlag(String),
    /// The `label` is not a string of at most 80 characters.
    #[error("link \"label\" must be a string of at most 80 characters")]
    BadLabel,
    /// The version `v` is not 1.
    #[error("link version \"v\" {0} is not supported (only 1)")]
    UnsupportedVersion(String),
    /// The file is not a five-part JWE compact serialization.
    #[error("not a JWE compact serialization: {0}")]
    JweMalformed(&'static str),
    /// The JWE header is not a JSON object.
    #[error("JWE header is not a JSON object")]
    JweBadHeader,
    /// The JWE `alg` is not `dir`.
    #[error("JWE \"alg\" is {0:?}, expected \"dir\"")]
    JweUnsupportedAlg(String),
    /// The JWE `enc` is not `A256GCM`.
    #[error("JWE \"enc\" is {0:?}, expected \"A256GCM\"")]
    JweUnsupportedEnc(String),
    /// The JWE `zip` is neither `DEF` nor absent.
    #[error("JWE \"zip\" is {0:?}, expected \"DEF\" or absent")]
    JweUnsupportedZip(String),
    /// The JWE has a `crit` header.
    #[error("JWE has a \"crit\" header, which SMART Health Links do not use")]
    JweCriticalHeader,
    /// The JWE (alg `dir`) carries an encrypted key.
    #[error("JWE with alg \"dir\" must have an empty encrypted key")]
    JweEncryptedKeyPresent,
    /// The IV is not 12 bytes.
    #[error("JWE IV must be 12 bytes")]
    JweBadIv,
    /// The authentication tag is not 16 bytes.
    #[error("JWE authentication tag must be 16 bytes")]
    JweBadTag,
    /// Decryption failed: the wrong key, or the file was altered.
    #[error("JWE does not decrypt with this key (wrong key or altered data)")]
    JweDecryptFailed,
    /// The decrypted content does not inflate.
    #[error("JWE plaintext does not inflate: {0}")]
    JweBadDeflate(String),
    /// The system's random number generator failed; nothing was encrypted.
    #[error("the system random number generator failed")]
    Random,
    /// Encryption failed.
    #[error("encryption failed")]
    EncryptFailed,
}

impl ShlError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        use ShlError::*;
        match self {
            InputTooLarge(..) => "input_too_large",
            BadPrefix => "shl_bad_prefix",
            BadBase64 => "shl_bad_base64",
            NotJson(_) => "shl_not_json",
            MissingUrl => "shl_missing_url",
            BadUrl(_) => "shl_bad_url",
            BadKey => "shl_bad_key",
            BadExp => "shl_bad_exp",
            BadFlag(_) => "shl_bad_flag",
            BadLabel => "shl_bad_label",
            UnsupportedVersion(_) => "shl_unsupported_version",
            JweMalformed(_) => "jwe_malformed",
            JweBadHeader => "jwe_bad_header",
            JweUnsupportedAlg(_) => "jwe_unsupported_alg",
            JweUnsupportedEnc(_) => "jwe_unsupported_enc",
            JweUnsupportedZip(_) => "jwe_unsupported_zip",
            JweCriticalHeader => "jwe_critical_header",
            JweEncryptedKeyPresent => "jwe_encrypted_key_present",
            JweBadIv => "jwe_bad_iv",
            JweBadTag => "jwe_bad_tag",
            JweDecryptFailed => "jwe_decrypt_failed",
            JweBadDeflate(_) => "jwe_bad_deflate",
            Random => "random_failed",
            EncryptFailed => "encrypt_failed",
        }
    }
}

/// A 256-bit file key. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ShlKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for ShlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShlKey(<redacted>)")
    }
}

impl ShlKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, ShlError> {
        let bytes = crate::keys::random_bytes::<32>().map_err(|_| ShlError::Random)?;
        Ok(ShlKey(Zeroizing::new(bytes)))
    }
    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ShlKey(Zeroizing::new(bytes))
    }
    /// From the 43-character base64url form.
    pub fn from_b64(text: &str) -> Result<Self, ShlError> {
        if text.len() != 43 {
            return Err(ShlError::BadKey);
        }
        let bytes: [u8; 32] = b64::decode_array(text).ok_or(ShlError::BadKey)?;
        Ok(ShlKey(Zeroizing::new(bytes)))
    }
    /// The 43-character base64url form (a secret: handle with care).
    pub fn to_b64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64::encode(&self.0[..]))
    }
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The `flag` letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShlFlags {
    /// `L`: long-term link, the manifest may change over time.
    pub long_term: bool,
    /// `P`: a passcode is needed.
    pub passcode: bool,
    /// `U`: the url points directly at the single encrypted file (GET, no manifest).
    pub direct: bool,
}

impl ShlFlags {
    /// Parses the `flag` string: letters from `L`, `P`, `U`, each at most once; `U` and `P` are
    /// exclusive.
    pub fn parse(text: &str) -> Result<Self, ShlError> {
        let mut f = ShlFlags::default();
        for c in text.chars() {
            let slot = match c {
                'L' => &mut f.long_term,
                'P' => &mut f.passcode,
                'U' => &mut f.direct,
                _ => return Err(ShlError::BadFlag(text.to_owned())),
            };
            if *slot {
                return Err(ShlError::BadFlag(text.to_owned()));
            }
            *slot = true;
        }
        if f.direct && f.passcode {
            return Err(ShlError::BadFlag(text.to_owned()));
        }
        Ok(f)
    }

    /// The `flag` string in canonical (alphabetical) order; empty when no flag is set.
    pub fn as_string(&self) -> String {
        let mut s = String::new();
        if self.long_term {
            s.push('L');
        }
        if self.passcode {
            s.push('P');
        }
        if self.direct {
            s.push('U');
        }
        s
    }
}

/// A SMART Health Link payload.
#[derive(Clone, PartialEq)]
pub struct ShlPayload {
    /// Manifest URL (or, with the `U` flag, the file URL).
    pub url: String,
    /// The key that decrypts every file of the link.
    pub key: ShlKey,
    /// Expiry (seconds, may be fractional).
    pub exp: Option<Number>,
    /// Flags.
    pub flag: ShlFlags,
    /// Short description for the recipient (≤ 80 characters).
    pub label: Option<String>,
    /// Payload version (`v`), if present (only 1 exists).
    pub v: Option<u64>,
}

impl ShlPayload {
    /// A new link payload for `url` with a fresh random key.
    pub fn new(url: impl Into<String>) -> Result<Self, ShlError> {
        Ok(ShlPayload {
            url: url.into(),
            key: ShlKey::generate()?,
            exp: None,
            flag: ShlFlags::default(),
            label: None,
            v: None,
        })
    }

    /// Parses `shlink:/…`, or a viewer URL `https://…#shlink:/…`. Surrounding whitespace is
    /// ignored; unknown payload members are ignored.
    pub fn parse(text: &str) -> Result<Self, ShlError> {
        if text.len() > MAX_LINK_LEN {
            return Err(ShlError::InputTooLarge(text.len(), MAX_LINK_LEN));
        }
        let text = text.trim();
        let encoded = if let Some(rest) = text.strip_prefix(PREFIX) {
            rest
        } else if text.starts_with("https://") || text.starts_with("http://") {
            let (_, fragment) = text.split_once('#').ok_or(ShlError::BadPrefix)?;
            fragment.strip_prefix(PREFIX).ok_or(ShlError::BadPrefix)?
        } else {
            return Err(ShlError::BadPrefix);
        };
        let json = b64::decode(encoded).map_err(|_| ShlError::BadBase64)?;
        let value: Value =
            serde_json::from_slice(&json).map_err(|e| ShlError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// From the decoded payload JSON.
    pub fn from_value(value: &Value) -> Result<Self, ShlError> {
        let Value::Object(obj) = value else {
            return Err(ShlError::NotJson("not an object".into()));
        };
        let url = match obj.get("url") {
            Some(Value::String(u)) => u.clone(),
            _ => return Err(ShlError::MissingUrl),
        };
        let parsed = url::Url::parse(&url).map_err(|e| ShlError::BadUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(ShlError::BadUrl(format!("scheme {:?}", parsed.scheme())));
        }
        let key = match obj.get("key") {
            Some(Value::String(k)) => ShlKey::from_b64(k)?,
            _ => return Err(ShlError::BadKey),
        };
        let exp = match obj.get("exp") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.is_finite() && f >= 0.0) => {
                Some(n.clone())
            }
            Some(_) => return Err(ShlError::BadExp),
        };
        let flag = match obj.get("flag") {
            None => ShlFlags::default(),
            Some(Value::String(f)) => ShlFlags::parse(f)?,
            Some(other) => return Err(ShlError::BadFlag(other.to_string())),
        };
        let label = match obj.get("label") {
            None => None,
            Some(Value::String(l)) if l.chars().count() <= MAX_LABEL_CHARS => Some(l.clone()),
            Some(_) => return Err(ShlError::BadLabel),
        };
        let v = match obj.get("v") {
            None => None,
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(1),
            Some(other) => return Err(ShlError::UnsupportedVersion(other.to_string())),
        };
        Ok(ShlPayload {
            url,
            key,
            exp,
            flag,
            label,
            v,
        })
    }

    /// Whether the link has expired at `now` (`now >= exp`).
    pub fn is_expired(&self, now: NumericDate) -> bool {
        self.exp
            .as_ref()
            .and_then(Number::as_f64)
            .is_some_and(|e| now.seconds() as f64 >= e)
    }

    /// Whether `url` uses https (the specification requires it; the validator's local test
    /// vectors use http, so parsing accepts both and leaves the policy to the caller).
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// The payload JSON, minified, members in the order url, key, exp, flag, label, v.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut m = Map::new();
        m.insert("url".into(), Value::String(self.url.clone()));
        m.insert("key".into(), Value::String(self.key.to_b64().to_string()));
        if let Some(exp) = &self.exp {
            m.insert("exp".into(), Value::Number(exp.clone()));
        }
        let flag = self.flag.as_string();
        if !flag.is_empty() {
            m.insert("flag".into(), Value::String(flag));
        }
        if let Some(label) = &self.label {
            m.insert("label".into(), Value::String(label.clone()));
        }
        if let Some(v) = self.v {
            m.insert("v".into(), Value::Number(v.into()));
        }
        // serde_json's map keeps keys sorted unless `preserve_order` is on; write by hand to
        // keep the documented order either way.
        let mut out = String::from("{");
        for name in ["url", "key", "exp", "flag", "label", "v"] {
            let Some(v) = m.get(name) else { continue };
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&Value::String(name.to_owned()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        Zeroizing::new(out)
    }

    /// `shlink:/<base64url(JSON)>`.
    pub fn to_uri(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{PREFIX}{}",
            b64::encode(self.to_json().as_bytes())
        ))
    }

    /// `<viewer>#shlink:/…` for a viewer URL without fragment.
    pub fn to_viewer_uri(&self, viewer: &str) -> Zeroizing<String> {
        Zeroizing::new(format!("{viewer}#{}", self.to_uri().as_str()))
    }
}

/// A decrypted file.
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptedFile {
    /// The `cty` header, if present (`application/smart-health-card`, `application/fhir+json`,
    /// `application/smart-api-access`).
    pub content_type: Option<String>,
    /// The plaintext (inflated if `zip: DEF`).
    pub plaintext: Vec<u8>,
}

/// Encrypts `plaintext` as a JWE compact serialization (`alg: dir`, `enc: A256GCM`, `cty` =
/// `content_type`, `zip: DEF` when `compress`), with a fresh random 96-bit IV.
pub fn encrypt_file(
    plaintext: &[u8],
    key: &ShlKey,
    content_type: &str,
    compress: bool,
) -> Result<String, ShlError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(ShlError::InputTooLarge(plaintext.len(), MAX_PLAINTEXT_LEN));
    }
    let mut header = Map::new();
    header.insert("alg".into(), "dir".into());
    header.insert("enc".into(), "A256GCM".into());
    header.insert("cty".into(), content_type.into());
    if compress {
        header.insert("zip".into(), "DEF".into());
    }
    let header_b64 = b64::encode(Value::Object(header).to_string().as_bytes());
    let mut data = if compress {
        crate::shc::jws::deflate(plaintext).map_err(|_| ShlError::EncryptFailed)?
    } else {
        plaintext.to_vec()
    };
    let iv = crate::keys::random_bytes::<12>().map_err(|_| ShlError::Random)?;
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, key.as_bytes())
        .map_err(|_| ShlError::EncryptFailed)?;
    let sealing = aead::LessSafeKey::new(unbound);
    let tag = sealing
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(header_b64.as_bytes()),
            &mut data,
        )
        .map_err(|_| ShlError::EncryptFailed)?;
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        b64::encode(iv),
        b64::encode(&data),
        b64::encode(tag.as_ref())
    ))
}

/// Decrypts a JWE compact serialization with the link key. Requires `alg: dir` (empty encrypted
/// key), `enc: A256GCM`, `zip` absent or `DEF`, no `crit`; tolerates a missing `cty` and any
/// `kid`.
pub fn decrypt_file(jwe: &str, key: &ShlKey) -> Result<DecryptedFile, ShlError> {
    if jwe.len() > MAX_JWE_LEN {
        return Err(ShlError::InputTooLarge(jwe.len(), MAX_JWE_LEN));
    }
    let jwe = jwe.trim();
    let mut parts = jwe.split('.');
    let (Some(h), Some(ek), Some(iv), Some(ct), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(ShlError::JweMalformed("expected five parts"));
    };
    let header_bytes = b64::decode(h).map_err(|_| ShlError::JweMalformed("header base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| ShlError::JweBadHeader)?;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if header.get("alg").and_then(Value::as_str) != Some("dir") {
        return Err(ShlError::JweUnsupportedAlg(text(header.get("alg"))));
    }
    if header.get("enc").and_then(Value::as_str) != Some("A256GCM") {
        return Err(ShlError::JweUnsupportedEnc(text(header.get("enc"))));
    }
    let zip = match header.get("zip") {
        None => false,
        Some(Value::String(z)) if z == "DEF" => true,
        other => return Err(ShlError::JweUnsupportedZip(text(other))),
    };
    if header.contains_key("crit") {
        return Err(ShlError::JweCriticalHeader);
    }
    if !ek.is_empty() {
        return Err(ShlError::JweEncryptedKeyPresent);
    }
    let content_type = header.get("cty").and_then(Value::as_str).map(str::to_owned);
    let iv: [u8; 12] = b64::decode_array(iv).ok_or(ShlError::JweBadIv)?;
    let tag: [u8; 16] = b64::decode_array(tag).ok_or(ShlError::JweBadTag)?;
    let mut data = b64::decode(ct).map_err(|_| ShlError::JweMalformed("ciphertext base64url"))?;
    data.extend_from_slice(&tag);
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, key.as_bytes())
        .map_err(|_| ShlError::JweDecryptFailed)?;
    let opening = aead::LessSafeKey::new(unbound);
    let plain = opening
        .open_in_place(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(h.as_bytes()),
            &mut data,
        )
        .map_err(|_| ShlError::JweDecryptFailed)?;
    let plaintext = if zip {
        crate::shc::jws::inflate_limited(plain, MAX_PLAINTEXT_LEN).map_err(|e| match e {
            crate::shc::ShcError::PayloadTooLarge(n) => ShlError::InputTooLarge(n + 1, n),
            other => ShlError::JweBadDeflate(other.to_string()),
        })?
    } else {
        plain.to_vec()
    };
    Ok(DecryptedFile {
        content_type,
        plaintext,
    })
}

// The link URL is a capability (≥ 256 bits of entropy) and the key decrypts everything: neither
// is ever printed by `Debug`; nor is a decrypted file.
impl fmt::Debug for ShlPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = url::Url::parse(&self.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        f.debug_struct("ShlPayload")
            .field("url", &format!("{origin}/<redacted>"))
            .field("key", &self.key)
            .field("exp", &self.exp)
            .field("flag", &self.flag)
            .field("label", &self.label)
            .field("v", &self.v)
            .finish()
    }
}

impl fmt::Debug for DecryptedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptedFile")
            .field("content_type", &self.content_type)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}
