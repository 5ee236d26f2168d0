//! The one error type of the crate.

use spondon_core::shc::ShcError;
use spondon_core::shl::ShlError;

/// Why an export (file, PDF or link) could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the input is {len} bytes; an export is at most {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the export file is empty")]
    Empty,
    #[error("the export file is not UTF-8 text")]
    NotUtf8,
    #[error("the export file is not JSON: {0}")]
    NotJson(String),
    #[error("the export file's cards: {0}")]
    Cards(ShcError),
    #[error("the export file's \"spondon\" member: {0}")]
    BadMember(String),
    #[error("the export file has format version {0}; this software reads version 1")]
    UnsupportedVersion(u64),
    #[error("card {index}: {source}")]
    Card { index: usize, source: ShcError },
    #[error("the input is not a PDF file")]
    NotPdf,
    #[error("the PDF carries no Spondon export attachment")]
    NoAttachment,
    #[error("the PDF's export attachment is damaged: {0}")]
    BadAttachment(String),
    #[error("cannot draw the PDF: {0}")]
    Render(String),
    #[error("PDF option: {0}")]
    BadOption(String),
    #[error("trust anchors: {0}")]
    Anchors(String),
    #[error("SMART Health Link: {0}")]
    BadLink(String),
    #[error("SMART Health Link: {0}")]
    Link(#[from] ShlError),
    /// A document card's file (`docs/protocol.md` §18): `code` is `file_missing`,
    /// `file_size_mismatch`, `file_hash_mismatch`, `file_type_mismatch`,
    /// `invalid_document_reference` or `unsupported_file_type`.
    #[error("card {card}'s document file: {message}")]
    File {
        card: usize,
        code: &'static str,
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
