//! Wallet lifecycle and the encrypted cache: nothing readable on disk, wrong passphrase, damaged
//! files, authorization, import of SMART Health Cards, backup and restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::shc::{CardBuilder, Directory};
use spondon_core::token::{Hospital, TrustList};
use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_wallet::browse::Filter;
use spondon_wallet::{Trust, Wallet, WalletError};

const PASS: &[u8] = b"correct horse battery";
const ISS: &str = "https://dmch.example";

fn ks() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::new())
}

struct Fixture {
    root: Es256KeyPair,
    records: Es256KeyPair,
    list: String,
}

fn fixture() -> Fixture {
    let root = Es256KeyPair::generate().unwrap();
    let records = Es256KeyPair::generate().unwrap();
    let log = Ed25519KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let list = TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS".into(),
        sequence: 1,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
        hospitals: vec![Hospital {
            id: ISS.into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: ISS.into(),
            record_keys: vec![records.public_key().clone()],
            log_key: *log.public_key(),
            log_origin: "dmch.example/log".into(),
        }],
    }
    .sign(&root)
    .unwrap();
    Fixture {
        root,
        records,
        list,
    }
}

fn card(key: &Es256KeyPair, iss: &str) -> String {
    let bundle = serde_json::json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": "resource:0", "resource": {"resourceType": "Patient",
                "name": [{"text": "Fatema Begum"}], "birthDate": "1988-04-12"}},
            {"fullUrl": "resource:1", "resource": {"resourceType": "MedicationRequest",
                "status": "active", "intent": "order", "subject": {"reference": "resource:0"},
                "authoredOn": "2026-11-20",
                "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
                "dosageInstruction": [{"text": "1 tablet three times daily"}]}}
        ]
    });
    CardBuilder::new(iss, NumericDate::now(), bundle)
        .rid("rx-0001")
        .sign(key)
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of the wallet's files (db, -wal, -journal, -shm, sealed keys, meta).
fn raw_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[tokio::test]
async fn nothing_readable_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let f = fixture();
    let w = Wallet::create(&dir, ks(), PASS).await.unwrap();
    w.set_trust_list(&f.list, &f.root.public_key().to_jwk())
        .await
        .unwrap();
    // A card from a trusted hospital, imported (stored with kind, issuer name, dates).
    let jws = card(&f.records, ISS);
    let out = w.import(jws.as_bytes(), false).await.unwrap();
    assert_eq!(out[0].trust, Trust::ImportedTrusted);
    let recs = w.records(&Filter::default()).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].kind, "prescription");
    assert_eq!(recs[0].hospital, "Dhaka Medical College Hospital");
    // The decoded card is also stored as JSON inside the encrypted document.
    let mut bundle_json = serde_json::to_vec(&recs[0]).unwrap();
    bundle_json.extend_from_slice(b" Fatema Begum 1988-04-12");
    // Search and filters work on decrypted data.
    let f2 = Filter {
        text: Some("paracetamol".into()),
        ..Default::default()
    };
    assert_eq!(w.records(&f2).await.unwrap().len(), 1);
    let f3 = Filter {
        kind: Some("lab_report".into()),
        ..Default::default()
    };
    assert!(w.records(&f3).await.unwrap().is_empty());
    let db = dir.join("wallet.db");
    assert!(dir.join("wallet.db-wal").exists(), "WAL present while open");
    let needles: [&[u8]; 9] = [
        b"Fatema Begum",
        b"Paracetamol",
        b"Dhaka Medical College Hospital",
        b"1988-04-12",
        b"2026-11-20",
        b"prescription",
        b"dmch.example",
        b"rx-0001",
        b"MedicationRequest",
    ];
    // While open (WAL not yet checkpointed) and after closing.
    let mut w = Some(w);
    for phase in ["open", "closed"] {
        for (name, bytes) in raw_files(&dir) {
            for n in needles {
                assert!(
                    !contains(&bytes, n),
                    "{phase}: {name} contains {:?}",
                    String::from_utf8_lossy(n)
                );
            }
            // The JWS (base64url) is not stored in the clear either.
            assert!(
                !contains(&bytes, &jws.as_bytes()[..40]),
                "{phase}: {name} holds the JWS"
            );
        }
        if let Some(w) = w.take() {
            w.close().await;
        }
    }
    assert!(db.exists());
    let _ = bundle_json;
}

#[tokio::test]
async fn lifecycle_passphrase_and_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let store = ks();
    let f = fixture();
    // Weak passphrase refused, nothing created.
    assert!(matches!(
        Wallet::create(&dir, store.clone(), b"short").await,
        Err(WalletError::WeakPassphrase(_))
    ));
    assert!(!dir.join("wallet.json").exists());
    let w = Wallet::create(&dir, store.clone(), PASS).await.unwrap();
    let kid = w.public_key().kid().to_owned();
    w.set_trust_list(&f.list, &f.root.public_key().to_jwk())
        .await
        .unwrap();
    w.import(card(&f.records, ISS).as_bytes(), false)
        .await
        .unwrap();
    // A second create in the same place is refused.
    assert!(matches!(
        Wallet::create(&dir, ks(), PASS).await,
        Err(WalletError::AlreadyExists(_))
    ));
    // Authorization needs the right passphrase.
    assert!(matches!(
        w.authorize(b"wrong passphrase").await,
        Err(WalletError::WrongPassphrase)
    ));
    let _auth = w.authorize(PASS).await.unwrap();
    // Lock: keys leave the key store; open fails, unlock with the passphrase works.
    w.lock().await.unwrap();
    assert!(matches!(
        Wallet::open(&dir, store.clone()).await,
        Err(WalletError::Locked(_))
    ));
    assert!(matches!(
        Wallet::unlock(&dir, store.clone(), b"not the passphrase").await,
        Err(WalletError::WrongPassphrase)
    ));
    let w = Wallet::unlock(&dir, store.clone(), PASS).await.unwrap();
    assert_eq!(w.public_key().kid(), kid);
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 1);
    // Change passphrase: old one stops working, new one works, data intact.
    assert!(matches!(
        w.change_passphrase(b"wrong passphrase", b"new passphrase 1")
            .await,
        Err(WalletError::WrongPassphrase)
    ));
    w.change_passphrase(PASS, b"new passphrase 1")
        .await
        .unwrap();
    w.close().await;
    let fresh = ks();
    assert!(matches!(
        Wallet::unlock(&dir, fresh.clone(), PASS).await,
        Err(WalletError::WrongPassphrase)
    ));
    let w = Wallet::unlock(&dir, fresh.clone(), b"new passphrase 1")
        .await
        .unwrap();
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 1);
    w.close().await;

    // A damaged sealed key file: corrupt, not "wrong passphrase".
    let sealed = dir.join("keys.sealed");
    let good = std::fs::read(&sealed).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&sealed, &bad).unwrap();
    assert!(matches!(
        Wallet::unlock(&dir, ks(), b"new passphrase 1").await,
        Err(WalletError::Corrupt { .. })
    ));
    std::fs::write(&sealed, &good[..10]).unwrap();
    assert!(matches!(
        Wallet::unlock(&dir, ks(), b"new passphrase 1").await,
        Err(WalletError::Corrupt { .. })
    ));
    std::fs::write(&sealed, &good).unwrap();

    // A damaged database: a flipped bit in an encrypted document, or a document moved to
    // another row (the AAD binds each to its row), is detected on read as corruption.
    let db = dir.join("wallet.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE records SET doc = substr(doc, 1, 20) || x'00' || substr(doc, 22)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let r = async {
        let w = Wallet::open(&dir, fresh.clone()).await?;
        w.records(&Filter::default()).await?;
        Ok::<_, WalletError>(())
    }
    .await;
    assert!(matches!(r, Err(WalletError::Corrupt { .. })), "{r:?}");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("DELETE FROM records")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO records (idx, doc) SELECT idx, (SELECT doc FROM settings LIMIT 1) FROM settings LIMIT 1")
            .execute(&pool).await.unwrap();
        pool.close().await;
    }
    let r = async {
        let w = Wallet::open(&dir, fresh.clone()).await?;
        w.records(&Filter::default()).await?;
        Ok::<_, WalletError>(())
    }
    .await;
    assert!(matches!(r, Err(WalletError::Corrupt { .. })), "{r:?}");
    // Garbage instead of a database.
    std::fs::write(&db, b"this is not a database at all, just text").unwrap();
    let r = Wallet::open(&dir, fresh.clone()).await;
    assert!(
        matches!(
            r,
            Err(WalletError::Corrupt { .. }) | Err(WalletError::Database(_))
        ),
        "{r:?}"
    );
    // A damaged wallet.json.
    std::fs::write(dir.join("wallet.json"), b"{").unwrap();
    assert!(matches!(
        Wallet::open(&dir, fresh).await,
        Err(WalletError::Corrupt { .. })
    ));
    assert!(matches!(
        Wallet::open(&tmp.path().join("nowhere"), ks()).await,
        Err(WalletError::NoWallet(_))
    ));
}

#[tokio::test]
async fn import_real_smart_health_cards() {
    let tmp = tempfile::tempdir().unwrap();
    let w = Wallet::create(&tmp.path().join("w"), ks(), PASS)
        .await
        .unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shc");
    let file = std::fs::read(data.join("example-00-e-file.smart-health-card")).unwrap();
    // No directory: the issuer is unknown; without fetching keys the signature is not checked.
    let out = w.import(&file, false).await.unwrap();
    assert_eq!(out[0].trust, Trust::SignatureNotChecked);
    // With the VCI directory holding the spec's example issuer: trusted.
    let iss = "https://spec.smarthealth.cards/examples/issuer";
    let mut d = Directory::new();
    d.add_issuer(iss, Some("SMART example issuer")).unwrap();
    d.add_jwks_json(
        iss,
        &std::fs::read_to_string(data.join("issuer/.well-known/jwks.json")).unwrap(),
    )
    .unwrap();
    for e in std::fs::read_dir(data.join("issuer/.well-known/crl")).unwrap() {
        d.add_crl_json(iss, &std::fs::read_to_string(e.unwrap().path()).unwrap())
            .unwrap();
    }
    w.set_issuer_directory(&d.to_json().unwrap()).await.unwrap();
    let out = w.import(&file, false).await.unwrap();
    assert_eq!(out[0].trust, Trust::ImportedTrusted, "{:?}", out[0]);
    assert!(out[0].already_present);
    // `shc:/` text.
    let qr =
        std::fs::read_to_string(data.join("example-00-f-qr-code-numeric-value-0.txt")).unwrap();
    let out = w.import(qr.as_bytes(), false).await.unwrap();
    assert_eq!(out[0].trust, Trust::ImportedTrusted);
    let recs = w.records(&Filter::default()).await.unwrap();
    assert_eq!(recs.len(), 1, "the same card once");
    assert!(matches!(
        recs[0].items[0],
        spondon_wallet::browse::Item::Immunization { .. }
    ));
    // A tampered card is refused and nothing is stored.
    let jws = std::fs::read_to_string(data.join("example-01-d-jws.txt")).unwrap();
    let mut t = jws.trim().to_owned();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'B' } else { 'A' });
    assert!(w.import(t.as_bytes(), false).await.is_err());
    assert!(w.import(b"no card here", false).await.is_err());
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn backup_restore_wrong_passphrase_and_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let f = fixture();
    let w = Wallet::create(&tmp.path().join("a"), ks(), PASS)
        .await
        .unwrap();
    w.set_trust_list(&f.list, &f.root.public_key().to_jwk())
        .await
        .unwrap();
    w.import(card(&f.records, ISS).as_bytes(), false)
        .await
        .unwrap();
    let backup = tmp.path().join("wallet.spondon-backup");
    let auth = w.authorize(PASS).await.unwrap();
    w.backup(&auth, &backup, b"backup passphrase")
        .await
        .unwrap();
    let raw = std::fs::read(&backup).unwrap();
    assert!(!contains(&raw, b"Dhaka Medical College Hospital"));
    let r = Wallet::restore(
        &backup,
        b"wrong passphrase!",
        &tmp.path().join("b"),
        ks(),
        PASS,
    )
    .await;
    assert!(matches!(r, Err(WalletError::WrongPassphrase)));
    assert!(!tmp.path().join("b").join("wallet.json").exists());
    let mut bad = raw.clone();
    let n = bad.len();
    bad[n - 20] ^= 1;
    let bad_path = tmp.path().join("bad.backup");
    std::fs::write(&bad_path, &bad).unwrap();
    let r = Wallet::restore(
        &bad_path,
        b"backup passphrase",
        &tmp.path().join("b"),
        ks(),
        PASS,
    )
    .await;
    assert!(matches!(r, Err(WalletError::Corrupt { .. })), "{r:?}");
    let (r, summary) = Wallet::restore(
        &backup,
        b"backup passphrase",
        &tmp.path().join("b"),
        ks(),
        b"another passphrase",
    )
    .await
    .unwrap();
    assert_eq!(summary.records, 1);
    assert_eq!(r.public_key(), w.public_key());
    assert_eq!(r.records(&Filter::default()).await.unwrap().len(), 1);
    assert_eq!(r.trust_list().await.unwrap().sequence, 1);
}
