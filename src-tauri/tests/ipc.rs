//! The IPC layer through `tauri::test` (mock runtime, the app's real context: its capability file
//! and CSP), against a real `spondon-peer` served in-process over HTTP on 127.0.0.1 and a real
//! wallet directory. Every command goes through `invoke` exactly as the page sends it:
//! `{cmd, body: {req: …}}` from `tauri://localhost`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use spondon_app::{AppConfig, AppState};
use spondon_app_api::{cmd, event};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey};
use spondon_core::token::{Hospital, TrustList};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_wallet::{Endpoints, Keychain};
use tauri::Listener as _;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;

const URL: &str = "https://dmch.example";
const PASS: &str = "correct horse battery staple";

struct World {
    rt: tokio::runtime::Runtime,
    list: String,
    root: Es256KeyPair,
    addr: std::net::SocketAddr,
    enrollment: String,
    credential: String,
    doctor: Es256KeyPair,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A hospital peer served on 127.0.0.1 (its own runtime), a patient and a doctor registered
/// there, a prescription and a blood count issued, and a trust list naming the peer.
fn world(dir: &std::path::Path) -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (peer, addr) = rt.block_on(async {
        let data = DataDir::new(dir.join("peer"));
        let (peer, _) = Peer::init(&data, "Dhaka Medical College Hospital", URL, None)
            .await
            .unwrap();
        peer.close().await;
        let peer = Arc::new(Peer::open(&data, None).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = spondon_peer::http::router(peer.clone());
        tokio::spawn(async move {
            spondon_peer::http::serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        (peer, addr)
    });
    let doctor_key = Es256KeyPair::generate().unwrap();
    let doctor_jwk = doctor_key.public_key().to_jwk();
    let (enrollment, credential) = rt.block_on(async {
        let patient: spondon_peer::registry::NewPatient = serde_json::from_value(json!({
            "name": "Fatema Begum", "birth_date": "1988-04-12", "sex": "female",
            "national_id": "1987654321", "phone": "01711-234567", "district": "Mymensingh",
            "upazila": "Trishal"}))
        .unwrap();
        let reg = peer.register_patient(&patient).await.unwrap();
        let doc: spondon_peer::registry::NewDoctor = serde_json::from_value(json!({
            "bmdc_number": "A-54321", "name": "Dr. Abul Kalam Azad", "department": "Medicine",
            "public_key": doctor_jwk}))
        .unwrap();
        let cred = peer.register_doctor(&doc).await.unwrap().credential;
        let q = |v: f64| json!({"value": v, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"});
        for v in [
            json!({"health_id": reg.health_id, "kind": "prescription", "doctor_bmdc": "A-54321",
                "resources": [{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                    "medicationCodeableConcept": {"text": "Paracetamol 500 mg tablet"},
                    "dosageInstruction": [{"text": "1 tablet three times daily"}]}]}),
            json!({"health_id": reg.health_id, "kind": "lab_report", "resources": [
                {"resourceType": "DiagnosticReport", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]}},
                {"resourceType": "Observation", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
                 "valueQuantity": q(95.0), "referenceRange": [{"low": q(150.0), "high": q(450.0)}]}]}),
        ] {
            peer.issue_record(&serde_json::from_value(v).unwrap())
                .await
                .unwrap();
        }
        (reg.enrollment_text, cred)
    });
    let root = Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let v = spondon_ledger_verifier(&peer.log_vkey());
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
            id: "dmch".into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: URL.into(),
            record_keys: vec![
                Es256PublicKey::from_jwk(&peer.keys.record.public_key().to_jwk()).unwrap(),
            ],
            log_key: v.0,
            log_origin: v.1,
        }],
    }
    .sign(&root)
    .unwrap();
    World {
        rt,
        list,
        root,
        addr,
        enrollment,
        credential,
        doctor: doctor_key,
        shutdown: Some(tx),
    }
}

fn spondon_ledger_verifier(vkey: &str) -> (spondon_core::keys::Ed25519PublicKey, String) {
    let v = spondon_ledger::Verifier::from_vkey(vkey).unwrap();
    (*v.public_key(), v.name().to_owned())
}

impl World {
    /// The doctor redeems `grant` at the peer with proof of possession (as a clinic node does);
    /// returns the HTTP status.
    fn redeem(&self, grant: &str) -> u16 {
        let base = format!("http://{}", self.addr);
        self.rt.block_on(async {
            let http = reqwest::Client::new();
            let g =
                spondon_core::token::Grant::decode_and_verify(grant, NumericDate::now()).unwrap();
            let n: Value = http
                .post(format!("{base}/nonce"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let nonce = spondon_core::b64::decode(n["nonce"].as_str().unwrap()).unwrap();
            let url = format!("{URL}/grant/records");
            // The proof covers the exact bytes sent.
            let body = serde_json::to_vec(&json!({ "grant": grant })).unwrap();
            let pop = spondon_core::token::PopProof::create(
                &self.doctor,
                g.id,
                &spondon_core::token::PopRequest {
                    method: "POST",
                    url: &url,
                    nonce: &nonce,
                    body: &body,
                },
                NumericDate::now(),
            )
            .unwrap();
            http.post(format!("{base}/grant/records"))
                .header("Spondon-PoP", pop)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    /// Stops the peer: its port refuses connections from now on.
    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let rt = std::mem::replace(
            &mut self.rt,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        );
        rt.shutdown_timeout(std::time::Duration::from_secs(2));
    }
}

struct App {
    _app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

fn app(config: AppConfig) -> App {
    let app = spondon_app::setup(mock_builder(), AppState::new(config))
        .build(tauri::generate_context!())
        .unwrap();
    spondon_app::start_inactivity_lock(app.handle());
    let events = Arc::new(Mutex::new(Vec::new()));
    for name in event::ALL {
        let ev = events.clone();
        let n = name.to_string();
        app.listen_any(*name, move |e| {
            ev.lock()
                .unwrap()
                .push((n.clone(), serde_json::from_str(e.payload()).unwrap()));
        });
    }
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App {
        _app: app,
        webview,
        events,
    }
}

impl App {
    /// Invokes `name` as the page does (`invoke(name, {req})`, or no argument).
    fn call(&self, name: &str, req: Option<Value>) -> Result<Value, Value> {
        let body = match req {
            Some(r) => json!({ "req": r }),
            None => json!({}),
        };
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: name.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, name: &str, req: Option<Value>) -> Value {
        match self.call(name, req) {
            Ok(v) => v,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// The refusal's code (and checks it is a full `ApiError`).
    fn refused(&self, name: &str, req: Option<Value>) -> String {
        match self.call(name, req) {
            Ok(v) => panic!("{name} was not refused: {v}"),
            Err(e) => {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}: no message in {e}"
                );
                e["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: {e}"))
                    .to_owned()
            }
        }
    }

    fn events(&self, name: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn config(dir: &std::path::Path, w: &World, consortium: bool) -> AppConfig {
    AppConfig {
        wallet_dir: dir.join("wallet"),
        export_dir: dir.join("exports"),
        keychain: Keychain::Unavailable {
            reason: "no keychain in this test".into(),
        },
        consortium: consortium.then(|| (w.list.clone(), w.root.public_key().to_jwk())),
        endpoints: Endpoints(
            [(URL.to_owned(), format!("http://{}", w.addr))]
                .into_iter()
                .collect(),
        ),
    }
}

#[test]
fn first_run_unlock_share_export_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = world(tmp.path());
    let a = app(config(tmp.path(), &w, true));

    // First run: no wallet, the configured consortium, passphrase only said plainly.
    let st = a.ok(cmd::APP_STATUS, None);
    assert_eq!(st["platform"], "desktop");
    assert_eq!(st["opened_with"], Value::Null);
    assert_eq!(st["state"], "no_wallet");
    assert_eq!(st["consortium_configured"], true);
    assert_eq!(st["keys"]["type"], "passphrase_only");
    assert_eq!(
        st["trust_list"]["hospitals"][0]["name"],
        "Dhaka Medical College Hospital"
    );
    assert_eq!(a.refused(cmd::LIST_RECORDS, Some(json!({}))), "no_wallet");
    let s = a.ok(cmd::PASSPHRASE_STRENGTH, Some(json!({"passphrase": "abc"})));
    assert_eq!(
        (s["score"].as_u64(), s["hint"].as_str()),
        (Some(0), Some("too_short"))
    );
    assert_eq!(
        a.refused(
            cmd::CREATE_WALLET,
            Some(json!({"passphrase": "short", "keep_in_keychain": false}))
        ),
        "weak_passphrase"
    );
    assert_eq!(
        a.refused(
            cmd::CREATE_WALLET,
            Some(json!({"passphrase": PASS, "keep_in_keychain": true}))
        ),
        "keychain_unavailable"
    );
    assert_eq!(
        a.refused(
            cmd::CREATE_WALLET,
            Some(json!({"passphrase": PASS, "keep_in_keychain": false, "trust_list": "x"}))
        ),
        "invalid"
    );
    let st = a.ok(
        cmd::CREATE_WALLET,
        Some(json!({"passphrase": PASS, "keep_in_keychain": false})),
    );
    assert_eq!(st["state"], "unlocked");

    // Lock: the event, then every wallet command refused as locked.
    let st = a.ok(cmd::LOCK, None);
    assert_eq!(st["state"], "locked");
    assert_eq!(
        a.events(event::LOCKED),
        vec![json!({"reason": "requested"})]
    );
    assert_eq!(a.refused(cmd::LIST_RECORDS, Some(json!({}))), "locked");
    assert_eq!(a.refused(cmd::LIST_HOSPITALS, None), "locked");
    assert_eq!(
        a.refused(cmd::UNLOCK, Some(json!({"passphrase": "wrong passphrase"}))),
        "wrong_passphrase"
    );
    assert_eq!(a.ok(cmd::APP_STATUS, None)["state"], "locked");
    assert_eq!(
        a.refused(
            cmd::UNLOCK,
            Some(json!({"passphrase": "", "biometric": true}))
        ),
        "unsupported"
    );
    assert_eq!(
        a.ok(cmd::UNLOCK, Some(json!({"passphrase": PASS})))["state"],
        "unlocked"
    );

    // Enroll: a bad QR image and a bad code are refused; the real code works.
    assert_eq!(
        a.refused(
            cmd::ENROLL,
            Some(json!({"input": {"type": "image", "image_base64": b64(b"not an image")}}))
        ),
        "bad_qr"
    );
    assert_eq!(
        a.refused(
            cmd::ENROLL,
            Some(json!({"input": {"type": "image", "image_base64": "%%%"}}))
        ),
        "invalid"
    );
    assert_eq!(
        a.refused(
            cmd::ENROLL,
            Some(json!({"input": {"type": "text", "text": "SPONDON-ENROLL:1:nope"}}))
        ),
        "bad_enrollment_code"
    );
    let h = a.ok(
        cmd::ENROLL,
        Some(json!({"input": {"type": "text", "text": w.enrollment}})),
    );
    assert_eq!(h["name"], "Dhaka Medical College Hospital");
    assert_eq!(h["last_sync"], Value::Null);

    // Sync, with progress events ending in a finished snapshot.
    let sum = a.ok(cmd::SYNC, None);
    assert_eq!(sum["peers"][0]["new_records"], 2, "{sum}");
    assert_eq!(sum["peers"][0]["error"], Value::Null);
    let progress = a.events(event::SYNC);
    let last = progress.last().unwrap();
    assert_eq!(
        (last["finished"].as_bool(), last["done"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(last["peers"][0]["state"], "done");
    assert!(a.ok(cmd::LIST_HOSPITALS, None)[0]["last_sync"].is_i64());

    // Records: filter, detail with its proof.
    let labs = a.ok(cmd::LIST_RECORDS, Some(json!({"kind": "lab_report"})));
    assert_eq!(labs.as_array().unwrap().len(), 1);
    assert_eq!(
        a.ok(cmd::LIST_RECORDS, Some(json!({})))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let id = labs[0]["id"].as_str().unwrap();
    let d = a.ok(cmd::GET_RECORD, Some(json!({"id": id})));
    assert_eq!(d["summary"]["trust"], "verified");
    assert_eq!(d["proof"]["signature"]["alg"], "ES256");
    assert!(d["proof"]["checkpoint"]["size"].as_u64().unwrap() >= 1);
    assert!(
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "lab_result"
                && i["abnormal"] == "low"
                && i["unit_words"] == "thousand per microlitre")
    );
    assert_eq!(
        a.refused(cmd::GET_RECORD, Some(json!({"id": "nothing-like-it"}))),
        "not_found"
    );

    // Doctors and grants: a bad QR image, an unknown doctor, a wrong passphrase are refused.
    assert_eq!(
        a.refused(cmd::ADD_DOCTOR, Some(json!({"input": {"type": "image", "image_base64": b64(&[0x89, b'P', b'N', b'G', 0, 1, 2])}}))),
        "bad_qr"
    );
    let grant_req = |kid: &str, pass: &str| {
        json!({"doctor_kid": kid, "categories": ["prescription", "lab_result"], "record_ids": [],
               "purpose": "treatment", "duration_secs": 3600, "write": true, "passphrase": pass})
    };
    assert_eq!(
        a.refused(cmd::CREATE_GRANT, Some(grant_req("no-such-doctor", PASS))),
        "unknown_doctor"
    );
    let doc = a.ok(
        cmd::ADD_DOCTOR,
        Some(json!({"input": {"type": "text", "text": w.credential}})),
    );
    assert_eq!(doc["bmdc_number"], "A-54321");
    let kid = doc["kid"].as_str().unwrap().to_owned();
    assert_eq!(a.ok(cmd::LIST_DOCTORS, None)[0]["kid"], kid);
    assert_eq!(
        a.refused(cmd::CREATE_GRANT, Some(grant_req(&kid, "wrong passphrase"))),
        "wrong_passphrase"
    );
    // Biometric confirmation is the phones' (done by their shell); a desktop refuses it.
    let mut bio = grant_req(&kid, "");
    bio["confirm_with_biometrics"] = json!(true);
    assert_eq!(a.refused(cmd::CREATE_GRANT, Some(bio)), "unsupported");
    let mut too_long = grant_req(&kid, PASS);
    too_long["duration_secs"] = json!(10);
    assert_eq!(a.refused(cmd::CREATE_GRANT, Some(too_long)), "invalid");
    let g = a.ok(cmd::CREATE_GRANT, Some(grant_req(&kid, PASS)));
    assert!(g["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(g["grant"]["doctor_name"], "Dr. Abul Kalam Azad");
    assert_eq!(g["grant"]["write"], true);
    assert_eq!(g["grant"]["status"], "active");
    let grant_id = g["grant"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.ok(cmd::LIST_GRANTS, Some(json!({"active_only": true})))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(a.ok(cmd::LIST_RECEIPTS, None), json!([]));

    // The doctor redeems the grant; the next sync brings the receipt, in structured words.
    assert_eq!(w.redeem(g["text"].as_str().unwrap()), 200);
    let sum = a.ok(cmd::SYNC, None);
    assert_eq!(sum["peers"][0]["new_receipts"], 1, "{sum}");
    let rs = a.ok(cmd::LIST_RECEIPTS, None);
    assert_eq!(rs[0]["allowed"], true, "{rs}");
    assert_eq!(rs[0]["who"]["type"], "doctor");
    assert_eq!(rs[0]["who"]["name"], "Dr. Abul Kalam Azad");
    assert_eq!(rs[0]["hospital_name"], "Dhaka Medical College Hospital");
    assert_eq!(rs[0]["grant_id"], grant_id.as_str());
    let kinds: Vec<&str> = rs[0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"prescription") && kinds.contains(&"lab_report"),
        "{rs}"
    );
    assert!(
        rs[0]["text"]
            .as_str()
            .unwrap()
            .contains("Dr. Abul Kalam Azad")
    );

    // Export: PDF and .smart-health-card saved, verified.
    let ex = a.ok(
        cmd::EXPORT,
        Some(
            json!({"record_ids": [], "formats": ["pdf", "shc"], "include_receipts": false,
                    "link_url": null, "passphrase": PASS}),
        ),
    );
    assert_eq!(ex["verdict"]["valid"], true, "{ex}");
    assert_eq!(ex["files"].as_array().unwrap().len(), 2);
    for f in ex["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert!(p.starts_with(tmp.path().join("exports").to_str().unwrap()));
        assert!(std::fs::metadata(p).unwrap().len() > 100);
    }
    assert_eq!(a.events(event::EXPORT).last().unwrap()["step"], "done");
    assert_eq!(
        a.refused(cmd::EXPORT, Some(json!({"record_ids": [], "formats": ["shl"], "include_receipts": false, "passphrase": PASS}))),
        "invalid"
    );

    // Import: a damaged card is refused and nothing is stored; our own export goes back in.
    assert_eq!(
        a.refused(cmd::IMPORT_CARD, Some(json!({"input": {"type": "text", "text": "shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133"}, "fetch_keys": false}))),
        "bad_card"
    );
    assert_eq!(
        a.ok(cmd::LIST_RECORDS, Some(json!({})))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let shc = ex["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["format"] == "shc")
        .unwrap();
    let bytes = std::fs::read(shc["path"].as_str().unwrap()).unwrap();
    let imp = a.ok(
        cmd::IMPORT_CARD,
        Some(json!({"input": {"type": "file", "file_base64": b64(&bytes)}, "fetch_keys": false})),
    );
    assert_eq!(imp["cards"][0]["trust"], "imported_trusted");

    // Settings: validated, kept.
    assert_eq!(
        a.refused(cmd::UPDATE_SETTINGS, Some(json!({"lock_after_secs": 5}))),
        "bad_setting"
    );
    let s = a.ok(
        cmd::UPDATE_SETTINGS,
        Some(json!({"language": "bn", "lock_after_secs": 600})),
    );
    assert_eq!(
        (s["language"].as_str(), s["lock_after_secs"].as_u64()),
        (Some("bn"), Some(600))
    );
    assert_eq!(a.ok(cmd::GET_SETTINGS, None)["trust_list"]["sequence"], 1);
    assert_eq!(a.ok(cmd::APP_STATUS, None)["language"], "bn");
    let b = a.ok(cmd::BACKUP_NOW, Some(json!({"passphrase": PASS})));
    assert!(
        std::fs::metadata(b["path"].as_str().unwrap())
            .unwrap()
            .len()
            > 100
    );
    assert_eq!(
        a.refused(
            cmd::CHANGE_PASSPHRASE,
            Some(json!({"old": "wrong passphrase", "new": "another long passphrase"}))
        ),
        "wrong_passphrase"
    );
    assert!(a.ok(cmd::ABOUT, None)["version"].is_string());

    // The peer goes down: sync reports it in place, revocations report each peer's answer.
    w.stop();
    let sum = a.ok(cmd::SYNC, None);
    assert_eq!(
        sum["peers"][0]["error"]["code"], "peer_unreachable",
        "{sum}"
    );
    assert_eq!(
        a.events(event::SYNC).last().unwrap()["peers"][0]["state"],
        "failed"
    );
    let r = a.ok(
        cmd::REVOKE_GRANT,
        Some(json!({"grant_id": grant_id, "passphrase": PASS})),
    );
    assert_eq!(r["answers"][0]["ok"], false, "{r}");
    assert_eq!(r["answers"][0]["error"]["code"], "peer_unreachable");
    // Not revoked anywhere: still active.
    assert_eq!(
        a.ok(cmd::LIST_GRANTS, Some(json!({"active_only": true})))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = a.ok(cmd::REVOKE_ALL, Some(json!({"passphrase": PASS})));
    assert_eq!(r["answers"][0]["ok"], false);
    let p = a.events(event::REVOKE_ALL);
    assert_eq!(
        (
            p.last().unwrap()["done"].as_u64(),
            p.last().unwrap()["total"].as_u64()
        ),
        (Some(1), Some(1))
    );

    // A command the app does not have is refused by the IPC layer.
    assert!(a.call("plugin:shell|execute", Some(json!({}))).is_err());

    // Lost phone: the backup restored on another device (another wallet directory).
    let backup = std::fs::read(b["path"].as_str().unwrap()).unwrap();
    let mut cfg = config(tmp.path(), &w, true);
    cfg.wallet_dir = tmp.path().join("second-device");
    let a2 = app(cfg);
    let restore = |pass: &str, file: &[u8]| {
        json!({"backup_base64": b64(file), "backup_passphrase": pass,
               "new_passphrase": "a new device passphrase", "keep_in_keychain": false})
    };
    assert_eq!(
        a2.refused(
            cmd::RESTORE_WALLET,
            Some(restore("wrong passphrase", &backup))
        ),
        "wrong_passphrase"
    );
    assert_eq!(
        a2.refused(
            cmd::RESTORE_WALLET,
            Some(restore(PASS, b"not a backup at all"))
        ),
        "bad_backup"
    );
    assert_eq!(a2.ok(cmd::APP_STATUS, None)["state"], "no_wallet");
    let r = a2.ok(cmd::RESTORE_WALLET, Some(restore(PASS, &backup)));
    assert_eq!(
        (r["hospitals"].as_u64(), r["records"].as_u64()),
        (Some(1), Some(4)),
        "{r}"
    );
    assert_eq!(r["status"]["state"], "unlocked");
    assert_eq!(a2.events(event::RESTORE).last().unwrap()["step"], "done");
    assert_eq!(
        a2.ok(cmd::LIST_RECORDS, Some(json!({})))
            .as_array()
            .unwrap()
            .len(),
        4
    );
    a2.ok(cmd::LOCK, None);
    assert_eq!(
        a2.ok(
            cmd::UNLOCK,
            Some(json!({"passphrase": "a new device passphrase"}))
        )["state"],
        "unlocked"
    );
}

#[test]
fn first_run_without_a_configured_consortium_asks_for_one() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path());
    let a = app(config(tmp.path(), &w, false));
    let st = a.ok(cmd::APP_STATUS, None);
    assert_eq!(
        (st["consortium_configured"].as_bool(), &st["trust_list"]),
        (Some(false), &Value::Null)
    );
    assert_eq!(
        a.refused(
            cmd::CREATE_WALLET,
            Some(json!({"passphrase": PASS, "keep_in_keychain": false}))
        ),
        "no_trust_list"
    );
    assert_eq!(
        a.refused(
            cmd::CREATE_WALLET,
            Some(json!({"passphrase": PASS, "keep_in_keychain": false,
            "trust_list": w.list, "root_key": "{not json"}))
        ),
        "bad_trust_list"
    );
    let other_root = Es256KeyPair::generate().unwrap();
    assert_eq!(
        a.refused(cmd::CREATE_WALLET, Some(json!({"passphrase": PASS, "keep_in_keychain": false,
            "trust_list": w.list, "root_key": serde_json::to_string(&other_root.public_key().to_jwk()).unwrap()}))),
        "bad_trust_list"
    );
    assert!(!tmp.path().join("wallet").join("wallet.json").exists());
    let st = a.ok(
        cmd::CREATE_WALLET,
        Some(
            json!({"passphrase": PASS, "keep_in_keychain": false, "trust_list": w.list,
            "root_key": serde_json::to_string(&w.root.public_key().to_jwk()).unwrap()}),
        ),
    );
    assert_eq!(st["state"], "unlocked");
    assert_eq!(st["trust_list"]["signer"], "DGHS");
    // Restore refuses a damaged backup while a wallet exists or not: here it exists.
    assert_eq!(
        a.refused(
            cmd::RESTORE_WALLET,
            Some(json!({"backup_base64": b64(b"SPNDBKP1xx"),
            "backup_passphrase": PASS, "new_passphrase": PASS, "keep_in_keychain": false}))
        ),
        "already_exists"
    );
}

#[test]
fn the_page_gets_exactly_the_app_commands_and_a_strict_csp() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cap: Value =
        serde_json::from_slice(&std::fs::read(dir.join("capabilities/main.json")).unwrap())
            .unwrap();
    let mut granted: Vec<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    granted.sort();
    let mut wanted: Vec<String> = cmd::ALL
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .chain([
            "core:event:allow-listen".into(),
            "core:event:allow-unlisten".into(),
        ])
        .collect();
    wanted.sort();
    assert_eq!(granted, wanted);
    assert_eq!(cap["windows"], json!(["main"]));

    let conf: Value =
        serde_json::from_slice(&std::fs::read(dir.join("tauri.conf.json")).unwrap()).unwrap();
    assert_eq!(conf["app"]["withGlobalTauri"], true);
    assert_eq!(conf["build"]["frontendDist"], "../ui/dist");
    let csp = conf["app"]["security"]["csp"].as_object().unwrap();
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self' 'wasm-unsafe-eval'");
    for (k, v) in csp {
        let v = v.as_str().unwrap();
        assert!(
            !v.contains("unsafe-eval'") || v.contains("wasm-unsafe-eval"),
            "{k}: {v}"
        );
        assert!(
            !v.contains("https:") && !v.contains('*'),
            "{k} allows a remote origin: {v}"
        );
    }
    for icon in conf["bundle"]["icon"].as_array().unwrap() {
        assert!(dir.join(icon.as_str().unwrap()).exists(), "{icon}");
    }
}

/// The shell's inactivity timer: after the configured time without a command the session locks
/// and the window gets `locked` with reason `inactivity`. (Waits the shortest lock time, 30 s.)
#[test]
fn inactivity_locks_the_wallet_and_tells_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(tmp.path());
    let a = app(config(tmp.path(), &w, true));
    a.ok(
        cmd::CREATE_WALLET,
        Some(json!({"passphrase": PASS, "keep_in_keychain": false})),
    );
    a.ok(cmd::UPDATE_SETTINGS, Some(json!({"lock_after_secs": 30})));
    let start = std::time::Instant::now();
    // Activity keeps it open.
    std::thread::sleep(std::time::Duration::from_secs(20));
    a.ok(cmd::TOUCH, None);
    std::thread::sleep(std::time::Duration::from_secs(15));
    assert_eq!(a.ok(cmd::APP_STATUS, None)["state"], "unlocked");
    assert!(a.events(event::LOCKED).is_empty());
    // Then 30 s of nothing (status polls do not count).
    while a.events(event::LOCKED).is_empty() && start.elapsed().as_secs() < 90 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = a.ok(cmd::APP_STATUS, None);
    }
    assert_eq!(
        a.events(event::LOCKED),
        vec![json!({"reason": "inactivity"})]
    );
    assert_eq!(a.ok(cmd::APP_STATUS, None)["state"], "locked");
    assert_eq!(a.refused(cmd::LIST_RECORDS, Some(json!({}))), "locked");
}
