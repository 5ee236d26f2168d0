//! The passphrase key file on a real file system.

use std::sync::Arc;

use spondon_keystore::{KeyStore, KeyStoreError, PassphraseFileKeyStore};

const PASS: &[u8] = b"a long passphrase for tests";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn persists_across_reopen_and_hides_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.spondon");
    let store = PassphraseFileKeyStore::create(&path, PASS).unwrap();
    assert!(store.get("wallet:1:signing-key").unwrap().is_none());
    store
        .put("wallet:1:signing-key", b"PRIVATE-KEY-MATERIAL")
        .unwrap();
    store
        .put("wallet:1:data-key", b"DATA-KEY-MATERIAL")
        .unwrap();
    store.put("doomed", b"x").unwrap();
    store.delete("doomed").unwrap();
    store.delete("doomed").unwrap();
    assert!(store.describe().contains("Argon2id m=64 MiB, t=3"));
    drop(store);

    let raw = std::fs::read(&path).unwrap();
    for needle in [
        &b"PRIVATE-KEY-MATERIAL"[..],
        b"DATA-KEY-MATERIAL",
        b"wallet:1",
        b"signing-key",
        PASS,
    ] {
        assert!(!contains(&raw, needle), "{:?} readable in the file", needle);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the key file and its lock file: no temporary file left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["keys.spondon", "keys.spondon.lock"]);

    let store = PassphraseFileKeyStore::open(&path, PASS).unwrap();
    assert_eq!(
        store
            .get("wallet:1:signing-key")
            .unwrap()
            .unwrap()
            .as_slice(),
        b"PRIVATE-KEY-MATERIAL"
    );
    assert_eq!(
        store.get("wallet:1:data-key").unwrap().unwrap().as_slice(),
        b"DATA-KEY-MATERIAL"
    );
    assert!(store.get("doomed").unwrap().is_none());
    assert!(matches!(
        store.put("bad name", b"x"),
        Err(KeyStoreError::InvalidName(_))
    ));
}

#[test]
fn wrong_passphrase_missing_file_and_no_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    assert!(matches!(
        PassphraseFileKeyStore::open(&path, PASS),
        Err(KeyStoreError::Unavailable { .. })
    ));
    let store = PassphraseFileKeyStore::create(&path, PASS).unwrap();
    store.put("k", b"v").unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        PassphraseFileKeyStore::open(&path, b"not the passphrase"),
        Err(KeyStoreError::WrongPassphrase)
    ));
    assert!(matches!(
        PassphraseFileKeyStore::create(&path, b"another"),
        Err(KeyStoreError::AlreadyExists(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn corrupt_files_are_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    let store = PassphraseFileKeyStore::create(&path, PASS).unwrap();
    store.put("k", b"v").unwrap();
    let good = std::fs::read(&path).unwrap();

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x10;
    let damaged: [(&str, Vec<u8>); 4] = [
        ("garbage", b"this is not a key file".to_vec()),
        ("empty", Vec::new()),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("flipped", flipped),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&path, &bytes).unwrap();
        assert!(
            matches!(
                PassphraseFileKeyStore::open(&path, PASS),
                Err(KeyStoreError::Corrupt(_))
            ),
            "{what}"
        );
        // The open store sees the damage too and does not write over it.
        assert!(
            matches!(store.put("k2", b"v2"), Err(KeyStoreError::Corrupt(_))),
            "{what}"
        );
        assert!(matches!(store.get("k"), Err(KeyStoreError::Corrupt(_))));
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}");
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().as_slice(), b"v");
}

#[test]
fn change_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    let store = PassphraseFileKeyStore::create(&path, PASS).unwrap();
    store.put("k", b"v").unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        store.change_passphrase(b"wrong old", b"new passphrase"),
        Err(KeyStoreError::WrongPassphrase)
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let other = PassphraseFileKeyStore::open(&path, PASS).unwrap();
    store.change_passphrase(PASS, b"new passphrase").unwrap();
    // Another handle, opened under the old passphrase, is told to reopen; it writes nothing.
    let rekeyed = std::fs::read(&path).unwrap();
    assert!(matches!(
        other.get("k"),
        Err(KeyStoreError::Unavailable { .. })
    ));
    assert!(matches!(
        other.put("k3", b"v3"),
        Err(KeyStoreError::Unavailable { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), rekeyed);
    store.put("k2", b"v2").unwrap();
    drop(store);
    assert!(matches!(
        PassphraseFileKeyStore::open(&path, PASS),
        Err(KeyStoreError::WrongPassphrase)
    ));
    let store = PassphraseFileKeyStore::open(&path, b"new passphrase").unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().as_slice(), b"v");
    assert_eq!(store.get("k2").unwrap().unwrap().as_slice(), b"v2");
}

/// Threads put through one store and through a second store on the same file: no write is lost.
#[test]
fn concurrent_puts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    let first = Arc::new(PassphraseFileKeyStore::create(&path, PASS).unwrap());
    let second = Arc::new(PassphraseFileKeyStore::open(&path, PASS).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = if t % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            std::thread::spawn(move || {
                for i in 0..10 {
                    store
                        .put(
                            &format!("t{t}:item{i}"),
                            format!("secret {t}/{i}").as_bytes(),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = PassphraseFileKeyStore::open(&path, PASS).unwrap();
    for t in 0..8 {
        for i in 0..10 {
            assert_eq!(
                store
                    .get(&format!("t{t}:item{i}"))
                    .unwrap()
                    .unwrap()
                    .as_slice(),
                format!("secret {t}/{i}").as_bytes()
            );
        }
    }
}
