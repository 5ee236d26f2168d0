//! The FHIR bundle rules of SMART Health Cards, as the specification states them and the SMART
//! validator (health-cards-dev-tools) enforces them. Errors reject the card; the rules the
//! validator only warns about become [`Warning`]s.
//!
//! Errors: not a Bundle; no entries; an entry without a resource or `resourceType`; a `fullUrl`
//! that is not `resource:N` or is repeated; a `reference` that is not `resource:N` or names no
//! entry; an empty string, array or object anywhere in a resource; a malformed `meta.security`;
//! an Immunization whose `status` is not `completed`, or with neither or both of
//! `occurrenceDateTime` / `occurrenceString`.
//!
//! Warnings: `Resource.id`, `Resource.text`, `meta` with anything but `security`,
//! `CodeableConcept.text`, `Coding.display`, a Bundle `type` other than `collection`.

use serde_json::Value;

use super::{ShcError, Warning};

/// CDC CVX codes of COVID-19 vaccines (as the validator lists them).
pub const CDC_COVID_CVX_CODES: &[&str] = &[
    "207", "208", "210", "211", "212", "217", "218", "219", "221", "228", "229", "300", "500",
    "501", "502", "503", "504", "505", "506", "507", "508", "509", "510", "511", "512", "513",
    "514", "515", "516", "517",
];

/// LOINC codes of COVID-19 tests (as the validator lists them).
pub const LOINC_COVID_CODES: &[&str] = &[
    "50548-7", "68993-5", "82159-5", "94306-8", "94307-6", "94308-4", "94309-2", "94500-6",
    "94502-2", "94503-0", "94504-8", "94507-1", "94508-9", "94531-1", "94533-7", "94534-5",
    "94547-7", "94558-4", "94559-2", "94562-6", "94563-4", "94564-2", "94565-9", "94640-0",
    "94661-6", "94756-4", "94757-2", "94758-0", "94759-8", "94760-6", "94761-4", "94762-2",
    "94764-8", "94845-5", "95209-3", "95406-5", "95409-9", "95416-4", "95423-0", "95424-8",
    "95425-5", "95542-7", "95608-6", "95609-4",
];

/// The `resource` of every entry that has one.
pub fn resources(bundle: &Value) -> Vec<&Value> {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter_map(|e| e.get("resource")).collect())
        .unwrap_or_default()
}

/// `resourceType` of a resource.
pub fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("resourceType").and_then(Value::as_str)
}

/// `resource[field].coding[0].code`.
pub fn first_code<'a>(resource: &'a Value, field: &str) -> Option<&'a str> {
    resource
        .get(field)?
        .get("coding")?
        .as_array()?
        .first()?
        .get("code")?
        .as_str()
}

/// `resource:N` with N decimal digits.
fn is_resource_uri(s: &str) -> bool {
    s.strip_prefix("resource:")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks a FHIR bundle against the SMART Health Cards rules for a card that can be a QR code
/// (see [`check_bundle_for`]). Returns the warnings, or the first error.
pub fn check_bundle(bundle: &Value) -> Result<Vec<Warning>, ShcError> {
    check_bundle_for(bundle, true)
}

/// Checks a FHIR bundle. The IG requires short `resource:N` URIs in `fullUrl` and
/// `Reference.reference` only "for Health Cards that will be directly represented as QR codes";
/// with `qr == false` (a card too long for one QR, e.g. spec example 02) other URIs are
/// warnings (`fhir_full_url_not_short`, `fhir_reference_not_short`). Every other rule is the same.
pub fn check_bundle_for(bundle: &Value, qr: bool) -> Result<Vec<Warning>, ShcError> {
    let mut warnings = Vec::new();
    let Value::Object(obj) = bundle else {
        return Err(ShcError::FhirNotBundle(
            "fhirBundle is not an object".into(),
        ));
    };
    if obj.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ShcError::FhirNotBundle(
            "resourceType is not \"Bundle\"".into(),
        ));
    }
    match obj.get("type") {
        Some(Value::String(t)) if t == "collection" => {}
        Some(Value::String(t)) => warnings.push(Warning::new(
            "fhir_bundle_type",
            format!("Bundle.type is {t:?}; SMART Health Cards use \"collection\""),
        )),
        _ => {
            return Err(ShcError::FhirSchema(
                "Bundle.type is missing or not a string".into(),
            ));
        }
    }
    let entries = match obj.get("entry") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(ShcError::FhirBadEntry(
                "Bundle.entry[] is missing or empty".into(),
            ));
        }
    };
    let mut full_urls: Vec<&str> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let url = entry.get("fullUrl").and_then(Value::as_str);
        match url {
            Some(u) if is_resource_uri(u) => {
                if full_urls.contains(&u) {
                    return Err(ShcError::FhirBadFullUrl(format!(
                        "entry[{i}].fullUrl {u:?} duplicates an earlier entry"
                    )));
                }
                full_urls.push(u);
            }
            Some(u) if !qr && !u.is_empty() => {
                if full_urls.contains(&u) {
                    return Err(ShcError::FhirBadFullUrl(format!(
                        "entry[{i}].fullUrl {u:?} duplicates an earlier entry"
                    )));
                }
                warnings.push(Warning::new(
                    "fhir_full_url_not_short",
                    format!("entry[{i}].fullUrl {u:?} is not a short resource-scheme URI"),
                ));
                full_urls.push(u);
            }
            other => {
                return Err(ShcError::FhirBadFullUrl(format!(
                    "entry[{i}].fullUrl {:?} is not a short resource-scheme URI (resource:N)",
                    other.unwrap_or("")
                )));
            }
        }
    }
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource @ Value::Object(r)) = entry.get("resource") else {
            return Err(ShcError::FhirBadEntry(format!(
                "entry[{i}].resource is missing"
            )));
        };
        let Some(rt) = r.get("resourceType").and_then(Value::as_str) else {
            return Err(ShcError::FhirBadEntry(format!(
                "entry[{i}].resource.resourceType is missing"
            )));
        };
        let path = format!("entry[{i}]({rt})");
        if rt == "Immunization" {
            match r.get("status") {
                Some(Value::String(s)) if s == "completed" => {}
                Some(other) => {
                    return Err(ShcError::FhirImmunizationStatus(format!(
                        "{path}.status is {other}, should be \"completed\""
                    )));
                }
                None => {
                    return Err(ShcError::FhirImmunizationStatus(format!(
                        "{path}.status is required"
                    )));
                }
            }
            match (r.get("occurrenceDateTime"), r.get("occurrenceString")) {
                (None, None) => {
                    return Err(ShcError::FhirImmunizationOccurrence(format!(
                        "{path} requires occurrenceDateTime or occurrenceString"
                    )));
                }
                (Some(_), Some(_)) => {
                    return Err(ShcError::FhirImmunizationOccurrence(format!(
                        "{path} has both occurrenceDateTime and occurrenceString"
                    )));
                }
                _ => {}
            }
        }
        if r.contains_key("id") {
            warnings.push(Warning::new(
                "fhir_resource_id",
                format!("{path} should not include .id"),
            ));
        }
        match r.get("meta") {
            None => {}
            Some(Value::Object(m)) => {
                if let Some(security) = m.get("security") {
                    check_security(security, &path)?;
                }
                if !m.contains_key("security") || m.len() > 1 {
                    warnings.push(Warning::new(
                        "fhir_meta_not_security_only",
                        format!("{path}.meta should only include .security"),
                    ));
                }
            }
            Some(_) => warnings.push(Warning::new(
                "fhir_meta_not_security_only",
                format!("{path}.meta should only include .security"),
            )),
        }
        if r.contains_key("text") {
            warnings.push(Warning::new(
                "fhir_resource_text",
                format!("{path} should not include .text"),
            ));
        }
        let mut at = Path {
            root: &path,
            below: Vec::new(),
        };
        walk(resource, &mut at, &full_urls, qr, false, &mut warnings)?;
    }
    Ok(warnings)
}

/// The members a `Coding` may have (`meta.security`); the borrowed parse checks the same list.
pub(super) const CODING_KEYS: &[&str] = &[
    "id",
    "extension",
    "system",
    "version",
    "code",
    "display",
    "userSelected",
];

fn check_security(security: &Value, path: &str) -> Result<(), ShcError> {
    let bad = |why: &str| ShcError::FhirBadMetaSecurity(format!("{path}.meta.security {why}"));
    let Value::Array(items) = security else {
        return Err(bad("is not an array"));
    };
    for item in items {
        let Value::Object(c) = item else {
            return Err(bad("contains a non-Coding value"));
        };
        for (k, v) in c {
            if !CODING_KEYS.contains(&k.as_str()) {
                return Err(bad(&format!("Coding has the unknown member {k:?}")));
            }
            let ok = match k.as_str() {
                "userSelected" => v.is_boolean(),
                "extension" => v.is_array(),
                _ => v.is_string(),
            };
            if !ok {
                return Err(bad(&format!("Coding member {k:?} has the wrong type")));
            }
        }
    }
    Ok(())
}

/// Where [`walk`] is in a bundle: the resource's path and the keys and indexes below it, put
/// into words only when a finding names it (so that a valid card costs no strings).
struct Path<'a> {
    root: &'a str,
    below: Vec<Step<'a>>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.root)?;
        for step in &self.below {
            match step {
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn walk<'a>(
    value: &'a Value,
    path: &mut Path<'a>,
    full_urls: &[&str],
    qr: bool,
    in_coding_array: bool,
    warnings: &mut Vec<Warning>,
) -> Result<(), ShcError> {
    match value {
        Value::String(s) if s.is_empty() => Err(ShcError::FhirEmptyElement(format!(
            "{path} is an empty string"
        ))),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ShcError::FhirEmptyElement(format!(
                    "{path} is an empty array"
                )));
            }
            let coding = matches!(path.below.last(), Some(Step::Key("coding")));
            for (i, item) in items.iter().enumerate() {
                path.below.push(Step::Index(i));
                walk(item, path, full_urls, qr, coding, warnings)?;
                path.below.pop();
            }
            Ok(())
        }
        Value::Object(map) => {
            if map.is_empty() {
                return Err(ShcError::FhirEmptyElement(format!(
                    "{path} is an empty object"
                )));
            }
            if let Some(Value::String(reference)) = map.get("reference") {
                if !qr && !is_resource_uri(reference) {
                    warnings.push(Warning::new(
                        "fhir_reference_not_short",
                        format!(
                            "{path}.reference {reference:?} is not a short resource-scheme URI"
                        ),
                    ));
                } else if !is_resource_uri(reference) {
                    return Err(ShcError::FhirBadReference(format!(
                        "{path}.reference {reference:?} is not a short resource-scheme URI (resource:N)"
                    )));
                } else if !full_urls.contains(&reference.as_str()) {
                    return Err(ShcError::FhirBadReference(format!(
                        "{path}.reference {reference:?} names no entry of the bundle"
                    )));
                }
            }
            if map.get("coding").is_some_and(Value::is_array) && map.contains_key("text") {
                warnings.push(Warning::new(
                    "fhir_codeable_concept_text",
                    format!("{path} (CodeableConcept) should not include .text"),
                ));
            }
            if in_coding_array && map.contains_key("display") {
                warnings.push(Warning::new(
                    "fhir_coding_display",
                    format!("{path} (Coding) should not include .display"),
                ));
            }
            for (k, v) in map {
                path.below.push(Step::Key(k));
                walk(v, path, full_urls, qr, false, warnings)?;
                path.below.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies the specification's minification to a bundle in place: removes `Resource.id`,
/// `Resource.text`, every `meta` member but `security` (and `meta` itself if nothing remains),
/// `Coding.display`, and `CodeableConcept.text` where the concept has codings.
pub fn minify(bundle: &mut Value) {
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return;
    };
    for entry in entries {
        let Some(Value::Object(r)) = entry.get_mut("resource") else {
            continue;
        };
        r.remove("id");
        r.remove("text");
        let mut drop_meta = false;
        if let Some(Value::Object(m)) = r.get_mut("meta") {
            m.retain(|k, _| k == "security");
            drop_meta = m.is_empty();
        }
        if drop_meta {
            r.remove("meta");
        }
        for (_, v) in r.iter_mut() {
            minify_value(v, false);
        }
    }
}

fn minify_value(value: &mut Value, in_coding_array: bool) {
    match value {
        Value::Array(items) => {
            for item in items {
                minify_value(item, in_coding_array);
            }
        }
        Value::Object(map) => {
            if in_coding_array {
                map.remove("display");
            }
            if map
                .get("coding")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty())
            {
                map.remove("text");
            }
            for (k, v) in map.iter_mut() {
                minify_value(v, k == "coding");
            }
        }
        _ => {}
    }
}

/// [`check_bundle`] on JSON text: surrounding whitespace is `trailing_characters`, text that is
/// not JSON is `fhir_not_bundle`.
pub fn check_bundle_json(text: &str) -> Result<Vec<Warning>, ShcError> {
    super::check_len(text, super::MAX_PAYLOAD_LEN)?;
    if text.trim() != text || text.starts_with('\u{feff}') {
        return Err(ShcError::TrailingCharacters);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ShcError::FhirNotBundle(format!("not JSON: {e}")))?;
    check_bundle(&value)
}
