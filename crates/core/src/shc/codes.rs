//! Names for the codes Spondon's hospitals put in records.
//!
//! SMART Health Cards are minified to fit a QR code: issuers drop `Coding.display` and
//! `CodeableConcept.text`, so a card often carries only `system` + `code`. Every place that shows a
//! card to a person (the wallet, the clinic's page, the exported PDF) names codes from this one
//! table, so the same code reads the same everywhere.

/// A code with the names people see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownCode {
    /// A fragment of the code system URL that identifies it (`loinc`, `icd-10`, …).
    pub system: &'static str,
    pub code: &'static str,
    /// The full name, for reports and detail views.
    pub name: &'static str,
    /// A shorter name for titles and lists, where one exists.
    pub short: Option<&'static str>,
}

impl KnownCode {
    /// The short name if there is one, else the full name.
    pub fn short_name(&self) -> &'static str {
        self.short.unwrap_or(self.name)
    }
}

const LOINC: &str = "loinc";
const ICD10: &str = "icd-10";
const SNOMED: &str = "snomed";
const CVX: &str = "cvx";
/// HL7 v3 ActCode: the `Encounter.class` codes.
const ACT_CODE: &str = "v3-actcode";

const fn known(
    system: &'static str,
    code: &'static str,
    name: &'static str,
    short: Option<&'static str>,
) -> KnownCode {
    KnownCode {
        system,
        code,
        name,
        short,
    }
}

/// Every code this table names.
pub const KNOWN_CODES: &[KnownCode] = &[
    known(
        LOINC,
        "58410-2",
        "Complete blood count (CBC) panel",
        Some("CBC"),
    ),
    known(LOINC, "777-3", "Platelets", None),
    known(LOINC, "718-7", "Hemoglobin", None),
    known(
        LOINC,
        "6690-2",
        "Leukocytes (white cell count)",
        Some("Leukocytes"),
    ),
    known(LOINC, "789-8", "Erythrocytes (red cell count)", None),
    known(LOINC, "4544-3", "Hematocrit", None),
    known(
        LOINC,
        "75377-4",
        "Dengue virus NS1 antigen",
        Some("Dengue NS1 antigen"),
    ),
    known(LOINC, "1558-6", "Fasting glucose", None),
    known(LOINC, "2345-7", "Glucose", None),
    known(LOINC, "4548-4", "Hemoglobin A1c", Some("HbA1c")),
    known(LOINC, "2160-0", "Creatinine", None),
    known(LOINC, "1742-6", "Alanine aminotransferase (ALT)", None),
    known(LOINC, "2093-3", "Total cholesterol", None),
    known(LOINC, "24323-8", "Comprehensive metabolic panel", None),
    known(LOINC, "94500-6", "SARS-CoV-2 RNA (NAA)", None),
    known(LOINC, "94558-4", "SARS-CoV-2 antigen", None),
    known(LOINC, "85354-9", "Blood pressure", None),
    known(LOINC, "8480-6", "Systolic blood pressure", None),
    known(LOINC, "8462-4", "Diastolic blood pressure", None),
    known(LOINC, "29463-7", "Body weight", None),
    known(LOINC, "8302-2", "Body height", None),
    known(
        LOINC,
        "11477-7",
        "Microscopic observation, sputum (AFB)",
        None,
    ),
    known(LOINC, "38379-4", "Mycobacterium tuberculosis DNA", None),
    known(ICD10, "A97.0", "Dengue without warning signs", None),
    known(ICD10, "A97.1", "Dengue with warning signs", None),
    known(ICD10, "A01.0", "Typhoid fever", None),
    known(
        ICD10,
        "A15.0",
        "Tuberculosis of lung",
        Some("Pulmonary tuberculosis"),
    ),
    known(
        ICD10,
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        Some("Type 2 diabetes mellitus"),
    ),
    known(ICD10, "I10", "Essential (primary) hypertension", None),
    known(ICD10, "J45.9", "Asthma, unspecified", None),
    known(SNOMED, "10828004", "Positive", None),
    known(SNOMED, "260385009", "Negative", None),
    known(SNOMED, "260373001", "Detected", None),
    known(SNOMED, "260415000", "Not detected", None),
    known(CVX, "207", "COVID-19 vaccine, Moderna", None),
    known(CVX, "208", "COVID-19 vaccine, Pfizer-BioNTech", None),
    known(CVX, "210", "COVID-19 vaccine, AstraZeneca", None),
    known(CVX, "212", "COVID-19 vaccine, Janssen", None),
    known(CVX, "213", "COVID-19 vaccine, unspecified", None),
    known(CVX, "510", "COVID-19 vaccine, Sinopharm BIBP", None),
    known(CVX, "511", "COVID-19 vaccine, Sinovac", None),
    known(CVX, "19", "BCG vaccine", None),
    known(CVX, "08", "Hepatitis B vaccine", None),
    known(CVX, "03", "Measles, mumps and rubella (MMR) vaccine", None),
    known(CVX, "10", "Polio vaccine (IPV)", None),
    known(
        CVX,
        "20",
        "Diphtheria, tetanus and pertussis (DTaP) vaccine",
        None,
    ),
    known(CVX, "35", "Tetanus toxoid vaccine", None),
    known(CVX, "62", "Human papillomavirus (HPV) vaccine", None),
    known(CVX, "25", "Typhoid vaccine, oral", None),
    known(
        CVX,
        "101",
        "Typhoid Vi capsular polysaccharide vaccine",
        None,
    ),
    known(ACT_CODE, "AMB", "outpatient visit", None),
    known(ACT_CODE, "IMP", "inpatient stay", None),
    known(ACT_CODE, "EMER", "emergency visit", None),
];

/// The known code `code` of `system` (a code system URL, compared case-insensitively by its
/// identifying fragment). Without a system, the code alone decides.
pub fn lookup(system: Option<&str>, code: &str) -> Option<&'static KnownCode> {
    let system = system.map(str::to_ascii_lowercase);
    KNOWN_CODES
        .iter()
        .find(|k| k.code == code && system.as_deref().is_none_or(|s| s.contains(k.system)))
}

/// A label for a code system URL (`LOINC`, `ICD-10` …), empty when unknown.
pub fn system_label(system: &str) -> &'static str {
    let system = system.to_ascii_lowercase();
    if system.contains(LOINC) {
        "LOINC"
    } else if system.contains(ICD10) {
        "ICD-10"
    } else if system.contains(SNOMED) {
        "SNOMED CT"
    } else if system.contains(CVX) {
        "CVX"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_respect_the_system() {
        let cbc = lookup(Some("http://loinc.org"), "58410-2").unwrap();
        assert_eq!(cbc.name, "Complete blood count (CBC) panel");
        assert_eq!(cbc.short_name(), "CBC");
        assert_eq!(
            lookup(None, "A97.0").unwrap().short_name(),
            "Dengue without warning signs"
        );
        assert!(lookup(Some("http://hl7.org/fhir/sid/icd-10"), "58410-2").is_none());
        assert_eq!(
            lookup(
                Some("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
                "AMB"
            )
            .unwrap()
            .name,
            "outpatient visit"
        );
        assert!(lookup(None, "no-such-code").is_none());
        assert_eq!(system_label("http://LOINC.org"), "LOINC");
        // Codes are unique within their system.
        for (i, a) in KNOWN_CODES.iter().enumerate() {
            for b in &KNOWN_CODES[i + 1..] {
                assert!(!(a.system == b.system && a.code == b.code), "{a:?}");
            }
        }
    }
}
