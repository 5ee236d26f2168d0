//! The Spondon clinic verifier as a library: `check` (the offline verdict on any card, token,
//! QR photo or export), the clinic node (configuration, database, trust state, grant checks,
//! peers) and its HTTP application, [`server::router`], which the `spondon-verifier` binary
//! serves and tests run in-process.

pub mod check;
pub mod input;
pub mod node;
pub mod report;
pub mod server;
pub mod share;
mod web;
