//! Progress of the long operations (export, restore, import, revoke-all), for a progress bar.
//! Sync has its own richer [`crate::SyncEvent`].

use serde::Serialize;

/// Which step a long operation is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Checking the passphrase (Argon2id, about a second).
    CheckingPassphrase,
    /// Reading the input.
    Reading,
    /// Decrypting (a backup).
    Decrypting,
    /// Collecting records and their proofs.
    Collecting,
    /// Building the patient summary and the files.
    Building,
    /// Verifying.
    Verifying,
    /// Writing.
    Saving,
    /// Finished.
    Done,
}

/// One progress report: the step, and units done out of a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The current step.
    pub step: Step,
    /// Units done.
    pub done: u64,
    /// Units in all.
    pub total: u64,
}

impl Progress {
    /// A report.
    pub fn new(step: Step, done: u64, total: u64) -> Self {
        Self { step, done, total }
    }
}

/// A progress callback (called from the task doing the work; keep it quick).
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// A callback that ignores progress.
pub fn ignore(_: Progress) {}
