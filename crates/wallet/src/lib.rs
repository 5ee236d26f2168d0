//! The Spondon wallet engine: everything the `spondon` CLI and the app do, without a window.
//!
//! - [`Wallet`]: create / unlock / open / lock, change passphrase, [`Authorization`] (the
//!   passphrase asked again before grants, revocations and exports), the pinned trust list;
//! - the encrypted cache (SQLite; every value AES-256-GCM, lookups by HMAC blind index);
//! - enrollment ([`EnrollmentCode`]) and the verified, concurrent, resumable [`Wallet::sync`];
//! - a lost phone ([`lost_phone`]): revoke everything and rotate the key at every hospital;
//! - grants, revocations, doctors, receipts (emergency accesses among them, [`emergency`]:
//!   the patient's policy and disputes), browsing, import, backup and restore;
//! - delegates ([`delegates`]): a family member's wallet views, shares or manages for the
//!   patient under a signed delegation;
//! - [`WalletSession`]: the app's policy (create with a trust list, keychain or passphrase only,
//!   endpoints, preferences, a lock through `&self` and an inactivity clock);
//! - with the `app-api` feature, [`app`]: conversions into the app's IPC types;
//! - with the `cli` feature (default), the `spondon` command-line tool.
//!
//! `docs/wallet.md` describes the storage layout and the verification rules.
#![warn(missing_docs)]

#[cfg(feature = "app-api")]
pub mod app;
pub mod backup;
pub mod browse;
mod crypto;
pub mod delegates;
pub mod documents;
pub mod emergency;
pub mod error;
pub mod export;
pub mod grants;
pub mod import;
pub mod lost_phone;
mod net;
pub mod passphrase_strength;
pub mod progress;
pub mod session;
pub mod share_proof;
mod store;
pub mod sync;
pub mod wallet;

pub use error::{Result, Violation, WalletError};
pub use lost_phone::{
    HospitalOutcome, HospitalResult, KeyRotationStatus, LOST_PHONE_WARNING, LostPhoneEvent,
    LostPhoneReport,
};
pub use progress::{Progress, Step};
pub use session::{Keychain, Preferences, SessionConfig, SessionState, WalletSession};
pub use sync::{
    EmergencyInfo, EnrollmentCode, PeerState, StoredReceipt, StoredRecord, SyncEvent, SyncReport,
    Trust, Unwitnessed,
};
pub use wallet::{Authorization, Endpoints, Wallet, write_private};
