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
//! - [`export_parts`]: a long export cut into parts that each fit what a clinic node accepts.
//!
//! No I/O: bytes in, bytes out. [`files`] stays a module: the clinic node and the verifier CLI
//! use its helpers by that name.
//!
//! A card round-trips through the export file (with no log proof, it still verifies by its
//! signature):
//!
//! ```
//! use spondon_core::shc::CardBuilder;
//! use spondon_core::{Es256KeyPair, NumericDate};
//! use spondon_export::{Export, ExportRecord, parse_export, write_export};
//!
//! let hospital = Es256KeyPair::generate()?;
//! let patient = serde_json::json!({"resourceType": "Patient", "birthDate": "1990-01-01"});
//! let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection",
//!     "entry": [{"fullUrl": "resource:0", "resource": patient}]});
//! let jws = CardBuilder::new("https://peer.hospital.example", NumericDate(1_780_000_000), bundle)
//!     .sign(&hospital)?;
//! let export = Export {
//!     created: NumericDate(1_780_000_100),
//!     records: vec![ExportRecord { jws, proof: None }],
//!     receipts: vec![],
//!     patient_summary: None,
//! };
//! let file = write_export(&export);
//! assert_eq!(parse_export(&file)?, export);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod error;
pub mod files;
mod font;
mod format;
mod ips;
mod link;
mod parts;
mod pdf;
mod qr;
mod render;
mod verify;

pub use error::ExportError;
pub use files::{
    CardFile, ExportFile, FileReport, FileType, FoundFile, MAX_FILE_BYTES, check_files,
    write_export_dir,
};
pub use format::{
    Export, ExportRecord, FORMAT_VERSION, MAX_EVENT_BYTES, MAX_EXPORT_BYTES, MAX_RECEIPTS,
    MEDIA_TYPE, RecordProof, ShareReceipt, parse_export, write_export,
};
pub use ips::{LOINC_PATIENT_SUMMARY, NOT_SIGNED_NOTE, PatientSummaryInput, SECTIONS, build_ips};
pub use link::{MAX_LABEL_CHARS, SharedLink, shl_export};
pub use parts::{ExportPart, MAX_PART_CARDS, MAX_PART_PDF_BYTES, PartsInput, export_parts};
pub use pdf::{
    ATTACHMENT_NAME, MAX_PDF_BYTES, PdfOptions, PdfPart, SHA256_KEY, extract_export_from_pdf,
    extract_files_from_pdf, render_pdf, render_pdf_with_files,
};
pub use verify::{
    Anchors, CardReport, ExportReport, LogAnchor, LogInclusion, Problem, SummaryCheck,
    verify_export,
};
