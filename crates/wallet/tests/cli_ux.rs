//! The `spondon` CLI as its users meet it, against a real `spondon-peer`: a failed sync exits
//! non-zero and names the hospital, a closed pipe ends quietly, times are in the user's zone, one
//! vocabulary of record kinds, confirmations, a grant's QR shown again, unverified imports,
//! errors told once, passphrases asked only after the cheap checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::CardBuilder;
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn no_trace(o: &Output) {
    let e = stderr(o);
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE") && !e.contains("stack backtrace"),
        "{e}"
    );
}

fn command(wallet: &Path, pass: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(BIN);
    c.env("SPONDON_WALLET", wallet)
        .env("SPONDON_PASSPHRASE_FILE", pass)
        .env("SPONDON_KEYSTORE", "none")
        .env("SPONDON_PEER_ENDPOINTS", endpoint)
        .env("TZ", "Asia/Dhaka")
        .stdin(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_as_its_users_meet_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let t = tmp.path();
    cli_consortium(t, &[&a]).await;
    let w = t.join("wallet");
    let pass = t.join("pass");
    let ep = format!("{}={}", a.url, a.base());
    let run = |args: &[&str]| command(&w, &pass, &ep).args(args).output().unwrap();

    // The wrong root key at init says so.
    let other = Es256KeyPair::generate().unwrap();
    std::fs::write(
        t.join("other.jwk"),
        serde_json::to_vec(&other.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let trust = t.join("trust.txt");
    let o = run(&[
        "init",
        "--trust-list",
        trust.to_str().unwrap(),
        "--root-key",
        t.join("other.jwk").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the root key does not match"),
        "{}",
        stderr(&o)
    );
    assert!(
        !w.exists() || std::fs::read_dir(&w).unwrap().next().is_none(),
        "a refused init leaves nothing"
    );
    let o = run(&[
        "init",
        "--trust-list",
        trust.to_str().unwrap(),
        "--root-key",
        t.join("root.jwk").to_str().unwrap(),
    ]);
    ok(&o);
    assert!(stdout(&o).contains("1 hospital)"), "{}", stdout(&o));

    let (hid, text) = a.register_patient().await;
    ok(&run(&["enroll", &text]));
    let (doctor, cred) = a.register_doctor("A-777", "Dr. Nasrin Akter").await;
    a.prescription(&hid, "A-777").await;
    a.cbc(&hid).await;
    let o = run(&["sync"]);
    assert!(
        stdout(&o).contains("Dhaka Medical College Hospital: 2 new records, 0 new access receipts"),
        "{}",
        stdout(&o)
    );

    // One vocabulary: the same words in `records --kind` and `grant --category`; unknown words
    // are refused with the list.
    let o = run(&["records", "--kind", "xray"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("possible values: prescription, lab_report, diagnosis"),
        "{}",
        stderr(&o)
    );
    let labs: Value =
        serde_json::from_str(&ok(&run(&["records", "--json", "--kind", "lab_report"]))).unwrap();
    assert_eq!(labs.as_array().unwrap().len(), 1);
    let lab_id = labs[0]["id"].as_str().unwrap().to_owned();
    let o = run(&["grant", "--doctor", "A-777", "--category", "xray"]);
    assert!(stderr(&o).contains("possible values"), "{}", stderr(&o));

    // Times in the user's zone (TZ=Asia/Dhaka), units as symbols with words.
    let shown = ok(&run(&["show", &lab_id[..8]]));
    assert!(shown.contains(" +06"), "{shown}");
    assert!(!shown.contains("UTC"), "{shown}");
    assert!(
        shown.contains("×10³/µL (thousand per microlitre)"),
        "{shown}"
    );
    let utc = command(&w, &pass, &ep)
        .env("TZ", "UTC")
        .args(["show", &lab_id[..8]])
        .output()
        .unwrap();
    assert!(stdout(&utc).contains(" UTC"), "{}", stdout(&utc));

    // A closed pipe (`spondon records | head -0`) ends quietly, without a panic.
    let mut child = command(&w, &pass, &ep)
        .args(["records"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {err}");
    assert!(err.is_empty(), "{err}");

    // A grant, shown again later as a QR code.
    std::fs::write(t.join("doctor.txt"), &cred).unwrap();
    ok(&run(&["doctor", t.join("doctor.txt").to_str().unwrap()]));
    let g: Value = serde_json::from_str(&ok(&run(&[
        "grant",
        "--doctor",
        "A-777",
        "--category",
        "lab_report",
        "--duration",
        "1h",
        "--json",
    ])))
    .unwrap();
    let gid = g["id"].as_str().unwrap().to_owned();
    let again = ok(&run(&["grants", "show", &gid[..8], "--qr"]));
    assert!(
        again.contains('\u{2588}') || again.contains('\u{2580}'),
        "{again}"
    );
    assert!(again.contains("Dhaka Medical College Hospital"), "{again}");
    assert!(again.contains("active"), "{again}");
    // The code printed is the grant: its PNG form decodes to the same text.
    let png = t.join("again.png");
    ok(&run(&[
        "grants",
        "show",
        &gid[..8],
        "--png",
        png.to_str().unwrap(),
    ]));
    let decoded = spondon_core::qr::decode_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(decoded, vec![g["text"].as_str().unwrap().to_owned()]);
    // It fits an 80-column terminal: a grant is short enough.
    let widest = again
        .lines()
        .filter(|l| l.contains('\u{2588}') || l.contains('\u{2580}') || l.contains('\u{2584}'))
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    let rows = again
        .lines()
        .filter(|l| l.contains('\u{2588}') || l.contains('\u{2580}') || l.contains('\u{2584}'))
        .count();
    eprintln!("terminal QR of a grant: {widest} columns × {rows} lines");
    assert!(widest <= 80, "{widest} columns");
    let o = run(&["grants", "show", "zzzzzzzz"]);
    assert!(
        stderr(&o).contains("no grant \"zzzzzzzz\""),
        "{}",
        stderr(&o)
    );

    // Revoking asks first; without a terminal it refuses unless --yes, and nothing changes.
    let o = run(&["revoke", &gid[..8]]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("add --yes to confirm"),
        "{}",
        stderr(&o)
    );
    let (status, _) = a.redeem(&doctor, g["text"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the grant must still work");
    let o = ok(&run(&["revoke", "--yes", &gid[..8]]));
    assert!(o.contains("Dhaka Medical College Hospital: revoked"), "{o}");
    let (status, _) = a.redeem(&doctor, g["text"].as_str().unwrap()).await;
    assert_eq!(status, 403);

    // Receipts say what was done: a view, and a prescription the doctor added under a write
    // grant; the added record says who wrote it.
    let wg: Value = serde_json::from_str(&ok(&run(&[
        "grant",
        "--doctor",
        "A-777",
        "--category",
        "prescription",
        "--write",
        "--json",
    ])))
    .unwrap();
    let (status, body) = a
        .write_prescription(&doctor, wg["text"].as_str().unwrap())
        .await;
    assert_eq!(status, 201, "{body}");
    let o = run(&["sync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let receipts = ok(&run(&["receipts"]));
    assert!(
        receipts
            .contains("Dr. Nasrin Akter (BMDC A-777, Dhaka Medical College Hospital) viewed your"),
        "{receipts}"
    );
    assert!(
        receipts.contains("Dr. Nasrin Akter (BMDC A-777, Dhaka Medical College Hospital) added a"),
        "{receipts}"
    );
    let written = body["id"].as_str().unwrap().to_owned();
    let shown = ok(&run(&["show", &written]));
    assert!(
        shown.contains("written:  by Dr. Nasrin Akter (BMDC A-777"),
        "{shown}"
    );

    // Importing a card whose issuer is not trusted: refused, nothing kept, unless accepted.
    let stranger = Es256KeyPair::generate().unwrap();
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "name": [{"text": "Fatema Begum"}]}},
        {"fullUrl": "resource:1", "resource": {"resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "207"}]},
            "occurrenceDateTime": "2021-06-01", "patient": {"reference": "resource:0"}}}]});
    let jws = CardBuilder::new("https://stranger.example", NumericDate::now(), bundle)
        .sign(&stranger)
        .unwrap();
    std::fs::write(t.join("card.jws"), &jws).unwrap();
    let before: Value = serde_json::from_str(&ok(&run(&["records", "--json"]))).unwrap();
    let o = run(&["import", t.join("card.jws").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("could not be verified"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--accept-unverified"), "{}", stderr(&o));
    let after: Value = serde_json::from_str(&ok(&run(&["records", "--json"]))).unwrap();
    assert_eq!(before, after, "nothing was imported");
    let o = run(&[
        "import",
        "--accept-unverified",
        t.join("card.jws").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 card marked UNVERIFIED"),
        "{}",
        stderr(&o)
    );
    let list = ok(&run(&["records"]));
    assert!(
        list.contains("[UNVERIFIED: signature not checked]"),
        "{list}"
    );
    // A kept card that expires later is marked so in `records` and `show`.
    let soon = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "name": [{"text": "Fatema Begum"}]}},
        {"fullUrl": "resource:1", "resource": {"resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
            "occurrenceDateTime": "2021-07-01", "patient": {"reference": "resource:0"}}}]});
    let now = NumericDate::now();
    let short_lived = CardBuilder::new("https://stranger.example", now, soon)
        .expires(NumericDate(now.0 + 3))
        .rid("soon-expired")
        .sign(&stranger)
        .unwrap();
    std::fs::write(t.join("soon.jws"), &short_lived).unwrap();
    ok(&run(&[
        "import",
        "--accept-unverified",
        t.join("soon.jws").to_str().unwrap(),
    ]));
    std::thread::sleep(std::time::Duration::from_secs(4));
    let list = ok(&run(&["records"]));
    assert!(list.contains("[EXPIRED]"), "{list}");
    let shown = ok(&run(&["show", "soon-expired"]));
    assert!(shown.contains("status:   EXPIRED"), "{shown}");

    // An error is told once, not repeated by its causes.
    std::fs::write(t.join("blank.png"), blank_png()).unwrap();
    let o = run(&["enroll", "--qr", t.join("blank.png").to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.matches("no QR code").count(), 1, "{e}");
    no_trace(&o);

    // Restore checks the file and the target before it asks for any passphrase (no terminal and
    // no passphrase file here: asking would fail differently).
    let ask = |args: &[&str]| {
        Command::new(BIN)
            .env("SPONDON_WALLET", t.join("w3"))
            .env("SPONDON_KEYSTORE", "none")
            .env_remove("SPONDON_PASSPHRASE_FILE")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap()
    };
    let o = ask(&["restore", t.join("missing.backup").to_str().unwrap()]);
    assert!(stderr(&o).contains("missing.backup"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("passphrase"), "{}", stderr(&o));
    let o = ask(&["restore", t.join("card.jws").to_str().unwrap()]);
    assert!(
        stderr(&o).contains("not a Spondon backup"),
        "{}",
        stderr(&o)
    );

    // A sync that cannot reach a hospital exits non-zero and names it.
    let dead = format!("{}=http://127.0.0.1:9", a.url);
    let o = command(&w, &pass, &dead).args(["sync"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not synced: Dhaka Medical College Hospital"),
        "{}",
        stderr(&o)
    );
    no_trace(&o);
}

/// A white 64×64 PNG: an image with no QR code.
fn blank_png() -> Vec<u8> {
    let img = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
