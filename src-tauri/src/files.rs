//! Bytes from the page (base64) and files the app saves.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use spondon_app_api::{ApiError, codes};

/// Largest file the page may hand over (a backup of many records; a photo of a QR code).
pub const MAX_INPUT: usize = 64 << 20;

/// Decodes standard base64 from the page (padding optional; a `data:…;base64,` prefix, as
/// `FileReader.readAsDataURL` gives, is accepted). `what` names it in errors.
pub fn decode_b64(text: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    let t = text.trim();
    let t = match t.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,").map(|(_, b)| b).ok_or_else(|| {
            ApiError::new(codes::INVALID, format!("the {what} is not base64 data"))
        })?,
        None => t,
    };
    if t.len() > MAX_INPUT / 3 * 4 + 4 {
        return Err(ApiError::new(
            codes::INVALID,
            format!("the {what} is larger than {} MiB", MAX_INPUT >> 20),
        ));
    }
    let t = t.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(t)
        .map_err(|_| ApiError::new(codes::INVALID, format!("the {what} is not valid base64")))
}

/// A file name that does not exist yet in `dir`: `stem-YYYYMMDD-HHMMSS[-n].ext`.
pub async fn fresh_path(dir: &Path, stem: &str, ext: &str) -> Result<PathBuf, ApiError> {
    let now = spondon_core::NumericDate::now().seconds();
    let stamp = time_stamp(now);
    for n in 0..100 {
        let name = if n == 0 {
            format!("{stem}-{stamp}.{ext}")
        } else {
            format!("{stem}-{stamp}-{n}.{ext}")
        };
        let p = dir.join(name);
        if !tokio::fs::try_exists(&p).await.unwrap_or(true) {
            return Ok(p);
        }
    }
    Err(ApiError::new(
        codes::IO,
        "no free file name in the export folder",
    ))
}

fn time_stamp(t: i64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), UTC.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Writes a file the user asked for (creating the folder), off the executor.
pub async fn save(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| {
            ApiError::new(codes::IO, format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    // 0600, atomically: exports and backups hold health data.
    spondon_wallet::write_private(path, bytes.to_vec())
        .await
        .map_err(|e| ApiError::new(codes::IO, format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_forms() {
        assert_eq!(decode_b64("aGk=", "x").unwrap(), b"hi");
        assert_eq!(decode_b64("aGk", "x").unwrap(), b"hi");
        assert_eq!(
            decode_b64("data:image/png;base64,aGk=", "x").unwrap(),
            b"hi"
        );
        assert_eq!(decode_b64("@@", "x").unwrap_err().code, "invalid");
        assert_eq!(time_stamp(0), "19700101-000000");
        assert_eq!(time_stamp(1_767_225_600), "20260101-000000");
    }
}
