//! `spondon-ledger`: the per-hospital transparency log.
//!
//! - [`merkle`]: RFC 9162 hashing, inclusion and consistency proofs (dependency-light, no I/O).
//! - [`note`], [`checkpoint`]: C2SP `signed-note`, `tlog-checkpoint`, `tlog-cosignature`.
//! - [`storage`]: the log over sqlx (SQLite or PostgreSQL), insert-only, tiles model.
//! - [`witness`]: C2SP `tlog-witness` `add-checkpoint` semantics.
//! - [`http`]: axum routers for the `tlog-tiles` read API and the witness.
//! - [`entry`], [`bundle`]: typed entries with salted commitments; offline proof bundles.

pub mod checkpoint;
pub mod merkle;
pub mod note;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use merkle::{Hash, ProofError};
pub use note::{Note, NoteError, NoteSignature, Signer, Verifier};
pub mod storage;

pub use storage::{Appended, Database, IntegrityCheck, LedgerError, Log};
pub mod http;
pub mod witness;

pub use witness::{Witness, WitnessError};
pub mod bundle;
pub mod entry;

pub use bundle::{BundleError, ProofBundle, VerifiedBundle};
pub use entry::{EntryKind, LogEntry, Opening};
