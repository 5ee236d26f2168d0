//! The OpenAPI conformance check for any served document: every JSON answer a test receives must
//! match the schema the document gives for its route and status (problem+json: the `Problem`
//! schema). A minimal JSON Schema check for the subset the project's documents use.

use serde_json::{Value, json};

use crate::http::Resp;

/// A served OpenAPI document and the route templates answers are matched against.
#[derive(Debug, Clone)]
pub struct Conformance {
    doc: Value,
    /// (method in lower case, path template).
    routes: Vec<(String, String)>,
}

impl Conformance {
    /// The document's own routes (every method of every path).
    pub fn new(doc: Value) -> Self {
        let mut routes = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, ops) in paths {
                for method in ops.as_object().into_iter().flat_map(|o| o.keys()) {
                    routes.push((method.to_ascii_lowercase(), path.clone()));
                }
            }
        }
        Conformance { doc, routes }
    }

    /// Also these routes (method, template) the server declares: an answer on one of them that
    /// the document does not describe then fails instead of going unchecked.
    pub fn with_routes<'a>(mut self, routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (m, p) in routes {
            let r = (m.to_ascii_lowercase(), p.to_owned());
            if !self.routes.contains(&r) {
                self.routes.push(r);
            }
        }
        self
    }

    /// The OpenAPI document checked against.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The route template a concrete path (query ignored) belongs to.
    pub fn template_of(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.split('/').collect();
        let method = method.to_ascii_lowercase();
        self.routes
            .iter()
            .filter(|(m, _)| *m == method)
            .find(|(_, t)| {
                // A trailing `{path}` takes the rest of the path (the tiles).
                if let Some(prefix) = t.strip_suffix("{path}") {
                    return path.starts_with(prefix) && path.len() > prefix.len();
                }
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segs.len()
                    && ts.iter().zip(&segs).all(|(a, b)| {
                        (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b
                    })
            })
            .map(|(_, t)| t.as_str())
    }

    /// Panics when the answer to `method path` does not conform.
    pub fn check(&self, method: &str, path: &str, r: &Resp) {
        let doc = &self.doc;
        let ct = r.header("content-type").unwrap_or("").to_owned();
        if ct == "application/problem+json" {
            conforms(
                doc,
                &doc["components"]["schemas"]["Problem"],
                &r.json(),
                "problem",
            );
            return;
        }
        if !(200..300).contains(&r.status) {
            return;
        }
        let Some(t) = self.template_of(method, path) else {
            return;
        };
        let op = &doc["paths"][t][method.to_ascii_lowercase()];
        let documented = &op["responses"][r.status.to_string()];
        assert!(
            documented.is_object(),
            "{method} {t} answered {} which the OpenAPI document does not document",
            r.status
        );
        let media = documented["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {t} {}: no content documented", r.status));
        // A document's file is answered in its own type: one of the documented ones.
        let content = media
            .get(&ct)
            .unwrap_or_else(|| panic!("{method} {t}: content type {ct} is not documented"));
        if ct.contains("json") {
            conforms(doc, &content["schema"], &r.json(), &format!("{method} {t}"));
        }
    }
}

/// Panics when `v` does not match `schema` (`$ref`s resolved in `doc`).
pub fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        let s = &doc["components"]["schemas"][name];
        assert!(s.is_object(), "{at}: dangling {r}");
        return conforms(doc, s, v, at);
    }
    if let Some(c) = schema.get("const") {
        assert_eq!(v, c, "{at}");
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let ok = types.iter().any(|t| match *t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    });
    assert!(ok, "{at}: {v} is not {types:?}");
    if schema.get("minimum").and_then(Value::as_i64) == Some(0) {
        assert!(v.is_u64(), "{at}: {v} is negative");
    }
    if let (Some(o), Some(props)) = (
        v.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap_or_default();
            assert!(o.contains_key(req), "{at}: {req} missing in {v}");
        }
        for (k, val) in o {
            match props.get(k) {
                Some(ps) => conforms(doc, ps, val, &format!("{at}.{k}")),
                None => assert!(
                    schema["additionalProperties"] != json!(false),
                    "{at}: undocumented field {k}"
                ),
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (n, x) in a.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{n}]"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn doc() -> Value {
        json!({"paths": {"/things/{id}": {"get": {"responses": {"200": {"content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
          "components": {"schemas": {"Thing": {"type": "object", "required": ["id"],
            "additionalProperties": false, "properties": {"id": {"type": "string"}}}}}})
    }

    #[test]
    fn a_conforming_answer_passes() {
        let c = Conformance::new(doc());
        assert_eq!(c.template_of("GET", "/things/7?x=1"), Some("/things/{id}"));
        c.check("GET", "/things/7", &resp(200, json!({"id": "7"})));
    }

    #[test]
    #[should_panic(expected = "undocumented field extra")]
    fn an_undocumented_field_fails() {
        Conformance::new(doc()).check(
            "GET",
            "/things/7",
            &resp(200, json!({"id": "7", "extra": 1})),
        );
    }

    #[test]
    #[should_panic(expected = "does not document")]
    fn an_undocumented_status_on_a_declared_route_fails() {
        Conformance::new(doc())
            .with_routes([("POST", "/things/{id}")])
            .check("POST", "/things/7", &resp(201, json!({})));
    }
}
