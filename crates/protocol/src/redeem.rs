//! A clinic node's redemption of a grant at a hospital peer (`POST /grant/records`).

use serde::{Deserialize, Serialize};

use crate::PulledRecord;

/// A grant redemption.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The grant text (`SPONDON:1:…`).
    pub grant: String,
    /// Only these records (each must be covered); default: everything the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_ids: Option<Vec<String>>,
    /// The passcode of a bearer grant (no PoP then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
}

/// The answer to a redemption: exactly the granted records, with proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeemed {
    /// The granted records.
    pub records: Vec<PulledRecord>,
    /// The cosigned checkpoint every proof refers to.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Log index of this access's event.
    pub access_log_index: u64,
}
