//! Delegates end to end (`docs/protocol.md` §16) with real processes: a `spondon-peer`, a
//! clinic's `spondon-verifier` node, and two wallets. A child's wallet delegates view and share
//! of lab results to a parent's wallet (the child is a minor; the other parent is the second
//! guardian); the parent shares the child's lab report with the clinic's doctor; the clinic node
//! verifies the two-signature chain and fetches exactly that report; the child's receipts name
//! the parent; the parent syncs the child's records, verified. Then a revoked, an expired, a
//! scope-exceeding and a forged chain are refused, and the CLI's `delegate` commands work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::token::{self, Category, Purpose, Scope as TokenScope};
use spondon_keystore::MemoryKeyStore;
use spondon_testkit::spawned::*;
use spondon_wallet::delegates::DelegationRequest;
use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, Scope};
use spondon_wallet::{EnrollmentCode, Wallet, WalletError};

const PASS: &[u8] = b"correct horse battery";

async fn clinic_fetch(base: &str, staff: &str, grant: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/grant/records"))
        .bearer_auth(staff)
        .json(&json!({"grant": grant}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut v: Value = r.json().await.unwrap();
    v["http_status"] = json!(status);
    v
}

async fn wallet(
    dir: &std::path::Path,
    peer: &PeerProc,
    root: &spondon_core::keys::Es256KeyPair,
    list: &str,
) -> Wallet {
    let mut w = Wallet::create(dir, Arc::new(MemoryKeyStore::new()), PASS)
        .await
        .unwrap();
    w.set_endpoints(endpoints(&[peer]));
    w.set_trust_list(list, &root.public_key().to_jwk())
        .await
        .unwrap();
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_shares_childs_lab_report_with_clinic_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let a = PeerProc::start(tmp.path(), "dmch.example", "Dhaka Medical College Hospital").await;
    let (root, list) = trust_list(&[&a]).await;

    // The child's wallet, enrolled, with a lab report and a prescription at DMCH.
    let child = wallet(&tmp.path().join("child"), &a, &root, &list).await;
    let (hid, code) = a.register_patient().await;
    child
        .enroll(&EnrollmentCode::parse(&code).unwrap())
        .await
        .unwrap();
    let (_, _) = a.register_doctor("A-11111", "Dr. Abul Kalam Azad").await;
    let lab = a.cbc(&hid).await;
    let rx = a.prescription(&hid, "A-11111").await;
    child.sync(&|_| {}).await.unwrap();

    // The parent's wallet (not enrolled anywhere) and the other parent's.
    let parent = wallet(&tmp.path().join("parent"), &a, &root, &list).await;
    let other = wallet(&tmp.path().join("other"), &a, &root, &list).await;

    // The clinic node and its doctor, registered at DMCH.
    let bin = verifier_bin();
    let ndir = tmp.path().join("clinic");
    std::fs::write(tmp.path().join("trust.txt"), &list).unwrap();
    std::fs::write(
        tmp.path().join("root.jwk"),
        serde_json::to_vec(&root.public_key().to_jwk()).unwrap(),
    )
    .unwrap();
    let data = ndir.to_str().unwrap();
    let init = node(
        &bin,
        &[
            "init",
            "--clinic",
            "Trishal Community Clinic",
            "--data",
            data,
            "--trust",
            tmp.path().join("trust.txt").to_str().unwrap(),
            "--root-key",
            tmp.path().join("root.jwk").to_str().unwrap(),
        ],
    );
    let staff = node(&bin, &["staff", "add", "--data", data, "Nasrin Akter"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cred = a
        .staff(
            "/staff/doctors",
            &json!({"bmdc_number": "A-40112", "name": "Dr. Shirin Sultana", "department": "Medicine",
                    "public_key": init["doctor_public_jwk"]}),
        )
        .await["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(tmp.path().join("cred.txt"), &cred).unwrap();
    node(
        &bin,
        &[
            "doctor-credential",
            "import",
            "--data",
            data,
            tmp.path().join("cred.txt").to_str().unwrap(),
        ],
    );
    node(&bin, &["peer-address", "--data", data, &a.url, &a.base()]);
    let (_n, base) = serve_node(&bin, data).await;

    // The child delegates: view and share of lab results, as a minor with both guardians.
    let auth = child.authorize(PASS).await.unwrap();
    let req = DelegationRequest {
        delegate_key: parent.public_key().to_jwk(),
        label: "Abba".into(),
        scopes: vec![TokenScope::View, TokenScope::Share],
        categories: vec![Category::LabResult],
        duration: Duration::parse("30d").unwrap(),
        peers: vec![],
        minor: true,
        other_guardian: Some(other.public_key().kid().to_owned()),
    };
    let d = child.delegate(&auth, &req).await.unwrap();
    assert_eq!(child.delegations().await.unwrap(), vec![d.clone()]);
    assert_eq!(d.guardians.len(), 2);

    // A wallet neither delegate nor guardian cannot take it.
    let wrong = child.add_delegation_from_text(&d.text, "Rafi").await;
    assert!(
        matches!(wrong, Err(WalletError::BadDelegation(_))),
        "{wrong:?}"
    );
    let p = parent
        .add_delegation_from_text(&d.text, "Rafi")
        .await
        .unwrap();
    assert!(p.minor);
    assert_eq!(parent.delegated_patients().await.unwrap().len(), 1);

    // The parent shares the lab report with the clinic's doctor.
    let doctor = parent.add_doctor(cred.as_bytes()).await.unwrap();
    let pauth = parent.authorize(PASS).await.unwrap();
    let share = |records: Vec<String>, categories: Vec<Category>| GrantRequest {
        audience: GrantAudience::Doctor(doctor.clone()),
        scope: Scope {
            categories,
            record_ids: records,
        },
        purpose: Purpose::Treatment,
        duration: Duration::Day,
        peers: vec![],
        use_limit: None,
        write: false,
    };
    let g = parent
        .grant_as_delegate(&pauth, "Rafi", &share(vec![lab.clone()], vec![]))
        .await
        .unwrap();
    let parsed = token::decode_any(&g.text).unwrap();
    assert_eq!(parsed.signer_kid, parent.public_key().kid());
    assert_eq!(
        parsed.delegation().unwrap().patient_key,
        *child.public_key()
    );

    // The clinic node verifies the two-signature chain and fetches exactly that report.
    let out = clinic_fetch(&base, &staff, &g.text).await;
    assert_eq!(out["http_status"], 200, "{out}");
    assert_eq!(out["records"]["failures"], json!([]), "{out}");
    assert_eq!(out["status"], "valid", "{out}");
    let timeline = out["records"]["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1, "{out}");
    assert!(out.to_string().contains(&lab), "{out}");
    assert!(!out.to_string().contains(&rx), "{out}");
    assert_eq!(
        out["verdict"]["grant"]["delegate"],
        parent.public_key().kid(),
        "{out}"
    );
    assert!(
        out["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("Shared by the patient's delegate"),
        "{out}"
    );

    // Scope exceeded: the parent may not share prescriptions (refused before signing).
    let exceeded = parent
        .grant_as_delegate(&pauth, "Rafi", &share(vec![], vec![Category::Prescription]))
        .await;
    assert!(
        matches!(&exceeded, Err(WalletError::Token(e)) if e.code() == "delegation_exceeded"),
        "{exceeded:?}"
    );

    // The child's receipts name the parent; the parent's pull is verified.
    let s = parent.delegate_sync("Rafi").await.unwrap();
    assert!(s.failures.is_empty(), "{:?}", s.failures);
    assert_eq!(s.records.len(), 1);
    assert_eq!(s.records[0].id, lab);
    assert!(
        s.receipts
            .iter()
            .any(|r| r.delegate.as_deref() == Some(parent.public_key().kid()))
    );
    // The other guardian sees the child's receipts too (no delegation of their own needed),
    // but not the records, and cannot share.
    let g2 = other
        .add_delegation_from_text(&d.text, "Rafi")
        .await
        .unwrap();
    assert!(g2.scopes.is_empty() && g2.minor);
    let s2 = other.delegate_sync("Rafi").await.unwrap();
    assert!(s2.failures.is_empty(), "{:?}", s2.failures);
    assert!(s2.records.is_empty());
    assert_eq!(s2.receipts.len(), s.receipts.len());
    let oauth = other.authorize(PASS).await.unwrap();
    other.add_doctor(cred.as_bytes()).await.unwrap();
    let no = other
        .grant_as_delegate(&oauth, "Rafi", &share(vec![lab.clone()], vec![]))
        .await;
    assert!(matches!(no, Err(WalletError::BadDelegation(_))), "{no:?}");
    child.sync(&|_| {}).await.unwrap();
    let receipts = child.receipts().await.unwrap();
    let shared = receipts
        .iter()
        .find(|r| r.allowed && r.who.contains("shared by your delegate Abba"))
        .unwrap_or_else(|| panic!("{receipts:#?}"));
    // The child's wallet does not know the clinic's doctor: it names the key.
    assert!(shared.who.contains(&doctor.kid), "{}", shared.text);
    assert_eq!(shared.records, vec![lab.clone()]);
    assert_eq!(shared.delegate.as_deref(), Some(parent.public_key().kid()));
    let pulled = receipts
        .iter()
        .find(|r| r.allowed && r.who == "your delegate Abba")
        .unwrap_or_else(|| panic!("{receipts:#?}"));
    assert_eq!(pulled.records, vec![lab.clone()]);

    // Revoked: the child revokes the delegation; the clinic's fetch is refused.
    let results = child.revoke_delegation(&auth, &d.id[..6]).await.unwrap();
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    let out = clinic_fetch(&base, &staff, &g.text).await;
    assert_eq!(
        out["records"]["failures"][0]["peer_code"], "delegation_revoked",
        "{out}"
    );
    assert_eq!(out["records"]["timeline"], json!([]), "{out}");
    assert_eq!(out["status"], "refused", "{out}");
    let s = parent.delegate_sync("Rafi").await.unwrap();
    assert_eq!(
        s.failures,
        vec![(a.url.clone(), "delegation_revoked".to_owned())]
    );
    assert!(s.records.is_empty());

    // Forged chain: a rogue key signs a "delegation" naming the child's key (the child never
    // delegated) and a grant under it: the clinic node refuses it and fetches nothing.
    let rogue = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let forged = forged_chain(child.public_key(), &rogue, &doctor.kid, &lab, &a.url);
    let out = clinic_fetch(&base, &staff, &forged).await;
    assert_eq!(
        (out["http_status"].as_u64(), out["code"].as_str()),
        (Some(403), Some("bad_signature")),
        "{out}"
    );
    assert!(
        out["detail"]
            .as_str()
            .unwrap()
            .contains("delegation is not signed by the patient"),
        "{out}"
    );
    let parsed = token::decode_any(&forged).unwrap();
    assert_eq!(
        parsed
            .verify(&token::TrustAnchors::default(), NumericDate::now())
            .unwrap_err()
            .code(),
        "bad_delegation_signature"
    );
    drop(_n);
}

fn int(i: i64) -> ciborium::Value {
    ciborium::Value::Integer(i.into())
}

/// Re-signs a token's claims with `signer` after `edit` changes its Spondon claim.
fn resign(
    text: &str,
    signer: &spondon_core::keys::Es256KeyPair,
    edit: impl FnOnce(&mut Vec<(ciborium::Value, ciborium::Value)>),
) -> String {
    let payload = token::raw::payload(&token::raw::from_text(text).unwrap()).unwrap();
    let mut claims: ciborium::Value = ciborium::from_reader(&payload[..]).unwrap();
    let ciborium::Value::Map(map) = &mut claims else {
        panic!()
    };
    let (_, ciborium::Value::Map(sp)) = map
        .iter_mut()
        .find(|(k, _)| matches!(k, ciborium::Value::Integer(i) if i128::from(*i) == -65537))
        .unwrap()
    else {
        panic!()
    };
    edit(sp);
    let mut bytes = Vec::new();
    ciborium::into_writer(&claims, &mut bytes).unwrap();
    let protected = ciborium::Value::Map(vec![(int(1), int(-7))]);
    token::raw::to_text(
        &token::raw::sign_cose(signer, &protected, ciborium::Value::Map(vec![]), &bytes).unwrap(),
    )
}

/// A delegation naming `patient` as the patient but signed by `rogue`, and a grant for the
/// `doctor` under it signed by `rogue` (the delegate it names).
fn forged_chain(
    patient: &spondon_core::keys::Es256PublicKey,
    rogue: &spondon_core::keys::Es256KeyPair,
    doctor: &str,
    record: &str,
    peer: &str,
) -> String {
    let throwaway = spondon_core::keys::Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let d = token::Delegation {
        id: token::Delegation::new_id().unwrap(),
        patient_key: throwaway.public_key().clone(),
        delegate_key: rogue.public_key().clone(),
        scopes: vec![TokenScope::Share],
        categories: vec![],
        peers: vec![peer.to_owned()],
        guardians: vec![],
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
    };
    let patient_key = ciborium::Value::Bytes(patient.sec1().to_vec());
    let set_patient = |sp: &mut Vec<(ciborium::Value, ciborium::Value)>| {
        sp.retain(|(k, _)| !matches!(k, ciborium::Value::Integer(i) if i128::from(*i) == 2));
        sp.push((int(2), patient_key.clone()));
    };
    let fake_d = resign(&d.sign(&throwaway).unwrap(), rogue, set_patient);
    let g = token::Grant {
        id: token::Grant::new_id().unwrap(),
        patient_key: throwaway.public_key().clone(),
        audience: token::Audience::Key {
            kid: doctor.to_owned(),
        },
        categories: vec![],
        record_ids: vec![record.to_owned()],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![peer.to_owned()],
    };
    let cose = token::raw::from_text(&fake_d).unwrap();
    resign(&g.sign(&throwaway).unwrap(), rogue, |sp| {
        set_patient(sp);
        sp.push((int(10), ciborium::Value::Bytes(cose)));
    })
}
