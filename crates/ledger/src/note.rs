//! C2SP `signed-note` (Ed25519, type `0x01`), verifier keys, and `tlog-cosignature`
//! (`cosignature/v1`, type `0x04`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use spondon_core::keys::{Ed25519KeyPair, Ed25519PublicKey, KeyError};

/// Largest note accepted, in bytes (well above 16 Ed25519 signatures plus a checkpoint).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most signature lines accepted on one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 64;

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures (`cosignature/v1`).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Errors parsing, signing or verifying notes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is larger than accepted (its length in bytes); nothing was parsed.
    #[error("note is {0} bytes, more than the limit of {MAX_NOTE_BYTES}")]
    TooLarge(usize),
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note contains a control character other than newline.
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line separating text from signatures")]
    MissingSeparator,
    /// The text part is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note does not end with a newline.
    #[error("note does not end with a newline")]
    MissingFinalNewline,
    /// The note has no signature lines.
    #[error("note has no signature lines")]
    NoSignatures,
    /// The note has more signature lines than accepted.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— name base64` (its 1-based number).
    #[error("malformed signature line {0}")]
    MalformedSignatureLine(usize),
    /// A signature line's signature is not base64 (its number).
    #[error("signature line {0} is not valid base64")]
    SignatureNotBase64(usize),
    /// A signature line is shorter than a key id (its number).
    #[error("signature line {0} is shorter than a key ID")]
    SignatureTooShort(usize),
    /// A key name is empty or has a space or `+`.
    #[error("invalid key name: must be non-empty with no spaces or '+'")]
    BadKeyName,
    /// A verifier key (`name+hash+base64`) is malformed.
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    /// The signature type byte is not one this version knows (Ed25519 and cosignatures are).
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    /// The verifier key's id does not match its name and key.
    #[error("verifier key ID does not match its name and key")]
    WrongKeyId,
    /// A signature by a known key does not verify: the note was altered or forged.
    #[error("signature by known key {name} ({key_id:08x}) does not verify")]
    InvalidSignature {
        /// The key's name.
        name: String,
        /// The key's id.
        key_id: u32,
    },
    /// No signature is from a key the caller knows.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// A cosignature timestamp exceeds 2^63-1.
    #[error("cosignature timestamp {0} exceeds 2^63-1")]
    TimestampOutOfRange(u64),
    /// A key could not be read or used.
    #[error("key error: {0}")]
    Key(#[from] KeyError),
}

impl NoteError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::NotUtf8 => "not_utf8",
            Self::ControlCharacter => "control_character",
            Self::MissingSeparator => "missing_separator",
            Self::EmptyText => "empty_text",
            Self::MissingFinalNewline => "missing_final_newline",
            Self::NoSignatures => "no_signatures",
            Self::TooManySignatures => "too_many_signatures",
            Self::MalformedSignatureLine(_) => "malformed_signature_line",
            Self::SignatureNotBase64(_) => "signature_not_base64",
            Self::SignatureTooShort(_) => "signature_too_short",
            Self::BadKeyName => "bad_key_name",
            Self::BadVerifierKey(_) => "bad_verifier_key",
            Self::UnsupportedSignatureType(_) => "unsupported_signature_type",
            Self::WrongKeyId => "wrong_key_id",
            Self::InvalidSignature { .. } => "invalid_signature",
            Self::NoKnownSignature => "no_known_signature",
            Self::TimestampOutOfRange(_) => "timestamp_out_of_range",
            Self::Key(e) => e.code(),
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID (first 4 bytes of the decoded signature, big-endian).
    pub key_id: u32,
    /// Signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, including the leading em dash and the final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(raw))
    }

    /// Parses one signature line (without its newline).
    fn parse_line(line: &str, lineno: usize) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or(NoteError::MalformedSignatureLine(lineno))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::MalformedSignatureLine(lineno))?;
        check_key_name(name).map_err(|_| NoteError::MalformedSignatureLine(lineno))?;
        if b64.contains(' ') {
            return Err(NoteError::MalformedSignatureLine(lineno));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::SignatureNotBase64(lineno))?;
        if raw.len() < 4 {
            return Err(NoteError::SignatureTooShort(lineno));
        }
        let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature: raw[4..].to_vec(),
        })
    }
}

/// A signed note: text (ending in a newline) and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// Signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName);
    }
    Ok(())
}

fn check_text_chars(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

impl Note {
    /// Parses a signed note, enforcing the size limit, UTF-8 and the C2SP grammar.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_text_chars(s)?;
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let sep = s.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let text = &s[..=sep];
        let sigs = &s[sep + 2..];
        if text.len() <= 1 && text.starts_with('\n') || text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let mut signatures = Vec::new();
        // `sigs` ends with '\n' and contains no empty line (the last "\n\n" was the separator).
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Builds an unsigned note from text, checking it is well-formed note text.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        check_text_chars(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// The serialized note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Verifies the note against a set of known keys.
    ///
    /// Signatures from unknown keys (name or ID differ) are ignored; a signature from a known key
    /// that fails to verify rejects the whole note; at least one known signature must verify.
    /// Returns, for each verifier index that matched, the cosignature timestamp (0 for plain
    /// Ed25519 signatures).
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<(usize, u64)>, NoteError> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            for (i, v) in verifiers.iter().enumerate() {
                if v.name != sig.name || v.key_id != sig.key_id {
                    continue;
                }
                let ts = v
                    .verify_signature(self.text.as_bytes(), &sig.signature)
                    .ok_or_else(|| NoteError::InvalidSignature {
                        name: sig.name.clone(),
                        key_id: sig.key_id,
                    })?;
                ok.push((i, ts));
            }
        }
        if ok.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(ok)
    }
}

/// The recommended key ID: `SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public key that verifies note signatures: plain Ed25519 or `cosignature/v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    sig_type: u8,
    key: Ed25519PublicKey,
}

impl Verifier {
    /// A verifier for plain Ed25519 note signatures (type `0x01`).
    pub fn ed25519(name: &str, key: Ed25519PublicKey) -> Result<Self, NoteError> {
        Self::with_type(name, SIG_TYPE_ED25519, key)
    }

    /// A verifier for Ed25519 `cosignature/v1` (type `0x04`).
    pub fn cosignature_v1(name: &str, key: Ed25519PublicKey) -> Result<Self, NoteError> {
        Self::with_type(name, SIG_TYPE_COSIGNATURE_V1, key)
    }

    fn with_type(name: &str, sig_type: u8, key: Ed25519PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key_id = key_id(name, sig_type, key.as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            sig_type,
            key,
        })
    }

    /// Parses a verifier key `<name>+<hex key ID>+<base64(type || key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        // The base64 key may itself contain '+': split off only the name and the key ID.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadVerifierKey("expected name+id+key"));
        };
        check_key_name(name)?;
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(NoteError::BadVerifierKey(
                "key ID must be 8 lowercase hex digits",
            ));
        }
        let id =
            u32::from_str_radix(id_hex, 16).map_err(|_| NoteError::BadVerifierKey("bad key ID"))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let (&sig_type, key) = raw
            .split_first()
            .ok_or(NoteError::BadVerifierKey("empty key"))?;
        if sig_type != SIG_TYPE_ED25519 && sig_type != SIG_TYPE_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedSignatureType(sig_type));
        }
        if key.len() != 32 {
            return Err(NoteError::BadVerifierKey("Ed25519 key must be 32 bytes"));
        }
        let v = Self::with_type(name, sig_type, Ed25519PublicKey::from_bytes(key)?)?;
        if v.key_id != id {
            return Err(NoteError::WrongKeyId);
        }
        Ok(v)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.sig_type];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signature type byte.
    pub fn sig_type(&self) -> u8 {
        self.sig_type
    }

    /// Public key.
    pub fn public_key(&self) -> &Ed25519PublicKey {
        &self.key
    }

    /// Verifies one signature over note text; returns the timestamp (0 for plain Ed25519).
    fn verify_signature(&self, text: &[u8], sig: &[u8]) -> Option<u64> {
        match self.sig_type {
            SIG_TYPE_ED25519 => self.key.verify(text, sig).ok().map(|()| 0),
            SIG_TYPE_COSIGNATURE_V1 => {
                if sig.len() != 72 {
                    return None;
                }
                let mut t = [0u8; 8];
                t.copy_from_slice(&sig[..8]);
                let ts = u64::from_be_bytes(t);
                if ts > i64::MAX as u64 {
                    return None;
                }
                let msg = cosignature_message(ts, text);
                self.key.verify(&msg, &sig[8..]).ok().map(|()| ts)
            }
            _ => None,
        }
    }
}

/// The `cosignature/v1` signed message for note text at a time.
pub fn cosignature_message(timestamp: u64, text: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(text);
    msg
}

/// A named Ed25519 key that signs notes (type `0x01`) or cosigns them (`cosignature/v1`).
/// Clones share the key.
#[derive(Debug, Clone)]
pub struct Signer {
    verifier: Verifier,
    key: std::sync::Arc<Ed25519KeyPair>,
}

impl Signer {
    /// A plain Ed25519 note signer.
    pub fn ed25519(name: &str, key: Ed25519KeyPair) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: Verifier::ed25519(name, *key.public_key())?,
            key: std::sync::Arc::new(key),
        })
    }

    /// A `cosignature/v1` cosigner.
    pub fn cosigner(name: &str, key: Ed25519KeyPair) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: Verifier::cosignature_v1(name, *key.public_key())?,
            key: std::sync::Arc::new(key),
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Signs note text. For a cosigner, `timestamp` is the cosignature time (POSIX seconds);
    /// plain signers ignore it.
    pub fn sign(&self, text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        let signature = match self.verifier.sig_type {
            SIG_TYPE_COSIGNATURE_V1 => {
                if timestamp > i64::MAX as u64 {
                    return Err(NoteError::TimestampOutOfRange(timestamp));
                }
                let sig = self
                    .key
                    .sign(&cosignature_message(timestamp, text.as_bytes()))?;
                let mut out = timestamp.to_be_bytes().to_vec();
                out.extend_from_slice(&sig);
                out
            }
            _ => self.key.sign(text.as_bytes())?.to_vec(),
        };
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_name_rules() {
        assert!(check_key_name("example.com/foo").is_ok());
        assert_eq!(check_key_name(""), Err(NoteError::BadKeyName));
        assert_eq!(check_key_name("a b"), Err(NoteError::BadKeyName));
        assert_eq!(check_key_name("a+b"), Err(NoteError::BadKeyName));
        assert_eq!(check_key_name("a\u{00a0}b"), Err(NoteError::BadKeyName));
    }
}
