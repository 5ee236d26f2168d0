//! Documents: records that carry a file (`docs/protocol.md` §18).
//!
//! A document record's signed card holds a FHIR R4 `DocumentReference` whose one attachment
//! names the file's content type, size and SHA-256, never its bytes. This crate is the shared
//! part of every party that touches such a file, with no I/O and no async (it builds for
//! `wasm32-unknown-unknown`):
//! - [`Attachment::from_card_fhir`] / [`Attachment::from_document_reference`] read the
//!   attachment out of a card (§18.1), refusing `data`, `url` and FHIR's SHA-1 `hash`;
//! - [`Attachment::check`] and the streaming [`AttachmentChecker`] are the reader's check
//!   (§18.2): size, then SHA-256, then magic bytes, before a single byte is shown or kept;
//! - [`validate`] is the peer's structure check before it stores an upload (§18.3): a PDF's
//!   header, `%%EOF` and a cap on what its Flate streams inflate to; a JPEG's marker walk; a
//!   PNG's chunk walk with CRCs and a pixel cap. Nothing is rendered or decoded to pixels.
//!
//! Every error has a stable [`DocumentError::code`].
//!
//! A reader checks the bytes it was handed against what the signed card names:
//!
//! ```
//! use spondon_document::{Attachment, DocumentError, FileType, sha256};
//!
//! let png = b"\x89PNG\r\n\x1a\n...the rest of the image";
//! let named = Attachment {
//!     file_type: FileType::Png,
//!     size: png.len() as u64,
//!     sha256: sha256(png),
//!     title: Some("x-ray.png".into()),
//!     creation: None,
//! };
//! named.check(png)?;
//!
//! let mut altered = png.to_vec();
//! altered[20] ^= 1;
//! assert_eq!(named.check(&altered), Err(DocumentError::FileHashMismatch));
//! # Ok::<(), DocumentError>(())
//! ```

#![warn(missing_docs)]

mod attachment;
mod error;
mod validate;

pub use attachment::{
    Attachment, AttachmentChecker, CATEGORIES, DocumentRequest, MAX_TITLE_CHARS,
    RECORD_CATEGORY_SYSTEM, SHA256_EXTENSION_URL, category_of,
};
pub use error::DocumentError;
pub use validate::{MAX_PDF_INFLATED_BYTES, MAX_PIXELS, PDF_INFLATE_RATIO, validate};

use sha2::{Digest, Sha256};

/// The largest file a record may carry: 25 MiB (§18.1).
pub const MAX_FILE_BYTES: u64 = 26_214_400;

/// The kinds of file a record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A PDF document (`application/pdf`).
    Pdf,
    /// A JPEG image (`image/jpeg`).
    Jpeg,
    /// A PNG image (`image/png`).
    Png,
}

impl FileType {
    /// Every type a record may carry.
    pub const ALL: [FileType; 3] = [FileType::Pdf, FileType::Jpeg, FileType::Png];

    /// The media type, as in the attachment's `contentType` and the HTTP `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
        }
    }

    /// The type of a media type. Parameters (`; charset=…`), surrounding white space and case
    /// are ignored, as HTTP allows; `None` for any other type.
    pub fn from_mime(mime: &str) -> Option<FileType> {
        let essence = mime.split(';').next().unwrap_or_default().trim();
        Self::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(essence))
    }

    /// The file name extension used in exports (`files/<sha256>.<ext>`, §18.4).
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
        }
    }

    /// The leading bytes every file of this type starts with (§18.2 step 3).
    pub fn magic(self) -> &'static [u8] {
        match self {
            FileType::Pdf => b"%PDF-",
            FileType::Jpeg => &[0xFF, 0xD8, 0xFF],
            FileType::Png => &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
        }
    }

    /// The type the leading bytes say, if any.
    pub fn sniff(bytes: &[u8]) -> Option<FileType> {
        Self::ALL.into_iter().find(|t| bytes.starts_with(t.magic()))
    }
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_round_trips_and_ignores_parameters() {
        for t in FileType::ALL {
            assert_eq!(FileType::from_mime(t.mime()), Some(t));
        }
        assert_eq!(
            FileType::from_mime(" Application/PDF ; x=y"),
            Some(FileType::Pdf)
        );
        assert_eq!(FileType::from_mime("image/gif"), None);
        assert_eq!(FileType::from_mime(""), None);
    }

    #[test]
    fn sniff_reads_magic_bytes() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(FileType::Jpeg)
        );
        assert_eq!(FileType::sniff(FileType::Png.magic()), Some(FileType::Png));
        assert_eq!(FileType::sniff(b"GIF89a"), None);
        assert_eq!(FileType::sniff(b""), None);
        assert_eq!(FileType::Jpeg.extension(), "jpg");
    }
}
