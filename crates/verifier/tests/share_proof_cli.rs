//! `spondon-verifier share-proof` as an investigator runs it: the real binary on the vector
//! published in docs/protocol.md §14.4 — its verdict in words and JSON, every field altered
//! refused with a specific error, and the exit status (0 valid, 1 refused, 2 unusable).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The vector between its markers in docs/protocol.md.
fn vector() -> Value {
    let doc = std::fs::read_to_string(repo().join("docs/protocol.md")).unwrap();
    let start = doc.find("<!-- share-proof-vector:start -->").unwrap();
    let end = doc.find("<!-- share-proof-vector:end -->").unwrap();
    let block = &doc[start..end];
    let json = block
        .split_once("```json\n")
        .and_then(|(_, r)| r.rsplit_once("```"))
        .map(|(j, _)| j)
        .unwrap();
    serde_json::from_str(json).unwrap()
}

struct Files {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    trust: PathBuf,
    root: PathBuf,
    at: String,
    text: String,
}

fn files() -> Files {
    let v = vector();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let trust = dir.join("trust.txt");
    let root = dir.join("root.jwk");
    std::fs::write(&trust, v["trust_list"].as_str().unwrap()).unwrap();
    std::fs::write(&root, serde_json::to_vec(&v["root_key"]).unwrap()).unwrap();
    let at = time::OffsetDateTime::from_unix_timestamp(v["now"].as_i64().unwrap())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    Files {
        _dir: tmp,
        dir,
        trust,
        root,
        at,
        text: v["share_proof"].as_str().unwrap().to_owned(),
    }
}

fn run(f: &Files, extra: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spondon-verifier"))
        .arg("share-proof")
        .arg("--trust")
        .arg(&f.trust)
        .arg("--root-key")
        .arg(&f.root)
        .args(["--at", &f.at])
        .args(extra)
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

#[test]
fn the_published_share_proof_verifies_and_says_who_what_when() {
    let f = files();
    let path = f.dir.join("access.share-proof");
    std::fs::write(&path, format!("{}\n", f.text)).unwrap();
    let o = run(&f, &[], &path);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "VALID share proof",
        "Dr. Abul Kalam Azad (BMDC A-54321, Medicine; registered by Dhaka Medical College Hospital)",
        "accessed records at Dhaka Medical College Hospital (https://dmch.example) on 2026-01-02",
        "lab_report rec-lab-0001",
        "prescription rec-rx-0002",
        "signed by the patient's key",
        "1 of 1 required witness cosignature",
        "made by the patient",
        "Criminal Investigation Department",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let o = run(&f, &["--json"], &path);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["proofs"][0]["share"], vector()["expected"]);
}

fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

#[test]
fn every_field_altered_is_refused_with_a_specific_error() {
    let f = files();
    let parts: Vec<&str> = f.text.split('.').collect();
    let payload: Value =
        serde_json::from_slice(&spondon_core::b64::decode(parts[1]).unwrap()).unwrap();
    let mut paths = Vec::new();
    leaves(&payload, &mut Vec::new(), &mut paths);
    assert!(paths.len() >= 12);
    for (n, path) in paths.iter().enumerate() {
        let mut v = payload.clone();
        let leaf = path.iter().fold(&mut v, |v, k| match v {
            Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
            other => &mut other[k.as_str()],
        });
        *leaf = match &*leaf {
            Value::String(s) => {
                let mut c: Vec<char> = s.chars().collect();
                let i = c.len() / 2;
                c[i] = if c[i] == 'A' { 'B' } else { 'A' };
                Value::String(c.into_iter().collect())
            }
            Value::Number(x) => Value::from(x.as_i64().unwrap() + 1),
            other => panic!("leaf {other}"),
        };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            spondon_core::b64::encode(serde_json::to_vec(&v).unwrap()),
            parts[2]
        );
        let file = f.dir.join(format!("forged-{n}.share-proof"));
        std::fs::write(&file, forged).unwrap();
        let o = run(&f, &["--json"], &file);
        assert_eq!(o.status.code(), Some(1), "{}", path.join("."));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["valid"], false);
        let code = r["proofs"][0]["error"]["code"].as_str().unwrap();
        assert!(
            !code.is_empty() && code != "internal",
            "{}: {code}",
            path.join(".")
        );
        let text = String::from_utf8_lossy(&run(&f, &[], &file).stdout).into_owned();
        assert!(
            text.contains("INVALID share proof") && text.contains(&format!("[{code}]")),
            "{text}"
        );
    }
}

#[test]
fn unusable_arguments_and_files_exit_2_with_a_clear_error() {
    let f = files();
    let path = f.dir.join("access.share-proof");
    std::fs::write(&path, &f.text).unwrap();
    // No trust list.
    let o = Command::new(env!("CARGO_BIN_EXE_spondon-verifier"))
        .args(["share-proof"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs the consortium trust list"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A missing file.
    let o = run(&f, &[], &f.dir.join("nope"));
    assert_eq!(o.status.code(), Some(2));
    // Not a share proof at all: refused (exit 1), said so.
    let junk = f.dir.join("junk");
    std::fs::write(&junk, "hello").unwrap();
    let o = run(&f, &[], &junk);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("[malformed]"));
}
