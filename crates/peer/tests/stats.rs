//! `POST /authority/stats` over real HTTP on 127.0.0.1 (SQLite, and PostgreSQL when
//! configured): the dengue scenario's aggregate as documented (OpenAPI schema), signed by the
//! record key and committed to the log; refused without a signature (401), with a stranger's
//! key (403 `not_authority`), for a future week or a bad challenge (400, nothing logged).
//! The authority's side of the same exchange: `crates/authority/tests/stats.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey};
use spondon_core::stats::{Aggregate, IsoWeek};
use spondon_core::token::{SignedRequest, SignedRequestTarget};
use spondon_ledger::{EntryKind, Opening, ProofBundle, Verifier};

async fn ask(tp: &TestPeer, key: &Es256KeyPair, body: &Value) -> Resp {
    let r = request(tp.addr, "POST", "/nonce", &[], b"").await;
    assert_eq!(r.status, 201);
    let n = spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap();
    let body = body.to_string().into_bytes();
    let url = format!("{URL}/authority/stats");
    let sig = SignedRequest::create(
        key,
        &SignedRequestTarget {
            method: "POST",
            url: &url,
            nonce: &n,
            body: &body,
        },
        NumericDate::now(),
    )
    .unwrap();
    request(
        tp.addr,
        "POST",
        "/authority/stats",
        &[
            ("Content-Type", "application/json"),
            ("Spondon-Signature", &sig),
        ],
        &body,
    )
    .await
}

async fn statistics(db: Option<&str>) {
    let authority = Es256KeyPair::generate().unwrap();
    let jwk = authority.public_key().to_jwk();
    let tp = start_with(db, |c| c.stats_authority_keys = vec![jwk]).await;
    spondon_peer::seed::seed_dengue_scenario(&tp.peer, 3)
        .await
        .unwrap();
    let w = IsoWeek::from_unix(NumericDate::now().seconds());
    let challenge = spondon_core::b64::encode([9u8; 16]);
    let body = json!({"from": w, "to": w, "challenge": challenge});

    let r = ask(&tp, &authority, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    let keys: Vec<Es256PublicKey> = tp
        .peer
        .jwks()
        .await
        .unwrap()
        .keys
        .iter()
        .map(|k| Es256PublicKey::from_jwk(k).unwrap())
        .collect();
    let agg = Aggregate::verify(v["aggregate"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(agg.issuer, URL);
    assert_eq!(agg.challenge, challenge);
    assert_eq!(agg.sequence, 1);
    let dhaka = agg
        .cells
        .iter()
        .find(|c| c.key.is_district() && c.key.district == "Dhaka")
        .unwrap();
    assert_eq!(dhaka.count, Some(40));
    let sylhet = agg
        .cells
        .iter()
        .find(|c| c.key.is_district() && c.key.district == "Sylhet")
        .unwrap();
    assert_eq!(sylhet.count, None);
    // Logged: the bundle verifies with the log key, the entry is kind 6 and opens.
    let bundle = ProofBundle::parse(v["proof"].as_str().unwrap().as_bytes()).unwrap();
    let log_key = Verifier::from_vkey(&tp.peer.log_vkey()).unwrap();
    let verified = bundle
        .verify(log_key.name(), std::slice::from_ref(&log_key), &[], 0)
        .unwrap();
    assert_eq!(verified.entry.kind, EntryKind::StatsPublished);
    assert!(verified.entry.opens(&Opening {
        salt: spondon_core::b64::decode_array(v["salt"].as_str().unwrap()).unwrap(),
        payload: v["aggregate"].as_str().unwrap().as_bytes().to_vec(),
    }));
    let size = tp.peer.log.tree_head().await.0;

    // Refusals: no signature, a stranger's key, a future week, a short challenge.
    let r = request(
        tp.addr,
        "POST",
        "/authority/stats",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    let stranger = Es256KeyPair::generate().unwrap();
    let r = ask(&tp, &stranger, &body).await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_authority"));
    let r = ask(
        &tp,
        &authority,
        &json!({"from": w, "to": w.next(), "challenge": challenge}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = ask(
        &tp,
        &authority,
        &json!({"from": w, "to": w, "challenge": "AAAA"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = ask(
        &tp,
        &authority,
        &json!({"from": w, "to": "2026-W99", "challenge": challenge}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        tp.peer.log.tree_head().await.0,
        size,
        "a refusal logged something"
    );

    // A second aggregate: sequence 2, the same cells for the same (frozen) week.
    let r = ask(&tp, &authority, &body).await;
    let again = Aggregate::verify(r.json()["aggregate"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(again.sequence, 2);
    assert_eq!(again.cells, agg.cells);
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_statistics_over_http() {
    for db in engines("authority_statistics_over_http").await {
        statistics(db.as_deref()).await;
    }
}
