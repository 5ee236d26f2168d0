//! TLS end to end: two `spondon-peer` processes that listen only on HTTPS with certificates
//! from a CA made at test time. The hospital pushes its checkpoints to its witness over HTTPS,
//! the wallet syncs them (its trust list requires the witness's cosignature), and a clinic's
//! `spondon-verifier` node fetches the shared records over HTTPS — each refusing the peers'
//! certificates with a clear error until the test CA is configured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Category, Purpose};
use spondon_keystore::MemoryKeyStore;
use spondon_net::test_ca::TestCa;
use spondon_testkit::spawned::*;
use spondon_wallet::grants::{Duration, GrantAudience, GrantRequest, Scope};
use spondon_wallet::{EnrollmentCode, Wallet};

const PASS: &[u8] = b"correct horse battery";

async fn clinic_fetch(base: &str, staff: &str, grant: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/grant/records"))
        .bearer_auth(staff)
        .json(&json!({"grant": grant}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_witnessing_and_clinic_fetch_over_https_only() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Spondon test CA").unwrap();
    let ca_file = ca.write_ca(tmp.path(), "test-ca").unwrap();
    let mut a = PeerProc::start_tls(
        tmp.path(),
        "dmch.example",
        "Dhaka Medical College Hospital",
        &ca,
        &ca_file,
    )
    .await;
    let mut b = PeerProc::start_tls(
        tmp.path(),
        "labaid.example",
        "Labaid Diagnostics",
        &ca,
        &ca_file,
    )
    .await;
    assert!(a.base().starts_with("https://"), "{}", a.base());
    // Only HTTPS: a plain-HTTP request gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/checkpoint", a.addr))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // Labaid witnesses DMCH's log over HTTPS; the trust list requires that cosignature.
    b.stop();
    b.admin("witness-log", &["--vkey", &a.log_vkey]);
    b.serve().await;
    a.stop();
    a.admin(
        "add-witness",
        &[
            "--url",
            &format!("{}/witness", b.base()),
            "--vkey",
            &b.witness_vkey,
        ],
    );
    a.serve().await;
    let root = Es256KeyPair::generate().unwrap();
    let mut value = trust_list_value(&[&a, &b], 1).await;
    value.witnessing = witnessing(&[&a, &b], 1).await;
    let list = value.sign(&root).unwrap();

    let (hid, code) = a.register_patient().await;
    a.cbc(&hid).await;

    // A wallet that does not trust the test CA: refused, saying why, and nothing changes.
    let dir = tmp.path().join("wallet");
    let mut w = Wallet::create(&dir, Arc::new(MemoryKeyStore::new()), PASS)
        .await
        .unwrap();
    w.set_trust_list(&list, &root.public_key().to_jwk())
        .await
        .unwrap();
    w.set_endpoints(endpoints(&[&a, &b]));
    let e = w
        .enroll(&EnrollmentCode::parse(&code).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "peer_unreachable", "{e}");
    assert!(e.to_string().contains("not signed by a trusted CA"), "{e}");
    assert!(w.peers().await.unwrap().is_empty());

    // With the CA: enroll, and sync once DMCH's checkpoint is cosigned by Labaid (pushed over
    // HTTPS in the background).
    w.set_ca_files(std::slice::from_ref(&ca_file)).unwrap();
    w.enroll(&EnrollmentCode::parse(&code).unwrap())
        .await
        .unwrap();
    let mut synced = 0;
    for _ in 0..200 {
        let r = w.sync(&|_| {}).await.unwrap();
        assert!(r.violation().is_none(), "{r:?}");
        if r.peers[0].pending_witness == 0 && !w.stored_records().await.unwrap().is_empty() {
            synced = w.stored_records().await.unwrap().len();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(synced, 1, "the witness never cosigned over HTTPS");

    // A clinic node reaches DMCH over HTTPS at its address on the clinic's LAN.
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

    let doctor = w.add_doctor(cred.as_bytes()).await.unwrap();
    let auth = w.authorize(PASS).await.unwrap();
    let g = w
        .create_grant(
            &auth,
            &GrantRequest {
                audience: GrantAudience::Doctor(doctor),
                scope: Scope {
                    categories: vec![Category::LabResult],
                    record_ids: vec![],
                },
                purpose: Purpose::Treatment,
                duration: Duration::Day,
                peers: vec![a.url.clone()],
                use_limit: None,
                write: false,
            },
        )
        .await
        .unwrap();

    // Without the CA the node cannot check the grant at DMCH, and says why.
    let (n, base) = serve_node(&bin, data).await;
    let out = clinic_fetch(&base, &staff, &g.text).await;
    let f = &out["records"]["failures"][0];
    assert_eq!(f["code"], "tls", "{out}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("not signed by a trusted CA"),
        "{out}"
    );
    assert_eq!(out["status"], "unchecked", "{out}");
    drop(n);

    // With it: the lab report, verified, and nothing else.
    node(
        &bin,
        &["trust-ca", "--data", data, ca_file.to_str().unwrap()],
    );
    let (_n, base) = serve_node(&bin, data).await;
    let out = clinic_fetch(&base, &staff, &g.text).await;
    assert_eq!(out["records"]["failures"], json!([]), "{out}");
    assert_eq!(out["status"], "valid", "{out}");
    assert_eq!(
        out["records"]["timeline"].as_array().unwrap().len(),
        1,
        "{out}"
    );
    assert_eq!(out["records"]["lab_results"].as_array().unwrap().len(), 1);
}
