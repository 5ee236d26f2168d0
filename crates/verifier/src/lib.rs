//! The Spondon clinic verifier as a library: what the `spondon-verifier` binary runs, and what
//! its tests drive in-process.
//!
//! - [`check`]: the offline verdict on any SMART Health Card, Spondon token, QR photo or export,
//!   against the trust material named on the command line ([`check::load_trust`],
//!   [`check::check_paths`]).
//! - [`share`]: the verdict on a patient's share proofs (`share-proof`).
//! - [`node`]: the clinic node: its data directory and configuration ([`node::DataDir`]), its
//!   state ([`node::Node`]: database, pinned trust list, staff, doctor credential) and the
//!   background refresh ([`node::refresh`]).
//! - [`server`]: the node's HTTP application, [`server::router`], with its one route table
//!   ([`server::ROUTES`]) and its problem+json errors ([`server::ApiError`]).
//!
//! An input that is nothing `check` knows is refused with a stable code, before any parser sees
//! it:
//!
//! ```
//! use std::path::Path;
//! use spondon_verifier::check;
//!
//! let dir = tempfile::tempdir()?;
//! let note = dir.path().join("note.txt");
//! std::fs::write(&note, "not a health card")?;
//! let now = check::instant(Some("2026-12-06T00:00:00Z"))?;
//! let trust = check::load_trust(&[] as &[&Path], None, None, now)?;
//! let refused = check::check_paths(&[note], &trust, now).unwrap_err();
//! assert_eq!(refused.code(), "unrecognised");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod check;
mod input;
pub mod node;
mod report;
pub mod server;
pub mod share;
mod web;
