//! The Spondon wallet engine: everything the `spondon` CLI and the app do, without a window.
//!
//! - [`Wallet`]: create / unlock / open / lock, change passphrase, [`Authorization`] (the
//!   passphrase asked again before grants, revocations and exports), the pinned trust list;
//! - the encrypted cache (SQLite; every value AES-256-GCM, lookups by HMAC blind index);
//! - enrollment ([`EnrollmentCode`]) and the verified, concurrent, resumable [`Wallet::sync`];
//! - grants, revocations, doctors, receipts, browsing, import, backup and restore.
//!
//! `docs/wallet.md` describes the storage layout and the verification rules.

pub mod backup;
pub mod browse;
mod crypto;
pub mod error;
pub mod export;
pub mod grants;
pub mod import;
mod net;
mod store;
pub mod sync;
pub mod wallet;

pub use error::{Result, Violation, WalletError};
pub use sync::{
    EnrollmentCode, PeerState, StoredReceipt, StoredRecord, SyncEvent, SyncReport, Trust,
};
pub use wallet::{Authorization, Wallet};
