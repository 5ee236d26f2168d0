//! The OpenAPI 3.1 document, generated from the same route table the router is built from.

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::http::{LEDGER_ROUTES, ROUTES, RouteDoc};

fn params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn operation(r: &RouteDoc) -> Value {
    let mut op = json!({
        "summary": r.summary,
        "parameters": params(r.path),
        "responses": {
            "200": {"description": "OK"},
            "default": {"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        },
    });
    if r.staff {
        op["security"] = json!([{"staffToken": []}]);
        op["responses"]["201"] =
            json!({"description": "Created", "content": {"application/json": {}}});
    }
    if r.json_body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body_schema(r.path)}}});
    }
    if r.path.starts_with("/patient/") || r.path.starts_with("/Patient/") {
        op["security"] = json!([{"patientSignature": []}]);
    }
    if r.path.starts_with("/grant/") {
        op["security"] = json!([{"proofOfPossession": []}, {}]);
    }
    op
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
}

/// Request body schemas (the server decodes strictly: unknown fields are refused).
fn body_schema(path: &str) -> Value {
    let s = json!({"type": "string"});
    let u = json!({"type": "integer", "minimum": 0});
    let resources = json!({"type": "array", "items": {"type": "object"}, "minItems": 1});
    let kind = json!({"type": "string", "enum": ["prescription", "lab_report", "diagnosis", "immunization", "encounter", "payment"]});
    match path {
        "/staff/patients" => obj(
            &[
                "name",
                "birth_date",
                "sex",
                "national_id",
                "phone",
                "district",
                "upazila",
            ],
            json!({"name": s, "birth_date": {"type": "string", "format": "date"},
                   "sex": {"type": "string", "enum": ["male", "female", "other", "unknown"]},
                   "national_id": s, "phone": s, "district": s, "upazila": s}),
        ),
        "/staff/doctors" => obj(
            &["bmdc_number", "name", "department", "public_key"],
            json!({"bmdc_number": s, "name": s, "department": s, "public_key": {"type": "object", "description": "ES256 public JWK"}}),
        ),
        "/staff/records" => obj(
            &["health_id", "kind", "resources"],
            json!({"health_id": s, "kind": kind, "doctor_bmdc": s, "supersedes": s, "resources": resources}),
        ),
        "/staff/records/{id}/revoke" => obj(
            &["reason"],
            json!({"reason": {"type": "string", "enum": ["wrong_patient", "entered_in_error", "duplicate", "other"]}}),
        ),
        "/patient/enroll" => obj(
            &["health_id", "code", "public_key"],
            json!({"health_id": s, "code": s, "public_key": {"type": "object"}}),
        ),
        "/patient/records" => obj(&[], json!({"since": u, "known_size": u})),
        "/patient/receipts" => obj(&[], json!({"since": u})),
        "/patient/revocations" => obj(&["revocation"], json!({"revocation": s})),
        "/patient/details" => obj(&[], json!({"phone": s, "district": s, "upazila": s})),
        "/grant/records" => obj(
            &["grant"],
            json!({"grant": s, "record_ids": {"type": "array", "items": s}, "passcode": s}),
        ),
        "/grant/write" => obj(
            &["grant", "kind", "resources"],
            json!({"grant": s, "kind": kind, "supersedes": s, "resources": resources}),
        ),
        _ => json!({"type": "object", "description": "FHIR Parameters"}),
    }
}

/// The OpenAPI document of the whole HTTP API.
pub fn document(config: &Config) -> Value {
    let mut paths = Map::new();
    for r in ROUTES.iter().chain(LEDGER_ROUTES) {
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(r.method.to_owned(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": format!("spondon-peer: {}", config.name), "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": config.url}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "staffToken": {"type": "http", "scheme": "bearer", "description": "Staff token created by `spondon-peer init` or `staff-token`"},
                "patientSignature": {"type": "apiKey", "in": "header", "name": "Spondon-Signature", "description": "token::SignedRequest by the patient key over method, URL, nonce (POST /nonce), time and body hash (docs/protocol.md §7a)"},
                "proofOfPossession": {"type": "apiKey", "in": "header", "name": "Spondon-PoP", "description": "token::PopProof by the grant's audience key (docs/protocol.md §7); bearer grants send a passcode instead"},
            },
            "schemas": {"Problem": {"type": "object", "description": "RFC 9457 problem details", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string"}, "detail": {"type": "string"}}}},
        },
    })
}
