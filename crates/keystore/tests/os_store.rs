#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(any(target_os = "linux", target_os = "freebsd"))]
//! The OS keychain for real: the kernel keyring directly, the Secret Service under
//! `scripts/with-keyring.sh` (a private D-Bus session with GNOME Keyring).
//!
//! `SPONDON_REQUIRE_KEYCHAIN=1` makes an unreachable Secret Service a failure instead of a skip.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use spondon_keystore::{KeyStore, KeyStoreError, OsBackend, OsKeyStore};

fn unique_service(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("spondon-test-{tag}-{}-{nanos}", std::process::id())
}

fn keychain_required() -> bool {
    std::env::var("SPONDON_REQUIRE_KEYCHAIN").as_deref() == Ok("1")
}

const NAMES: [&str; 3] = ["wallet:1:signing-key", "wallet:1:data-key", "empty"];

/// Deletes the test items even when an assertion fails.
struct Cleanup<'a>(&'a OsKeyStore);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in NAMES {
            let _ = self.0.delete(name);
        }
    }
}

/// Put, overwrite, binary and empty secrets, a second handle, delete.
fn exercise(store: &OsKeyStore, backend: OsBackend) {
    let _cleanup = Cleanup(store);
    let [signing, data, empty] = NAMES;
    assert!(store.get(signing).unwrap().is_none());
    store.put(signing, b"first").unwrap();
    store.put(signing, b"second").unwrap();
    let binary: Vec<u8> = (0..=255u8).collect();
    store.put(data, &binary).unwrap();
    store.put(empty, b"").unwrap();
    assert_eq!(store.get(signing).unwrap().unwrap().as_slice(), b"second");
    assert_eq!(store.get(data).unwrap().unwrap().as_slice(), binary);
    assert!(store.get(empty).unwrap().unwrap().is_empty());

    // A second, independent handle (a new connection for the Secret Service) sees the same items.
    let other = OsKeyStore::open_with_service(backend, store.service()).unwrap();
    assert_eq!(other.get(signing).unwrap().unwrap().as_slice(), b"second");
    // Items of another service are separate.
    let stranger = OsKeyStore::open_with_service(backend, &unique_service("other")).unwrap();
    assert!(stranger.get(signing).unwrap().is_none());

    store.delete(signing).unwrap();
    store.delete(signing).unwrap();
    assert!(store.get(signing).unwrap().is_none());
    assert!(other.get(signing).unwrap().is_none());
    assert_eq!(other.get(data).unwrap().unwrap().as_slice(), binary);

    assert!(matches!(
        store.put("no spaces", b"x"),
        Err(KeyStoreError::InvalidName(_))
    ));
    assert!(matches!(
        OsKeyStore::open_with_service(backend, "bad service"),
        Err(KeyStoreError::InvalidName(_))
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn keyutils_round_trip() {
    let store = OsKeyStore::open_with_service(OsBackend::Keyutils, &unique_service("keyutils"))
        .expect("the kernel keyring works on Linux");
    assert!(!store.is_persistent());
    let description = store.describe();
    assert!(description.contains("lost at reboot"), "{description}");
    exercise(&store, OsBackend::Keyutils);
}

#[test]
fn secret_service_round_trip() {
    let service = unique_service("secret-service");
    let store = match OsKeyStore::open_with_service(OsBackend::SecretService, &service) {
        Ok(store) => store,
        Err(KeyStoreError::Unavailable { reason }) if !keychain_required() => {
            eprintln!("skipped (run under scripts/with-keyring.sh): {reason}");
            return;
        }
        Err(e) => panic!("SPONDON_REQUIRE_KEYCHAIN=1 but the Secret Service is unusable: {e}"),
    };
    assert!(store.is_persistent());
    assert!(store.describe().contains("Secret Service"));
    // Auto picks the Secret Service when it is there.
    let auto = OsKeyStore::open_with_service(OsBackend::Auto, &service).unwrap();
    assert!(auto.describe().contains("Secret Service"));
    exercise(&store, OsBackend::SecretService);

    // Under scripts/with-keyring.sh the keyring is a file in a throwaway XDG_DATA_HOME: the item
    // is written there, encrypted.
    if let Ok(data_home) = std::env::var("XDG_DATA_HOME") {
        let _cleanup = Cleanup(&store);
        let keyring = std::path::Path::new(&data_home).join("keyrings/login.keyring");
        if keyring.exists() {
            let before = std::fs::read(&keyring).unwrap();
            store
                .put("wallet:1:signing-key", b"KEYCHAIN-PLAINTEXT-MARKER")
                .unwrap();
            let after = std::fs::read(&keyring).unwrap();
            assert_ne!(before, after, "the keyring file was not rewritten");
            assert!(
                !after.windows(25).any(|w| w == b"KEYCHAIN-PLAINTEXT-MARKER"),
                "secret readable in the keyring file"
            );
        }
    }
}

/// With no D-Bus session, `Auto` is unavailable: it neither falls back to the kernel keyring
/// nor to a mock. Runs in a child process, since the environment is process-wide.
#[test]
fn auto_without_dbus_session_is_unavailable() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_auto_without_dbus",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/spondon-no-bus",
        )
        .env("SPONDON_TEST_CHILD", "no-dbus")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{stderr}"
    );
}

#[test]
#[ignore = "run by auto_without_dbus_session_is_unavailable in a child process"]
fn child_auto_without_dbus() {
    assert_eq!(
        std::env::var("SPONDON_TEST_CHILD").as_deref(),
        Ok("no-dbus"),
        "only meant to run as a child of auto_without_dbus_session_is_unavailable"
    );
    for backend in [OsBackend::Auto, OsBackend::SecretService] {
        match OsKeyStore::open(backend) {
            Err(KeyStoreError::Unavailable { reason }) => assert!(
                reason.contains("no Secret Service on the D-Bus session")
                    && reason.contains("passphrase key file"),
                "{reason}"
            ),
            other => panic!("{backend:?}: expected Unavailable, got {other:?}"),
        }
    }
}

/// A D-Bus session where the Secret Service is only activatable (GNOME Keyring starts on demand,
/// with no keyring unlocked and no prompt possible), as on a headless server: storing fails with
/// `Unavailable` and nothing hangs. Runs on its own private bus in a child process.
#[test]
fn secret_service_without_unlocked_keyring_is_unavailable() {
    let have = |bin: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("dbus-run-session") || !have("gnome-keyring-daemon") {
        assert!(
            !keychain_required(),
            "SPONDON_REQUIRE_KEYCHAIN=1 but dbus-run-session or gnome-keyring-daemon is missing"
        );
        eprintln!("skipped: dbus-run-session or gnome-keyring-daemon not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, runtime) = (dir.path().join("data"), dir.path().join("runtime"));
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let out = Command::new("dbus-run-session")
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_no_unlocked_keyring",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XDG_DATA_HOME", &data)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("SPONDON_TEST_CHILD", "no-keyring")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{stderr}"
    );
}

#[test]
#[ignore = "run by secret_service_without_unlocked_keyring_is_unavailable in a child process"]
fn child_no_unlocked_keyring() {
    assert_eq!(
        std::env::var("SPONDON_TEST_CHILD").as_deref(),
        Ok("no-keyring"),
        "only meant to run as a child of secret_service_without_unlocked_keyring_is_unavailable"
    );
    match OsKeyStore::open_with_service(OsBackend::Auto, &unique_service("locked")) {
        Err(KeyStoreError::Unavailable { reason }) => eprintln!("open: {reason}"),
        Ok(store) => match store.put("wallet:1:signing-key", b"secret") {
            Err(KeyStoreError::Unavailable { reason }) => {
                assert!(reason.contains("passphrase key file"), "{reason}");
                eprintln!("put: {reason}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        },
        Err(other) => panic!("expected Unavailable, got {other:?}"),
    }
}
