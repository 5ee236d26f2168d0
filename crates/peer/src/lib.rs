//! `spondon-peer`: the hospital peer node (the `spondon-peer` binary, and this library that the
//! binary, the tests, the benchmarks and the test kit drive in-process).
//!
//! A [`Peer`] is opened from a [`DataDir`] (its [`Config`], `peer.json`, and its 0600 key
//! files) over SQLite or PostgreSQL; it registers patients ([`NewPatient`]) and doctors
//! ([`NewDoctor`]), issues records ([`IssueRequest`]) as FHIR R4 SMART Health Cards committed to
//! its transparency log, and serves the HTTP API ([`http::router`], [`http::serve`]): staff
//! routes (bearer tokens with a [`Role`]), patients' signed requests (enrollment, pulls, key
//! rotation, emergency policy), doctors' grant redemptions, hospital systems' FHIR pushes, the
//! staff console at `/console`, the log's tiles and its witness. Every fault is a [`PeerError`]
//! with a stable code, answered as RFC 9457 `application/problem+json` under [`PROBLEM_BASE`];
//! a refused configuration is a [`ConfigError`].
//!
//! Public modules, for what is not at the root:
//! - [`config`]: the data directory (config file, 0600 key files, the writer lock).
//! - [`registry`]: patients (Health ID, enrollment code) and doctors (doctor credential).
//! - [`records`]: issuing FHIR R4 SMART Health Cards committed to the log.
//! - [`revocation`]: staff revocation of records (the SMART Health Cards CRL).
//! - [`staff`]: staff tokens and their roles.
//! - [`fhir_push`]: hospital systems (HIS/LIS) pushing records over FHIR.
//! - [`seed`]: synthetic demo data.
//! - [`stats`]: de-identified statistics for the health authority (signed, logged aggregates).
//! - [`witnessing`]: pushing this log's checkpoints to witnesses, collecting cosignatures.
//! - [`failover`]: a list of PostgreSQL URLs followed to whichever accepts writes.
//! - [`http`], [`openapi`]: the HTTP API, its route table and its OpenAPI document.
//!
//! The rest (grant redemption, patients' requests, key rotation, emergency access, delegations,
//! files, share proofs, the console, rate limiting, metrics, `Idempotency-Key` replays and the
//! SQL in `db`) is internal: reached through [`Peer`]'s methods and the router.

#![warn(missing_docs)]

mod access;
pub mod config;
mod console;
pub(crate) mod db;
mod delegation;
mod emergency;
mod error;
pub mod failover;
mod fhir_api;
pub mod fhir_push;
mod files;
mod group_commit;
pub mod http;
mod metrics;
mod nonce;
pub mod openapi;
mod patient;
mod peer;
mod ratelimit;
pub mod records;
pub mod registry;
pub mod revocation;
mod rotation;
pub mod seed;
mod share_proof;
pub mod staff;
pub mod stats;
mod systems;
pub mod witnessing;
mod write_keys;

pub use config::{Config, ConfigError, DataDir, WitnessEndpoint};
pub use error::{KeyFileError, PROBLEM_BASE, PeerError, Result};
pub use peer::Peer;
pub use records::{IssueRequest, RecordKind};
pub use registry::{NewDoctor, NewPatient};
pub use revocation::RevocationReason;
pub use staff::Role;
pub use stats::StatsRequest;
pub use witnessing::Witnessing;
