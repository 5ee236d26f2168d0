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

#[test]
fn witnesses_quorum_publish_url_and_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dghs");
    let data = data.to_str().unwrap();
    assert!(
        run(&["init", "--data", data, "--name", "DGHS"])
            .status
            .success()
    );
    let mut wvkeys = Vec::new();
    for id in ["dmch", "labaid"] {
        let (jwks, vkey) = hospital_files(tmp.path(), id);
        let url = format!("https://peer.{id}.example");
        let o = run(&[
            "add-hospital",
            "--data",
            data,
            "--id",
            id,
            "--name",
            id,
            "--peer-url",
            &url,
            "--jwks",
            &jwks,
            "--log-vkey",
            &vkey,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let w = Ed25519KeyPair::generate().unwrap();
        wvkeys.push(
            Verifier::cosignature_v1(&format!("peer.{id}.example/witness"), *w.public_key())
                .unwrap()
                .to_vkey(),
        );
    }
    let state = || std::fs::read(tmp.path().join("dghs/authority.json")).unwrap();

    // A quorum no hospital can meet yet, a log key offered as a witness key, an unknown operator:
    // refused plainly, nothing written.
    let before = state();
    let o = run(&["quorum", "--data", data, "1"]);
    assert!(
        !o.status.success() && text(&o).contains("cannot be met"),
        "{}",
        text(&o)
    );
    let (_, log_vkey) = hospital_files(tmp.path(), "x");
    let o = run(&["add-witness", "--data", data, "--vkey", &log_vkey]);
    assert!(
        !o.status.success() && text(&o).contains("witness_vkey"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "add-witness",
        "--data",
        data,
        "--vkey",
        &wvkeys[0],
        "--operator",
        "nobody",
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(state(), before);

    for (vkey, op) in wvkeys.iter().zip(["dmch", "labaid"]) {
        let o = run(&[
            "add-witness",
            "--data",
            data,
            "--vkey",
            vkey,
            "--operator",
            op,
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = run(&[
        "add-witness",
        "--data",
        data,
        "--vkey",
        &wvkeys[0],
        "--operator",
        "dmch",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("already"),
        "{}",
        text(&o)
    );
    assert!(run(&["quorum", "--data", data, "1"]).status.success());
    let o = run(&["quorum", "--data", data, "2"]);
    assert!(
        !o.status.success(),
        "each hospital has only one independent witness"
    );
    let o = run(&["publish-url", "--data", data, "ftp://x"]);
    assert!(!o.status.success(), "{}", text(&o));

    // Serve the list; the publish URL points at it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("http://127.0.0.1:{port}/trust-list");
    assert!(
        run(&["publish-url", "--data", data, &publish])
            .status
            .success()
    );
    let out = tmp.path().join("list.txt");
    let o = run(&["sign", "--data", data, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let root: Jwk =
        serde_json::from_slice(&std::fs::read(tmp.path().join("dghs/root.jwk")).unwrap()).unwrap();
    let root = Es256PublicKey::from_jwk(&root).unwrap();
    let signed = std::fs::read_to_string(&out).unwrap();
    let list = TrustList::decode_and_verify(&signed, &root, 1, NumericDate::now()).unwrap();
    assert_eq!(list.witnessing.quorum, 1);
    assert_eq!(list.witnessing.witnesses.len(), 2);
    assert_eq!(
        list.witnessing.witnesses[0].operator.as_deref(),
        Some("dmch")
    );
    assert_eq!(list.publish_url.as_deref(), Some(publish.as_str()));

    let mut server = Command::new(env!("CARGO_BIN_EXE_spondon-authority"))
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut served = None;
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read as _, Write as _};
            s.write_all(b"GET /trust-list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).unwrap();
            served = Some(body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    let served = served.expect("serve answered");
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(served.ends_with(&signed), "the last signed list is served");

    // Removing a hospital removes the witness it runs; the quorum can then not be met.
    let o = run(&["remove-hospital", "--data", data, "--id", "labaid"]);
    assert!(
        !o.status.success() && text(&o).contains("cannot be met"),
        "{}",
        text(&o)
    );
    assert!(run(&["quorum", "--data", data, "0"]).status.success());
    let o = run(&["remove-hospital", "--data", data, "--id", "labaid"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["show", "--data", data, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["witnesses"].as_array().unwrap().len(), 1);
}

#[test]
fn investigators_are_named_in_the_next_list_and_removed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dghs");
    let data = data.to_str().unwrap();
    assert!(
        run(&["init", "--data", data, "--name", "DGHS"])
            .status
            .success()
    );
    let (jwks, vkey) = hospital_files(tmp.path(), "dmch");
    let o = run(&[
        "add-hospital",
        "--data",
        data,
        "--id",
        "dmch",
        "--name",
        "Dhaka Medical College Hospital",
        "--peer-url",
        "https://peer.dmch.example",
        "--jwks",
        &jwks,
        "--log-vkey",
        &vkey,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let jwk: Jwk =
        serde_json::from_slice(&std::fs::read(tmp.path().join("dghs/root.jwk")).unwrap()).unwrap();
    let root = Es256PublicKey::from_jwk(&jwk).unwrap();
    let out = tmp.path().join("trust-list.txt");
    let sign = || {
        let o = run(&["sign", "--data", data, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let t = std::fs::read_to_string(&out).unwrap();
        TrustList::decode_and_verify(&t, &root, 0, NumericDate::now()).unwrap()
    };
    // A list from before the role: no investigators.
    assert!(sign().investigators.is_empty());
    let name = "Criminal Investigation Department, DMP";
    let o = run(&[
        "add-investigator",
        "--data",
        data,
        "--id",
        "cid.dmp",
        "--name",
        name,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Refused plainly: a repeat, a bad id, an unknown id to remove.
    let o = run(&[
        "add-investigator",
        "--data",
        data,
        "--id",
        "cid.dmp",
        "--name",
        "x",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("already named"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "add-investigator",
        "--data",
        data,
        "--id",
        "CID DMP",
        "--name",
        "x",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("investigator id"),
        "{}",
        text(&o)
    );
    let o = run(&["remove-investigator", "--data", data, "--id", "nobody"]);
    assert!(
        !o.status.success() && text(&o).contains("no investigator"),
        "{}",
        text(&o)
    );
    let list = sign();
    assert_eq!(list.investigators.len(), 1);
    assert_eq!(list.investigator("cid.dmp").unwrap().name, name);
    let shown = text(&run(&["show", "--data", data]));
    assert!(shown.contains("cid.dmp") && shown.contains(name), "{shown}");
    let o = run(&["remove-investigator", "--data", data, "--id", "cid.dmp"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(sign().investigators.is_empty());
}
