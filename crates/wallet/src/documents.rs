//! The files of document records (`docs/protocol.md` §18): a scanned report, a lab system's PDF
//! or an X-ray image, bound to a signed card by its SHA-256.
//!
//! The card is verified like every record when it is synced; its file is fetched afterwards
//! (`POST /patient/files`, signed like every patient request), checked against the card —
//! length, SHA-256, then type — before a byte is kept, and kept sealed in the cache's `files`
//! table like every other row. It is checked again each time it is read, so a damaged cache
//! never shows a file its card does not name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use spondon_core::shc::ParsedCard;
use zeroize::Zeroizing;

pub use spondon_document::{Attachment, DocumentError, FileType};

use crate::error::{Result, WalletError};
use crate::store::{Table, Write};
use crate::sync::{PeerState, StoredRecord};
use crate::wallet::Wallet;

/// The record kind of documents.
pub const DOCUMENT_KIND: &str = "document";

/// A document record and whether its file is kept.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DocumentView {
    /// The record's id at its peer.
    pub record_id: String,
    /// The hospital that issued it (peer URL), when it was synced rather than imported.
    pub peer: Option<String>,
    /// The file's title as the card gives it (no path: a name to show, not to trust).
    pub title: Option<String>,
    /// `application/pdf`, `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    /// The file's size in bytes, as signed.
    pub size: u64,
    /// The file's SHA-256, as signed (lower-case hex).
    pub sha256: String,
    /// The file is in the cache and was checked against the card.
    pub kept: bool,
}

/// Progress of file downloads, for a progress bar.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FileEvent {
    /// This many files (of this many bytes in all) are to be fetched.
    Started {
        /// How many files are to be fetched.
        files: usize,
        /// Their total size in bytes, as their cards sign it.
        bytes: u64,
    },
    /// Bytes of one file so far.
    Progress {
        /// The URL of the peer the file comes from.
        peer: String,
        /// The document record's id at that peer.
        record_id: String,
        /// Bytes received so far.
        done: u64,
        /// The file's size in bytes.
        total: u64,
    },
    /// One file was checked against its card and kept.
    Kept {
        /// The URL of the peer the file comes from.
        peer: String,
        /// The document record's id at that peer.
        record_id: String,
    },
    /// One file could not be fetched or does not match its card; nothing of it was kept.
    Failed {
        /// The URL of the peer the file comes from.
        peer: String,
        /// The document record's id at that peer.
        record_id: String,
        /// What went wrong, in words for people.
        error: String,
        /// The stable code of the error ([`WalletError::code`]).
        code: &'static str,
    },
}

/// A file that could not be fetched or checked.
#[derive(Debug, Clone, Serialize)]
pub struct FileFailure {
    /// The URL of the peer the file was to come from.
    pub peer: String,
    /// The document record's id at that peer.
    pub record_id: String,
    /// What went wrong, in words for people.
    pub error: String,
    /// The stable code of the error ([`WalletError::code`]); the next sync tries again.
    pub code: &'static str,
}

/// A file fetched, checked and kept.
#[derive(Debug, Clone, Serialize)]
pub struct KeptFile {
    /// The URL of the peer the file came from.
    pub peer: String,
    /// The document record's id at that peer.
    pub record_id: String,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// What fetching files did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilesReport {
    /// The files fetched, checked against their cards and kept.
    pub kept: Vec<KeptFile>,
    /// The files that could not be fetched or checked; nothing of them was kept.
    pub failed: Vec<FileFailure>,
}

impl FilesReport {
    /// Bytes of the files kept.
    pub fn bytes(&self) -> u64 {
        self.kept.iter().map(|k| k.bytes).sum()
    }
}

/// The attachment a stored record's card names, or `None` for a record without a file. A card
/// that names a malformed attachment is an error: its file cannot be checked.
pub fn attachment_of(r: &StoredRecord) -> Result<Option<Attachment>> {
    let card = ParsedCard::parse(&r.jws)?;
    Attachment::from_card_fhir(card.fhir_bundle()).map_err(|source| WalletError::File {
        record: r.id.clone(),
        source,
    })
}

fn view_of(r: &StoredRecord, a: &Attachment, kept: bool) -> DocumentView {
    DocumentView {
        record_id: r.id.clone(),
        peer: r.peer.clone(),
        title: a.title.clone(),
        content_type: a.file_type.mime(),
        size: a.size,
        sha256: hex::encode(a.sha256),
        kept,
    }
}

/// A file name to save a document under: its title when that is a plain name with the right
/// extension, else the record id; never a path.
pub fn file_name(d: &DocumentView) -> String {
    let ext = FileType::from_mime(d.content_type).map_or("bin", FileType::extension);
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 120
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')'))
    };
    match d.title.as_deref().map(str::trim) {
        Some(t) if plain(t) => {
            let lower = t.to_lowercase();
            let has_ext =
                lower.ends_with(&format!(".{ext}")) || (ext == "jpg" && lower.ends_with(".jpeg"));
            if has_ext {
                t.to_owned()
            } else {
                format!("{t}.{ext}")
            }
        }
        _ => format!("{}.{ext}", d.record_id),
    }
}

impl Wallet {
    /// Every document record (newest first) and whether its file is kept.
    pub async fn documents(&self) -> Result<Vec<DocumentView>> {
        let mut records: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        records.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(a.id.cmp(&b.id)));
        let mut docs = Vec::new();
        // Only document records carry a file (parsing every card would cost a whole history).
        for r in records.iter().filter(|r| r.kind == DOCUMENT_KIND) {
            if let Some(a) = attachment_of(r).ok().flatten() {
                docs.push((r, a));
            }
        }
        let hashes: Vec<String> = docs.iter().map(|(_, a)| hex::encode(a.sha256)).collect();
        let keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let kept = self.store.existing(Table::Files, &keys).await?;
        Ok(docs
            .iter()
            .zip(&hashes)
            .map(|((r, a), h)| view_of(r, a, kept.contains(h)))
            .collect())
    }

    /// The document record `id` (or a unique id prefix) with its card's attachment.
    async fn document_record(&self, id: &str) -> Result<(StoredRecord, Attachment)> {
        let all: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let mut m = all.into_iter().filter(|r| r.id.starts_with(id));
        let r = match (m.next(), m.next()) {
            (Some(r), None) => r,
            (None, _) => return Err(WalletError::NotFound(format!("record {id}"))),
            (Some(_), Some(_)) => {
                return Err(WalletError::Ambiguous {
                    prefix: id.to_owned(),
                    what: "record",
                });
            }
        };
        let a = attachment_of(&r)?.ok_or_else(|| WalletError::NotADocument(r.id.clone()))?;
        Ok((r, a))
    }

    /// The file of document record `id`, checked against its card again as it is read.
    /// `NotFound` when the file has not been fetched yet (sync, or [`Wallet::fetch_files`]).
    pub async fn document_file(&self, id: &str) -> Result<(DocumentView, Zeroizing<Vec<u8>>)> {
        let (r, a) = self.document_record(id).await?;
        let key = hex::encode(a.sha256);
        let bytes = self
            .store
            .get_raw(Table::Files, &key)
            .await?
            .ok_or_else(|| {
                WalletError::NotFound(format!(
                    "the file of record {} (not fetched yet: sync first)",
                    r.id
                ))
            })?;
        a.check(&bytes).map_err(|source| WalletError::File {
            record: r.id.clone(),
            source,
        })?;
        Ok((view_of(&r, &a, true), bytes))
    }

    /// Writes the file of document record `id` to `dest`: into it when it is a directory (under
    /// [`file_name`]), else as that file, readable by its owner only (0600: it is health data).
    /// Never overwrites an existing file. Returns the path.
    pub async fn save_document(&self, id: &str, dest: &Path) -> Result<PathBuf> {
        let (view, bytes) = self.document_file(id).await?;
        let path = if tokio::fs::metadata(dest).await.is_ok_and(|m| m.is_dir()) {
            dest.join(file_name(&view))
        } else {
            dest.to_owned()
        };
        let out = path.clone();
        crate::wallet::blocking(move || Ok(spondon_fs::create_private(&out, &bytes)?)).await?;
        Ok(path)
    }

    /// Fetches, checks and keeps the file of every synced document record whose file is not
    /// kept yet, one after another (a file is at most [`spondon_document::MAX_FILE_BYTES`]).
    /// A file that fails is reported and left for the next call; the others go on.
    pub async fn fetch_files(
        &self,
        progress: &(dyn Fn(FileEvent) + Send + Sync),
    ) -> Result<FilesReport> {
        self.fetch_files_from(None, progress).await
    }

    /// [`Wallet::fetch_files`] from the peers in `only` (all when `None`).
    pub(crate) async fn fetch_files_from(
        &self,
        only: Option<&std::collections::BTreeSet<String>>,
        progress: &(dyn Fn(FileEvent) + Send + Sync),
    ) -> Result<FilesReport> {
        let peers: Vec<PeerState> = self
            .peers()
            .await?
            .into_iter()
            .filter(|p| only.is_none_or(|o| o.contains(&p.url)))
            .collect();
        // The document records still waiting for their file: from each peer's index, or (state
        // stored before the index) from the whole history, once.
        let records: Vec<StoredRecord> = if peers.iter().all(|p| p.files_wanted.is_some()) {
            let mut v = Vec::new();
            for key in peers.iter().flat_map(|p| p.files_wanted.iter().flatten()) {
                if let Some(r) = self.store.get::<StoredRecord>(Table::Records, key).await? {
                    v.push(r);
                }
            }
            v
        } else {
            self.store.all(Table::Records).await?
        };
        let mut wanted = Vec::new();
        for r in records.into_iter().filter(|r| r.kind == DOCUMENT_KIND) {
            let Some(peer) = r.peer.clone() else { continue };
            if !peers.iter().any(|p| p.url == peer) {
                continue;
            }
            if let Some(a) = attachment_of(&r).ok().flatten() {
                wanted.push((peer, r, a));
            }
        }
        let hashes: Vec<String> = wanted
            .iter()
            .map(|(_, _, a)| hex::encode(a.sha256))
            .collect();
        let keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let kept = self.store.existing(Table::Files, &keys).await?;
        let waiting: Vec<(String, String, String)> = wanted
            .iter()
            .zip(&hashes)
            .map(|((peer, r, _), h)| (peer.clone(), r.key.clone(), h.clone()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<_> = wanted
            .into_iter()
            .zip(hashes)
            .filter(|(_, h)| !kept.contains(h) && seen.insert(h.clone()))
            .collect();
        progress(FileEvent::Started {
            files: todo.len(),
            bytes: todo.iter().map(|((_, _, a), _)| a.size).sum(),
        });
        let mut report = FilesReport::default();
        for ((peer, r, a), key) in todo {
            match self.fetch_one(&peer, &r, &a, &key, progress).await {
                Ok(()) => {
                    progress(FileEvent::Kept {
                        peer: peer.clone(),
                        record_id: r.id.clone(),
                    });
                    report.kept.push(KeptFile {
                        peer,
                        record_id: r.id,
                        bytes: a.size,
                    });
                }
                Err(e) => {
                    let f = FileFailure {
                        peer,
                        record_id: r.id,
                        error: e.to_string(),
                        code: e.code(),
                    };
                    progress(FileEvent::Failed {
                        peer: f.peer.clone(),
                        record_id: f.record_id.clone(),
                        error: f.error.clone(),
                        code: f.code,
                    });
                    report.failed.push(f);
                }
            }
        }
        let hashes: Vec<&str> = waiting.iter().map(|(_, _, h)| h.as_str()).collect();
        let kept = self.store.existing(Table::Files, &hashes).await?;
        let still_wanted: Vec<(&str, &str)> = waiting
            .iter()
            .filter(|(_, _, h)| !kept.contains(h))
            .map(|(peer, key, _)| (peer.as_str(), key.as_str()))
            .collect();
        // Each peer's index now names exactly its document records whose file is still not kept
        // (failed, or not fetched): the next sync reads only those.
        let mut writes = Vec::new();
        for p in peers {
            let left: BTreeSet<String> = still_wanted
                .iter()
                .filter(|(peer, _)| *peer == p.url)
                .map(|(_, key)| (*key).to_owned())
                .collect();
            if p.files_wanted.as_ref() != Some(&left) {
                // Read again: the sync loop may have moved the peer's cursors meanwhile.
                if let Some(mut state) = self.store.get::<PeerState>(Table::Peers, &p.url).await? {
                    state.files_wanted = Some(left);
                    writes.push(self.store.encode(Table::Peers, &p.url, &state)?);
                }
            }
        }
        self.store.apply(writes).await?;
        Ok(report)
    }

    async fn fetch_one(
        &self,
        peer: &str,
        r: &StoredRecord,
        a: &Attachment,
        key: &str,
        progress: &(dyn Fn(FileEvent) + Send + Sync),
    ) -> Result<()> {
        let total = a.size;
        let (peer_s, id_s) = (peer.to_owned(), r.id.clone());
        let mut last = 0u64;
        let mut on_bytes = |done: u64, _: Option<u64>| {
            // At most one event per 256 KiB (and the last one).
            if done == total || done >= last + (256 << 10) || done == 0 {
                last = done;
                progress(FileEvent::Progress {
                    peer: peer_s.clone(),
                    record_id: id_s.clone(),
                    done,
                    total,
                });
            }
        };
        let (content_type, bytes) = self
            .net
            .signed_post_file(
                &self.signing,
                peer,
                "/patient/files",
                &spondon_protocol::FileRequest {
                    record_id: r.id.clone(),
                },
                // Reading stops one byte past the signed size.
                a.size,
                &mut on_bytes,
            )
            .await?;
        let bytes = Zeroizing::new(bytes);
        a.check(&bytes).map_err(|source| WalletError::File {
            record: r.id.clone(),
            source,
        })?;
        if let Some(ct) = content_type {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if ct != a.file_type.mime() {
                return Err(WalletError::BadResponse {
                    peer: peer.to_owned(),
                    reason: format!(
                        "the file of record {} came as {ct}, its card says {}",
                        r.id,
                        a.file_type.mime()
                    ),
                });
            }
        }
        self.store
            .apply(vec![Write::Put(
                Table::Files,
                key.to_owned(),
                bytes.to_vec(),
            )])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(title: Option<&str>, ct: &'static str) -> DocumentView {
        DocumentView {
            record_id: "r1".into(),
            peer: None,
            title: title.map(str::to_owned),
            content_type: ct,
            size: 1,
            sha256: String::new(),
            kept: true,
        }
    }

    #[test]
    fn file_names_are_plain_names_with_the_right_extension() {
        assert_eq!(
            file_name(&view(Some("CBC report"), "application/pdf")),
            "CBC report.pdf"
        );
        assert_eq!(
            file_name(&view(Some("cbc.pdf"), "application/pdf")),
            "cbc.pdf"
        );
        assert_eq!(
            file_name(&view(Some("xray.JPEG"), "image/jpeg")),
            "xray.JPEG"
        );
        assert_eq!(
            file_name(&view(Some("../../etc/passwd"), "image/png")),
            "r1.png"
        );
        assert_eq!(file_name(&view(Some(".hidden"), "image/png")), "r1.png");
        assert_eq!(file_name(&view(Some("a/b"), "application/pdf")), "r1.pdf");
        assert_eq!(file_name(&view(None, "image/jpeg")), "r1.jpg");
    }
}
