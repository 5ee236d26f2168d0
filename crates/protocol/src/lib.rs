//! `spondon-protocol`: the JSON wire format between Spondon nodes.
//!
//! The hospital peer writes these types; the wallet, the clinic node and the export read them.
//! Nobody else declares a copy or indexes the raw JSON for them. Every binary field follows the
//! one base64 rule of [`b64`] (`docs/protocol.md`, "Binary fields in JSON").
//!
//! Serde only (plus `base64`): no I/O, no cryptography, builds for `wasm32-unknown-unknown`.

#![warn(missing_docs)]

pub mod b64;
mod delegation;
mod emergency;
mod event;
mod grant;
mod patient;
mod problem;
mod redeem;
mod rotation;

pub use delegation::{DelegateRequest, DelegationRegistered, DelegationRegistration};
pub use emergency::{
    Disputed, EmergencyConfirmed, EmergencyRequested, EmergencySummary, PolicyRegistered,
    SummaryItem, SummaryMedication, SummaryPatient, SummaryRequest,
};
pub use event::AccessEvent;
pub use grant::{
    DelegateFileRequest, EnrollRequest, FileRequest, GrantFileRequest, PasscodeRegistered,
    PasscodeRegistration, RevokeRequest, WriteRequest,
};
pub use patient::{
    Enrolled, EntryProof, Nonce, ProofsRequest, Pull, PullRequest, PulledRecord, Receipt, Receipts,
    ReceiptsRequest, WitnessedProofs,
};
pub use problem::Problem;
pub use redeem::{RedeemRequest, Redeemed};
pub use rotation::{KeyRotated, RotateKeyRequest};
