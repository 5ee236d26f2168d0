//! The console's record forms: what staff type (medicines, tests and values, ICD-10 codes, BDT
//! amounts, a visit's reason) turned into the FHIR R4 resources of an [`IssueRequest`], and a
//! plain summary of them for the preview. Every field is checked here with a field-specific
//! message before the peer's own FHIR checks run; nothing is stored on bad input.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog;
use crate::error::{PeerError, Result};
use crate::records::{IssueRequest, RecordKind, is_icd10, is_loinc};

const UCUM: &str = "http://unitsofmeasure.org";
const LOINC: &str = "http://loinc.org";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const SNOMED: &str = "http://snomed.info/sct";

/// Most lines (medicines, tests, diagnoses, payment items) in one form.
pub const MAX_LINES: usize = 20;
/// Largest payment slip total, in BDT.
pub const MAX_TOTAL_BDT: i64 = 10_000_000;

/// A record form as the page sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFormRequest {
    pub health_id: String,
    /// The authoring doctor's BMDC number (required for a prescription).
    #[serde(default)]
    pub doctor_bmdc: Option<String>,
    pub form: RecordForm,
    /// The language of the preview's summary: `en` (default) or `bn`.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The five forms.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecordForm {
    Prescription {
        medications: Vec<MedicationLine>,
    },
    LabReport {
        tests: Vec<TestLine>,
        #[serde(default)]
        conclusion: Option<String>,
    },
    Diagnosis {
        conditions: Vec<ConditionLine>,
    },
    Payment {
        items: Vec<PaymentItem>,
        method: PaymentMethod,
    },
    Encounter {
        class: EncounterClass,
        department: String,
        reason: String,
        #[serde(default)]
        note: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicationLine {
    pub medicine: String,
    /// What one dose is (`1 tablet`, `5 mL`).
    pub dose: String,
    pub frequency: Frequency,
    pub days: u32,
    #[serde(default)]
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    OnceDaily,
    TwiceDaily,
    ThriceDaily,
    FourTimesDaily,
    AtNight,
    AsNeeded,
}

impl Frequency {
    fn per_day(self) -> Option<u32> {
        match self {
            Frequency::OnceDaily | Frequency::AtNight => Some(1),
            Frequency::TwiceDaily => Some(2),
            Frequency::ThriceDaily => Some(3),
            Frequency::FourTimesDaily => Some(4),
            Frequency::AsNeeded => None,
        }
    }
    fn words(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Frequency::OnceDaily, Lang::En) => "once a day",
            (Frequency::TwiceDaily, Lang::En) => "twice a day",
            (Frequency::ThriceDaily, Lang::En) => "three times a day",
            (Frequency::FourTimesDaily, Lang::En) => "four times a day",
            (Frequency::AtNight, Lang::En) => "at night",
            (Frequency::AsNeeded, Lang::En) => "when needed",
            (Frequency::OnceDaily, Lang::Bn) => "দিনে একবার",
            (Frequency::TwiceDaily, Lang::Bn) => "দিনে দুইবার",
            (Frequency::ThriceDaily, Lang::Bn) => "দিনে তিনবার",
            (Frequency::FourTimesDaily, Lang::Bn) => "দিনে চারবার",
            (Frequency::AtNight, Lang::Bn) => "রাতে",
            (Frequency::AsNeeded, Lang::Bn) => "প্রয়োজনে",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestLine {
    pub loinc: String,
    /// Required when the code is not in the catalog.
    #[serde(default)]
    pub name: Option<String>,
    /// A number, or `positive` / `negative` for a qualitative test.
    pub value: String,
    /// UCUM code (defaults to the catalog's).
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub low: Option<String>,
    #[serde(default)]
    pub high: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionLine {
    pub code: String,
    /// Required when the code is not in the catalog.
    #[serde(default)]
    pub name: Option<String>,
    pub status: ConditionStatus,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConditionStatus {
    Confirmed,
    Provisional,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentItem {
    pub description: String,
    /// Taka, with at most two decimals (`1250`, `99.50`).
    pub amount: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    MobileBanking,
    Unpaid,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EncounterClass {
    Outpatient,
    Inpatient,
    Emergency,
}

/// The preview's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Bn,
}

impl Lang {
    pub fn parse(v: Option<&str>) -> Result<Lang> {
        match v.unwrap_or("en") {
            "en" => Ok(Lang::En),
            "bn" => Ok(Lang::Bn),
            _ => Err(PeerError::field("lang", "must be en or bn")),
        }
    }
}

/// One line of a preview: what, the details, and a flag (`high`, `low`, `normal`,
/// `positive`, `negative`) where there is one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryLine {
    pub item: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<&'static str>,
}

/// A form turned into an issue request and its summary.
#[derive(Debug, Clone)]
pub struct BuiltForm {
    pub request: IssueRequest,
    pub summary: Vec<SummaryLine>,
}

/// Field names carry the line (`medications[2].days`); the closed set of names keeps
/// [`PeerError::InvalidField`]'s `&'static str`.
fn field(prefix: &'static str, i: usize, name: &str, reason: impl Into<String>) -> PeerError {
    PeerError::InvalidFormField {
        field: format!("{prefix}[{i}].{name}"),
        reason: reason.into(),
    }
}

/// Trimmed printable text of 1..=max characters (`None` when optional and blank).
fn text(v: &str, max: usize) -> std::result::Result<String, String> {
    let t = v.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if t.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_owned())
}

fn optional_text(v: Option<&str>, max: usize) -> std::result::Result<Option<String>, String> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(t, max).map(Some),
    }
}

/// A decimal number typed by staff: digits, one optional point, optional leading minus.
fn number(v: &str) -> std::result::Result<f64, String> {
    let t = v.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let ok = !body.is_empty()
        && body.len() <= 12
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|b| *b == b'.').count() <= 1
        && !body.starts_with('.')
        && !body.ends_with('.');
    if !ok {
        return Err("must be a number such as 12.5".into());
    }
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| "must be a number such as 12.5".into())
}

/// Taka with at most two decimals, as paisa.
pub fn paisa(v: &str) -> std::result::Result<i64, String> {
    let t = v.trim().replace(',', "");
    let msg = || "must be an amount in taka such as 1250 or 99.50".to_owned();
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (t.contains('.') && frac.is_empty())
    {
        return Err(msg());
    }
    let w: i64 = whole.parse().map_err(|_| msg())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| msg())?
    };
    let p = w * 100 + f;
    if p <= 0 {
        return Err("must be more than zero".into());
    }
    Ok(p)
}

fn taka(paisa: i64) -> String {
    format!("৳{}.{:02}", paisa / 100, paisa % 100)
}

fn paisa_value(paisa: i64) -> Value {
    // Exact in f64 for every amount up to MAX_TOTAL_BDT.
    json!((paisa as f64) / 100.0)
}

fn lines<T>(prefix: &'static str, v: &[T]) -> Result<()> {
    if v.is_empty() || v.len() > MAX_LINES {
        return Err(PeerError::InvalidFormField {
            field: prefix.to_owned(),
            reason: format!("must hold 1–{MAX_LINES} lines"),
        });
    }
    Ok(())
}

/// The LOINC mod-10 check digit: the digits in odd positions from the right, read left to
/// right as a number and doubled, with the even-position digits written before it; the check
/// digit brings the sum of all those digits to a multiple of 10.
pub fn loinc_check_digit_ok(code: &str) -> bool {
    let Some((num, check)) = code.split_once('-') else {
        return false;
    };
    let digits: Vec<u32> = num.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some(check) = check.chars().next().and_then(|c| c.to_digit(10)) else {
        return false;
    };
    let n = digits.len();
    let odd: String = (0..n)
        .filter(|i| (n - i) % 2 == 1)
        .filter_map(|i| char::from_digit(digits[i], 10))
        .collect();
    let even: String = (0..n)
        .filter(|i| (n - i).is_multiple_of(2))
        .filter_map(|i| char::from_digit(digits[i], 10))
        .collect();
    let Ok(odd) = odd.parse::<u64>() else {
        return false;
    };
    let sum: u32 = format!("{even}{}", odd * 2)
        .chars()
        .filter_map(|c| c.to_digit(10))
        .sum();
    (10 - sum % 10) % 10 == check
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

impl RecordFormRequest {
    /// Checks every field and builds the issue request and its summary.
    pub fn build(&self) -> Result<BuiltForm> {
        let lang = Lang::parse(self.lang.as_deref())?;
        let doctor_bmdc = match self.doctor_bmdc.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b) => Some(b.to_owned()),
        };
        let (kind, resources, summary) = match &self.form {
            RecordForm::Prescription { medications } => {
                if doctor_bmdc.is_none() {
                    return Err(PeerError::InvalidFormField {
                        field: "doctor_bmdc".into(),
                        reason: "a prescription needs its registered doctor".into(),
                    });
                }
                prescription(medications, lang)?
            }
            RecordForm::LabReport { tests, conclusion } => {
                lab_report(tests, conclusion.as_deref(), lang)?
            }
            RecordForm::Diagnosis { conditions } => diagnosis(conditions, lang)?,
            RecordForm::Payment { items, method } => payment(items, *method, lang)?,
            RecordForm::Encounter {
                class,
                department,
                reason,
                note,
            } => encounter(*class, department, reason, note.as_deref(), lang)?,
        };
        Ok(BuiltForm {
            request: IssueRequest {
                health_id: self.health_id.trim().to_owned(),
                kind,
                doctor_bmdc,
                supersedes: None,
                resources,
            },
            summary,
        })
    }
}

type Built = (RecordKind, Vec<Value>, Vec<SummaryLine>);

fn prescription(meds: &[MedicationLine], lang: Lang) -> Result<Built> {
    lines("medications", meds)?;
    let mut out = Vec::new();
    let mut summary = Vec::new();
    for (i, m) in meds.iter().enumerate() {
        let p = "medications";
        let medicine = text(&m.medicine, 120).map_err(|e| field(p, i, "medicine", e))?;
        let dose = text(&m.dose, 40).map_err(|e| field(p, i, "dose", e))?;
        if !(1..=365).contains(&m.days) {
            return Err(field(p, i, "days", "must be 1–365"));
        }
        let instructions = optional_text(m.instructions.as_deref(), 200)
            .map_err(|e| field(p, i, "instructions", e))?;
        let en = format!(
            "{dose}, {}, for {} day{}{}",
            m.frequency.words(Lang::En),
            m.days,
            if m.days == 1 { "" } else { "s" },
            instructions
                .as_deref()
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        );
        let detail = match lang {
            Lang::En => en.clone(),
            Lang::Bn => format!(
                "{dose}, {}, {} দিন{}",
                m.frequency.words(Lang::Bn),
                m.days,
                instructions
                    .as_deref()
                    .map(|s| format!("; {s}"))
                    .unwrap_or_default()
            ),
        };
        let mut repeat = json!({
            "boundsDuration": {"value": m.days, "unit": "days", "system": UCUM, "code": "d"},
        });
        if let Some(n) = m.frequency.per_day() {
            repeat["frequency"] = json!(n);
            repeat["period"] = json!(1);
            repeat["periodUnit"] = json!("d");
        }
        if m.frequency == Frequency::AtNight {
            repeat["when"] = json!(["NIGHT"]);
        }
        let mut dosage = json!({"text": en, "timing": {"repeat": repeat}});
        if m.frequency == Frequency::AsNeeded {
            dosage["asNeededBoolean"] = json!(true);
        }
        out.push(json!({
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "authoredOn": today(),
            "medicationCodeableConcept": {"text": medicine},
            "dosageInstruction": [dosage],
        }));
        summary.push(SummaryLine {
            item: medicine,
            detail,
            flag: None,
        });
    }
    Ok((RecordKind::Prescription, out, summary))
}

fn lab_report(tests: &[TestLine], conclusion: Option<&str>, lang: Lang) -> Result<Built> {
    lines("tests", tests)?;
    let conclusion = optional_text(conclusion, 500).map_err(|e| PeerError::InvalidFormField {
        field: "conclusion".into(),
        reason: e,
    })?;
    let p = "tests";
    let mut obs = Vec::new();
    let mut summary = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let loinc = t.loinc.trim();
        if !is_loinc(loinc) {
            return Err(field(p, i, "loinc", "must be a LOINC code such as 718-7"));
        }
        if !loinc_check_digit_ok(loinc) {
            return Err(field(
                p,
                i,
                "loinc",
                "is not a LOINC code: its check digit does not match (a typing error?)",
            ));
        }
        let known = catalog::lab_test(loinc);
        let name = match (optional_text(t.name.as_deref(), 120), known) {
            (Err(e), _) => return Err(field(p, i, "name", e)),
            (Ok(Some(n)), _) => n,
            (Ok(None), Some(k)) => k.name.to_owned(),
            (Ok(None), None) => {
                return Err(field(
                    p,
                    i,
                    "name",
                    "is required for a test not in the list",
                ));
            }
        };
        let value = t.value.trim().to_ascii_lowercase();
        let qualitative = known.is_some_and(|k| k.unit.is_none())
            || matches!(value.as_str(), "positive" | "negative");
        let code =
            json!({"coding": [{"system": LOINC, "code": loinc, "display": name}], "text": name});
        if qualitative {
            let (snomed, flag, words) = match value.as_str() {
                "positive" => ("10828004", "positive", ("Positive", "পজিটিভ")),
                "negative" => ("260385009", "negative", ("Negative", "নেগেটিভ")),
                _ => {
                    return Err(field(
                        p,
                        i,
                        "value",
                        "must be positive or negative for this test",
                    ));
                }
            };
            let interp = if flag == "positive" {
                ("POS", "Positive")
            } else {
                ("NEG", "Negative")
            };
            obs.push(json!({
                "resourceType": "Observation",
                "status": "final",
                "code": code,
                "effectiveDateTime": today(),
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed, "display": words.0}], "text": words.0},
                "interpretation": [{"coding": [{"system": INTERPRETATION, "code": interp.0, "display": interp.1}]}],
            }));
            summary.push(SummaryLine {
                item: format!("{name} ({loinc})"),
                detail: match lang {
                    Lang::En => words.0.to_owned(),
                    Lang::Bn => words.1.to_owned(),
                },
                flag: Some(flag),
            });
            continue;
        }
        let x = number(&t.value).map_err(|e| field(p, i, "value", e))?;
        let unit_code = match t.unit.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u.to_owned(),
            _ => match known.and_then(|k| k.unit) {
                Some(u) => u.to_owned(),
                None => {
                    return Err(field(
                        p,
                        i,
                        "unit",
                        "is required for a test not in the list",
                    ));
                }
            },
        };
        let Some(unit) = catalog::unit(&unit_code) else {
            return Err(field(p, i, "unit", "must be one of the listed UCUM units"));
        };
        let range = |v: &Option<String>, name: &str, dflt: Option<f64>| -> Result<Option<f64>> {
            match v.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => number(s).map(Some).map_err(|e| field(p, i, name, e)),
                _ if t
                    .unit
                    .as_deref()
                    .is_some_and(|u| Some(u) != known.and_then(|k| k.unit)) =>
                {
                    Ok(None)
                }
                _ => Ok(dflt),
            }
        };
        let low = range(&t.low, "low", known.and_then(|k| k.low))?;
        let high = range(&t.high, "high", known.and_then(|k| k.high))?;
        if let (Some(l), Some(h)) = (low, high)
            && l > h
        {
            return Err(field(
                p,
                i,
                "high",
                "must not be below the low end of the range",
            ));
        }
        let qty =
            |v: f64| json!({"value": v, "unit": unit.symbol, "system": UCUM, "code": unit.code});
        let flag = match (low, high) {
            (Some(l), _) if x < l => "low",
            (_, Some(h)) if x > h => "high",
            (None, None) => "",
            _ => "normal",
        };
        let mut o = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": code,
            "effectiveDateTime": today(),
            "valueQuantity": qty(x),
        });
        if low.is_some() || high.is_some() {
            let mut rr = json!({});
            if let Some(l) = low {
                rr["low"] = qty(l);
            }
            if let Some(h) = high {
                rr["high"] = qty(h);
            }
            o["referenceRange"] = json!([rr]);
        }
        if !flag.is_empty() {
            let (c, d) = match flag {
                "low" => ("L", "Low"),
                "high" => ("H", "High"),
                _ => ("N", "Normal"),
            };
            o["interpretation"] =
                json!([{"coding": [{"system": INTERPRETATION, "code": c, "display": d}]}]);
        }
        obs.push(o);
        let words = match lang {
            Lang::En => unit.en,
            Lang::Bn => unit.bn,
        };
        let range_words = match (low, high) {
            (Some(l), Some(h)) => format!(
                "; {} {}–{}",
                if lang == Lang::En {
                    "range"
                } else {
                    "সীমা"
                },
                fmt_num(l),
                fmt_num(h)
            ),
            (Some(l), None) => format!("; ≥ {}", fmt_num(l)),
            (None, Some(h)) => format!("; ≤ {}", fmt_num(h)),
            (None, None) => String::new(),
        };
        summary.push(SummaryLine {
            item: format!("{name} ({loinc})"),
            detail: format!("{} {} ({words}){range_words}", fmt_num(x), unit.symbol),
            flag: (!flag.is_empty()).then_some(match flag {
                "low" => "low",
                "high" => "high",
                _ => "normal",
            }),
        });
    }
    let mut report = json!({
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "11502-2", "display": "Laboratory report"}], "text": "Laboratory report"},
        "effectiveDateTime": today(),
    });
    if let Some(c) = &conclusion {
        report["conclusion"] = json!(c);
        summary.push(SummaryLine {
            item: match lang {
                Lang::En => "Conclusion".into(),
                Lang::Bn => "উপসংহার".into(),
            },
            detail: c.clone(),
            flag: None,
        });
    }
    let mut resources = vec![report];
    resources.extend(obs);
    Ok((RecordKind::LabReport, resources, summary))
}

fn diagnosis(conditions: &[ConditionLine], lang: Lang) -> Result<Built> {
    lines("conditions", conditions)?;
    let p = "conditions";
    let mut out = Vec::new();
    let mut summary = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        let code = c.code.trim().to_ascii_uppercase();
        if !is_icd10(&code) {
            return Err(field(
                p,
                i,
                "code",
                "must be an ICD-10 code such as A90 or E11.9",
            ));
        }
        let known = catalog::DIAGNOSES.iter().find(|d| d.code == code);
        let name = match (optional_text(c.name.as_deref(), 160), known) {
            (Err(e), _) => return Err(field(p, i, "name", e)),
            (Ok(Some(n)), _) => n,
            (Ok(None), Some(k)) => k.name.to_owned(),
            (Ok(None), None) => {
                return Err(field(
                    p,
                    i,
                    "name",
                    "is required for a code not in the list",
                ));
            }
        };
        let note = optional_text(c.note.as_deref(), 500).map_err(|e| field(p, i, "note", e))?;
        let (ver, ver_en, ver_bn) = match c.status {
            ConditionStatus::Confirmed => ("confirmed", "confirmed", "নিশ্চিত"),
            ConditionStatus::Provisional => ("provisional", "provisional", "প্রাথমিক"),
        };
        let mut r = json!({
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": ver}]},
            "code": {"coding": [{"system": ICD10, "code": code, "display": name}], "text": name},
            "recordedDate": today(),
        });
        if let Some(n) = &note {
            r["note"] = json!([{"text": n}]);
        }
        out.push(r);
        let status = if lang == Lang::En { ver_en } else { ver_bn };
        summary.push(SummaryLine {
            item: format!("{name} ({code})"),
            detail: match &note {
                Some(n) => format!("{status}; {n}"),
                None => status.to_owned(),
            },
            flag: None,
        });
    }
    Ok((RecordKind::Diagnosis, out, summary))
}

fn payment(items: &[PaymentItem], method: PaymentMethod, lang: Lang) -> Result<Built> {
    lines("items", items)?;
    let p = "items";
    let mut total: i64 = 0;
    let mut line_items = Vec::new();
    let mut summary = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let description = text(&it.description, 120).map_err(|e| field(p, i, "description", e))?;
        let amount = paisa(&it.amount).map_err(|e| field(p, i, "amount", e))?;
        total = total.saturating_add(amount);
        if total > MAX_TOTAL_BDT * 100 {
            return Err(field(
                p,
                i,
                "amount",
                format!("the total must be at most ৳{MAX_TOTAL_BDT}"),
            ));
        }
        line_items.push(json!({
            "sequence": i + 1,
            "chargeItemCodeableConcept": {"text": description},
            "priceComponent": [{"type": "base", "amount": {"value": paisa_value(amount), "currency": "BDT"}}],
        }));
        summary.push(SummaryLine {
            item: description,
            detail: taka(amount),
            flag: None,
        });
    }
    let (status, terms_en, terms_bn) = match method {
        PaymentMethod::Cash => ("balanced", "Paid in cash", "নগদে পরিশোধিত"),
        PaymentMethod::Card => ("balanced", "Paid by card", "কার্ডে পরিশোধিত"),
        PaymentMethod::MobileBanking => (
            "balanced",
            "Paid by mobile banking",
            "মোবাইল ব্যাংকিংয়ে পরিশোধিত",
        ),
        PaymentMethod::Unpaid => ("issued", "Not yet paid", "এখনও পরিশোধ হয়নি"),
    };
    let invoice = json!({
        "resourceType": "Invoice",
        "status": status,
        "date": today(),
        "lineItem": line_items,
        "totalNet": {"value": paisa_value(total), "currency": "BDT"},
        "totalGross": {"value": paisa_value(total), "currency": "BDT"},
        "paymentTerms": terms_en,
    });
    summary.push(SummaryLine {
        item: match lang {
            Lang::En => "Total".into(),
            Lang::Bn => "মোট".into(),
        },
        detail: format!(
            "{} — {}",
            taka(total),
            if lang == Lang::En { terms_en } else { terms_bn }
        ),
        flag: None,
    });
    Ok((RecordKind::Payment, vec![invoice], summary))
}

fn encounter(
    class: EncounterClass,
    department: &str,
    reason: &str,
    note: Option<&str>,
    lang: Lang,
) -> Result<Built> {
    let f = |name: &str, e: String| PeerError::InvalidFormField {
        field: name.to_owned(),
        reason: e,
    };
    let department = text(department, 100).map_err(|e| f("department", e))?;
    let reason = text(reason, 200).map_err(|e| f("reason", e))?;
    let note = optional_text(note, 2000).map_err(|e| f("note", e))?;
    let (code, display, bn) = match class {
        EncounterClass::Outpatient => ("AMB", "ambulatory", "বহির্বিভাগ"),
        EncounterClass::Inpatient => ("IMP", "inpatient encounter", "অন্তর্বিভাগ"),
        EncounterClass::Emergency => ("EMER", "emergency", "জরুরি বিভাগ"),
    };
    let mut r = json!({
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": ACT_CODE, "code": code, "display": display},
        "serviceType": {"text": department},
        "reasonCode": [{"text": reason}],
        "period": {"start": today()},
    });
    let mut summary = vec![SummaryLine {
        item: department,
        detail: format!("{}; {reason}", if lang == Lang::En { display } else { bn }),
        flag: None,
    }];
    if let Some(n) = note {
        // FHIR R4 Encounter has no note element: the note travels as an extension.
        r["extension"] = json!([{"url": NOTE_EXTENSION, "valueString": n}]);
        summary.push(SummaryLine {
            item: match lang {
                Lang::En => "Note".into(),
                Lang::Bn => "নোট".into(),
            },
            detail: n,
            flag: None,
        });
    }
    Ok((RecordKind::Encounter, vec![r], summary))
}

/// The extension that carries an encounter's free-text note.
pub const NOTE_EXTENSION: &str = "https://spondon.example/fhir/StructureDefinition/encounter-note";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taka_amounts() {
        assert_eq!(paisa("1250"), Ok(125_000));
        assert_eq!(paisa("99.5"), Ok(9_950));
        assert_eq!(paisa("1,200.05"), Ok(120_005));
        for bad in ["", "0", "-5", "1.234", "12.", "abc", "1e3", "9999999999"] {
            assert!(paisa(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loinc_check_digits() {
        for ok in [
            "718-7", "777-3", "2160-0", "4548-4", "94500-6", "2276-4", "75377-2", "11502-2",
        ] {
            assert!(loinc_check_digit_ok(ok), "{ok}");
        }
        for bad in ["718-8", "75377-4", "12345-6", "99999-9"] {
            assert!(!loinc_check_digit_ok(bad), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number("12.5"), Ok(12.5));
        assert_eq!(number("-3"), Ok(-3.0));
        for bad in ["", "1e5", "NaN", "inf", ".5", "5.", "1.2.3", "1 2"] {
            assert!(number(bad).is_err(), "{bad}");
        }
    }
}
