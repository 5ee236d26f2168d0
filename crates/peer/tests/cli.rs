//! The `spondon-peer` binary: init, seed, serve on 127.0.0.1, graceful shutdown on SIGTERM, and
//! logs without health data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_spondon-peer");

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn init_seed_serve_and_shut_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let data = data.to_str().unwrap();
    let out = run(&[
        "init",
        "--name",
        "Sylhet MAG Osmani Medical College Hospital",
        "--url",
        "https://somch.example",
        "--data",
        data,
    ]);
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(init["staff_token"].as_str().unwrap().starts_with("spst_"));
    // A second init refuses to overwrite.
    let again = Command::new(BIN)
        .args([
            "init",
            "--name",
            "X",
            "--url",
            "https://x.example",
            "--data",
            data,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    // Witness another peer's log.
    let other = dir.path().join("other");
    let out = run(&[
        "init",
        "--name",
        "Rajshahi Medical College Hospital",
        "--url",
        "https://rmch.example",
        "--data",
        other.to_str().unwrap(),
    ]);
    let other_init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = run(&[
        "witness-log",
        "--data",
        data,
        "--vkey",
        other_init["log_vkey"].as_str().unwrap(),
    ]);
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(w["witness_logs"][0], other_init["log_vkey"]);
    let out = run(&["seed", "--data", data, "--patients", "3", "--log-json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["patients"], 3);
    let logs = String::from_utf8_lossy(&out.stderr).into_owned();
    for word in [
        "Begum",
        "Islam",
        "Dengue",
        "Paracetamol",
        "+880",
        "health_id",
    ] {
        assert!(!logs.contains(word), "log mentions {word}: {logs}");
    }
    assert!(logs.contains("record issued"), "{logs}");

    // Revoke one seeded record from the CLI; a bad reason or unknown id is refused.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{data}/peer.db"))
        .await
        .unwrap();
    let rid: String = sqlx::query_scalar("SELECT id FROM peer_records ORDER BY seq LIMIT 1")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    let bad = Command::new(BIN)
        .args([
            "revoke-record",
            "--data",
            data,
            "--id",
            &rid,
            "--reason",
            "oops",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let bad = Command::new(BIN)
        .args([
            "revoke-record",
            "--data",
            data,
            "--id",
            "nope",
            "--reason",
            "other",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such record"));
    let out = run(&[
        "revoke-record",
        "--data",
        data,
        "--id",
        &rid,
        "--reason",
        "wrong_patient",
    ]);
    let revoked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(revoked["crl_version"], 2);
    // A witness that is down: `serve` keeps serving and warns without health data.
    let out = run(&[
        "add-witness",
        "--data",
        data,
        "--url",
        "http://127.0.0.1:9/witness",
        "--vkey",
        other_init["witness_vkey"].as_str().unwrap(),
    ]);
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(w["witnesses"][0]["vkey"], other_init["witness_vkey"]);

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["serve", "--data", data, "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = listen.parse().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");
    let r = common::request(addr, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["keys"][0]["kid"], init["record_kid"]);
    assert_eq!(r.json()["keys"][0]["crlVersion"], 2);
    let kid = init["record_kid"].as_str().unwrap();
    let r = common::request(
        addr,
        "GET",
        &format!("/.well-known/crl/{kid}.json"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.json()["rids"], serde_json::json!([rid]));
    let r = common::request(addr, "GET", "/checkpoint", &[], b"").await;
    let entries = summary["records"].as_u64().unwrap() + 1;
    assert!(
        r.text()
            .starts_with(&format!("somch.example/log\n{entries}\n")),
        "{}",
        r.text()
    );
    // Single writer: a second `serve` (or `issue`) on the same data directory is refused while
    // the first runs, with a clear message, and changes nothing.
    let port2 = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let second = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            &format!("127.0.0.1:{port2}"),
        ])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another spondon-peer process") && err.contains("single writer"),
        "{err}"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port2))
            .await
            .is_err()
    );
    let issue = Command::new(BIN)
        .args(["issue", "--data", data, "--json", "/dev/null"])
        .output()
        .unwrap();
    assert!(!issue.status.success());
    assert!(
        String::from_utf8_lossy(&issue.stderr).contains("single writer"),
        "{}",
        String::from_utf8_lossy(&issue.stderr)
    );
    let r = common::request(addr, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(r.status, 200, "the first server still serves");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("shutting down"));
    assert!(logs.contains("witness push failed"), "{logs}");
    assert!(!logs.contains(&rid), "{logs}");

    // Statistics: the dengue scenario and the bulk path; the authority's key in the config.
    let out = run(&[
        "seed",
        "--data",
        data,
        "--scenario",
        "dengue",
        "--stats-cases",
        "1000",
        "--log-json",
    ]);
    let stats_summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats_summary["scenario"]["patients"], 43);
    assert_eq!(stats_summary["stats_cases"]["cases"], 1000);
    let stats_logs = String::from_utf8_lossy(&out.stderr).into_owned();
    for word in ["Sylhet", "Beanibazar", "A97", "dengue", "health_id"] {
        assert!(
            !stats_logs.contains(word),
            "log mentions {word}: {stats_logs}"
        );
    }
    let key = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let jwk_file = dir.path().join("dghs-stats.jwk");
    std::fs::write(
        &jwk_file,
        serde_json::to_vec(&key.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let jwk_path = jwk_file.to_str().unwrap();
    let out = run(&["stats-authority", "--data", data, "--jwk", jwk_path]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats_authority_keys"][0], key.kid());
    std::fs::write(&jwk_file, key.to_private_jwk().as_bytes()).unwrap();
    let out = Command::new(BIN)
        .args(["stats-authority", "--data", data, "--jwk", jwk_path])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("private key"));
}

#[tokio::test]
async fn staff_tokens_from_the_command_line_have_roles_expiry_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let data = data.to_str().unwrap();
    run(&[
        "init",
        "--name",
        "Khulna Medical College Hospital",
        "--url",
        "https://kmch.example",
        "--data",
        data,
    ]);
    // Roles are required; unknown roles and lifetimes beyond a year are refused.
    for bad in [
        vec!["staff-token", "--data", data, "--label", "desk"],
        vec![
            "staff-token",
            "--data",
            data,
            "--label",
            "desk",
            "--roles",
            "root",
        ],
        vec![
            "staff-token",
            "--data",
            data,
            "--label",
            "desk",
            "--roles",
            "registration",
            "--days",
            "400",
        ],
    ] {
        let out = Command::new(BIN).args(&bad).output().unwrap();
        assert!(!out.status.success(), "{bad:?}");
    }
    let out = run(&[
        "staff-token",
        "--data",
        data,
        "--label",
        "reception desk 2",
        "--roles",
        "registration,records",
        "--days",
        "30",
    ]);
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(t["token"].as_str().unwrap().starts_with("spst_"));
    assert_eq!(t["roles"], serde_json::json!(["registration", "records"]));
    let id = t["id"].as_str().unwrap().to_owned();
    let out = run(&["revoke-staff-token", "--data", data, "--id", &id]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    // Twice: there is no active token with that id any more.
    let again = Command::new(BIN)
        .args(["revoke-staff-token", "--data", data, "--id", &id])
        .output()
        .unwrap();
    assert!(!again.status.success());
    // Both actions are in the audit trail, by the command line.
    let peer = spondon_peer::Peer::open(&spondon_peer::config::DataDir::new(data), None)
        .await
        .unwrap();
    let audit = peer.staff_audit().await.unwrap();
    assert!(
        audit.iter().any(|a| a.token_id == "cli"
            && a.action == "revoke staff token"
            && a.target.as_deref() == Some(id.as_str())),
        "{audit:?}"
    );
    peer.close().await;
}
