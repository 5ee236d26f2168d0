//! End to end with a real `spondon-peer` process and the real `spondon-verifier` on
//! 127.0.0.1: a valid grant shows verified records; a write adds a prescription; a revoked
//! grant is refused by the peer; an expired grant is refused; a grant QR replayed by another
//! clinic is refused by this node and, tried directly with the other clinic's key, at the peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod node;

use node::peer::*;
use node::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{
    Audience, Category, Grant, PopProof, PopRequest, Purpose, Revocation, RevocationTarget,
};

fn grant(patient: &Es256KeyPair, kid: &str, edit: impl FnOnce(&mut Grant)) -> (Grant, String) {
    let now = NumericDate::now();
    let mut g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: kid.to_owned(),
        },
        categories: vec![
            Category::Prescription,
            Category::LabResult,
            Category::Diagnosis,
        ],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    };
    edit(&mut g);
    let t = g.sign(patient).unwrap();
    (g, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_against_a_real_peer() {
    let peer = start_peer().await;
    let root = Es256KeyPair::generate().unwrap();
    let list = trust_list(vec![peer.hospital().await], 1);
    let mut n = init_node(&root, &list, None);
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        URL,
        &format!("http://{}", peer.addr),
    ]);

    // The hospital registers this node's doctor key; the node imports the credential.
    let r = peer
        .staff_post("/staff/doctors", &json!({"bmdc_number": "A-40112", "name": "Dr. Shirin Sultana", "department": "Medicine",
            "public_key": n.init["doctor_public_jwk"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let cred = write(
        n.dir.path(),
        "cred.txt",
        r.json()["credential"].as_str().unwrap(),
    );
    let qr = n.dir.path().join("cred.svg");
    run(&[
        "doctor-credential",
        "import",
        "--data",
        n.data_str(),
        cred.to_str().unwrap(),
        "--qr-svg",
        qr.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&qr).unwrap().starts_with("<?xml")
            || std::fs::read_to_string(&qr).unwrap().contains("<svg")
    );

    // A patient with an enrolled wallet key and three records. The test kit reads the peer's
    // enrollment answer as the peer writes it (`enrollment_credential`) and checks the
    // credential binds this key and Health ID (a helper reading another name got nothing, and
    // the grant check below then ran without it unnoticed).
    let (hid, patient, enrollment) = peer.patient_with_records().await;
    let enrollment = Some(enrollment);

    serve(&mut n, &[]).await;
    // The background refresh fetched the peer's revocation lists: freshness is reported.
    let mut fresh = Value::Null;
    for _ in 0..100 {
        fresh = n.get("/api/status").await.json();
        if fresh["freshness"]["revocations_as_of"].is_i64() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(fresh["freshness"]["revocations_as_of"].is_i64(), "{fresh}");
    assert!(
        fresh["freshness"]["words"]
            .as_str()
            .unwrap()
            .contains("revocations as of"),
        "{fresh}"
    );
    assert_eq!(fresh["doctor_credential"]["bmdc_number"], "A-40112");
    let kid = n.doctor_kid();

    // Valid: the verdict, then the records, each verified and rendered.
    let (_, text) = grant(&patient, &kid, |_| {});
    let mut body = json!({"grant": text});
    if let Some(e) = &enrollment {
        body["enrollment"] = json!(e);
    }
    let v = n.post_json("/api/grant/check", &body).await.json();
    assert_eq!(v["code"], "ok", "{v}");
    // The real peer's enrollment credential reaches the verdict: the Health ID it binds.
    assert_eq!(v["patient"]["health_id"], json!(hid), "{v}");
    let r = n.post_json("/api/grant/records", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    let rec = &out["records"];
    assert_eq!(rec["failures"], json!([]), "{out}");
    assert_eq!(rec["patient_name"], "Fatema Begum", "{out}");
    // The whole verdict: not revoked (asked the peer just now), and who the patient is, from
    // the hospital-signed card.
    assert_eq!(out["status"], "valid", "{out}");
    assert_eq!(out["revocation"]["state"], "not_revoked", "{out}");
    assert_eq!(
        out["revocation"]["checked"],
        json!(["Dhaka Medical College Hospital"])
    );
    let who = &out["patient"];
    assert_eq!(who["name"], "Fatema Begum", "{out}");
    assert_eq!(who["sex"], "female");
    assert_eq!(who["birth_date"], "1988-04-12");
    assert!(who["age"].as_i64().unwrap() >= 38, "{who}");
    assert_eq!(who["health_id"], json!(hid));
    assert_eq!(who["hospital"], "Dhaka Medical College Hospital");
    // Each item carries its record and date (grouping by visit, lab trends).
    assert!(rec["lab_results"][0]["issued_at"].as_i64().unwrap() > 0);
    assert_eq!(rec["lab_results"][0]["key"], "http://loinc.org|777-3");
    assert_eq!(rec["lab_results"][0]["number"], 95.0);
    assert_eq!(
        rec["medications"][0]["medication"],
        "Metformin 500 mg tablet"
    );
    assert_eq!(
        rec["medications"][0]["dosage"],
        "1 tablet twice daily with meals"
    );
    assert_eq!(rec["lab_results"][0]["name"], "Platelets");
    assert_eq!(rec["lab_results"][0]["flag"], "low");
    assert_eq!(rec["lab_results"][0]["range"], "150–450");
    assert_eq!(rec["diagnoses"][0]["code"], "E11.9");
    assert_eq!(rec["timeline"].as_array().unwrap().len(), 3);
    assert!(
        rec["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["verified"] == true)
    );

    // Nothing shared comes back (no immunizations): not revoked, but no hospital-signed card
    // names the patient, so no name and an amber `unidentified`.
    let (_, text) = grant(&patient, &kid, |g| {
        g.categories = vec![Category::Immunization]
    });
    let out = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await
        .json();
    assert_eq!(out["status"], "unidentified", "{out}");
    assert_eq!(out["revocation"]["state"], "not_revoked");
    assert_eq!(out["patient"], Value::Null);

    // Write under a write grant: the prescription is added at the peer, then shown.
    let (_, wtext) = grant(&patient, &kid, |g| g.write = true);
    let r = n
        .post_json(
            "/api/grant/write",
            &json!({"grant": wtext, "kind": "prescription", "resources": [{
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Amlodipine 5 mg tablet"},
            "dosageInstruction": [{"text": "1 tablet daily in the morning"}]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let out = n
        .post_json("/api/grant/records", &json!({"grant": wtext}))
        .await
        .json();
    let meds: Vec<&str> = out["records"]["medications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["medication"].as_str().unwrap())
        .collect();
    assert!(meds.contains(&"Amlodipine 5 mg tablet"), "{meds:?}");

    // Revoked at the peer: the node's check cannot know (peers do not publish grant
    // revocations), the peer refuses the records.
    let (g, text) = grant(&patient, &kid, |_| {});
    let rev = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: g.id },
        issued_at: NumericDate::now(),
    }
    .sign(&patient)
    .unwrap();
    let r = peer
        .signed(
            &patient,
            "/patient/revocations",
            &json!({"revocation": rev}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let out = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await
        .json();
    assert_eq!(
        out["records"]["failures"][0]["peer_code"], "revoked",
        "{out}"
    );
    assert_eq!(out["records"]["timeline"], json!([]));
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(out["revocation"]["state"], "revoked");
    assert_eq!(
        out["patient"],
        Value::Null,
        "no name without a verified card"
    );

    // Expired: refused by the node before any peer is asked.
    let now = NumericDate::now();
    let (_, text) = grant(&patient, &kid, |g| {
        g.issued_at = now.saturating_add(-7200);
        g.not_before = now.saturating_add(-7200);
        g.expires = now.saturating_add(-10);
    });
    let r = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "expired"));

    // Replayed: a grant made out to another clinic, photographed and shown here, is refused by
    // this node; the other clinic's own attempt without the key is refused at the peer too.
    let other_clinic = Es256KeyPair::generate().unwrap();
    let (g, text) = grant(&patient, other_clinic.kid(), |_| {});
    let r = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_for_this_clinic"));
    let nonce = peer.nonce().await;
    let url = format!("{URL}/grant/records");
    let sent = json!({"grant": text}).to_string();
    let pop = PopProof::create(
        &Es256KeyPair::from_pkcs8(&std::fs::read(n.data.join("keys/doctor.p8")).unwrap()).unwrap(),
        g.id,
        &PopRequest {
            method: "POST",
            url: &url,
            nonce: &nonce,
            body: sent.as_bytes(),
        },
        NumericDate::now(),
    )
    .unwrap();
    let r = request(
        peer.addr,
        "POST",
        "/grant/records",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        sent.as_bytes(),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "pop_key_mismatch"));

    // The peer is down: revocation could not be checked, and that is said plainly; no name.
    drop(peer);
    let (_, text) = grant(&patient, &kid, |_| {});
    let out = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await
        .json();
    assert_eq!(out["status"], "unchecked", "{out}");
    assert_eq!(out["revocation"]["state"], "unchecked");
    let words = out["revocation"]["words"].as_str().unwrap();
    assert!(
        words.starts_with("Revocation could not be checked at Dhaka Medical College Hospital"),
        "{words}"
    );
    assert_eq!(out["patient"], Value::Null);

    // Receipts: one per redemption, no health data.
    let rc = n.get("/api/receipts").await.json();
    let receipts = rc["receipts"].as_array().unwrap();
    assert!(receipts.len() >= 4, "{rc}");
    assert!(!rc.to_string().contains("Metformin") && !rc.to_string().contains(&hid));
    let log = stop(&mut n);
    for word in ["Metformin", "Fatema", "Platelets", &hid] {
        assert!(!log.contains(word), "the log mentions {word}: {log}");
    }
}

/// A lying peer: forwards everything to the real peer, but answers every redemption with
/// `canned` (valid cards with valid proofs — just not the ones the grant covers).
async fn lying_proxy(peer: std::net::SocketAddr, canned: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let canned = canned.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Head, then Content-Length bytes of body.
                let (head_end, len) = loop {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                if buf.starts_with(b"POST /grant/records ") {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        canned.len()
                    );
                    s.write_all(head.as_bytes()).await.unwrap();
                    s.write_all(&canned).await.unwrap();
                    return;
                }
                // One request per connection: ask the peer to close after answering, so
                // reading its answer to the end finishes (the node's client keeps connections
                // alive otherwise).
                let at = buf.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
                buf.splice(at..at, b"Connection: close\r\n".iter().copied());
                let mut up = tokio::net::TcpStream::connect(peer).await.unwrap();
                up.write_all(&buf).await.unwrap();
                let mut resp = Vec::new();
                up.read_to_end(&mut resp).await.unwrap();
                s.write_all(&resp).await.unwrap();
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_outside_the_grant_are_refused_even_when_genuine() {
    let peer = start_peer().await;
    let root = Es256KeyPair::generate().unwrap();
    let list = trust_list(vec![peer.hospital().await], 1);
    let mut n = init_node(&root, &list, None);
    enroll_doctor(&peer, &n).await;
    let (_, patient, _) = peer.patient_with_records().await;
    // The patient's own pull: genuine cards and proofs, a diagnosis among them.
    let mut pull = peer
        .signed(&patient, "/patient/records", &json!({}))
        .await
        .json();
    assert_eq!(pull["records"].as_array().unwrap().len(), 3);
    // Answered as a redemption (`spondon_protocol::Redeemed`) of all three.
    pull["access_log_index"] = json!(0);
    let proxy = lying_proxy(peer.addr, pull.to_string().into_bytes()).await;
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        URL,
        &format!("http://{proxy}"),
    ]);
    serve(&mut n, &[]).await;
    let kid = n.doctor_kid();
    // A grant for prescriptions only: the lying peer's diagnosis and lab report are refused.
    let (_, text) = grant(&patient, &kid, |g| {
        g.categories = vec![Category::Prescription]
    });
    let r = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    let rec = &out["records"];
    assert_eq!(rec["diagnoses"], json!([]), "{out}");
    assert_eq!(rec["lab_results"], json!([]), "{out}");
    assert_eq!(rec["timeline"], json!([]), "{out}");
    let failure = rec["failures"][0]["message"].as_str().unwrap();
    assert!(failure.contains("does not cover"), "{out}");
    stop(&mut n);
}
