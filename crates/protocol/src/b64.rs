//! The one base64 rule of the wire format (`docs/protocol.md`, "Binary fields in JSON").
//!
//! - **Log bytes** — log entries and Merkle hashes (inclusion and consistency proofs, roots):
//!   the standard alphabet with padding (RFC 4648 §4), as C2SP signed notes and tlog proofs
//!   write them. [`log`] encodes and decodes them.
//! - **Everything else** — salts, grant, access and delegation ids, key ids, nonces: base64url
//!   without padding (RFC 4648 §5), as JOSE writes them. [`url`] encodes and decodes them.
//!
//! Decoding is strict in both: the other alphabet, missing or extra padding, whitespace and
//! non-canonical trailing bits are refused.

/// A 32-byte hash (SHA-256, a Merkle node).
pub type Hash = [u8; 32];

/// Log entries and Merkle hashes: standard alphabet, padded.
pub mod log {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::Hash;

    /// Encodes log bytes (an entry, a hash).
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        STANDARD.encode(bytes)
    }

    /// Decodes log bytes; `None` if not standard padded base64.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        STANDARD.decode(text).ok()
    }

    /// Decodes one 32-byte hash.
    pub fn hash(text: &str) -> Option<Hash> {
        decode(text)?.try_into().ok()
    }

    /// Encodes a list of hashes (a proof).
    pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
        hashes.iter().map(encode).collect()
    }

    /// Decodes a list of hashes (a proof); `None` if any is malformed.
    pub fn hashes(texts: &[String]) -> Option<Vec<Hash>> {
        texts.iter().map(|t| hash(t)).collect()
    }
}

/// Salts, ids, nonces: base64url, unpadded.
pub mod url {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// Encodes bytes as unpadded base64url.
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes unpadded base64url; `None` if malformed.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(text).ok()
    }

    /// Decodes unpadded base64url into exactly `N` bytes (a salt: `N` = 32).
    pub fn array<const N: usize>(text: &str) -> Option<[u8; N]> {
        decode(text)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bytes_are_standard_and_padded() {
        assert_eq!(log::encode([0xfb, 0xff]), "+/8=");
        assert_eq!(log::decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(log::decode("-_8"), None, "the url alphabet is refused");
        assert_eq!(log::decode("+/8"), None, "missing padding is refused");
        let h = [7u8; 32];
        assert_eq!(log::hashes(&log::encode_hashes(&[h, h])), Some(vec![h, h]));
        assert_eq!(
            log::hash(&log::encode([1u8; 31])),
            None,
            "31 bytes is no hash"
        );
    }

    #[test]
    fn other_bytes_are_url_and_unpadded() {
        assert_eq!(url::encode([0xfb, 0xff]), "-_8");
        assert_eq!(url::decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(
            url::decode("+/8="),
            None,
            "the standard alphabet is refused"
        );
        assert_eq!(url::decode("-_8="), None, "padding is refused");
        assert_eq!(url::array::<32>(&url::encode([9u8; 32])), Some([9u8; 32]));
        assert_eq!(url::array::<32>(&url::encode([9u8; 16])), None);
    }
}
