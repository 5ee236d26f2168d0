//! Emergency (break-glass) access at a hospital peer (`docs/protocol.md` §15): a registered
//! doctor's request and its answer, the second staff member's confirmation, the summary the
//! doctor then reads, and the patient's policy and dispute answers.
//!
//! The requests themselves (`EmergencyRequest`, `EmergencyPolicy`, `DisputeRequest`) are
//! validated statements and live in `spondon_core::emergency`.

use serde::{Deserialize, Serialize};

use crate::PulledRecord;

/// The answer to an emergency request (`POST /emergency/requests`, 201): it waits for a
/// second staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyRequested {
    /// The access id (16 random bytes, base64url).
    pub access_id: String,
    /// Always `pending_confirmation`.
    pub status: String,
    /// The confirmation must come before this time (seconds since the epoch).
    pub confirm_by: i64,
    /// How many hours the access stays open once confirmed.
    pub hours: u8,
}

/// The answer to a confirmation (`POST /staff/emergency/{id}/confirm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyConfirmed {
    /// The access confirmed.
    pub access_id: String,
    /// The staff token id of the second staff member.
    pub confirmed_by: String,
    /// When the access closes (seconds since the epoch).
    pub expires_at: i64,
    /// Index of the `EmergencyAccess` log entry.
    pub log_index: u64,
    /// How many records the summary opens.
    pub records: u64,
}

/// A doctor reads the summary of a confirmed access (`POST /emergency/summary`, signed by
/// the same key as the request).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryRequest {
    /// The access id of [`EmergencyRequested`].
    pub access_id: String,
}

/// The patient as registered at the hospital (to confirm identity at the bedside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryPatient {
    /// The patient's Health ID.
    pub health_id: String,
    /// The registered name.
    pub name: String,
    /// The registered birth date.
    pub birth_date: String,
    /// The registered sex.
    pub sex: String,
}

/// A medication in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryMedication {
    /// What is prescribed.
    pub medication: String,
    /// The dosage instruction's text, if the card has one.
    pub dosage: Option<String>,
    /// The record it was read from (one of the summary's `records`).
    pub record_id: String,
}

/// A problem or allergy in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryItem {
    /// Its words.
    pub text: String,
    /// Its code (ICD-10 for a problem), if coded.
    pub code: Option<String>,
    /// The record it was read from (one of the summary's `records`).
    pub record_id: String,
}

/// The emergency summary (`POST /emergency/summary`, 200): the extracted items, and the
/// signed records they come from with their proofs, so that a reader checks every item
/// against a verified card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencySummary {
    /// The access.
    pub access_id: String,
    /// When the access closes (seconds since the epoch).
    pub expires_at: i64,
    /// The patient as registered.
    pub patient: SummaryPatient,
    /// Allergies.
    pub allergies: Vec<SummaryItem>,
    /// Current medications.
    pub medications: Vec<SummaryMedication>,
    /// Active problems.
    pub problems: Vec<SummaryItem>,
    /// The blood group, read from one of `records`.
    pub blood_group: Option<String>,
    /// The signed records the items come from.
    pub records: Vec<PulledRecord>,
    /// The cosigned checkpoint every proof refers to.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
}

/// The answer to a policy registration (`POST /patient/emergency-policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRegistered {
    /// The policy's mode: `allow`, `opt_out` or `only`.
    pub mode: String,
    /// When the patient set it (seconds since the epoch).
    pub set_at: i64,
    /// Whether emergency access is possible at this hospital under the policy.
    pub allowed_here: bool,
}

/// The answer to a dispute (`POST /patient/emergency-disputes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disputed {
    /// The access disputed.
    pub access_id: String,
    /// When the hospital registered the dispute (seconds since the epoch).
    pub disputed_at: i64,
}
