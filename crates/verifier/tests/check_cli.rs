//! `spondon-verifier check` as a user runs it: the real binary on real files, asserting the
//! verdict, the JSON shape and the exit status (0 valid, 1 invalid, 2 unusable).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shc(name: &str) -> PathBuf {
    let path = repo().join("testdata/shc").join(name);
    assert!(path.exists(), "missing published vector {}", path.display());
    path
}

fn directory() -> PathBuf {
    repo().join("assets/demo/smart-examples-directory.json")
}

fn vector(name: &str) -> Value {
    let path = repo().join("crates/core/tests/vectors/tokens").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_spondon-verifier"))
        .args(args)
        .output()
        .unwrap()
}

/// `check --json --directory <the demo directory> ARGS...`
fn check_with_directory(args: &[&std::ffi::OsStr]) -> Output {
    let dir = directory();
    let mut all: Vec<&std::ffi::OsStr> = vec![
        "check".as_ref(),
        "--json".as_ref(),
        "--directory".as_ref(),
        dir.as_os_str(),
    ];
    all.extend_from_slice(args);
    run(all)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn codes(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Writes the token text of a committed vector to a file and returns (file, vector's `now`).
fn token_file(dir: &Path, vector_name: &str) -> (PathBuf, i64) {
    let v = vector(vector_name);
    let path = dir.join(vector_name.replace(".json", ".txt"));
    std::fs::write(&path, v["text"].as_str().unwrap()).unwrap();
    (path, v["now"].as_i64().unwrap())
}

fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn valid_card_file_prints_the_documented_json() {
    let out = check_with_directory(&[shc("example-00-e-file.smart-health-card").as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = json(&out);
    assert_eq!(r["valid"], true);
    assert_eq!(r["kind"], "smart_health_card");
    assert_eq!(
        r["issuer"],
        "https://spec.smarthealth.cards/examples/issuer"
    );
    assert_eq!(r["not_before"].to_string(), "1687450764.656");
    assert_eq!(r["expires"], Value::Null);
    assert_eq!(codes(&r), Vec::<String>::new());
    assert_eq!(r["fhir"]["resourceType"], "Bundle");
    assert_eq!(
        r["fhir"]["entry"][0]["resource"]["name"][0]["family"],
        "Anyperson"
    );
}

#[test]
fn text_output_names_issuer_and_patient() {
    let out = run([
        "check".as_ref(),
        "--directory".as_ref(),
        directory().as_os_str(),
        shc("example-00-d-jws.txt").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("VALID: SMART Health Card\n"), "{text}");
    assert!(text.contains("SMART Health Card specification example issuer"));
    assert!(
        text.contains("patient John B. Anyperson; 3 Immunization"),
        "{text}"
    );
}

#[test]
fn legacy_chunks_in_separate_files_and_any_order_verify() {
    let out = check_with_directory(&[
        shc("example-02-f-qr-code-numeric-value-2.txt").as_os_str(),
        shc("example-02-f-qr-code-numeric-value-0.txt").as_os_str(),
        shc("example-02-f-qr-code-numeric-value-1.txt").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["valid"], true);
}

#[test]
fn expired_and_revoked_card_is_invalid_for_each_reason() {
    let card = shc("example-03-e-file.smart-health-card");
    let now = check_with_directory(&[card.as_os_str()]);
    assert_eq!(now.status.code(), Some(1));
    assert_eq!(codes(&json(&now)), ["expired"]);
    // Before it expired, the CRL still revokes it.
    let before = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        "2024-01-01T00:00:00Z".as_ref(),
        "--directory".as_ref(),
        directory().as_os_str(),
        card.as_os_str(),
    ]);
    assert_eq!(before.status.code(), Some(1));
    assert_eq!(codes(&json(&before)), ["revoked"]);
}

#[test]
fn untrusted_issuer_and_tampered_signature_are_invalid() {
    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        shc("example-00-d-jws.txt").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json(&out)), ["issuer_not_trusted"]);

    let dir = tempfile::tempdir().unwrap();
    let jws = std::fs::read_to_string(shc("example-00-d-jws.txt")).unwrap();
    let jws = jws.trim();
    // Flip one character of the signature (not the last, whose low bits may be padding).
    let at = jws.len() - 10;
    let flipped = if &jws[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{}{}", &jws[..at], flipped, &jws[at + 1..]);
    let path = dir.path().join("tampered.txt");
    std::fs::write(&path, tampered).unwrap();
    let out = check_with_directory(&[path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json(&out)), ["bad_signature"]);
}

/// A published negative vector is invalid (exit 1) with its own code, and only that one.
fn negative_vector(name: &str, code: &str) {
    let out = check_with_directory(&[shc(name).as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
    let r = json(&out);
    assert_eq!(r["valid"], false, "{name}");
    assert_eq!(codes(&r), [code], "{name}");
}

/// One named `#[test]` per published negative vector: `name: (file under testdata/shc, code)`.
macro_rules! negative_vectors {
    ($($name:ident: ($file:literal, $code:literal)),* $(,)?) => {
        mod published_negative_vectors_are_invalid_with_their_own_code {
            $(
                #[test]
                fn $name() {
                    super::negative_vector($file, $code);
                }
            )*
        }
    };
}

negative_vectors! {
    der_signature: ("dev-tools-testdata/test-example-00-d-jws-der-signature.txt", "signature_der_encoded"),
    trailing_chars: ("dev-tools-testdata/test-example-00-d-jws-trailing_chars.txt", "trailing_characters"),
    invalid_deflate: ("dev-tools-testdata/test-example-00-e-file-invalid_deflate.smart-health-card", "bad_deflate"),
    wrong_qr_header: ("dev-tools-testdata/test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt", "qr_bad_prefix"),
}

#[test]
fn grant_token_verifies_at_its_time_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (path, now) = token_file(dir.path(), "01-grant-doctor-bound.json");
    let at = rfc3339(now);
    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        at.as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = json(&out);
    assert_eq!(r["kind"], "grant");
    assert_eq!(r["claims"]["purpose"], "treatment");
    assert_eq!(r["claims"]["peers"].as_array().unwrap().len(), 2);

    let later = rfc3339(r["expires"].as_i64().unwrap() + 1);
    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        later.as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json(&out)), ["expired"]);
}

#[test]
fn grant_qr_photo_is_decoded_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("01-grant-doctor-bound.json");
    let png = spondon_core::qr::encode(v["text"].as_str().unwrap())
        .unwrap()
        .to_png(6)
        .unwrap();
    let path = dir.path().join("grant.png");
    std::fs::write(&path, png).unwrap();
    let at = rfc3339(v["now"].as_i64().unwrap());
    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        at.as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["kind"], "grant");
}

#[test]
fn credentials_need_a_trust_list_checked_against_the_root_key() {
    let dir = tempfile::tempdir().unwrap();
    let (enrollment, now) = token_file(dir.path(), "05-enrollment.json");
    let (trust_list, _) = token_file(dir.path(), "07-trust-list.json");
    let root = dir.path().join("root.jwk");
    std::fs::write(
        &root,
        vector("07-trust-list.json")["anchors"]["root_key"].to_string(),
    )
    .unwrap();
    let at = rfc3339(now);

    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        at.as_ref(),
        "--trust".as_ref(),
        trust_list.as_os_str(),
        "--root-key".as_ref(),
        root.as_os_str(),
        enrollment.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["kind"], "enrollment");

    let out = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--at".as_ref(),
        at.as_ref(),
        enrollment.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json(&out)), ["trust_anchor_missing"]);

    let out = run([
        "check".as_ref(),
        "--trust".as_ref(),
        trust_list.as_os_str(),
        enrollment.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trust needs --root-key"));

    // A trust list signed by another key is refused before anything is judged.
    let other = dir.path().join("other.jwk");
    let keys: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("crates/core/tests/vectors/test-keys.json")).unwrap(),
    )
    .unwrap();
    let mut other_key = keys["other"].clone();
    other_key.as_object_mut().unwrap().remove("d");
    std::fs::write(&other, other_key.to_string()).unwrap();
    let out = run([
        "check".as_ref(),
        "--at".as_ref(),
        at.as_ref(),
        "--trust".as_ref(),
        trust_list.as_os_str(),
        "--root-key".as_ref(),
        other.as_os_str(),
        enrollment.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trust"));
}

#[test]
fn truncated_token_is_invalid_with_a_specific_code() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("01-grant-doctor-bound.json");
    let text = v["text"].as_str().unwrap();
    let path = dir.path().join("cut.txt");
    std::fs::write(&path, &text[..text.len() - 7]).unwrap();
    let out = run(["check".as_ref(), "--json".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = json(&out);
    assert_eq!(r["valid"], false);
    assert_eq!(codes(&r).len(), 1);
}

#[test]
fn unusable_input_and_arguments_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "hello, doctor").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n").unwrap();
    let big = dir.path().join("big.txt");
    std::fs::write(&big, vec![b'1'; 9 * 1024 * 1024]).unwrap();
    let bad_dir = dir.path().join("dir.json");
    std::fs::write(&bad_dir, "{\"issuerInfo\": 5}").unwrap();
    let noise_png = dir.path().join("noise.png");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 200]);
    std::fs::write(&noise_png, png).unwrap();
    let jws = shc("example-00-d-jws.txt");

    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (vec![garbage.as_os_str()], "is not a SMART Health Card"),
        (vec![empty.as_os_str()], "is empty"),
        (vec![big.as_os_str()], "larger than"),
        (vec!["/nonexistent/card.txt".as_ref()], "cannot read"),
        (vec![noise_png.as_os_str()], "image"),
        (
            vec!["--at".as_ref(), "yesterday".as_ref(), jws.as_os_str()],
            "RFC 3339",
        ),
        (
            vec!["--directory".as_ref(), bad_dir.as_os_str(), jws.as_os_str()],
            "--directory",
        ),
    ];
    for (args, needle) in cases {
        let mut all: Vec<&std::ffi::OsStr> = vec!["check".as_ref()];
        all.extend(args.iter().copied());
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
