//! Documents at the clinic node (`docs/protocol.md` §18), end to end with a real `spondon-peer`
//! and the real `spondon-verifier` on 127.0.0.1: the hospital uploads a PDF and issues a
//! document record, the patient grants lab results, the node redeems, fetches the file with
//! `POST /grant/files`, checks it against the card and offers it as a download to the session
//! that redeemed — byte for byte, with headers that keep a browser from rendering it in the
//! page. A peer answering the file with one byte flipped is refused with `file_hash_mismatch`
//! and nothing is served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod node;

use node::peer::*;
use node::*;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Audience, Category, Grant, Purpose};

fn lab_grant(patient: &Es256KeyPair, kid: &str) -> String {
    let now = NumericDate::now();
    Grant {
        id: Grant::new_id().unwrap(),
        patient_key: patient.public_key().clone(),
        audience: Audience::Key {
            kid: kid.to_owned(),
        },
        categories: vec![Category::LabResult],
        record_ids: vec![],
        write: false,
        purpose: Purpose::Treatment,
        issued_at: now,
        not_before: now,
        expires: now.saturating_add(3600),
        use_limit: None,
        peers: vec![URL.to_owned()],
    }
    .sign(patient)
    .unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn document_of(out: &Value) -> Value {
    let docs = out["records"]["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{out}");
    docs[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_fetches_checks_and_offers_a_document() {
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
    enroll_doctor(&peer, &n).await;
    let (hid, patient, _) = peer.patient_with_records().await;
    let pdf = report_pdf();
    issue_document(&peer, &hid, &pdf).await;
    serve(&mut n, &[]).await;

    let text = lab_grant(&patient, &n.doctor_kid());
    let r = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    assert_eq!(out["records"]["failures"], json!([]), "{out}");
    let doc = document_of(&out);
    assert_eq!(doc["verified"], true, "{doc}");
    // The card's codes are minimized (SMART Health Cards drop `text`): LOINC 58410-2 by name.
    let title = doc["title"].as_str().unwrap();
    assert!(title.contains("CBC") || title.contains("58410-2"), "{doc}");
    assert_eq!(doc["file_name"], "cbc-2026-12-06.pdf");
    assert_eq!(doc["content_type"], "application/pdf");
    assert_eq!(doc["size"], pdf.len());
    assert_eq!(doc["sha256"], hex(&Sha256::digest(&pdf)));
    assert_eq!(doc["hospital"], "Dhaka Medical College Hospital");
    assert!(
        doc["statement"]
            .as_str()
            .unwrap()
            .starts_with("this PDF is the one Dhaka Medical College Hospital signed on "),
        "{doc}"
    );
    assert!(doc["problem"].is_null());
    // The document is in the timeline too, beside the lab report.
    let timeline = out["records"]["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t["kind"] == "document" && t["document"]["verified"] == true),
        "{out}"
    );

    // The download, to the same staff token that redeemed: byte for byte, never rendered.
    let url = doc["download"].as_str().unwrap();
    let got = n.get(url).await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body, pdf);
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"cbc-2026-12-06.pdf\"")
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("content-security-policy"), Some("sandbox"));
    assert_eq!(got.header("cache-control"), Some("no-store"));
    // Not to another session of the same staff member, nor without one, nor by a guessed id.
    let login = request(
        n.addr,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"token": n.token}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text());
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let other = request(n.addr, "GET", url, &[("Cookie", &cookie)], b"").await;
    assert_eq!(other.status, 404, "{}", other.text());
    assert_eq!(other.code(), "file_not_found");
    let anon = request(n.addr, "GET", url, &[], b"").await;
    assert_eq!(anon.status, 401);
    let guessed = n
        .get("/api/document/file/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(guessed.status, 404);
    // The session that redeemed through the page gets its own link.
    let r = request(
        n.addr,
        "POST",
        "/api/grant/records",
        &[
            ("Cookie", &cookie),
            ("X-Spondon-Request", "1"),
            ("Content-Type", "application/json"),
        ],
        json!({"grant": text}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url2 = document_of(&r.json())["download"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = request(n.addr, "GET", &url2, &[("Cookie", &cookie)], b"").await;
    assert_eq!(got.body, pdf);
    // Logging out forgets the session's files.
    let out = request(
        n.addr,
        "POST",
        "/api/logout",
        &[("Cookie", &cookie), ("X-Spondon-Request", "1")],
        b"",
    )
    .await;
    assert_eq!(out.status, 200);

    // The receipts and the log say nothing of the document.
    let log = stop(&mut n);
    for word in ["Complete blood count", "cbc-2026", "platelets", &hid] {
        assert!(!log.contains(word), "the log mentions {word}: {log}");
    }
}

/// A proxy in front of the real peer that flips one byte of every `/grant/files` answer's body.
async fn flipping_proxy(peer: std::net::SocketAddr) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
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
                let is_file = buf.starts_with(b"POST /grant/files ");
                let at = buf.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
                buf.splice(at..at, b"Connection: close\r\n".iter().copied());
                let mut up = tokio::net::TcpStream::connect(peer).await.unwrap();
                up.write_all(&buf).await.unwrap();
                let mut resp = Vec::new();
                up.read_to_end(&mut resp).await.unwrap();
                if is_file && resp.starts_with(b"HTTP/1.1 200") {
                    let body = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    resp[body + 20] ^= 0x01;
                }
                s.write_all(&resp).await.unwrap();
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_one_byte_flipped_is_refused_and_never_served() {
    let peer = start_peer().await;
    let root = Es256KeyPair::generate().unwrap();
    let list = trust_list(vec![peer.hospital().await], 1);
    let mut n = init_node(&root, &list, None);
    enroll_doctor(&peer, &n).await;
    let (hid, patient, _) = peer.patient_with_records().await;
    let pdf = report_pdf();
    issue_document(&peer, &hid, &pdf).await;
    let proxy = flipping_proxy(peer.addr).await;
    run(&[
        "peer-address",
        "--data",
        n.data_str(),
        URL,
        &format!("http://{proxy}"),
    ]);
    serve(&mut n, &[]).await;
    let text = lab_grant(&patient, &n.doctor_kid());
    let r = n
        .post_json("/api/grant/records", &json!({"grant": text}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    // The cards are genuine (the proxy leaves them alone): the lab report is shown...
    assert_eq!(
        out["records"]["lab_results"].as_array().unwrap().len(),
        2,
        "{out}"
    );
    // ...the document's file is refused, says why, and has no download.
    let doc = document_of(&out);
    assert_eq!(doc["verified"], false, "{doc}");
    assert_eq!(doc["problem"]["code"], "file_hash_mismatch", "{doc}");
    assert!(doc["download"].is_null(), "{doc}");
    assert!(doc["statement"].is_null(), "{doc}");
    assert!(!out.to_string().contains("/api/document/file/"), "{out}");
    stop(&mut n);
}
