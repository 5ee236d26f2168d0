//! Lost phone (`docs/protocol.md` §17), end to end against two real `spondon-peer` processes on
//! 127.0.0.1, on SQLite and (under `scripts/with-postgres.sh`) PostgreSQL: after a restore into a
//! second wallet directory, `lost_phone` revokes everything and rotates the key at every
//! hospital; every grant the first wallet made (before and after the backup) is refused at every
//! peer with `key_rotated`, the old key cannot pull, and the new key syncs everything. A
//! hospital that is down is finished by running it again; a wallet whose old key was taken over
//! needs the identity check (`rebind_with_code`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use spondon_core::token::{Category, Purpose, Scope as TokenScope};
use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_testkit::db::postgres_url;
use spondon_testkit::spawned::*;
use spondon_wallet::browse::Filter;
use spondon_wallet::delegates::DelegationRequest;
use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, GrantStatus, Scope};
use spondon_wallet::{EnrollmentCode, HospitalOutcome, LostPhoneEvent, Wallet};

const PASS: &[u8] = b"correct horse battery";

fn ks() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::new())
}

async fn story(pg: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let (db_a, db_b) = if pg {
        (
            postgres_url("lost_phone").await,
            postgres_url("lost_phone").await,
        )
    } else {
        (None, None)
    };
    let a = PeerProc::start_on(
        tmp.path(),
        "dmch.example",
        "Dhaka Medical College Hospital",
        db_a.as_deref(),
    )
    .await;
    let mut b = PeerProc::start_on(
        tmp.path(),
        "labaid.example",
        "Labaid Diagnostics",
        db_b.as_deref(),
    )
    .await;
    let (root, list) = trust_list(&[&a, &b]).await;

    // The first phone: enrolled at both, records at both, grants.
    let mut w = Wallet::create(&tmp.path().join("phone"), ks(), PASS)
        .await
        .unwrap();
    w.set_endpoints(endpoints(&[&a, &b]));
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    let (hid_a, text_a) = a.register_patient().await;
    let (hid_b, text_b) = b.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&text_a).unwrap())
        .await
        .unwrap();
    w.enroll(&EnrollmentCode::parse(&text_b).unwrap())
        .await
        .unwrap();
    let (doctor, cred) = a.register_doctor("A-54321", "Dr. Abul Kalam Azad").await;
    a.prescription(&hid_a, "A-54321").await;
    a.cbc(&hid_a).await;
    b.cbc(&hid_b).await;
    w.sync(&|_| {}).await.unwrap();
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 3);
    let d = w.add_doctor(cred.as_bytes()).await.unwrap();
    let req = GrantRequest {
        audience: GrantAudience::Doctor(d),
        scope: Scope {
            categories: vec![Category::Prescription, Category::LabResult],
            record_ids: vec![],
        },
        purpose: Purpose::Treatment,
        duration: Duration::Day,
        peers: vec![],
        use_limit: None,
        write: false,
    };
    let auth = w.authorize(PASS).await.unwrap();
    let g1 = w.create_grant(&auth, &req).await.unwrap();
    assert_eq!(g1.peers.len(), 2);
    assert_eq!(a.redeem(&doctor, &g1.text).await.0, 200);
    assert_eq!(b.redeem(&doctor, &g1.text).await.0, 200);

    // A family member's wallet may see and share the records (a delegation of the old key).
    let mut family = Wallet::create(&tmp.path().join("family"), ks(), PASS)
        .await
        .unwrap();
    family.set_endpoints(endpoints(&[&a, &b]));
    family
        .set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    let delegation = w
        .delegate(
            &auth,
            &DelegationRequest {
                delegate_key: family.public_key().to_jwk(),
                label: "Amma".into(),
                scopes: vec![TokenScope::View, TokenScope::Share],
                categories: vec![],
                duration: Duration::parse("30d").unwrap(),
                peers: vec![],
                minor: false,
                other_guardian: None,
            },
        )
        .await
        .unwrap();
    family
        .add_delegation_from_text(&delegation.text, "Patient")
        .await
        .unwrap();
    let seen = family.delegate_sync("Patient").await.unwrap();
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    assert_eq!(seen.records.len(), 3);
    let family_doctor = family.add_doctor(cred.as_bytes()).await.unwrap();
    let family_auth = family.authorize(PASS).await.unwrap();
    let family_req = GrantRequest {
        audience: GrantAudience::Doctor(family_doctor),
        ..req.clone()
    };
    let fg1 = family
        .grant_as_delegate(&family_auth, "Patient", &family_req)
        .await
        .unwrap();
    assert_eq!(a.redeem(&doctor, &fg1.text).await.0, 200);

    // The backup, then a grant the backup does not know (made on the phone later).
    let backup = tmp.path().join("phone.backup");
    w.backup(&auth, &backup, b"backup passphrase")
        .await
        .unwrap();
    let g2 = w.create_grant(&auth, &req).await.unwrap();
    assert_eq!(b.redeem(&doctor, &g2.text).await.0, 200);

    // The phone is lost. Restore on a new device (a second wallet directory).
    let (mut w2, _) = Wallet::restore(
        &backup,
        b"backup passphrase",
        &tmp.path().join("new-phone"),
        ks(),
        PASS,
    )
    .await
    .unwrap();
    w2.set_endpoints(endpoints(&[&a, &b]));
    let old_kid = w2.public_key().kid().to_owned();
    assert_eq!(old_kid, w.public_key().kid());

    // First run with Labaid down: DMCH is done, Labaid is not; nothing is lost.
    b.stop();
    assert!(w2.lost_phone(b"wrong passphrase", &|_| {}).await.is_err());
    assert_eq!(
        w2.public_key().kid(),
        old_kid,
        "a wrong passphrase changes nothing"
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let report = w2
        .lost_phone(PASS, &move |e| ev.lock().unwrap().push(e))
        .await
        .unwrap();
    assert!(!report.complete, "{report:?}");
    let new_kid = w2.public_key().kid().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        (report.old_kid.as_str(), report.new_kid.as_str()),
        (old_kid.as_str(), new_kid.as_str())
    );
    let by_peer = |r: &spondon_wallet::LostPhoneReport, url: &str| {
        r.hospitals
            .iter()
            .find(|h| h.peer == url)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(by_peer(&report, &a.url), HospitalOutcome::Rotated);
    assert!(
        matches!(by_peer(&report, &b.url), HospitalOutcome::Failed { ref code, .. } if code == "peer_unreachable"),
        "{report:?}"
    );
    {
        let ev = events.lock().unwrap();
        assert!(matches!(
            ev.first(),
            Some(LostPhoneEvent::KeyReady {
                resumed: false,
                hospitals: 2,
                ..
            })
        ));
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, LostPhoneEvent::Hospital { .. }))
                .count(),
            2
        );
    }
    let status = w2.key_rotation_status().await.unwrap().unwrap();
    assert_eq!(status.pending, vec![b.url.clone()]);
    // At DMCH every grant of the old key is refused already.
    let (s, body) = a.redeem(&doctor, &g1.text).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (403, Some("key_rotated")),
        "{body}"
    );

    // Labaid is back: run again to finish; DMCH is skipped.
    b.serve().await;
    let report = w2.lost_phone(PASS, &|_| {}).await.unwrap();
    assert!(report.complete, "{report:?}");
    assert_eq!(w2.public_key().kid(), new_kid, "the same new key");
    assert_eq!(by_peer(&report, &a.url), HospitalOutcome::AlreadyDone);
    assert_eq!(by_peer(&report, &b.url), HospitalOutcome::Rotated);
    let now = spondon_core::NumericDate::now().seconds();
    assert!(
        w2.grants()
            .await
            .unwrap()
            .iter()
            .all(|g| g.status(now) == GrantStatus::Revoked)
    );

    // Every grant the first phone made — before and after the backup — is refused at every
    // peer, and so is a grant the thief mints with the old key now.
    let g3 = w.create_grant(&auth, &req).await.unwrap();
    for g in [&g1, &g2, &g3] {
        for p in [&a, &b] {
            let (s, body) = p.redeem(&doctor, &g.text).await;
            assert_eq!(
                (s, body["code"].as_str()),
                (403, Some("key_rotated")),
                "{}: {body}",
                p.url
            );
        }
    }
    // The delegation the old key signed is dead too: the family member cannot read any more,
    // and a share they made before is refused at every peer.
    let after = family.delegate_sync("Patient").await.unwrap();
    assert!(after.records.is_empty(), "{:?}", after.records);
    assert_eq!(after.failures.len(), 2, "{:?}", after.failures);
    for p in [&a, &b] {
        let (s, body) = p.redeem(&doctor, &fg1.text).await;
        assert_eq!(s, 403, "{}: {body}", p.url);
    }

    // The old key cannot pull.
    a.cbc(&hid_a).await;
    b.cbc(&hid_b).await;
    let old = w.sync(&|_| {}).await.unwrap();
    assert_eq!(old.peers.len(), 2);
    for p in &old.peers {
        assert_eq!(p.new_records, 0, "{p:?}");
        assert!(
            p.error
                .as_deref()
                .is_some_and(|e| e.contains("key_rotated")),
            "{p:?}"
        );
    }
    // The new key syncs everything: the 3 records of the backup and the 2 issued since.
    let report = w2.sync(&|_| {}).await.unwrap();
    assert!(report.peers.iter().all(|p| p.error.is_none()), "{report:?}");
    assert!(report.violation().is_none());
    assert_eq!(w2.records(&Filter::default()).await.unwrap().len(), 5);
    // The audit shows the rotation at both hospitals, and the refused grants.
    let receipts = w2.receipts().await.unwrap();
    let replaced: Vec<&str> = receipts
        .iter()
        .filter(|r| r.text.starts_with("KEY REPLACED"))
        .map(|r| r.peer.as_str())
        .collect();
    assert_eq!(replaced.len(), 2, "{receipts:#?}");
    assert!(
        receipts
            .iter()
            .any(|r| !r.allowed && r.reason.as_deref() == Some("key_rotated"))
    );

    // A third device restored from the same (old-key) backup finds the key already retired
    // everywhere: only the identity check is left. The desk issues a new code at DMCH.
    let (mut w3, _) = Wallet::restore(
        &backup,
        b"backup passphrase",
        &tmp.path().join("third-phone"),
        ks(),
        PASS,
    )
    .await
    .unwrap();
    w3.set_endpoints(endpoints(&[&a, &b]));
    let report = w3.lost_phone(PASS, &|_| {}).await.unwrap();
    assert!(!report.complete);
    for h in &report.hospitals {
        assert!(
            matches!(&h.outcome, HospitalOutcome::IdentityCheckNeeded { code, .. } if code == "key_rotated"),
            "{h:?}"
        );
    }
    let code = a
        .staff(
            &format!("/staff/patients/{hid_a}/enrollment-code"),
            &serde_json::json!({}),
        )
        .await;
    let code = EnrollmentCode::parse(code["enrollment_text"].as_str().unwrap()).unwrap();
    let st = w3.rebind_with_code(PASS, &code).await.unwrap();
    assert_eq!(st.url, a.url);
    let status = w3.key_rotation_status().await.unwrap().unwrap();
    assert_eq!(status.pending, vec![b.url.clone()]);
    assert_eq!(
        status.done.get(&a.url).map(String::as_str),
        Some("identity_check")
    );
    // The third device pulls at DMCH; the second one's key is retired there now.
    let r3 = w3.sync(&|_| {}).await.unwrap();
    let at_a = r3.peers.iter().find(|p| p.peer == a.url).unwrap();
    assert!(at_a.error.is_none(), "{at_a:?}");
    let r2 = w2.sync(&|_| {}).await.unwrap();
    let at_a = r2.peers.iter().find(|p| p.peer == a.url).unwrap();
    assert!(
        at_a.error
            .as_deref()
            .is_some_and(|e| e.contains("key_rotated")),
        "{at_a:?}"
    );
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_phone_revokes_everything_and_rotates_the_key_at_every_hospital() {
    story(false).await;
    if std::env::var("SPONDON_TEST_POSTGRES_URL").is_ok() {
        story(true).await;
    } else if std::env::var("SPONDON_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("SPONDON_REQUIRE_POSTGRES=1 but SPONDON_TEST_POSTGRES_URL is not set");
    } else {
        eprintln!("skipped the PostgreSQL run: SPONDON_TEST_POSTGRES_URL is not set");
    }
}
