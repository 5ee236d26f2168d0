//! The standard SMART Health Cards pull, `POST /Patient/{id}/$health-cards-issue`, and the
//! patient's own demographic updates. Both are signed patient requests.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use spondon_core::shc::ParsedCard;

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::RequestParts;
use crate::peer::Peer;
use crate::registry::{DISTRICTS, normalize_phone};

/// What a patient may change about themselves (identity fields stay as the staff checked them).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DetailsUpdate {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub upazila: Option<String>,
}

fn parameters_error(reason: impl Into<String>) -> PeerError {
    PeerError::field("Parameters", reason)
}

/// Parsed `$health-cards-issue` input: the credential types asked for and `_since`.
fn parse_parameters(body: &Value) -> Result<(Vec<String>, Option<i64>)> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(parameters_error(
            "the body must be a FHIR Parameters resource",
        ));
    }
    let params = match body.get("parameter") {
        None => return Ok((Vec::new(), None)),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(parameters_error("parameter must be an array")),
    };
    let mut types = Vec::new();
    let mut since = None;
    for p in params {
        match p.get("name").and_then(Value::as_str) {
            Some("credentialType") => {
                let t = p
                    .get("valueUri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| parameters_error("credentialType needs valueUri"))?;
                types.push(t.to_owned());
            }
            Some("_since") => {
                let t = p
                    .get("valueDateTime")
                    .and_then(Value::as_str)
                    .ok_or_else(|| parameters_error("_since needs valueDateTime"))?;
                let dt =
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            parameters_error("_since must be an RFC 3339 date-time with offset")
                        })?;
                since = Some(dt.unix_timestamp());
            }
            Some("credentialValueSet" | "includeIdentityClaim") => {}
            _ => return Err(parameters_error("unknown parameter")),
        }
    }
    if types.is_empty() {
        return Err(parameters_error("at least one credentialType is required"));
    }
    Ok((types, since))
}

impl Peer {
    /// `$health-cards-issue` for the patient `id`, who must have signed the request with their
    /// enrolled key. Returns a FHIR `Parameters` with one `verifiableCredential` per card whose
    /// `vc.type` includes every requested type, issued at or after `_since`.
    pub async fn health_cards_issue(
        &self,
        parts: &RequestParts<'_>,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        if health_id != id {
            return Err(PeerError::NotEnrolled);
        }
        let (types, since) = parse_parameters(body)?;
        let (size, _) = self.current_checkpoint().await?;
        let rows = self.record_rows(&health_id, 0, size, None).await?;
        let mut out = Vec::new();
        for crate::patient::RecordRow { issued_at, jws, .. } in rows {
            if since.is_some_and(|s| issued_at < s) {
                continue;
            }
            let card = ParsedCard::parse(&jws)
                .map_err(|e| PeerError::Integrity(format!("stored card: {e}")))?;
            if types.iter().all(|t| card.types().iter().any(|c| c == t)) {
                out.push(json!({"name": "verifiableCredential", "valueString": jws}));
            }
        }
        Ok(json!({"resourceType": "Parameters", "parameter": out}))
    }

    /// The signing patient updates their phone, district or upazila.
    pub async fn update_details(
        &self,
        parts: &RequestParts<'_>,
        req: &DetailsUpdate,
    ) -> Result<crate::registry::Patient> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        let current = self.patient(&health_id).await?.details;
        let phone = match &req.phone {
            Some(p) => normalize_phone(p)?,
            None => current.phone,
        };
        let district = match &req.district {
            Some(d) => DISTRICTS
                .iter()
                .find(|x| x.eq_ignore_ascii_case(d.trim()))
                .map(|x| (*x).to_owned())
                .ok_or_else(|| PeerError::field("district", "is not a district of Bangladesh"))?,
            None => current.district,
        };
        let upazila = match &req.upazila {
            Some(u) => {
                let t = u.trim();
                if t.is_empty() || t.chars().count() > 60 || t.chars().any(char::is_control) {
                    return Err(PeerError::field(
                        "upazila",
                        "must be 1–60 printable characters",
                    ));
                }
                t.to_owned()
            }
            None => current.upazila,
        };
        db::patients::update_contact(&self.db, &health_id, &phone, &district, &upazila).await?;
        tracing::info!("patient updated their details");
        self.patient(&health_id).await
    }
}
