//! `spondon-ledger`: the per-hospital transparency log.
//!
//! - [`merkle`]: RFC 9162 hashing, inclusion and consistency proofs (dependency-light, no I/O).
//! - [`note`], [`checkpoint`]: C2SP `signed-note`, `tlog-checkpoint`, `tlog-cosignature`.
//! - [`storage`]: the log over sqlx (SQLite or PostgreSQL), insert-only, tiles model.
//! - [`witness`]: C2SP `tlog-witness` `add-checkpoint` semantics.
//! - [`http`]: axum routers for the `tlog-tiles` read API and the witness.
//! - [`entry`], [`bundle`]: typed entries with salted commitments; offline proof bundles.
//! - [`logged`]: the one check that a record is signed, committed and included (wallet, clinic
//!   node and export all call it).
//! - [`policy`]: the trust list's witness quorum applied to a checkpoint.
//! - [`share_proof`]: proof of sharing for investigators, verified offline.
//!
//! `storage`, `witness` and `http` need the default `server` feature; the rest (verification)
//! builds without it.

pub mod bundle;
pub mod checkpoint;
pub mod entry;
pub mod logged;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod share_proof;

#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(feature = "server")]
pub mod witness;

pub use bundle::{BundleError, ProofBundle, VerifiedBundle};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use entry::{EntryKind, LogEntry, Opening};
pub use logged::{
    Expected, Logged, LoggedError, RecordClaim, RecordError, check_logged, check_record,
};
pub use merkle::{Hash, ProofError};
pub use note::{Note, NoteError, NoteSignature, Signer, Verifier};
pub use policy::{WitnessPolicy, Witnessed};
#[cfg(feature = "server")]
pub use storage::{
    Appended, Database, ExtraRows, IntegrityCheck, LedgerError, Log, ReplicaReads, Tx,
};
#[cfg(feature = "server")]
pub use witness::{Witness, WitnessError};
