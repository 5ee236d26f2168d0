//! The console's built-in code lists: medicines, laboratory tests (LOINC, UCUM units with
//! their words, reference ranges), ICD-10 diagnoses with the condition group each belongs to.
//! Small curated lists of what a Bangladeshi hospital issues most; codes outside them are
//! still accepted when typed (a valid LOINC / ICD-10 form), the lists only help the search.

use serde::Serialize;

/// A medicine of the searchable list (generic name, strength and form).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Medicine {
    pub name: &'static str,
}

pub use spondon_core::shc::units::Unit;

/// A laboratory test: LOINC code, unit, adult reference range.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LabTest {
    pub loinc: &'static str,
    pub name: &'static str,
    /// `None`: a qualitative test (positive / negative).
    pub unit: Option<&'static str>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// An ICD-10 code of the searchable list.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Diagnosis {
    pub code: &'static str,
    pub name: &'static str,
}

/// The whole catalog, as the page receives it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Catalog {
    pub medicines: &'static [Medicine],
    pub units: &'static [Unit],
    pub lab_tests: &'static [LabTest],
    pub diagnoses: &'static [Diagnosis],
    pub districts: &'static [&'static str],
}

/// The catalog.
pub fn catalog() -> Catalog {
    Catalog {
        medicines: MEDICINES,
        units: spondon_core::shc::units::UNITS,
        lab_tests: LAB_TESTS,
        diagnoses: DIAGNOSES,
        districts: crate::registry::DISTRICTS,
    }
}

macro_rules! meds {
    ($($n:literal),* $(,)?) => { &[$(Medicine { name: $n }),*] };
}

pub const MEDICINES: &[Medicine] = meds![
    "Paracetamol 500 mg tablet",
    "Paracetamol 120 mg/5 mL syrup",
    "Amoxicillin 500 mg capsule",
    "Amoxicillin + Clavulanic acid 625 mg tablet",
    "Azithromycin 500 mg tablet",
    "Cefixime 200 mg capsule",
    "Ciprofloxacin 500 mg tablet",
    "Ceftriaxone 1 g injection",
    "Metronidazole 400 mg tablet",
    "Doxycycline 100 mg capsule",
    "Oral rehydration salts (ORS) sachet",
    "Zinc 20 mg dispersible tablet",
    "Omeprazole 20 mg capsule",
    "Esomeprazole 20 mg tablet",
    "Pantoprazole 40 mg tablet",
    "Domperidone 10 mg tablet",
    "Ondansetron 8 mg tablet",
    "Metformin 500 mg tablet",
    "Gliclazide 80 mg tablet",
    "Insulin (human, premixed 30/70) 100 IU/mL",
    "Amlodipine 5 mg tablet",
    "Losartan 50 mg tablet",
    "Atenolol 50 mg tablet",
    "Hydrochlorothiazide 25 mg tablet",
    "Atorvastatin 10 mg tablet",
    "Aspirin 75 mg tablet",
    "Clopidogrel 75 mg tablet",
    "Salbutamol 100 mcg inhaler",
    "Montelukast 10 mg tablet",
    "Cetirizine 10 mg tablet",
    "Fexofenadine 120 mg tablet",
    "Prednisolone 5 mg tablet",
    "Ibuprofen 400 mg tablet",
    "Diclofenac 50 mg tablet",
    "Iron + Folic acid tablet",
    "Calcium 500 mg + Vitamin D3 tablet",
    "Levothyroxine 50 mcg tablet",
    "Isoniazid 300 mg tablet",
    "Rifampicin 450 mg capsule",
    "Artemether + Lumefantrine 20/120 mg tablet",
];

/// The unit with this UCUM code (or a known other spelling of it).
pub fn unit(code: &str) -> Option<&'static Unit> {
    spondon_core::shc::units::lookup(code)
}

const fn q(
    loinc: &'static str,
    name: &'static str,
    unit: &'static str,
    low: f64,
    high: f64,
) -> LabTest {
    LabTest {
        loinc,
        name,
        unit: Some(unit),
        low: Some(low),
        high: Some(high),
    }
}

const fn qual(loinc: &'static str, name: &'static str) -> LabTest {
    LabTest {
        loinc,
        name,
        unit: None,
        low: None,
        high: None,
    }
}

pub const LAB_TESTS: &[LabTest] = &[
    q("718-7", "Hemoglobin", "g/dL", 12.0, 16.0),
    q("6690-2", "White blood cell count", "10*3/uL", 4.0, 11.0),
    q("777-3", "Platelet count", "10*3/uL", 150.0, 450.0),
    q("4544-3", "Hematocrit", "%", 36.0, 48.0),
    q("789-8", "Red blood cell count", "10*6/uL", 4.2, 5.9),
    q(
        "30341-2",
        "Erythrocyte sedimentation rate",
        "mm/h",
        0.0,
        20.0,
    ),
    q("1558-6", "Fasting glucose", "mg/dL", 70.0, 100.0),
    q("2345-7", "Glucose (random)", "mg/dL", 70.0, 140.0),
    q("4548-4", "Hemoglobin A1c", "%", 4.0, 5.6),
    q("2160-0", "Creatinine", "mg/dL", 0.6, 1.2),
    q("3094-0", "Urea nitrogen", "mg/dL", 7.0, 20.0),
    q("2951-2", "Sodium", "mmol/L", 135.0, 145.0),
    q("2823-3", "Potassium", "mmol/L", 3.5, 5.1),
    q("1742-6", "Alanine aminotransferase (ALT)", "U/L", 7.0, 56.0),
    q(
        "1920-8",
        "Aspartate aminotransferase (AST)",
        "U/L",
        10.0,
        40.0,
    ),
    q("1975-2", "Bilirubin, total", "mg/dL", 0.1, 1.2),
    q("2093-3", "Cholesterol, total", "mg/dL", 0.0, 200.0),
    q("2571-8", "Triglycerides", "mg/dL", 0.0, 150.0),
    q("1988-5", "C-reactive protein", "mg/L", 0.0, 10.0),
    q(
        "3016-3",
        "Thyroid stimulating hormone (TSH)",
        "m[IU]/L",
        0.4,
        4.0,
    ),
    qual("75377-2", "Dengue virus NS1 antigen"),
    qual("94500-6", "SARS-CoV-2 RNA (NAA)"),
];

/// The catalogued lab test with this LOINC code.
pub fn lab_test(loinc: &str) -> Option<&'static LabTest> {
    LAB_TESTS.iter().find(|t| t.loinc == loinc)
}

macro_rules! icd {
    ($($c:literal => $n:literal),* $(,)?) => { &[$(Diagnosis { code: $c, name: $n }),*] };
}

pub const DIAGNOSES: &[Diagnosis] = icd![
    "A90" => "Dengue fever [classical dengue]",
    "A91" => "Dengue haemorrhagic fever",
    "A97.0" => "Dengue without warning signs",
    "A97.1" => "Dengue with warning signs",
    "A97.2" => "Severe dengue",
    "U07.1" => "COVID-19, virus identified",
    "U07.2" => "COVID-19, virus not identified",
    "A01.0" => "Typhoid fever",
    "A01.4" => "Paratyphoid fever, unspecified",
    "A15.0" => "Tuberculosis of lung",
    "A16.2" => "Tuberculosis of lung, without mention of bacteriological or histological confirmation",
    "A09" => "Diarrhoea and gastroenteritis of presumed infectious origin",
    "A00.9" => "Cholera, unspecified",
    "B54" => "Unspecified malaria",
    "B50.9" => "Plasmodium falciparum malaria, unspecified",
    "B15.9" => "Hepatitis A without hepatic coma",
    "B17.2" => "Acute hepatitis E",
    "A92.0" => "Chikungunya virus disease",
    "J18.9" => "Pneumonia, unspecified",
    "J06.9" => "Acute upper respiratory infection, unspecified",
    "J45.9" => "Asthma, unspecified",
    "J44.9" => "Chronic obstructive pulmonary disease, unspecified",
    "E11.9" => "Type 2 diabetes mellitus without complications",
    "E10.9" => "Type 1 diabetes mellitus without complications",
    "E11.65" => "Type 2 diabetes mellitus with hyperglycaemia",
    "I10" => "Essential (primary) hypertension",
    "I11.9" => "Hypertensive heart disease without heart failure",
    "I21.9" => "Acute myocardial infarction, unspecified",
    "I25.1" => "Atherosclerotic heart disease",
    "I63.9" => "Cerebral infarction, unspecified",
    "I64" => "Stroke, not specified as haemorrhage or infarction",
    "D50.9" => "Iron deficiency anaemia, unspecified",
    "E03.9" => "Hypothyroidism, unspecified",
    "N39.0" => "Urinary tract infection, site not specified",
    "N18.9" => "Chronic kidney disease, unspecified",
    "K29.7" => "Gastritis, unspecified",
    "K35.8" => "Acute appendicitis, other and unspecified",
    "O80" => "Single spontaneous delivery",
    "O24.4" => "Diabetes mellitus arising in pregnancy",
    "L30.9" => "Dermatitis, unspecified",
    "M54.5" => "Low back pain",
    "F32.9" => "Depressive episode, unspecified",
    "R50.9" => "Fever, unspecified",
    "T14.9" => "Injury, unspecified",
];

#[cfg(test)]
mod tests {
    use super::*;
    use spondon_core::shc::codes;

    /// Cards carry codes without names (SMART Health Cards minification), so every code the
    /// console offers must be named by spondon-core's table that the wallet, the clinic page
    /// and the PDF read.
    #[test]
    fn every_listed_code_is_named_everywhere() {
        for t in LAB_TESTS {
            assert!(
                codes::lookup(Some("http://loinc.org"), t.loinc).is_some(),
                "LOINC {} is not in spondon_core::shc::codes",
                t.loinc
            );
            assert!(
                crate::console::forms::loinc_check_digit_ok(t.loinc),
                "{}",
                t.loinc
            );
            if let Some(u) = t.unit {
                assert!(unit(u).is_some(), "{}: unit {u}", t.loinc);
            }
        }
        for d in DIAGNOSES {
            assert!(
                codes::lookup(Some("http://hl7.org/fhir/sid/icd-10"), d.code).is_some(),
                "ICD-10 {} is not in spondon_core::shc::codes",
                d.code
            );
            assert!(crate::records::is_icd10(d.code), "{}", d.code);
        }
    }
}
