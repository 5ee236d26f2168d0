//! The `spondon-authority` binary, run as an operator would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair, Es256PublicKey, Jwk, Jwks};
use spondon_core::time::NumericDate;
use spondon_core::token::TrustList;
use spondon_ledger::note::Verifier;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spondon-authority"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn hospital_files(dir: &Path, id: &str) -> (String, String) {
    let record = Es256KeyPair::generate().unwrap();
    let jwks = dir.join(format!("{id}.jwks"));
    std::fs::write(
        &jwks,
        serde_json::to_vec(&Jwks {
            keys: vec![record.public_key().to_jwk()],
        })
        .unwrap(),
    )
    .unwrap();
    let log = Ed25519KeyPair::generate().unwrap();
    let vkey = Verifier::ed25519(&format!("peer.{id}.example/log"), *log.public_key())
        .unwrap()
        .to_vkey();
    (jwks.to_str().unwrap().to_owned(), vkey)
}

#[test]
fn init_add_sign_and_verify_as_a_wallet_would() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dghs");
    let data = data.to_str().unwrap();
    let o = run(&["init", "--data", data, "--name", "DGHS Bangladesh"]);
    assert!(o.status.success(), "{}", text(&o));

    for (id, name) in [
        ("dmch", "Dhaka Medical College Hospital"),
        ("labaid", "Labaid Diagnostics"),
    ] {
        let (jwks, vkey) = hospital_files(tmp.path(), id);
        let url = format!("https://peer.{id}.example");
        let o = run(&[
            "add-hospital",
            "--data",
            data,
            "--id",
            id,
            "--name",
            name,
            "--peer-url",
            &url,
            "--jwks",
            &jwks,
            "--log-vkey",
            &vkey,
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }

    let out = tmp.path().join("trust-list.txt");
    let o = run(&[
        "sign",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--valid-days",
        "30",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("#1 with 2 hospital(s)"), "{}", text(&o));

    // A wallet pins root.jwk and verifies the published text.
    let jwk: Jwk =
        serde_json::from_slice(&std::fs::read(tmp.path().join("dghs/root.jwk")).unwrap()).unwrap();
    let root = Es256PublicKey::from_jwk(&jwk).unwrap();
    let list_text = std::fs::read_to_string(&out).unwrap();
    let list = TrustList::decode_and_verify(&list_text, &root, 1, NumericDate::now()).unwrap();
    assert_eq!(list.authority, "DGHS Bangladesh");
    assert_eq!(list.hospitals[1].name, "Labaid Diagnostics");

    let o = run(&["show", "--data", data, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["sequence"], 1);
    assert_eq!(shown["hospitals"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_input_is_refused_plainly_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dghs");
    let data = data.to_str().unwrap();
    assert!(
        run(&["init", "--data", data, "--name", "DGHS"])
            .status
            .success()
    );
    let state = std::fs::read(tmp.path().join("dghs/authority.json")).unwrap();

    let garbage = tmp.path().join("garbage.jwks");
    std::fs::write(&garbage, b"\x00\xffnot json").unwrap();
    let (good_jwks, vkey) = hospital_files(tmp.path(), "dmch");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--jwks", garbage.to_str().unwrap(), "--log-vkey", &vkey],
            "invalid JWKS",
        ),
        (
            vec!["--jwks", &good_jwks, "--log-vkey", "nonsense"],
            "invalid log verifier key",
        ),
        (
            vec!["--jwks", "/nonexistent.jwks", "--log-vkey", &vkey],
            "/nonexistent.jwks",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec![
            "add-hospital",
            "--data",
            data,
            "--id",
            "dmch",
            "--name",
            "DMCH",
            "--peer-url",
            "https://peer.dmch.example",
        ];
        args.extend(extra);
        let o = run(&args);
        assert!(!o.status.success());
        assert!(text(&o).contains(want), "want {want:?} in {}", text(&o));
        assert!(!text(&o).contains("panicked"), "{}", text(&o));
    }
    assert_eq!(
        std::fs::read(tmp.path().join("dghs/authority.json")).unwrap(),
        state
    );

    let o = run(&["init", "--data", data, "--name", "again"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
    let o = run(&[
        "show",
        "--data",
        tmp.path().join("nowhere").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("spondon-authority init"), "{}", text(&o));
}
