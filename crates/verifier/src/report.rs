//! The verdict `check` prints: one JSON object (`--json`) or a short text for people.

use std::fmt::Write as _;

use serde::Serialize;

/// One reason a credential was judged invalid.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Stable snake_case code from the library that rejected the input.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// The verdict on one document file checked against its card (`docs/protocol.md` §18.2).
#[derive(Debug, Clone, Serialize)]
pub struct FileVerdict {
    /// The file's own check (name, hash, size, whether it matches its card), flattened.
    #[serde(flatten)]
    pub file: spondon_export::FileReport,
    /// When the file matches its card and the card is valid, what it is in plain words: "this
    /// PDF is the one Labaid Hospital signed on 6 Dec 2026".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
}

/// The verdict on one credential (or, with `cards`, on a file holding several).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every check passed.
    pub valid: bool,
    /// What was checked: `smart_health_card`, `spondon_token` or `spondon_export`.
    pub kind: String,
    /// The issuer (`iss`) the credential names, when it could be read.
    pub issuer: Option<String>,
    /// The issuer's name from the trust list, when the trust list knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// `nbf` as the credential carries it (a JSON number, possibly fractional).
    pub not_before: Option<serde_json::Number>,
    /// `exp` as the credential carries it.
    pub expires: Option<serde_json::Number>,
    /// Why the credential is invalid; empty when it is valid.
    pub errors: Vec<Problem>,
    /// What a reader should know that does not make it invalid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
    /// The FHIR R4 bundle of a SMART Health Card.
    pub fhir: Option<serde_json::Value>,
    /// The claims of a Spondon token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Value>,
    /// For a file holding several cards: each card's own verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Report>,
    /// Spondon export card: the signature verified with a trusted key (even if a later check,
    /// such as the validity period, failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unaltered: Option<bool>,
    /// Spondon export card: its verified inclusion in the issuing hospital's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<spondon_export::LogInclusion>,
    /// Spondon export card: when it was shared (verified receipts), seconds since the epoch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<i64>,
    /// Spondon export: when the wallet made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Spondon export: the unsigned patient summary checked against the signed cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<spondon_export::SummaryCheck>,
    /// Document files (a directory export's `files/`, a PDF export's attached files, or
    /// `--file`), each checked against its card.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileVerdict>,
    /// The input could not be read at all (a truncated or malformed export): `check` exits 2
    /// ("unusable input"), not 1 ("invalid"), after printing the verdict.
    #[serde(skip)]
    pub unusable: bool,
}

impl Report {
    /// An empty, not yet valid verdict on a credential of `kind`.
    pub fn new(kind: impl Into<String>) -> Self {
        Report {
            valid: false,
            kind: kind.into(),
            issuer: None,
            issuer_name: None,
            not_before: None,
            expires: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            fhir: None,
            claims: None,
            cards: Vec::new(),
            unaltered: None,
            log: None,
            shared: Vec::new(),
            created: None,
            summary: None,
            files: Vec::new(),
            unusable: false,
        }
    }

    /// Adds a reason the credential is invalid to `errors`.
    pub fn error(&mut self, code: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem {
            code: code.into(),
            message: message.into(),
        });
    }

    /// Combines the verdicts of the cards of one file: valid only if every card is.
    pub fn combine(kind: &str, cards: Vec<Report>) -> Report {
        if cards.len() == 1 {
            if let Some(only) = cards.into_iter().next() {
                return only;
            }
            return Report::new(kind);
        }
        let mut all = Report::new(kind);
        all.valid = !cards.is_empty() && cards.iter().all(|c| c.valid);
        let first_issuer = cards.first().and_then(|c| c.issuer.clone());
        if cards.iter().all(|c| c.issuer == first_issuer) {
            all.issuer = first_issuer;
            all.issuer_name = cards.first().and_then(|c| c.issuer_name.clone());
        }
        for (i, card) in cards.iter().enumerate() {
            for p in &card.errors {
                all.error(p.code.clone(), format!("card {}: {}", i + 1, p.message));
            }
        }
        all.cards = cards;
        all
    }

    /// The text shown to people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let verdict = if self.valid { "VALID" } else { "INVALID" };
        let _ = writeln!(out, "{verdict}: {}", human_kind(&self.kind));
        if let Some(issuer) = &self.issuer {
            match &self.issuer_name {
                Some(name) => {
                    let _ = writeln!(out, "  issuer:      {name} <{issuer}>");
                }
                None => {
                    let _ = writeln!(out, "  issuer:      {issuer}");
                }
            }
        }
        if let Some(nbf) = &self.not_before {
            let _ = writeln!(out, "  valid from:  {}", render_time(nbf));
        }
        match &self.expires {
            Some(exp) => {
                let _ = writeln!(out, "  expires:     {}", render_time(exp));
            }
            None if self.kind == "smart_health_card" && self.issuer.is_some() => {
                let _ = writeln!(out, "  expires:     never");
            }
            None => {}
        }
        if let Some(created) = self.created.filter(|c| *c > 0) {
            let _ = writeln!(out, "  exported:    {}", render_time(&created.into()));
        }
        if let Some(unaltered) = self.unaltered {
            let said = if unaltered {
                "yes (the signature verifies with a trusted key)"
            } else {
                "not shown (no trusted key verifies the signature)"
            };
            let _ = writeln!(out, "  unaltered:   {said}");
        }
        if let Some(log) = &self.log {
            let mut line = format!(
                "entry {} of {} at {}, in a checkpoint of {} entries",
                log.index,
                log.log,
                render_time(&log.logged_at.into()),
                log.checkpoint_size
            );
            let (trusted, other) = (log.witness_cosignatures, log.other_signatures);
            let _ = match (trusted, other) {
                (0, 0) => write!(line, "; no witness cosignature"),
                (0, o) => write!(
                    line,
                    "; {o} witness cosignature(s), not checked (no witness key is trusted)"
                ),
                (t, 0) => write!(line, "; cosigned by {t} trusted witness(es)"),
                (t, o) => write!(
                    line,
                    "; cosigned by {t} trusted witness(es), {o} other cosignature(s) not checked"
                ),
            };
            if log.witness_quorum > 0 {
                let _ = if trusted >= log.witness_quorum {
                    write!(line, " (the trust list requires {})", log.witness_quorum)
                } else {
                    write!(
                        line,
                        " (NOT WITNESSED: the trust list requires {})",
                        log.witness_quorum
                    )
                };
            }
            let _ = writeln!(out, "  logged:      {line}");
        }
        if !self.shared.is_empty() {
            let dates: Vec<String> = self
                .shared
                .iter()
                .map(|t| render_time(&(*t).into()))
                .collect();
            let _ = writeln!(out, "  shared:      {}", dates.join(", "));
        }
        if let Some(serde_json::Value::Object(claims)) = &self.claims {
            for (name, value) in claims {
                if matches!(name.as_str(), "issued_at" | "not_before" | "expires") {
                    continue;
                }
                let Some(rendered) = render_claim(value) else {
                    continue;
                };
                let label = format!("{}:", name.replace('_', " "));
                let _ = writeln!(out, "  {label:<13}{rendered}");
            }
        }
        if let Some(fhir) = &self.fhir {
            let _ = writeln!(out, "  contents:    {}", summarize_bundle(fhir));
        }
        if let Some(summary) = &self.summary {
            let _ = writeln!(
                out,
                "  summary:     assembled by the patient's wallet, not signed; {} of {} entries found in the signed cards",
                summary.traced, summary.entries
            );
        }
        for f in &self.files {
            let name = f.file.name.as_deref().unwrap_or("(missing)");
            let card = f
                .file
                .card
                .map(|c| format!(" (card {c})"))
                .unwrap_or_default();
            match (&f.statement, f.file.errors.first()) {
                (Some(said), None) => {
                    let _ = writeln!(out, "  file:        {name}{card}: VALID, {said}");
                }
                (None, None) => {
                    let _ = writeln!(
                        out,
                        "  file:        {name}{card}: matches its card, but the card is not valid"
                    );
                }
                (_, Some(p)) => {
                    let _ = writeln!(
                        out,
                        "  file:        {name}{card}: INVALID, {} [{}]",
                        p.message, p.code
                    );
                }
            }
        }
        for (i, card) in self.cards.iter().enumerate() {
            let _ = write!(out, "  card {}: ", i + 1);
            out.push_str(&card.to_text().replace('\n', "\n  "));
            out.push('\n');
        }
        // A file's card errors are shown under each card; its own (an export's receipts or
        // summary) here.
        let own_errors = self
            .errors
            .iter()
            .filter(|p| self.cards.is_empty() || !p.message.starts_with("card "))
            .filter(|p| !p.message.starts_with("file "));
        for p in own_errors {
            let _ = writeln!(out, "  error:       {} [{}]", p.message, p.code);
        }
        // People read one line per kind of finding; `--json` keeps every one.
        let mut shown: Vec<&str> = Vec::new();
        for p in &self.warnings {
            if shown.contains(&p.code.as_str()) {
                continue;
            }
            shown.push(&p.code);
            let more = self.warnings.iter().filter(|w| w.code == p.code).count() - 1;
            let _ = write!(out, "  warning:     {} [{}]", p.message, p.code);
            if more > 0 {
                let _ = write!(out, " (and {more} more like it)");
            }
            out.push('\n');
        }
        out.trim_end().to_owned() + "\n"
    }
}

pub fn human_kind(kind: &str) -> &str {
    match kind {
        "smart_health_card" => "SMART Health Card",
        "smart_health_card_file" => "SMART Health Card file",
        "spondon_export" => "Spondon export",
        "grant" => "Spondon access grant",
        "revocation" => "Spondon grant revocation",
        "enrollment" => "Spondon enrollment credential",
        "doctor_credential" => "Spondon doctor credential",
        "trust_list" => "Spondon consortium trust list",
        "pop_proof" => "Spondon proof of possession",
        "spondon_token" => "Spondon token",
        other => other,
    }
}

/// A claim value on one line: lists joined, keys by their `kid`, empty values left out.
fn render_claim(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(render_claim)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Value::Object(map) => match (map.get("kid"), map.get("type")) {
            _ if map.contains_key("name") && map.contains_key("peer_url") => Some(format!(
                "{} <{}>",
                map.get("name").and_then(Value::as_str).unwrap_or_default(),
                map.get("peer_url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )),
            _ if map.get("type").and_then(Value::as_str) == Some("grant") => Some(format!(
                "the grant {}",
                map.get("grant_id").and_then(Value::as_str).unwrap_or("?")
            )),
            _ if map.get("type").and_then(Value::as_str) == Some("issued_before") => {
                let before = map
                    .get("before")
                    .and_then(Value::as_number)
                    .map(render_time)
                    .unwrap_or_else(|| "?".into());
                Some(format!("every grant issued before {before}"))
            }
            (Some(Value::String(kid)), Some(Value::String(t))) => Some(format!("{t} {kid}")),
            (Some(Value::String(kid)), _) => Some(format!("key {kid}")),
            _ => Some(value.to_string()),
        },
        other => Some(other.to_string()),
    }
}

/// Seconds since the epoch in the reader's time zone (`TZ`, else the system's), to the minute;
/// `--json` keeps the number.
pub fn render_time(n: &serde_json::Number) -> String {
    let secs = n.as_f64().unwrap_or(f64::NAN);
    if !secs.is_finite() || secs < i64::MIN as f64 || secs > i64::MAX as f64 {
        return n.to_string();
    }
    spondon_core::time::local(secs.floor() as i64)
}

/// "Patient John B. Anyperson; 2 Immunization" — resource counts by type, and the patient's name.
fn summarize_bundle(bundle: &serde_json::Value) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut patient = None;
    let entries = bundle
        .get("entry")
        .and_then(|e| e.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in entries {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        let Some(kind) = resource.get("resourceType").and_then(|t| t.as_str()) else {
            continue;
        };
        if kind == "Patient" && patient.is_none() {
            patient = patient_name(resource);
        }
        match counts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind.to_owned(), 1)),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(name) = patient {
        parts.push(format!("patient {name}"));
    }
    parts.extend(
        counts
            .iter()
            .filter(|(k, _)| k != "Patient")
            .map(|(k, n)| format!("{n} {k}")),
    );
    if parts.is_empty() {
        "an empty bundle".to_owned()
    } else {
        parts.join("; ")
    }
}

fn patient_name(patient: &serde_json::Value) -> Option<String> {
    let name = patient.get("name")?.as_array()?.first()?;
    let mut words: Vec<&str> = name
        .get("given")
        .and_then(|g| g.as_array())
        .map(|g| g.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    if let Some(family) = name.get("family").and_then(|f| f.as_str()) {
        words.push(family);
    }
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_patient_and_counts_resources() {
        let bundle = serde_json::json!({"entry": [
            {"resource": {"resourceType": "Patient", "name": [{"family": "Anyperson", "given": ["John", "B."]}]}},
            {"resource": {"resourceType": "Immunization"}},
            {"resource": {"resourceType": "Immunization"}}
        ]});
        assert_eq!(
            summarize_bundle(&bundle),
            "patient John B. Anyperson; 2 Immunization"
        );
    }

    #[test]
    fn combined_file_is_valid_only_if_every_card_is() {
        let mut good = Report::new("smart_health_card");
        good.valid = true;
        let mut bad = Report::new("smart_health_card");
        bad.error("expired", "the card expired");
        let all = Report::combine("smart_health_card_file", vec![good.clone(), bad]);
        assert!(!all.valid);
        assert_eq!(all.errors[0].code, "expired");
        assert!(all.errors[0].message.starts_with("card 2:"));
        let one = Report::combine("smart_health_card_file", vec![good]);
        assert!(one.valid);
        assert_eq!(one.kind, "smart_health_card");
    }

    #[test]
    fn repeated_warnings_are_folded_in_text() {
        let mut r = Report::new("smart_health_card");
        r.valid = true;
        for i in 0..3 {
            r.warnings.push(Problem {
                code: "fhir_reference_not_short".into(),
                message: format!("entry[{i}] reference"),
            });
        }
        let text = r.to_text();
        assert!(
            text.contains("entry[0] reference [fhir_reference_not_short] (and 2 more like it)")
        );
        assert!(!text.contains("entry[1]"));
    }

    #[test]
    fn fractional_times_render() {
        let n: serde_json::Number = serde_json::from_str("1622000000.5").unwrap();
        assert_eq!(render_time(&n), spondon_core::time::local(1_622_000_000));
        let huge: serde_json::Number = serde_json::from_str("1e300").unwrap();
        assert_eq!(render_time(&huge), huge.to_string());
    }
}
