//! A real `spondon-peer` process on 127.0.0.1 for the verifier's tests, and what a test needs
//! around it: the trust-list entry, staff and patient-signed requests, a patient with records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Hospital, SignedRequest, SignedRequestTarget};

use super::{BIN, Resp, free_port, request};

pub const URL: &str = "https://dmch.example";

/// The `spondon-peer` binary next to ours, built on demand when this package is tested alone.
pub fn peer_bin() -> std::path::PathBuf {
    let dir = std::path::Path::new(BIN).parent().unwrap();
    let p = dir.join("spondon-peer");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", "spondon-peer", "--bin", "spondon-peer"])
            .status()
            .unwrap();
        assert!(st.success(), "cannot build spondon-peer");
    }
    assert!(p.exists(), "{} is missing", p.display());
    p
}

#[derive(Debug)]
pub struct PeerProc {
    pub addr: SocketAddr,
    /// The peer's data directory (for `spondon-peer` commands beside `serve`).
    pub data: std::path::PathBuf,
    pub staff: String,
    pub init: Value,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for PeerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_peer() -> PeerProc {
    start_peer_on(None).await
}

/// A peer on SQLite (`None`) or on the PostgreSQL database named.
pub async fn start_peer_on(database_url: Option<&str>) -> PeerProc {
    let bin = peer_bin();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("peer");
    let mut args = vec![
        "init",
        "--name",
        "Dhaka Medical College Hospital",
        "--url",
        URL,
        "--data",
        data.to_str().unwrap(),
    ];
    if let Some(u) = database_url {
        args.extend(["--database-url", u]);
    }
    let out = Command::new(&bin).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(&bin)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &listen,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = listen.parse().unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    PeerProc {
        addr,
        data,
        staff: init["staff_token"].as_str().unwrap().to_owned(),
        init,
        child,
        _dir: dir,
    }
}

impl PeerProc {
    /// Another staff token with these roles (`spondon-peer staff-token`, beside `serve`).
    pub fn staff_token(&self, label: &str, roles: &str) -> String {
        let out = Command::new(peer_bin())
            .args([
                "staff-token",
                "--data",
                self.data.to_str().unwrap(),
                "--label",
                label,
                "--roles",
                roles,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["token"].as_str().unwrap().to_owned()
    }
    pub async fn staff_post(&self, path: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {}", self.staff);
        request(
            self.addr,
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await
    }
    pub async fn nonce(&self) -> Vec<u8> {
        let r = request(self.addr, "POST", "/nonce", &[], b"").await;
        spondon_core::b64::decode(r.json()["nonce"].as_str().unwrap()).unwrap()
    }
    pub async fn signed(&self, key: &Es256KeyPair, path: &str, body: &Value) -> Resp {
        let body = body.to_string().into_bytes();
        let n = self.nonce().await;
        let url = format!("{URL}{path}");
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
            self.addr,
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Spondon-Signature", &sig),
            ],
            &body,
        )
        .await
    }
    /// The trust-list entry: record key from the JWKS, log key from `log_vkey`.
    pub async fn hospital(&self) -> Hospital {
        let jwks = request(self.addr, "GET", "/.well-known/jwks.json", &[], b"")
            .await
            .json();
        let jwk: spondon_core::keys::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let log =
            spondon_ledger::Verifier::from_vkey(self.init["log_vkey"].as_str().unwrap()).unwrap();
        Hospital {
            id: URL.into(),
            name: "Dhaka Medical College Hospital".into(),
            peer_url: URL.into(),
            record_keys: vec![spondon_core::keys::Es256PublicKey::from_jwk(&jwk).unwrap()],
            log_key: *log.public_key(),
            log_origin: log.name().to_owned(),
        }
    }
}

/// Registers the node's doctor key at the peer and imports the credential into the node.
pub async fn enroll_doctor(peer: &PeerProc, node: &super::TestNode) {
    let r = peer
        .staff_post("/staff/doctors", &json!({"bmdc_number": "A-40112", "name": "Dr. Shirin Sultana", "department": "Medicine",
            "public_key": node.init["doctor_public_jwk"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let cred = super::write(
        node.dir.path(),
        "cred.txt",
        r.json()["credential"].as_str().unwrap(),
    );
    super::run(&[
        "doctor-credential",
        "import",
        "--data",
        node.data_str(),
        cred.to_str().unwrap(),
    ]);
}

/// A registered patient with an enrolled wallet key and three records (prescription, lab
/// report with a low platelet count, diagnosis). Returns (Health ID, key, enrollment credential).
pub async fn patient_with_records(peer: &PeerProc) -> (String, Es256KeyPair, Option<String>) {
    let r = peer
        .staff_post("/staff/patients", &json!({"name": "Fatema Begum", "birth_date": "1988-04-12", "sex": "female",
            "national_id": "1988000111", "phone": "01711-234567", "district": "Mymensingh", "upazila": "Trishal"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hid = r.json()["health_id"].as_str().unwrap().to_owned();
    let code = r.json()["enrollment_code"].as_str().unwrap().to_owned();
    let patient = Es256KeyPair::generate().unwrap();
    let r = peer
        .signed(
            &patient,
            "/patient/enroll",
            &json!({"health_id": hid, "code": code, "public_key": patient.public_key().to_jwk()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let enrollment = Some(
        r.json()["enrollment_credential"]
            .as_str()
            .expect("the peer's enrollment answer carries enrollment_credential")
            .to_owned(),
    );
    for rec in [
        json!({"health_id": hid, "kind": "prescription", "doctor_bmdc": "A-40112", "resources": [{
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Metformin 500 mg tablet"},
            "dosageInstruction": [{"text": "1 tablet twice daily with meals"}]}]}),
        json!({"health_id": hid, "kind": "lab_report", "resources": [
            {"resourceType": "DiagnosticReport", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
             "valueQuantity": {"value": 95, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
             "referenceRange": [{"low": {"value": 150, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
                                 "high": {"value": 450, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}}]},
            {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
             "valueQuantity": {"value": 12.9, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
             "referenceRange": [{"low": {"value": 12, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
                                 "high": {"value": 15.5, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}}]}]}),
        json!({"health_id": hid, "kind": "diagnosis", "resources": [
            {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9", "display": "Type 2 diabetes mellitus without complications"}]}}]}),
    ] {
        let r = peer.staff_post("/staff/records", &rec).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    (hid, patient, enrollment)
}

/// A small well-formed PDF (the peer checks its structure before it stores it).
pub fn report_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 72 712 Td (CBC 2026-12-06: platelets 95) Tj ET";
    let mut p = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    p.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    p.extend_from_slice(
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n",
    );
    p.extend_from_slice(format!("4 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    p.extend_from_slice(content);
    p.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n%%EOF\n");
    p
}

/// Uploads `pdf` at the peer and issues a document record of it for `hid`.
pub async fn issue_document(peer: &PeerProc, hid: &str, pdf: &[u8]) -> String {
    let auth = format!("Bearer {}", peer.staff);
    let r = request(
        peer.addr,
        "POST",
        "/staff/files",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/pdf"),
        ],
        pdf,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha = sha2::Sha256::digest(pdf);
    let hex: String = sha.iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(r.json()["sha256"], hex);
    let r = peer
        .staff_post(
            "/staff/records",
            &json!({"health_id": hid, "kind": "document", "resources": [{
                "resourceType": "DocumentReference", "status": "current",
                "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}], "text": "Complete blood count"},
                "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category", "code": "lab_result"}]}],
                "description": "CBC report from the lab system",
                "content": [{"attachment": {
                    "contentType": "application/pdf", "title": "cbc-2026-12-06.pdf",
                    "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                                   "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(sha)}]}}]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"]
        .as_str()
        .or(r.json()["record_id"].as_str())
        .unwrap_or_default()
        .to_owned()
}
