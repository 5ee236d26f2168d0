//! Files of document records (`docs/protocol.md` §18.3): staff upload a file, its structure is
//! checked ([`spondon_document::validate`]) before it is stored by SHA-256; a record of kind
//! `document` names it; the patient, a grant's doctor and a delegate fetch it. A file no record
//! refers to is deleted after `unreferenced_file_secs` (a day).

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_document::FileType;

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::RequestParts;
use crate::peer::{Peer, to_i64, to_u64};

/// A stored file, as `POST /staff/files` answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredFile {
    /// 64 lower-case hex digits.
    pub sha256: String,
    pub size: u64,
    pub content_type: &'static str,
    /// Whether this upload stored it (`false`: the same bytes were stored before).
    #[serde(skip)]
    pub created: bool,
}

/// A document's file as served: its type and bytes.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub file_type: FileType,
    pub bytes: Vec<u8>,
}

/// The file requests (`spondon-protocol`): the peer reads them.
pub use spondon_protocol::{DelegateFileRequest, FileRequest, GrantFileRequest};

fn file_type_stored(content_type: &str) -> Result<FileType> {
    FileType::from_mime(content_type)
        .ok_or_else(|| PeerError::Integrity("stored file type is unknown".into()))
}

impl Peer {
    /// Checks a file's structure ([`spondon_document::validate`]: size, magic bytes, the PDF
    /// bomb cap, the JPEG marker walk, the PNG chunk CRCs) and stores it by SHA-256; nothing is
    /// stored when a check fails. Storing the same bytes again answers the stored file
    /// (`created: false`) and restarts its unreferenced-file clock. Files no record refers to
    /// for `unreferenced_file_secs` are deleted first. `uploaded_by`: the staff token id or
    /// the name of the hospital system (no health data).
    pub async fn store_file(
        &self,
        bytes: impl Into<axum::body::Bytes>,
        file_type: FileType,
        uploaded_by: &str,
    ) -> Result<StoredFile> {
        let bytes: axum::body::Bytes = bytes.into();
        let checked = bytes.clone();
        // Up to 25 MiB hashed and walked (and up to 256 MiB inflated): off the async workers.
        let sha256 = tokio::task::spawn_blocking(move || {
            spondon_document::validate(&checked, file_type)?;
            Ok::<_, PeerError>(spondon_document::sha256(&checked))
        })
        .await
        .map_err(|e| PeerError::Integrity(format!("file check task failed: {e}")))??;
        self.purge_files().await?;
        let now = NumericDate::now().seconds();
        let size = to_i64(bytes.len() as u64)?;
        let refreshed = db::records::refresh_file(&self.db, &sha256, now, uploaded_by).await?;
        let created = !refreshed
            && db::records::insert_file(
                &self.db,
                &db::records::NewFile {
                    sha256: &sha256,
                    content_type: file_type.mime(),
                    size,
                    bytes: &bytes[..],
                    uploaded_at: now,
                    uploaded_by,
                },
            )
            .await?;
        if created {
            tracing::info!(size = bytes.len(), "file stored");
        }
        Ok(StoredFile {
            sha256: hex::encode(sha256),
            size: bytes.len() as u64,
            content_type: file_type.mime(),
            created,
        })
    }

    /// Deletes the files no record refers to that were uploaded `unreferenced_file_secs` ago or
    /// earlier; returns how many. Under the writer lock, so a record being issued either sees
    /// its file or is refused (`file_not_uploaded`), never half.
    pub async fn purge_files(&self) -> Result<u64> {
        let cutoff = NumericDate::now()
            .seconds()
            .saturating_sub(i64::try_from(self.config.unreferenced_file_secs).unwrap_or(i64::MAX));
        let _guard = self.write_lock().await?;
        let n = db::records::purge_files(&self.db, cutoff).await?;
        if n > 0 {
            tracing::info!(files = n, "unreferenced files deleted");
        }
        Ok(n)
    }

    /// The type and size of a stored file.
    pub async fn stored_file_meta(&self, sha256: &[u8; 32]) -> Result<Option<(FileType, u64)>> {
        match db::records::file_meta(&self.db, sha256).await? {
            None => Ok(None),
            Some(m) => Ok(Some((file_type_stored(&m.content_type)?, to_u64(m.size)?))),
        }
    }

    /// Number of stored files (referenced or not).
    pub async fn file_count(&self) -> Result<u64> {
        let n = db::records::file_count(&self.db).await?;
        to_u64(n)
    }

    /// The file a record carries: `not_a_document` for a record without one.
    pub(crate) async fn record_file(&self, record_id: &str) -> Result<FileContent> {
        let db::records::RecordFile {
            content_type,
            bytes,
            sha256,
        } = db::records::record_file(&self.db, record_id)
            .await?
            .ok_or(PeerError::NotADocument)?;
        if spondon_document::sha256(&bytes).as_slice() != sha256.as_slice() {
            return Err(PeerError::Integrity(
                "stored file does not match its hash".into(),
            ));
        }
        Ok(FileContent {
            file_type: file_type_stored(&content_type)?,
            bytes,
        })
    }

    /// The patient and grant category of a record, if it exists.
    pub(crate) async fn record_owner(
        &self,
        record_id: &str,
    ) -> Result<Option<db::records::RecordOwner>> {
        db::records::owner(&self.db, record_id).await
    }

    /// `POST /patient/files`: the file of one of the signing patient's records. A record of
    /// another patient is `record_not_found`, the same answer as one that does not exist.
    pub async fn patient_file(
        &self,
        parts: &RequestParts<'_>,
        req: &FileRequest,
    ) -> Result<FileContent> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        match self.record_owner(&req.record_id).await? {
            Some(o) if o.health_id == health_id => {}
            _ => return Err(PeerError::RecordNotFound),
        }
        let file = self.record_file(&req.record_id).await?;
        tracing::info!(size = file.bytes.len(), "patient file");
        Ok(file)
    }
}
