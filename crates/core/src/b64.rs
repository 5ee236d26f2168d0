//! base64url without padding (RFC 4648 §5), as JOSE uses it, with strict decoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url. Padding, whitespace and the standard alphabet's `+` `/` are
/// rejected, as are non-canonical trailing bits.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// Decodes unpadded base64url into exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = decode(text).ok()?;
    bytes.try_into().ok()
}
