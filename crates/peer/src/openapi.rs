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
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
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
            "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer", "description": "Staff token created by `spondon-peer init` or `staff-token`"}},
            "schemas": {"Problem": {"type": "object", "description": "RFC 9457 problem details", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string"}, "detail": {"type": "string"}}}},
        },
    })
}
