//! C2SP `tlog-checkpoint`: origin, tree size and root hash as note text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::Hash;
use crate::note::{Note, NoteError, Verifier};

/// Errors parsing checkpoint text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note text has fewer than the three lines origin, size and root.
    #[error("checkpoint has fewer than three lines")]
    TooFewLines,
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not a canonical decimal number.
    #[error("checkpoint tree size is not a canonical decimal number")]
    BadSize,
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root hash is not base64 of 32 bytes")]
    BadRoot,
    /// An extension line is empty.
    #[error("checkpoint has an empty extension line")]
    EmptyExtension,
    /// The checkpoint is from another log than expected.
    #[error("checkpoint origin {got:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The origin the caller expected.
        expected: String,
        /// The origin in the checkpoint.
        got: String,
    },
    /// The signed note around the checkpoint is invalid or its signature does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
}

impl CheckpointError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooFewLines => "too_few_lines",
            Self::EmptyOrigin => "empty_origin",
            Self::BadSize => "bad_size",
            Self::BadRoot => "bad_root",
            Self::EmptyExtension => "empty_extension",
            Self::WrongOrigin { .. } => "wrong_origin",
            Self::Note(e) => e.code(),
        }
    }
}

/// A tree head: the note text of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `peer.hospital.example/log`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 9162 root hash.
    pub root: Hash,
    /// Optional extension lines (not recommended; kept verbatim).
    pub extensions: Vec<String>,
}

/// Parses a canonical ASCII decimal `u64` (no sign, no leading zeros unless `0`).
pub fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Decodes standard base64 of exactly 32 bytes.
pub fn parse_hash_b64(s: &str) -> Option<Hash> {
    let raw = STANDARD.decode(s).ok()?;
    Hash::try_from(raw.as_slice()).ok()
}

impl Checkpoint {
    /// A checkpoint with no extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text (three or more lines, each ending in a newline).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses note text into a checkpoint.
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::TooFewLines)?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let size = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let root = lines.next().ok_or(CheckpointError::TooFewLines)?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).ok_or(CheckpointError::BadSize)?;
        let root = parse_hash_b64(root).ok_or(CheckpointError::BadRoot)?;
        let mut extensions = Vec::new();
        for l in lines {
            if l.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            extensions.push(l.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A checkpoint together with the signed note it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Parsed tree head.
    pub checkpoint: Checkpoint,
    /// The note (text and all signature lines, known or not).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note and verifies it with `log_verifiers` (at least one must
    /// have signed). The origin must equal `origin`.
    pub fn verify(
        bytes: &[u8],
        origin: &str,
        log_verifiers: &[Verifier],
    ) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::from_text(&note.text)?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin {
                expected: origin.to_owned(),
                got: checkpoint.origin,
            });
        }
        note.verify(log_verifiers)?;
        Ok(Self { checkpoint, note })
    }

    /// Counts the distinct cosigners among `witnesses` whose cosignature verifies. A cosignature
    /// from a known witness that fails to verify is an error.
    pub fn count_cosignatures(&self, witnesses: &[Verifier]) -> Result<usize, NoteError> {
        match self.note.verify(witnesses) {
            Ok(found) => {
                let mut idx: Vec<usize> = found.into_iter().map(|(i, _)| i).collect();
                idx.sort_unstable();
                idx.dedup();
                Ok(idx.len())
            }
            Err(NoteError::NoKnownSignature) => Ok(0),
            Err(e) => Err(e),
        }
    }
}
