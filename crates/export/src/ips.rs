//! The International Patient Summary: a FHIR R4 `Bundle` of type `document` whose first entry is
//! a `Composition` (LOINC 60591-5 "Patient summary Document") with the IPS sections, built from
//! the resources of hospital-signed cards.
//!
//! The wallet assembles the summary; no hospital signs it. The Composition says so in its
//! narrative and names the patient as author, and every copied resource carries
//! `meta.source` = the card's issuer (`iss`, plus `#rid`), so each entry can be traced back to the
//! signed card that is its evidence.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use spondon_core::NumericDate;
use spondon_core::shc::ParsedCard;

use crate::render;
use crate::{ExportError, ExportRecord};

/// LOINC code of the Composition type.
pub const LOINC_PATIENT_SUMMARY: &str = "60591-5";

/// The IPS sections: LOINC code, title, resource types that go in it.
pub const SECTIONS: &[(&str, &str, &[&str])] = &[
    ("11450-4", "Problem list", &["Condition"]),
    (
        "48765-2",
        "Allergies and intolerances",
        &["AllergyIntolerance"],
    ),
    (
        "10160-0",
        "Medication summary",
        &["MedicationRequest", "MedicationStatement"],
    ),
    ("11369-6", "Immunizations", &["Immunization"]),
    ("30954-2", "Results", &["Observation", "DiagnosticReport"]),
];

/// Sections the IPS requires even when empty.
const REQUIRED: &[&str] = &["11450-4", "48765-2", "10160-0"];

/// Resources that are not copied into the summary.
const LEFT_OUT: &[&str] = &["Encounter", "Invoice", "Patient"];

/// The statement every summary carries.
pub const NOT_SIGNED_NOTE: &str = "Assembled by the patient's Spondon wallet from hospital-signed SMART Health Cards. \
This summary itself is not signed by any hospital: each entry's meta.source names the issuer of the signed card that is its evidence.";

/// What the summary is built from.
#[derive(Debug, Clone, Copy)]
pub struct PatientSummaryInput<'a> {
    /// The hospital-signed cards (already verified by the wallet).
    pub records: &'a [ExportRecord],
    /// When the summary is made (`Composition.date`, `Bundle.timestamp`).
    pub created: NumericDate,
}

/// A deterministic `urn:uuid:` (RFC 9562 version 8) from bytes.
fn urn(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(b"spondon-export/ips/v1");
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let mut b: [u8; 32] = h.finalize().into();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b[..16].iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Rewrites every `reference` found in `map`; references to resources left out are dropped
/// (keeping any `display`).
fn rewrite(value: &mut Value, map: &BTreeMap<String, String>) {
    match value {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get("reference") {
                match map.get(r) {
                    Some(new) => {
                        obj.insert("reference".into(), Value::String(new.clone()));
                    }
                    None if r.starts_with("resource:") => {
                        obj.remove("reference");
                    }
                    None => {}
                }
            }
            for v in obj.values_mut() {
                rewrite(v, map);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, map)),
        _ => {}
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn narrative(lines: &[String]) -> Value {
    let body = if lines.is_empty() {
        "<p>No information available.</p>".to_owned()
    } else {
        format!(
            "<ul>{}</ul>",
            lines
                .iter()
                .map(|l| format!("<li>{}</li>", escape(l)))
                .collect::<String>()
        )
    };
    json!({"status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>")})
}

/// Builds the summary. Cards are parsed, not verified (the wallet verified them when it stored
/// them; the office verifies the cards, not the summary). The patient is the first card's
/// `Patient`, with the identifiers of the others added.
pub fn build_ips(input: &PatientSummaryInput<'_>) -> Result<Value, ExportError> {
    let mut patient: Option<Value> = None;
    let mut patient_urn = String::new();
    let mut entries: Vec<(String, Value)> = Vec::new();
    for (index, record) in input.records.iter().enumerate() {
        let card = ParsedCard::parse(&record.jws).map_err(|source| ExportError::Card {
            index: index + 1,
            source,
        })?;
        let source = match card.rid() {
            Some(rid) => format!("{}#{rid}", card.iss()),
            None => card.iss().to_owned(),
        };
        let card_entries = card
            .fhir_bundle()
            .get("entry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut map = BTreeMap::new();
        let mut kept = Vec::new();
        for entry in card_entries {
            let full_url = entry
                .get("fullUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let Some(resource) = entry.get("resource").cloned() else {
                continue;
            };
            let kind = resource
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if kind == "Patient" {
                match &mut patient {
                    None => {
                        patient_urn = urn(&[b"patient", record.jws.as_bytes()]);
                        let mut p = resource.clone();
                        if let Some(o) = p.as_object_mut() {
                            o.insert("meta".into(), json!({"source": source}));
                        }
                        patient = Some(p);
                    }
                    Some(p) => merge_identifiers(p, &resource),
                }
                map.insert(full_url, patient_urn.clone());
                continue;
            }
            if LEFT_OUT.contains(&kind.as_str()) {
                continue;
            }
            let id = urn(&[record.jws.as_bytes(), full_url.as_bytes()]);
            map.insert(full_url, id.clone());
            kept.push((id, resource));
        }
        for (id, mut resource) in kept {
            rewrite(&mut resource, &map);
            if let Some(o) = resource.as_object_mut() {
                let meta = o.entry("meta").or_insert_with(|| Value::Object(Map::new()));
                if let Some(m) = meta.as_object_mut() {
                    m.insert("source".into(), Value::String(source.clone()));
                }
            }
            entries.push((id, resource));
        }
    }
    let patient = patient.unwrap_or_else(|| json!({"resourceType": "Patient"}));
    if patient_urn.is_empty() {
        patient_urn = urn(&[b"patient"]);
    }
    let created = render::rfc3339(input.created);
    let mut sections = Vec::new();
    for (code, title, kinds) in SECTIONS {
        let members: Vec<&(String, Value)> = entries
            .iter()
            .filter(|(_, r)| {
                r.get("resourceType")
                    .and_then(Value::as_str)
                    .is_some_and(|k| kinds.contains(&k))
            })
            .collect();
        if members.is_empty() && !REQUIRED.contains(code) {
            continue;
        }
        let lines: Vec<String> = members
            .iter()
            .filter_map(|(_, r)| render::describe(r))
            .map(|i| {
                let mut l = i.text;
                if let Some(f) = i.flag {
                    l.push_str(&format!(" [{f}]"));
                }
                for d in i.details {
                    l.push_str("; ");
                    l.push_str(&d);
                }
                l
            })
            .collect();
        let mut section = json!({
            "title": title,
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "text": narrative(&lines),
        });
        if members.is_empty() {
            section["emptyReason"] = json!({"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                "code": "unavailable", "display": "Unavailable"}],
                "text": "No signed record of this kind was exported."});
        } else {
            section["entry"] = Value::Array(
                members
                    .iter()
                    .map(|(id, _)| json!({"reference": id}))
                    .collect(),
            );
        }
        sections.push(section);
    }
    let composition_urn = urn(&[b"composition", created.as_bytes(), patient_urn.as_bytes()]);
    let composition = json!({
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": LOINC_PATIENT_SUMMARY,
            "display": "Patient summary Document"}]},
        "subject": {"reference": patient_urn},
        "date": created,
        "author": [{"reference": patient_urn,
            "display": "The patient, with the Spondon wallet (not signed by a hospital)"}],
        "title": "International Patient Summary",
        "text": narrative(&[NOT_SIGNED_NOTE.to_owned()]),
        "section": sections,
    });
    let mut bundle_entries = vec![
        json!({"fullUrl": composition_urn, "resource": composition}),
        json!({"fullUrl": patient_urn, "resource": patient}),
    ];
    bundle_entries.extend(
        entries
            .into_iter()
            .map(|(id, r)| json!({"fullUrl": id, "resource": r})),
    );
    Ok(json!({
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": urn(&[b"bundle", composition_urn.as_bytes()])},
        "type": "document",
        "timestamp": created,
        "entry": bundle_entries,
    }))
}

fn merge_identifiers(into: &mut Value, from: &Value) {
    let Some(new) = from.get("identifier").and_then(Value::as_array) else {
        return;
    };
    let Some(obj) = into.as_object_mut() else {
        return;
    };
    let ids = obj
        .entry("identifier")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = ids.as_array_mut() {
        for id in new {
            if !list.contains(id) {
                list.push(id.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_are_uuids() {
        let u = urn(&[b"x"]);
        assert_eq!(u.len(), "urn:uuid:".len() + 36);
        assert_eq!(&u[9 + 14..9 + 15], "8");
        assert_ne!(urn(&[b"x", b"y"]), urn(&[b"xy"]));
    }
}
