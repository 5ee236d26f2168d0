//! The one error type of the crate.

use spondon_core::shc::ShcError;
use spondon_core::shl::ShlError;

/// Why an export (file, PDF or link) could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The input is larger than an export may be; nothing was parsed.
    #[error("the input is {len} bytes; an export is at most {max} bytes")]
    TooLarge {
        /// The input's length in bytes.
        len: usize,
        /// The largest accepted, in bytes.
        max: usize,
    },
    /// The export file is empty.
    #[error("the export file is empty")]
    Empty,
    /// The export file is not UTF-8.
    #[error("the export file is not UTF-8 text")]
    NotUtf8,
    /// The export file is not JSON.
    #[error("the export file is not JSON: {0}")]
    NotJson(String),
    /// The `verifiableCredential` array is not a `.smart-health-card` file's.
    #[error("the export file's cards: {0}")]
    Cards(ShcError),
    /// The `spondon` member is malformed (what is wrong).
    #[error("the export file's \"spondon\" member: {0}")]
    BadMember(String),
    /// The `spondon` member's format version is not 1.
    #[error("the export file has format version {0}; this software reads version 1")]
    UnsupportedVersion(u64),
    /// A card cannot be parsed.
    #[error("card {index}: {source}")]
    Card {
        /// Its 1-based number in the file.
        index: usize,
        /// Why it cannot.
        source: ShcError,
    },
    /// The input is not a PDF.
    #[error("the input is not a PDF file")]
    NotPdf,
    /// The PDF carries no Spondon export attachment.
    #[error("the PDF carries no Spondon export attachment")]
    NoAttachment,
    /// The PDF's export attachment cannot be read.
    #[error("the PDF's export attachment is damaged: {0}")]
    BadAttachment(String),
    /// Drawing the PDF failed.
    #[error("cannot draw the PDF: {0}")]
    Render(String),
    /// A [`PdfOptions`](crate::PdfOptions) value is out of range.
    #[error("PDF option: {0}")]
    BadOption(String),
    /// The trust anchors (trusted issuers, log keys, trust list) are unusable.
    #[error("trust anchors: {0}")]
    Anchors(String),
    /// The SMART Health Link could not be built (its URL or label).
    #[error("SMART Health Link: {0}")]
    BadLink(String),
    /// The SMART Health Link's payload or encrypted file is invalid.
    #[error("SMART Health Link: {0}")]
    Link(#[from] ShlError),
    /// A document card's file (`docs/protocol.md` §18): `code` is `file_missing`,
    /// `file_size_mismatch`, `file_hash_mismatch`, `file_type_mismatch`,
    /// `invalid_document_reference` or `unsupported_file_type`.
    #[error("card {card}'s document file: {message}")]
    File {
        /// The 1-based number of the card.
        card: usize,
        /// The stable code (above).
        code: &'static str,
        /// What is wrong, for people.
        message: String,
    },
}

impl ExportError {
    /// A stable snake_case code for reports and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::TooLarge { .. } => "export_too_large",
            ExportError::Empty => "export_empty",
            ExportError::NotUtf8 => "export_not_utf8",
            ExportError::NotJson(_) => "export_not_json",
            ExportError::Cards(e) => e.code(),
            ExportError::BadMember(_) => "export_bad_member",
            ExportError::UnsupportedVersion(_) => "export_unsupported_version",
            ExportError::Card { source, .. } => source.code(),
            ExportError::NotPdf => "not_pdf",
            ExportError::NoAttachment => "pdf_no_export",
            ExportError::BadAttachment(_) => "pdf_bad_export",
            ExportError::Render(_) => "pdf_render_failed",
            ExportError::BadOption(_) => "pdf_bad_option",
            ExportError::Anchors(_) => "bad_anchors",
            ExportError::BadLink(_) => "bad_link",
            ExportError::Link(e) => e.code(),
            ExportError::File { code, .. } => code,
        }
    }
}
