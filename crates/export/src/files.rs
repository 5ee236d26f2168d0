//! Documents in exports (`docs/protocol.md` §18.4): the files that document records carry
//! beside their cards, and every reader's check of a file against its card (§18.2).
//!
//! A card never holds a file's bytes: its `DocumentReference` names the file's content type,
//! size and SHA-256. An export with document records therefore travels as
//! - a directory `NAME/` with `NAME.smart-health-card` and each file as
//!   `files/<64 hex sha256>.<pdf|jpg|png>` ([`write_export_dir`]), or
//! - a PDF with each file attached (`/EmbeddedFiles` and `/AF`, [`crate::render_pdf_with_files`]).
//!
//! [`check_files`] checks files found beside an export against its cards: each file against the
//! card that names its hash (size, SHA-256, leading bytes, in that order), a file no card names,
//! a document card whose file is missing.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use spondon_core::NumericDate;
use spondon_core::shc::{self, ParsedCard};
use spondon_document::{Attachment, DocumentError};

use crate::verify::Problem;
use crate::{Export, ExportError, write_export};

/// Largest file a document record carries (25 MiB, §18.1).
pub const MAX_FILE_BYTES: usize = spondon_document::MAX_FILE_BYTES as usize;
/// Most files in one export.
pub const MAX_FILES: usize = 1_000;
/// The folder of a directory export that holds the files.
pub const FILES_DIR: &str = "files";

/// One file the wallet keeps for a document record, handed to an export beside the cards.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// SHA-256 of `bytes`, as the card names it.
    pub sha256: [u8; 32],
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl ExportFile {
    /// A file and its SHA-256.
    pub fn new(bytes: Vec<u8>) -> ExportFile {
        ExportFile {
            sha256: Sha256::digest(&bytes).into(),
            bytes,
        }
    }
}

impl fmt::Debug for ExportFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportFile")
            .field("sha256", &hex(&self.sha256))
            .field("len", &self.bytes.len())
            .finish()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 lowercase or uppercase hex digits.
pub fn parse_hex_sha256(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub use spondon_document::FileType;

/// "PDF", "JPEG image", "PNG image".
pub fn type_words(t: FileType) -> &'static str {
    match t {
        FileType::Pdf => "PDF",
        FileType::Jpeg => "JPEG image",
        FileType::Png => "PNG image",
    }
}

/// The file a document card names (its `DocumentReference`'s one attachment), with what the
/// card says of it for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFile {
    /// The file's type, from the attachment's content type.
    pub kind: FileType,
    /// The file's size in bytes, as the card names it.
    pub size: u64,
    /// The file's SHA-256, as the card names it.
    pub sha256: [u8; 32],
    /// The attachment's `title` (a file name), when given.
    pub title: Option<String>,
    /// The document's type (`DocumentReference.type`) in words.
    pub doc_type: Option<String>,
    /// The document's description, when given.
    pub description: Option<String>,
    /// As `spondon-document` read it.
    pub attachment: Attachment,
}

fn problem_of(e: &DocumentError) -> Problem {
    Problem {
        code: e.code().into(),
        message: e.to_string(),
    }
}

impl CardFile {
    /// The file a card's FHIR bundle names (`spondon_document::Attachment::from_card_fhir`):
    /// `None` for a card that holds no `DocumentReference` (not a document record), an error
    /// for one that breaks §18.1.
    pub fn of_bundle(bundle: &Value) -> Option<Result<CardFile, Problem>> {
        match Attachment::from_card_fhir(bundle) {
            Ok(None) => None,
            Ok(Some(attachment)) => {
                let doc = shc::fhir::resources(bundle).into_iter().find(|r| {
                    r.get("resourceType").and_then(Value::as_str) == Some("DocumentReference")
                });
                Some(Ok(Self::with_words(attachment, doc)))
            }
            Err(e) => Some(Err(problem_of(&e))),
        }
    }

    pub(crate) fn of_document_reference(doc: &Value) -> Result<CardFile, Problem> {
        Attachment::from_document_reference(doc)
            .map(|a| Self::with_words(a, Some(doc)))
            .map_err(|e| problem_of(&e))
    }

    fn with_words(attachment: Attachment, doc: Option<&Value>) -> CardFile {
        let doc_type = doc
            .and_then(|d| d.get("type"))
            .and_then(crate::render::concept);
        let description = doc
            .and_then(|d| d.get("description"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        CardFile {
            kind: attachment.file_type,
            size: attachment.size,
            sha256: attachment.sha256,
            title: attachment.title.clone(),
            doc_type,
            description,
            attachment,
        }
    }

    /// The reader's check (§18.2, `spondon_document::Attachment::check`), in order: length,
    /// SHA-256, leading bytes. Codes `file_size_mismatch`, `file_hash_mismatch`,
    /// `file_type_mismatch`.
    pub fn check(&self, bytes: &[u8]) -> Result<(), Problem> {
        self.attachment.check(bytes).map_err(|e| {
            let mut p = problem_of(&e);
            if e.code() == "file_hash_mismatch" {
                p.message = "the file's SHA-256 is not the one its card names: it is not the file the hospital signed".into();
            } else if e.code() == "file_size_mismatch" {
                p.message = format!(
                    "the file is {} bytes; its card says {} bytes",
                    bytes.len(),
                    self.size
                );
            }
            p
        })
    }

    /// `files/<64 hex sha256>.<ext>`: the file's place in a directory export.
    pub fn dir_path(&self) -> String {
        format!(
            "{FILES_DIR}/{}.{}",
            hex(&self.sha256),
            self.kind.extension()
        )
    }

    /// `<title or sha256>.<ext>`: the file's name as a PDF attachment.
    pub fn attachment_name(&self) -> String {
        let ext = self.kind.extension();
        match &self.title {
            Some(t) if t.to_ascii_lowercase().ends_with(&format!(".{ext}")) => t.clone(),
            Some(t) => format!("{t}.{ext}"),
            None => format!("{}.{ext}", hex(&self.sha256)),
        }
    }
}

/// The document card files of an export, by card index (`None`: not a document card or a card
/// that does not parse).
pub(crate) fn card_files(export: &Export) -> Vec<Option<Result<CardFile, Problem>>> {
    export
        .records
        .iter()
        .map(|r| {
            let card = ParsedCard::parse(&r.jws).ok()?;
            CardFile::of_bundle(card.fhir_bundle())
        })
        .collect()
}

/// Each document card's file, checked against the card, in card order: an error when a
/// document card is malformed, its file is not among `files` or does not match (a wallet must
/// not export a file its card does not vouch for). Files no card names are left out.
pub fn files_of_export<'a>(
    export: &Export,
    files: &'a [ExportFile],
) -> Result<Vec<(usize, CardFile, &'a ExportFile)>, ExportError> {
    let mut out = Vec::new();
    for (index, cf) in card_files(export).into_iter().enumerate() {
        let Some(cf) = cf else { continue };
        let cf = cf.map_err(|p| ExportError::File {
            card: index + 1,
            code: if p.code == "unsupported_file_type" {
                "unsupported_file_type"
            } else {
                "invalid_document_reference"
            },
            message: p.message,
        })?;
        if out
            .iter()
            .any(|(_, o, _): &(usize, CardFile, &ExportFile)| o.sha256 == cf.sha256)
        {
            continue; // two cards of the same file: one copy
        }
        let file = files
            .iter()
            .find(|f| f.sha256 == cf.sha256)
            .ok_or_else(|| ExportError::File {
                card: index + 1,
                code: "file_missing",
                message: "the wallet does not hold this document's file".into(),
            })?;
        cf.check(&file.bytes).map_err(|p| ExportError::File {
            card: index + 1,
            code: match p.code.as_str() {
                "file_size_mismatch" => "file_size_mismatch",
                "file_hash_mismatch" => "file_hash_mismatch",
                _ => "file_type_mismatch",
            },
            message: p.message,
        })?;
        out.push((index, cf, file));
    }
    if out.len() > MAX_FILES {
        return Err(ExportError::TooLarge {
            len: out.len(),
            max: MAX_FILES,
        });
    }
    Ok(out)
}

/// The directory form of an export with documents (§18.4): `(path inside the directory,
/// bytes)`, first `NAME.smart-health-card`, then each document card's file as
/// `files/<64 hex sha256>.<pdf|jpg|png>`. The caller writes them under a directory `NAME/`.
/// `name` is a plain file name (no separators, no leading dot).
pub fn write_export_dir(
    export: &Export,
    files: &[ExportFile],
    name: &str,
) -> Result<Vec<(String, Vec<u8>)>, ExportError> {
    if name.is_empty()
        || name.starts_with('.')
        || name.len() > 100
        || name
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'))
    {
        return Err(ExportError::BadOption(
            "the export's name must be a plain file name".into(),
        ));
    }
    let chosen = files_of_export(export, files)?;
    let mut out = vec![(format!("{name}.smart-health-card"), write_export(export))];
    for (_, cf, file) in chosen {
        out.push((cf.dir_path(), file.bytes.clone()));
    }
    Ok(out)
}

/// A file found beside an export: in its `files/` folder, or attached to its PDF.
#[derive(Clone)]
pub struct FoundFile {
    /// Its name where it was found (`files/….pdf`, or the PDF attachment's name).
    pub name: String,
    /// The card hash it is filed under (the directory file name, the PDF attachment's
    /// `/Spondon:SHA256`), when it says so; else its own hash is used to find its card.
    pub claimed_sha256: Option<[u8; 32]>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for FoundFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FoundFile")
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The verdict on one file of an export, or on one document card whose file is missing. No
/// health content but the document's type, title and file name.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// Where it was found; `None` for a card whose file is missing.
    pub name: Option<String>,
    /// 1-based number of the card it was checked against.
    pub card: Option<usize>,
    /// The file matches its card (size, SHA-256, type); `errors` is empty exactly when it does.
    pub valid: bool,
    /// As the card names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'static str>,
    /// Its size in bytes, as the card names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// 64 hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The attachment's title (a file name), as the card names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The document's type in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// Why the file does not match, or why its card's file is missing.
    pub errors: Vec<Problem>,
}

/// Checks the files found beside an export against its cards (§18.2, §18.4): a file filed
/// under a card's hash (or, when it names none, whose own hash a card names) is checked against
/// that card; a file that matches no card is `file_not_in_card`; a document card with no file
/// is `file_missing`. In card order, files no card names last. Whether each card itself
/// verifies is [`crate::verify_export`]'s.
pub fn check_files(export: &Export, found: &[FoundFile]) -> Vec<FileReport> {
    let cards = card_files(export);
    let mut reports = Vec::new();
    let mut seen = vec![false; cards.len()];
    for f in found {
        let key = f
            .claimed_sha256
            .unwrap_or_else(|| Sha256::digest(&f.bytes).into());
        let card = cards.iter().enumerate().find_map(|(i, c)| match c {
            Some(Ok(cf)) if cf.sha256 == key => Some((i, cf)),
            _ => None,
        });
        let mut report = FileReport {
            name: Some(f.name.clone()),
            card: None,
            valid: false,
            content_type: None,
            size: None,
            sha256: None,
            title: None,
            doc_type: None,
            errors: Vec::new(),
        };
        match card {
            Some((i, cf)) => {
                seen[i] = true;
                report.card = Some(i + 1);
                report.content_type = Some(cf.kind.mime());
                report.size = Some(cf.size);
                report.sha256 = Some(hex(&cf.sha256));
                report.title = cf.title.clone();
                report.doc_type = cf.doc_type.clone();
                match cf.check(&f.bytes) {
                    Ok(()) => report.valid = true,
                    Err(p) => report.errors.push(p),
                }
            }
            None => report.errors.push(Problem {
                code: "file_not_in_card".into(),
                message: "no card of the export names this file".into(),
            }),
        }
        reports.push(report);
    }
    for (i, c) in cards.iter().enumerate() {
        match c {
            Some(Ok(cf)) if !seen[i] => {
                // A second card naming the same file is satisfied by the first's copy.
                let shared = cards.iter().enumerate().any(|(j, o)| {
                    j != i && seen[j] && matches!(o, Some(Ok(o)) if o.sha256 == cf.sha256)
                });
                if shared {
                    continue;
                }
                reports.push(FileReport {
                    name: None,
                    card: Some(i + 1),
                    valid: false,
                    content_type: Some(cf.kind.mime()),
                    size: Some(cf.size),
                    sha256: Some(hex(&cf.sha256)),
                    title: cf.title.clone(),
                    doc_type: cf.doc_type.clone(),
                    errors: vec![Problem {
                        code: "file_missing".into(),
                        message: "the card names a file that is not in the export".into(),
                    }],
                });
            }
            Some(Err(p)) => reports.push(FileReport {
                name: None,
                card: Some(i + 1),
                valid: false,
                content_type: None,
                size: None,
                sha256: None,
                title: None,
                doc_type: None,
                errors: vec![p.clone()],
            }),
            _ => {}
        }
    }
    // In card order; files no card names last.
    reports.sort_by_key(|r| r.card.unwrap_or(usize::MAX));
    reports
}

/// "this PDF is the one Labaid Hospital signed on 6 December 2026": what a verified file is,
/// in plain words.
pub fn file_sentence(kind: FileType, issuer: &str, issued: NumericDate) -> String {
    let what = match kind {
        FileType::Pdf => "this PDF",
        FileType::Jpeg => "this JPEG image",
        FileType::Png => "this PNG image",
    };
    format!(
        "{what} is the one {issuer} signed on {}",
        crate::render::date(issued)
    )
}
