//! Documents (`docs/protocol.md` §18) over real HTTP on 127.0.0.1, on SQLite and PostgreSQL:
//! staff upload a file, issue a record naming it, the patient fetches it, a doctor under a
//! grant fetches it (logged, in the receipts); hostile uploads are refused with their code and
//! nothing is stored; unreferenced files are purged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_testkit::inproc as common;

use std::io::Write as _;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::shc::ParsedCard;
use spondon_core::token::{
    Audience, Category, Delegation, Grant, PopProof, PopRequest, Purpose, Revocation,
    RevocationTarget, Scope,
};
use spondon_document::{Attachment, FileType, MAX_FILE_BYTES, sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// --- Files, made by hand ---

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn pdf_with(stream: &[u8]) -> Vec<u8> {
    let mut p = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    p.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    p.extend_from_slice(
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n",
    );
    p.extend_from_slice(
        format!(
            "4 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            stream.len()
        )
        .as_bytes(),
    );
    p.extend_from_slice(stream);
    p.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n%%EOF\n");
    p
}

fn pdf(text: &str) -> Vec<u8> {
    pdf_with(&zlib(
        format!("BT /F1 12 Tf 72 712 Td ({text}) Tj ET").as_bytes(),
    ))
}

/// A tiny PDF whose one Flate stream is 300 MB of zeros.
fn pdf_bomb() -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mib = vec![0u8; 1 << 20];
    for _ in 0..300 {
        e.write_all(&mib).unwrap();
    }
    pdf_with(&e.finish().unwrap())
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    j.extend(segment(0xC0, &[8, 0, 16, 0, 16, 1, 1, 0x11, 0]));
    j.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
    j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]);
    j
}

fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    c.extend_from_slice(ty);
    c.extend_from_slice(data);
    let mut h = crc32fast_hash(ty, data).to_be_bytes().to_vec();
    c.append(&mut h);
    c
}

fn crc32fast_hash(ty: &[u8], data: &[u8]) -> u32 {
    // CRC-32 (IEEE), bitwise: the test does not lean on the crate under test.
    let mut crc = 0xFFFF_FFFFu32;
    for &b in ty.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png() -> Vec<u8> {
    let mut p = FileType::Png.magic().to_vec();
    let mut ihdr = 1u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    p.extend(chunk(b"IHDR", &ihdr));
    p.extend(chunk(b"IDAT", &zlib(&[0, 0x80])));
    p.extend(chunk(b"IEND", b""));
    p
}

// --- Requests ---

async fn upload(tp: &TestPeer, bytes: &[u8], content_type: &str) -> Resp {
    let auth = tp.auth();
    request(
        tp.addr,
        "POST",
        "/staff/files",
        &[("Authorization", &auth), ("Content-Type", content_type)],
        bytes,
    )
    .await
}

fn doc_ref(file_sha: &[u8; 32], mime: &str, category: &str) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}], "text": "Complete blood count"},
        "category": [{"coding": [{"system": "https://spondon.health/fhir/CodeSystem/record-category", "code": category}]}],
        "description": "CBC report from the lab system",
        "content": [{"attachment": {
            "contentType": mime,
            "title": "cbc-2026-12-06.pdf",
            "creation": "2026-12-06T09:12:00Z",
            "extension": [{"url": "https://spondon.health/fhir/StructureDefinition/attachment-sha256",
                           "valueBase64Binary": base64::engine::general_purpose::STANDARD.encode(file_sha)}]
        }}]
    })
}

fn document(hid: &str, resource: Value) -> Value {
    json!({"health_id": hid, "kind": "document", "resources": [resource]})
}

fn grant(
    patient: &Es256KeyPair,
    doctor: &Es256KeyPair,
    categories: Vec<Category>,
) -> (Grant, String) {
    let now = NumericDate::now();
    let g = Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: doctor.public_key().kid().to_owned(),
        },
        categories,
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    };
    let text = g.sign(patient).unwrap();
    (g, text)
}

async fn grant_file(tp: &TestPeer, g: &Grant, text: &str, doctor: &Es256KeyPair, id: &str) -> Resp {
    let n = nonce(tp).await;
    let url = format!("{URL}/grant/files");
    let body = json!({"grant": text, "record_id": id})
        .to_string()
        .into_bytes();
    let target = PopRequest {
        method: "POST",
        url: &url,
        nonce: &n,
        body: &body,
    };
    let pop = PopProof::create(doctor, g.id, &target, NumericDate::now()).unwrap();
    request(
        tp.addr,
        "POST",
        "/grant/files",
        &[("Content-Type", "application/json"), ("Spondon-PoP", &pop)],
        &body,
    )
    .await
}

fn id_of(r: &Resp) -> String {
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

// --- Tests ---

async fn flow(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, patient) = enrolled_patient(&tp, "1975001111").await;
    let file = pdf("CBC report");
    let r = upload(&tp, &file, "application/pdf").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let hash = sha256(&file);
    assert_eq!(
        r.json(),
        json!({"sha256": hex::encode(hash), "size": file.len(), "content_type": "application/pdf"})
    );
    // The same bytes again: 200, still one file.
    let r = upload(&tp, &file, "application/pdf; charset=binary").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(tp.peer.file_count().await.unwrap(), 1);

    // Issue: the card names the file (type, size filled in, SHA-256), never its bytes.
    let r = tp
        .staff_post(
            "/staff/records",
            &document(&hid, doc_ref(&hash, "application/pdf", "lab_result")),
        )
        .await;
    let id = id_of(&r);
    let issued = r.json();
    assert_eq!(issued["kind"], "document");
    assert_eq!(issued["category"], "lab_result");
    let card = ParsedCard::parse(issued["jws"].as_str().unwrap()).unwrap();
    let att = Attachment::from_card_fhir(card.fhir_bundle())
        .unwrap()
        .unwrap();
    assert_eq!(
        (att.file_type, att.size, att.sha256),
        (FileType::Pdf, file.len() as u64, hash)
    );
    assert_eq!(att.title.as_deref(), Some("cbc-2026-12-06.pdf"));
    att.check(&file).unwrap();
    let doc = card.fhir_bundle()["entry"][1]["resource"].clone();
    assert_eq!(doc["subject"]["reference"], "resource:0");
    assert!(doc["content"][0]["attachment"].get("data").is_none());

    // The patient's pull lists it; the patient fetches the file, which matches the card.
    let pull = signed(&tp, &patient, "/patient/records", &json!({})).await;
    assert_eq!(pull.status, 200, "{}", pull.text());
    assert_eq!(pull.json()["records"][0]["kind"], "document");
    let r = signed(&tp, &patient, "/patient/files", &json!({"record_id": id})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("content-disposition"), Some("attachment"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.header("content-length"),
        Some(file.len().to_string().as_str())
    );
    assert_eq!(r.body, file);
    att.check(&r.body).unwrap();

    // Another patient's record, an unknown one: the same record_not_found; no file: not_a_document.
    let (hid2, other) = enrolled_patient(&tp, "1975001222").await;
    let r = signed(&tp, &other, "/patient/files", &json!({"record_id": id})).await;
    assert_eq!((r.status, r.code().as_str()), (404, "record_not_found"));
    let r = signed(
        &tp,
        &patient,
        "/patient/files",
        &json!({"record_id": "AAAAAAAAAAAAAAAAAAAAAA"}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (404, "record_not_found"));
    let lab = id_of(&tp.staff_post("/staff/records", &lab_report(&hid)).await);
    let r = signed(&tp, &patient, "/patient/files", &json!({"record_id": lab})).await;
    assert_eq!((r.status, r.code().as_str()), (422, "not_a_document"));

    // A PNG (an X-ray) as a diagnosis document of the other patient, by a doctor.
    let (bmdc, _) = register_doctor(&tp, "A-3001").await;
    let image = png();
    assert_eq!(upload(&tp, &image, "image/png").await.status, 201);
    let mut req = document(&hid2, doc_ref(&sha256(&image), "image/png", "diagnosis"));
    req["doctor_bmdc"] = json!(bmdc);
    let xray = id_of(&tp.staff_post("/staff/records", &req).await);
    let r = signed(&tp, &other, "/patient/files", &json!({"record_id": xray})).await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(r.body, image);

    // Under a grant of lab results: the document, logged; a record it does not cover is
    // refused; after the revocation, the document too.
    let doctor = Es256KeyPair::generate().unwrap();
    let rx_doc = {
        let scan = pdf("prescription scan");
        assert_eq!(upload(&tp, &scan, "application/pdf").await.status, 201);
        let req = document(
            &hid,
            doc_ref(&sha256(&scan), "application/pdf", "prescription"),
        );
        id_of(&tp.staff_post("/staff/records", &req).await)
    };
    let (g, text) = grant(&patient, &doctor, vec![Category::LabResult]);
    let r = grant_file(&tp, &g, &text, &doctor, &id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, file);
    att.check(&r.body).unwrap();
    let r = grant_file(&tp, &g, &text, &doctor, &rx_doc).await;
    assert_eq!((r.status, r.code().as_str()), (403, "out_of_scope"));
    let r = grant_file(&tp, &g, &text, &doctor, &lab).await;
    assert_eq!((r.status, r.code().as_str()), (422, "not_a_document"));
    let receipts = signed(&tp, &patient, "/patient/receipts", &json!({})).await;
    assert_eq!(receipts.status, 200, "{}", receipts.text());
    let events: Vec<Value> = receipts.json()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].clone())
        .collect();
    assert!(
        events.iter().any(|e| e["outcome"] == "allowed"
            && e["action"] == "download"
            && e["records"] == json!([id])),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["outcome"] == "denied" && e["reason"] == "out_of_scope"),
        "{events:?}"
    );
    // A delegate with view over lab results: the document, logged; not the prescription.
    let parent = Es256KeyPair::generate().unwrap();
    let now = NumericDate::now();
    let d = Delegation {
        id: Delegation::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        delegate_key: parent.public_key().clone(),
        scopes: vec![Scope::View],
        categories: vec![Category::LabResult],
        peers: vec![URL.to_owned()],
        guardians: vec![],
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(86_400),
    };
    let text_d = d.sign(&patient).unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/delegations",
        &json!({"delegation": text_d}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let kid = patient.public_key().kid().to_owned();
    let size = tp.peer.log.tree_head().await.0;
    let r = signed(
        &tp,
        &parent,
        "/delegate/files",
        &json!({"patient": kid, "record_id": id}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, file);
    assert_eq!(
        tp.peer.log.tree_head().await.0,
        size + 1,
        "the delegate's access is logged"
    );
    let r = signed(
        &tp,
        &parent,
        "/delegate/files",
        &json!({"patient": kid, "record_id": rx_doc}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (404, "record_not_found"));
    let r = signed(
        &tp,
        &doctor,
        "/delegate/files",
        &json!({"patient": kid, "record_id": id}),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "not_a_delegate"));

    let revocation = Revocation {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        target: RevocationTarget::Grant { grant_id: g.id },
        issued_at: NumericDate::now(),
    }
    .sign(&patient)
    .unwrap();
    let r = signed(
        &tp,
        &patient,
        "/patient/revocations",
        &json!({"revocation": revocation}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = grant_file(&tp, &g, &text, &doctor, &id).await;
    assert_eq!((r.status, r.code().as_str()), (403, "revoked"));
    tp.stop().await;
}

#[tokio::test]
async fn a_document_is_uploaded_issued_and_fetched_by_the_patient_and_under_a_grant() {
    for db in engines("documents_flow").await {
        flow(db.as_deref()).await;
    }
}

/// Sends a request head (no body) and reads the answer; `body` is then written in chunks
/// while the server has not closed the connection.
async fn raw(tp: &TestPeer, head: &str, body: impl Iterator<Item = Vec<u8>>) -> String {
    let mut s = tokio::net::TcpStream::connect(tp.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    for piece in body {
        if s.write_all(&piece).await.is_err() {
            break;
        }
    }
    let mut buf = Vec::new();
    // A hang guard, not a speed target: the answer below is the outcome.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

async fn hostile(db: Option<&str>) {
    let tp = start(db).await;
    let (hid, _) = enrolled_patient(&tp, "1975002111").await;
    let mut cut_jpeg = jpeg();
    cut_jpeg.truncate(cut_jpeg.len() - 4);
    let mut bad_crc = png();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xFF;
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        ("PDF bomb", pdf_bomb(), "application/pdf", 422, "pdf_bomb"),
        (
            "truncated JPEG",
            cut_jpeg,
            "image/jpeg",
            422,
            "file_truncated",
        ),
        (
            "PNG with a bad CRC",
            bad_crc,
            "image/png",
            422,
            "file_malformed",
        ),
        (
            "a PDF sent as PNG",
            pdf("x"),
            "image/png",
            422,
            "file_type_mismatch",
        ),
        (
            "HTML",
            b"<html><script>alert(1)</script></html>".to_vec(),
            "text/html",
            415,
            "unsupported_file_type",
        ),
        (
            "no type",
            pdf("x"),
            "application/octet-stream",
            415,
            "unsupported_file_type",
        ),
        (
            "empty",
            Vec::new(),
            "application/pdf",
            413,
            "file_too_large",
        ),
    ];
    for (what, bytes, ct, status, code) in cases {
        let r = upload(&tp, &bytes, ct).await;
        assert_eq!((r.status, r.code().as_str()), (status, code), "{what}");
    }
    assert_eq!(tp.peer.file_count().await.unwrap(), 0, "nothing stored");

    // A declared 2 GB upload is refused from its head alone; nothing is sent.
    let auth = tp.auth();
    let head = format!(
        "POST /staff/files HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Type: application/pdf\r\nContent-Length: 2147483648\r\n\r\n%PDF-1.7\n"
    );
    let text = raw(&tp, &head, std::iter::empty()).await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("file_too_large"), "{text}");
    // A chunked upload (no length) past 25 MiB is refused while it is read.
    let head = format!(
        "POST /staff/files HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mib = 1usize << 20;
    let chunks = (0..(MAX_FILE_BYTES as usize / mib + 2)).map(move |i| {
        let mut c = format!("{mib:x}\r\n").into_bytes();
        c.extend(std::iter::repeat_n(if i == 0 { b'%' } else { b' ' }, mib));
        c.extend_from_slice(b"\r\n");
        c
    });
    let text = raw(
        &tp,
        &head,
        chunks.chain(std::iter::once(b"0\r\n\r\n".to_vec())),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("file_too_large"), "{text}");
    assert_eq!(tp.peer.file_count().await.unwrap(), 0, "nothing stored");

    // Records naming files wrongly: nothing issued.
    let records = tp.peer.record_count(None).await.unwrap();
    let never = sha256(b"never uploaded");
    let r = tp
        .staff_post(
            "/staff/records",
            &document(&hid, doc_ref(&never, "application/pdf", "lab_result")),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "file_not_uploaded"));
    let image = png();
    assert_eq!(upload(&tp, &image, "image/png").await.status, 201);
    let hash = sha256(&image);
    let r = tp
        .staff_post(
            "/staff/records",
            &document(&hid, doc_ref(&hash, "application/pdf", "lab_result")),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "file_type_mismatch"));
    for (field, value) in [
        ("data", json!("iVBORw0KGgo=")),
        ("url", json!("https://evil.example/x.png")),
        ("hash", json!("2jmj7l5rSw0yVb/vlWAYkK/YBwk=")),
    ] {
        let mut d = doc_ref(&hash, "image/png", "lab_result");
        d["content"][0]["attachment"][field] = value;
        let r = tp.staff_post("/staff/records", &document(&hid, d)).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "invalid_document_reference"),
            "{field}"
        );
    }
    let mut wrong_size = doc_ref(&hash, "image/png", "lab_result");
    wrong_size["content"][0]["attachment"]["size"] = json!(image.len() + 1);
    let r = tp
        .staff_post("/staff/records", &document(&hid, wrong_size))
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "file_size_mismatch"));
    let mut no_category = doc_ref(&hash, "image/png", "lab_result");
    no_category["category"] = json!([]);
    let r = tp
        .staff_post("/staff/records", &document(&hid, no_category))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_document_reference")
    );
    assert_eq!(
        tp.peer.record_count(None).await.unwrap(),
        records,
        "nothing issued"
    );
    tp.stop().await;
}

#[tokio::test]
async fn hostile_files_are_refused_with_their_code_and_nothing_is_stored() {
    for db in engines("documents_hostile").await {
        hostile(db.as_deref()).await;
    }
}

async fn purge(db: Option<&str>) {
    // Unreferenced files are kept 0 seconds: each upload deletes every earlier unused one.
    let tp = start_with(db, |c| c.unreferenced_file_secs = 0).await;
    let (hid, patient) = enrolled_patient(&tp, "1975003111").await;
    let (a, b, c) = (pdf("a"), pdf("b"), pdf("c"));
    assert_eq!(upload(&tp, &a, "application/pdf").await.status, 201);
    assert_eq!(upload(&tp, &b, "application/pdf").await.status, 201);
    assert_eq!(tp.peer.file_count().await.unwrap(), 1, "a was purged");
    let r = tp
        .staff_post(
            "/staff/records",
            &document(&hid, doc_ref(&sha256(&a), "application/pdf", "note")),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "file_not_uploaded"));
    let id = id_of(
        &tp.staff_post(
            "/staff/records",
            &document(&hid, doc_ref(&sha256(&b), "application/pdf", "note")),
        )
        .await,
    );
    // b is referenced now: the next upload's purge keeps it.
    assert_eq!(upload(&tp, &c, "application/pdf").await.status, 201);
    assert_eq!(
        tp.peer.purge_files().await.unwrap(),
        1,
        "c, unreferenced, goes"
    );
    assert_eq!(tp.peer.file_count().await.unwrap(), 1);
    let r = signed(&tp, &patient, "/patient/files", &json!({"record_id": id})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b);
    tp.stop().await;
}

#[tokio::test]
async fn unreferenced_files_are_purged_and_referenced_ones_kept() {
    for db in engines("documents_purge").await {
        purge(db.as_deref()).await;
    }
}
