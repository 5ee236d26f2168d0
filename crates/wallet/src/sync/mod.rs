//! Enrollment at a peer, and the verified incremental sync of records and access receipts.
//!
//! Verification rules (docs/wallet.md "Sync verification"): every checkpoint is signed by the
//! hospital's log key from the trust list; it is never smaller than the last accepted one and a
//! consistency proof from that one verifies; every record is a SMART Health Card signed by one of
//! the hospital's record keys, with `iss` = the peer URL and `rid` = the record id; its log entry
//! is a `RecordIssued` entry whose commitment `salt ‖ JWS` opens; the entry's leaf is included in
//! the checkpoint. A peer failing any of these is reported as a [`Violation`] and everything
//! stored from it during that sync is removed again.
//!
//! One job per file: `types` (what the wallet keeps and reports), `enroll` (enrollment
//! codes and binding the key), `check` (verifying a hospital's checkpoints, records and
//! receipts; the record check itself is `spondon_ledger::check_record`), `worker` (one task
//! per peer fetching and verifying pages), `run` (the sync loop storing what the workers
//! verified), `witness` (upgrading proofs to a witnessed checkpoint), `trust_list`
//! (refreshing the trust list) and `delegate` (a delegate's reads). The JSON on the wire is
//! `spondon_protocol`'s.
//!
//! [`Violation`]: crate::error::Violation

mod check;
mod delegate;
mod enroll;
mod run;
mod trust_list;
mod types;
mod witness;
mod worker;

pub(crate) use check::HospitalCheck;
pub(crate) use delegate::{delegate_receipts, delegate_records};
pub use enroll::EnrollmentCode;
pub(crate) use enroll::decode_qr;
pub(crate) use types::record_key;
pub use types::{
    Alert, EmergencyInfo, PeerOutcome, PeerState, StoredReceipt, StoredRecord, SyncEvent,
    SyncReport, Trust, TrustListRefresh, Unwitnessed,
};
