//! Delegates (`docs/protocol.md` §16) over real HTTP on 127.0.0.1 (SQLite, and PostgreSQL when
//! configured): the patient registers a delegation; a parent's grant (signed by the parent's
//! key, embedding the delegation) is redeemed for exactly the shared lab report, the receipt
//! naming the delegate; the delegate pulls with its own key, a minor's second guardian reads
//! the receipts; and every refusal — unregistered, revoked, expired, scope exceeded, forged
//! chain, wrong peer — with its code and nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use ciborium::Value as Cbor;
use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{
    self, Audience, Category, Delegation, Grant, PopProof, PopRequest, Purpose, Revocation,
    RevocationTarget, Scope,
};

async fn issue(tp: &TestPeer, body: Value) -> String {
    let r = tp.staff_post("/staff/records", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

fn delegation(
    patient: &Es256KeyPair,
    parent: &Es256KeyPair,
    edit: impl FnOnce(&mut Delegation),
) -> (Delegation, String) {
    let now = NumericDate::now();
    let mut d = Delegation {
        id: Delegation::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        delegate_key: parent.public_key().clone(),
        scopes: vec![Scope::View, Scope::Share],
        categories: vec![Category::LabResult],
        peers: vec![URL.to_owned()],
        guardians: vec![],
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(30 * 86_400),
    };
    edit(&mut d);
    let text = d.sign(patient).unwrap();
    (d, text)
}

fn grant_of(patient: &Es256KeyPair, doctor: &Es256KeyPair, record: &str) -> Grant {
    let now = NumericDate::now();
    Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.kid().to_owned(),
        },
        categories: vec![],
        record_ids: vec![record.to_owned()],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    }
}

/// A delegate's grant built by hand (the rules `sign_as_delegate` enforces not applied): the
/// patient-signed grant's claims plus field 10 = the delegation's COSE bytes, signed by `signer`.
fn raw_delegated(
    g: &Grant,
    patient: &Es256KeyPair,
    delegation: &str,
    signer: &Es256KeyPair,
) -> String {
    let own = g.sign(patient).unwrap();
    let payload = token::raw::payload(&token::raw::from_text(&own).unwrap()).unwrap();
    let mut claims: Cbor = ciborium::from_reader(&payload[..]).unwrap();
    let Cbor::Map(map) = &mut claims else {
        panic!()
    };
    let sp = map
        .iter_mut()
        .find(|(k, _)| matches!(k, Cbor::Integer(i) if i128::from(*i) == -65537))
        .unwrap();
    let Cbor::Map(sp) = &mut sp.1 else { panic!() };
    sp.push((
        Cbor::Integer(10.into()),
        Cbor::Bytes(token::raw::from_text(delegation).unwrap()),
    ));
    let mut bytes = Vec::new();
    ciborium::into_writer(&claims, &mut bytes).unwrap();
    token::raw::to_text(
        &token::raw::sign_cose(
            signer,
            &Cbor::Map(vec![(Cbor::Integer(1.into()), Cbor::Integer((-7).into()))]),
            Cbor::Map(vec![]),
            &bytes,
        )
        .unwrap(),
    )
}

async fn redeem(tp: &TestPeer, text: &str, doctor: &Es256KeyPair) -> Resp {
    // The grant id (cti), read without validating: some grants here are meant to be refused.
    let payload = token::raw::payload(&token::raw::from_text(text).unwrap()).unwrap();
    let claims: Cbor = ciborium::from_reader(&payload[..]).unwrap();
    let Cbor::Map(map) = claims else { panic!() };
    let id: [u8; 16] = map
        .into_iter()
        .find_map(|(k, v)| match (k, v) {
            (Cbor::Integer(k), Cbor::Bytes(b)) if i128::from(k) == 7 => b.try_into().ok(),
            _ => None,
        })
        .unwrap();
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/records");
    let body = json!({"grant": text}).to_string().into_bytes();
    let pop = PopProof::create(
        doctor,
        id,
        &PopRequest {
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
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await
}

async fn tree_size(tp: &TestPeer) -> u64 {
    tp.peer.log.tree_head().await.0
}

async fn delegation_rows(tp: &TestPeer) -> u64 {
    tp.peer.delegation_count().await.unwrap()
}

async fn scenario(db: Option<&str>) {
    let tp = start(db).await;
    let (_hid, child) = enrolled_patient(&tp, "1990123456789").await;
    let (bmdc, _) = register_doctor(&tp, "A-11111").await;
    let lab = issue(&tp, lab_report(&_hid)).await;
    let rx = issue(&tp, prescription(&_hid, &bmdc)).await;
    let parent = Es256KeyPair::generate().unwrap();
    let other_guardian = Es256KeyPair::generate().unwrap();
    let doctor = Es256KeyPair::generate().unwrap();
    let stranger = Es256KeyPair::generate().unwrap();

    // The child is a minor: the parent is a guardian, the other parent too.
    let (d, d_text) = delegation(&child, &parent, |d| {
        d.guardians = vec![parent.kid().to_owned(), other_guardian.kid().to_owned()];
    });
    let g = grant_of(&child, &doctor, &lab);
    let g_text = g.sign_as_delegate(&parent, &d_text).unwrap();

    // Not registered yet: refused, and the patient sees the refusal naming the delegate.
    let r = redeem(&tp, &g_text, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_not_registered"),
        "{}",
        r.text()
    );

    // Registration: only by the patient's enrolled key, only for this peer.
    let body = json!({"delegation": d_text});
    let r = signed(&tp, &parent, "/patient/delegations", &body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "not_enrolled"),
        "{}",
        r.text()
    );
    let (_, elsewhere) = delegation(&child, &parent, |d| {
        d.peers = vec!["https://labaid.example".into()]
    });
    let r = signed(
        &tp,
        &child,
        "/patient/delegations",
        &json!({"delegation": elsewhere}),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "wrong_peer"),
        "{}",
        r.text()
    );
    let r = signed(
        &tp,
        &child,
        "/patient/delegations",
        &json!({"delegation": "SPONDON:1:XYZ"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = signed(
        &tp,
        &child,
        "/patient/delegations",
        &json!({"delegation": d_text, "x": 1}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(delegation_rows(&tp).await, 0, "nothing stored on bad input");
    let r = signed(&tp, &child, "/patient/delegations", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["delegate"], parent.kid());
    // Again: harmless.
    let r = signed(&tp, &child, "/patient/delegations", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(delegation_rows(&tp).await, 1);

    // The parent's grant: the clinic's doctor gets exactly the lab report.
    let r = redeem(&tp, &g_text, &doctor).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let recs = r.json()["records"].as_array().unwrap().clone();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["id"], lab.as_str());

    // A prescription named by id is outside the delegation's categories: never served (a
    // grant is a filter, as for a patient's grant naming a record the peer does not hold).
    let g_rx = grant_of(&child, &doctor, &rx)
        .sign_as_delegate(&parent, &d_text)
        .unwrap();
    let r = redeem(&tp, &g_rx, &doctor).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["records"], json!([]));

    // Refusals that carry no verified chain are not logged.
    let (_, other_child) = enrolled_patient(&tp, "1990123456790").await;
    let before = tree_size(&tp).await;
    // Forged chain: the "parent" signs a delegation for a patient who never delegated.
    let (forged_d, _) = delegation(&child, &parent, |_| {});
    let forged_text = {
        // Same claims, signed by the parent's key instead of the child's.
        let t = forged_d.sign(&child).unwrap();
        let payload = token::raw::payload(&token::raw::from_text(&t).unwrap()).unwrap();
        token::raw::to_text(
            &token::raw::sign_cose(
                &parent,
                &Cbor::Map(vec![(Cbor::Integer(1.into()), Cbor::Integer((-7).into()))]),
                Cbor::Map(vec![]),
                &payload,
            )
            .unwrap(),
        )
    };
    let forged = raw_delegated(
        &grant_of(&child, &doctor, &lab),
        &child,
        &forged_text,
        &parent,
    );
    let r = redeem(&tp, &forged, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "bad_delegation_signature"),
        "{}",
        r.text()
    );
    // The stranger signs a grant under the parent's real delegation.
    let stolen = raw_delegated(&grant_of(&child, &doctor, &lab), &child, &d_text, &stranger);
    let r = redeem(&tp, &stolen, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "bad_signature"),
        "{}",
        r.text()
    );
    // Scope exceeded: a grant under a view-only delegation, and one for diagnoses.
    let (_, view_only) = delegation(&child, &parent, |d| d.scopes = vec![Scope::View]);
    let exceeded = raw_delegated(
        &grant_of(&child, &doctor, &lab),
        &child,
        &view_only,
        &parent,
    );
    let r = redeem(&tp, &exceeded, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_exceeded"),
        "{}",
        r.text()
    );
    let mut wide = grant_of(&child, &doctor, &lab);
    wide.categories = vec![Category::Diagnosis];
    let exceeded = raw_delegated(&wide, &child, &d_text, &parent);
    let r = redeem(&tp, &exceeded, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_exceeded"),
        "{}",
        r.text()
    );
    // Another patient's delegation used for this child.
    let (_, theirs) = delegation(&other_child, &parent, |_| {});
    let mixed = raw_delegated(&grant_of(&child, &doctor, &lab), &child, &theirs, &parent);
    let r = redeem(&tp, &mixed, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_mismatch"),
        "{}",
        r.text()
    );
    assert_eq!(
        tree_size(&tp).await,
        before,
        "unverified chains are not logged"
    );
    // Expired: a delegation (and its grant) whose time is over.
    let past = NumericDate::now().saturating_add(-3 * 86_400);
    let (_, old) = delegation(&child, &parent, |d| {
        d.issued_at = past;
        d.not_before = past;
        d.expires = past.saturating_add(86_400);
    });
    let mut late = grant_of(&child, &doctor, &lab);
    late.issued_at = past;
    late.not_before = past;
    late.expires = past.saturating_add(3600);
    let r = redeem(&tp, &late.sign_as_delegate(&parent, &old).unwrap(), &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "expired"),
        "{}",
        r.text()
    );
    let r = signed(
        &tp,
        &child,
        "/patient/delegations",
        &json!({"delegation": old}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        tree_size(&tp).await,
        before + 1,
        "the expired grant of an enrolled patient is logged (the patient's receipt)"
    );
    assert_eq!(delegation_rows(&tp).await, 1);

    // Wrong peer: a grant (and delegation) for another hospital.
    let (_, d_elsewhere) = delegation(&child, &parent, |d| {
        d.peers = vec!["https://labaid.example".into()]
    });
    let mut gw = grant_of(&child, &doctor, &lab);
    gw.peers = vec!["https://labaid.example".into()];
    let r = redeem(
        &tp,
        &gw.sign_as_delegate(&parent, &d_elsewhere).unwrap(),
        &doctor,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "wrong_peer"),
        "{}",
        r.text()
    );

    // The parent pulls with its own key: the lab report only (the delegation's category).
    let who = json!({"patient": child.kid()});
    let r = signed(&tp, &parent, "/delegate/records", &who).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ids: Vec<Value> = r.json()["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(lab)]);
    // Nobody else can.
    for k in [&stranger, &doctor, &other_guardian] {
        let r = signed(&tp, k, "/delegate/records", &who).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "not_a_delegate"),
            "{}",
            r.text()
        );
    }
    // The receipts: the child's own, and both guardians'; the stranger gets none.
    let mine = signed(&tp, &child, "/patient/receipts", &json!({})).await;
    assert_eq!(mine.status, 200);
    for k in [&parent, &other_guardian] {
        let r = signed(&tp, k, "/delegate/receipts", &who).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json()["receipts"].as_array().unwrap().len(),
            mine.json()["receipts"].as_array().unwrap().len()
        );
    }
    let r = signed(&tp, &stranger, "/delegate/receipts", &who).await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_a_delegate"));
    let events: Vec<Value> = mine.json()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].clone())
        .collect();
    let redeemed = events
        .iter()
        .find(|e| e["outcome"] == "allowed" && e["audience"] == doctor.kid())
        .unwrap();
    assert_eq!(redeemed["delegate"], parent.kid());
    assert_eq!(redeemed["records"], json!([lab]));
    let pulled = events
        .iter()
        .find(|e| e["outcome"] == "allowed" && e["audience"] == parent.kid())
        .unwrap();
    assert_eq!(pulled["delegate"], parent.kid());
    assert_eq!(pulled["grant_id"], spondon_core::b64::encode(d.id));
    let refused = events
        .iter()
        .find(|e| e["reason"] == "delegation_not_registered")
        .unwrap();
    assert_eq!(refused["delegate"], parent.kid());

    // Revoked like a grant: a revocation naming the delegation's id.
    let rev = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: child.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: d.id },
        issued_at: NumericDate::now(),
    }
    .sign(&child)
    .unwrap();
    let r = signed(
        &tp,
        &child,
        "/patient/revocations",
        &json!({"revocation": rev}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = redeem(&tp, &g_text, &doctor).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_revoked"),
        "{}",
        r.text()
    );
    let r = signed(&tp, &parent, "/delegate/records", &who).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_revoked"),
        "{}",
        r.text()
    );
    let r = signed(&tp, &other_guardian, "/delegate/receipts", &who).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_revoked"),
        "{}",
        r.text()
    );
    let r = signed(&tp, &child, "/patient/delegations", &body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "delegation_revoked"),
        "{}",
        r.text()
    );
    tp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegates_share_pull_and_every_refusal() {
    for db in engines("delegates_share_pull_and_every_refusal").await {
        scenario(db.as_deref()).await;
    }
}
