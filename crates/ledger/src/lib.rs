//! `spondon-ledger`: the per-hospital transparency log.
//!
//! Each hospital peer appends typed entries (a record issued, an access, a revocation, …) to an
//! insert-only Merkle log, signs checkpoints of it, and has witnesses cosign them; readers check
//! offline that what they hold is in the log the whole consortium sees.
//!
//! - [`merkle`]: RFC 9162 hashing, inclusion and consistency proofs (dependency-light, no I/O).
//! - [`note`]: C2SP `signed-note` with Ed25519 and `tlog-cosignature` ([`Signer`], [`Verifier`]);
//!   [`Checkpoint`] / [`SignedCheckpoint`]: C2SP `tlog-checkpoint`.
//! - [`Log`] over a [`Database`] (sqlx, SQLite or PostgreSQL): the stored log, insert-only,
//!   tiles model, with [`LedgerError`].
//! - [`witness`]: C2SP `tlog-witness` `add-checkpoint` semantics ([`Witness`]).
//! - [`http`]: axum routers for the `tlog-tiles` read API and the witness.
//! - [`LogEntry`], [`Opening`]: typed entries with salted commitments; [`ProofBundle`]: an
//!   offline `c2sp.org/tlog-proof@v1` bundle of one entry.
//! - [`check_logged`], [`check_record`]: the one check that a record is signed, committed and
//!   included (wallet, clinic node and export all call it).
//! - [`WitnessPolicy`]: the trust list's witness quorum applied to a checkpoint.
//! - [`share_proof`]: proof of sharing for investigators, verified offline.
//!
//! The log, the witness and `http` need the default `server` feature; the rest (verification)
//! builds without it, for the wallet.
//!
//! Proofs check offline, with no database: a tree of two entries, and the second one's
//! inclusion proven by its sibling's hash:
//!
//! ```
//! use spondon_ledger::merkle::{leaf_hash, node_hash, verify_inclusion};
//!
//! let (first, second) = (leaf_hash(b"first entry"), leaf_hash(b"second entry"));
//! let root = node_hash(&first, &second);
//! verify_inclusion(&second, 1, 2, &[first], &root)?;
//! assert!(verify_inclusion(&first, 1, 2, &[second], &root).is_err());
//! # Ok::<(), spondon_ledger::ProofError>(())
//! ```

#![warn(missing_docs)]

mod bundle;
mod checkpoint;
mod entry;
mod logged;
pub mod merkle;
pub mod note;
mod policy;
pub mod share_proof;

#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
mod storage;
#[cfg(feature = "server")]
pub mod witness;

pub use bundle::{BundleError, ProofBundle, VerifiedBundle};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use entry::{ENTRY_LEN, ENTRY_VERSION, EntryError, EntryKind, LogEntry, Opening};
pub use logged::{
    Expected, Logged, LoggedError, RecordClaim, RecordError, check_logged, check_record,
};
pub use merkle::{Hash, ProofError};
pub use note::{Note, NoteError, NoteSignature, Signer, Verifier};
pub use policy::{WitnessPolicy, Witnessed};
#[cfg(feature = "server")]
pub use storage::{
    APPEND_LOCK_KEY, Appended, Database, ExtraRows, IntegrityCheck, LedgerError, Log, MAX_BATCH,
    MAX_ENTRY_BYTES, ReplicaReads, SCHEMA_LOCK_KEY, TILE_WIDTH, Tx, without_maintenance,
};
#[cfg(feature = "server")]
pub use witness::{Witness, WitnessError};
