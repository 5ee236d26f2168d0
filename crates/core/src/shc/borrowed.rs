//! The fast path of a card's payload: the JSON text parsed once into a tree that borrows its
//! strings from the text (no `BTreeMap`, no `String` per key or value), the claims taken from it
//! and the FHIR rules checked on it.
//!
//! It only ever says "this card is exactly as the `serde_json::Value` path would judge it, and
//! clean": any doubt (a duplicate key anywhere, a claim of the wrong shape, any FHIR finding,
//! error or warning) answers `None`, and the caller takes the `Value` path
//! ([`super::jws::Payload::from_value`], [`super::fhir::check_bundle_for`]), which gives the
//! errors and warnings in their usual words and order. So a valid, clean card costs one parse
//! of borrowed nodes, and every other card costs what it did before plus that parse.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{VC_TYPE_HEALTH_CARD, Warning, fhir, parse_rid};

/// A JSON value whose strings borrow from the parsed text where they have no escapes. Objects
/// keep their members in document order; an object with a key twice does not parse (the `Value`
/// path keeps the last one, so the caller falls back to it).
// No `Debug`: health data never reaches a log line.
pub(crate) enum Node<'a> {
    Null,
    Bool,
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Parses JSON text as `serde_json::from_str::<Value>` would (the same tokenizer, numbers
    /// and recursion limit), refusing duplicate keys.
    pub(crate) fn parse(text: &'a str) -> Option<Node<'a>> {
        serde_json::from_str(text).ok()
    }

    /// Parses JSON bytes (as `serde_json::from_slice::<Value>`), refusing duplicate keys.
    pub(crate) fn parse_slice(bytes: &'a [u8]) -> Option<Node<'a>> {
        serde_json::from_slice(bytes).ok()
    }

    /// The member `key` of an object (`None` for anything else), as `Value::get`.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether an object has the member `key`.
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Node<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

// The same visits as `serde_json::Value`'s visitor, so that numbers come out as the same `Number`.
impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_owned())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value()?;
            members.push((key, value));
        }
        if has_duplicate(&members) {
            return Err(de::Error::custom("duplicate key"));
        }
        Ok(Node::Object(members))
    }
}

fn has_duplicate(members: &[(Cow<'_, str>, Node<'_>)]) -> bool {
    if members.len() <= 16 {
        return members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[..i].iter().any(|(e, _)| e == k));
    }
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// An object's key, borrowed where it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// The claims of a payload, as [`super::jws::Payload::from_value`] takes them.
// No `Debug`: `rid` and the rest stay out of log lines.
#[derive(Clone)]
pub(crate) struct Claims {
    pub iss: String,
    pub nbf: Number,
    pub exp: Option<Number>,
    pub types: Vec<String>,
    pub fhir_version: String,
    pub rid: Option<String>,
}

impl Claims {
    /// The claims of a payload the `Value` path took apart.
    pub(crate) fn of(p: &super::jws::Payload) -> Claims {
        Claims {
            iss: p.iss.clone(),
            nbf: p.nbf.clone(),
            exp: p.exp.clone(),
            types: p.types.clone(),
            fhir_version: p.fhir_version.clone(),
            rid: p.rid.clone(),
        }
    }
}

/// What the fast path found in a payload.
pub(crate) struct Fast {
    pub claims: Claims,
    /// The warnings of [`super::jws::Payload::check_content_for`] when the bundle is clean;
    /// `None` when the bundle has any finding (the `Value` path then judges it).
    pub content: Option<Vec<Warning>>,
}

/// The payload's claims and content judgement from its text, or `None` when the `Value` path
/// must decide (it would give an error, or something this path does not reproduce).
pub(crate) fn payload(text: &str) -> Option<Fast> {
    let root = Node::parse(text)?;
    let (claims, bundle) = claims(&root)?;
    let content = if clean_bundle(bundle) {
        let mut w = type_warnings(&claims.types, bundle);
        if claims.fhir_version != "4.0.1" {
            w.push(Warning::new(
                "fhir_version",
                format!("fhirVersion {:?}; FHIR R4 is 4.0.1", claims.fhir_version),
            ));
        }
        Some(w)
    } else {
        None
    };
    Some(Fast { claims, content })
}

fn number_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// [`super::jws::Payload::from_value`]'s successful case, on a node; `None` where it would fail.
fn claims<'n, 'a>(root: &'n Node<'a>) -> Option<(Claims, &'n Node<'a>)> {
    let iss = root.get("iss")?.as_str()?.to_owned();
    let Node::Number(nbf) = root.get("nbf")? else {
        return None;
    };
    let exp = match root.get("exp") {
        None => None,
        Some(Node::Number(n)) => Some(n.clone()),
        Some(_) => return None,
    };
    let vc @ Node::Object(_) = root.get("vc")? else {
        return None;
    };
    let types: Vec<String> = vc
        .get("type")?
        .as_array()?
        .iter()
        .map(|t| t.as_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    if !types.iter().any(|t| t == VC_TYPE_HEALTH_CARD) {
        return None;
    }
    let rid = match vc.get("rid") {
        None => None,
        Some(Node::String(s)) => {
            parse_rid(s).ok()?;
            Some(s.to_string())
        }
        Some(_) => return None,
    };
    let subject @ Node::Object(_) = vc.get("credentialSubject")? else {
        return None;
    };
    let fhir_version = match subject.get("fhirVersion")? {
        Node::String(s) if !s.is_empty() => s.to_string(),
        _ => return None,
    };
    let bundle @ Node::Object(_) = subject.get("fhirBundle")? else {
        return None;
    };
    if let Some(exp) = &exp
        && number_f64(exp) <= number_f64(nbf)
    {
        return None;
    }
    Some((
        Claims {
            iss,
            nbf: nbf.clone(),
            exp,
            types,
            fhir_version,
            rid,
        },
        bundle,
    ))
}

/// `resource:N` with N decimal digits.
fn is_resource_uri(s: &str) -> bool {
    s.strip_prefix("resource:")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether [`fhir::check_bundle_for`] would return no error and no warning for this bundle, for
/// a card of any length (a clean bundle has only short `resource:N` URIs, which every card
/// may use).
fn clean_bundle(bundle: &Node<'_>) -> bool {
    if bundle.get("resourceType").and_then(Node::as_str) != Some("Bundle")
        || bundle.get("type").and_then(Node::as_str) != Some("collection")
    {
        return false;
    }
    let Some(entries) = bundle.get("entry").and_then(Node::as_array) else {
        return false;
    };
    if entries.is_empty() {
        return false;
    }
    // Every fullUrl short and distinct (a long one is a warning even where it is allowed).
    let mut full_urls: Vec<&str> = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry.get("fullUrl").and_then(Node::as_str) {
            Some(u) if is_resource_uri(u) && !full_urls.contains(&u) => full_urls.push(u),
            _ => return false,
        }
    }
    entries.iter().all(|entry| {
        let Some(resource @ Node::Object(_)) = entry.get("resource") else {
            return false;
        };
        let Some(rt) = resource.get("resourceType").and_then(Node::as_str) else {
            return false;
        };
        if rt == "Immunization"
            && (resource.get("status").and_then(Node::as_str) != Some("completed")
                || resource.has("occurrenceDateTime") == resource.has("occurrenceString"))
        {
            return false;
        }
        if resource.has("id") || resource.has("text") {
            return false;
        }
        match resource.get("meta") {
            None => {}
            Some(Node::Object(m)) => {
                // Only `security`, and a well-formed one.
                let [(k, security)] = m.as_slice() else {
                    return false;
                };
                if k != "security" || !clean_security(security) {
                    return false;
                }
            }
            Some(_) => return false,
        }
        clean_walk(resource, &full_urls, false, false)
    })
}

/// [`fhir`]'s `check_security` passes.
fn clean_security(security: &Node<'_>) -> bool {
    let Some(items) = security.as_array() else {
        return false;
    };
    items.iter().all(|item| {
        let Node::Object(c) = item else {
            return false;
        };
        c.iter().all(|(k, v)| {
            fhir::CODING_KEYS.contains(&k.as_ref())
                && match k.as_ref() {
                    "userSelected" => matches!(v, Node::Bool),
                    "extension" => matches!(v, Node::Array(_)),
                    _ => matches!(v, Node::String(_)),
                }
        })
    })
}

/// [`fhir`]'s `walk` finds nothing below `value`: no empty string, array or object, every
/// `reference` a short URI naming an entry, no `CodeableConcept.text`, no `Coding.display`.
/// `under_coding`: `value` is the array of a `coding` member; `in_coding_array`: `value` is an
/// item of such an array.
fn clean_walk(
    value: &Node<'_>,
    full_urls: &[&str],
    under_coding: bool,
    in_coding_array: bool,
) -> bool {
    match value {
        Node::String(s) => !s.is_empty(),
        Node::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|item| clean_walk(item, full_urls, false, under_coding))
        }
        Node::Object(members) => {
            if members.is_empty() {
                return false;
            }
            if let Some(Node::String(reference)) = value.get("reference")
                && !(is_resource_uri(reference) && full_urls.contains(&reference.as_ref()))
            {
                return false;
            }
            if matches!(value.get("coding"), Some(Node::Array(_))) && value.has("text") {
                return false;
            }
            if in_coding_array && value.has("display") {
                return false;
            }
            members
                .iter()
                .all(|(k, v)| clean_walk(v, full_urls, k == "coding", false))
        }
        Node::Null | Node::Bool | Node::Number(_) => true,
    }
}

/// `resource[field].coding[0].code`, as [`fhir::first_code`].
fn first_code<'n>(resource: &'n Node<'_>, field: &str) -> Option<&'n str> {
    resource
        .get(field)?
        .get("coding")?
        .as_array()?
        .first()?
        .get("code")?
        .as_str()
}

/// [`super::jws::Payload`]'s VC type warnings, on a node.
fn type_warnings(types: &[String], bundle: &Node<'_>) -> Vec<Warning> {
    let resources: Vec<&Node<'_>> = bundle
        .get("entry")
        .and_then(Node::as_array)
        .map(|entries| entries.iter().filter_map(|e| e.get("resource")).collect())
        .unwrap_or_default();
    let is = |r: &Node<'_>, t: &str| r.get("resourceType").and_then(Node::as_str) == Some(t);
    let has_imm = resources.iter().any(|r| is(r, "Immunization"));
    let has_covid_imm = resources.iter().any(|r| {
        is(r, "Immunization")
            && first_code(r, "vaccineCode").is_some_and(|c| fhir::CDC_COVID_CVX_CODES.contains(&c))
    });
    let has_covid_obs = resources.iter().any(|r| {
        is(r, "Observation")
            && first_code(r, "code").is_some_and(|c| fhir::LOINC_COVID_CODES.contains(&c))
    });
    super::jws::vc_type_warnings(types, has_imm, has_covid_imm, has_covid_obs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::{Value, json};

    use super::*;
    use crate::shc::jws::Payload;

    fn testdata(rel: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/shc")
            .join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The fast path agrees with the `Value` path wherever it answers: the same claims, and for
    /// a clean bundle the same content warnings (at either QR length). Returns whether it
    /// answered with a clean bundle.
    fn agrees(text: &str) -> bool {
        let slow = serde_json::from_str::<Value>(text)
            .map_err(|e| e.to_string())
            .and_then(|v| Payload::from_value(v).map_err(|e| e.to_string()));
        let Some(fast) = payload(text) else {
            return false;
        };
        let p = slow.unwrap_or_else(|e| {
            panic!("the fast path accepted what the Value path refuses ({e}): {text}")
        });
        assert_eq!(fast.claims.iss, p.iss);
        assert_eq!(fast.claims.nbf, p.nbf);
        assert_eq!(fast.claims.exp, p.exp);
        assert_eq!(fast.claims.types, p.types);
        assert_eq!(fast.claims.fhir_version, p.fhir_version);
        assert_eq!(fast.claims.rid, p.rid);
        let Some(content) = fast.content else {
            return false;
        };
        for qr in [true, false] {
            assert_eq!(
                p.check_content_for(qr).as_ref(),
                Ok(&content),
                "qr {qr}: {text}"
            );
        }
        true
    }

    fn wrap(bundle: &Value) -> Value {
        json!({
            "iss": "https://spec.smarthealth.cards/examples/issuer",
            "nbf": 1_687_450_764.656,
            "vc": {
                "type": ["https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization", "https://smarthealth.cards#covid19"],
                "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": bundle},
                "rid": "MKyCxh7p6uQ"
            }
        })
    }

    #[test]
    fn the_published_payloads_agree_and_the_minified_ones_are_clean() {
        for i in 0..4 {
            let minified = testdata(&format!("example-0{i}-c-jws-payload-minified.json"));
            let text = minified.trim();
            // Example 02 is too long for one QR and uses long URIs (a warning): not clean.
            assert_eq!(agrees(text), i != 2, "example {i}");
            let expanded = testdata(&format!("example-0{i}-b-jws-payload-expanded.json"));
            agrees(
                &serde_json::to_string(&serde_json::from_str::<Value>(&expanded).unwrap()).unwrap(),
            );
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/shc/dev-tools-testdata");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            if name.contains("payload") {
                agrees(&text);
                agrees(text.trim());
            } else if let Ok(bundle) = serde_json::from_str::<Value>(&text) {
                agrees(&wrap(&bundle).to_string());
            }
            n += 1;
        }
        assert!(n > 20, "{n} vectors");
    }

    /// Every path of objects and arrays in `v`.
    fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                out.push(at.concat());
                for (k, x) in m {
                    at.push(format!("/{}", k.replace('~', "~0").replace('/', "~1")));
                    paths(x, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                out.push(at.concat());
                for (i, x) in a.iter().enumerate() {
                    at.push(format!("/{i}"));
                    paths(x, at, out);
                    at.pop();
                }
            }
            _ => out.push(at.concat()),
        }
    }

    /// Every way of breaking or bending a bundle one place at a time that the FHIR rules look
    /// at: the fast path agrees with the `Value` path on each (and is clean only where it is).
    #[test]
    fn one_change_anywhere_in_a_bundle_is_judged_as_the_value_path_judges_it() {
        let mut clean = 0;
        let mut changed = 0;
        // Two published bundles as issued (minified), one as published (with ids, texts and
        // displays): a few thousand variants, each parsed both ways.
        for (i, minified) in [(0, true), (1, true), (0, false)] {
            let mut bundle: Value =
                serde_json::from_str(&testdata(&format!("example-0{i}-a-fhirBundle.json")))
                    .unwrap();
            {
                if minified {
                    crate::shc::fhir::minify(&mut bundle);
                }
                let mut all = Vec::new();
                paths(&bundle, &mut Vec::new(), &mut all);
                let replacements = [
                    json!(""),
                    json!([]),
                    json!({}),
                    json!(null),
                    json!(true),
                    json!(7),
                    json!("x"),
                    json!("resource:0"),
                    json!("resource:99"),
                    json!("Patient/1"),
                    json!(["x"]),
                    json!({"a": "b"}),
                ];
                let added = [
                    ("id", json!("1")),
                    ("text", json!("t")),
                    ("display", json!("d")),
                    ("reference", json!("resource:0")),
                    ("reference", json!("resource:42")),
                    ("reference", json!("urn:uuid:1")),
                    ("reference", json!(3)),
                    ("coding", json!([{"code": "1"}])),
                    ("security", json!([{"code": "IAL1.2"}])),
                    ("security", json!([{"bad": "x"}])),
                    ("occurrenceString", json!("2021")),
                    ("occurrenceDateTime", json!("2021-01-01")),
                    ("status", json!("not-done")),
                    ("meta", json!({"security": [{"code": "x"}]})),
                    ("meta", json!({"versionId": "1"})),
                    ("fullUrl", json!("resource:0")),
                    ("fullUrl", json!("https://x/1")),
                ];
                for p in &all {
                    for r in &replacements {
                        let mut b = bundle.clone();
                        *b.pointer_mut(p).unwrap() = r.clone();
                        clean += usize::from(agrees(&wrap(&b).to_string()));
                        changed += 1;
                    }
                    if bundle.pointer(p).is_some_and(Value::is_object) {
                        for (k, v) in &added {
                            let mut b = bundle.clone();
                            b.pointer_mut(p)
                                .unwrap()
                                .as_object_mut()
                                .unwrap()
                                .insert((*k).to_owned(), v.clone());
                            clean += usize::from(agrees(&wrap(&b).to_string()));
                            changed += 1;
                        }
                        let keys: Vec<String> = bundle
                            .pointer(p)
                            .unwrap()
                            .as_object()
                            .unwrap()
                            .keys()
                            .cloned()
                            .collect();
                        for k in keys {
                            let mut b = bundle.clone();
                            b.pointer_mut(p)
                                .unwrap()
                                .as_object_mut()
                                .unwrap()
                                .remove(&k);
                            clean += usize::from(agrees(&wrap(&b).to_string()));
                            changed += 1;
                        }
                    }
                }
            }
        }
        assert!(
            changed > 1000 && clean > 0,
            "{changed} changes, {clean} clean"
        );
    }

    #[test]
    fn a_duplicate_key_anywhere_leaves_the_payload_to_the_value_path() {
        let text = testdata("example-00-c-jws-payload-minified.json");
        let text = text.trim();
        assert!(payload(text).is_some());
        // The Value path keeps the last of two equal keys; the fast path steps aside.
        let dup_top = text.replacen("{\"iss\":", "{\"iss\":\"https://evil.example\",\"iss\":", 1);
        assert_ne!(dup_top, text);
        assert!(payload(&dup_top).is_none());
        let dup_deep = text.replacen(
            "\"status\":\"completed\"",
            "\"status\":\"completed\",\"status\":\"not-done\"",
            1,
        );
        assert_ne!(dup_deep, text);
        assert!(payload(&dup_deep).is_none());
        // Many members (the sorted check) too.
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let obj = format!("{{{many}\"k7\":1}}");
        assert!(Node::parse(&obj).is_none());
        let obj = format!("{{{many}\"k40\":1}}");
        assert!(Node::parse(&obj).is_some());
    }

    #[test]
    fn strings_borrow_unless_escaped_and_numbers_are_the_value_paths() {
        let n = Node::parse(
            r#"{"a":"plain","b\u0041":"esc\"aped","n":[1,-2,0.5,1e3,18446744073709551615]}"#,
        )
        .unwrap();
        assert!(matches!(
            n.get("a"),
            Some(Node::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(n.get("bA"), Some(Node::String(Cow::Owned(s))) if s == "esc\"aped"));
        let v: Value = serde_json::from_str(r#"[1,-2,0.5,1e3,18446744073709551615]"#).unwrap();
        let Some(Node::Array(items)) = n.get("n") else {
            panic!()
        };
        for (item, want) in items.iter().zip(v.as_array().unwrap()) {
            let Node::Number(got) = item else { panic!() };
            assert_eq!(Some(got), want.as_number());
        }
        // Not JSON, or too deep, is refused as the Value path refuses it.
        assert!(Node::parse("{").is_none());
        assert!(Node::parse(&"[".repeat(200)).is_none());
        assert!(
            serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(200), "]".repeat(200)))
                .is_err()
        );
        assert!(Node::parse(&format!("{}{}", "[".repeat(200), "]".repeat(200))).is_none());
    }
}
