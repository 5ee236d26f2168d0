//! `spondon-peer`: the hospital peer node.
//!
//! - [`config`]: the data directory (config file, 0600 key files).
//! - [`peer`]: the open peer (database with migrations, transparency log, witness).
//! - [`registry`]: patients (Health ID, enrollment code) and doctors (doctor credential).
//! - [`records`]: issuing FHIR R4 SMART Health Cards committed to the log.
//! - [`revocation`]: staff revocation of records (the SMART Health Cards CRL).
//! - [`patient`]: nonces, signed patient requests, enrollment redemption, incremental pull.
//! - [`access`]: grant redemption (PoP), access receipts, revocations.
//! - [`rotation`]: a lost phone's key rotation (statement, or re-binding after an identity check).
//! - [`emergency`]: emergency (break-glass) access: doctor's request, second staff confirmation,
//!   the summary, the patient's policy and disputes.
//! - [`fhir_api`]: `$health-cards-issue`, patients' own demographic updates.
//! - [`systems`], [`fhir_push`]: hospital systems (HIS/LIS) pushing records over FHIR: SMART
//!   Backend Services tokens, the transaction Bundle endpoint, the CapabilityStatement.
//! - [`seed`]: synthetic demo data.
//! - [`stats`]: de-identified statistics for the health authority (signed, logged aggregates).
//! - [`witnessing`]: pushing this log's checkpoints to witnesses, collecting cosignatures.
//! - [`write_keys`]: `Idempotency-Key` on the staff writes other than issuance (replayed answers).
//! - [`http`], [`openapi`]: the HTTP API.
//! - [`console`]: the staff console web page and its session-authenticated routes.

pub mod access;
pub mod config;
pub mod console;
pub(crate) mod db;
pub mod delegation;
pub mod emergency;
pub mod error;
pub mod failover;
pub mod fhir_api;
pub mod fhir_push;
pub mod files;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod patient;
pub mod peer;
pub mod ratelimit;
pub mod records;
pub mod registry;
pub mod revocation;
pub mod rotation;
pub mod seed;
pub mod share_proof;
pub mod staff;
pub mod stats;
pub mod systems;
pub mod witnessing;
pub mod write_keys;

pub use error::PeerError;
pub use peer::Peer;
