//! Events the shell emits to the window (listen with `window.__TAURI__.event.listen(name, cb)`;
//! the payload is in `event.payload`). Long tasks emit a full snapshot each time, so the UI
//! replaces its state with the latest payload and never has to add events up.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::types::{LostPhoneHospital, PeerAnswer, Violation};

/// Sync progress: payload [`SyncProgress`].
pub const SYNC: &str = "sync-progress";
/// Export progress: payload [`TaskProgress`].
pub const EXPORT: &str = "export-progress";
/// Restore progress: payload [`TaskProgress`].
pub const RESTORE: &str = "restore-progress";
/// Import progress: payload [`TaskProgress`].
pub const IMPORT: &str = "import-progress";
/// Revoke-all progress: payload [`RevokeAllProgress`].
pub const REVOKE_ALL: &str = "revoke-all-progress";
/// Lost-phone progress: payload [`LostPhoneProgress`].
pub const LOST_PHONE: &str = "lost-phone-progress";
/// The wallet was locked (inactivity timer or on request): payload [`Locked`]. Show the unlock
/// screen and drop every record the UI holds.
pub const LOCKED: &str = "locked";

/// Every event name, for the shell's capability file.
pub const ALL: &[&str] = &[
    SYNC, EXPORT, RESTORE, IMPORT, REVOKE_ALL, LOST_PHONE, LOCKED, DEEP_LINK,
];

/// Where one peer's sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerSyncState {
    /// Not started yet.
    Waiting,
    /// Pulling and verifying.
    Running,
    /// Finished without error.
    Done,
    /// Failed (unreachable, refused …): see `error`. Nothing from this peer was kept.
    Failed,
    /// SECURITY: the peer rewrote history or served tampered data: see `violation`. Nothing
    /// from this sync was kept from it. Show it loudly.
    Violation,
}

/// One peer's part of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSyncProgress {
    /// The peer URL.
    pub peer: String,
    /// The hospital's name from the trust list (the URL when unknown).
    pub hospital_name: String,
    /// Where it stands.
    pub state: PeerSyncState,
    /// Records verified and stored so far.
    pub records_done: u64,
    /// The number of records this sync will bring, when known (once the last page arrived).
    pub records_total: Option<u64>,
    /// New access receipts so far.
    pub receipts: u64,
    /// When `state` is `failed`.
    pub error: Option<ApiError>,
    /// When `state` is `violation`.
    pub violation: Option<Violation>,
    /// The document file being fetched from this peer, after its records: bytes so far and in
    /// all (`None` when none is).
    #[serde(default)]
    pub file: Option<FileProgress>,
    /// Document files fetched, checked and kept so far.
    #[serde(default)]
    pub files_kept: u64,
}

/// Bytes of one file so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    /// Bytes received.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A snapshot of a running sync (event [`SYNC`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Peers finished (done, failed or violation).
    pub done: u64,
    /// Peers in this sync.
    pub total: u64,
    /// Whether the sync has finished (the last event of a sync has `finished: true`).
    pub finished: bool,
    /// One entry per peer, in a stable order.
    pub peers: Vec<PeerSyncProgress>,
}

/// Which step a long task is at (closed set, for the UI to translate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStep {
    /// Checking the passphrase (Argon2id, about a second).
    CheckingPassphrase,
    /// Reading the input (file, QR image, pasted text).
    Reading,
    /// Decrypting (a backup).
    Decrypting,
    /// Collecting records and their proofs.
    Collecting,
    /// Building the patient summary and the files.
    Building,
    /// Verifying (the export as an office would; imported cards).
    Verifying,
    /// Writing to the wallet or to disk.
    Saving,
    /// Finished.
    Done,
}

/// A snapshot of a running export, restore or import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// The current step.
    pub step: TaskStep,
    /// Units done (steps, or items for imports and restores).
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

/// A snapshot of a running revoke-all (event [`REVOKE_ALL`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAllProgress {
    /// Peers that answered.
    pub done: u64,
    /// Peers asked.
    pub total: u64,
    /// The answers so far.
    pub answers: Vec<PeerAnswer>,
}

/// Why the wallet was locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockReason {
    /// No activity for the configured time.
    Inactivity,
    /// The user asked.
    Requested,
    /// The app was sent to the background (phones).
    Background,
}

/// A `spondon:` or `spondon-enroll:` link opened the app (phones): payload [`DeepLink`].
pub const DEEP_LINK: &str = "deep-link";

/// Payload of [`DEEP_LINK`]: the token or enrollment text the link carried (`SPONDON:1:…` or
/// `SPONDON-ENROLL:1:…`), for the page to offer, never to act on by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLink {
    /// The text, scheme in upper case, percent-decoded.
    pub text: String,
}

/// Payload of [`LOCKED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locked {
    /// Why.
    pub reason: LockReason,
}

/// Where the lost-phone procedure stands: the hospitals answered so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostPhoneProgress {
    /// Hospitals answered.
    pub done: u64,
    /// Hospitals in all.
    pub total: u64,
    /// Their answers so far.
    pub hospitals: Vec<LostPhoneHospital>,
}
