//! The staff console in real headless Chromium (Debian `chromium` + `chromium-driver`, over
//! WebDriver) against a real peer on 127.0.0.1 (SQLite, and PostgreSQL when configured):
//! login, the role-limited tabs, registration with a field error and a duplicate warning, the
//! enrollment QR slip, a doctor and their credential QR, every record form through preview and
//! signing (the card verifies, the page shows its log entry), bad input highlighted with
//! nothing stored, revocation with a reason, XSS attempts in free text rendered as text, and
//! Bangla. Screenshots of every screen at 1280×800 and 1024×768 go to
//! `$CARGO_TARGET_DIR/artifacts/console/`.
//!
//! Skipped when chromium or chromedriver is missing, unless `SPONDON_REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::json;
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard};
use spondon_peer::staff::Role;
use spondon_testkit::browser::{self, Driver, prerequisites, truthy};

/// Where this test's screenshots go.
fn artifacts() -> PathBuf {
    browser::artifacts("console")
}

/// What this test does on a page beyond the test kit's driver.
trait ConsolePage {
    /// Screenshots at 1280×800 and 1024×768 (back to 1280×800 after).
    async fn shots(&self, name: &str);
}

impl ConsolePage for Driver {
    /// Screenshots at 1280×800 and 1024×768 (back to 1280×800 after).
    async fn shots(&self, name: &str) {
        for (w, h) in [(1024, 768), (1280, 800)] {
            self.size(w, h).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            self.screenshot_to(&artifacts().join(format!("{name}-{w}x{h}.png")))
                .await;
        }
    }
}

const XSS: &str = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script>";

async fn stored(tp: &TestPeer) -> (u64, u64) {
    (
        tp.peer.record_count(None).await.unwrap(),
        tp.peer.log.tree_head().await.0,
    )
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

async fn login(d: &Driver, base: &str, token: &str) {
    d.goto(&format!("{base}/console")).await;
    d.wait_for(
        "the login form",
        "return !document.getElementById('login').classList.contains('hidden')",
    )
    .await;
    d.type_into("#token", token).await;
    d.click("#login-form button").await;
    d.wait_for(
        "the console",
        "return !document.getElementById('app').classList.contains('hidden')",
    )
    .await;
}

async fn logout(d: &Driver) {
    d.click("#logout").await;
    d.wait_for(
        "the login form",
        "return !document.getElementById('login').classList.contains('hidden')",
    )
    .await;
}

/// Issues the current form through preview and signing; returns the record id.
async fn preview_and_sign(d: &Driver, tp: &TestPeer, shot: Option<&str>) -> String {
    let before = stored(tp).await;
    d.click("#preview").await;
    d.wait_for(
        "the preview",
        "return !document.getElementById('preview-card').classList.contains('hidden') || document.getElementById('issue-error').textContent",
    )
    .await;
    let err = d.text("#issue-error").await;
    assert!(err.is_empty(), "preview refused: {err}");
    assert_eq!(stored(tp).await, before, "a preview stores nothing");
    if let Some(s) = shot {
        d.shots(&format!("{s}-preview")).await;
    }
    d.click("#sign").await;
    d.wait_for(
        "the issued record",
        "return !document.getElementById('issued-card').classList.contains('hidden') && document.getElementById('issued-id').textContent",
    )
    .await;
    if let Some(s) = shot {
        d.shots(&format!("{s}-issued")).await;
    }
    let id = d.text("#issued-id").await;
    let (rec, _) = tp.peer.stored_record(&id).await.unwrap();
    assert_eq!(
        d.text("#issued-log-index").await,
        format!("#{}", rec.log_index)
    );
    id
}

async fn console_in_browser(db: Option<&str>, chromium: &Path, driver: &Path, shots: bool) {
    let tp = start_with(db, |c| c.console_secure_cookie = false).await;
    let desk = tp
        .peer
        .create_staff_token_with("Reception desk 2", &[Role::Registration], 30)
        .await
        .unwrap();
    let d = Driver::start(driver, chromium, &["--lang=en-GB".into()]).await;
    let base = format!("http://{}", tp.addr);
    let shot = |name: &'static str| if shots { Some(name) } else { None };

    // Login: a wrong token is refused with a message.
    d.goto(&format!("{base}/console")).await;
    d.wait_for(
        "the login form",
        "return !document.getElementById('login').classList.contains('hidden')",
    )
    .await;
    if shots {
        d.shots("01-login").await;
    }
    d.type_into("#token", "spst_wrong").await;
    d.click("#login-form button").await;
    let e = d
        .wait_for(
            "the login error",
            "return document.getElementById('login-error').textContent",
        )
        .await;
    assert!(e.as_str().unwrap().contains("staff credentials"), "{e}");

    // The registration desk sees only its tabs, and the server refuses it the others' work.
    login(&d, &base, &desk.token).await;
    assert!(d.visible(".tab[data-tab=register]").await);
    assert!(d.visible(".tab[data-tab=patients]").await);
    for t in ["issue", "doctors", "staff"] {
        assert!(!d.visible(&format!(".tab[data-tab={t}]")).await, "{t}");
    }
    let forced = d
        .js("return (async () => { const s = await (await fetch('/console/api/session')).json(); const r = await fetch('/console/api/records', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}, body: JSON.stringify({health_id: 'x', form: {kind: 'encounter', class: 'outpatient', department: 'x', reason: 'x'}})}); return [r.status, (await r.json()).code]; })()")
        .await;
    assert_eq!(forced, json!([403, "role_required"]));

    // Register: a bad mobile number is shown on its field and nothing is stored.
    d.click(".tab[data-tab=register]").await;
    let name = format!("Rahima {XSS} Khatun");
    d.type_into("#r-nid", "19901234567890123").await;
    d.type_into("#r-name", &name).await;
    d.set("#r-sex", "female").await;
    d.set("#r-dob", "1990-04-12").await;
    d.type_into("#r-phone", "12345").await;
    d.set("#r-district", "Cox's Bazar").await;
    d.type_into("#r-upazila", "Ukhia").await;
    d.click("#register-submit").await;
    d.wait_for(
        "the phone error",
        "return document.querySelector('#r-phone.invalid') && document.getElementById('register-error').textContent",
    )
    .await;
    assert_eq!(
        d.text("#register-error").await,
        "Mobile number: must be a Bangladeshi mobile number (01XXXXXXXXX)"
    );
    assert_eq!(
        d.js("return document.getElementById('register-error').dataset.field")
            .await,
        json!("phone")
    );
    if shots {
        d.shots("03-register-error").await;
    }
    assert!(tp.peer.search_patients("Rahima").await.unwrap().is_empty());
    d.type_into("#r-phone", "01812345678").await;
    d.click("#register-submit").await;
    d.wait_for(
        "the enrollment slip",
        "return document.getElementById('enroll-code')",
    )
    .await;
    let hid = d.text("#enroll-hid").await;
    let code = d.text("#enroll-code").await;
    assert_eq!(code.len(), 11, "{code}");
    assert!(d.text("#enroll-expires").await.len() > 5);
    assert!(
        d.js("const i = document.querySelector('#enroll-slip img'); return i.complete && i.naturalWidth > 50")
            .await
            == json!(true),
        "the QR image renders"
    );
    let slip = d.text("#enrolled").await;
    assert!(
        slip.contains("<img src=x"),
        "the name shows as text: {slip}"
    );
    assert!(!d.xss_fired().await);
    if shots {
        d.shots("04-enrollment-qr").await;
    }
    // The same mobile number again: the possible duplicate is shown before anything is made.
    d.type_into("#r-nid", "5555566666").await;
    d.type_into("#r-name", "Karim Uddin").await;
    d.set("#r-sex", "male").await;
    d.set("#r-dob", "1985-01-01").await;
    d.type_into("#r-phone", "01812345678").await;
    d.set("#r-district", "Dhaka").await;
    d.type_into("#r-upazila", "Savar").await;
    d.click("#register-submit").await;
    d.wait_for(
        "the duplicate warning",
        "return !document.getElementById('dups').classList.contains('hidden')",
    )
    .await;
    assert!(d.text("#dups").await.contains(&hid));
    assert!(d.text("#dups").await.contains("mobile"));
    if shots {
        d.shots("05-duplicate").await;
    }
    assert_eq!(tp.peer.search_patients("Karim").await.unwrap().len(), 0);
    logout(&d).await;

    // The administrator: a doctor and their credential QR; staff tokens.
    login(&d, &base, &tp.token).await;
    d.click(".tab[data-tab=doctors]").await;
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    d.type_into("#d-bmdc", "A-4242").await;
    d.type_into("#d-name", "Dr. Farzana Rahman").await;
    d.type_into("#d-spec", "Medicine").await;
    d.type_into("#d-key", "{\"kty\":\"EC\"}").await;
    d.click("#doctor-form button").await;
    d.wait_for(
        "the key error",
        "return document.querySelector('#d-key.invalid')",
    )
    .await;
    d.type_into(
        "#d-key",
        &serde_json::to_string(&key.public_key().to_jwk()).unwrap(),
    )
    .await;
    d.click("#doctor-form button").await;
    d.wait_for(
        "the credential",
        "return document.getElementById('credential-text')",
    )
    .await;
    let cred = d
        .js("return document.getElementById('credential-text').textContent")
        .await;
    assert!(cred.as_str().unwrap().starts_with("SPONDON:1:"));
    d.wait_for(
        "the doctor list",
        "return document.querySelector('#doctor-list tbody tr')",
    )
    .await;
    if shots {
        d.shots("06-doctor-credential").await;
    }
    d.click(".tab[data-tab=staff]").await;
    d.wait_for(
        "the token list",
        "return document.querySelectorAll('#token-list tbody tr').length >= 2",
    )
    .await;
    d.type_into("#t-label", "Lab desk").await;
    d.click("#token-form input[value=records]").await;
    d.click("#token-form button.primary").await;
    d.wait_for(
        "the new token",
        "return document.getElementById('new-token')",
    )
    .await;
    assert!(d.text("#new-token").await.starts_with("spst_"));
    if shots {
        d.shots("07-staff-tokens").await;
    }

    // Every record form, through preview and signing.
    d.click(".tab[data-tab=issue]").await;
    d.wait_for(
        "the doctor choices",
        "return document.querySelectorAll('#i-doctor option').length > 1",
    )
    .await;
    d.type_into("#i-hid", &hid).await;
    d.set("#i-doctor", "A-4242").await;
    // Prescription.
    d.click(".kind[data-kind=prescription]").await;
    d.type_into("#f-medications-0--medicine", "Paracetamol 500 mg tablet")
        .await;
    d.type_into("#f-medications-0--dose", "1 tablet").await;
    d.set("#f-medications-0--frequency", "thrice_daily").await;
    d.type_into("#f-medications-0--days", "5").await;
    d.type_into("#f-medications-0--instructions", XSS).await;
    d.click("#add-line").await;
    d.type_into(
        "#f-medications-1--medicine",
        "Oral rehydration salts (ORS) sachet",
    )
    .await;
    d.type_into("#f-medications-1--dose", "1 sachet").await;
    d.set("#f-medications-1--frequency", "as_needed").await;
    d.type_into("#f-medications-1--days", "3").await;
    if shots {
        d.shots("08-prescription-form").await;
        // A tablet held upright.
        d.size(768, 1024).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let v = d.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(
            artifacts().join("08-prescription-form-tablet-768x1024.png"),
            png,
        )
        .unwrap();
        d.size(1280, 800).await;
    }
    let rx = preview_and_sign(&d, &tp, shot("09-prescription")).await;
    assert!(!d.xss_fired().await);
    // Lab report: a bad value first (highlighted, nothing stored), then the real one.
    d.click(".kind[data-kind=lab_report]").await;
    d.type_into("#f-tests-0--loinc", "718-7 — Hemoglobin").await;
    d.type_into("#f-tests-0--value", "abc").await;
    let before = stored(&tp).await;
    d.click("#preview").await;
    d.wait_for(
        "the value error",
        "return document.querySelector('#f-tests-0--value.invalid')",
    )
    .await;
    assert_eq!(
        d.js("return document.getElementById('issue-error').dataset.field")
            .await,
        json!("tests[0].value")
    );
    if shots {
        d.shots("10-lab-error").await;
    }
    assert_eq!(stored(&tp).await, before);
    d.type_into("#f-tests-0--value", "9.5").await;
    d.click("#add-line").await;
    d.type_into("#f-tests-1--loinc", "777-3 — Platelet count")
        .await;
    d.type_into("#f-tests-1--value", "85").await;
    d.click("#add-line").await;
    d.type_into("#f-tests-2--loinc", "75377-2 — Dengue virus NS1 antigen")
        .await;
    d.type_into("#f-tests-2--value", "positive").await;
    d.type_into("#f-conclusion", XSS).await;
    let lab = preview_and_sign(&d, &tp, shot("11-lab-report")).await;
    // Diagnosis (ICD-10 search list).
    d.click(".kind[data-kind=diagnosis]").await;
    d.type_into("#f-conditions-0--code", "A97.1 — Dengue with warning signs")
        .await;
    d.type_into("#f-conditions-0--note", XSS).await;
    let dx = preview_and_sign(&d, &tp, shot("12-diagnosis")).await;
    // Payment slip in BDT.
    d.click(".kind[data-kind=payment]").await;
    d.type_into("#f-items-0--description", "Complete blood count")
        .await;
    d.type_into("#f-items-0--amount", "450").await;
    d.click("#add-line").await;
    d.type_into("#f-items-1--description", XSS).await;
    d.type_into("#f-items-1--amount", "700.50").await;
    d.set("#f-method", "mobile_banking").await;
    let pay = preview_and_sign(&d, &tp, shot("13-payment")).await;
    // Encounter note.
    d.click(".kind[data-kind=encounter]").await;
    d.set("#f-class", "emergency").await;
    d.type_into("#f-department", "Medicine").await;
    d.type_into("#f-reason", "High fever for three days").await;
    d.type_into("#f-note", XSS).await;
    let enc = preview_and_sign(&d, &tp, shot("14-encounter")).await;
    assert!(!d.xss_fired().await);

    // A document: a file that is not what its name says is refused with nothing stored, then
    // a PDF is uploaded and issued.
    let fake = tp.dir.path().join("fake-report.pdf");
    std::fs::write(&fake, format!("<html><body>{XSS}</body></html>")).unwrap();
    let pdf = tp.dir.path().join("cbc-report.pdf");
    let pdf_bytes =
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    std::fs::write(&pdf, pdf_bytes).unwrap();
    d.type_into("#d-hid", &hid).await;
    d.set("#d-type", "lab_report").await;
    d.set("#d-category", "lab_result").await;
    d.type_into("#d-title", "CBC report").await;
    d.choose_file("#d-file", &fake).await;
    let before = stored(&tp).await;
    d.click("#doc-submit").await;
    d.wait_for(
        "the file error",
        "return document.getElementById('doc-error').dataset.code === 'file_type_mismatch'",
    )
    .await;
    assert_eq!(stored(&tp).await, before);
    assert_eq!(tp.peer.file_count().await.unwrap(), 0);
    if shots {
        d.shots("14b-document-error").await;
    }
    d.choose_file("#d-file", &pdf).await;
    d.click("#doc-submit").await;
    d.wait_for(
        "the issued document",
        "const c = document.getElementById('issued-card'); return c && !c.classList.contains('hidden') && c.innerText.includes('Document')",
    )
    .await;
    if shots {
        d.shots("14c-document-issued").await;
    }
    let doc = d.text("#issued-id").await;
    let (rec, _) = tp.peer.stored_record(&doc).await.unwrap();
    assert_eq!(rec.kind, spondon_peer::records::RecordKind::Document);
    assert_eq!(rec.category, spondon_core::token::Category::LabResult);
    let card = ParsedCard::parse(&rec.jws).unwrap();
    let att = spondon_document::Attachment::from_card_fhir(card.fhir_bundle())
        .unwrap()
        .unwrap();
    assert_eq!(att.title.as_deref(), Some("CBC report"));
    att.check(pdf_bytes).unwrap();
    assert!(!d.xss_fired().await);

    // Each card verifies against the peer's JWKS and CRL.
    let dir = directory(&tp).await;
    for id in [&rx, &lab, &dx, &pay, &enc, &doc] {
        let (rec, _) = tp.peer.stored_record(id).await.unwrap();
        ParsedCard::parse(&rec.jws)
            .unwrap()
            .verify(&dir, NumericDate::now())
            .unwrap();
    }

    // The patient's page: records; revoke the prescription with a reason.
    d.click("#issued-card button").await;
    d.wait_for(
        "the patient's records",
        "return document.querySelectorAll('#p-records tbody tr').length === 6",
    )
    .await;
    assert!(d.text("#p-name").await.contains("<img src=x"));
    d.click(&format!("#p-records button[data-record='{rx}']"))
        .await;
    d.set("#revoke-reason", "entered_in_error").await;
    if shots {
        d.shots("15-revoke-dialog").await;
    }
    d.click("#revoke-confirm").await;
    d.wait_for(
        "the revoked status",
        &format!(
            "const r = document.querySelector(\"#p-records tr[data-record='{rx}']\"); return r && r.innerText.includes('Entered in error')"
        ),
    )
    .await;
    let (rec, _) = tp.peer.stored_record(&rx).await.unwrap();
    let e = ParsedCard::parse(&rec.jws)
        .unwrap()
        .verify(&directory(&tp).await, NumericDate::now())
        .unwrap_err();
    assert_eq!(e.code(), "revoked");
    d.js("window.scrollTo(0, 0)").await;
    if shots {
        d.shots("16-patient").await;
    }
    // Search.
    d.type_into("#search-q", "rahima").await;
    d.click("#search-form button").await;
    d.wait_for(
        "the search results",
        "return document.querySelectorAll('#search-results tbody tr').length",
    )
    .await;
    assert!(d.text("#search-results").await.contains(&hid));
    assert!(!d.xss_fired().await);

    // Bangla throughout.
    d.click(".lang[data-lang=bn]").await;
    d.wait_for(
        "Bangla",
        "return document.querySelector('.tab[data-tab=issue]').textContent === 'রেকর্ড প্রদান'",
    )
    .await;
    assert!(d.text("#p-records").await.contains("প্রেসক্রিপশন"));
    d.js("window.scrollTo(0, 0)").await;
    if shots {
        d.shots("17-patient-bangla").await;
    }
    d.click(".tab[data-tab=issue]").await;
    d.click(".kind[data-kind=lab_report]").await;
    d.type_into("#f-tests-0--loinc", "718-7 — Hemoglobin").await;
    d.type_into("#f-tests-0--value", "13.1").await;
    d.click("#preview").await;
    d.wait_for(
        "the Bangla preview",
        "return !document.getElementById('preview-card').classList.contains('hidden')",
    )
    .await;
    assert!(d.text("#preview-table").await.contains("গ্রাম প্রতি ডেসিলিটার"));
    if shots {
        d.shots("18-lab-preview-bangla").await;
    }
    d.click(".lang[data-lang=en]").await;

    // Logging out ends the session server-side.
    logout(&d).await;
    let r = d
        .js("return (async () => { const r = await fetch('/console/api/session'); return [r.status, (await r.json()).code]; })()")
        .await;
    assert_eq!(r, json!([401, "unauthorized"]));
    drop(d);
    tp.stop().await;
}

#[test]
fn the_console_in_headless_chromium() {
    let (chromium, driver) = match prerequisites() {
        Ok(p) => p,
        Err(why) => {
            if std::env::var("SPONDON_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("SPONDON_REQUIRE_BROWSER=1 but {why}");
            }
            eprintln!("skipped the browser test: {why}");
            return;
        }
    };
    // The test's one long async function needs more than the default test thread's stack in
    // a debug build.
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 * 1024 * 1024)
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut shots = true;
                    for db in engines("the_console_in_headless_chromium").await {
                        Box::pin(console_in_browser(db.as_deref(), &chromium, &driver, shots))
                            .await;
                        shots = false;
                    }
                });
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_wait_on_a_count_waits_for_rows() {
    assert!(!truthy(&json!(0)));
    assert!(!truthy(&json!(0.0)));
    assert!(!truthy(&json!("")));
    assert!(!truthy(&json!(null)));
    assert!(!truthy(&json!(false)));
    assert!(truthy(&json!(1)));
    assert!(truthy(&json!("x")));
    assert!(truthy(&json!({})));
}
