//! FHIR resources in words, for the PDF and the summary's narrative: drug, dose, frequency; test,
//! value, unit, reference range, abnormal flag; diagnosis code and text; vaccine.

use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::shc::{codes, units};

/// One resource described for people.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    /// What kind of thing this is ("Medication", "Result", …).
    pub label: &'static str,
    /// The main line.
    pub text: String,
    /// Secondary lines (dose, reference range, dates …).
    pub details: Vec<String>,
    /// "High", "Low", "Abnormal" … for results outside their range.
    pub flag: Option<String>,
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
}

/// The text of a CodeableConcept: its `text`, else a coding's display, else the name of a known
/// code, else "<system> <code>".
pub(crate) fn concept(v: &Value) -> Option<String> {
    if let Some(t) = s(v, "text") {
        return Some(t.to_owned());
    }
    let codings = v.get("coding")?.as_array()?;
    if let Some(d) = codings.iter().find_map(|c| s(c, "display")) {
        return Some(d.to_owned());
    }
    for c in codings {
        let (Some(system), Some(code)) = (s(c, "system"), s(c, "code")) else {
            continue;
        };
        if let Some(known) = codes::lookup(Some(system), code) {
            return Some(known.name.to_owned());
        }
    }
    codings.iter().find_map(|c| {
        let code = s(c, "code")?;
        let label = codes::system_label(s(c, "system").unwrap_or(""));
        Some(if label.is_empty() {
            code.to_owned()
        } else {
            format!("{label} {code}")
        })
    })
}

/// The first code of a CodeableConcept whose system contains `system_part`.
fn code_in(v: &Value, system_part: &str) -> Option<String> {
    v.get("coding")?
        .as_array()?
        .iter()
        .find(|c| s(c, "system").is_some_and(|sys| sys.contains(system_part)))
        .and_then(|c| s(c, "code"))
        .map(str::to_owned)
}

fn number(v: &Value) -> Option<String> {
    let n = v.get("value")?;
    n.as_number().map(ToString::to_string)
}

/// A quantity's unit as printed: the UCUM code's symbol (`10*3/uL` → `×10³/µL`), else the unit
/// as written.
fn unit_symbol(q: &Value) -> Option<String> {
    let known = [s(q, "code"), s(q, "unit")]
        .into_iter()
        .flatten()
        .find_map(units::lookup);
    match known {
        Some(u) => Some(u.symbol.to_owned()),
        None => s(q, "unit").or_else(|| s(q, "code")).map(str::to_owned),
    }
}

/// "85.2 ×10³/µL"
pub(crate) fn quantity(v: &Value) -> Option<String> {
    let value = number(v)?;
    let comparator = s(v, "comparator").unwrap_or("");
    match unit_symbol(v) {
        Some(unit) => Some(format!("{comparator}{value} {unit}")),
        None => Some(format!("{comparator}{value}")),
    }
}

fn range(r: &Value) -> Option<String> {
    let low = r.get("low").and_then(number);
    let high = r.get("high").and_then(number);
    let unit = r.get("low").or_else(|| r.get("high")).and_then(unit_symbol);
    let text = match (low, high) {
        (Some(l), Some(h)) => format!("{l} - {h}"),
        (Some(l), None) => format!(">= {l}"),
        (None, Some(h)) => format!("<= {h}"),
        (None, None) => return s(r, "text").map(str::to_owned),
    };
    Some(match unit {
        Some(u) => format!("{text} {u}"),
        None => text,
    })
}

/// The abnormal flag: the observation's own interpretation, else computed from its range.
fn flag(obs: &Value) -> Option<String> {
    if let Some(interp) = obs
        .get("interpretation")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let code = code_in(interp, "ObservationInterpretation");
        let word = match code.as_deref() {
            Some("N") => return None,
            Some("H") => "High".to_owned(),
            Some("HH") => "Critically high".to_owned(),
            Some("L") => "Low".to_owned(),
            Some("LL") => "Critically low".to_owned(),
            Some("A") | Some("AA") => "Abnormal".to_owned(),
            Some("POS") => "Positive".to_owned(),
            _ => concept(interp)?,
        };
        return Some(word);
    }
    let value = obs.get("valueQuantity")?.get("value")?.as_f64()?;
    let r = obs.get("referenceRange")?.as_array()?.first()?;
    let low = r
        .get("low")
        .and_then(|q| q.get("value"))
        .and_then(Value::as_f64);
    let high = r
        .get("high")
        .and_then(|q| q.get("value"))
        .and_then(Value::as_f64);
    if low.is_some_and(|l| value < l) {
        Some("Low".to_owned())
    } else if high.is_some_and(|h| value > h) {
        Some("High".to_owned())
    } else {
        None
    }
}

fn first_date(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| s(v, k))
        .map(|d| d.get(..10).unwrap_or(d).to_owned())
}

/// A person's name: `text`, else given + family.
pub(crate) fn human_name(resource: &Value) -> Option<String> {
    let name = resource.get("name")?.as_array()?.first()?;
    if let Some(t) = s(name, "text") {
        return Some(t.to_owned());
    }
    let mut words: Vec<&str> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(f) = s(name, "family") {
        words.push(f);
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// "Dr. Abul Kalam Azad (BMDC A-31245)"
pub(crate) fn practitioner(resource: &Value) -> Option<String> {
    let name = human_name(resource)?;
    let id = resource
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(|i| {
            let value = s(i, "value")?;
            let system = s(i, "system").unwrap_or("");
            Some(if system.contains("bmdc") {
                format!("BMDC {value}")
            } else {
                value.to_owned()
            })
        });
    Some(match id {
        Some(id) => format!("{name} ({id})"),
        None => name,
    })
}

/// Patient details as label/value pairs.
pub(crate) fn patient(resource: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(n) = human_name(resource) {
        out.push(("Name", n));
    }
    if let Some(d) = s(resource, "birthDate") {
        out.push(("Date of birth", d.to_owned()));
    }
    if let Some(g) = s(resource, "gender") {
        let mut g = g.to_owned();
        if let Some(first) = g.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        out.push(("Sex", g));
    }
    for id in resource
        .get("identifier")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .take(4)
    {
        if let Some(v) = s(id, "value") {
            let system = s(id, "system").unwrap_or("");
            let label = if system.ends_with("/health-id") {
                "Health ID"
            } else {
                "Identifier"
            };
            out.push((label, v.to_owned()));
        }
    }
    out
}

/// Describes one clinical resource; `None` for resources that are not shown on their own
/// (Patient, Practitioner, Organization).
pub(crate) fn describe(r: &Value) -> Option<Item> {
    let kind = s(r, "resourceType")?;
    let mut details = Vec::new();
    let item = match kind {
        "MedicationRequest" | "MedicationStatement" => {
            let drug = r
                .get("medicationCodeableConcept")
                .and_then(concept)
                .unwrap_or_else(|| "Medication".to_owned());
            for d in r
                .get("dosageInstruction")
                .or_else(|| r.get("dosage"))
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(t) = s(d, "text") {
                    details.push(t.to_owned());
                }
            }
            if let Some(date) = first_date(r, &["authoredOn", "effectiveDateTime"]) {
                details.push(format!("prescribed {date}"));
            }
            Item {
                label: "Medication",
                text: drug,
                details,
                flag: None,
            }
        }
        "Observation" => {
            let test = r
                .get("code")
                .and_then(concept)
                .unwrap_or_else(|| "Observation".to_owned());
            let value = r
                .get("valueQuantity")
                .and_then(quantity)
                .or_else(|| r.get("valueCodeableConcept").and_then(concept))
                .or_else(|| s(r, "valueString").map(str::to_owned));
            let text = match value {
                Some(v) => format!("{test}: {v}"),
                None => test,
            };
            if let Some(rr) = r
                .get("referenceRange")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(range)
            {
                details.push(format!("reference range {rr}"));
            }
            if let Some(q) = r.get("valueQuantity")
                && let Some(u) = [s(q, "code"), s(q, "unit")]
                    .into_iter()
                    .flatten()
                    .find_map(units::lookup)
                && u.en != u.symbol
            {
                details.push(format!("{}: {}", u.symbol, u.en));
            }
            if let Some(code) = r.get("code").and_then(|c| code_in(c, "loinc"))
                && !text.contains(&code)
            {
                details.push(format!("LOINC {code}"));
            }
            Item {
                label: "Result",
                text,
                details,
                flag: flag(r),
            }
        }
        "DiagnosticReport" => {
            let name = r
                .get("code")
                .and_then(concept)
                .unwrap_or_else(|| "Report".to_owned());
            if let Some(date) = first_date(r, &["effectiveDateTime", "issued"]) {
                details.push(format!("collected {date}"));
            }
            if let Some(c) = s(r, "conclusion") {
                details.push(c.to_owned());
            }
            Item {
                label: "Report",
                text: name,
                details,
                flag: None,
            }
        }
        "Condition" => {
            let code = r.get("code");
            let text = code
                .and_then(concept)
                .unwrap_or_else(|| "Condition".to_owned());
            let icd = code.and_then(|c| code_in(c, "icd-10"));
            let text = match icd {
                Some(icd) if !text.contains(&icd) => format!("{text} (ICD-10 {icd})"),
                _ => text,
            };
            if let Some(st) = r.get("clinicalStatus").and_then(concept) {
                details.push(format!("status {st}"));
            }
            if let Some(date) = first_date(r, &["onsetDateTime", "recordedDate"]) {
                details.push(format!("since {date}"));
            }
            Item {
                label: "Diagnosis",
                text,
                details,
                flag: None,
            }
        }
        "Immunization" => {
            let vaccine = r
                .get("vaccineCode")
                .and_then(concept)
                .unwrap_or_else(|| "Vaccine".to_owned());
            if let Some(date) = first_date(r, &["occurrenceDateTime"]) {
                details.push(format!("given {date}"));
            }
            if let Some(lot) = s(r, "lotNumber") {
                details.push(format!("lot {lot}"));
            }
            Item {
                label: "Immunization",
                text: vaccine,
                details,
                flag: None,
            }
        }
        "AllergyIntolerance" => {
            let what = r
                .get("code")
                .and_then(concept)
                .unwrap_or_else(|| "Allergy".to_owned());
            if let Some(c) = s(r, "criticality") {
                details.push(format!("criticality {c}"));
            }
            for reaction in r
                .get("reaction")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let m: Vec<String> = reaction
                    .get("manifestation")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(concept).collect())
                    .unwrap_or_default();
                if !m.is_empty() {
                    details.push(format!("reaction {}", m.join(", ")));
                }
            }
            Item {
                label: "Allergy",
                text: what,
                details,
                flag: None,
            }
        }
        "Encounter" => {
            let class = r
                .get("class")
                .and_then(|c| s(c, "display").or_else(|| s(c, "code")))
                .unwrap_or("visit");
            let reason = r
                .get("reasonCode")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(concept);
            if let Some(date) = r.get("period").and_then(|p| first_date(p, &["start"])) {
                details.push(format!("on {date}"));
            }
            Item {
                label: "Encounter",
                text: match reason {
                    Some(reason) => format!("{class}: {reason}"),
                    None => class.to_owned(),
                },
                details,
                flag: None,
            }
        }
        "Invoice" => {
            let total = r
                .get("totalGross")
                .and_then(|m| {
                    let v = m.get("value")?.as_number()?.to_string();
                    Some(format!("{v} {}", s(m, "currency").unwrap_or("")))
                })
                .unwrap_or_else(|| "amount not stated".to_owned());
            Item {
                label: "Payment",
                text: format!("Invoice total {}", total.trim_end()),
                details,
                flag: None,
            }
        }
        "DocumentReference" => {
            let what = r
                .get("type")
                .and_then(concept)
                .unwrap_or_else(|| "Document".to_owned());
            if let Some(d) = s(r, "description") {
                details.push(d.to_owned());
            }
            // The file as the card names it (§18.1); whether it is attached is the PDF's to say.
            match crate::files::CardFile::of_document_reference(r) {
                Ok(f) => details.push(format!(
                    "File {}: {}, {}",
                    f.attachment_name(),
                    crate::files::type_words(f.kind),
                    size_words(f.size)
                )),
                Err(_) => details.push("The document's file is not described correctly".into()),
            }
            Item {
                label: "Document",
                text: what,
                details,
                flag: None,
            }
        }
        "Patient" | "Practitioner" | "Organization" | "PractitionerRole" => return None,
        other => Item {
            label: "Other",
            text: other.to_owned(),
            details,
            flag: None,
        },
    };
    Some(item)
}

/// "182,734 bytes (178 KiB)"
pub(crate) fn size_words(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if n < 1024 {
        format!("{grouped} bytes")
    } else if n < 1024 * 1024 {
        format!("{grouped} bytes ({} KiB)", n.div_ceil(1024))
    } else {
        format!("{grouped} bytes ({:.1} MiB)", n as f64 / 1_048_576.0)
    }
}

/// "22 Nov 2026"
pub(crate) fn date(t: NumericDate) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match time::OffsetDateTime::from_unix_timestamp(t.seconds()) {
        Ok(d) => format!(
            "{} {} {}",
            d.day(),
            MONTHS[usize::from(u8::from(d.month())) - 1],
            d.year()
        ),
        Err(_) => t.to_string(),
    }
}

/// "2026-11-22T06:40:00Z"
pub(crate) fn rfc3339(t: NumericDate) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.seconds())
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_get_ranges_and_flags() {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
            "valueQuantity": {"value": 85.2, "unit": "10*3/uL"},
            "referenceRange": [{"low": {"value": 150, "unit": "10*3/uL"}, "high": {"value": 450, "unit": "10*3/uL"}}]});
        let item = describe(&obs).unwrap();
        assert_eq!(item.text, "Platelets: 85.2 ×10³/µL");
        assert_eq!(item.details[0], "reference range 150 - 450 ×10³/µL");
        assert_eq!(item.details[1], "×10³/µL: thousand per microlitre");
        assert_eq!(item.flag.as_deref(), Some("Low"));
        let cond = json!({"resourceType": "Condition",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A97.0", "display": "Dengue without warning signs"}]}});
        assert_eq!(
            describe(&cond).unwrap().text,
            "Dengue without warning signs (ICD-10 A97.0)"
        );
        assert_eq!(date(NumericDate(1_763_794_800)), "22 Nov 2025");
    }
}
