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
    /// The code within its system, as written in FHIR `coding.code`.
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
    // The hospital staff console's lists (`spondon-peer` `console::catalog`).
    known(LOINC, "11502-2", "Laboratory report", None),
    known(
        LOINC,
        "75377-2",
        "Dengue virus NS1 antigen",
        Some("Dengue NS1 antigen"),
    ),
    known(
        LOINC,
        "30341-2",
        "Erythrocyte sedimentation rate",
        Some("ESR"),
    ),
    known(LOINC, "3094-0", "Urea nitrogen", None),
    known(LOINC, "2951-2", "Sodium", None),
    known(LOINC, "2823-3", "Potassium", None),
    known(LOINC, "1920-8", "Aspartate aminotransferase (AST)", None),
    known(LOINC, "1975-2", "Bilirubin, total", None),
    known(LOINC, "2571-8", "Triglycerides", None),
    known(LOINC, "1988-5", "C-reactive protein", Some("CRP")),
    known(
        LOINC,
        "3016-3",
        "Thyroid stimulating hormone (TSH)",
        Some("TSH"),
    ),
    known(
        ICD10,
        "A90",
        "Dengue fever [classical dengue]",
        Some("Dengue fever"),
    ),
    known(ICD10, "A91", "Dengue haemorrhagic fever", None),
    known(ICD10, "A97.2", "Severe dengue", None),
    known(
        ICD10,
        "U07.1",
        "COVID-19, virus identified",
        Some("COVID-19"),
    ),
    known(ICD10, "U07.2", "COVID-19, virus not identified", None),
    known(ICD10, "A01.4", "Paratyphoid fever, unspecified", None),
    known(
        ICD10,
        "A16.2",
        "Tuberculosis of lung, without bacteriological or histological confirmation",
        Some("Pulmonary tuberculosis"),
    ),
    known(
        ICD10,
        "A09",
        "Diarrhoea and gastroenteritis of presumed infectious origin",
        Some("Infectious diarrhoea"),
    ),
    known(ICD10, "A00.9", "Cholera, unspecified", Some("Cholera")),
    known(ICD10, "B54", "Unspecified malaria", Some("Malaria")),
    known(
        ICD10,
        "B50.9",
        "Plasmodium falciparum malaria, unspecified",
        None,
    ),
    known(
        ICD10,
        "B15.9",
        "Hepatitis A without hepatic coma",
        Some("Hepatitis A"),
    ),
    known(ICD10, "B17.2", "Acute hepatitis E", None),
    known(
        ICD10,
        "A92.0",
        "Chikungunya virus disease",
        Some("Chikungunya"),
    ),
    known(ICD10, "J18.9", "Pneumonia, unspecified", Some("Pneumonia")),
    known(
        ICD10,
        "J06.9",
        "Acute upper respiratory infection, unspecified",
        None,
    ),
    known(
        ICD10,
        "J44.9",
        "Chronic obstructive pulmonary disease, unspecified",
        Some("COPD"),
    ),
    known(
        ICD10,
        "E10.9",
        "Type 1 diabetes mellitus without complications",
        None,
    ),
    known(
        ICD10,
        "E11.65",
        "Type 2 diabetes mellitus with hyperglycaemia",
        None,
    ),
    known(
        ICD10,
        "I11.9",
        "Hypertensive heart disease without heart failure",
        None,
    ),
    known(
        ICD10,
        "I21.9",
        "Acute myocardial infarction, unspecified",
        Some("Heart attack"),
    ),
    known(ICD10, "I25.1", "Atherosclerotic heart disease", None),
    known(
        ICD10,
        "I63.9",
        "Cerebral infarction, unspecified",
        Some("Stroke"),
    ),
    known(
        ICD10,
        "I64",
        "Stroke, not specified as haemorrhage or infarction",
        Some("Stroke"),
    ),
    known(ICD10, "D50.9", "Iron deficiency anaemia, unspecified", None),
    known(ICD10, "E03.9", "Hypothyroidism, unspecified", None),
    known(
        ICD10,
        "N39.0",
        "Urinary tract infection, site not specified",
        Some("UTI"),
    ),
    known(ICD10, "N18.9", "Chronic kidney disease, unspecified", None),
    known(ICD10, "K29.7", "Gastritis, unspecified", None),
    known(
        ICD10,
        "K35.8",
        "Acute appendicitis, other and unspecified",
        None,
    ),
    known(ICD10, "O80", "Single spontaneous delivery", None),
    known(
        ICD10,
        "O24.4",
        "Diabetes mellitus arising in pregnancy",
        Some("Gestational diabetes"),
    ),
    known(ICD10, "L30.9", "Dermatitis, unspecified", None),
    known(ICD10, "M54.5", "Low back pain", None),
    known(ICD10, "F32.9", "Depressive episode, unspecified", None),
    known(ICD10, "R50.9", "Fever, unspecified", None),
    known(ICD10, "T14.9", "Injury, unspecified", None),
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
