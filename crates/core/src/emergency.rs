//! Emergency (break-glass) access: the JSON a doctor, a patient and a hospital peer exchange
//! (`docs/protocol.md` §15), and their checks. Peers validate every request with these
//! functions; wallets read the logged emergency event with [`EmergencyInfo::from_event`].
//! No I/O: the decoders take bytes or values and return a value or a specific error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reasons a doctor may give (with free text besides).
pub const REASONS: &[&str] = &[
    "unconscious",
    "cannot_communicate",
    "life_threatening",
    "no_wallet_available",
    "other",
];
/// Hours an access lasts when the request does not say.
pub const DEFAULT_HOURS: u8 = 4;
/// Longest access (hours after the confirmation).
pub const MAX_HOURS: u8 = 12;
/// Longest free-text explanation (characters).
pub const MAX_DETAILS_CHARS: usize = 500;
/// Longest dispute text (characters).
pub const MAX_DISPUTE_CHARS: usize = 1000;
/// Most hospitals a patient's `only` policy may name.
pub const MAX_POLICY_HOSPITALS: usize = 64;
/// Longest peer URL in a policy (bytes).
pub const MAX_URL_BYTES: usize = 256;
/// How far a policy's `set_at` may lie ahead of the peer's clock (seconds).
pub const MAX_SET_AT_SKEW: i64 = 120;

/// Why an emergency request, policy, dispute or event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmergencyError {
    /// The body is not JSON of the expected shape (unknown members are refused).
    #[error("not valid JSON of the expected shape: {0}")]
    Malformed(String),
    /// An emergency access needs a listed reason and a non-empty free-text explanation.
    #[error("an emergency access needs a reason from the list and a free-text explanation")]
    ReasonRequired,
    /// A member has a value outside what it allows.
    #[error("invalid field {field}: {reason}")]
    Field {
        /// The member's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl EmergencyError {
    /// The stable code (`docs/protocol.md` §15).
    pub fn code(&self) -> &'static str {
        match self {
            EmergencyError::Malformed(_) => "malformed_json",
            EmergencyError::ReasonRequired => "reason_required",
            EmergencyError::Field { .. } => "invalid_field",
        }
    }

    fn field(field: &'static str, reason: impl Into<String>) -> Self {
        EmergencyError::Field {
            field,
            reason: reason.into(),
        }
    }
}

/// A doctor's emergency request (`POST /emergency/requests`, signed by the doctor's key).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRequest {
    /// The patient's Health ID.
    pub health_id: String,
    /// One of [`REASONS`].
    #[serde(default)]
    pub reason: Option<String>,
    /// Free text: what happened, why no grant can be had.
    #[serde(default)]
    pub details: Option<String>,
    /// 1..=[`MAX_HOURS`], default [`DEFAULT_HOURS`].
    #[serde(default)]
    pub hours: Option<u8>,
}

/// A request that passed [`EmergencyRequest::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest<'a> {
    /// The reason, one of [`REASONS`].
    pub reason: &'a str,
    /// Trimmed.
    pub details: &'a str,
    /// How many hours the access lasts, 1..=[`MAX_HOURS`].
    pub hours: u8,
}

/// Free text of 1..=`max` characters, no control characters but newline and tab.
fn text_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n > 0 && n <= max && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

impl EmergencyRequest {
    /// Decodes a request body strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, EmergencyError> {
        serde_json::from_slice(bytes).map_err(|e| EmergencyError::Malformed(e.to_string()))
    }

    /// Reason present and in [`REASONS`], free text present (`reason_required` when either is
    /// missing or blank), text and hours in range (`invalid_field`). The Health ID is the
    /// peer's to look up.
    pub fn validate(&self) -> Result<ValidRequest<'_>, EmergencyError> {
        let reason = self.reason.as_deref().map(str::trim).unwrap_or("");
        let details = self.details.as_deref().map(str::trim).unwrap_or("");
        if reason.is_empty() || details.is_empty() {
            return Err(EmergencyError::ReasonRequired);
        }
        if !REASONS.contains(&reason) {
            return Err(EmergencyError::field(
                "reason",
                format!("must be one of {}", REASONS.join(", ")),
            ));
        }
        if !text_ok(details, MAX_DETAILS_CHARS) {
            return Err(EmergencyError::field(
                "details",
                format!("must be 1–{MAX_DETAILS_CHARS} characters without control characters"),
            ));
        }
        let hours = self.hours.unwrap_or(DEFAULT_HOURS);
        if !(1..=MAX_HOURS).contains(&hours) {
            return Err(EmergencyError::field(
                "hours",
                format!("must be 1–{MAX_HOURS}"),
            ));
        }
        Ok(ValidRequest {
            reason,
            details,
            hours,
        })
    }
}

/// The patient's choice about emergency access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// Any member hospital (the default).
    Allow,
    /// Nowhere.
    OptOut,
    /// Only at the hospitals named.
    Only,
}

impl PolicyMode {
    /// The mode as it is written in JSON and stored (`allow`, `opt_out`, `only`).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Allow => "allow",
            PolicyMode::OptOut => "opt_out",
            PolicyMode::Only => "only",
        }
    }

    /// The mode written so; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow" => PolicyMode::Allow,
            "opt_out" => PolicyMode::OptOut,
            "only" => PolicyMode::Only,
            _ => return None,
        })
    }
}

/// A patient's emergency access policy (`POST /patient/emergency-policy`, signed by the
/// enrolled patient key).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmergencyPolicy {
    /// Where emergency access is allowed.
    pub mode: PolicyMode,
    /// The peer URLs of the hospitals allowed (mode `only`; empty otherwise).
    #[serde(default)]
    pub hospitals: Vec<String>,
    /// When the patient chose it (POSIX seconds): a peer keeps the newest.
    pub set_at: i64,
}

/// A peer URL in a policy: `https://…` (or `http://` on loopback), no user info, query,
/// fragment, white space or trailing slash, at most [`MAX_URL_BYTES`].
pub fn policy_url_ok(u: &str) -> bool {
    if u.len() > MAX_URL_BYTES
        || u.ends_with('/')
        || u.contains(['?', '#', '@'])
        || u.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    if let Some(rest) = u.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = u.strip_prefix("http://") else {
        return false;
    };
    if rest.starts_with("[::1]") {
        return true;
    }
    let host = rest.split(['/', ':']).next().unwrap_or("");
    matches!(host, "localhost" | "127.0.0.1") || host.ends_with(".localhost")
}

impl EmergencyPolicy {
    /// Decodes a policy body strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, EmergencyError> {
        serde_json::from_slice(bytes).map_err(|e| EmergencyError::Malformed(e.to_string()))
    }

    /// Mode `only` names 1..=[`MAX_POLICY_HOSPITALS`] peer URLs without repeats, the other
    /// modes none; `set_at` is not negative nor more than [`MAX_SET_AT_SKEW`] after `now`.
    pub fn validate(&self, now: i64) -> Result<(), EmergencyError> {
        match self.mode {
            PolicyMode::Only => {
                if self.hospitals.is_empty() || self.hospitals.len() > MAX_POLICY_HOSPITALS {
                    return Err(EmergencyError::field(
                        "hospitals",
                        format!("mode only names 1–{MAX_POLICY_HOSPITALS} hospital URLs"),
                    ));
                }
                if !self.hospitals.iter().all(|u| policy_url_ok(u)) {
                    return Err(EmergencyError::field(
                        "hospitals",
                        "each must be a peer URL (https://…, no trailing slash)",
                    ));
                }
                let mut seen = std::collections::BTreeSet::new();
                if !self.hospitals.iter().all(|u| seen.insert(u)) {
                    return Err(EmergencyError::field("hospitals", "a hospital is repeated"));
                }
            }
            PolicyMode::Allow | PolicyMode::OptOut => {
                if !self.hospitals.is_empty() {
                    return Err(EmergencyError::field(
                        "hospitals",
                        "only mode only names hospitals",
                    ));
                }
            }
        }
        if self.set_at < 0 || self.set_at > now.saturating_add(MAX_SET_AT_SKEW) {
            return Err(EmergencyError::field("set_at", "must not be in the future"));
        }
        Ok(())
    }

    /// Whether the policy lets the hospital at `peer_url` open the summary.
    pub fn allows(&self, peer_url: &str) -> bool {
        match self.mode {
            PolicyMode::Allow => true,
            PolicyMode::OptOut => false,
            PolicyMode::Only => self.hospitals.iter().any(|h| h == peer_url),
        }
    }
}

/// A patient disputes an emergency access (`POST /patient/emergency-disputes`, signed).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// The id of the emergency access disputed.
    pub access_id: String,
    /// The patient's words, 1..=[`MAX_DISPUTE_CHARS`] characters.
    pub text: String,
}

impl DisputeRequest {
    /// Decodes a dispute body strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, EmergencyError> {
        serde_json::from_slice(bytes).map_err(|e| EmergencyError::Malformed(e.to_string()))
    }

    /// The trimmed text: 1..=[`MAX_DISPUTE_CHARS`] characters, no control characters but
    /// newline and tab.
    pub fn validate(&self) -> Result<&str, EmergencyError> {
        let text = self.text.trim();
        if !text_ok(text, MAX_DISPUTE_CHARS) {
            return Err(EmergencyError::field(
                "text",
                format!("must be 1–{MAX_DISPUTE_CHARS} characters without control characters"),
            ));
        }
        Ok(text)
    }
}

/// What a logged emergency event says (its `emergency` member, `docs/protocol.md` §15.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmergencyInfo {
    /// The access id (for a dispute).
    pub id: String,
    /// The doctor's BMDC registration number.
    pub doctor_bmdc: String,
    /// The doctor's name, from their credential.
    pub doctor_name: String,
    /// The doctor's department, from their credential.
    pub department: String,
    /// One of [`REASONS`].
    pub reason: String,
    /// The doctor's free text.
    pub details: String,
    /// The staff token id of the second staff member who confirmed (none for a refusal before
    /// confirmation).
    pub confirmed_by: Option<String>,
    /// When the access ends (none for a refusal).
    pub expires_at: Option<i64>,
}

impl EmergencyInfo {
    /// Reads the `emergency` member of an access event: every required member present with
    /// its type (`invalid_field` naming it otherwise), the reason in [`REASONS`], texts within
    /// their bounds.
    pub fn from_event(ev: &Value) -> Result<Self, EmergencyError> {
        let e = ev
            .get("emergency")
            .filter(|e| e.is_object())
            .ok_or_else(|| EmergencyError::field("emergency", "missing or not an object"))?;
        let doctor = e
            .get("doctor")
            .filter(|d| d.is_object())
            .ok_or_else(|| EmergencyError::field("emergency.doctor", "missing or not an object"))?;
        let text = |v: &Value, k: &'static str, max: usize| -> Result<String, EmergencyError> {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| text_ok(s, max))
                .map(str::to_owned)
                .ok_or_else(|| EmergencyError::field(k, format!("must be 1–{max} characters")))
        };
        let opt_text = |k: &'static str| -> Result<Option<String>, EmergencyError> {
            match e.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .filter(|s| text_ok(s, 128))
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| EmergencyError::field(k, "must be a short text or null")),
            }
        };
        let reason = text(e, "reason", 64)?;
        if !REASONS.contains(&reason.as_str()) {
            return Err(EmergencyError::field(
                "reason",
                format!("must be one of {}", REASONS.join(", ")),
            ));
        }
        let expires_at = match e.get("expires_at") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| EmergencyError::field("expires_at", "must be an integer"))?,
            ),
        };
        Ok(EmergencyInfo {
            id: text(e, "id", 64)?,
            doctor_bmdc: text(doctor, "bmdc", 128)?,
            doctor_name: text(doctor, "name", 200)?,
            department: text(doctor, "department", 200)?,
            reason,
            details: text(e, "details", MAX_DETAILS_CHARS)?,
            confirmed_by: opt_text("confirmed_by")?,
            expires_at,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_need_a_listed_reason_and_free_text() {
        let ok = EmergencyRequest::decode(
            br#"{"health_id":"1","reason":"unconscious","details":" found at the station ","hours":2}"#,
        )
        .unwrap();
        let v = ok.validate().unwrap();
        assert_eq!(
            (v.reason, v.details, v.hours),
            ("unconscious", "found at the station", 2)
        );
        for (body, code) in [
            (r#"{"health_id":"1"}"#, "reason_required"),
            (
                r#"{"health_id":"1","reason":"unconscious"}"#,
                "reason_required",
            ),
            (
                r#"{"health_id":"1","reason":" ","details":"x"}"#,
                "reason_required",
            ),
            (
                r#"{"health_id":"1","reason":"bored","details":"x"}"#,
                "invalid_field",
            ),
            (
                r#"{"health_id":"1","reason":"other","details":"x","hours":0}"#,
                "invalid_field",
            ),
            (
                r#"{"health_id":"1","reason":"other","details":"x","hours":13}"#,
                "invalid_field",
            ),
            (
                r#"{"health_id":"1","reason":"other","details":"a\u0007b"}"#,
                "invalid_field",
            ),
        ] {
            let r = EmergencyRequest::decode(body.as_bytes()).unwrap();
            assert_eq!(r.validate().unwrap_err().code(), code, "{body}");
        }
        assert_eq!(
            EmergencyRequest::decode(br#"{"health_id":"1","why":"x"}"#)
                .unwrap_err()
                .code(),
            "malformed_json"
        );
    }

    #[test]
    fn policies_name_hospitals_only_in_only_mode() {
        let p = |v: Value| EmergencyPolicy::decode(v.to_string().as_bytes()).unwrap();
        let now = 1_800_000_000;
        assert!(
            p(json!({"mode": "opt_out", "set_at": now}))
                .validate(now)
                .is_ok()
        );
        let only = p(json!({"mode": "only", "hospitals": ["https://dmch.example"], "set_at": now}));
        assert!(only.validate(now).is_ok());
        assert!(only.allows("https://dmch.example") && !only.allows("https://cmch.example"));
        for bad in [
            json!({"mode": "only", "hospitals": [], "set_at": now}),
            json!({"mode": "only", "hospitals": ["https://a.example/"], "set_at": now}),
            json!({"mode": "only", "hospitals": ["http://a.example"], "set_at": now}),
            json!({"mode": "only", "hospitals": ["https://a", "https://a"], "set_at": now}),
            json!({"mode": "allow", "hospitals": ["https://a"], "set_at": now}),
            json!({"mode": "allow", "set_at": now + 3600}),
            json!({"mode": "allow", "set_at": -1}),
        ] {
            assert_eq!(
                p(bad.clone()).validate(now).unwrap_err().code(),
                "invalid_field",
                "{bad}"
            );
        }
        assert!(policy_url_ok("http://127.0.0.1:8400") && policy_url_ok("http://[::1]:1"));
    }

    #[test]
    fn events_are_read_strictly() {
        let ev = json!({"emergency": {"id": "abc", "reason": "unconscious", "details": "d",
            "doctor": {"bmdc": "A-1", "name": "Dr. X", "department": "Medicine"},
            "confirmed_by": "0011", "expires_at": 5}});
        let info = EmergencyInfo::from_event(&ev).unwrap();
        assert_eq!(info.expires_at, Some(5));
        let mut bad = ev.clone();
        bad["emergency"]["reason"] = json!("bored");
        assert!(EmergencyInfo::from_event(&bad).is_err());
        let mut bad = ev.clone();
        bad["emergency"]["doctor"] = json!("Dr. X");
        assert!(EmergencyInfo::from_event(&bad).is_err());
        assert!(EmergencyInfo::from_event(&json!({})).is_err());
    }
}
