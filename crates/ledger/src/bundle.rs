//! Offline proof bundles in the shape of the C2SP `tlog-proof` draft:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the 42-byte log entry>
//! index <N>
//! <inclusion proof hashes, base64, one per line>
//!
//! <cosigned checkpoint note>
//! ```
//!
//! The `extra` line carries the logged entry itself (a salted commitment), so the leaf hash is
//! `SHA-256(0x00 || extra)`. Verification needs only the log's and witnesses' public keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{
    Checkpoint, CheckpointError, SignedCheckpoint, parse_decimal, parse_hash_b64,
};
use crate::entry::{EntryError, LogEntry};
use crate::merkle::{self, Hash, MAX_PROOF_HASHES, ProofError};
use crate::note::{MAX_NOTE_BYTES, NoteError, Verifier};
#[cfg(feature = "server")]
use crate::storage::{LedgerError, Log};

/// The header line.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Errors parsing or verifying a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle is larger than any valid bundle; nothing was parsed.
    #[error("proof bundle is too large")]
    TooLarge,
    /// The bundle is not UTF-8.
    #[error("proof bundle is not valid UTF-8")]
    NotUtf8,
    /// The bundle's lines are not in the `tlog-proof@v1` layout (what is wrong).
    #[error("malformed proof bundle: {0}")]
    Malformed(&'static str),
    /// The inclusion proof has more hashes than any tree could need.
    #[error("inclusion proof has more than {MAX_PROOF_HASHES} hashes")]
    ProofTooLong,
    /// The bundle has no extra line carrying the logged entry.
    #[error("proof bundle has no entry (extra line)")]
    MissingEntry,
    /// The logged entry does not decode.
    #[error("logged entry: {0}")]
    Entry(#[from] EntryError),
    /// The checkpoint does not parse or its log signature does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A witness cosignature is malformed.
    #[error("cosignature: {0}")]
    Cosignature(NoteError),
    /// Fewer witnesses cosigned than the trust list's quorum.
    #[error("only {got} of the required {required} witness cosignatures verify")]
    NotEnoughCosignatures {
        /// Valid cosignatures from listed witnesses.
        got: usize,
        /// The quorum.
        required: usize,
    },
    /// The entry is not included in the checkpoint's tree.
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] ProofError),
}

impl BundleError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::NotUtf8 => "not_utf8",
            Self::Malformed(_) => "malformed",
            Self::ProofTooLong => "proof_too_long",
            Self::MissingEntry => "missing_entry",
            Self::Entry(e) => e.code(),
            Self::Checkpoint(e) => e.code(),
            Self::Cosignature(e) => e.code(),
            Self::NotEnoughCosignatures { .. } => "not_enough_cosignatures",
            Self::Inclusion(e) => e.code(),
        }
    }
}

/// A parsed proof bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofBundle {
    /// Opaque extra data (for Spondon: the encoded [`LogEntry`]).
    pub extra: Option<Vec<u8>>,
    /// Index of the entry.
    pub index: u64,
    /// Inclusion proof in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The checkpoint note, with its cosignatures.
    pub checkpoint: String,
}

/// What a verified bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The logged entry.
    pub entry: LogEntry,
    /// Its index.
    pub index: u64,
    /// The checkpoint it is included in.
    pub checkpoint: Checkpoint,
    /// Number of distinct trusted witnesses that cosigned the checkpoint.
    pub cosignatures: usize,
}

impl ProofBundle {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", STANDARD.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses the text form strictly.
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_NOTE_BYTES + 16 * 1024 {
            return Err(BundleError::TooLarge);
        }
        let s = std::str::from_utf8(bytes).map_err(|_| BundleError::NotUtf8)?;
        let mut rest = s;
        let mut next_line = || -> Result<&str, BundleError> {
            let (l, r) = rest
                .split_once('\n')
                .ok_or(BundleError::Malformed("truncated"))?;
            rest = r;
            Ok(l)
        };
        if next_line()? != HEADER {
            return Err(BundleError::Malformed(
                "missing c2sp.org/tlog-proof@v1 header",
            ));
        }
        let mut line = next_line()?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| BundleError::Malformed("extra is not base64"))?,
            );
            line = next_line()?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(BundleError::Malformed("missing or bad index line"))?;
        let mut proof = Vec::new();
        loop {
            let l = next_line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(BundleError::ProofTooLong);
            }
            proof.push(parse_hash_b64(l).ok_or(BundleError::Malformed(
                "proof line is not base64 of 32 bytes",
            ))?);
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Verifies the bundle offline: the checkpoint is signed by the log (`origin`, `log_keys`),
    /// at least `min_cosignatures` of `witnesses` cosigned it, and the entry is included.
    pub fn verify(
        &self,
        origin: &str,
        log_keys: &[Verifier],
        witnesses: &[Verifier],
        min_cosignatures: usize,
    ) -> Result<VerifiedBundle, BundleError> {
        let raw = self.extra.as_deref().ok_or(BundleError::MissingEntry)?;
        let entry = LogEntry::decode(raw)?;
        let sc = SignedCheckpoint::verify(self.checkpoint.as_bytes(), origin, log_keys)?;
        let got = sc
            .count_cosignatures(witnesses)
            .map_err(BundleError::Cosignature)?;
        if got < min_cosignatures {
            return Err(BundleError::NotEnoughCosignatures {
                got,
                required: min_cosignatures,
            });
        }
        merkle::verify_inclusion(
            &merkle::leaf_hash(raw),
            self.index,
            sc.checkpoint.size,
            &self.proof,
            &sc.checkpoint.root,
        )?;
        Ok(VerifiedBundle {
            entry,
            index: self.index,
            checkpoint: sc.checkpoint,
            cosignatures: got,
        })
    }
}

#[cfg(feature = "server")]
impl Log {
    /// The offline proof bundle for entry `index` against the latest cosigned checkpoint.
    pub async fn proof_bundle(&self, index: u64) -> Result<ProofBundle, LedgerError> {
        let checkpoint = self.cosigned_checkpoint().await?;
        let (cp, _) = self.signed_checkpoint().await?;
        let entry = self.entry(index).await?;
        let (leaf, proof) = self.inclusion_proof(index, cp.size).await?;
        if merkle::leaf_hash(&entry) != leaf {
            return Err(LedgerError::Integrity(format!(
                "entry {index} does not match its stored leaf hash"
            )));
        }
        Ok(ProofBundle {
            extra: Some(entry),
            index,
            proof,
            checkpoint,
        })
    }
}
