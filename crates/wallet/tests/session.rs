//! The app-facing engine: [`WalletSession`] (create with a trust list and roll back, lock through
//! `&self`, unlock, inactivity, endpoints kept in the wallet, preferences), error codes,
//! write-scoped grants, progress of export / revoke-all / import / restore, and the app-api views —
//! against a real `spondon-peer` on 127.0.0.1 and real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use spondon_app_api as api;
use spondon_core::token::{Category, Purpose, TokenClaims};
use spondon_testkit::spawned::*;
use spondon_wallet::grants::{Duration as GrantDuration, GrantAudience, GrantRequest, Scope};
use spondon_wallet::{
    Endpoints, Keychain, Preferences, SessionConfig, SessionState, Step, WalletError, WalletSession,
};

const PASS: &[u8] = b"correct horse battery";

fn session(dir: &std::path::Path, endpoints: Endpoints) -> WalletSession {
    WalletSession::new(SessionConfig {
        dir: dir.to_owned(),
        keychain: Keychain::Unavailable {
            reason: "tests run without a keychain".into(),
        },
        consortium: None,
        endpoints,
    })
}

fn dir_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_lifecycle_refusals_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let (root, list) = trust_list(&[&a]).await;
    let root_jwk = root.public_key().to_jwk();
    let dir = tmp.path().join("wallet");
    let s = session(&dir, Endpoints(endpoints(&[&a])));

    assert_eq!(s.state().await.unwrap(), SessionState::NoWallet);
    let e = s.wallet().await.unwrap_err();
    assert_eq!(e.code(), "no_wallet");

    // No trust list anywhere: refused, nothing written.
    let e = s.create(PASS, false, None).await.unwrap_err();
    assert_eq!(e.code(), "no_trust_list");
    assert!(dir_files(&dir).is_empty(), "{:?}", dir_files(&dir));
    // A damaged trust list: refused before anything is written.
    let bad = list.replacen('A', "B", 1);
    let e = s
        .create(PASS, false, Some((bad, root_jwk.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_trust_list", "{e}");
    assert!(dir_files(&dir).is_empty(), "{:?}", dir_files(&dir));
    // A weak passphrase.
    let e = s
        .create(b"short", false, Some((list.clone(), root_jwk.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_passphrase");
    // Asking for the keychain where there is none: said plainly, nothing written.
    let e = s
        .create(PASS, true, Some((list.clone(), root_jwk.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "keychain_unavailable", "{e}");
    assert!(dir_files(&dir).is_empty(), "{:?}", dir_files(&dir));

    let l = s
        .create(PASS, false, Some((list.clone(), root_jwk.clone())))
        .await
        .unwrap();
    assert_eq!(l.hospitals.len(), 1);
    assert_eq!(s.state().await.unwrap(), SessionState::Unlocked);
    // A second create is refused.
    let e = s
        .create(PASS, false, Some((list.clone(), root_jwk.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "already_exists");

    // Enroll through the endpoints the session saved into the wallet.
    let (_hid, text) = a.register_patient().await;
    {
        let w = s.wallet().await.unwrap();
        w.enroll(&spondon_wallet::EnrollmentCode::parse(&text).unwrap())
            .await
            .unwrap();
    }

    // Lock through &self; every use is refused as `locked`.
    assert!(s.lock().await.unwrap());
    assert_eq!(s.state().await.unwrap(), SessionState::Locked);
    assert_eq!(s.wallet().await.unwrap_err().code(), "locked");
    assert!(!s.lock().await.unwrap());
    // Wrong passphrase: still locked.
    let e = s.unlock(b"not the passphrase").await.unwrap_err();
    assert_eq!(e.code(), "wrong_passphrase");
    assert_eq!(s.state().await.unwrap(), SessionState::Locked);

    // A session without configured endpoints uses the ones kept in the wallet.
    let s2 = session(&dir, Endpoints::default());
    s2.unlock(PASS).await.unwrap();
    {
        let w = s2.wallet().await.unwrap();
        assert_eq!(w.endpoints().0, endpoints(&[&a]));
        let report = w.sync(&|_| {}).await.unwrap();
        assert!(report.peers.iter().all(|p| p.error.is_none()), "{report:?}");
    }

    // Inactivity: not idle yet, then idle.
    assert!(!s2.lock_if_idle(Duration::from_secs(60)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s2.lock_if_idle(Duration::from_millis(200)).await.unwrap());
    assert_eq!(s2.state().await.unwrap(), SessionState::Locked);
    // Zero means never.
    s2.unlock(PASS).await.unwrap();
    assert!(!s2.lock_if_idle(Duration::ZERO).await.unwrap());

    // Preferences: validated, kept while locked.
    let mut p = s2.preferences().await.unwrap();
    assert_eq!(p.language, "en");
    p.language = "bn".into();
    p.lock_after_secs = 120;
    s2.set_preferences(&p).await.unwrap();
    s2.lock().await.unwrap();
    assert_eq!(s2.preferences().await.unwrap().language, "bn");
    let bad = Preferences {
        lock_after_secs: 5,
        ..p.clone()
    };
    assert_eq!(
        s2.set_preferences(&bad).await.unwrap_err().code(),
        "bad_setting"
    );
    let bad = Preferences {
        language: "fr".into(),
        ..p
    };
    assert!(s2.set_preferences(&bad).await.is_err());
    assert_eq!(s2.preferences().await.unwrap().lock_after_secs, 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_grants_progress_and_app_views() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let (root, list) = trust_list(&[&a]).await;
    let dir = tmp.path().join("wallet");
    let s = session(&dir, Endpoints(endpoints(&[&a])));
    s.create(PASS, false, Some((list, root.public_key().to_jwk())))
        .await
        .unwrap();
    let w = s.wallet().await.unwrap();
    let (hid, text) = a.register_patient().await;
    w.enroll(&spondon_wallet::EnrollmentCode::parse(&text).unwrap())
        .await
        .unwrap();
    let (_doctor, cred) = a.register_doctor("A-54321", "Dr. Abul Kalam Azad").await;
    let rx = a.prescription(&hid, "A-54321").await;
    let cbc = a.cbc(&hid).await;

    // Sync, seen through the app's progress snapshots.
    let mut tracker = spondon_wallet::app::SyncTracker::new(&w.peers().await.unwrap());
    let snaps = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx_ev) = std::sync::mpsc::channel();
    let report = w.sync(&move |e| tx.send(e).unwrap()).await.unwrap();
    for e in rx_ev.try_iter() {
        snaps.lock().unwrap().push(tracker.update(&e));
    }
    let last = snaps.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.done, last.total), (1, 1));
    assert_eq!(last.peers[0].state, api::event::PeerSyncState::Done);
    assert_eq!(last.peers[0].records_total, Some(2));
    let names = w.hospital_names().await.unwrap();
    let summary = spondon_wallet::app::sync_summary(&report, &names);
    assert_eq!(
        summary.peers[0].hospital_name,
        "Dhaka Medical College Hospital"
    );
    assert_eq!(summary.peers[0].new_records, 2);

    // Hospitals screen.
    let hs = w.app_hospitals().await.unwrap();
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].records, 2);
    assert!(hs[0].last_sync.is_some() && hs[0].alerts.is_empty());

    // Record detail with its proof, units in words and abnormal flags.
    let (v, proof) = w.record_detail(&cbc).await.unwrap();
    let detail = spondon_wallet::app::record_detail(&v, proof.as_ref());
    let proof = detail.proof.clone().unwrap();
    assert_eq!(proof.signature.issuer, a.url);
    assert_eq!(proof.checkpoint.origin, a.hospital().await.log_origin);
    assert!(proof.checkpoint.size > proof.log_index);
    assert!(detail.items.iter().any(|i| matches!(i,
        api::RecordItem::LabResult { test, abnormal: Some(api::Abnormal::Low), .. } if test == "Platelets")));
    let (rxv, _) = w.record_detail(&rx).await.unwrap();
    let rxd = spondon_wallet::app::record_detail(&rxv, None);
    assert!(matches!(
        &rxd.items[0],
        api::RecordItem::Medication {
            instructions: Some(_),
            ..
        }
    ));
    assert_eq!(
        w.record_detail("zzzz").await.unwrap_err().code(),
        "not_found"
    );

    // Doctors: unknown refused with its code; known found by key id or BMDC.
    assert_eq!(
        w.doctor("nobody").await.unwrap_err().code(),
        "unknown_doctor"
    );
    let d = w.add_doctor(cred.as_bytes()).await.unwrap();
    assert_eq!(w.doctor("A-54321").await.unwrap().kid, d.kid);
    assert_eq!(
        w.add_doctor(b"not a credential").await.unwrap_err().code(),
        "bad_qr"
    );

    // A write-scoped grant: the token carries write = true; a passcode cannot have one.
    let auth = w.authorize(PASS).await.unwrap();
    let req = GrantRequest {
        audience: GrantAudience::Doctor(d.clone()),
        scope: Scope {
            categories: vec![Category::Prescription],
            record_ids: vec![],
        },
        purpose: Purpose::Treatment,
        duration: GrantDuration::Seconds(600),
        peers: vec![],
        use_limit: None,
        write: true,
    };
    let g = w.create_grant(&auth, &req).await.unwrap();
    assert!(g.write);
    let parsed = spondon_core::token::decode_any(&g.text).unwrap();
    let TokenClaims::Grant(grant) = parsed.claims else {
        panic!("not a grant")
    };
    assert!(grant.write);
    let e = w
        .create_grant(
            &auth,
            &GrantRequest {
                audience: GrantAudience::Passcode("123456".into()),
                ..req.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_grant");
    let gs = w.app_grants(true).await.unwrap();
    assert_eq!(gs.len(), 1);
    assert!(gs[0].write);
    assert_eq!(gs[0].doctor_name, "Dr. Abul Kalam Azad");
    assert_eq!(gs[0].categories, vec![api::Category::Prescription]);

    // Export with progress, ending in `done`, and a valid verdict.
    let steps = Arc::new(Mutex::new(Vec::new()));
    let st2 = steps.clone();
    let files = w
        .export_with_progress(
            &auth,
            &spondon_wallet::export::ExportRequest::default(),
            &move |p| st2.lock().unwrap().push(p),
        )
        .await
        .unwrap();
    assert!(files.report.valid);
    let steps = steps.lock().unwrap().clone();
    assert_eq!(steps.first().unwrap().step, Step::Collecting);
    assert_eq!(steps.last().unwrap().step, Step::Done);
    assert!(spondon_wallet::app::export_verdict(&files.report).valid);

    // Import progress: the exported file back in (already present), ending in `done`.
    let steps = Arc::new(Mutex::new(Vec::new()));
    let st2 = steps.clone();
    let out = w
        .import_with_progress(&files.parts[0].file, false, &move |p| {
            st2.lock().unwrap().push(p)
        })
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(steps.lock().unwrap().last().unwrap().step, Step::Done);

    // Revoke-all with per-peer answers as they come.
    let answers = Arc::new(Mutex::new(Vec::new()));
    let an2 = answers.clone();
    let res = w
        .revoke_all_with_progress(&auth, &move |r, done, total| {
            an2.lock()
                .unwrap()
                .push((r.peer.clone(), r.ok, done, total))
        })
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.ok));
    assert_eq!(
        answers.lock().unwrap().clone(),
        vec![(a.url.clone(), true, 1, 1)]
    );
    assert!(w.app_grants(true).await.unwrap().is_empty());

    // A backup restored through the session: wrong passphrase and a damaged file leave nothing.
    let backup = tmp.path().join("w.backup");
    w.backup(&auth, &backup, b"backup passphrase")
        .await
        .unwrap();
    drop(w);
    let bytes = std::fs::read(&backup).unwrap();
    let dir2 = tmp.path().join("restored");
    let s2 = session(&dir2, Endpoints::default());
    let e = s2
        .restore(bytes.clone(), b"wrong passphrase", PASS, false, &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), "wrong_passphrase");
    assert!(dir_files(&dir2).is_empty());
    let e = s2
        .restore(
            b"SPNDBKP1 nonsense".to_vec(),
            b"backup passphrase",
            PASS,
            false,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_backup", "{e}");
    assert!(dir_files(&dir2).is_empty());
    let steps = Arc::new(Mutex::new(Vec::new()));
    let st2 = steps.clone();
    let sum = s2
        .restore(bytes, b"backup passphrase", PASS, false, &move |p| {
            st2.lock().unwrap().push(p)
        })
        .await
        .unwrap();
    // Two synced records and the two imported back from the export file.
    assert_eq!((sum.peers, sum.records), (1, 4));
    assert_eq!(steps.lock().unwrap().last().unwrap().step, Step::Done);
    assert_eq!(s2.state().await.unwrap(), SessionState::Unlocked);
    // The restored wallet has its trust list back.
    assert!(
        s2.wallet()
            .await
            .unwrap()
            .app_trust_list()
            .await
            .unwrap()
            .is_some()
    );
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(WalletError::WrongPassphrase.code(), "wrong_passphrase");
    assert_eq!(WalletError::SessionLocked.code(), "locked");
    assert_eq!(WalletError::NoTrustList.code(), "no_trust_list");
    assert_eq!(
        WalletError::Network {
            peer: "p".into(),
            reason: "r".into()
        }
        .code(),
        "peer_unreachable"
    );
    assert_eq!(
        WalletError::UnknownDoctor("x".into()).code(),
        "unknown_doctor"
    );
    let api_err: api::ApiError = WalletError::NoWallet("/tmp/x".into()).into();
    assert_eq!(api_err.code, "no_wallet");
    assert!(!api_err.message.contains("spondon init"));
}

#[test]
fn endpoints_parse_and_refuse() {
    let e = Endpoints::parse_list("https://a.example=http://127.0.0.1:8400/, ").unwrap();
    assert_eq!(e.0["https://a.example"], "http://127.0.0.1:8400");
    assert!(Endpoints::parse(&["no-equals-sign"]).is_err());
    assert!(Endpoints::parse(&["https://a.example=ftp://x"]).is_err());
}

fn secret_service() -> Option<spondon_keystore::OsKeyStore> {
    use spondon_keystore::{KeyStore as _, OsBackend, OsKeyStore};
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

/// The app's keychain path under a real Secret Service (`scripts/with-keyring.sh`; skipped
/// without one unless SPONDON_REQUIRE_KEYCHAIN=1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_keeps_keys_in_the_secret_service() {
    let Some(store) = secret_service() else {
        eprintln!("skipped: no Secret Service (run under scripts/with-keyring.sh)");
        return;
    };
    let store: Arc<dyn spondon_keystore::KeyStore> = Arc::new(store);
    let tmp = tempfile::tempdir().unwrap();
    let (root, list) = trust_list(&[]).await;
    let dir = tmp.path().join("wallet");
    let s = WalletSession::new(SessionConfig {
        dir: dir.clone(),
        keychain: Keychain::Available {
            store: store.clone(),
            name: "Secret Service".into(),
        },
        consortium: Some((list, root.public_key().to_jwk())),
        endpoints: Endpoints::default(),
    });
    s.create(PASS, true, None).await.unwrap();
    assert!(s.preferences().await.unwrap().keep_in_keychain);
    assert!(s.keys_in_keychain().await);
    // Locking the session keeps the keys in the keychain; unlocking still takes the passphrase.
    s.lock().await.unwrap();
    assert!(s.keys_in_keychain().await);
    assert_eq!(s.wallet().await.unwrap_err().code(), "locked");
    assert_eq!(
        s.unlock(b"not the passphrase").await.unwrap_err().code(),
        "wrong_passphrase"
    );
    s.unlock(PASS).await.unwrap();
    s.lock().await.unwrap();
    // Another front end (the CLI) opens it from the keychain without asking.
    let w = spondon_wallet::Wallet::open_with(&dir, Some(store.clone()), || {
        Err::<zeroize::Zeroizing<Vec<u8>>, WalletError>(WalletError::Internal(
            "asked for the passphrase".into(),
        ))
    })
    .await
    .unwrap();
    // Taking the keys out of the keychain (CLI `spondon lock`): the app then needs the
    // passphrase, and puts them back because the user chose the keychain.
    w.lock().await.unwrap();
    assert!(!s.keys_in_keychain().await);
    s.unlock(PASS).await.unwrap();
    assert!(s.keys_in_keychain().await);
    // Clean up the test keyring.
    s.lock().await.unwrap();
    spondon_wallet::Wallet::open(&dir, store.clone())
        .await
        .unwrap()
        .lock()
        .await
        .unwrap();
    assert!(!s.keys_in_keychain().await);
}
