//! Labels for the contract's enums, and the page's clock.

use spondon_app_api::{
    Abnormal, Category, ExportFormat, Purpose, RecordKind, StrengthHint, TrustLevel, Violation,
    event::TaskStep,
};

use crate::fmt;
use crate::i18n::{K, Lang, fill};

/// Now, in UNIX seconds (the page's clock).
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The local offset east of UTC, in minutes (Dhaka: 360).
pub fn offset() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// "5 December 2026" in local time.
pub fn date(lang: Lang, unix: i64) -> String {
    fmt::date(lang, unix, offset())
}

/// "5 December 2026, 14:05" in local time.
pub fn date_time(lang: Lang, unix: i64) -> String {
    fmt::date_time(lang, unix, offset())
}

/// A record kind in words.
pub fn kind(k: RecordKind) -> K {
    match k {
        RecordKind::Prescription => K::KindPrescription,
        RecordKind::LabReport => K::KindLabReport,
        RecordKind::Diagnosis => K::KindDiagnosis,
        RecordKind::Immunization => K::KindImmunization,
        RecordKind::Encounter => K::KindEncounter,
        RecordKind::Payment => K::KindPayment,
        RecordKind::Note => K::KindNote,
        RecordKind::Document => K::KindDocument,
        RecordKind::Other => K::KindOther,
    }
}

/// The CSS class that colours a record kind.
pub fn kind_class(k: RecordKind) -> &'static str {
    match k {
        RecordKind::Prescription => "kind-rx",
        RecordKind::LabReport => "kind-lab",
        RecordKind::Diagnosis => "kind-dx",
        RecordKind::Immunization => "kind-imm",
        RecordKind::Encounter => "kind-visit",
        RecordKind::Payment => "kind-pay",
        RecordKind::Note => "kind-note",
        RecordKind::Document => "kind-file",
        RecordKind::Other => "kind-other",
    }
}

/// Every record kind, in menu order.
pub const KINDS: [RecordKind; 9] = [
    RecordKind::Prescription,
    RecordKind::LabReport,
    RecordKind::Diagnosis,
    RecordKind::Immunization,
    RecordKind::Encounter,
    RecordKind::Payment,
    RecordKind::Note,
    RecordKind::Document,
    RecordKind::Other,
];

/// The kind's wire name (for `<select>` values and ids).
pub fn kind_value(k: RecordKind) -> &'static str {
    match k {
        RecordKind::Prescription => "prescription",
        RecordKind::LabReport => "lab_report",
        RecordKind::Diagnosis => "diagnosis",
        RecordKind::Immunization => "immunization",
        RecordKind::Encounter => "encounter",
        RecordKind::Payment => "payment",
        RecordKind::Note => "note",
        RecordKind::Document => "document",
        RecordKind::Other => "other",
    }
}

/// Every grant category, in menu order.
pub const CATEGORIES: [Category; 7] = [
    Category::Prescription,
    Category::LabResult,
    Category::Diagnosis,
    Category::Immunization,
    Category::Encounter,
    Category::Payment,
    Category::Note,
];

/// A category in words.
pub fn category(c: Category) -> K {
    match c {
        Category::Prescription => K::KindPrescription,
        Category::LabResult => K::KindLabReport,
        Category::Diagnosis => K::KindDiagnosis,
        Category::Immunization => K::KindImmunization,
        Category::Encounter => K::KindEncounter,
        Category::Payment => K::KindPayment,
        Category::Note => K::KindNote,
    }
}

/// The category's wire name (for ids).
pub fn category_value(c: Category) -> &'static str {
    match c {
        Category::Prescription => "prescription",
        Category::LabResult => "lab_result",
        Category::Diagnosis => "diagnosis",
        Category::Immunization => "immunization",
        Category::Encounter => "encounter",
        Category::Payment => "payment",
        Category::Note => "note",
    }
}

/// Every purpose, in menu order.
pub const PURPOSES: [Purpose; 5] = [
    Purpose::Treatment,
    Purpose::VisaMedical,
    Purpose::Emergency,
    Purpose::Referral,
    Purpose::Insurance,
];

/// A purpose in words.
pub fn purpose(p: Purpose) -> K {
    match p {
        Purpose::Treatment => K::PurposeTreatment,
        Purpose::VisaMedical => K::PurposeVisa,
        Purpose::Emergency => K::PurposeEmergency,
        Purpose::Referral => K::PurposeReferral,
        Purpose::Insurance => K::PurposeInsurance,
    }
}

/// A purpose's wire name.
pub fn purpose_value(p: Purpose) -> &'static str {
    match p {
        Purpose::Treatment => "treatment",
        Purpose::VisaMedical => "visa_medical",
        Purpose::Emergency => "emergency",
        Purpose::Referral => "referral",
        Purpose::Insurance => "insurance",
    }
}

/// A trust level in words (the badge).
pub fn trust(t: TrustLevel) -> K {
    match t {
        TrustLevel::Verified => K::Verified,
        TrustLevel::ImportedTrusted => K::TrustImportedTrusted,
        TrustLevel::IssuerNotTrusted => K::TrustIssuerNotTrusted,
        TrustLevel::SignatureNotChecked => K::TrustSignatureNotChecked,
    }
}

/// A passphrase hint in words.
pub fn hint(lang: Lang, h: StrengthHint, min_length: u32) -> String {
    let k = match h {
        StrengthHint::TooShort => K::HintTooShort,
        StrengthHint::Common => K::HintCommon,
        StrengthHint::Repetitive => K::HintRepetitive,
        StrengthHint::AddWords => K::HintAddWords,
        StrengthHint::AddVariety => K::HintAddVariety,
        StrengthHint::Good => K::HintGood,
        StrengthHint::Strong => K::HintStrong,
    };
    fill(k.text(lang), &[&fmt::num(lang, min_length)])
}

/// A strength score in words.
pub fn strength(score: u8) -> K {
    match score {
        0 => K::Strength0,
        1 => K::Strength1,
        2 => K::Strength2,
        3 => K::Strength3,
        _ => K::Strength4,
    }
}

/// A history violation in words.
pub fn violation(lang: Lang, v: &Violation) -> String {
    let n = |x: u64| fmt::num(lang, x);
    match v {
        Violation::BadCheckpoint { .. } => K::ViolationBadCheckpoint.text(lang).to_owned(),
        Violation::Rollback { known, got } => {
            fill(K::ViolationRollback.text(lang), &[&n(*known), &n(*got)])
        }
        Violation::Fork { from, to, .. } => {
            fill(K::ViolationFork.text(lang), &[&n(*from), &n(*to)])
        }
        Violation::TamperedRecord { log_index, .. } => {
            fill(K::ViolationTamperedRecord.text(lang), &[&n(*log_index)])
        }
        Violation::TamperedReceipt { log_index, .. } => {
            fill(K::ViolationTamperedReceipt.text(lang), &[&n(*log_index)])
        }
        Violation::TrustListRollback { pinned, published } => fill(
            K::ViolationTrustListRollback.text(lang),
            &[&n(*pinned), &n(*published)],
        ),
    }
}

/// An abnormal flag in words.
pub fn abnormal(a: Abnormal) -> K {
    match a {
        Abnormal::High => K::FlagHigh,
        Abnormal::Low => K::FlagLow,
        Abnormal::Abnormal => K::FlagAbnormal,
    }
}

/// A task step in words.
pub fn step(s: TaskStep) -> K {
    match s {
        TaskStep::CheckingPassphrase => K::StepCheckingPassphrase,
        TaskStep::Reading => K::StepReading,
        TaskStep::Decrypting => K::StepDecrypting,
        TaskStep::Collecting => K::StepCollecting,
        TaskStep::Building => K::StepBuilding,
        TaskStep::Verifying => K::StepVerifying,
        TaskStep::Saving => K::StepSaving,
        TaskStep::Done => K::StepDone,
    }
}

/// An export format in words.
pub fn format(f: ExportFormat) -> K {
    match f {
        ExportFormat::Pdf => K::FormatPdf,
        ExportFormat::Shc => K::FormatShc,
        ExportFormat::Shl => K::FormatShl,
    }
}

/// "2026-12-05" (an `<input type=date>` value) to UNIX seconds at local midnight; with
/// `end_of_day`, the last second of that day.
pub fn parse_date_input(s: &str, end_of_day: bool, offset_min: i32) -> Option<i64> {
    let mut it = s.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let start = days * 86_400 - i64::from(offset_min) * 60;
    Some(if end_of_day { start + 86_399 } else { start })
}

/// A safe element id from a record or grant id.
pub fn dom_id(prefix: &str, id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{clean}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_inputs() {
        assert_eq!(
            parse_date_input("2026-12-05", false, 0),
            Some(1_796_428_800)
        );
        assert_eq!(
            parse_date_input("2026-12-05", true, 0),
            Some(1_796_428_800 + 86_399)
        );
        assert_eq!(
            parse_date_input("2026-12-05", false, 360),
            Some(1_796_428_800 - 6 * 3600)
        );
        assert_eq!(parse_date_input("1970-01-01", false, 0), Some(0));
        assert_eq!(parse_date_input("2026-13-01", false, 0), None);
        assert_eq!(parse_date_input("", false, 0), None);
    }

    #[test]
    fn dom_ids() {
        assert_eq!(dom_id("record", "ab:c/1"), "record-ab-c-1");
    }

    #[test]
    fn hints_are_filled() {
        let s = hint(Lang::Bn, StrengthHint::TooShort, 12);
        assert!(s.contains("১২"), "{s}");
    }
}
