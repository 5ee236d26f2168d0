//! The FHIR the tests issue: the patient Fatema Begum, a prescription, a CBC report with a low
//! platelet count, a diagnosis, a document record and a small well-formed PDF.

use serde_json::{Value, json};

/// `/staff/patients`'s body for the test patient with this national ID.
pub fn patient_json(nid: &str) -> Value {
    json!({
        "name": "Fatema Begum",
        "birth_date": "1988-04-12",
        "sex": "female",
        "national_id": nid,
        "phone": "01711-234567",
        "district": "Mymensingh",
        "upazila": "Trishal",
    })
}

/// A quantity in UCUM units.
pub fn quantity(value: impl Into<Value>, unit: &str) -> Value {
    let value = value.into();
    json!({"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
}

/// A laboratory observation (LOINC `code`, `display`) with its reference range.
pub fn observation(
    code: &str,
    display: &str,
    value: impl Into<Value>,
    unit: &str,
    low: impl Into<Value>,
    high: impl Into<Value>,
) -> Value {
    json!({"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
           "valueQuantity": quantity(value, unit),
           "referenceRange": [{"low": quantity(low, unit), "high": quantity(high, unit)}]})
}

/// The CBC panel's `DiagnosticReport`.
pub fn cbc_report() -> Value {
    json!({"resourceType": "DiagnosticReport", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}})
}

/// Platelets at `value` × 10³/µL (reference 150–450; JSON numbers as given: `95` stays `95`).
pub fn platelets(value: impl Into<Value>) -> Value {
    observation("777-3", "Platelets", value, "10*3/uL", 150, 450)
}

/// A medication order (`MedicationRequest`).
pub fn medication_request(medication: &str, dosage: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
           "medicationCodeableConcept": {"text": medication},
           "dosageInstruction": [{"text": dosage}]})
}

/// `/staff/records`'s body: a prescription of paracetamol by the doctor `bmdc`.
pub fn prescription(health_id: &str, bmdc: &str) -> Value {
    json!({
        "health_id": health_id,
        "kind": "prescription",
        "doctor_bmdc": bmdc,
        "resources": [medication_request(
            "Paracetamol 500 mg tablet",
            "1 tablet three times daily after meals for 5 days",
        )],
    })
}

/// `/staff/records`'s body: a CBC report, platelets 95 (low).
pub fn lab_report(health_id: &str) -> Value {
    json!({"health_id": health_id, "kind": "lab_report", "resources": [cbc_report(), platelets(95)]})
}

/// `/staff/records`'s bodies of the clinic tests' patient: a metformin prescription by `bmdc`, a
/// CBC (platelets 95, hemoglobin 12.9) and a type 2 diabetes diagnosis.
pub fn three_records(health_id: &str, bmdc: &str) -> [Value; 3] {
    [
        json!({"health_id": health_id, "kind": "prescription", "doctor_bmdc": bmdc, "resources": [
            medication_request("Metformin 500 mg tablet", "1 tablet twice daily with meals")]}),
        json!({"health_id": health_id, "kind": "lab_report", "resources": [
            cbc_report(), platelets(95),
            observation("718-7", "Hemoglobin", 12.9, "g/dL", 12, 15.5)]}),
        json!({"health_id": health_id, "kind": "diagnosis", "resources": [
            {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
             "code": "E11.9", "display": "Type 2 diabetes mellitus without complications"}]}}]}),
    ]
}

/// `/staff/records`'s body: a document record naming a stored file by its SHA-256 (standard
/// base64), of this content type and title, in this record category (`docs/protocol.md` §18.3).
pub fn document_record(
    health_id: &str,
    sha256_b64: &str,
    content_type: &str,
    title: &str,
    category: &str,
) -> Value {
    json!({"health_id": health_id, "kind": "document", "resources": [{
        "resourceType": "DocumentReference", "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2",
                             "display": "CBC panel - Blood by Automated count"}],
                 "text": "Complete blood count"},
        "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category",
                                  "code": category}]}],
        "description": "CBC report from the lab system",
        "content": [{"attachment": {
            "contentType": content_type, "title": title,
            "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                           "valueBase64Binary": sha256_b64}]}}]}]})
}

/// A small well-formed PDF (a peer checks a file's structure before it stores it).
pub fn report_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 72 712 Td (CBC 2026-12-06: platelets 95) Tj ET";
    let mut p = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    p.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    p.extend_from_slice(
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n",
    );
    p.extend_from_slice(format!("4 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    p.extend_from_slice(content);
    p.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n%%EOF\n");
    p
}
