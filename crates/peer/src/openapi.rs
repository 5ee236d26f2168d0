//! The OpenAPI 3.1 document, generated from the same route table the router is built from.

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::http::{LEDGER_ROUTES, ROUTES, RouteDoc};

/// The staff writes that take an `Idempotency-Key` (`crate::write_keys`; issuance: records).
pub const KEYED_ROUTES: &[&str] = &[
    "/staff/patients",
    "/staff/patients/{health_id}/enrollment-code",
    "/staff/doctors",
    "/staff/records",
    "/staff/records/{id}/revoke",
    "/staff/emergency/{id}/confirm",
    "/staff/systems",
    "/staff/systems/{id}/disable",
];

fn params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The success response of a route: status, media type, schema.
fn success(path: &str) -> (u16, &'static str, Value) {
    let json = "application/json";
    let text = "text/plain; charset=utf-8";
    let binary = json!({"type": "string", "format": "binary"});
    match path {
        "/.well-known/jwks.json" => (200, json, schema_ref("Jwks")),
        "/.well-known/crl/{file}" => (200, json, schema_ref("Crl")),
        "/openapi.json" => (
            200,
            json,
            json!({"type": "object", "description": "OpenAPI 3.1"}),
        ),
        "/staff/patients" | "/staff/patients/{health_id}/enrollment-code" => {
            (201, json, schema_ref("PatientRegistered"))
        }
        "/staff/patients/{health_id}" | "/patient/details" => (200, json, schema_ref("Patient")),
        "/staff/doctors" => (201, json, schema_ref("DoctorRegistered")),
        "/staff/records" | "/grant/write" => (201, json, schema_ref("IssuedRecord")),
        "/staff/files" => (201, json, schema_ref("StoredFile")),
        "/patient/files" | "/grant/files" | "/delegate/files" => {
            (200, "application/pdf", binary.clone())
        }
        "/staff/records/{id}/revoke" => (201, json, schema_ref("RecordRevoked")),
        "/staff/share-proofs" => (201, json, schema_ref("ShareProof")),
        "/nonce" => (201, json, schema_ref("Nonce")),
        "/patient/enroll" => (201, json, schema_ref("Enrolled")),
        "/patient/records" => (200, json, schema_ref("Pull")),
        "/patient/receipts" => (200, json, schema_ref("Receipts")),
        "/patient/proofs" => (200, json, schema_ref("WitnessedProofs")),
        "/witness/forks" => (200, json, schema_ref("Forks")),
        "/patient/revocations" => (201, json, schema_ref("LogIndex")),
        "/patient/rotate-key" => (201, json, schema_ref("KeyRotated")),
        "/patient/grant-passcodes" => (201, json, schema_ref("PasscodeRegistered")),
        "/patient/delegations" => (201, json, schema_ref("DelegationRegistered")),
        "/delegate/records" => (200, json, schema_ref("Pull")),
        "/delegate/receipts" => (200, json, schema_ref("Receipts")),
        "/Patient/{id}/$health-cards-issue" => (
            200,
            "application/fhir+json",
            json!({"type": "object", "description": "FHIR Parameters: verifiableCredential (valueString = JWS) per card"}),
        ),
        "/grant/records" => (200, json, schema_ref("Redeemed")),
        "/healthz" | "/readyz" => (200, text, json!({"type": "string"})),
        "/.well-known/smart-configuration" | "/fhir/.well-known/smart-configuration" => {
            (200, json, schema_ref("SmartConfiguration"))
        }
        "/auth/token" => (200, json, schema_ref("AccessToken")),
        "/fhir/metadata" => (
            200,
            "application/fhir+json",
            json!({"type": "object", "description": "FHIR R4 CapabilityStatement"}),
        ),
        "/fhir" => (
            200,
            "application/fhir+json",
            json!({"type": "object", "description": "FHIR R4 Bundle of type transaction-response: per entry response.status 201 Created, response.location records/<id>, the log-index and record-kind extensions (docs/peer.md, Hospital systems: FHIR push)"}),
        ),
        "/staff/systems" => (201, json, schema_ref("System")),
        "/staff/systems/{id}/disable" => (200, json, schema_ref("System")),
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            json!({"type": "string", "description": "Prometheus text exposition format 0.0.4"}),
        ),
        "/authority/stats" => (200, json, schema_ref("StatsAnswer")),
        "/emergency/requests" => (201, json, schema_ref("EmergencyRequested")),
        "/emergency/summary" => (200, json, schema_ref("EmergencySummary")),
        "/staff/emergency" => (200, json, schema_ref("EmergencyAccessList")),
        "/staff/emergency/{id}/confirm" => (201, json, schema_ref("EmergencyConfirmed")),
        "/patient/emergency-policy" => (200, json, schema_ref("EmergencyPolicyRegistered")),
        "/patient/emergency-disputes" => (201, json, schema_ref("EmergencyDisputed")),
        "/checkpoint" => (
            200,
            text,
            json!({"type": "string", "description": "C2SP tlog-checkpoint signed note with the cosignatures collected"}),
        ),
        "/tile/{path}" => (
            200,
            "application/octet-stream",
            json!({"type": "string", "format": "binary", "description": "tlog-tiles tile or entry bundle"}),
        ),
        "/witness/add-checkpoint" => (
            200,
            text,
            json!({"type": "string", "description": "cosignature/v1 signature line(s)"}),
        ),
        _ => (200, json, json!({})),
    }
}

/// The routes that answer a document's file (§18.3).
const FILE_ROUTES: [&str; 3] = ["/patient/files", "/grant/files", "/delegate/files"];

fn operation(r: &RouteDoc) -> Value {
    let (status, media, schema) = if (r.method, r.path) == ("get", "/staff/systems") {
        (200, "application/json", schema_ref("SystemList"))
    } else {
        success(r.path)
    };
    let ledger =
        r.path == "/checkpoint" || r.path.starts_with("/tile/") || r.path.starts_with("/witness/");
    let fhir = r.path == "/fhir" || r.path.starts_with("/fhir/");
    let error = if fhir {
        json!({"description": "Error: FHIR OperationOutcome (issue.code from the status, issue.details the peer's stable code)", "content": {"application/fhir+json": {"schema": schema_ref("OperationOutcome")}}})
    } else if r.path == "/auth/token" {
        json!({"description": "Error (RFC 6749 section 5.2): invalid_request, invalid_client (401), invalid_scope, unsupported_grant_type", "content": {"application/json": {"schema": schema_ref("OAuthError")}}})
    } else if ledger {
        json!({"description": "Error (plain text)", "content": {"text/plain; charset=utf-8": {"schema": {"type": "string"}}}})
    } else {
        json!({"description": "Error", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}})
    };
    let mut responses = json!({
        status.to_string(): {"description": "Success", "content": {media: {"schema": schema}}},
        "default": error,
    });
    if !r.staff {
        responses["429"] = json!({"description": "Rate limited (Retry-After)", "content": {"application/problem+json": {"schema": schema_ref("Problem")}}});
    }
    if r.path == "/staff/files" {
        responses["200"] = json!({"description": "The same bytes were stored before", "content": {"application/json": {"schema": schema_ref("StoredFile")}}});
    }
    if FILE_ROUTES.contains(&r.path) {
        // The file in its own type (X-Content-Type-Options: nosniff, Content-Disposition:
        // attachment, Cache-Control: no-store).
        let binary = json!({"schema": {"type": "string", "format": "binary"}});
        let mut content = serde_json::Map::new();
        for t in spondon_document::FileType::ALL {
            content.insert(t.mime().into(), binary.clone());
        }
        responses["200"] =
            json!({"description": "The document's file, in its own type", "content": content});
    }
    if r.path == "/witness/add-checkpoint" {
        responses["409"] = json!({"description": "Old size is not the witness's latest cosigned size", "content": {"text/x.tlog.size": {"schema": {"type": "string", "description": "the latest size, decimal"}}}});
    }
    let mut parameters = params(r.path);
    if r.method == "post" && KEYED_ROUTES.contains(&r.path) {
        let description = if r.path.starts_with("/staff/patients") {
            "1 to 255 visible ASCII characters (a UUID), scoped to the staff token; a retry with the same key and request answers the same patient with a fresh enrollment code (the earlier one stops working; codes are stored only hashed) and header Idempotent-Replayed: true; with another request 422 idempotency_key_reused"
        } else {
            "1 to 255 visible ASCII characters (a UUID), scoped to the staff token; a retry with the same key and request answers the first answer (header Idempotent-Replayed: true) without writing again; with another request 422 idempotency_key_reused"
        };
        parameters.push(
            json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 257}}),
        );
    }
    let mut op = json!({
        "summary": r.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if r.path == "/staff/files" {
        let binary = json!({"schema": {"type": "string", "format": "binary", "maxLength": spondon_document::MAX_FILE_BYTES}});
        let mut content = serde_json::Map::new();
        for t in spondon_document::FileType::ALL {
            content.insert(t.mime().into(), binary.clone());
        }
        op["requestBody"] = json!({"required": true, "description": "The raw file (at most 25 MiB); its type in Content-Type", "content": content});
    }
    if r.path == "/witness/add-checkpoint" {
        op["requestBody"] = json!({"required": true, "content": {"text/plain": {"schema": {"type": "string", "description": "old <size>, consistency proof lines, blank line, checkpoint note"}}}});
    }
    if r.staff {
        op["security"] = json!([{"staffToken": []}]);
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
    if r.path.starts_with("/authority/") {
        op["security"] = json!([{"authoritySignature": []}]);
    }
    if r.path.starts_with("/emergency/") {
        op["security"] = json!([{"doctorSignature": []}]);
    }
    if r.path == "/auth/token" {
        let s = json!({"type": "string"});
        op["requestBody"] = json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": obj(
            &["grant_type", "client_assertion_type", "client_assertion", "scope"],
            json!({"grant_type": {"const": "client_credentials"},
                   "client_assertion_type": {"const": crate::systems::ASSERTION_TYPE},
                   "client_assertion": {"type": "string", "description": "compact JWS (ES384 or RS384; header alg, kid, typ JWT) with iss = sub = client_id, aud = the token URL, exp at most 5 minutes ahead, a fresh jti"},
                   "scope": {"type": "string", "description": "space-separated SMART v2 system scopes, e.g. system/DiagnosticReport.c system/Observation.c"},
                   "client_id": s}),
        )}}});
    }
    if r.path == "/fhir" {
        op["requestBody"] = json!({"required": true, "content": {
            "application/fhir+json": {"schema": {"type": "object", "description": "FHIR R4 Bundle of type transaction with identifier (system, value); entries POST DiagnosticReport, Observation, MedicationRequest, Condition, Immunization, Encounter, Invoice"}},
            "application/json": {"schema": {"type": "object"}}}});
        op["security"] = json!([{"smartBackendServices": ["system/*.c"]}]);
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
    let kind = json!({"type": "string", "enum": ["prescription", "lab_report", "diagnosis", "immunization", "encounter", "payment", "document"]});
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
        "/staff/share-proofs" => obj(
            &["log_index", "investigator"],
            json!({"log_index": u, "investigator": {"type": "string", "pattern": "^[a-z0-9.-]{1,64}$"},
                   "min_cosignatures": {"type": "integer", "minimum": 0, "maximum": 255}, "doctor_credential": s}),
        ),
        "/patient/enroll" => obj(
            &["health_id", "code", "public_key"],
            json!({"health_id": s, "code": s, "public_key": {"type": "object"}}),
        ),
        "/patient/records" => obj(&[], json!({"since": u, "known_size": u})),
        "/patient/receipts" => obj(&[], json!({"since": u, "known_size": u})),
        "/patient/proofs" => obj(
            &["log_indices", "min_cosignatures"],
            json!({"log_indices": {"type": "array", "items": u, "maxItems": 1000}, "min_cosignatures": {"type": "integer", "minimum": 1, "maximum": 255}, "known_size": u}),
        ),
        "/patient/revocations" => obj(&["revocation"], json!({"revocation": s})),
        "/patient/rotate-key" => obj(&["statement"], json!({"statement": s})),
        "/patient/details" => obj(&[], json!({"phone": s, "district": s, "upazila": s})),
        "/patient/grant-passcodes" => {
            obj(&["grant", "verifier"], json!({"grant": s, "verifier": s}))
        }
        "/patient/delegations" => obj(&["delegation"], json!({"delegation": s})),
        "/staff/systems" => obj(
            &["name", "jwks", "scopes"],
            json!({"name": s, "jwks": {"type": "object", "description": "JWK Set of public keys: EC P-384 (ES384) or RSA 2048-8192 (RS384), each with a unique kid; private members (d, p, q, ...) refused"},
                   "scopes": {"type": "array", "items": {"type": "string", "enum": crate::systems::supported_scopes()}, "minItems": 1}}),
        ),
        "/delegate/records" | "/delegate/receipts" => obj(
            &["patient"],
            json!({"patient": s, "since": u, "known_size": u}),
        ),
        "/patient/files" => obj(&["record_id"], json!({"record_id": s})),
        "/grant/files" => obj(
            &["grant", "record_id"],
            json!({"grant": s, "record_id": s, "passcode": s}),
        ),
        "/delegate/files" => obj(
            &["patient", "record_id"],
            json!({"patient": s, "record_id": s}),
        ),
        "/grant/records" => obj(
            &["grant"],
            json!({"grant": s, "record_ids": {"type": "array", "items": s}, "passcode": s}),
        ),
        "/grant/write" => obj(
            &["grant", "kind", "resources"],
            json!({"grant": s, "kind": kind, "supersedes": s, "resources": resources}),
        ),
        "/authority/stats" => obj(
            &["from", "to", "challenge"],
            json!({"from": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"}, "to": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"}, "challenge": s}),
        ),
        "/emergency/requests" => obj(
            &["health_id"],
            json!({"health_id": s,
                   "reason": {"type": "string", "enum": crate::emergency::REASONS},
                   "details": {"type": "string", "minLength": 1, "maxLength": crate::emergency::MAX_DETAILS_CHARS},
                   "hours": {"type": "integer", "minimum": 1, "maximum": crate::emergency::MAX_HOURS}}),
        ),
        "/emergency/summary" => obj(&["access_id"], json!({"access_id": s})),
        "/patient/emergency-policy" => obj(
            &["mode", "set_at"],
            json!({"mode": {"type": "string", "enum": ["allow", "opt_out", "only"]},
                   "hospitals": {"type": "array", "items": s, "maxItems": crate::emergency::MAX_POLICY_HOSPITALS},
                   "set_at": u}),
        ),
        "/patient/emergency-disputes" => obj(
            &["access_id", "text"],
            json!({"access_id": s, "text": {"type": "string", "minLength": 1, "maxLength": crate::emergency::MAX_DISPUTE_CHARS}}),
        ),
        _ => json!({"type": "object", "description": "FHIR Parameters"}),
    }
}

/// Schemas of the JSON responses (what the server serializes; every field is always present).
/// The delegate routes' answer schemas (`docs/protocol.md` §16), added outside the one large
/// `json!` of [`response_schemas`], which is at the macro's recursion limit.
fn with_delegation_schemas(mut schemas: Value) -> Value {
    let s = json!({"type": "string"});
    let i = json!({"type": "integer"});
    let props = json!({"delegation_id": s, "delegate": s, "expires_at": i});
    let required: Vec<String> = props
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(m) = schemas.as_object_mut() {
        m.insert(
            "StoredFile".into(),
            json!({"type": "object", "additionalProperties": false,
                   "required": ["sha256", "size", "content_type"],
                   "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                  "size": {"type": "integer", "minimum": 0},
                                  "content_type": {"type": "string", "enum": ["application/pdf", "image/jpeg", "image/png"]}}}),
        );
        m.insert(
            "DelegationRegistered".into(),
            json!({"type": "object", "properties": props, "required": required, "additionalProperties": false}),
        );
    }
    schemas
}

/// The hospital systems' schemas (FHIR push), outside the large `json!` of [`response_schemas`].
fn with_system_schemas(mut schemas: Value) -> Value {
    let s = json!({"type": "string"});
    let i = json!({"type": "integer"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let all = |props: Value| {
        let required: Vec<String> = props
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
    };
    let system = all(
        json!({"client_id": s, "name": s, "scopes": strings, "kids": strings,
        "created_at": i, "disabled_at": {"type": ["integer", "null"]}}),
    );
    let add = [
        ("System", system),
        (
            "SystemList",
            all(json!({"systems": {"type": "array", "items": schema_ref("System")}})),
        ),
        (
            "SmartConfiguration",
            all(json!({"token_endpoint": s,
            "token_endpoint_auth_methods_supported": strings,
            "token_endpoint_auth_signing_alg_values_supported": strings,
            "grant_types_supported": strings, "scopes_supported": strings, "capabilities": strings})),
        ),
        (
            "AccessToken",
            all(
                json!({"access_token": s, "token_type": {"const": "Bearer"}, "expires_in": i, "scope": s}),
            ),
        ),
        (
            "OAuthError",
            all(
                json!({"error": {"type": "string", "enum": ["invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"]}, "error_description": s}),
            ),
        ),
        (
            "OperationOutcome",
            json!({"type": "object", "required": ["resourceType", "issue"],
            "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "items": {"type": "object"}}}}),
        ),
    ];
    if let Some(m) = schemas.as_object_mut() {
        for (k, v) in add {
            m.insert(k.into(), v);
        }
    }
    schemas
}

fn response_schemas() -> Value {
    let s = json!({"type": "string"});
    let i = json!({"type": "integer"});
    let u = json!({"type": "integer", "minimum": 0});
    let b = json!({"type": "boolean"});
    let ns = json!({"type": ["string", "null"]});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let kind = json!({"type": "string", "enum": ["prescription", "lab_report", "diagnosis", "immunization", "encounter", "payment", "document"]});
    let category = json!({"type": "string", "enum": ["prescription", "lab_result", "diagnosis", "immunization", "encounter", "payment", "note"]});
    let arr = |name: &str| json!({"type": "array", "items": schema_ref(name)});
    let all = |props: Value| {
        let required: Vec<String> = props
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
    };
    // `field` is optional: the staff console's invalid_field problems name the form field.
    let mut problem = all(json!({"type": s, "title": s, "status": i, "code": s, "detail": s}));
    problem["properties"]["field"] = json!({"type": "string", "description": "the form field an invalid_field problem of the staff console is about"});
    let emergency_access = {
        let ni = json!({"type": ["integer", "null"]});
        let dispute = json!({"type": ["object", "null"], "additionalProperties": false,
            "required": ["text", "disputed_at"], "properties": {"text": s, "disputed_at": i}});
        let status = json!({"type": "string", "enum": ["pending", "lapsed", "active", "expired"]});
        all(
            json!({"access_id": s, "health_id": s, "doctor_bmdc": s, "doctor_name": s,
            "reason": s, "details": s, "hours": u, "requested_at": i, "status": status,
            "confirmed_at": ni, "confirmed_by": ns, "expires_at": ni, "log_index": ni,
            "dispute": dispute}),
        )
    };
    json!({
        "Problem": problem,
        "Jwks": all(json!({"keys": {"type": "array", "items": {"type": "object", "description": "public JWK (ES256) with kid and crlVersion"}}})),
        "Crl": all(json!({"kid": s, "method": {"const": "rid"}, "ctr": u, "rids": strings})),
        "Patient": all(json!({"health_id": s, "name": s, "birth_date": s, "sex": s, "national_id": s, "phone": s, "district": s, "upazila": s})),
        "PatientRegistered": all(json!({"health_id": s, "enrollment_code": s, "enrollment_code_expires": i, "enrollment_text": s, "enrollment_qr_svg": s})),
        "DoctorRegistered": all(json!({"bmdc_number": s, "kid": s, "credential": s})),
        "IssuedRecord": all(json!({"id": s, "health_id": s, "kind": kind, "category": category, "supersedes": ns, "log_index": u, "issued_at": i, "jws": s})),
        "RecordRevoked": all(json!({"record_id": s, "reason": {"type": "string", "enum": ["wrong_patient", "entered_in_error", "duplicate", "other"]}, "revoked_at": i, "log_index": u, "crl_version": u})),
        "Nonce": all(json!({"nonce": s, "expires": i})),
        "Enrolled": all(json!({"health_id": s, "kid": s, "enrollment_credential": s, "log_index": u})),
        "KeyRotated": all(json!({"health_id": s, "old_kid": s, "kid": s, "enrollment_credential": s, "log_index": u, "rotated_at": i, "already": b})),
        "PulledRecord": all(json!({"id": s, "kind": kind, "supersedes": ns, "issued_at": i, "jws": s, "log_index": u, "entry": s, "salt": s, "inclusion_proof": strings})),
        "Pull": all(json!({"records": arr("PulledRecord"), "cursor": u, "more": b, "checkpoint": s, "tree_size": u, "consistency_proof": strings})),
        "Receipt": all(json!({"seq": u, "event": {"type": "object"}, "log_index": u, "entry": s, "salt": s, "inclusion_proof": strings})),
        "Receipts": all(json!({"receipts": arr("Receipt"), "cursor": u, "checkpoint": s, "tree_size": u, "consistency_proof": strings})),
        "EntryProof": all(json!({"log_index": u, "inclusion_proof": strings})),
        "WitnessedProofs": all(json!({"checkpoint": s, "tree_size": u, "consistency_proof": strings, "proofs": arr("EntryProof")})),
        "ForkEvidence": all(json!({"id": i, "origin": s, "at": i, "kind": {"type": "string", "enum": ["fork", "inconsistent"]}, "cosigned": s, "refused": s})),
        "Forks": all(json!({"forks": arr("ForkEvidence")})),
        "Redeemed": all(json!({"records": arr("PulledRecord"), "checkpoint": s, "tree_size": u, "access_log_index": u})),
        "LogIndex": all(json!({"log_index": u})),
        "ShareProof": all(json!({"share_proof": {"type": "string", "description": "compact JWS (ES256, typ spondon-share-proof+jws), docs/protocol.md §14"}, "log_index": u, "at": i, "records": u, "tree_size": u})),
        "PasscodeRegistered": all(json!({"grant_id": s, "max_failures": u})),
        "EmergencyRequested": all(json!({"access_id": s, "status": {"const": "pending_confirmation"}, "confirm_by": i, "hours": u})),
        "EmergencyConfirmed": all(json!({"access_id": s, "confirmed_by": s, "expires_at": i, "log_index": u, "records": u})),
        "SummaryPatient": all(json!({"health_id": s, "name": s, "birth_date": s, "sex": s})),
        "SummaryItem": all(json!({"text": s, "code": ns, "record_id": s})),
        "SummaryMedication": all(json!({"medication": s, "dosage": ns, "record_id": s})),
        "EmergencySummary": all(json!({"access_id": s, "expires_at": i, "patient": schema_ref("SummaryPatient"),
            "allergies": arr("SummaryItem"), "medications": arr("SummaryMedication"), "problems": arr("SummaryItem"),
            "blood_group": ns, "records": arr("PulledRecord"), "checkpoint": s, "tree_size": u})),
        "EmergencyAccess": emergency_access,
        "EmergencyAccessList": all(json!({"accesses": arr("EmergencyAccess")})),
        "EmergencyPolicyRegistered": all(json!({"mode": {"type": "string", "enum": ["allow", "opt_out", "only"]}, "set_at": i, "allowed_here": b})),
        "EmergencyDisputed": all(json!({"access_id": s, "disputed_at": i})),
        "StatsAnswer": all(json!({"aggregate": {"type": "string", "description": "compact JWS (ES256, typ spondon-stats+jws) of the aggregate, docs/protocol.md §13"}, "salt": s, "log_index": u, "proof": {"type": "string", "description": "c2sp.org/tlog-proof@v1 bundle of the log entry (kind 6)"}})),
    })
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
                "authoritySignature": {"type": "apiKey", "in": "header", "name": "Spondon-Signature", "description": "token::SignedRequest (docs/protocol.md §7a) by a health-authority key listed in the config's stats_authority_keys"},
                "doctorSignature": {"type": "apiKey", "in": "header", "name": "Spondon-Signature", "description": "token::SignedRequest (docs/protocol.md §7a) by the key of a doctor registered at this peer (emergency access)"},
                "smartBackendServices": {"type": "oauth2", "description": "SMART Backend Services (docs/peer.md, Hospital systems: FHIR push): client_credentials with a private_key_jwt assertion; a system registered by an admin (POST /staff/systems)",
                    "flows": {"clientCredentials": {"tokenUrl": format!("{}{}", config.url.trim_end_matches('/'), crate::systems::TOKEN_PATH),
                        "scopes": crate::systems::supported_scopes().into_iter().map(|s| (s, Value::String("create resources of this type".into()))).collect::<Map<String, Value>>()}}},
                "proofOfPossession": {"type": "apiKey", "in": "header", "name": "Spondon-PoP", "description": "token::PopProof by the grant's audience key (docs/protocol.md §7); bearer grants send a passcode instead, checked against the verifier the patient registered"},
            },
            "schemas": with_system_schemas(with_delegation_schemas(response_schemas())),
        },
    })
}
