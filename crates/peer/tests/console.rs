//! The staff console's routes over real HTTP, on SQLite and (when configured) PostgreSQL:
//! sessions (database-backed, surviving a restart, expiring, revocable), CSRF and origin
//! checks, security headers, the role matrix, every record form end to end (the card verifies,
//! its log entry opens), bad input in every field (a clear message naming the field, nothing
//! stored), duplicate detection, the patient's page with records, revocations and access log,
//! and the Emergency screens' routes (pending list, second-person confirmation, admin's list).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard};
use spondon_ledger::{EntryKind, LogEntry, Opening};
use spondon_peer::staff::Role;

/// A logged-in console (the browser's cookie and CSRF token).
struct Console {
    addr: std::net::SocketAddr,
    cookie: String,
    csrf: String,
}

impl Console {
    async fn login(tp: &TestPeer, token: &str) -> Console {
        let r = request(
            tp.addr,
            "POST",
            "/console/api/login",
            &[("Content-Type", "application/json")],
            json!({"token": token}).to_string().as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let set = r.header("set-cookie").unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        Console {
            addr: tp.addr,
            cookie,
            csrf: r.json()["csrf"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> Resp {
        request(
            self.addr,
            "GET",
            &format!("/console/api{path}"),
            &[("Cookie", &self.cookie)],
            b"",
        )
        .await
    }

    /// A GET as the page's background refresh sends it.
    async fn poll(&self, path: &str) -> Resp {
        request(
            self.addr,
            "GET",
            &format!("/console/api{path}"),
            &[("Cookie", &self.cookie), ("X-Console-Poll", "1")],
            b"",
        )
        .await
    }

    async fn post(&self, path: &str, body: &Value) -> Resp {
        self.post_with(path, body, &[("X-CSRF-Token", &self.csrf)])
            .await
    }

    async fn post_with(&self, path: &str, body: &Value, extra: &[(&str, &str)]) -> Resp {
        let mut h = vec![
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/json"),
        ];
        h.extend_from_slice(extra);
        request(
            self.addr,
            "POST",
            &format!("/console/api{path}"),
            &h,
            body.to_string().as_bytes(),
        )
        .await
    }
}

async fn sql(tp: &TestPeer, q: &str) {
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query(q).execute(p).await.unwrap();
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query(q).execute(p).await.unwrap();
        }
    }
}

async fn count(tp: &TestPeer, table: &str) -> i64 {
    use sqlx::Row as _;
    let q = format!("SELECT COUNT(*) FROM {table}");
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query(&q).fetch_one(p).await.unwrap().get::<i64, _>(0)
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query(&q).fetch_one(p).await.unwrap().get::<i64, _>(0)
        }
    }
}

async fn max_last_seen(tp: &TestPeer) -> i64 {
    use sqlx::Row as _;
    let q = "SELECT MAX(last_seen) FROM peer_console_sessions WHERE ended_at IS NULL";
    match &tp.peer.db {
        spondon_ledger::Database::Sqlite(p) => {
            sqlx::query(q).fetch_one(p).await.unwrap().get::<i64, _>(0)
        }
        spondon_ledger::Database::Postgres(p) => {
            sqlx::query(q).fetch_one(p).await.unwrap().get::<i64, _>(0)
        }
    }
}

/// Everything a bad request must leave as it was.
async fn stored(tp: &TestPeer) -> (i64, i64, i64, u64) {
    (
        count(tp, "peer_patients").await,
        count(tp, "peer_doctors").await,
        count(tp, "peer_records").await,
        tp.peer.log.tree_head().await.0,
    )
}

async fn token_with(tp: &TestPeer, label: &str, roles: &[Role]) -> String {
    tp.peer
        .create_staff_token_with(label, roles, 30)
        .await
        .unwrap()
        .token
}

fn patient(nid: &str, phone: &str, name: &str) -> Value {
    json!({"national_id": nid, "name": name, "sex": "female", "birth_date": "1991-02-03",
           "phone": phone, "district": "Dhaka", "upazila": "Mirpur"})
}

async fn directory(tp: &TestPeer) -> Directory {
    let jwks = tp.get("/.well-known/jwks.json").await;
    let kid = jwks.json()["keys"][0]["kid"].as_str().unwrap().to_owned();
    let crl = tp.get(&format!("/.well-known/crl/{kid}.json")).await;
    let mut d = Directory::new();
    d.add_issuer(URL, Some("DMCH")).unwrap();
    d.add_jwks_json(URL, &jwks.text()).unwrap();
    d.add_crl_json(URL, &crl.text()).unwrap();
    d
}

async fn sessions(db: Option<&str>) {
    let tp = start(db).await;

    // The page and its assets carry the clinic page's security headers.
    for path in [
        "/console",
        "/console/app.js",
        "/console/i18n.js",
        "/console/style.css",
    ] {
        let r = tp.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
    let page = tp.get("/console").await.text();
    assert!(!page.contains("<script>") && !page.contains("style="));

    // No session: 401; a wrong token: 401 and no cookie.
    let r = tp.get("/console/api/session").await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let bad = request(
        tp.addr,
        "POST",
        "/console/api/login",
        &[("Content-Type", "application/json")],
        br#"{"token":"spst_not-a-token"}"#,
    )
    .await;
    assert_eq!((bad.status, bad.code().as_str()), (401, "unauthorized"));
    assert!(bad.header("set-cookie").is_none());
    assert_eq!(count(&tp, "peer_console_sessions").await, 0);

    // Login: the cookie is HttpOnly, SameSite=Strict, scoped to /console, Secure by default.
    let r = request(
        tp.addr,
        "POST",
        "/console/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": tp.token}).to_string().as_bytes(),
    )
    .await;
    let set = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    let c = Console::login(&tp, &tp.token).await;
    let s = c.get("/session").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.json()["roles"], json!(["admin"]));
    assert_eq!(s.json()["csrf"], json!(c.csrf));
    assert_eq!(s.header("cache-control"), Some("no-store"));

    // CSRF: a state change needs the session's token and a same-origin request.
    let before = stored(&tp).await;
    let body = json!({"patient": patient("1111122222", "01711000001", "Amina Akter")});
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no token", vec![]),
        ("wrong token", vec![("X-CSRF-Token", "forged")]),
        (
            "cross-site",
            vec![
                ("X-CSRF-Token", c.csrf.as_str()),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        ),
        (
            "other origin",
            vec![
                ("X-CSRF-Token", c.csrf.as_str()),
                ("Origin", "https://evil.example"),
            ],
        ),
    ];
    for (what, h) in cases {
        let r = c.post_with("/patients", &body, &h).await;
        assert_eq!((r.status, r.code().as_str()), (403, "csrf"), "{what}");
    }
    assert_eq!(
        stored(&tp).await,
        before,
        "nothing stored on a CSRF refusal"
    );
    let origin = format!("http://{}", tp.addr);
    let ok = c
        .post_with(
            "/patients",
            &body,
            &[("X-CSRF-Token", &c.csrf), ("Origin", &origin)],
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text());

    // The session lives in the database: it survives a restart of the server.
    let addr_cookie = (c.cookie.clone(), c.csrf.clone());
    let tp = tp.restart().await;
    let c = Console {
        addr: tp.addr,
        cookie: addr_cookie.0,
        csrf: addr_cookie.1,
    };
    assert_eq!(c.get("/session").await.status, 200, "survives a restart");

    // Logout needs the CSRF token, then ends the session for good.
    let r = c.post_with("/logout", &json!({}), &[]).await;
    assert_eq!(r.code(), "csrf");
    assert_eq!(c.get("/session").await.status, 200);
    let r = c.post("/logout", &json!({})).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = c.get("/session").await;
    assert_eq!((r.status, r.code().as_str()), (401, "session_expired"));

    // Absolute expiry and idle expiry.
    let c = Console::login(&tp, &tp.token).await;
    sql(&tp, "UPDATE peer_console_sessions SET expires_at = 1").await;
    assert_eq!(c.get("/session").await.code(), "session_expired");
    let c = Console::login(&tp, &tp.token).await;
    sql(&tp, "UPDATE peer_console_sessions SET last_seen = 1").await;
    assert_eq!(c.get("/session").await.code(), "session_expired");

    // Revoking the staff token ends its sessions (through the console, by an admin).
    let desk = tp
        .peer
        .create_staff_token_with("desk 1", &[Role::Registration], 30)
        .await
        .unwrap();
    let dc = Console::login(&tp, &desk.token).await;
    assert_eq!(dc.get("/session").await.status, 200);
    let admin = Console::login(&tp, &tp.token).await;
    let r = admin
        .post(&format!("/staff-tokens/{}/revoke", desk.id), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sessions_ended"], 1);
    assert_eq!(dc.get("/session").await.code(), "session_expired");
    // Every console call is in the staff audit trail under the token's id.
    let audit = tp.peer.staff_audit().await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.token_id == desk.id && a.action == "console login")
    );
    assert!(
        audit
            .iter()
            .any(|a| a.action.starts_with("console POST") && a.action.contains("/staff-tokens/"))
    );
    // Guessing tokens at the login spends the client's failure bucket: then 429 everywhere.
    let mut limited = false;
    for _ in 0..80 {
        let r = request(
            tp.addr,
            "POST",
            "/console/api/login",
            &[("Content-Type", "application/json")],
            br#"{"token":"spst_guess"}"#,
        )
        .await;
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            assert!(r.header("retry-after").is_some());
            limited = true;
            break;
        }
        assert_eq!(r.code(), "unauthorized");
    }
    assert!(limited, "bad logins are charged to the failure bucket");
    tp.stop().await;
}

#[tokio::test]
async fn console_sessions_are_stored_expiring_revocable_and_csrf_protected() {
    for db in engines("console_sessions_are_stored_expiring_revocable_and_csrf_protected").await {
        sessions(db.as_deref()).await;
    }
}

async fn roles(db: Option<&str>) {
    let tp = start(db).await;
    let desk = Console::login(&tp, &token_with(&tp, "desk", &[Role::Registration]).await).await;
    let clerk = Console::login(&tp, &token_with(&tp, "records", &[Role::Records]).await).await;
    let admin = Console::login(&tp, &tp.token).await;

    let hid = {
        let r = desk
            .post(
                "/patients",
                &json!({"patient": patient("2222233333", "01811000002", "Rina Das")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["health_id"].as_str().unwrap().to_owned()
    };
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let doctor = json!({"bmdc_number": "A-7001", "name": "Dr. Selina Haque", "specialty": "Medicine",
                        "public_key": serde_json::to_string(&key.public_key().to_jwk()).unwrap()});
    let record = json!({"health_id": hid, "form": {"kind": "diagnosis",
        "conditions": [{"code": "A90", "status": "confirmed"}]}});

    let before = stored(&tp).await;
    // (console, method, path, body) → must be refused with role_required.
    let refused: Vec<(&Console, &str, String, Value)> = vec![
        (&desk, "POST", "/records/preview".into(), record.clone()),
        (&desk, "POST", "/records".into(), record.clone()),
        (
            &desk,
            "POST",
            "/records/x/revoke".into(),
            json!({"reason": "other"}),
        ),
        (&desk, "POST", "/doctors".into(), doctor.clone()),
        (&desk, "GET", "/doctors".into(), Value::Null),
        (&desk, "GET", "/staff-tokens".into(), Value::Null),
        (
            &desk,
            "POST",
            "/staff-tokens".into(),
            json!({"label": "x", "roles": ["admin"], "days": 1}),
        ),
        (
            &clerk,
            "POST",
            "/patients".into(),
            json!({"patient": patient("3333344444", "01911000003", "X Y")}),
        ),
        (
            &clerk,
            "POST",
            "/patients/check".into(),
            patient("3333344444", "01911000003", "X Y"),
        ),
        (
            &clerk,
            "POST",
            format!("/patients/{hid}/enrollment-code"),
            json!({}),
        ),
        (&clerk, "POST", "/doctors".into(), doctor.clone()),
        (
            &clerk,
            "GET",
            "/doctors/A-7001/credential".into(),
            Value::Null,
        ),
        (&clerk, "GET", "/staff-tokens".into(), Value::Null),
    ];
    for (c, method, path, body) in &refused {
        let r = if *method == "GET" {
            c.get(path).await
        } else {
            c.post(path, body).await
        };
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "role_required"),
            "{method} {path}"
        );
    }
    assert_eq!(
        stored(&tp).await,
        before,
        "nothing stored by a refused role"
    );

    // What each role may do.
    assert_eq!(desk.get("/patients?q=Rina").await.status, 200);
    assert_eq!(clerk.get("/patients?q=Rina").await.status, 200);
    assert_eq!(clerk.get(&format!("/patients/{hid}")).await.status, 200);
    assert_eq!(clerk.get("/doctors").await.status, 200);
    let r = admin.post("/doctors", &doctor).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(clerk.post("/records", &record).await.status, 201);
    assert_eq!(
        admin
            .post(&format!("/patients/{hid}/enrollment-code"), &json!({}))
            .await
            .status,
        201
    );
    tp.stop().await;
}

#[tokio::test]
async fn console_roles_cannot_do_each_others_work() {
    for db in engines("console_roles_cannot_do_each_others_work").await {
        roles(db.as_deref()).await;
    }
}

async fn forms(db: Option<&str>) {
    let tp = start(db).await;
    let c = Console::login(&tp, &tp.token).await;

    // Registration with duplicate detection before anything is created.
    let p = patient("1990123456789", "01712345678", "Shirin Akter");
    let r = c.post("/patients/check", &p).await;
    assert_eq!(r.json()["duplicates"], json!([]));
    let r = c.post("/patients", &json!({"patient": p})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let reg = r.json();
    let hid = reg["health_id"].as_str().unwrap().to_owned();
    assert!(reg["enrollment_qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(reg["enrollment_code_expires"].as_i64().unwrap() > NumericDate::now().seconds());
    // Same NID: a hard duplicate; same phone: a possible duplicate until confirmed.
    let same_nid = patient("1990123456789", "01812345678", "Other Name");
    let r = c.post("/patients/check", &same_nid).await;
    assert_eq!(r.json()["duplicates"][0]["matches"], json!(["national_id"]));
    let r = c
        .post(
            "/patients",
            &json!({"patient": same_nid, "confirm_not_duplicate": true}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "duplicate_patient"));
    let same_phone = patient("5555566666", "+880 1712-345678", "Shirin Akter");
    let r = c.post("/patients/check", &same_phone).await;
    let d = &r.json()["duplicates"][0];
    assert_eq!(d["health_id"], json!(hid));
    assert_eq!(d["matches"], json!(["phone", "name_birth_date"]));
    assert_eq!(d["national_id_end"], "789", "lists show only the NID's end");
    let before = stored(&tp).await;
    let r = c.post("/patients", &json!({"patient": same_phone})).await;
    assert_eq!((r.status, r.code().as_str()), (409, "possible_duplicate"));
    assert_eq!(stored(&tp).await, before);
    let r = c
        .post(
            "/patients",
            &json!({"patient": same_phone, "confirm_not_duplicate": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Bad input in every registration field: the field is named, nothing stored.
    let before = stored(&tp).await;
    for (field, value) in [
        ("national_id", json!("12345")),
        ("name", json!("")),
        ("sex", json!("x")),
        ("birth_date", json!("2990-01-01")),
        ("phone", json!("12345")),
        ("district", json!("Atlantis")),
        ("upazila", json!("a\u{7}b")),
    ] {
        let mut bad = patient("7777788888", "01555000000", "Bad Input");
        bad[field] = value;
        for path in ["/patients/check", "/patients"] {
            let body = if path == "/patients" {
                json!({"patient": bad})
            } else {
                bad.clone()
            };
            let r = c.post(path, &body).await;
            assert_eq!(
                (r.status, r.code().as_str()),
                (400, "invalid_field"),
                "{field}"
            );
            assert_eq!(r.json()["field"], field);
        }
    }
    assert_eq!(stored(&tp).await, before);

    // A doctor from the console: the credential verifies under the peer's key, with a QR.
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let jwk_text = serde_json::to_string(&key.public_key().to_jwk()).unwrap();
    for (field, body) in [
        (
            "public_key",
            json!({"bmdc_number": "A-9001", "name": "Dr. N", "specialty": "Medicine", "public_key": "not json"}),
        ),
        (
            "bmdc_number",
            json!({"bmdc_number": "<b>", "name": "Dr. N", "specialty": "Medicine", "public_key": jwk_text}),
        ),
        (
            "department",
            json!({"bmdc_number": "A-9001", "name": "Dr. N", "specialty": " ", "public_key": jwk_text}),
        ),
    ] {
        let r = c.post("/doctors", &body).await;
        assert_eq!((r.status, r.json()["field"].as_str()), (400, Some(field)));
    }
    let r = c
        .post(
            "/doctors",
            &json!({"bmdc_number": "A-9001", "name": "Dr. Nusrat Jahan", "specialty": "Medicine", "public_key": jwk_text}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let cred = r.json()["credential"].as_str().unwrap().to_owned();
    assert!(r.json()["qr_svg"].as_str().unwrap().contains("<svg"));
    // Signed by this peer's record key, for this doctor's key (its signature is checked
    // against a trust list in the verifier's tests; here: who signed it, about whom).
    let parsed = spondon_core::token::decode_any(&cred).unwrap();
    assert_eq!(parsed.signer_kid, tp.peer.keys.record.public_key().kid());
    match &parsed.claims {
        spondon_core::token::TokenClaims::DoctorCredential(d) => {
            assert_eq!(d.bmdc_number, "A-9001");
            assert_eq!(d.doctor_key.kid(), key.public_key().kid());
        }
        other => panic!("not a doctor credential: {other:?}"),
    }
    let again = c.get("/doctors/A-9001/credential").await;
    assert_eq!(again.json()["credential"], json!(cred));

    // Every form: the preview stores nothing; issuing signs, logs and stores; the card verifies.
    let dir = directory(&tp).await;
    let xss = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    let forms = vec![
        (
            "prescription",
            json!({"kind": "prescription", "medications": [
            {"medicine": "Paracetamol 500 mg tablet", "dose": "1 tablet", "frequency": "thrice_daily", "days": 5, "instructions": xss},
            {"medicine": "Oral rehydration salts (ORS) sachet", "dose": "1 sachet", "frequency": "as_needed", "days": 3}]}),
        ),
        (
            "lab_report",
            json!({"kind": "lab_report", "tests": [
            {"loinc": "718-7", "value": "9.5"},
            {"loinc": "777-3", "value": "85"},
            {"loinc": "75377-2", "value": "Positive"},
            {"loinc": "2345-7", "value": "110", "unit": "mg/dL"},
            {"loinc": "2276-4", "name": "Ferritin", "value": "30", "unit": "mg/L", "low": "12", "high": "300"}],
            "conclusion": xss}),
        ),
        (
            "diagnosis",
            json!({"kind": "diagnosis", "conditions": [
            {"code": "a97.1", "status": "confirmed", "note": xss},
            {"code": "Z00.0", "name": "General examination", "status": "provisional"}]}),
        ),
        (
            "payment",
            json!({"kind": "payment", "items": [
            {"description": "CBC", "amount": "450"}, {"description": xss, "amount": "1,200.50"}], "method": "mobile_banking"}),
        ),
        (
            "encounter",
            json!({"kind": "encounter", "class": "emergency", "department": "Medicine",
            "reason": "High fever for 3 days", "note": xss}),
        ),
    ];
    let mut issued = Vec::new();
    for (kind, form) in &forms {
        let req = json!({"health_id": hid, "doctor_bmdc": "A-9001", "form": form});
        let before = stored(&tp).await;
        let pv = c.post("/records/preview", &req).await;
        assert_eq!(pv.status, 200, "{kind}: {}", pv.text());
        assert_eq!(pv.json()["kind"], *kind);
        assert_eq!(
            stored(&tp).await,
            before,
            "{kind}: a preview stores nothing"
        );
        let r = c.post("/records", &req).await;
        assert_eq!(r.status, 201, "{kind}: {}", r.text());
        let out = r.json();
        assert_eq!(
            out["summary"],
            pv.json()["summary"],
            "{kind}: the preview is what is signed"
        );
        let id = out["record"]["id"].as_str().unwrap().to_owned();
        let (rec, salt) = tp.peer.stored_record(&id).await.unwrap();
        let card = ParsedCard::parse(&rec.jws).unwrap();
        card.verify(&dir, NumericDate::now()).unwrap();
        // The card holds exactly the previewed bundle (Patient, Practitioner, the resources).
        assert_eq!(card.fhir_bundle(), &pv.json()["bundle"], "{kind}");
        // The log entry shown is the one in the log, and it opens with the stored salt.
        let le = &out["log_entry"];
        assert_eq!(le["index"], json!(rec.log_index));
        assert_eq!(le["kind"], "RecordIssued");
        let entry = LogEntry::decode(&tp.peer.log.entry(rec.log_index).await.unwrap()).unwrap();
        assert_eq!(entry.kind, EntryKind::RecordIssued);
        assert_eq!(le["commitment"], json!(hex::encode(entry.commitment)));
        assert!(entry.opens(&Opening {
            salt,
            payload: rec.jws.clone().into_bytes()
        }));
        issued.push((kind.to_string(), id, card.fhir_bundle().clone()));
    }
    // Spot checks of the FHIR the forms made.
    let lab = &issued[1].2["entry"];
    let obs: Vec<&Value> = lab
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Observation")
        .collect();
    assert_eq!(obs[0]["resource"]["valueQuantity"]["code"], "g/dL");
    assert_eq!(
        obs[0]["resource"]["interpretation"][0]["coding"][0]["code"],
        "L"
    );
    assert_eq!(
        obs[1]["resource"]["interpretation"][0]["coding"][0]["code"],
        "L"
    );
    assert_eq!(
        obs[2]["resource"]["valueCodeableConcept"]["coding"][0]["code"],
        "10828004"
    );
    assert_eq!(
        obs[3]["resource"]["interpretation"][0]["coding"][0]["code"],
        "N"
    );
    assert_eq!(
        obs[4]["resource"]["referenceRange"][0]["high"]["value"],
        300.0
    );
    let dx = &issued[2].2["entry"][2]["resource"];
    assert_eq!(dx["code"]["coding"][0]["code"], "A97.1");
    assert_eq!(
        dx["note"][0]["text"], xss,
        "free text is kept as text, verbatim"
    );
    let inv = &issued[3].2["entry"][2]["resource"];
    assert_eq!(
        inv["totalGross"],
        json!({"value": 1650.5, "currency": "BDT"})
    );
    let rx = &issued[0].2["entry"][2]["resource"];
    assert_eq!(
        rx["dosageInstruction"][0]["timing"]["repeat"]["frequency"],
        3
    );

    // Bad input in every record field: a clear message naming the field; nothing stored.
    let before = stored(&tp).await;
    let bad: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "medications",
            json!({"kind": "prescription", "medications": []}),
            Some("A-9001"),
        ),
        (
            "medications[0].medicine",
            json!({"kind": "prescription", "medications": [{"medicine": "", "dose": "1", "frequency": "once_daily", "days": 1}]}),
            Some("A-9001"),
        ),
        (
            "medications[0].dose",
            json!({"kind": "prescription", "medications": [{"medicine": "X", "dose": " ", "frequency": "once_daily", "days": 1}]}),
            Some("A-9001"),
        ),
        (
            "medications[0].days",
            json!({"kind": "prescription", "medications": [{"medicine": "X", "dose": "1", "frequency": "once_daily", "days": 0}]}),
            Some("A-9001"),
        ),
        (
            "doctor_bmdc",
            json!({"kind": "prescription", "medications": [{"medicine": "X", "dose": "1", "frequency": "once_daily", "days": 1}]}),
            None,
        ),
        (
            "tests[0].loinc",
            json!({"kind": "lab_report", "tests": [{"loinc": "718", "value": "1"}]}),
            None,
        ),
        (
            "tests[0].loinc",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-8", "value": "1"}]}),
            None,
        ),
        (
            "tests[0].value",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-7", "value": "1e5"}]}),
            None,
        ),
        (
            "tests[0].value",
            json!({"kind": "lab_report", "tests": [{"loinc": "75377-2", "value": "maybe"}]}),
            None,
        ),
        (
            "tests[0].unit",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-7", "value": "9", "unit": "furlongs"}]}),
            None,
        ),
        (
            "tests[0].name",
            json!({"kind": "lab_report", "tests": [{"loinc": "99999-5", "value": "9", "unit": "%"}]}),
            None,
        ),
        (
            "tests[0].high",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-7", "value": "9", "low": "10", "high": "5"}]}),
            None,
        ),
        (
            "tests[1].low",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-7", "value": "9"}, {"loinc": "777-3", "value": "9", "low": "abc"}]}),
            None,
        ),
        (
            "conclusion",
            json!({"kind": "lab_report", "tests": [{"loinc": "718-7", "value": "9"}], "conclusion": "a\u{0}b"}),
            None,
        ),
        (
            "conditions[0].code",
            json!({"kind": "diagnosis", "conditions": [{"code": "dengue", "status": "confirmed"}]}),
            None,
        ),
        (
            "conditions[0].name",
            json!({"kind": "diagnosis", "conditions": [{"code": "Z99.9", "status": "confirmed"}]}),
            None,
        ),
        (
            "items[0].amount",
            json!({"kind": "payment", "items": [{"description": "X", "amount": "-5"}], "method": "cash"}),
            None,
        ),
        (
            "items[0].amount",
            json!({"kind": "payment", "items": [{"description": "X", "amount": "10.505"}], "method": "cash"}),
            None,
        ),
        (
            "items[0].description",
            json!({"kind": "payment", "items": [{"description": "", "amount": "5"}], "method": "cash"}),
            None,
        ),
        (
            "items[1].amount",
            json!({"kind": "payment", "items": [{"description": "X", "amount": "9000000"}, {"description": "Y", "amount": "2000000"}], "method": "cash"}),
            None,
        ),
        (
            "department",
            json!({"kind": "encounter", "class": "outpatient", "department": "", "reason": "x"}),
            None,
        ),
        (
            "reason",
            json!({"kind": "encounter", "class": "outpatient", "department": "x", "reason": "x".repeat(201)}),
            None,
        ),
    ];
    for (field, form, doctor) in &bad {
        let mut req = json!({"health_id": hid, "form": form});
        if let Some(d) = doctor {
            req["doctor_bmdc"] = json!(d);
        }
        for path in ["/records/preview", "/records"] {
            let r = c.post(path, &req).await;
            assert_eq!(
                (r.status, r.code().as_str(), r.json()["field"].as_str()),
                (400, "invalid_field", Some(*field)),
                "{path} {form}: {}",
                r.text()
            );
        }
    }
    // Unknown patient, unknown doctor, unknown form kind, malformed JSON.
    let good = json!({"kind": "diagnosis", "conditions": [{"code": "A90", "status": "confirmed"}]});
    let r = c
        .post(
            "/records",
            &json!({"health_id": "1234-5678-9012-34", "form": good}),
        )
        .await;
    assert_eq!(r.code(), "unknown_patient");
    let r = c
        .post(
            "/records",
            &json!({"health_id": hid, "doctor_bmdc": "Z-0", "form": good}),
        )
        .await;
    assert_eq!(r.code(), "unknown_doctor");
    let r = c
        .post(
            "/records",
            &json!({"health_id": hid, "form": {"kind": "x-ray"}}),
        )
        .await;
    assert_eq!(r.code(), "malformed_json");
    assert_eq!(stored(&tp).await, before, "nothing stored on bad input");

    // Revoke one record with a reason; the patient's page shows it, and the card now fails.
    let (_, rx_id, _) = &issued[0];
    let r = c
        .post(
            &format!("/records/{rx_id}/revoke"),
            &json!({"reason": "because"}),
        )
        .await;
    assert_eq!(r.code(), "malformed_json");
    let r = c
        .post(
            &format!("/records/{rx_id}/revoke"),
            &json!({"reason": "entered_in_error"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let again = c
        .post(
            &format!("/records/{rx_id}/revoke"),
            &json!({"reason": "other"}),
        )
        .await;
    assert_eq!(again.code(), "already_revoked");
    let page = c.get(&format!("/patients/{hid}")).await;
    assert_eq!(page.status, 200);
    let page = page.json();
    assert_eq!(page["patient"]["name"], "Shirin Akter");
    let recs = page["records"].as_array().unwrap();
    assert_eq!(recs.len(), 5);
    let revoked: Vec<&Value> = recs.iter().filter(|r| !r["revoked"].is_null()).collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["id"], json!(rx_id));
    assert_eq!(revoked[0]["revoked"]["reason"], "entered_in_error");
    let (rec, _) = tp.peer.stored_record(rx_id).await.unwrap();
    let e = ParsedCard::parse(&rec.jws)
        .unwrap()
        .verify(&directory(&tp).await, NumericDate::now())
        .unwrap_err();
    assert_eq!(e.code(), "revoked");
    assert_eq!(page["access"], json!([]));

    // Search: by name part, Health ID, NID, phone; a bad query is refused.
    for q in ["shirin", hid.as_str(), "1990123456789", "01712345678"] {
        let r = c.get(&format!("/patients?q={}", q.replace(' ', "+"))).await;
        assert!(
            r.json()["patients"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["health_id"] == json!(hid)),
            "{q}"
        );
    }
    // `%` and `_` are searched as text, not as LIKE wildcards; a broken escape is refused.
    assert_eq!(
        c.get("/patients?q=%25%25").await.json()["patients"],
        json!([])
    );
    assert_eq!(c.get("/patients?q=__").await.json()["patients"], json!([]));
    assert_eq!(c.get("/patients?q=%").await.code(), "invalid_field");
    assert_eq!(c.get("/patients?q=a").await.code(), "invalid_field");
    assert_eq!(c.get("/patients").await.code(), "invalid_field");
    tp.stop().await;
}

#[tokio::test]
async fn console_forms_issue_verifiable_records_and_refuse_bad_input() {
    for db in engines("console_forms_issue_verifiable_records_and_refuse_bad_input").await {
        forms(db.as_deref()).await;
    }
}

/// A doctor's redemption of `g` with a proof of possession by `doctor`.
async fn redeem(
    tp: &TestPeer,
    g: &spondon_core::token::Grant,
    text: &str,
    doctor: &spondon_core::keys::Es256KeyPair,
) -> Resp {
    let n = request(tp.addr, "POST", "/nonce", &[], b"").await.json()["nonce"]
        .as_str()
        .map(|s| spondon_core::b64::decode(s).unwrap())
        .unwrap();
    let body = json!({"grant": text}).to_string().into_bytes();
    let url = format!("{URL}/grant/records");
    let pop = spondon_core::token::PopProof::create(
        doctor,
        g.id,
        &spondon_core::token::PopRequest {
            method: "POST",
            url: &url,
            nonce: &n,
            body: &body,
        },
        NumericDate::now(),
    )
    .unwrap();
    request(
        tp.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await
}

async fn access_log(db: Option<&str>) {
    use spondon_core::keys::Es256KeyPair;
    use spondon_core::token::{Audience, Category, Grant, Purpose};
    let tp = start(db).await;
    let c = Console::login(&tp, &tp.token).await;
    // Registered at the desk; the app redeems the console's enrollment code.
    let r = c
        .post(
            "/patients",
            &json!({"patient": patient("4444455555", "01911000004", "Nasrin Sultana")}),
        )
        .await;
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let pkey = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &pkey,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": pkey.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let dkey = Es256KeyPair::generate().unwrap();
    let r = c
        .post(
            "/doctors",
            &json!({"bmdc_number": "A-5150", "name": "Dr. Mahmud Hasan", "specialty": "Medicine",
                    "public_key": serde_json::to_string(&dkey.public_key().to_jwk()).unwrap()}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = c
        .post(
            "/records",
            &json!({"health_id": hid, "form": {"kind": "lab_report",
            "tests": [{"loinc": "718-7", "value": "12.5"}]}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let issued_id = r.json()["record"]["id"].as_str().unwrap().to_owned();
    // The patient's wallet pulls it (signed pull), with its log entry.
    let pull = signed(&tp, &pkey, "/patient/records", &json!({"since": 0})).await;
    assert_eq!(pull.status, 200, "{}", pull.text());
    let pulled = &pull.json()["records"];
    assert_eq!(pulled.as_array().unwrap().len(), 1);
    assert_eq!(pulled[0]["id"], json!(issued_id));
    assert_eq!(pulled[0]["log_index"], r.json()["log_entry"]["index"]);
    let now = NumericDate::now();
    let make = |expires: NumericDate| {
        let g = Grant {
            id: Grant::new_id().unwrap(),
            patient_key: pkey.public_key().clone(),
            audience: Audience::Key {
                kid: dkey.public_key().kid().to_owned(),
            },
            categories: vec![Category::LabResult],
            record_ids: vec![],
            write: false,
            purpose: Purpose::Treatment,
            issued_at: now.saturating_add(-7200),
            not_before: now.saturating_add(-7200),
            expires,
            use_limit: None,
            peers: vec![URL.to_owned()],
        };
        let text = g.sign(&pkey).unwrap();
        (g, text)
    };
    let (g, text) = make(now.saturating_add(3600));
    assert_eq!(redeem(&tp, &g, &text, &dkey).await.status, 200);
    let (g, text) = make(now.saturating_add(-60));
    assert_eq!(redeem(&tp, &g, &text, &dkey).await.status, 403);

    // The patient's page lists both, newest first, with the doctor's name.
    let page = c.get(&format!("/patients/{hid}")).await.json();
    let access = page["access"].as_array().unwrap();
    assert_eq!(access.len(), 2, "{page}");
    assert_eq!(access[0]["outcome"], "denied");
    assert_eq!(access[0]["reason"], "expired");
    assert_eq!(access[1]["outcome"], "allowed");
    assert_eq!(access[1]["records"], 1);
    for a in access {
        assert_eq!(a["doctor"], "Dr. Mahmud Hasan (A-5150)");
        let e = LogEntry::decode(
            &tp.peer
                .log
                .entry(a["log_index"].as_u64().unwrap())
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(matches!(
            e.kind,
            EntryKind::AccessGranted | EntryKind::AccessDenied
        ));
    }
    // A records clerk sees it too; the registration desk as well (they answer patients).
    let clerk = Console::login(&tp, &token_with(&tp, "r", &[Role::Records]).await).await;
    assert_eq!(
        clerk.get(&format!("/patients/{hid}")).await.json()["access"],
        page["access"]
    );
    tp.stop().await;
}

#[tokio::test]
async fn console_patient_page_shows_the_access_log_from_the_log() {
    for db in engines("console_patient_page_shows_the_access_log_from_the_log").await {
        access_log(db.as_deref()).await;
    }
}

/// The Emergency screens' routes: staff with the records role (or admin) see the pending
/// requests (not the lapsed or confirmed ones) and confirm one through the peer's own code
/// path (logged, kind 7); a registration desk can neither list nor confirm; confirming needs
/// the CSRF token; only the admin sees every access and the disputes.
async fn emergency(db: Option<&str>) {
    use spondon_core::keys::Es256KeyPair;
    let tp = start(db).await;
    let admin = Console::login(&tp, &tp.token).await;
    let r = admin
        .post(
            "/patients",
            &json!({"patient": patient("4444466666", "01911000006", "Rokeya Khatun")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let pkey = Es256KeyPair::generate().unwrap();
    let r = signed(
        &tp,
        &pkey,
        "/patient/enroll",
        &json!({"health_id": hid, "code": code, "public_key": pkey.public_key().to_jwk()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let dkey = Es256KeyPair::generate().unwrap();
    let r = admin
        .post(
            "/doctors",
            &json!({"bmdc_number": "A-7070", "name": "Dr. Farhana Islam", "specialty": "Emergency",
                    "public_key": serde_json::to_string(&dkey.public_key().to_jwk()).unwrap()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ask = |details: &'static str| {
        let (tp, dkey, hid) = (&tp, &dkey, hid.clone());
        async move {
            let r = signed(
                tp,
                dkey,
                "/emergency/requests",
                &json!({"health_id": hid, "reason": "cannot_communicate", "details": details, "hours": 5}),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["access_id"].as_str().unwrap().to_owned()
        }
    };
    let lapsed = ask("an old request nobody confirmed").await;
    sql(
        &tp,
        &format!(
            "UPDATE peer_emergency_access SET requested_at = {}, confirm_by = {} WHERE id = '{lapsed}'",
            NumericDate::now().seconds() - 3600,
            NumericDate::now().seconds() - 1800
        ),
    )
    .await;
    let id = ask("stroke, aphasic, family not reachable").await;

    // The registration desk: neither the list nor the confirmation.
    let desk = Console::login(&tp, &token_with(&tp, "desk", &[Role::Registration]).await).await;
    let r = desk.get("/emergency/pending").await;
    assert_eq!((r.status, r.code()), (403, "role_required".into()));
    let r = desk.get("/emergency").await;
    assert_eq!((r.status, r.code()), (403, "role_required".into()));
    let before = tp.peer.log.tree_head().await.0;
    let r = desk
        .post(&format!("/emergency/{id}/confirm"), &json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required".into()));

    // The records desk: the pending request (the lapsed one is gone), with what it needs.
    let records = Console::login(&tp, &token_with(&tp, "records", &[Role::Records]).await).await;
    let r = records.get("/emergency/pending").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let pending = v["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{v}");
    let p = &pending[0];
    assert_eq!(p["access_id"], id.as_str());
    assert_eq!(p["health_id"], hid.as_str());
    assert_eq!(p["patient_name"], "Rokeya Khatun");
    assert_eq!(p["doctor_bmdc"], "A-7070");
    assert_eq!(p["doctor_name"], "Dr. Farhana Islam");
    assert_eq!(p["doctor_department"], "Emergency");
    assert_eq!(p["reason"], "cannot_communicate");
    assert_eq!(p["details"], "stroke, aphasic, family not reachable");
    assert_eq!(p["hours"], 5);
    assert!(p["confirm_by"].as_i64().unwrap() >= v["now"].as_i64().unwrap());
    let r = records.get("/emergency").await;
    assert_eq!((r.status, r.code()), (403, "role_required".into()));
    // Without the CSRF token: refused, nothing confirmed.
    let r = records
        .post_with(&format!("/emergency/{id}/confirm"), &json!({}), &[])
        .await;
    assert_eq!((r.status, r.code()), (403, "csrf".into()));
    assert_eq!(tp.peer.log.tree_head().await.0, before);
    // The lapsed one cannot be confirmed; the pending one is, and logged.
    let r = records
        .post(&format!("/emergency/{lapsed}/confirm"), &json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "emergency_expired".into()));
    let r = records
        .post(&format!("/emergency/{id}/confirm"), &json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let log_index = r.json()["log_index"].as_u64().unwrap();
    let entry = LogEntry::decode(&tp.peer.log.entry(log_index).await.unwrap()).unwrap();
    assert_eq!(entry.kind, EntryKind::EmergencyAccess);
    let r = records
        .post(&format!("/emergency/{id}/confirm"), &json!({}))
        .await;
    assert_eq!((r.status, r.code()), (409, "already_confirmed".into()));
    let r = records.get("/emergency/pending").await;
    assert!(r.json()["pending"].as_array().unwrap().is_empty());

    // The patient disputes it; the admin sees every access, newest first, with the dispute.
    let r = signed(
        &tp,
        &pkey,
        "/patient/emergency-disputes",
        &json!({"access_id": id, "text": "I could write; nobody asked me"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = admin.get("/emergency").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let all = r.json()["accesses"].as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["access_id"], id.as_str());
    assert_eq!(all[0]["status"], "active");
    assert_eq!(all[0]["dispute"]["text"], "I could write; nobody asked me");
    assert_eq!(all[1]["access_id"], lapsed.as_str());
    assert_eq!(all[1]["status"], "lapsed");
    // The admin may confirm too (role admin), and sees the pending list.
    assert_eq!(admin.get("/emergency/pending").await.status, 200);

    // The page's background refresh (`X-Console-Poll: 1`) is not activity: an unattended
    // console still logs out after 30 minutes.
    let idle = NumericDate::now().seconds() - 25 * 60;
    sql(
        &tp,
        &format!("UPDATE peer_console_sessions SET last_seen = {idle}"),
    )
    .await;
    assert_eq!(records.poll("/emergency/pending").await.status, 200);
    assert_eq!(
        max_last_seen(&tp).await,
        idle,
        "a poll kept the session alive"
    );
    sql(
        &tp,
        &format!(
            "UPDATE peer_console_sessions SET last_seen = {}",
            NumericDate::now().seconds() - 31 * 60
        ),
    )
    .await;
    let r = records.poll("/emergency/pending").await;
    assert_eq!((r.status, r.code()), (401, "session_expired".into()));
    tp.stop().await;
}

#[tokio::test]
async fn console_emergency_screens_confirm_with_roles_and_csrf() {
    for db in engines("console_emergency_screens_confirm_with_roles_and_csrf").await {
        emergency(db.as_deref()).await;
    }
}
