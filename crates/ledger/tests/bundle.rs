//! Typed entries with salted commitments, and offline proof bundles (tlog-proof shape).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestDb;
use spondon_core::NumericDate;
use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::note::Signer;
use spondon_ledger::{BundleError, ProofBundle};
use spondon_ledger::{ENTRY_LEN, EntryError, EntryKind, LogEntry, Opening};
use spondon_ledger::{IntegrityCheck, Log, Witness};

const ORIGIN: &str = "peer.hospital.example/log";

#[test]
fn entries_hold_only_salted_commitments() {
    let payload = b"eyJ6aXAiOiJERUYi... (a SMART Health Card JWS)".to_vec();
    let a = Opening::new(payload.clone()).unwrap();
    let b = Opening::new(payload.clone()).unwrap();
    assert_ne!(a.salt, b.salt);
    // Same record, different salts: unlinkable commitments.
    assert_ne!(
        a.commitment(EntryKind::RecordIssued),
        b.commitment(EntryKind::RecordIssued)
    );
    // Kind is bound into the commitment.
    assert_ne!(
        a.commitment(EntryKind::RecordIssued),
        a.commitment(EntryKind::AccessGranted)
    );
    let e = LogEntry::commit(EntryKind::RecordIssued, NumericDate(1_700_000_000), &a);
    let wire = e.encode();
    assert_eq!(wire.len(), ENTRY_LEN);
    assert!(
        !wire
            .windows(payload.len().min(8))
            .any(|w| w == &payload[..8]),
        "payload leaked"
    );
    assert_eq!(LogEntry::decode(&wire).unwrap(), e);
    assert!(e.opens(&a));
    assert!(!e.opens(&b));
    let mut altered = a.clone();
    altered.payload[0] ^= 1;
    assert!(!e.opens(&altered));
    assert!(format!("{a:?}").contains("redacted"));

    assert_eq!(
        LogEntry::decode(&wire[..41]),
        Err(EntryError::WrongLength(41))
    );
    let mut bad = wire;
    bad[0] = 2;
    assert_eq!(LogEntry::decode(&bad), Err(EntryError::UnknownVersion(2)));
    let mut bad = wire;
    bad[1] = 10;
    assert_eq!(LogEntry::decode(&bad), Err(EntryError::UnknownKind(10)));
    let mut bad = wire;
    bad[2] = 0x80;
    assert!(matches!(
        LogEntry::decode(&bad),
        Err(EntryError::TimeOutOfRange(_))
    ));
}

async fn offline_bundle(t: TestDb) {
    let key = Signer::ed25519(ORIGIN, Ed25519KeyPair::from_seed(&[1; 32]).unwrap()).unwrap();
    let w1 = Signer::cosigner(
        "authority.example/w1",
        Ed25519KeyPair::from_seed(&[2; 32]).unwrap(),
    )
    .unwrap();
    let w2 = Signer::cosigner(
        "peer2.example/w2",
        Ed25519KeyPair::from_seed(&[3; 32]).unwrap(),
    )
    .unwrap();
    let log = Log::open(t.connect().await, ORIGIN, IntegrityCheck::Full)
        .await
        .unwrap();
    let kinds = [
        EntryKind::Enrollment,
        EntryKind::RecordIssued,
        EntryKind::AccessGranted,
        EntryKind::AccessDenied,
        EntryKind::RevocationRegistered,
        EntryKind::StatsPublished,
    ];
    let mut openings = Vec::new();
    let mut batch = Vec::new();
    for i in 0..50u32 {
        let kind = kinds[i as usize % kinds.len()];
        let o = Opening::new(format!("details of event {i}").into_bytes()).unwrap();
        batch.push(
            LogEntry::commit(kind, NumericDate(1_700_000_000 + i64::from(i)), &o)
                .encode()
                .to_vec(),
        );
        openings.push((kind, o));
    }
    log.append(&batch).await.unwrap();
    log.sign_checkpoint(&key).await.unwrap();
    let mut witness = Witness::new(
        t.connect().await,
        Signer::cosigner(
            "authority.example/w1",
            Ed25519KeyPair::from_seed(&[2; 32]).unwrap(),
        )
        .unwrap(),
    );
    witness.trust_log(ORIGIN, vec![key.verifier().clone()]);
    let lines = witness
        .add_checkpoint(log.witness_request(0).await.unwrap().as_bytes())
        .await
        .unwrap();
    log.add_cosignatures(w1.verifier(), &lines).await.unwrap();

    let bundle = log.proof_bundle(7).await.unwrap();
    let text = bundle.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    let parsed = ProofBundle::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, bundle);
    let logs = [key.verifier().clone()];
    let wits = [w1.verifier().clone(), w2.verifier().clone()];
    let v = parsed.verify(ORIGIN, &logs, &wits, 1).unwrap();
    assert_eq!(v.index, 7);
    assert_eq!(v.cosignatures, 1);
    assert_eq!(v.checkpoint.size, 50);
    let (kind, opening) = &openings[7];
    assert_eq!(v.entry.kind, *kind);
    assert!(v.entry.opens(opening));
    assert!(!v.entry.opens(&openings[8].1));

    // Policy: two witnesses required.
    assert!(matches!(
        parsed.verify(ORIGIN, &logs, &wits, 2),
        Err(BundleError::NotEnoughCosignatures {
            got: 1,
            required: 2
        })
    ));
    // Another entry swapped in, wrong index, wrong origin, unknown log key.
    let mut swapped = parsed.clone();
    swapped.extra = Some(batch[8].clone());
    assert!(matches!(
        swapped.verify(ORIGIN, &logs, &wits, 1),
        Err(BundleError::Inclusion(_))
    ));
    let mut moved = parsed.clone();
    moved.index = 6;
    assert!(matches!(
        moved.verify(ORIGIN, &logs, &wits, 1),
        Err(BundleError::Inclusion(_))
    ));
    assert!(matches!(
        parsed.verify("other.example/log", &logs, &wits, 1),
        Err(BundleError::Checkpoint(_))
    ));
    assert!(matches!(
        parsed.verify(ORIGIN, &[w2.verifier().clone()], &wits, 1),
        Err(BundleError::Checkpoint(_))
    ));
    // Malformed bundles.
    assert!(matches!(
        ProofBundle::parse(b"c2sp.org/tlog-proof@v2\n"),
        Err(BundleError::Malformed(_))
    ));
    assert!(matches!(
        ProofBundle::parse(b"c2sp.org/tlog-proof@v1\nindex 01\n\n"),
        Err(BundleError::Malformed(_))
    ));
    assert!(matches!(
        ProofBundle::parse(b"c2sp.org/tlog-proof@v1\n\xff\n"),
        Err(BundleError::NotUtf8)
    ));
    let long = format!(
        "c2sp.org/tlog-proof@v1\nindex 0\n{}\n",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(65)
    );
    assert!(matches!(
        ProofBundle::parse(long.as_bytes()),
        Err(BundleError::ProofTooLong)
    ));
    let no_extra = text.replacen(
        &format!(
            "extra {}\n",
            text.lines().nth(1).unwrap().trim_start_matches("extra ")
        ),
        "",
        1,
    );
    assert!(matches!(
        ProofBundle::parse(no_extra.as_bytes())
            .unwrap()
            .verify(ORIGIN, &logs, &wits, 1),
        Err(BundleError::MissingEntry)
    ));
}

spondon_testkit::both_engines!(offline_bundle);
