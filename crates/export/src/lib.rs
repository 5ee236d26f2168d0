//! Spondon exports (`docs/export.md`): what a patient hands to a visa medical office, an employer
//! or any other office, and how that office checks it offline.
//!
//! - [`write_export`] / [`parse_export`]: a standard `.smart-health-card` file whose
//!   `verifiableCredential` array holds the hospital-signed cards, with one extra `spondon` member
//!   carrying each card's log proof (a `c2sp.org/tlog-proof@v1` bundle and the salt that opens
//!   the logged commitment), optional share receipts, and the International Patient Summary.
//! - [`build_ips`]: the International Patient Summary (FHIR R4 document `Bundle`) assembled from
//!   the cards' resources. The wallet assembles it; no hospital signed it, and it says so.
//! - [`verify_export`]: every card's signature against trusted issuers, every log proof against
//!   the hospital's log key, share receipts; the report names issuer, issue date, and inclusion,
//!   and nothing of the health content.
//! - [`render_pdf`] / [`extract_export_from_pdf`]: a printable A4 PDF with a `shc:/` QR per card
//!   and the export file attached, so the paper copy and the PDF file both verify.
//! - [`shl_export`]: a SMART Health Link to the encrypted export file.
//! - Documents ([`files`], `docs/protocol.md` §18.4): the files document records carry travel
//!   beside the cards — [`write_export_dir`] (a directory with `files/<sha256>.<ext>`),
//!   [`render_pdf_with_files`] (each file attached to the PDF and listed), and
//!   [`check_files`] / [`extract_files_from_pdf`] to check each file against its card.
//!
//! No I/O: bytes in, bytes out.

mod error;
pub mod files;
mod font;
pub mod format;
pub mod ips;
pub mod link;
pub mod parts;
pub mod pdf;
mod qr;
mod render;
pub mod verify;

pub use error::ExportError;
pub use files::{
    CardFile, ExportFile, FileReport, FileType, FoundFile, MAX_FILE_BYTES, check_files,
    write_export_dir,
};
pub use format::{
    Export, ExportRecord, MAX_EXPORT_BYTES, MEDIA_TYPE, RecordProof, ShareReceipt, parse_export,
    write_export,
};
pub use ips::{PatientSummaryInput, build_ips};
pub use link::{SharedLink, shl_export};
pub use parts::{ExportPart, PartsInput, export_parts};
pub use pdf::{
    PdfOptions, PdfPart, extract_export_from_pdf, extract_files_from_pdf, render_pdf,
    render_pdf_with_files,
};
pub use verify::{
    Anchors, CardReport, ExportReport, LogAnchor, LogInclusion, Problem, SummaryCheck,
    verify_export,
};
