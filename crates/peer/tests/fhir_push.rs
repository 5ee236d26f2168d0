//! Hospital systems pushing records over FHIR (SMART Backend Services tokens, transaction
//! Bundles), against a real peer over HTTP on 127.0.0.1, on SQLite and (when configured)
//! PostgreSQL; and the example lab client (`examples/lab-client/lab_client.py`) end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use ring::rand::SystemRandom;
use ring::signature::{
    self, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};
use serde_json::{Value, json};
use spondon_core::NumericDate;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const HID_SYSTEM: &str = "https://spondon.health/fhir/sid/health-id";
const TOKEN_URL: &str = "https://dmch.example/auth/token";

fn b64(b: impl AsRef<[u8]>) -> String {
    spondon_core::b64::encode(b)
}

/// A system's signing key: EC P-384 (ES384) or the committed RSA test key (RS384).
enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

struct SysKey {
    key: Key,
    kid: String,
}

impl SysKey {
    fn ec(kid: &str) -> SysKey {
        let rng = SystemRandom::new();
        let pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pk8.as_ref(), &rng).unwrap();
        SysKey {
            key: Key::Ec(key),
            kid: kid.to_owned(),
        }
    }

    fn rsa(kid: &str) -> SysKey {
        let der = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/rs384-test-key.der"),
        )
        .unwrap();
        SysKey {
            key: Key::Rsa(RsaKeyPair::from_der(&der).unwrap()),
            kid: kid.to_owned(),
        }
    }

    fn jwk(&self) -> Value {
        match &self.key {
            Key::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-384", "kid": self.kid, "x": b64(&p[1..49]), "y": b64(&p[49..97])})
            }
            Key::Rsa(k) => {
                let c: signature::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                json!({"kty": "RSA", "kid": self.kid, "alg": "RS384", "n": b64(&c.n), "e": b64(&c.e)})
            }
        }
    }

    fn sign_with(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let rng = SystemRandom::new();
        let sig = match &self.key {
            Key::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA384,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                sig
            }
        };
        format!("{input}.{}", b64(sig))
    }

    fn alg(&self) -> &'static str {
        match self.key {
            Key::Ec(_) => "ES384",
            Key::Rsa(_) => "RS384",
        }
    }

    /// A valid assertion for `client_id`, with `edit` applied to the claims.
    fn assertion(&self, client_id: &str, edit: impl FnOnce(&mut Value)) -> String {
        self.assertion_to(TOKEN_URL, client_id, edit)
    }

    /// [`SysKey::assertion`] for the token endpoint `aud`.
    fn assertion_to(&self, aud: &str, client_id: &str, edit: impl FnOnce(&mut Value)) -> String {
        let now = NumericDate::now().seconds();
        let mut claims = json!({"iss": client_id, "sub": client_id, "aud": aud,
            "exp": now + 120, "jti": b64(spondon_core::keys::random_bytes::<12>().unwrap())});
        edit(&mut claims);
        let header = json!({"alg": self.alg(), "kid": self.kid, "typ": "JWT"});
        self.sign_with(&header, &claims)
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn token_request(tp: &TestPeer, body: &str) -> Resp {
    request(
        tp.addr,
        "POST",
        "/auth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

async fn token_with(tp: &TestPeer, assertion: &str, scope: &str) -> Resp {
    token_request(
        tp,
        &form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", scope),
        ]),
    )
    .await
}

/// The OAuth error of a refused token request.
fn oauth_error(r: &Resp) -> String {
    assert!(
        r.status == 400 || r.status == 401,
        "{} {}",
        r.status,
        r.text()
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()["error"].as_str().unwrap().to_owned()
}

async fn register_system(tp: &TestPeer, key: &SysKey, scopes: &[&str]) -> String {
    let r = tp
        .staff_post(
            "/staff/systems",
            &json!({"name": "DMCH LIS", "jwks": {"keys": [key.jwk()]}, "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["client_id"].as_str().unwrap().to_owned()
}

async fn get_token(tp: &TestPeer, key: &SysKey, client_id: &str, scope: &str) -> String {
    let r = token_with(tp, &key.assertion(client_id, |_| {}), scope).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 300);
    t["access_token"].as_str().unwrap().to_owned()
}

async fn push(tp: &TestPeer, token: Option<&str>, body: &[u8]) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/fhir+json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(tp.addr, "POST", "/fhir", &headers, body).await
}

/// The issue code and the peer's error code of an OperationOutcome response.
fn outcome(r: &Resp) -> (String, String) {
    assert_eq!(
        r.header("content-type"),
        Some("application/fhir+json"),
        "{} {}",
        r.status,
        r.text()
    );
    let o = r.json();
    assert_eq!(o["resourceType"], "OperationOutcome", "{o}");
    let issue = &o["issue"][0];
    assert_eq!(issue["severity"], "error");
    assert!(issue["diagnostics"].as_str().is_some_and(|d| !d.is_empty()));
    (
        issue["code"].as_str().unwrap().to_owned(),
        issue["details"]["coding"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

fn subject(hid: &str) -> Value {
    json!({"identifier": {"system": HID_SYSTEM, "value": hid}})
}

/// A CBC report: a DiagnosticReport and two Observations, under `order`.
fn cbc(hid: &str, order: &str) -> Value {
    let q = |v: f64| json!({"value": v, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"});
    json!({
        "resourceType": "Bundle", "type": "transaction",
        "identifier": {"system": "https://lis.dmch.example/orders", "value": order},
        "entry": [
            {"fullUrl": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000001",
             "resource": {"resourceType": "DiagnosticReport", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                "subject": subject(hid),
                "result": [{"reference": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000002"},
                           {"reference": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000003"}]},
             "request": {"method": "POST", "url": "DiagnosticReport"}},
            {"fullUrl": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000002",
             "resource": {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
                "subject": subject(hid), "valueQuantity": q(95.0),
                "referenceRange": [{"low": q(150.0), "high": q(450.0)}]},
             "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000003",
             "resource": {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "subject": subject(hid), "valueQuantity": q(7.8)},
             "request": {"method": "POST", "url": "Observation"}},
        ],
    })
}

const LAB_SCOPES: &[&str] = &["system/DiagnosticReport.c", "system/Observation.c"];
const LAB_SCOPE: &str = "system/DiagnosticReport.c system/Observation.c";
const DOC_SCOPE: &str =
    "system/DiagnosticReport.c system/Observation.c system/DocumentReference.c system/Binary.c";

/// A PDF of about `size` bytes: one page, and an uncompressed stream of hex text as filler
/// (a scanned report's size without its compression).
fn pdf_of_size(size: usize) -> Vec<u8> {
    let head = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n";
    let filler: Vec<u8> = (0..size.saturating_sub(300))
        .map(|i| b"0123456789abcdef"[(i * 7 + i / 13) % 16])
        .collect();
    let mut p = head.to_vec();
    p.extend_from_slice(format!("4 0 obj\n<< /Length {} >>\nstream\n", filler.len()).as_bytes());
    p.extend_from_slice(&filler);
    p.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n%%EOF\n");
    p
}

/// `bundle` with the PDF `bytes` (as `content_type`) as a Binary and the DocumentReference
/// whose attachment names it.
fn with_document(mut bundle: Value, hid: &str, content_type: &str, bytes: &[u8]) -> Value {
    use base64::Engine as _;
    let entries = bundle["entry"].as_array_mut().unwrap();
    entries.push(json!({"fullUrl": "urn:uuid:7f0c1f7e-0000-4000-8000-0000000000d0",
        "resource": {"resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
            "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category", "code": "lab_result"}]}],
            "subject": subject(hid),
            "content": [{"attachment": {"contentType": content_type, "title": "cbc.pdf",
                "url": "urn:uuid:7f0c1f7e-0000-4000-8000-0000000000b1"}}]},
        "request": {"method": "POST", "url": "DocumentReference"}}));
    entries.push(
        json!({"fullUrl": "urn:uuid:7f0c1f7e-0000-4000-8000-0000000000b1",
        "resource": {"resourceType": "Binary", "contentType": content_type,
            "data": base64::engine::general_purpose::STANDARD.encode(bytes)},
        "request": {"method": "POST", "url": "Binary"}}),
    );
    bundle
}

async fn sizes(tp: &TestPeer) -> (u64, u64) {
    (
        tp.peer.record_count(None).await.unwrap(),
        tp.peer.log.tree_head().await.0,
    )
}

#[tokio::test]
async fn discovery_documents_name_the_token_endpoint_and_the_transaction() {
    let tp = start(None).await;
    for path in [
        "/.well-known/smart-configuration",
        "/fhir/.well-known/smart-configuration",
    ] {
        let c = tp.get(path).await;
        assert_eq!(c.status, 200);
        let c = c.json();
        assert_eq!(c["token_endpoint"], TOKEN_URL);
        assert_eq!(
            c["token_endpoint_auth_methods_supported"],
            json!(["private_key_jwt"])
        );
        assert_eq!(
            c["token_endpoint_auth_signing_alg_values_supported"],
            json!(["ES384", "RS384"])
        );
        assert_eq!(c["capabilities"], json!(["client-confidential-asymmetric"]));
        let scopes = c["scopes_supported"].as_array().unwrap();
        assert!(scopes.contains(&json!("system/DiagnosticReport.c")));
        assert!(scopes.contains(&json!("system/*.c")));
    }
    let m = tp.get("/fhir/metadata").await;
    assert_eq!(m.status, 200);
    assert_eq!(m.header("content-type"), Some("application/fhir+json"));
    let m = m.json();
    assert_eq!(m["resourceType"], "CapabilityStatement");
    assert_eq!(m["fhirVersion"], "4.0.1");
    assert_eq!(m["kind"], "instance");
    let rest = &m["rest"][0];
    assert_eq!(rest["mode"], "server");
    assert_eq!(rest["interaction"], json!([{"code": "transaction"}]));
    assert_eq!(
        rest["security"]["service"][0]["coding"][0]["code"],
        "SMART-on-FHIR"
    );
    let uris = &rest["security"]["extension"][0];
    assert_eq!(
        uris["url"],
        "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    );
    assert_eq!(uris["extension"][0]["url"], "token");
    assert_eq!(uris["extension"][0]["valueUri"], TOKEN_URL);
    let types: Vec<&str> = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"DiagnosticReport") && types.contains(&"Observation"));
    // Errors under /fhir are OperationOutcomes, even from the router's fallbacks.
    let r = tp.get("/fhir/Patient").await;
    assert_eq!(r.status, 404);
    assert_eq!(outcome(&r), ("not-found".into(), "no_route".into()));
    tp.stop().await;
}

#[tokio::test]
async fn registration_is_for_admins_and_public_keys_only() {
    for db in engines("registration_is_for_admins_and_public_keys_only").await {
        let tp = start(db.as_deref()).await;
        let key = SysKey::ec("lis-1");
        // A records-only staff token may not register systems.
        let records = tp
            .peer
            .create_staff_token_with("records desk", &[spondon_peer::staff::Role::Records], 1)
            .await
            .unwrap();
        let auth = format!("Bearer {}", records.token);
        let body = json!({"name": "LIS", "jwks": {"keys": [key.jwk()]}, "scopes": LAB_SCOPES});
        let r = request(
            tp.addr,
            "POST",
            "/staff/systems",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!((r.status, r.code()), (403, "role_required".into()));
        // Private members are refused, whichever.
        for m in ["d", "p", "q", "dp", "k"] {
            let mut jwk = key.jwk();
            jwk[m] = json!(b64([9u8; 48]));
            let r = tp
                .staff_post(
                    "/staff/systems",
                    &json!({"name": "LIS", "jwks": {"keys": [jwk]}, "scopes": LAB_SCOPES}),
                )
                .await;
            assert_eq!((r.status, r.code()), (400, "invalid_field".into()), "{m}");
            assert!(r.text().contains("private"), "{}", r.text());
        }
        let r = tp
            .staff_post(
                "/staff/systems",
                &json!({"name": "LIS", "jwks": {"keys": [key.jwk()]}, "scopes": ["system/Patient.rs"]}),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, "invalid_field".into()));
        let id = register_system(&tp, &key, LAB_SCOPES).await;
        let list = tp.peer.systems().await.unwrap().systems;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].client_id, id);
        assert_eq!(list[0].kids, vec!["lis-1".to_owned()]);
        let auth = tp.auth();
        let r = request(
            tp.addr,
            "GET",
            "/staff/systems",
            &[("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["systems"][0]["client_id"], json!(id));
        tp.stop().await;
    }
}

#[tokio::test]
async fn token_refusals() {
    for db in engines("token_refusals").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let key = SysKey::ec("lis-1");
        let id = register_system(&tp, &key, LAB_SCOPES).await;
        let bundle = cbc(&hid, "ORD-1").to_string();

        // No token, a made-up token: 401 OperationOutcome, security.
        let r = push(&tp, None, bundle.as_bytes()).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            outcome(&r),
            ("security".into(), "system_unauthorized".into())
        );
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
        let r = push(&tp, Some("spsys_notatoken"), bundle.as_bytes()).await;
        assert_eq!(outcome(&r).0, "security");
        // A staff token is for people, not for the FHIR endpoint.
        let r = push(&tp, Some(&tp.token), bundle.as_bytes()).await;
        assert_eq!((r.status, outcome(&r).0), (401, "security".into()));

        let now = NumericDate::now().seconds();
        let refused = |what: &'static str| move |r: Resp| (what, oauth_error(&r));
        let mut cases = Vec::new();
        // Expired, and too far ahead.
        let a = key.assertion(&id, |c| c["exp"] = json!(now - 5));
        cases.push(refused("expired")(token_with(&tp, &a, LAB_SCOPE).await));
        let a = key.assertion(&id, |c| c["exp"] = json!(now + 3600));
        cases.push(refused("exp an hour ahead")(
            token_with(&tp, &a, LAB_SCOPE).await,
        ));
        // Signed by another key under the registered kid.
        let other = SysKey::ec("lis-1");
        let a = other.assertion(&id, |_| {});
        cases.push(refused("wrong key")(token_with(&tp, &a, LAB_SCOPE).await));
        let a = SysKey::ec("lis-9").assertion(&id, |_| {});
        cases.push(refused("unknown kid")(token_with(&tp, &a, LAB_SCOPE).await));
        let a = key.assertion(&id, |c| {
            c["aud"] = json!("https://other.example/auth/token")
        });
        cases.push(refused("aud wrong")(token_with(&tp, &a, LAB_SCOPE).await));
        let a = key.assertion(&id, |c| c["sub"] = json!("someone-else"));
        cases.push(refused("sub not iss")(token_with(&tp, &a, LAB_SCOPE).await));
        let a = key.assertion("no-such-client", |_| {});
        cases.push(refused("unknown client")(
            token_with(&tp, &a, LAB_SCOPE).await,
        ));
        // alg none (no signature) and HS256 (the client id as a MAC key).
        let claims = json!({"iss": id, "sub": id, "aud": TOKEN_URL, "exp": now + 60, "jti": "n1"});
        let none = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "kid": "lis-1", "typ": "JWT"}).to_string()),
            b64(claims.to_string())
        );
        cases.push(refused("alg none")(token_with(&tp, &none, LAB_SCOPE).await));
        let hs_input = format!(
            "{}.{}",
            b64(json!({"alg": "HS256", "kid": "lis-1", "typ": "JWT"}).to_string()),
            b64(claims.to_string())
        );
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, id.as_bytes()),
            hs_input.as_bytes(),
        );
        let hs = format!("{hs_input}.{}", b64(mac.as_ref()));
        cases.push(refused("alg HS256")(token_with(&tp, &hs, LAB_SCOPE).await));
        // A jku header is refused: keys only come from the registration.
        let jku = key.sign_with(
            &json!({"alg": "ES384", "kid": "lis-1", "typ": "JWT", "jku": "https://evil.example/jwks"}),
            &claims,
        );
        cases.push(refused("jku")(token_with(&tp, &jku, LAB_SCOPE).await));
        for (what, err) in &cases {
            assert_eq!(err, "invalid_client", "{what}");
        }
        // A replayed jti: the first use works, the second is refused.
        let a = key.assertion(&id, |c| c["jti"] = json!("once"));
        assert_eq!(token_with(&tp, &a, LAB_SCOPE).await.status, 200);
        let again = key.assertion(&id, |c| c["jti"] = json!("once"));
        let r = token_with(&tp, &again, LAB_SCOPE).await;
        assert_eq!((r.status, oauth_error(&r)), (401, "invalid_client".into()));
        assert!(r.text().contains("jti"), "{}", r.text());
        // Scopes: unregistered only, unknown syntax; granted ∩ registered.
        let r = token_with(&tp, &key.assertion(&id, |_| {}), "system/Condition.c").await;
        assert_eq!(oauth_error(&r), "invalid_scope");
        let r = token_with(&tp, &key.assertion(&id, |_| {}), "patient/*.rs").await;
        assert_eq!(oauth_error(&r), "invalid_scope");
        let r = token_with(
            &tp,
            &key.assertion(&id, |_| {}),
            "system/Observation.c system/Condition.c",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["scope"], "system/Observation.c");
        // The grant type, the assertion type, the body type.
        let r = token_request(
            &tp,
            &form(&[
                ("grant_type", "password"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &key.assertion(&id, |_| {})),
                ("scope", LAB_SCOPE),
            ]),
        )
        .await;
        assert_eq!(oauth_error(&r), "unsupported_grant_type");
        let r = token_request(
            &tp,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:other"),
                ("client_assertion", &key.assertion(&id, |_| {})),
                ("scope", LAB_SCOPE),
            ]),
        )
        .await;
        assert_eq!(oauth_error(&r), "invalid_client");
        let r = request(
            tp.addr,
            "POST",
            "/auth/token",
            &[("Content-Type", "application/json")],
            b"{}",
        )
        .await;
        assert_eq!(oauth_error(&r), "invalid_request");

        // Missing scope at the FHIR endpoint: an Observation-only token cannot create the report.
        let obs_only = get_token(&tp, &key, &id, "system/Observation.c").await;
        let r = push(&tp, Some(&obs_only), bundle.as_bytes()).await;
        assert_eq!(r.status, 403);
        assert_eq!(outcome(&r), ("forbidden".into(), "scope_missing".into()));
        assert_eq!(sizes(&tp).await.0, 0);

        // Disabled: its live token stops at once and it gets no new one.
        let live = get_token(&tp, &key, &id, LAB_SCOPE).await;
        let auth = tp.auth();
        let r = request(
            tp.addr,
            "POST",
            &format!("/staff/systems/{id}/disable"),
            &[("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["disabled_at"].is_i64());
        let r = push(&tp, Some(&live), bundle.as_bytes()).await;
        assert_eq!((r.status, outcome(&r).0), (401, "security".into()));
        let r = token_with(&tp, &key.assertion(&id, |_| {}), LAB_SCOPE).await;
        assert_eq!(oauth_error(&r), "invalid_client");
        assert_eq!(sizes(&tp).await.0, 0, "nothing was issued");

        // RS384 with an RSA key works as well as ES384.
        let rsa = SysKey::rsa("lis-rsa");
        let rid = register_system(&tp, &rsa, &["system/*.c"]).await;
        let t = get_token(&tp, &rsa, &rid, LAB_SCOPE).await;
        let r = push(&tp, Some(&t), bundle.as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        tp.stop().await;
    }
}

#[tokio::test]
async fn a_retried_bundle_issues_once() {
    for db in engines("a_retried_bundle_issues_once").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let key = SysKey::ec("lis-1");
        let id = register_system(&tp, &key, LAB_SCOPES).await;
        let token = get_token(&tp, &key, &id, LAB_SCOPE).await;
        let before = sizes(&tp).await;
        let bundle = cbc(&hid, "ORD-7").to_string();
        let first = push(&tp, Some(&token), bundle.as_bytes()).await;
        assert_eq!(first.status, 200, "{}", first.text());
        assert_eq!(first.header("content-type"), Some("application/fhir+json"));
        let answer = first.json();
        assert_eq!(answer["type"], "transaction-response");
        let entries = answer["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "one response per request entry");
        let loc = entries[0]["response"]["location"].as_str().unwrap();
        let rid = loc.strip_prefix("records/").unwrap();
        for e in entries {
            assert_eq!(e["response"]["status"], "201 Created");
            assert_eq!(
                e["response"]["location"],
                json!(loc),
                "one lab_report record"
            );
        }
        let ext = &entries[0]["response"]["extension"];
        let (rec, _) = tp.peer.stored_record(rid).await.unwrap();
        assert_eq!(rec.kind.as_str(), "lab_report");
        assert_eq!(rec.health_id, hid);
        assert_eq!(ext[0]["valueUnsignedInt"], json!(rec.log_index));
        assert_eq!(ext[1]["valueCode"], "lab_report");
        // The card holds the report with its results, about the registered patient.
        let card = spondon_core::shc::ParsedCard::parse(&rec.jws).unwrap();
        let fhir = card.fhir_bundle().to_string();
        assert!(fhir.contains("58410-2") && fhir.contains("777-3") && fhir.contains("6690-2"));
        let after = sizes(&tp).await;
        assert_eq!((after.0, after.1), (before.0 + 1, before.1 + 1));

        // The retry (same identifier, same Bundle) answers the first result, issues nothing.
        let again = push(&tp, Some(&token), bundle.as_bytes()).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json(), answer);
        assert_eq!(sizes(&tp).await, after);
        // Concurrent retries too.
        let (a, b) = tokio::join!(
            push(&tp, Some(&token), bundle.as_bytes()),
            push(&tp, Some(&token), bundle.as_bytes())
        );
        assert_eq!((a.json(), b.json()), (answer.clone(), answer.clone()));
        assert_eq!(sizes(&tp).await, after);
        // Another Bundle under the same identifier: 409, conflict.
        let mut other = cbc(&hid, "ORD-7");
        other["entry"][1]["resource"]["valueQuantity"]["value"] = json!(96.0);
        let r = push(&tp, Some(&token), other.to_string().as_bytes()).await;
        assert_eq!(r.status, 409);
        assert_eq!(
            outcome(&r),
            ("conflict".into(), "bundle_identifier_reused".into())
        );
        assert_eq!(sizes(&tp).await, after);
        // The identifier is per system: another system's ORD-7 is its own.
        let key2 = SysKey::ec("lis-2");
        let id2 = register_system(&tp, &key2, LAB_SCOPES).await;
        let t2 = get_token(&tp, &key2, &id2, LAB_SCOPE).await;
        let r = push(&tp, Some(&t2), bundle.as_bytes()).await;
        assert_eq!(r.status, 200);
        assert_ne!(r.json(), answer);
        assert_eq!(sizes(&tp).await.0, after.0 + 1);
        tp.stop().await;
    }
}

#[tokio::test]
async fn invalid_resources_are_refused_with_an_operation_outcome() {
    for db in engines("invalid_resources_are_refused_with_an_operation_outcome").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let key = SysKey::ec("lis-1");
        let id = register_system(&tp, &key, &["system/*.c"]).await;
        let token = get_token(&tp, &key, &id, "system/*.c").await;
        let before = sizes(&tp).await;
        let good = cbc(&hid, "ORD-9");
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut b = good.clone();
            f(&mut b);
            b
        };
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "not a Bundle",
                json!({"resourceType": "Patient"}),
                "invalid_fhir",
            ),
            (
                "batch",
                edit(&|b| b["type"] = json!("batch")),
                "invalid_fhir",
            ),
            (
                "no identifier",
                edit(&|b| {
                    b.as_object_mut().unwrap().remove("identifier");
                }),
                "invalid_fhir",
            ),
            (
                "no LOINC",
                edit(&|b| {
                    b["entry"][1]["resource"]["code"]["coding"][0]["system"] =
                        json!("http://snomed.info/sct")
                }),
                "invalid_fhir",
            ),
            (
                "no UCUM",
                edit(&|b| {
                    b["entry"][2]["resource"]["valueQuantity"]["system"] =
                        json!("http://example.org")
                }),
                "invalid_fhir",
            ),
            (
                "orphan Observation",
                edit(&|b| {
                    b["entry"][0]["resource"]["result"] =
                        json!([{"reference": "urn:uuid:7f0c1f7e-0000-4000-8000-000000000002"}])
                }),
                "invalid_fhir",
            ),
            (
                "dangling reference",
                edit(&|b| {
                    b["entry"][0]["resource"]["result"][1] = json!({"reference": "urn:uuid:nope"})
                }),
                "invalid_fhir",
            ),
            (
                "subject by reference",
                edit(&|b| b["entry"][0]["resource"]["subject"] = json!({"reference": "Patient/1"})),
                "invalid_fhir",
            ),
            (
                "subject of another system",
                edit(&|b| {
                    b["entry"][0]["resource"]["subject"]["identifier"]["system"] =
                        json!("urn:oid:1.2.3")
                }),
                "invalid_fhir",
            ),
            (
                "a Patient entry",
                edit(&|b| b["entry"][0]["resource"]["resourceType"] = json!("Patient")),
                "invalid_fhir",
            ),
            (
                "PUT",
                edit(&|b| b["entry"][0]["request"]["method"] = json!("PUT")),
                "invalid_fhir",
            ),
            (
                "performer given",
                edit(&|b| b["entry"][1]["resource"]["performer"] = json!([{"display": "lab"}])),
                "invalid_fhir",
            ),
            (
                "the second record bad",
                edit(&|b| {
                    b["entry"].as_array_mut().unwrap().push(json!({
                "resource": {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "not-icd"}]}, "subject": subject(&hid)},
                "request": {"method": "POST", "url": "Condition"}}))
                }),
                "invalid_fhir",
            ),
        ];
        for (what, body, code) in cases {
            let r = push(&tp, Some(&token), body.to_string().as_bytes()).await;
            assert_eq!(r.status, 422, "{what}: {}", r.text());
            assert_eq!(outcome(&r), ("invalid".into(), code.into()), "{what}");
        }
        // A Health ID of nobody registered here: not found; malformed JSON; another media type.
        let stranger = edit(&|b| {
            for e in b["entry"].as_array_mut().unwrap() {
                e["resource"]["subject"]["identifier"]["value"] = json!("0000-0000-0000-00");
            }
        });
        let r = push(&tp, Some(&token), stranger.to_string().as_bytes()).await;
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(outcome(&r), ("not-found".into(), "unknown_patient".into()));
        let r = push(&tp, Some(&token), b"{\"resourceType\": \"Bundle\",").await;
        assert_eq!(
            (r.status, outcome(&r)),
            (400, ("invalid".into(), "malformed_json".into()))
        );
        let auth = format!("Bearer {token}");
        let r = request(
            tp.addr,
            "POST",
            "/fhir",
            &[("Authorization", &auth), ("Content-Type", "text/plain")],
            good.to_string().as_bytes(),
        )
        .await;
        assert_eq!((r.status, outcome(&r).0), (415, "invalid".into()));
        // Too large: the body limit answers too-large.
        let big = vec![b' '; spondon_peer::fhir_push::MAX_FHIR_BODY + 1];
        let r = push(&tp, Some(&token), &big).await;
        assert_eq!((r.status, outcome(&r).0), (413, "too-large".into()));
        assert_eq!(sizes(&tp).await, before, "nothing stored or logged");
        // The valid Bundle then goes through, with a diagnosis in the same transaction.
        let with_dx = edit(&|b| {
            b["entry"].as_array_mut().unwrap().push(json!({
            "resource": {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "D69.6"}]}, "subject": subject(&hid)},
            "request": {"method": "POST", "url": "Condition"}}))
        });
        let r = push(&tp, Some(&token), with_dx.to_string().as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let kinds: Vec<Value> = r.json()["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["response"]["extension"][1]["valueCode"].clone())
            .collect();
        assert_eq!(
            kinds,
            ["lab_report", "lab_report", "lab_report", "diagnosis"]
        );
        assert_eq!(sizes(&tp).await.0, before.0 + 2);
        tp.stop().await;
    }
}

#[tokio::test]
async fn documents_are_pushed_as_a_binary_and_its_document_reference() {
    for db in engines("documents_are_pushed_as_a_binary_and_its_document_reference").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let key = SysKey::ec("lis-1");
        let id = register_system(&tp, &key, &["system/*.c"]).await;
        let token = get_token(&tp, &key, &id, DOC_SCOPE).await;
        let pdf = pdf_of_size(20_000);
        let bundle = with_document(cbc(&hid, "ORD-D1"), &hid, "application/pdf", &pdf);
        let before = (sizes(&tp).await, tp.peer.file_count().await.unwrap());

        // Refused, and nothing stored: no scope for Binary; a type that is no document; bytes
        // that are not the type they claim; a Binary nobody names; a url naming nothing; the
        // bytes inline in the attachment.
        let no_binary = get_token(
            &tp,
            &key,
            &id,
            "system/DiagnosticReport.c system/Observation.c system/DocumentReference.c",
        )
        .await;
        let r = push(&tp, Some(&no_binary), bundle.to_string().as_bytes()).await;
        assert_eq!(outcome(&r), ("forbidden".into(), "scope_missing".into()));
        let text = with_document(cbc(&hid, "ORD-D2"), &hid, "text/plain", b"hello");
        let r = push(&tp, Some(&token), text.to_string().as_bytes()).await;
        assert_eq!(
            (r.status, outcome(&r)),
            (415, ("invalid".into(), "unsupported_file_type".into()))
        );
        let fake = with_document(
            cbc(&hid, "ORD-D3"),
            &hid,
            "application/pdf",
            b"MZ not a pdf",
        );
        let r = push(&tp, Some(&token), fake.to_string().as_bytes()).await;
        assert_eq!(
            (r.status, outcome(&r).0),
            (422, "invalid".into()),
            "{}",
            r.text()
        );
        let mut orphan = bundle.clone();
        orphan["entry"][3]["resource"]["content"][0]["attachment"]["url"] =
            json!("urn:uuid:nowhere");
        let r = push(&tp, Some(&token), orphan.to_string().as_bytes()).await;
        assert_eq!(outcome(&r), ("invalid".into(), "invalid_fhir".into()));
        let mut inline = bundle.clone();
        inline["entry"][3]["resource"]["content"][0]["attachment"]["data"] = json!("JVBERi0=");
        let r = push(&tp, Some(&token), inline.to_string().as_bytes()).await;
        assert_eq!(outcome(&r), ("invalid".into(), "invalid_fhir".into()));
        let mut lone = bundle.clone();
        lone["entry"].as_array_mut().unwrap().remove(3);
        let r = push(&tp, Some(&token), lone.to_string().as_bytes()).await;
        assert_eq!(outcome(&r), ("invalid".into(), "invalid_fhir".into()));
        assert_eq!(
            (sizes(&tp).await, tp.peer.file_count().await.unwrap()),
            before
        );

        // Accepted: a lab report and a document record; the file stored once, named by hash.
        let r = push(&tp, Some(&token), bundle.to_string().as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let answer = r.json();
        let entries = answer["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(
            entries[3]["response"]["location"],
            entries[4]["response"]["location"]
        );
        assert_eq!(
            entries[3]["response"]["extension"][1]["valueCode"],
            "document"
        );
        let doc_id = entries[3]["response"]["location"]
            .as_str()
            .unwrap()
            .strip_prefix("records/")
            .unwrap();
        let (rec, _) = tp.peer.stored_record(doc_id).await.unwrap();
        let card = spondon_core::shc::ParsedCard::parse(&rec.jws).unwrap();
        let docref = card.fhir_bundle()["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "DocumentReference")
            .unwrap()
            .clone();
        let att = &docref["content"][0]["attachment"];
        assert!(
            att.get("url").is_none() && att.get("data").is_none(),
            "{att}"
        );
        assert_eq!(att["size"], json!(pdf.len()));
        let a = spondon_document::Attachment::from_card_fhir(card.fhir_bundle())
            .unwrap()
            .unwrap();
        assert_eq!(a.sha256, spondon_document::sha256(&pdf));
        a.check(&pdf).unwrap();
        assert_eq!(docref["subject"], json!({"reference": "resource:0"}));
        let after = (sizes(&tp).await, tp.peer.file_count().await.unwrap());
        assert_eq!(after, ((before.0.0 + 2, before.0.1 + 2), before.1 + 1));
        // The retry stores and issues nothing.
        let again = push(&tp, Some(&token), bundle.to_string().as_bytes()).await;
        assert_eq!(again.json(), answer);
        assert_eq!(
            (sizes(&tp).await, tp.peer.file_count().await.unwrap()),
            after
        );
        tp.stop().await;
    }
}

#[tokio::test]
async fn every_kind_maps_to_its_record() {
    for db in engines("every_kind_maps_to_its_record").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let (bmdc, _) = register_doctor(&tp, "A-12345").await;
        let key = SysKey::ec("his-1");
        let id = register_system(&tp, &key, &["system/*.c"]).await;
        let token = get_token(&tp, &key, &id, "system/*.c").await;
        let post = |rt: &str, mut r: Value| {
            r["resourceType"] = json!(rt);
            json!({"resource": r, "request": {"method": "POST", "url": rt}})
        };
        let med = |text: &str| {
            json!({"status": "active", "intent": "order", "subject": subject(&hid),
                "requester": {"identifier": {"system": "https://bmdc.org.bd/registration", "value": bmdc}},
                "medicationCodeableConcept": {"text": text},
                "dosageInstruction": [{"text": "1 tablet twice daily"}]})
        };
        let bundle = json!({"resourceType": "Bundle", "type": "transaction",
        "identifier": {"system": "https://his.dmch.example/visits", "value": "V-1"},
        "entry": [
            post("MedicationRequest", med("Paracetamol 500 mg")),
            post("Condition", json!({"code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A97.0"}]}, "subject": subject(&hid)})),
            post("MedicationRequest", med("ORS sachet")),
            post("Immunization", json!({"status": "completed", "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]}, "occurrenceDateTime": "2026-12-01", "patient": subject(&hid)})),
            post("Encounter", json!({"status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": subject(&hid)})),
            post("Invoice", json!({"status": "issued", "totalGross": {"value": 450, "currency": "BDT"}, "subject": subject(&hid)})),
        ]});
        let r = push(&tp, Some(&token), bundle.to_string().as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let kinds: Vec<Value> = r.json()["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["response"]["extension"][1]["valueCode"].clone())
            .collect();
        assert_eq!(
            kinds,
            [
                "prescription",
                "diagnosis",
                "prescription",
                "immunization",
                "encounter",
                "payment"
            ]
        );
        // The two MedicationRequests of one doctor are one prescription, authored by them.
        let entries = r.json()["entry"].clone();
        assert_eq!(
            entries[0]["response"]["location"],
            entries[2]["response"]["location"]
        );
        assert_eq!(tp.peer.record_count(Some(&hid)).await.unwrap(), 5);
        let rid = entries[0]["response"]["location"]
            .as_str()
            .unwrap()
            .strip_prefix("records/")
            .unwrap()
            .to_owned();
        let (rec, _) = tp.peer.stored_record(&rid).await.unwrap();
        let card = spondon_core::shc::ParsedCard::parse(&rec.jws).unwrap();
        let fhir = card.fhir_bundle().to_string();
        assert!(
            fhir.contains("ORS sachet") && fhir.contains("Paracetamol") && fhir.contains("A-12345")
        );
        // A requester who is not a registered doctor: nothing issued.
        let mut stranger = bundle.clone();
        stranger["identifier"]["value"] = json!("V-2");
        stranger["entry"][0]["resource"]["requester"]["identifier"]["value"] = json!("A-99999");
        let r = push(&tp, Some(&token), stranger.to_string().as_bytes()).await;
        assert_eq!(outcome(&r), ("not-found".into(), "unknown_doctor".into()));
        assert_eq!(tp.peer.record_count(Some(&hid)).await.unwrap(), 5);
        tp.stop().await;
    }
}

/// A transaction Bundle of one Immunization for each patient (`code`: its CVX code).
fn immunizations(order: &str, hids: &[String], code: &str) -> Value {
    let entry: Vec<Value> = hids
        .iter()
        .map(|h| {
            json!({"resource": {"resourceType": "Immunization", "status": "completed",
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": code}]},
                "occurrenceDateTime": "2026-12-01", "patient": subject(h)},
             "request": {"method": "POST", "url": "Immunization"}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction",
        "identifier": {"system": "https://epi.dmch.example/sessions", "value": order},
        "entry": entry})
}

/// The log indexes of a `transaction-response`'s entries.
fn log_indexes(r: &Resp) -> Vec<u64> {
    r.json()["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["response"]["extension"][0]["valueUnsignedInt"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bundle_is_one_unit_among_concurrent_writes() {
    for db in engines("a_bundle_is_one_unit_among_concurrent_writes").await {
        let tp = std::sync::Arc::new(start(db.as_deref()).await);
        let mut hids = Vec::new();
        for i in 0..4 {
            hids.push(register_patient(&tp, &format!("199012345678{i}")).await);
        }
        let key = SysKey::ec("epi-1");
        let id = register_system(&tp, &key, &["system/Immunization.c"]).await;
        let token = get_token(&tp, &key, &id, "system/Immunization.c").await;

        // Bundles and staff issuances at once: each Bundle's records are written together at
        // consecutive log indexes; the staff records fall between Bundles, never inside one.
        let mut tasks = Vec::new();
        for b in 0..6 {
            let (tp, token) = (tp.clone(), token.clone());
            let body = immunizations(&format!("S-{b}"), &hids, "208").to_string();
            tasks.push(tokio::spawn(async move {
                let r = push(&tp, Some(&token), body.as_bytes()).await;
                assert_eq!(r.status, 200, "{}", r.text());
                log_indexes(&r)
            }));
        }
        for k in 0..6 {
            let (tp, hid) = (tp.clone(), hids[k % 4].clone());
            tasks.push(tokio::spawn(async move {
                let r = tp.staff_post("/staff/records", &lab_report(&hid)).await;
                assert_eq!(r.status, 201, "{}", r.text());
                vec![r.json()["log_index"].as_u64().unwrap()]
            }));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in tasks {
            let idx = t.await.unwrap();
            for (k, i) in idx.iter().enumerate() {
                assert_eq!(*i, idx[0] + k as u64, "a Bundle's indexes are consecutive");
                assert!(seen.insert(*i), "one index per record");
            }
        }
        let (records, log) = sizes(&tp).await;
        assert_eq!(records, 6 * 4 + 6);
        assert_eq!(seen, (0..log).collect());

        // Two different Bundles under one identifier at once, both past the check before
        // the writer lock: one is written whole, the other refused whole (409), never a mix.
        for round in 0..4 {
            let order = format!("R-{round}");
            let a = immunizations(&order, &hids, "208").to_string();
            let b = immunizations(&order, &hids, "207").to_string();
            let (ra, rb) = tokio::join!(
                push(&tp, Some(&token), a.as_bytes()),
                push(&tp, Some(&token), b.as_bytes())
            );
            let mut st = [ra.status, rb.status];
            st.sort_unstable();
            assert_eq!(st, [200, 409], "{} / {}", ra.text(), rb.text());
            let won = if ra.status == 200 { &ra } else { &rb };
            let idx = log_indexes(won);
            assert_eq!(idx.len(), 4);
            assert_eq!(
                sizes(&tp).await,
                (records + 4 * (round + 1), log + 4 * (round + 1))
            );
        }
        match std::sync::Arc::try_unwrap(tp) {
            Ok(tp) => tp.stop().await,
            Err(_) => panic!("the peer is still shared"),
        }
    }
}

/// A token for a system of the spawned peer `p`.
async fn spawned_token(
    p: &spondon_testkit::spawned::PeerProc,
    key: &SysKey,
    client_id: &str,
) -> String {
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        (
            "client_assertion",
            &key.assertion_to(&format!("{}/auth/token", p.url), client_id, |_| {}),
        ),
        ("scope", "system/Immunization.c"),
    ]);
    let r = request(
        p.addr,
        "POST",
        "/auth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// A real `serve` killed (SIGKILL) while systems push Bundles, restarted on the same data: each
/// Bundle is stored whole or not at all. Every Bundle sent is then retried: one that was
/// answered replays its answer; one that was not is either replayed whole (it was committed
/// before the kill) or issued whole now, at consecutive indexes; the log holds exactly the
/// Bundles' records.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bundle_survives_sigkill_whole_or_not_at_all() {
    use std::sync::{Arc, Mutex};
    for db in engines("a_bundle_survives_sigkill_whole_or_not_at_all").await {
        let mut p = spondon_testkit::spawned::start_peer_on(db.as_deref()).await;
        // Every request from one address: no per-address rate limit.
        p.stop();
        let file = p.data.join("peer.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        config["rate_limit"]["per_second"] = 0.into();
        std::fs::write(&file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        p.serve().await;
        let mut hids = Vec::new();
        for i in 0..4 {
            hids.push(p.register(&format!("19876543{i:02}")).await.0);
        }
        let key = SysKey::ec("epi-crash");
        let r = p
            .staff_post(
                "/staff/systems",
                &json!({"name": "EPI", "jwks": {"keys": [key.jwk()]}, "scopes": ["system/Immunization.c"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let client_id = r.json()["client_id"].as_str().unwrap().to_owned();
        // (identifier, body, the answer if one was heard)
        type Sent = Arc<Mutex<Vec<(String, String, Option<Value>)>>>;
        let sent: Sent = Arc::new(Mutex::new(Vec::new()));
        for round in 0..3u64 {
            let auth = format!("Bearer {}", spawned_token(&p, &key, &client_id).await);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut tasks = Vec::new();
            for c in 0..6 {
                let (sent, stop, auth, hids, addr) = (
                    sent.clone(),
                    stop.clone(),
                    auth.clone(),
                    hids.clone(),
                    p.addr,
                );
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let id = format!("K-{round}-{c}-{n}");
                        n += 1;
                        let body = immunizations(&id, &hids, "208").to_string();
                        let k = {
                            let mut s = sent.lock().unwrap();
                            s.push((id, body.clone(), None));
                            s.len() - 1
                        };
                        let r = spondon_testkit::http::try_request(
                            addr,
                            "POST",
                            "/fhir",
                            &[
                                ("Authorization", &auth),
                                ("Content-Type", "application/fhir+json"),
                            ],
                            body.as_bytes(),
                        )
                        .await;
                        match r {
                            Some(r) if r.status == 200 => {
                                sent.lock().unwrap()[k].2 = Some(r.json())
                            }
                            Some(r) => panic!("{} {}", r.status, r.text()),
                            None => break,
                        }
                    }
                }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(300 + 200 * round)).await;
            p.kill();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for t in tasks {
                t.await.unwrap();
            }
            p.serve().await;
        }
        // The retries, after the last restart.
        let auth = format!("Bearer {}", spawned_token(&p, &key, &client_id).await);
        let sent = sent.lock().unwrap().clone();
        assert!(
            sent.iter().any(|s| s.2.is_some()),
            "no Bundle was answered before a kill"
        );
        let mut seen = std::collections::BTreeSet::new();
        let mut unheard_committed = 0;
        for (id, body, heard) in &sent {
            let r = request(
                p.addr,
                "POST",
                "/fhir",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/fhir+json"),
                ],
                body.as_bytes(),
            )
            .await;
            assert_eq!(r.status, 200, "{id}: {}", r.text());
            let replayed = r.header("idempotent-replayed") == Some("true");
            if let Some(first) = heard {
                assert!(replayed, "{id} was answered: its retry replays");
                assert_eq!(&r.json(), first);
            } else if replayed {
                unheard_committed += 1;
            }
            let idx = log_indexes(&r);
            assert_eq!(idx.len(), 4);
            for (k, i) in idx.iter().enumerate() {
                assert_eq!(
                    *i,
                    idx[0] + k as u64,
                    "{id}: a Bundle's indexes are consecutive"
                );
                assert!(seen.insert(*i));
            }
        }
        eprintln!(
            "{} Bundles sent, {} answered before a kill, {unheard_committed} committed unheard",
            sent.len(),
            sent.iter().filter(|s| s.2.is_some()).count()
        );
        let log = p.checkpoint().await;
        let size: u64 = log.lines().nth(1).unwrap().parse().unwrap();
        assert_eq!(
            size,
            4 * sent.len() as u64,
            "the log holds exactly the Bundles' records"
        );
        assert_eq!(seen, (0..size).collect());
        p.stop();
    }
}

/// Push-to-issued latency of a lab report over HTTP (token already held), median of 20: a
/// figure printed for docs/peer.md, not asserted.
#[tokio::test]
async fn figure_push_to_issued_latency() {
    let tp = start(None).await;
    let hid = register_patient(&tp, "1990123456789").await;
    let key = SysKey::ec("lis-1");
    let id = register_system(&tp, &key, &["system/*.c"]).await;
    let token = get_token(&tp, &key, &id, LAB_SCOPE).await;
    let mut ms = Vec::new();
    for i in 0..20 {
        let body = cbc(&hid, &format!("LAT-{i}")).to_string();
        let t = std::time::Instant::now();
        let r = push(&tp, Some(&token), body.as_bytes()).await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 200);
    }
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "FIGURE fhir push-to-issued, lab report (DiagnosticReport + 2 Observations), SQLite, median of 20: {:.1} ms (min {:.1}, max {:.1})",
        (ms[9] + ms[10]) / 2.0,
        ms[0],
        ms[19]
    );
    assert_eq!(tp.peer.record_count(None).await.unwrap(), 20);
    // The same with the report's 5 MB PDF (Binary + DocumentReference) in the Bundle.
    let pdf = pdf_of_size(5 * 1024 * 1024);
    let token = get_token(&tp, &key, &id, DOC_SCOPE).await;
    let mut ms = Vec::new();
    for i in 0..20 {
        let body = with_document(
            cbc(&hid, &format!("PDF-{i}")),
            &hid,
            "application/pdf",
            &pdf,
        )
        .to_string();
        let t = std::time::Instant::now();
        let r = push(&tp, Some(&token), body.as_bytes()).await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "FIGURE fhir push-to-issued, lab report + 5 MiB PDF ({} bytes of Bundle), SQLite, median of 20: {:.1} ms (min {:.1}, max {:.1})",
        with_document(cbc(&hid, "x"), &hid, "application/pdf", &pdf)
            .to_string()
            .len(),
        (ms[9] + ms[10]) / 2.0,
        ms[0],
        ms[19]
    );
    tp.stop().await;
}

/// Whether `python3` with `cryptography` is here; without it the client test is skipped
/// unless `SPONDON_REQUIRE_PYTHON=1`.
fn python_ready() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SPONDON_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "SPONDON_REQUIRE_PYTHON=1 but python3 with cryptography (python3-cryptography) is missing"
        );
        eprintln!("skipped: python3 with cryptography (python3-cryptography) is missing");
    }
    ok
}

async fn lab_client(args: Vec<String>) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lab-client/lab_client.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "lab_client.py failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test]
async fn the_example_lab_client_registers_gets_a_token_and_pushes_a_cbc_report() {
    if !python_ready() {
        return;
    }
    for db in engines("the_example_lab_client").await {
        let tp = start(db.as_deref()).await;
        let hid = register_patient(&tp, "1990123456789").await;
        let peer = format!("http://{}", tp.addr);
        for (n, alg) in ["ES384", "RS384"].into_iter().enumerate() {
            let key = tp.dir.path().join(format!("lis-{alg}.pem"));
            let key = key.to_str().unwrap().to_owned();
            let jwks = {
                let out = std::process::Command::new("python3")
                    .arg(
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("../../examples/lab-client/lab_client.py"),
                    )
                    .args(["jwks", "--key", &key, "--alg", alg])
                    .output()
                    .unwrap();
                assert!(out.status.success());
                serde_json::from_slice::<Value>(&out.stdout).unwrap()
            };
            let jwk = &jwks["keys"][0];
            assert_eq!(jwk["alg"], alg);
            assert!(jwk.get("d").is_none(), "public members only");
            // The admin's step: registration with an admin staff token.
            let reg = lab_client(
                [
                    "register",
                    "--peer",
                    &peer,
                    "--key",
                    &key,
                    "--admin-token",
                    &tp.token,
                ]
                .map(String::from)
                .to_vec(),
            )
            .await;
            let client_id = reg["client_id"].as_str().unwrap().to_owned();
            let before = sizes(&tp).await;
            let out = lab_client(
                [
                    "push",
                    "--peer",
                    &peer,
                    "--key",
                    &key,
                    // `=`: a base64url client id may start with '-' (argparse would
                    // take it for an option).
                    &format!("--client-id={client_id}"),
                    "--health-id",
                    &hid,
                ]
                .map(String::from)
                .to_vec(),
            )
            .await;
            assert_eq!(out["granted_scope"], DOC_SCOPE);
            assert_eq!(out["record_ids"].as_array().unwrap().len(), 2, "{out}");
            assert_eq!(out["record_kinds"], json!(["document", "lab_report"]));
            assert_eq!(out["retry_status"], 200);
            assert_eq!(out["retry_replayed"], true);
            assert_eq!(out["retry_same"], true);
            // Issued once, retried once: two records (the results, the PDF), two log entries,
            // one stored file (both runs push the same generated PDF: stored once, by hash).
            let after = sizes(&tp).await;
            assert_eq!(after, (before.0 + 2, before.1 + 2), "{alg}");
            assert_eq!(tp.peer.file_count().await.unwrap(), 1);
            let mut indices = Vec::new();
            for rid in out["record_ids"].as_array().unwrap() {
                let (rec, _) = tp.peer.stored_record(rid.as_str().unwrap()).await.unwrap();
                assert_eq!(rec.health_id, hid);
                indices.push(rec.log_index);
                let card = spondon_core::shc::ParsedCard::parse(&rec.jws).unwrap();
                let fhir = card.fhir_bundle();
                if rec.kind.as_str() == "lab_report" {
                    for loinc in ["58410-2", "718-7", "6690-2", "777-3", "789-8"] {
                        assert!(fhir.to_string().contains(loinc), "{loinc}");
                    }
                } else {
                    let att = spondon_document::Attachment::from_card_fhir(fhir)
                        .unwrap()
                        .unwrap();
                    assert_eq!(att.file_type.mime(), "application/pdf");
                    let file = tp
                        .peer
                        .stored_file_meta(&att.sha256)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(file.1, att.size);
                }
            }
            indices.sort_unstable();
            assert_eq!(out["log_indices"], json!(indices));
            assert_eq!(
                tp.peer.record_count(Some(&hid)).await.unwrap(),
                2 * (n as u64 + 1)
            );
        }
        tp.stop().await;
    }
}
