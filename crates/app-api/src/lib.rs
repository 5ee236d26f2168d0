//! The whole IPC contract between the wallet app's shell (`src-tauri`) and its UI (`ui`).
//!
//! - [`cmd`]: the Tauri command names. Every command takes at most one argument, named `req`
//!   (the UI calls `invoke(name, {req: …})`), and answers `Result<T, ApiError>`: the promise
//!   resolves with `T` or rejects with an [`ApiError`] object (`{code, message}`).
//! - [`event`]: the event names and their payloads (progress of long tasks, the inactivity lock).
//! - [`types`]: the request and response types of every screen.
//! - [`ApiError`] and its stable [`codes`].
//!
//! Conventions: times are UNIX seconds (UTC); binary inputs (files, QR images) travel as standard
//! base64 (RFC 4648 §4, padding optional; a `data:…;base64,` prefix from `FileReader` is
//! accepted); enums serialize as `snake_case` strings, tagged enums as `{"type": "…", …}`.
//! Passphrases travel only from the UI to the shell, never back.
//!
//! This crate depends on serde and serde_json only and builds for `wasm32-unknown-unknown`.

#![deny(missing_docs)]

pub mod cmd;
pub mod error;
pub mod event;
pub mod types;

pub use error::{ApiError, ApiResult, codes};
pub use types::*;
