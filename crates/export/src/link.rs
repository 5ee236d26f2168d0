//! A SMART Health Link to an export: the export file encrypted (JWE, `A256GCM`, key in the link)
//! for hosting anywhere (a web server, a file share, cloud storage), and the `shlink:/` text that
//! points at it with the `U` flag (the URL is the encrypted file itself; GET, no manifest).

use std::fmt;

use serde_json::Number;
use spondon_core::NumericDate;
use spondon_core::shl::{ShlFlags, ShlPayload, encrypt_file};
use zeroize::Zeroizing;

use crate::{ExportError, MEDIA_TYPE};

/// Longest label the SMART Health Links specification allows.
pub const MAX_LABEL_CHARS: usize = 80;

/// A link and the file it points at.
pub struct SharedLink {
    /// `shlink:/…`: holds the decryption key; share it only with the recipient (e.g. as a QR).
    pub shlink: Zeroizing<String>,
    /// The JWE to upload at the link's URL (served as `application/jose`).
    pub encrypted_file: String,
}

impl fmt::Debug for SharedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLink")
            .field("shlink", &"[redacted]")
            .field("encrypted_file_len", &self.encrypted_file.len())
            .finish()
    }
}

/// Encrypts `file` (an export file's bytes) under a fresh key and makes the link to `url`, where
/// the caller will host `encrypted_file`. `url` must be https; `label` (≤ 80 characters) is
/// shown to the recipient; `exp` tells them when the link stops working.
pub fn shl_export(
    file: &[u8],
    url: &str,
    label: Option<&str>,
    exp: Option<NumericDate>,
) -> Result<SharedLink, ExportError> {
    let mut payload = ShlPayload::new(url)?;
    if !payload.is_https() {
        return Err(ExportError::BadLink(
            "the URL must start with https://".into(),
        ));
    }
    if let Some(l) = label {
        if l.chars().count() > MAX_LABEL_CHARS {
            return Err(ExportError::BadLink(format!(
                "the label is longer than {MAX_LABEL_CHARS} characters"
            )));
        }
        payload.label = Some(l.to_owned());
    }
    payload.exp = exp.map(|e| Number::from(e.seconds()));
    payload.flag = ShlFlags {
        direct: true,
        ..ShlFlags::default()
    };
    payload.v = Some(1);
    let encrypted_file = encrypt_file(file, &payload.key, MEDIA_TYPE, true)?;
    Ok(SharedLink {
        shlink: payload.to_uri(),
        encrypted_file,
    })
}
