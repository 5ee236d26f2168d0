//! Documents at the clinic node (`docs/protocol.md` §18): after a redemption, each document
//! record's file is fetched from its peer (`POST /grant/files`, with proof of possession like
//! the redemption), read up to its card's size + 1 bytes, and checked against the card
//! (`spondon_document::Attachment::check`: size, SHA-256, leading bytes) before a single byte
//! is kept. A file that passes is kept in memory for the session that redeemed the grant, for
//! [`KEEP_SECS`], and served only to it as a download; one that fails is dropped and the page
//! says why. Nothing is rendered or decoded here, and nothing is written to disk.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Grant, Hospital};
use spondon_document::{Attachment, AttachmentChecker, DocumentError, FileType};

use super::peers::Peers;
use super::records::{PeerFailure, pop_post_limited};

/// How long a fetched file stays available to the session that fetched it.
pub const KEEP_SECS: i64 = 30 * 60;
/// Most bytes of files kept in memory at once (oldest dropped first).
pub const MAX_KEPT_BYTES: usize = 256 * 1024 * 1024;

/// A problem with one document's file, for the page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileProblem {
    /// `file_size_mismatch`, `file_hash_mismatch`, `file_type_mismatch`,
    /// `invalid_document_reference`, `unsupported_file_type`, or the peer's refusal
    /// (`refused` with `peer_code`), `unreachable`, `tls`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_code: Option<String>,
    pub message: String,
}

/// One document record as the page shows it. No content of the file.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub record_id: String,
    /// The document's type in words (`DocumentReference.type`), else its file name.
    pub title: String,
    /// The attachment's `title` (a file name), when the card gives one.
    pub file_name: Option<String>,
    pub description: Option<String>,
    pub content_type: Option<&'static str>,
    /// "PDF", "JPEG image", "PNG image".
    pub type_words: Option<&'static str>,
    pub size: Option<u64>,
    /// 64 hex.
    pub sha256: Option<String>,
    pub hospital: String,
    pub issued_at: i64,
    /// The file came and matches its card.
    pub verified: bool,
    /// "this PDF is the one Labaid Hospital signed on 6 Dec 2026".
    pub statement: Option<String>,
    pub problem: Option<FileProblem>,
    /// Where the session that redeemed the grant downloads it (set by the server).
    pub download: Option<String>,
}

/// A file that passed the check, with what it is served as.
#[derive(Clone)]
pub struct CheckedFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Arc<Vec<u8>>,
}

impl std::fmt::Debug for CheckedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedFile")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A card's attachment (`None`: not a document record).
pub fn attachment_of(bundle: &Value) -> Option<Result<Attachment, DocumentError>> {
    Attachment::from_card_fhir(bundle).transpose()
}

fn words(t: FileType) -> &'static str {
    spondon_export::files::type_words(t)
}

/// What [`fetch_file`] needs of the redemption.
#[derive(Debug)]
pub struct FileRequest<'a> {
    pub hospital: &'a Hospital,
    pub peers: &'a Peers,
    pub key: &'a Es256KeyPair,
    pub grant: &'a Grant,
    pub grant_text: &'a str,
    pub passcode: Option<&'a str>,
    pub record_id: &'a str,
    pub issued_at: i64,
    pub bundle: &'a Value,
}

fn problem(code: &str, message: impl Into<String>) -> FileProblem {
    FileProblem {
        code: code.to_owned(),
        peer_code: None,
        message: message.into(),
    }
}

fn of_failure(f: PeerFailure) -> FileProblem {
    FileProblem {
        code: f.code,
        peer_code: f.peer_code,
        message: f.message,
    }
}

/// Fetches one document record's file from its peer and checks it against the card (§18.2):
/// the view for the page, and the bytes only when they passed.
pub async fn fetch_file(
    req: &FileRequest<'_>,
    found: Result<Attachment, DocumentError>,
) -> (DocumentView, Option<CheckedFile>) {
    let doc = spondon_core::shc::fhir::resources(req.bundle)
        .into_iter()
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("DocumentReference"));
    let description = doc
        .and_then(|d| d.get("description"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    // A card's codes are minimized (no `text`, no `display`): named from the code when known.
    let doc_type = doc
        .and_then(|d| d.get("type"))
        .and_then(super::records::text_of);
    let mut view = DocumentView {
        record_id: req.record_id.to_owned(),
        title: doc_type.clone().unwrap_or_else(|| "Document".into()),
        file_name: None,
        description,
        content_type: None,
        type_words: None,
        size: None,
        sha256: None,
        hospital: req.hospital.name.clone(),
        issued_at: req.issued_at,
        verified: false,
        statement: None,
        problem: None,
        download: None,
    };
    let attachment = match found {
        Ok(a) => a,
        Err(e) => {
            view.problem = Some(problem(e.code(), e.to_string()));
            return (view, None);
        }
    };
    view.file_name = attachment.title.clone();
    if doc_type.is_none()
        && let Some(t) = &attachment.title
    {
        view.title = t.clone();
    }
    view.content_type = Some(attachment.file_type.mime());
    view.type_words = Some(words(attachment.file_type));
    view.size = Some(attachment.size);
    view.sha256 = Some(attachment.sha256_hex());

    let body = spondon_protocol::GrantFileRequest {
        grant: req.grant_text.to_owned(),
        passcode: req.passcode.map(str::to_owned),
        record_id: req.record_id.to_owned(),
    };
    // A reader stops reading at size + 1 bytes (§18.2 step 1).
    let checker = AttachmentChecker::new(&attachment);
    let limit = usize::try_from(checker.read_limit()).unwrap_or(usize::MAX);
    let r = match pop_post_limited(
        req.hospital,
        req.peers,
        req.key,
        req.grant,
        "/grant/files",
        &body,
        limit,
    )
    .await
    {
        Ok(r) => r,
        Err(f) if f.code == "too_large" => {
            view.problem = Some(problem(
                "file_size_mismatch",
                "the peer sent more bytes than the card's size: the file was refused",
            ));
            return (view, None);
        }
        Err(f) => {
            view.problem = Some(of_failure(f));
            return (view, None);
        }
    };
    if r.status != 200 {
        view.problem = Some(of_failure(super::records::refused(req.hospital, &r)));
        return (view, None);
    }
    // The check, before a byte is kept or served.
    if let Err(e) = attachment.check(&r.body) {
        tracing::warn!(
            code = e.code(),
            "a peer's document file does not match its card; refused"
        );
        view.problem = Some(problem(
            e.code(),
            format!("{e}: the file was refused and is not shown"),
        ));
        return (view, None);
    }
    view.verified = true;
    view.statement = Some(spondon_export::files::file_sentence(
        attachment.file_type,
        &req.hospital.name,
        NumericDate(req.issued_at),
    ));
    let ext = attachment.file_type.extension();
    let file_name = match &attachment.title {
        Some(t) if t.to_ascii_lowercase().ends_with(&format!(".{ext}")) => t.clone(),
        Some(t) => format!("{t}.{ext}"),
        None => format!("{}.{ext}", attachment.sha256_hex()),
    };
    let file = CheckedFile {
        file_name,
        content_type: attachment.file_type.mime(),
        bytes: Arc::new(r.body),
    };
    (view, Some(file))
}

struct Kept {
    id: String,
    owner: [u8; 32],
    file: CheckedFile,
    kept_at: i64,
}

/// The files fetched for each session, in memory only.
#[derive(Default)]
pub struct FileStore {
    kept: Mutex<Vec<Kept>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").finish_non_exhaustive()
    }
}

impl FileStore {
    /// Keeps a checked file for `owner` (the hash of the session cookie or staff token that
    /// redeemed the grant); returns the unguessable id it is downloaded by.
    pub fn keep(&self, owner: [u8; 32], file: CheckedFile, now: i64) -> Option<String> {
        let bytes: [u8; 32] = spondon_core::keys::random_bytes().ok()?;
        let id = spondon_core::b64::encode(bytes);
        let mut kept = self.kept.lock().ok()?;
        kept.retain(|k| now - k.kept_at < KEEP_SECS);
        let len = file.bytes.len();
        while !kept.is_empty()
            && kept.iter().map(|k| k.file.bytes.len()).sum::<usize>() + len > MAX_KEPT_BYTES
        {
            kept.remove(0);
        }
        kept.push(Kept {
            id: id.clone(),
            owner,
            file,
            kept_at: now,
        });
        Some(id)
    }

    /// The file `id` if `owner` fetched it and it has not expired.
    pub fn get(&self, owner: &[u8; 32], id: &str, now: i64) -> Option<CheckedFile> {
        let kept = self.kept.lock().ok()?;
        kept.iter()
            .find(|k| k.id == id && &k.owner == owner && now - k.kept_at < KEEP_SECS)
            .map(|k| k.file.clone())
    }

    /// Forgets every file of `owner` (at logout).
    pub fn forget(&self, owner: &[u8; 32]) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.retain(|k| &k.owner != owner);
        }
    }
}
