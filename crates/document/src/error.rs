/// Why a file or its `DocumentReference` was refused. [`DocumentError::code`] is the stable
/// code of `docs/protocol.md` §18; the messages never quote the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Over [`crate::MAX_FILE_BYTES`], or empty.
    #[error("the file is {size} bytes; a document may be 1 to {max} bytes")]
    FileTooLarge {
        /// The file's length in bytes.
        size: u64,
        /// The largest accepted, in bytes.
        max: u64,
    },
    /// The file's length is not the card's `size` (§18.2 step 1).
    #[error("the file's length is not the size its card names")]
    FileSizeMismatch,
    /// The file's SHA-256 is not the card's (§18.2 step 2).
    #[error("the file's SHA-256 is not the one its card names")]
    FileHashMismatch,
    /// The file's leading bytes are not those of its declared type.
    #[error("the file's content is not of its declared type, {expected}")]
    FileTypeMismatch {
        /// The declared type's media type.
        expected: &'static str,
    },
    /// A content type other than PDF, JPEG or PNG.
    #[error("a document is a PDF, JPEG or PNG file")]
    UnsupportedFileType,
    /// A PDF whose compressed streams inflate past the cap (§18.3).
    #[error("the PDF's compressed streams inflate to more than {limit} bytes")]
    PdfBomb {
        /// The cap on what the streams may inflate to, in bytes.
        limit: u64,
    },
    /// The file ends before its structure does (no `%%EOF`, no JPEG EOI, no PNG IEND, a cut
    /// segment or chunk).
    #[error("the file is truncated: {0}")]
    FileTruncated(&'static str),
    /// The file's structure is broken (bad marker, bad chunk CRC, …).
    #[error("the file is malformed: {0}")]
    FileMalformed(&'static str),
    /// An image over [`crate::MAX_PIXELS`].
    #[error("the image is {width}×{height} pixels; at most {max} pixels are accepted")]
    ImageTooLarge {
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
        /// The most pixels accepted.
        max: u64,
    },
    /// The `DocumentReference` (or the card's bundle) breaks §18.1.
    #[error("invalid DocumentReference: {0}")]
    InvalidDocumentReference(&'static str),
}

impl DocumentError {
    /// The stable machine-readable code (`docs/protocol.md` §18).
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::FileTooLarge { .. } => "file_too_large",
            DocumentError::FileSizeMismatch => "file_size_mismatch",
            DocumentError::FileHashMismatch => "file_hash_mismatch",
            DocumentError::FileTypeMismatch { .. } => "file_type_mismatch",
            DocumentError::UnsupportedFileType => "unsupported_file_type",
            DocumentError::PdfBomb { .. } => "pdf_bomb",
            DocumentError::FileTruncated(_) => "file_truncated",
            DocumentError::FileMalformed(_) => "file_malformed",
            DocumentError::ImageTooLarge { .. } => "image_too_large",
            DocumentError::InvalidDocumentReference(_) => "invalid_document_reference",
        }
    }
}
