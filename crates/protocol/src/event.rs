//! The access event as a receipt carries it (`docs/protocol.md`, the access event).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An access event, as the peer logs it and a receipt carries it: an access under a grant
/// (`view`, `write`, `download`), an emergency access (`emergency`) or a key rotation
/// (`key_rotation`). The peer commits its compact JSON text with the keys sorted; a reader
/// checks that commitment on the text ([`Receipt::event_text`](crate::Receipt::event_text))
/// and reads the fields here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// The event format version (1).
    pub v: u64,
    /// The peer that logged it (its URL).
    pub peer: String,
    /// When (seconds since the epoch).
    pub at: i64,
    /// What the access did; events logged before peers said so have none (a view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// The refusal's code, for a denied access.
    #[serde(default)]
    pub reason: Option<String>,
    /// The grant's id ([`b64::url`](crate::b64::url)), when there was a grant.
    #[serde(default)]
    pub grant_id: Option<String>,
    /// The key id of the grant's audience (the doctor), if any.
    #[serde(default)]
    pub audience: Option<String>,
    /// The records read or written.
    #[serde(default)]
    pub records: Vec<String>,
    /// The delegate's key id, when a delegate acted for the patient (§16). Absent otherwise,
    /// so that other events keep their committed form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<String>,
    /// Anything else the event says (an emergency access's `emergency`, a key rotation's
    /// keys), kept as it is.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

impl AccessEvent {
    /// Reads an event's fields.
    pub fn from_value(event: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(event)
    }

    /// Whether the access was allowed.
    pub fn allowed(&self) -> bool {
        self.outcome == "allowed"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_reads_and_writes_back_byte_for_byte() {
        let committed = json!({
            "v": 1, "peer": "https://p.example", "at": 1_763_790_000, "action": "view",
            "outcome": "allowed", "reason": null, "grant_id": "AAAAAAAAAAAAAAAAAAAAAA",
            "audience": "kid", "records": ["r1", "r2"],
        });
        let ev = AccessEvent::from_value(&committed).expect("reads");
        assert!(ev.allowed());
        assert_eq!(ev.records, ["r1", "r2"]);
        assert_eq!(ev.delegate, None);
        let again = serde_json::to_value(&ev).expect("writes");
        assert_eq!(again.to_string(), committed.to_string());
    }

    #[test]
    fn other_fields_are_kept() {
        let committed = json!({
            "v": 1, "peer": "p", "at": 5, "action": "emergency", "outcome": "allowed",
            "reason": null, "grant_id": null, "audience": "kid", "records": [],
            "emergency": {"reason": "unconscious"}, "delegate": "d",
        });
        let ev = AccessEvent::from_value(&committed).expect("reads");
        assert_eq!(ev.delegate.as_deref(), Some("d"));
        assert!(ev.rest.contains_key("emergency"));
        assert_eq!(
            serde_json::to_value(&ev).expect("writes").to_string(),
            committed.to_string()
        );
    }

    #[test]
    fn an_event_without_a_peer_is_refused() {
        assert!(AccessEvent::from_value(&json!({"v": 1, "at": 5, "outcome": "allowed"})).is_err());
    }
}
