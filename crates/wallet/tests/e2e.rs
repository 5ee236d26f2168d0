//! End to end against two real `spondon-peer` processes on 127.0.0.1: enroll at both, sync,
//! grant, a doctor redeems with proof of possession, receipts, revoke, redemption denied,
//! backup → restore → revoke-all ("lost phone"); and the raw cache files hold nothing readable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use spondon_core::token::{Category, Purpose};
use spondon_keystore::{KeyStore, MemoryKeyStore};
use spondon_testkit::spawned::*;
use spondon_wallet::browse::{Filter, Item};
use spondon_wallet::grants::{
    Duration, GrantAudience, GrantRequest, GrantStatus, QrFormat, Scope, render_qr,
};
use spondon_wallet::{EnrollmentCode, SyncEvent, Wallet, WalletError};

const PASS: &[u8] = b"correct horse battery";

fn ks() -> Arc<dyn KeyStore> {
    Arc::new(MemoryKeyStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_enroll_sync_grant_receipts_revoke_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let b = PeerProc::start(tmp.path(), "labaid.example", "Labaid Diagnostics").await;
    let (root, list) = trust_list(&[&a, &b]).await;

    let dir = tmp.path().join("wallet");
    let mut w = Wallet::create(&dir, ks(), PASS).await.unwrap();
    w.set_endpoints(endpoints(&[&a, &b]));
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();

    // Enroll at both, from text (A) and from the QR image (B).
    let (hid_a, text_a) = a.register_patient().await;
    let (hid_b, text_b) = b.register_patient().await;
    let st = w
        .enroll(&EnrollmentCode::parse(&text_a).unwrap())
        .await
        .unwrap();
    assert_eq!(st.hospital_name, "Dhaka Medical College Hospital");
    let png = spondon_core::qr::encode(&text_b)
        .unwrap()
        .to_png(4)
        .unwrap();
    w.enroll(&EnrollmentCode::from_image(&png).unwrap())
        .await
        .unwrap();
    // The same one-time code again is refused by the peer, nothing changes.
    let again = w.enroll(&EnrollmentCode::parse(&text_a).unwrap()).await;
    assert!(
        matches!(again, Err(WalletError::PeerRefused { status: 400, .. })),
        "{again:?}"
    );
    // A peer outside the trust list is refused before any request.
    let rogue = EnrollmentCode::parse(&text_a.replace("dmch.example", "rogue.example")).unwrap();
    assert!(matches!(
        w.enroll(&rogue).await,
        Err(WalletError::UntrustedPeer(_))
    ));

    // Records at both; one sync pulls them all, verified.
    let (doctor, cred) = a.register_doctor("A-54321", "Dr. Abul Kalam Azad").await;
    let rx = a.prescription(&hid_a, "A-54321").await;
    let cbc = a.cbc(&hid_a).await;
    let cbc_b = b.cbc(&hid_b).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let report = w.sync(&move |e| ev2.lock().unwrap().push(e)).await.unwrap();
    assert!(report.violation().is_none(), "{report:?}");
    assert_eq!(
        report.peers.iter().map(|p| p.new_records).sum::<u64>(),
        3,
        "{report:?}"
    );
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SyncEvent::Records { done: 2, .. }))
    );
    let recs = w.records(&Filter::default()).await.unwrap();
    assert_eq!(recs.len(), 3);
    let cbc_view = w.record(&cbc).await.unwrap();
    assert_eq!(cbc_view.title, "CBC report");
    assert!(cbc_view.items.iter().any(|i| matches!(i, Item::Result { test, abnormal: Some(ab), .. } if test == "Platelets" && ab == "low")), "{:?}", cbc_view.items);
    let rx_view = w.record(&rx).await.unwrap();
    assert!(
        matches!(&rx_view.items[0], Item::Medication { drug, dosage: Some(_), .. } if drug.contains("Paracetamol"))
    );
    let only_b = Filter {
        hospital: Some("labaid".into()),
        ..Default::default()
    };
    assert_eq!(w.records(&only_b).await.unwrap()[0].id, cbc_b);
    // Incremental: nothing new.
    let report = w.sync(&|_| {}).await.unwrap();
    assert_eq!(report.peers.iter().map(|p| p.new_records).sum::<u64>(), 0);

    // The doctor's credential, verified against the trust list.
    let d = w.add_doctor(cred.as_bytes()).await.unwrap();
    assert_eq!(
        (
            d.name.as_str(),
            d.bmdc_number.as_str(),
            d.hospital_name.as_str()
        ),
        (
            "Dr. Abul Kalam Azad",
            "A-54321",
            "Dhaka Medical College Hospital"
        )
    );
    // Grant: needs authorization.
    let req = GrantRequest {
        audience: GrantAudience::Doctor(d.clone()),
        scope: Scope {
            categories: vec![Category::Prescription, Category::LabResult],
            record_ids: vec![],
        },
        purpose: Purpose::Treatment,
        duration: Duration::Day,
        peers: vec![a.url.clone()],
        use_limit: None,
        write: false,
    };
    assert!(w.authorize(b"wrong passphrase").await.is_err());
    let auth = w.authorize(PASS).await.unwrap();
    let g = w.create_grant(&auth, &req).await.unwrap();
    let png = render_qr(&g.text, QrFormat::Png).unwrap();
    assert_eq!(
        spondon_core::qr::decode_image(&png).unwrap(),
        vec![g.text.clone()]
    );
    assert!(
        String::from_utf8(render_qr(&g.text, QrFormat::Svg).unwrap())
            .unwrap()
            .contains("<svg")
    );
    assert!(!render_qr(&g.text, QrFormat::Terminal).unwrap().is_empty());

    // The doctor redeems: exactly the two records of A.
    let (status, body) = a.redeem(&doctor, &g.text).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["records"].as_array().unwrap().len(), 2);
    // Receipts come with the next sync, verified, in words.
    w.sync(&|_| {}).await.unwrap();
    let receipts = w.receipts().await.unwrap();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    let t = &receipts[0].text;
    assert!(
        t.starts_with(
            "Dr. Abul Kalam Azad (BMDC A-54321, Dhaka Medical College Hospital) viewed your "
        ),
        "{t}"
    );
    assert!(
        t.contains("CBC report") && t.contains("prescription") && t.contains("under grant"),
        "{t}"
    );

    // Export for an office: file + PDF, verified offline against the trust list, with the share
    // receipt; the PDF carries the same file.
    let files = w
        .export(
            &auth,
            &spondon_wallet::export::ExportRequest {
                record_ids: vec![],
                receipts: true,
                link_url: Some("https://links.example/x".into()),
                link_label: None,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((files.records, files.receipts), (3, 1));
    assert!(files.report.valid, "{:?}", files.report);
    assert!(files.report.cards.iter().all(|c| c.log.is_some()));
    assert_eq!(files.parts.len(), 1);
    let part = &files.parts[0];
    let parsed = spondon_export::parse_export(&part.file).unwrap();
    let list_v = spondon_core::token::TrustList::decode_and_verify(
        &list,
        root.public_key(),
        0,
        spondon_core::NumericDate::now(),
    )
    .unwrap();
    let anchors = spondon_export::Anchors::from_trust_list(&list_v).unwrap();
    assert!(
        spondon_export::verify_export(&parsed, &anchors, spondon_core::NumericDate::now()).valid
    );
    assert_eq!(
        spondon_export::extract_export_from_pdf(&part.pdf).unwrap(),
        part.file
    );
    assert!(files.link.as_ref().unwrap().0.starts_with("shlink:/"));

    // Revoke: every named peer reports; the next redemption is refused.
    let results = w.revoke(&auth, &g.id).await.unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].ok, "{results:?}");
    let (status, body) = a.redeem(&doctor, &g.text).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("revoked")),
        "{body}"
    );
    let gs = w.grants().await.unwrap();
    assert_eq!(
        gs[0].status(spondon_core::NumericDate::now().seconds()),
        GrantStatus::Revoked
    );
    w.sync(&|_| {}).await.unwrap();
    let receipts = w.receipts().await.unwrap();
    assert!(
        receipts
            .iter()
            .any(|r| !r.allowed && r.reason.as_deref() == Some("revoked"))
    );

    // Lost phone: a second grant (at both peers), a backup, restore on a fresh directory,
    // revoke everything issued before now from the restored wallet.
    let g2 = w
        .create_grant(
            &auth,
            &GrantRequest {
                peers: vec![],
                ..req.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(g2.peers.len(), 2);
    let (status, _) = a.redeem(&doctor, &g2.text).await;
    assert_eq!(status, 200);
    let backup = tmp.path().join("wallet.backup");
    w.backup(&auth, &backup, b"backup passphrase")
        .await
        .unwrap();
    let (mut restored, summary) = Wallet::restore(
        &backup,
        b"backup passphrase",
        &tmp.path().join("new-phone"),
        ks(),
        PASS,
    )
    .await
    .unwrap();
    assert_eq!((summary.records, summary.grants, summary.peers), (3, 2, 2));
    restored.set_endpoints(endpoints(&[&a, &b]));
    let auth2 = restored.authorize(PASS).await.unwrap();
    let results = restored.revoke_all(&auth2).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    let (status, body) = a.redeem(&doctor, &g2.text).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("revoked")));
    // The restored wallet keeps syncing from where the old one was (same checkpoints).
    let report = restored.sync(&|_| {}).await.unwrap();
    assert!(report.violation().is_none(), "{report:?}");
    assert_eq!(restored.records(&Filter::default()).await.unwrap().len(), 3);

    // Nothing readable in the raw cache files, WAL included.
    let needles: [&[u8]; 10] = [
        b"Fatema Begum",
        b"Paracetamol",
        b"Platelets",
        b"Dhaka Medical College Hospital",
        b"Labaid",
        b"dmch.example",
        b"Abul Kalam",
        b"A-54321",
        b"prescription",
        hid_a.as_bytes(),
    ];
    for d in [&dir, &tmp.path().join("new-phone")] {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            for n in needles {
                assert!(
                    !contains(&bytes, n),
                    "{} contains {:?}",
                    p.display(),
                    String::from_utf8_lossy(n)
                );
            }
        }
    }
}

/// A peer that serves a tampered record, replays an old checkpoint, or forks its log is
/// detected, reported as a typed violation, and nothing from that sync is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_peers_are_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let (root, list) = trust_list(&[&a]).await;
    let px = proxy(a.base()).await;
    let mut w = Wallet::create(&tmp.path().join("w"), ks(), PASS)
        .await
        .unwrap();
    let via_proxy = |url: &str| {
        [(url.to_owned(), format!("http://{}", px.addr))]
            .into_iter()
            .collect()
    };
    w.set_endpoints(via_proxy(&a.url));
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    let (hid, text) = a.register_patient().await;
    w.enroll(&EnrollmentCode::parse(&text).unwrap())
        .await
        .unwrap();
    let (_, _) = a.register_doctor("A-1", "Dr. Test").await;
    a.prescription(&hid, "A-1").await;
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    let state0 = w.peers().await.unwrap()[0].clone();

    // Tampered card signature, then tampered commitment salt.
    for (mode, want) in [
        (Mode::TamperRecord, "tampered_record"),
        (Mode::TamperSalt, "tampered_record"),
    ] {
        a.cbc(&hid).await;
        *px.mode.lock().unwrap() = mode;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let r = w.sync(&move |e| s2.lock().unwrap().push(e)).await.unwrap();
        let (_, v) = r.violation().expect("violation");
        assert_eq!(serde_json::to_value(v).unwrap()["type"], want, "{v:?}");
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, SyncEvent::Violation { .. }))
        );
        assert_eq!(
            w.records(&Filter::default()).await.unwrap().len(),
            1,
            "nothing stored"
        );
        let st = w.peers().await.unwrap()[0].clone();
        assert_eq!((st.cursor, st.tree_size), (state0.cursor, state0.tree_size));
    }
    // The honest answer is accepted again.
    *px.mode.lock().unwrap() = Mode::Pass;
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 3);

    // A replayed old checkpoint (smaller tree than already accepted).
    *px.mode.lock().unwrap() = Mode::ReplayOldCheckpoint;
    let r = w.sync(&|_| {}).await.unwrap();
    let (_, v) = r.violation().expect("rollback");
    assert!(
        matches!(v, spondon_wallet::Violation::Rollback { .. }),
        "{v:?}"
    );
    *px.mode.lock().unwrap() = Mode::Pass;

    // A forked log: a copy of the peer (same keys, same URL) whose history diverges.
    let fork = a.fork(tmp.path()).await;
    a.prescription(&hid, "A-1").await;
    w.set_endpoints(endpoints(&[&a]));
    let r = w.sync(&|_| {}).await.unwrap();
    assert!(r.violation().is_none(), "{r:?}");
    assert_eq!(w.records(&Filter::default()).await.unwrap().len(), 4);
    let before = w.peers().await.unwrap()[0].clone();
    for _ in 0..3 {
        fork.cbc(&hid).await;
    }
    w.set_endpoints(endpoints(&[&fork]));
    let r = w.sync(&|_| {}).await.unwrap();
    let (_, v) = r.violation().expect("fork");
    assert!(matches!(v, spondon_wallet::Violation::Fork { .. }), "{v:?}");
    assert_eq!(
        w.records(&Filter::default()).await.unwrap().len(),
        4,
        "nothing from the fork"
    );
    let after = w.peers().await.unwrap()[0].clone();
    assert_eq!(
        (after.tree_size, after.root),
        (before.tree_size, before.root)
    );
    // Every violation is remembered.
    assert_eq!(w.alerts().await.unwrap().len(), 4);
}
