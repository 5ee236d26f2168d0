//! The patient's whole story in the real app: the release build (UI embedded) in a real window
//! under Xvfb, its keys in a real Secret Service, driven over WebDriver against the demo's world
//! (two real peers, a real clinic node). Run by `scripts/e2e-app.sh`, which starts all of that;
//! skipped under a plain `cargo test` unless `SPONDON_REQUIRE_APP_E2E=1`.
//!
//! first run → enroll at both hospitals → sync → open a record and its proof → share with the
//! doctor (QR) → the clinic node accepts the grant and fetches exactly the granted records →
//! the receipt shows in the access log → revoke → the node is refused → export → the export
//! verifies with `spondon-verifier check` → import a SMART Health Card → settings → the same
//! screens in Bangla → lock and unlock. Every screen is captured at 1280×800, 390×844 and 360×640 and
//! checked with axe-core (no serious or critical violation may remain).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};
use spondon_e2e::{App, CliWallet, Setup, verifier_check};

const PASSPHRASE: &str = "monsoon lantern 47 jackfruit";

/// Clicks the first element matching `css` whose text contains `needle`.
async fn click_containing(app: &App, css: &str, needle: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + spondon_e2e::STEP;
    loop {
        let hit = app
            .js(
                "const [css, needle] = arguments;
                 const el = [...document.querySelectorAll(css)].find(e => e.textContent.includes(needle));
                 if (el) { el.scrollIntoView({block: 'center'}); el.click(); return true; }
                 return false;",
                vec![json!(css), json!(needle)],
            )
            .await?;
        if hit == Value::Bool(true) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("no {css} containing {needle:?}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Goes to a screen through the navigation.
async fn nav(app: &App, id: &str) -> Result<()> {
    app.click(&format!("#nav-{id}")).await?;
    app.wait("#page-title").await
}

/// Syncs from the records screen and checks that both hospitals answered.
async fn sync_at_both(app: &App) -> Result<()> {
    if app.count("#sync-dismiss").await? > 0 {
        app.click("#sync-dismiss").await?;
    }
    app.click("#sync-button").await?;
    app.wait("#sync-dismiss").await?;
    let ok = app.count("#sync-status .peer-line.ok").await?;
    let status = app.text("#sync-status").await?;
    ensure!(
        ok == 2 && app.count("#sync-status .peer-line.failed").await? == 0,
        "the sync did not reach both hospitals: {status}"
    );
    ensure!(
        app.count("#sync-error .alert").await? == 0,
        "the sync failed: {status}"
    );
    Ok(())
}

/// A 480×360 grey image that looks a little like a chest radiograph: a PNG to issue as a
/// document.
fn xray_png() -> Result<Vec<u8>> {
    let img = image::GrayImage::from_fn(480, 360, |x, y| {
        let (dx, dy) = (f64::from(x) - 240.0, f64::from(y) - 190.0);
        // Two dark lung fields in a bright body, ribs as faint bands.
        let lung = |cx: f64| {
            let (u, v) = ((f64::from(x) - cx) / 80.0, dy / 130.0);
            u * u + v * v < 1.0
        };
        let body = (dx / 220.0).powi(2) + (dy / 200.0).powi(2) < 1.0;
        let rib = ((f64::from(y) / 14.0).sin() * 0.5 + 0.5) * 30.0;
        let v = match (body, lung(165.0) || lung(315.0)) {
            (true, true) => 55.0 + rib,
            (true, false) => 190.0,
            _ => 12.0,
        };
        image::Luma([v.clamp(0.0, 255.0) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patients_whole_story_in_the_app() {
    let Some(setup) = Setup::from_env().expect("e2e setup") else {
        eprintln!("skipped: run scripts/e2e-app.sh (SPONDON_E2E_WORLD is not set)");
        return;
    };
    if let Err(e) = story(&setup).await {
        panic!("{e:#}");
    }
}

async fn story(setup: &Setup) -> Result<()> {
    let w = &setup.world;
    let (mut app, first) = App::launch(setup, "#first-run-create").await?;
    eprintln!("app: first screen after {} ms", first.as_millis());

    // 1. First run: a new wallet, its key in the OS keychain (the Secret Service is there).
    app.capture("welcome").await?;
    app.click("#first-run-create").await?;
    app.wait("#create-keychain").await?;
    app.fill("#create-passphrase", "short").await?;
    app.wait_text("#passphrase-strength", "").await?;
    app.fill("#create-passphrase", PASSPHRASE).await?;
    app.fill("#create-passphrase-repeat", PASSPHRASE).await?;
    app.capture("create-wallet").await?;
    app.click("#create-wallet").await?;
    app.wait("#backup-reminder").await?;
    app.capture("backup-reminder").await?;
    app.click("#backup-later").await?;

    // 2. Enroll at both hospitals with their one-time codes.
    nav(&app, "hospitals").await?;
    for (code, name) in [
        ("WORLD_DMCH_ENROLL", "Dhaka Medical College Hospital"),
        ("WORLD_LABAID_ENROLL", "Labaid Diagnostics"),
    ] {
        app.fill("#enroll-code", w.get(code)?).await?;
        app.click("#enroll-button").await?;
        app.wait_text("#hospital-list", name).await?;
    }
    app.capture("hospitals").await?;

    // 3. Sync: four records (one a document), every one verified.
    nav(&app, "records").await?;
    app.click("#sync-button").await?;
    app.wait_text("#records-list", "CBC report").await?;
    app.wait_text("#records-list", "Prescription").await?;
    app.wait_text("#records-list", "Diagnosis").await?;
    ensure!(
        app.count("#records-list li").await? >= 4,
        "fewer than four records after the sync"
    );
    app.capture("records").await?;

    // 4. The CBC report: a result with its range and flag, and the proof behind "verified".
    click_containing(&app, "#records-list button", "CBC report").await?;
    app.wait("#proof-toggle").await?;
    let detail = app.body_text().await?;
    ensure!(
        detail.contains("Platelets") && detail.contains("150"),
        "the CBC shows no platelet count with its reference range: {detail}"
    );
    app.capture("record").await?;
    app.click("#proof-toggle").await?;
    app.wait("#record-proof").await?;
    let proof = app.text("#record-proof").await?;
    ensure!(
        proof.contains("peer.labaid.example"),
        "the proof names no log: {proof}"
    );
    app.capture("record-proof").await?;

    // 4b. A document: Labaid's lab system's own PDF of the report. The sync fetched the file
    // and checked it against the signed card; the app says who signed it and saves a copy (it
    // never renders a PDF itself).
    nav(&app, "records").await?;
    click_containing(&app, "#records-list button", "Document · Labaid").await?;
    app.wait("#record-document").await?;
    app.wait_text("#doc-type", "PDF").await?;
    app.click("#doc-save").await?;
    app.wait("#doc-saved").await?;
    app.wait("#doc-checked").await?;
    let said = app.text("#record-document").await?;
    ensure!(
        said.contains("is the one Labaid Diagnostics signed on"),
        "the document does not say who signed it: {said}"
    );
    let saved = app.text("#doc-saved").await?;
    let path = saved
        .split_once(": ")
        .map(|(_, p)| p.trim().to_owned())
        .context("no saved path")?;
    ensure!(
        std::fs::read(&path)? == std::fs::read(w.get("WORLD_DOCUMENT_PDF")?)?,
        "the saved copy {path} is not the file Labaid uploaded"
    );
    app.capture("record-document").await?;

    // 4c. An image document (an X-ray) issued now: the next sync brings it, and the app shows the
    // image once it is checked against its card.
    let xray = xray_png()?;
    w.issue_document(
        "LABAID",
        &xray,
        "image/png",
        "Chest X-ray",
        "36643-5",
        "lab_result",
    )
    .await?;
    nav(&app, "records").await?;
    sync_at_both(&app).await?;
    click_containing(&app, "#records-list button", "Chest X-ray").await?;
    app.wait("#doc-show").await?;
    app.click("#doc-show").await?;
    app.wait("#doc-image").await?;
    app.wait("#doc-checked").await?;
    app.capture("record-image").await?;

    // 5. Share lab results and prescriptions with the doctor for a day.
    nav(&app, "share").await?;
    let credential = std::fs::read_to_string(w.get("WORLD_DOCTOR_CREDENTIAL")?)?;
    app.click("#add-doctor-toggle").await?;
    app.fill("#doctor-credential", credential.trim()).await?;
    app.click("#doctor-add").await?;
    app.wait_text("#doctor-list", "Rezaul Karim").await?;
    app.click("#scope-lab_result").await?;
    app.click("#scope-prescription").await?;
    app.fill("#share-duration-amount", "1").await?;
    app.select("#share-duration-unit", "day").await?;
    app.capture("share").await?;
    app.fill("#share-passphrase", PASSPHRASE).await?;
    app.click("#share-create").await?;
    app.wait("#share-qr").await?;
    app.wait_text("#share-countdown", ":").await?;
    app.capture("share-qr").await?;
    // The exact text: base45 has spaces (a rendered text collapses and trims them).
    app.wait("#share-text").await?;
    let grant = app
        .js(
            "return document.getElementById('share-text').textContent",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(grant.starts_with("SPONDON:"), "no grant text: {grant:?}");
    // The QR on the screen is what the clinic's camera reads: it must verify from the picture.
    let shot = app
        .shots
        .iter()
        .rev()
        .find(|p| p.to_string_lossy().contains("share-qr-desktop"))
        .context("the QR screenshot")?
        .clone();
    let (code, out) = verifier_check(setup, &shot)?;
    ensure!(
        code == 0,
        "the on-screen QR does not verify (exit {code}): {out}"
    );

    // 6. The clinic node accepts it and fetches exactly the granted records.
    let (status, check) = w
        .clinic("/api/grant/check", &json!({ "grant": grant }))
        .await?;
    ensure!(status == 200, "grant check answered {status}: {check}");
    let (status, records) = w
        .clinic("/api/grant/records", &json!({ "grant": grant }))
        .await?;
    ensure!(status == 200, "grant records answered {status}: {records}");
    let text = records.to_string();
    ensure!(
        text.contains("Paracetamol"),
        "the prescription was not fetched: {text}"
    );
    ensure!(
        text.contains("777-3") || text.contains("Platelet"),
        "the CBC was not fetched: {text}"
    );
    ensure!(
        !text.contains("A97.0") && !text.contains("Dengue"),
        "the diagnosis was not granted but was fetched: {text}"
    );

    // 7. The next sync brings the receipt: the access log says who saw what.
    nav(&app, "records").await?;
    app.click("#sync-button").await?;
    app.wait("#sync-status").await?;
    nav(&app, "access").await?;
    app.wait_text("#receipts-list", "Rezaul Karim").await?;
    app.capture("access").await?;

    // 8. Revoke: the hospitals refuse the grant at once.
    nav(&app, "grants").await?;
    app.wait("#grant-list").await?;
    app.capture("grants").await?;
    app.click("#grant-list .revoke-open").await?;
    app.fill("#revoke-passphrase", PASSPHRASE).await?;
    app.capture("revoke-confirm").await?;
    app.click("#revoke-confirm").await?;
    app.wait("#revoke-answers").await?;
    app.capture("revoked").await?;
    let (status, refused) = w
        .clinic("/api/grant/records", &json!({ "grant": grant }))
        .await?;
    ensure!(
        refused.to_string().contains("revoked"),
        "the node was not refused after revocation ({status}): {refused}"
    );

    // 8b. Emergency access: only DMCH may open the emergency summary without a QR; both
    // hospitals confirm the setting.
    nav(&app, "settings").await?;
    app.wait("#emergency-card").await?;
    app.click("#emergency-mode-only").await?;
    app.wait("#emergency-hospitals").await?;
    app.click(&format!(
        "#emergency-hospitals input[data-peer='{}']",
        w.get("WORLD_DMCH_URL")?
    ))
    .await?;
    app.fill("#emergency-passphrase", PASSPHRASE).await?;
    app.capture("emergency-setting").await?;
    app.click("#emergency-save").await?;
    app.wait_text(
        "#emergency-answers",
        "In force at Dhaka Medical College Hospital",
    )
    .await?;
    app.wait_text("#emergency-answers", "In force at Labaid Diagnostics")
        .await?;
    app.wait_text("#emergency-current", "Only the hospitals I choose")
        .await?;
    app.capture("emergency-setting-saved").await?;

    // 8c. Emergency access without a QR: the clinic's doctor asks DMCH, a second staff member
    // confirms there, the doctor reads the summary. The app shows the access first, apart, and
    // the patient disputes it.
    let dmch = w.get("WORLD_DMCH_URL")?;
    let hid = w.get("WORLD_DMCH_HID")?;
    let (status, asked) = w
        .clinic(
            "/api/emergency/request",
            &json!({"peer": dmch, "health_id": hid, "reason": "unconscious",
                    "details": "brought in unconscious after a road accident", "hours": 2}),
        )
        .await?;
    ensure!(
        status == 201,
        "emergency request answered {status}: {asked}"
    );
    let access = asked["access_id"]
        .as_str()
        .context("no access id")?
        .to_owned();
    let (status, confirmed) = w
        .peer_staff("DMCH", &format!("/staff/emergency/{access}/confirm"))
        .await?;
    ensure!(
        status == 201,
        "the confirmation answered {status}: {confirmed}"
    );
    let (status, summary) = w
        .clinic(
            "/api/emergency/summary",
            &json!({"peer": dmch, "access_id": access, "health_id": hid}),
        )
        .await?;
    ensure!(
        status == 200 && summary["status"] == "open",
        "the summary answered {status}: {summary}"
    );
    nav(&app, "records").await?;
    app.click("#sync-button").await?;
    app.wait("#sync-status").await?;
    nav(&app, "access").await?;
    app.wait_text("#emergency-receipts", "Rezaul Karim").await?;
    let shown = app.text("#emergency-receipts").await?;
    ensure!(
        shown.contains("Dhaka Medical College Hospital")
            && shown.contains("brought in unconscious after a road accident"),
        "the emergency receipt does not say where and why: {shown}"
    );
    app.capture("access-emergency").await?;
    app.click("#dispute-open-0").await?;
    app.fill("#dispute-text-0", "I was at home in Mymensingh that day")
        .await?;
    app.fill("#dispute-passphrase-0", PASSPHRASE).await?;
    app.capture("access-dispute").await?;
    app.click("#dispute-send-0").await?;
    app.wait_text("#dispute-done-0", "Disputed on").await?;

    // 8d. Family: the patient lets a family member's wallet (here the spondon CLI's) see and
    // share their lab reports; that wallet reads them, verified against the hospitals' logs.
    let family_dir = setup
        .wallet_dir
        .parent()
        .context("the wallet directory has no parent")?
        .join("family");
    let family = CliWallet::create(setup, &family_dir)?;
    let key = family.run(&["delegate", "key"])?;
    nav(&app, "family").await?;
    app.wait("#family-my-key-text").await?;
    app.fill("#family-delegate-key", key.trim()).await?;
    app.fill("#family-label", "Amma").await?;
    app.click("#family-scope-share").await?;
    app.click("#family-cat-lab_result").await?;
    app.fill("#family-days", "30").await?;
    app.fill("#family-passphrase", PASSPHRASE).await?;
    app.capture("family").await?;
    app.click("#family-create").await?;
    app.wait("#family-created-text").await?;
    let delegation = app
        .js(
            "return document.getElementById('family-created-text').textContent",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        delegation.starts_with("SPONDON:"),
        "no delegation text: {delegation:?}"
    );
    app.wait_text("#family-delegations", "Amma").await?;
    app.capture("family-created").await?;
    let file = family_dir.join("delegation.txt");
    std::fs::write(&file, &delegation)?;
    let accepted = family.run(&[
        "delegate",
        "accept",
        file.to_str().context("path")?,
        "--name",
        "Patient",
    ])?;
    ensure!(
        accepted.contains("view, share"),
        "the family member's wallet did not accept the delegation: {accepted}"
    );
    let synced = family.run(&["delegate", "sync", "Patient"])?;
    // Lab results at Labaid: the CBC report and two documents (the lab's PDF, the X-ray).
    ensure!(
        synced.starts_with("3 record(s)")
            && synced.matches("lab_report").count() == 1
            && synced.matches("document").count() == 2,
        "the family member does not see exactly Labaid's lab results: {synced}"
    );

    // 9. Export for a visa medical; the folder (cards and the documents' files) and the PDF
    // verify offline.
    nav(&app, "export").await?;
    app.click("#export-select-all").await?;
    app.capture("export").await?;
    app.fill("#export-passphrase", PASSPHRASE).await?;
    app.click("#export-button").await?;
    app.wait("#export-result").await?;
    app.capture("export-done").await?;
    let mut files: Vec<_> = std::fs::read_dir(&setup.export_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let exported = |p: &&std::path::PathBuf| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("spondon-export"))
    };
    // The records include documents: the card file and the files are a folder (§18.4).
    let folder = files
        .iter()
        .filter(exported)
        .find(|p| p.is_dir())
        .with_context(|| format!("no export folder in {:?}", files))?;
    ensure!(
        std::fs::read_dir(folder.join("files"))?.count() >= 2,
        "the export folder holds fewer than the two documents' files"
    );
    let (code, out) = verifier_check(setup, folder)?;
    ensure!(
        code == 0 && out.contains("this PDF is the one Labaid Diagnostics signed on"),
        "the exported folder does not verify (exit {code}): {out}"
    );
    if let Some(pdf) = files
        .iter()
        .filter(exported)
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
    {
        let (code, out) = verifier_check(setup, pdf)?;
        ensure!(
            code == 0,
            "the exported PDF does not verify (exit {code}): {out}"
        );
    }

    // 10. Import a SMART Health Card from pasted shc:/ text (the specification's example).
    nav(&app, "import").await?;
    let shc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/shc/example-00-f-qr-code-numeric-value-0.txt"),
    )?;
    app.fill("#import-text", shc.trim()).await?;
    app.click("#import-button").await?;
    app.wait("#import-result").await?;
    app.capture("import").await?;

    // 10b. "I lost my phone": revoke everything and replace the wallet's key at both hospitals
    // (the key in the OS keychain too); the wallet syncs with its new key.
    nav(&app, "settings").await?;
    app.click("#lost-open").await?;
    app.wait("#lost-warning").await?;
    app.click("#lost-understood").await?;
    app.fill("#lost-passphrase", PASSPHRASE).await?;
    app.capture("lost-phone").await?;
    app.click("#lost-run").await?;
    app.wait_text("#lost-result", "Done at every hospital")
        .await?;
    let answers = app.text("#lost-answers").await?;
    ensure!(
        answers.contains("Dhaka Medical College Hospital")
            && answers.contains("Labaid Diagnostics")
            && answers.matches("new key in force").count() == 2,
        "the key was not replaced at both hospitals: {answers}"
    );
    app.wait_text("#lost-status", "Your key was replaced")
        .await?;
    app.capture("lost-phone-done").await?;
    nav(&app, "records").await?;
    sync_at_both(&app).await?;

    // 11. Settings, then every screen again in Bangla.
    nav(&app, "settings").await?;
    app.capture("settings").await?;
    app.select("#settings-language", "bn").await?;
    app.wait_text("#page-title", "সেটিং").await?;
    app.pass = "bn".into();
    app.capture("settings").await?;
    for (screen, id) in [
        ("records", "records"),
        ("hospitals", "hospitals"),
        ("share", "share"),
        ("grants", "grants"),
        ("family", "family"),
        ("access", "access"),
        ("export", "export"),
        ("import", "import"),
    ] {
        nav(&app, id).await?;
        app.capture(screen).await?;
    }
    nav(&app, "records").await?;
    click_containing(&app, "#records-list button", "CBC").await?;
    app.wait("#proof-toggle").await?;
    app.capture("record").await?;

    // 12. Lock, and unlock with the passphrase.
    app.click("#lock-button").await?;
    app.wait("#unlock-passphrase").await?;
    app.capture("unlock").await?;
    app.fill("#unlock-passphrase", "wrong passphrase here")
        .await?;
    app.click("#unlock-button").await?;
    app.wait("#unlock-error").await?;
    app.capture("unlock-wrong").await?;
    app.fill("#unlock-passphrase", PASSPHRASE).await?;
    app.click("#unlock-button").await?;
    app.wait("#records-list").await?;
    // Unlocked from the OS keychain, the wallet signs with its new key: a sync still works.
    sync_at_both(&app).await?;

    eprintln!("app: {} screenshots", app.shots.len());
    let a11y = std::mem::take(&mut app.a11y);
    app.quit().await.ok();
    if !a11y.is_empty() {
        let list: Vec<String> = a11y
            .iter()
            .map(|i| {
                format!(
                    "{} [{}] {} ×{}: {}",
                    i.screen, i.impact, i.rule, i.nodes, i.help
                )
            })
            .collect();
        bail!(
            "axe-core found serious or critical violations:\n{}",
            list.join("\n")
        );
    }
    Ok(())
}
