//! The `spondon` CLI with its keys in the real OS keychain (the Secret Service, under
//! `scripts/with-keyring.sh`): `unlock` puts the wallet's keys there so that later commands need
//! no passphrase, `lock` takes them out again, and a locked wallet without a passphrase is refused
//! with a clear message. The keychain items are checked through the Secret Service itself.
//!
//! Skipped when no D-Bus session is reachable, unless `SPONDON_REQUIRE_KEYCHAIN=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Output};

use spondon_keystore::{KeyStore as _, OsBackend, OsKeyStore};
use spondon_testkit::spawned::*;

const BIN: &str = env!("CARGO_BIN_EXE_spondon");

/// The CLI with the OS keychain, and a passphrase file only when `pass` is given.
fn spondon(wallet: &Path, pass: Option<&Path>, endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("SPONDON_WALLET", wallet)
        .env("SPONDON_KEYSTORE", "os")
        .env("SPONDON_PEER_ENDPOINTS", endpoint)
        .env_remove("SPONDON_PASSPHRASE_FILE")
        .stdin(std::process::Stdio::null());
    if let Some(p) = pass {
        cmd.env("SPONDON_PASSPHRASE_FILE", p);
    }
    cmd.output().unwrap()
}

fn secret_service() -> Option<OsKeyStore> {
    let required = std::env::var("SPONDON_REQUIRE_KEYCHAIN").as_deref() == Ok("1");
    match OsKeyStore::open(OsBackend::SecretService) {
        Ok(s) if s.get("spondon-probe").is_ok() => Some(s),
        Ok(_) | Err(_) if required => {
            panic!(
                "SPONDON_REQUIRE_KEYCHAIN=1 but the Secret Service is unusable (run under scripts/with-keyring.sh)"
            )
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_keeps_keys_in_the_secret_service() {
    let Some(store) = secret_service() else {
        eprintln!("skipped: no Secret Service (run under scripts/with-keyring.sh)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let peer = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let t = tmp.path();
    cli_consortium(t, &[&peer]).await;
    let w = t.join("wallet");
    let pass = t.join("pass");
    let ep = format!("{}={}", peer.url, peer.base());

    ok(&spondon(
        &w,
        Some(&pass),
        &ep,
        &[
            "init",
            "--trust-list",
            t.join("trust.txt").to_str().unwrap(),
            "--root-key",
            t.join("root.jwk").to_str().unwrap(),
        ],
    ));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("wallet.json")).unwrap()).unwrap();
    let id = meta["wallet_id"].as_str().unwrap().to_owned();
    let items = [
        format!("spondon-wallet:{id}:data-key"),
        format!("spondon-wallet:{id}:signing-key"),
    ];

    // Unlocked into the keychain: the items are there, and no passphrase is needed.
    ok(&spondon(&w, Some(&pass), &ep, &["unlock"]));
    for item in &items {
        assert!(
            store.get(item).unwrap().is_some(),
            "{item} is not in the Secret Service after unlock"
        );
    }
    let (_hid, text) = peer.register_patient().await;
    ok(&spondon(&w, None, &ep, &["enroll", &text]));
    ok(&spondon(&w, None, &ep, &["sync"]));
    ok(&spondon(&w, None, &ep, &["records"]));

    // Locked: the items are gone, and without a passphrase the wallet does not open.
    ok(&spondon(&w, None, &ep, &["lock"]));
    for item in &items {
        assert!(
            store.get(item).unwrap().is_none(),
            "{item} is still in the Secret Service after lock"
        );
    }
    let o = spondon(&w, None, &ep, &["records"]);
    assert!(
        !o.status.success(),
        "a locked wallet opened without a passphrase"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("passphrase"), "unclear refusal: {err}");
    // With the passphrase it opens again, and the keychain stays empty (no unlock asked).
    ok(&spondon(&w, Some(&pass), &ep, &["records"]));
    for item in &items {
        assert!(store.get(item).unwrap().is_none());
    }
}
