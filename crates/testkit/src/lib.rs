//! Spondon's test kit: what the peer's, the clinic node's, the wallet's and the ledger's tests and
//! benches share, written once (issue 13). A dev-only crate (`publish = false`), used only as a
//! dev-dependency.
//!
//! - [`http`]: one HTTP/1.1 request on a fresh connection, raw ([`http::request`]) or tolerant of a
//!   peer that died mid-answer ([`http::try_request`]).
//! - [`openapi`]: every JSON answer checked against the schema a served OpenAPI document gives.
//! - [`db`]: a fresh PostgreSQL database per test, and [`both_engines!`](crate::both_engines).
//! - [`proc`]: binaries built by cargo (always rebuilt, never stale), free ports, readiness
//!   waits, kill-on-drop guards.
//! - [`tiles`]: the log read back from its tlog tiles, over any GET function.
//! - [`fhir`]: the FHIR resources the tests issue.
//! - [`patient`]: nonces and patient-signed requests.
//! - [`browser`]: headless Chromium over WebDriver.
//! - [`bench`]: the benches' command-line arguments and percentiles.
//! - with the `peer` feature: [`inproc`] (a peer served in this process), [`spawned`] (a real
//!   `spondon-peer` process, the misbehaving proxy, the CLI wallet's and the clinic node's
//!   processes) and [`consortium`] (hospitals and trust lists at a fixed clock).
//! - [`vectors`]: the published conformance vectors, each its own named test.
//!
//! A harness fails loudly: its helpers panic on any unexpected outcome, naming it.
#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod browser;
pub mod db;
pub mod fhir;
pub mod http;
pub mod openapi;
pub mod patient;
pub mod proc;
pub mod tiles;
pub mod vectors;

#[cfg(feature = "peer")]
pub mod consortium;
#[cfg(feature = "peer")]
pub mod inproc;
#[cfg(feature = "peer")]
pub mod spawned;
