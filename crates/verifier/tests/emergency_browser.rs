//! Emergency (break-glass) access end to end in real headless Chromium (Debian `chromium` +
//! `chromium-driver`, over WebDriver), against a real `spondon-peer` process (SQLite, and
//! PostgreSQL when `SPONDON_TEST_POSTGRES_URL` is set) and the real `spondon-verifier serve`:
//!
//! - at the clinic page a doctor asks for a patient's emergency summary by Health ID, reason,
//!   free text and hours (no QR); the page waits for a second staff confirmation;
//! - in the hospital's staff console (a second browser window) a registration-only login sees
//!   no Emergency tab and the API refuses it (`role_required`); a records login sees the
//!   pending request (doctor, Health ID, reason, free text, hours, time left) and confirms it;
//! - the clinic page shows the verified summary under the red "Emergency access" banner;
//! - refusals in words: a malformed Health ID, an unknown patient, a patient who opted out, a
//!   node whose doctor key the hospital never registered;
//! - the admin sees every access and the patient's dispute; script in every free-text field
//!   (the doctor's details, a medicine's text, the dispute) stays text in both pages.
//!
//! Screenshots: `$CARGO_TARGET_DIR/artifacts/emergency/` (clinic page at 1280×800, 1024×768 and
//! 390×844; console at 1280×800, 1024×768 and 768×1024). Skipped when chromium or
//! chromedriver is missing, unless `SPONDON_REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod node;

use std::path::{Path, PathBuf};
use std::time::Duration;

use node::peer::*;
use node::*;
use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;
use spondon_testkit::browser::{self, Driver, prerequisites};

const XSS: &str = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script>";

/// Where this test's screenshots go.
fn artifacts() -> PathBuf {
    browser::artifacts("emergency")
}

/// What this test does on a page beyond the test kit's driver.
trait EmergencyPage {
    /// Screenshots at each size (back to 1280×800 after); checks nothing scrolls sideways.
    async fn shots(&self, name: &str, sizes: &[(u32, u32)], problems: &mut Vec<String>);
    /// Runs axe-core (when given) on the page as it is; its critical and serious violations.
    async fn axe_into(&self, axe: Option<&str>, name: &str, problems: &mut Vec<String>);
}

impl EmergencyPage for Driver {
    /// Screenshots at each size (back to 1280×800 after); checks nothing scrolls sideways.
    async fn shots(&self, name: &str, sizes: &[(u32, u32)], problems: &mut Vec<String>) {
        for &(w, h) in sizes {
            self.size(w, h).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.screenshot_to(&artifacts().join(format!("{name}-{w}x{h}.png")))
                .await;
            let extra = self.sideways().await;
            if extra > 1 {
                problems.push(format!("{name} at {w}×{h} scrolls sideways by {extra}px"));
            }
        }
        self.size(1280, 800).await;
    }

    /// Runs axe-core (when given) on the page as it is; its critical and serious violations.
    async fn axe_into(&self, axe: Option<&str>, name: &str, problems: &mut Vec<String>) {
        let Some(axe) = axe else { return };
        for v in self.axe(axe).await {
            problems.push(format!("{name}: {v}"));
        }
    }
}

const CLINIC_SIZES: &[(u32, u32)] = &[(1280, 800), (1024, 768), (390, 844)];
const CONSOLE_SIZES: &[(u32, u32)] = &[(1280, 800), (1024, 768), (768, 1024)];

async fn console_login(d: &Driver, base: &str, token: &str) {
    d.goto(&format!("{base}/console")).await;
    d.wait_for(
        "the console login",
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

async fn console_logout(d: &Driver) {
    d.click("#logout").await;
    d.wait_for(
        "the console login",
        "return !document.getElementById('login').classList.contains('hidden')",
    )
    .await;
}

/// Logs into the clinic page and opens the Emergency access tab.
async fn clinic_login(d: &Driver, base: &str, token: &str) {
    d.goto(&format!("{base}/")).await;
    d.wait_for(
        "the clinic login",
        "return !document.getElementById('login').classList.contains('hidden')",
    )
    .await;
    d.type_into("#token", token).await;
    d.click("#login-form button").await;
    d.wait_for(
        "the clinic page",
        "return !document.getElementById('app').classList.contains('hidden') && document.getElementById('em-peer').options.length > 0",
    )
    .await;
    d.click("#tab-btn-emergency").await;
    d.wait_for(
        "the emergency form",
        "return document.getElementById('em-form').offsetParent !== null",
    )
    .await;
}

/// Fills the clinic's emergency form and submits it.
async fn ask(d: &Driver, hid: &str, reason: &str, details: &str, hours: &str) {
    d.type_into("#em-hid", hid).await;
    d.set("#em-peer", URL).await;
    d.set("#em-reason", reason).await;
    d.type_into("#em-details", details).await;
    d.type_into("#em-hours", hours).await;
    d.click("#em-submit").await;
}

/// Waits for the clinic page's refusal and returns (code, words).
async fn refusal(d: &Driver) -> (String, String) {
    let code = d
        .wait_for(
            "the refusal",
            "return document.getElementById('em-error').dataset.code",
        )
        .await;
    (code.as_str().unwrap().to_owned(), d.text("#em-error").await)
}

async fn clear_refusal(d: &Driver) {
    d.js("const e = document.getElementById('em-error'); e.textContent = ''; e.dataset.code = '';")
        .await;
}

/// A registered and enrolled patient (no records); their Health ID and wallet key.
async fn enrolled(peer: &PeerProc, nid: &str, name: &str) -> (String, Es256KeyPair) {
    let r = peer
        .staff_post(
            "/staff/patients",
            &json!({"name": name, "birth_date": "1975-02-03", "sex": "male",
            "national_id": nid, "phone": "01811-000111", "district": "Dhaka", "upazila": "Savar"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let key = Es256KeyPair::generate().unwrap();
    let r = peer
        .signed(
            &key,
            "/patient/enroll",
            &json!({"health_id": hid, "code": code, "public_key": key.public_key().to_jwk()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (hid, key)
}

/// axe-core's `axe.min.js` as `scripts/setup.sh` installs it (or `SPONDON_AXE`); `None` (no
/// accessibility check) when missing, unless `SPONDON_REQUIRE_BROWSER=1`.
fn axe_source() -> Option<String> {
    match browser::axe_path().and_then(|p| std::fs::read_to_string(p).map_err(|e| e.to_string())) {
        Ok(s) => Some(s),
        Err(e) if std::env::var("SPONDON_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("SPONDON_REQUIRE_BROWSER=1 but {e}")
        }
        Err(e) => {
            eprintln!("no accessibility check: {e}");
            None
        }
    }
}

async fn emergency_flow(db: Option<&str>, chromium: &Path, driver: &Path, shots: bool) {
    let mut problems = Vec::new();
    let axe_text = axe_source();
    let axe = axe_text.as_deref();
    let peer = start_peer_on(db).await;
    let root = Es256KeyPair::generate().unwrap();
    let list = trust_list(vec![peer.hospital().await], 1);
    let mut n = init_node(&root, &list, None);
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        URL,
        &format!("http://{}", peer.addr),
    ]);
    enroll_doctor(&peer, &n).await;
    let (hid, patient, _) = peer.patient_with_records().await;
    // A blood group result, and a medicine whose text is a script.
    for rec in [
        json!({"health_id": hid, "kind": "lab_report", "resources": [
            {"resourceType": "DiagnosticReport", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "882-1"}]}},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "882-1"}]},
             "valueCodeableConcept": {"text": "B Rh(D) positive"}}]}),
        json!({"health_id": hid, "kind": "prescription", "doctor_bmdc": "A-40112", "resources": [{
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": format!("Insulin {XSS}")},
            "dosageInstruction": [{"text": "10 units before breakfast"}]}]}),
    ] {
        let r = peer.staff_post("/staff/records", &rec).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // A patient who opted out of emergency access.
    let (opted, opted_key) = enrolled(&peer, "1975000222", "Karim Uddin").await;
    let r = peer
        .signed(
            &opted_key,
            "/patient/emergency-policy",
            &json!({"mode": "opt_out", "hospitals": [], "set_at": spondon_core::NumericDate::now().seconds()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    serve(&mut n, &[]).await;
    let records_token = peer.staff_token("Records desk (Rahim)", "records");
    let desk_token = peer.staff_token("Registration desk (Salma)", "registration");

    let d = Driver::start(
        driver,
        chromium,
        &[
            "--lang=en-GB",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
        ]
        .map(String::from),
    )
    .await;
    let clinic = format!("http://{}", n.addr);
    let console = format!("http://{}", peer.addr);

    // The clinic page: the form, reachable without a QR.
    clinic_login(&d, &clinic, &n.token).await;
    assert_eq!(
        d.js("return document.activeElement.id").await,
        "em-hid",
        "opening the tab puts the cursor in the Health ID"
    );
    let hospitals = d
        .js("return [...document.getElementById('em-peer').options].map((o) => o.textContent)")
        .await;
    assert_eq!(hospitals, json!(["Dhaka Medical College Hospital"]));
    if shots {
        d.shots("clinic-1-form", CLINIC_SIZES, &mut problems).await;
    }
    d.axe_into(axe, "clinic-1-form", &mut problems).await;

    // Refusals, in words. A malformed Health ID is caught in the page, its field marked.
    ask(&d, "12345", "unconscious", "Found unconscious", "4").await;
    let (code, words) = refusal(&d).await;
    assert_eq!(code, "invalid_field");
    assert!(words.contains("14 digits"), "{words}");
    assert_eq!(d.js("return document.activeElement.id").await, "em-hid");
    assert_eq!(
        d.js("return document.getElementById('em-hid').getAttribute('aria-invalid')")
            .await,
        "true"
    );
    clear_refusal(&d).await;
    // No reason chosen.
    ask(&d, &hid, "", "Found unconscious", "4").await;
    assert_eq!(refusal(&d).await.0, "reason_required");
    assert_eq!(d.js("return document.activeElement.id").await, "em-reason");
    clear_refusal(&d).await;
    // Pasted text: the Health ID is found in it. Not registered at this hospital.
    ask(
        &d,
        "Health ID: 9999 9999 9999 99 (card)",
        "unconscious",
        "Found unconscious",
        "4",
    )
    .await;
    let (code, words) = refusal(&d).await;
    assert_eq!(code, "unknown_patient");
    assert_eq!(
        d.js("return document.getElementById('em-hid').value").await,
        "9999-9999-9999-99"
    );
    assert!(
        words.starts_with(
            "No patient with this Health ID is registered at Dhaka Medical College Hospital"
        ),
        "{words}"
    );
    clear_refusal(&d).await;
    // The patient opted out: nothing opened, the attempt logged for them.
    ask(
        &d,
        &opted,
        "life_threatening",
        "Cardiac arrest in the ward",
        "2",
    )
    .await;
    let (code, words) = refusal(&d).await;
    assert_eq!(code, "emergency_opted_out");
    assert!(words.contains("opted out of emergency access"), "{words}");
    if shots {
        d.shots(
            "clinic-2-opted-out",
            &[(1280, 800), (390, 844)],
            &mut problems,
        )
        .await;
    }
    clear_refusal(&d).await;

    // The real request, with a script in the free text.
    let details = format!("Road accident, unconscious, no phone {XSS}");
    ask(&d, &hid, "unconscious", &details, "3").await;
    d.wait_for(
        "the waiting panel",
        "return document.getElementById('em-wait').offsetParent !== null",
    )
    .await;
    let access = d
        .js("return document.getElementById('em-wait').dataset.access")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(access.len(), 22);
    assert_eq!(
        d.text("#em-wait-title").await,
        "Waiting for a second staff confirmation at Dhaka Medical College Hospital"
    );
    assert_eq!(d.js("return document.activeElement.id").await, "em-wait");
    assert_eq!(
        d.js("return document.getElementById('em-wait-text').getAttribute('aria-live')")
            .await,
        "polite"
    );
    // It keeps asking: still waiting after a few polls.
    d.wait_for(
        "a poll",
        "return document.getElementById('em-wait-poll').textContent.startsWith('Last checked')",
    )
    .await;
    if shots {
        d.shots("clinic-3-waiting", CLINIC_SIZES, &mut problems)
            .await;
    }
    d.axe_into(axe, "clinic-3-waiting", &mut problems).await;
    assert!(!d.xss_fired().await);

    // The hospital's console, in a second window. A registration-only login: no Emergency tab,
    // and the API refuses it.
    let clinic_window = d.new_window().await;
    console_login(&d, &console, &desk_token).await;
    assert!(!d.visible(".tab[data-tab=emergency]").await);
    let r = d
        .js(&format!("return (async () => {{
            const s = await (await fetch('/console/api/session')).json();
            const a = await fetch('/console/api/emergency/{access}/confirm', {{method: 'POST', headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}}, body: '{{}}'}});
            const b = await fetch('/console/api/emergency/pending');
            const c = await fetch('/console/api/emergency');
            return [a.status, (await a.json()).code, b.status, (await b.json()).code, c.status];
        }})()"))
        .await;
    assert_eq!(r, json!([403, "role_required", 403, "role_required", 403]));
    console_logout(&d).await;

    // The records desk: the pending request, the free text as text, the time left.
    console_login(&d, &console, &records_token).await;
    assert!(d.visible(".tab[data-tab=emergency]").await);
    d.wait_for(
        "the pending count",
        "return document.getElementById('em-count').textContent === '1'",
    )
    .await;
    // Without the CSRF token the confirmation is refused, and nothing is confirmed.
    let r = d
        .js(&format!("return (async () => {{
            const a = await fetch('/console/api/emergency/{access}/confirm', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: '{{}}'}});
            return [a.status, (await a.json()).code];
        }})()"))
        .await;
    assert_eq!(r, json!([403, "csrf"]));
    d.click(".tab[data-tab=emergency]").await;
    let sel = format!("article.em-request[data-access='{access}']");
    d.wait_for(
        "the pending request",
        &format!("return document.querySelector(\"{sel}\")"),
    )
    .await;
    let text = d.text(&sel).await;
    for want in [
        "Unconscious",
        "Dr. Shirin Sultana (A-40112) — Medicine",
        &hid,
        "Fatema Begum",
        &details,
        "Time left to confirm: 30 min",
    ] {
        assert!(text.contains(want), "the request lacks {want}: {text}");
    }
    assert!(
        text.contains("Hours asked\n3") || text.contains("Hours asked\t3"),
        "{text}"
    );
    assert!(!d.xss_fired().await);
    assert_eq!(
        d.js("return document.querySelectorAll('#em-pending img, #em-pending script').length")
            .await,
        0
    );
    assert!(
        !d.visible("#em-admin").await,
        "the records desk does not see the admin's list"
    );
    if shots {
        d.shots("console-1-pending", CONSOLE_SIZES, &mut problems)
            .await;
    }
    d.axe_into(axe, "console-1-pending", &mut problems).await;
    d.click(&format!("{sel} button")).await;
    d.wait_for(
        "the confirmation dialog",
        "return document.getElementById('em-dialog').open",
    )
    .await;
    assert_eq!(
        d.js("return document.activeElement.id").await,
        "em-dialog-cancel"
    );
    if shots {
        d.shots(
            "console-2-confirm-dialog",
            &[(1280, 800), (768, 1024)],
            &mut problems,
        )
        .await;
    }
    d.axe_into(axe, "console-2-confirm-dialog", &mut problems)
        .await;
    let confirmed_at = std::time::Instant::now();
    d.click("#em-dialog-confirm").await;
    let done = d
        .wait_for(
            "the confirmation",
            "const e = document.getElementById('em-done'); return e.classList.contains('hidden') ? '' : e.textContent",
        )
        .await;
    assert!(
        done.as_str().unwrap().starts_with(&format!(
            "Confirmed: the emergency access for {hid} is open until"
        )),
        "{done}"
    );
    assert_eq!(d.js("return document.activeElement.id").await, "em-done");
    d.wait_for(
        "the empty list",
        "return !document.getElementById('em-none').classList.contains('hidden')",
    )
    .await;
    assert!(
        d.js("return document.getElementById('em-count').classList.contains('hidden')")
            .await
            == json!(true)
    );
    if shots {
        d.shots("console-3-confirmed", &[(1280, 800)], &mut problems)
            .await;
    }
    // Confirming again (a stale page) is refused in words.
    let r = d
        .js(&format!("return (async () => {{
            const s = await (await fetch('/console/api/session')).json();
            const a = await fetch('/console/api/emergency/{access}/confirm', {{method: 'POST', headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}}, body: '{{}}'}});
            return [a.status, (await a.json()).code];
        }})()"))
        .await;
    assert_eq!(r, json!([409, "already_confirmed"]));
    console_logout(&d).await;

    // Back at the clinic: the summary, verified, under the red banner.
    let console_window = d.switch(&clinic_window).await;
    d.wait_for(
        "the emergency summary",
        "return document.getElementById('em-summary').offsetParent !== null",
    )
    .await;
    println!(
        "confirmation in the console to the summary shown at the clinic page ({}): {} ms (the page asks every 3 s)",
        if db.is_some() { "PostgreSQL" } else { "SQLite" },
        confirmed_at.elapsed().as_millis()
    );
    assert_eq!(d.js("return document.activeElement.id").await, "em-summary");
    assert_eq!(
        d.text("#em-banner-title").await,
        "Emergency access — logged and shown to the patient"
    );
    assert!(d.text("#em-expires").await.starts_with("Open until "));
    assert_eq!(d.text("#em-name").await, "Fatema Begum");
    assert_eq!(d.text("#em-id").await, format!("Health ID {hid}"));
    let meds = d.text("#em-meds").await;
    assert!(
        meds.contains("Metformin 500 mg tablet — 1 tablet twice daily with meals"),
        "{meds}"
    );
    assert!(meds.contains(&format!("Insulin {XSS}")), "{meds}");
    let problems_text = d.text("#em-problems").await;
    assert!(problems_text.contains("E11.9"), "{problems_text}");
    assert_eq!(d.text("#em-blood").await, "B Rh(D) positive");
    assert_eq!(
        d.text("#em-allergies").await,
        "No allergy recorded at this hospital"
    );
    let verified = d.text("#em-verified").await;
    assert!(verified.starts_with("4 records verified"), "{verified}");
    assert!(!d.xss_fired().await);
    assert_eq!(
        d.js("return document.querySelectorAll('#em-summary img, #em-summary script').length")
            .await,
        0
    );
    let said = d
        .wait_for(
            "the announcement",
            "return document.getElementById('announce').textContent",
        )
        .await;
    assert!(
        said.as_str()
            .unwrap()
            .starts_with("Emergency access open until"),
        "{said}"
    );
    if shots {
        d.shots("clinic-4-summary", CLINIC_SIZES, &mut problems)
            .await;
    }
    d.axe_into(axe, "clinic-4-summary", &mut problems).await;
    // The node kept receipts only (no health data): the request and the summary shown.
    let receipts = request(
        n.addr,
        "GET",
        "/api/receipts",
        &[("Authorization", &format!("Bearer {}", n.token))],
        b"",
    )
    .await
    .json();
    let mine: Vec<&Value> = receipts["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["grant_id"] == access.as_str())
        .collect();
    assert!(
        mine.iter()
            .any(|r| r["action"] == "emergency" && r["outcome"] == "requested"),
        "{receipts}"
    );
    assert!(
        mine.iter()
            .any(|r| r["outcome"] == "summary_shown" && r["records"] == 4),
        "{receipts}"
    );
    // "New emergency request" clears the patient from the screen.
    d.click("#em-new").await;
    assert_eq!(d.text("#em-name").await, "");
    assert!(d.visible("#em-form").await);

    // A node whose doctor key this hospital never registered: refused, in words.
    let mut other = init_node(&root, &list, None);
    run(&[
        "peer-address",
        "--data",
        other.data_str(),
        URL,
        &format!("http://{}", peer.addr),
    ]);
    serve(&mut other, &[]).await;
    clinic_login(&d, &format!("http://{}", other.addr), &other.token).await;
    ask(&d, &hid, "other", "Transferred from a rural clinic", "1").await;
    let (code, words) = refusal(&d).await;
    assert_eq!(code, "doctor_not_registered");
    assert!(
        words.starts_with(
            "This clinic's doctor key is not registered at Dhaka Medical College Hospital"
        ),
        "{words}"
    );
    if shots {
        d.shots("clinic-5-not-registered", &[(1280, 800)], &mut problems)
            .await;
    }

    // The patient disputes the access (with a script in the text); the admin sees it first.
    let r = peer
        .signed(
            &patient,
            "/patient/emergency-disputes",
            &json!({"access_id": access, "text": format!("I was conscious and refused {XSS}")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    d.switch(&console_window).await;
    console_login(&d, &console, &peer.token).await;
    d.click(".tab[data-tab=emergency]").await;
    d.wait_for(
        "the admin's list",
        &format!("return document.querySelector(\"#em-all tr[data-access='{access}']\")"),
    )
    .await;
    let row = d.text(&format!("#em-all tr[data-access='{access}']")).await;
    for want in [
        "Unconscious",
        "open",
        "disputed",
        "Records desk (Rahim)",
        "Dr. Shirin Sultana (A-40112)",
        &hid,
    ] {
        assert!(row.contains(want), "the admin's row lacks {want}: {row}");
    }
    let disputes = d.text("#em-dispute-list").await;
    assert!(
        disputes.contains(&format!("I was conscious and refused {XSS}")),
        "{disputes}"
    );
    assert!(!d.xss_fired().await);
    // The disputes come before the list of accesses.
    assert_eq!(
        d.js("return document.querySelector('.em-disputes').getBoundingClientRect().top < document.getElementById('em-all').getBoundingClientRect().top")
            .await,
        true
    );
    if shots {
        d.shots("console-4-admin", CONSOLE_SIZES, &mut problems)
            .await;
    }
    d.axe_into(axe, "console-4-admin", &mut problems).await;
    if shots {
        d.js("document.getElementById('em-all').scrollIntoView({block: 'start'})")
            .await;
        d.shots(
            "console-4b-admin-list",
            &[(1280, 800), (768, 1024)],
            &mut problems,
        )
        .await;
        d.js("window.scrollTo(0, 0)").await;
    }
    // Bangla.
    d.click(".lang[data-lang=bn]").await;
    assert_eq!(d.text(".tab[data-tab=emergency] span").await, "জরুরি");
    assert!(d.text("#em-all").await.contains("অচেতন"));
    if shots {
        d.shots("console-5-admin-bangla", &[(1280, 800)], &mut problems)
            .await;
    }
    d.click(".lang[data-lang=en]").await;
    drop(d);
    assert!(problems.is_empty(), "layout problems: {problems:#?}");
}

#[test]
fn emergency_access_in_headless_chromium() {
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
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    Box::pin(emergency_flow(None, &chromium, &driver, true)).await;
                    if let Some(url) = postgres_url("emergency_access_in_the_browser").await {
                        Box::pin(emergency_flow(Some(&url), &chromium, &driver, false)).await;
                    }
                })
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}
