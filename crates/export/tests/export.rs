//! Export files, PDFs and links built from real signed cards and real ledger proofs, and their
//! offline verification: round trips, tampering, wrong keys, unknown issuers, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Hospital1, ISS, NAME, ORIGIN, T0, now};
use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::shc::{self, CardBuilder};
use spondon_core::shl::{ShlPayload, decrypt_file};
use spondon_export::{
    Anchors, Export, ExportError, ExportRecord, PdfOptions, RecordProof, ShareReceipt, build_ips,
    extract_export_from_pdf, parse_export, render_pdf, shl_export, verify_export, write_export,
};

fn anchors(h: &Hospital1) -> Anchors {
    let mut a = Anchors::from_trust_list(&h.trust_list()).unwrap();
    a.witnesses.push(h.witness.clone());
    a.min_cosignatures = 1;
    a
}

fn codes(r: &spondon_export::CardReport) -> Vec<&str> {
    r.errors.iter().map(|p| p.code.as_str()).collect()
}

/// Flips one character of a base64url segment of a JWS (`part` 1 = payload, 2 = signature).
fn tamper_jws(jws: &str, part: usize) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let seg = &mut parts[part];
    let mid = seg.len() / 2;
    let c = seg.as_bytes()[mid];
    let new = if c == b'A' { 'B' } else { 'A' };
    seg.replace_range(mid..mid + 1, &new.to_string());
    parts.join(".")
}

#[tokio::test]
async fn round_trip_and_full_verification() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let bytes = write_export(&export);
    // Any SMART Health Card reader sees a normal file.
    let file = shc::HealthCardFile::from_json(std::str::from_utf8(&bytes).unwrap()).unwrap();
    assert_eq!(file.verifiable_credential.len(), 3);
    let parsed = parse_export(&bytes).unwrap();
    assert_eq!(parsed, export);

    let report = verify_export(&parsed, &anchors(&h), now());
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.created, T0 + 7_200);
    assert_eq!(report.cards.len(), 3);
    for (i, card) in report.cards.iter().enumerate() {
        assert!(card.valid && card.unaltered, "{card:#?}");
        assert_eq!(card.issuer.as_deref(), Some(ISS));
        assert_eq!(card.issuer_name.as_deref(), Some(NAME));
        assert_eq!(card.issued.as_ref().unwrap().as_i64(), Some(T0 + i as i64));
        let log = card.log.as_ref().unwrap();
        assert_eq!(log.log, ORIGIN);
        assert_eq!(log.index, 5 + i as u64);
        assert_eq!(log.logged_at, T0 + i as i64);
        assert_eq!(log.checkpoint_size, 9);
        assert_eq!(log.witness_cosignatures, 1);
        assert_eq!(log.other_signatures, 0);
    }
    // The receipt names rec0 and rec2.
    assert_eq!(report.cards[0].shared, vec![T0 + 3_600]);
    assert!(report.cards[1].shared.is_empty());
    assert_eq!(report.cards[2].shared, vec![T0 + 3_600]);
    let summary = report.summary.as_ref().unwrap();
    assert!(!summary.signed);
    assert!(summary.entries > 0);
    assert_eq!(summary.traced, summary.entries);
    // Nothing of the health content in the report.
    let json = serde_json::to_string(&report).unwrap();
    for secret in ["Fatema", "Platelets", "Paracetamol", "A97.0", "1234-5678"] {
        assert!(!json.contains(secret), "report reveals {secret}");
    }

    // Without witness anchors the cosignature is present but not counted as trusted.
    let plain = Anchors::from_trust_list(&h.trust_list()).unwrap();
    let report = verify_export(&parsed, &plain, now());
    assert!(report.valid);
    let log = report.cards[0].log.as_ref().unwrap();
    assert_eq!((log.witness_cosignatures, log.other_signatures), (0, 1));
}

#[tokio::test]
async fn the_patient_summary_is_an_ips_document() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let ips = export.patient_summary.as_ref().unwrap();
    assert_eq!(ips["resourceType"], "Bundle");
    assert_eq!(ips["type"], "document");
    let entries = ips["entry"].as_array().unwrap();
    let comp = &entries[0]["resource"];
    assert_eq!(comp["resourceType"], "Composition");
    assert_eq!(comp["type"]["coding"][0]["code"], "60591-5");
    assert!(
        comp["text"]["div"]
            .as_str()
            .unwrap()
            .contains("not signed by any hospital")
    );
    let sections: Vec<&str> = comp["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["11450-4", "48765-2", "10160-0", "30954-2"]);
    // Allergies: none exported, said so.
    assert_eq!(
        comp["section"][1]["emptyReason"]["coding"][0]["code"],
        "unavailable"
    );
    // Every reference resolves inside the document; every fullUrl is a urn:uuid.
    let urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert!(urls.iter().all(|u| u.starts_with("urn:uuid:")));
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("reference") {
                    out.push(r);
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(ips, &mut all);
    assert!(!all.is_empty());
    for r in all {
        assert!(urls.contains(&r), "dangling reference {r}");
    }
    // One patient, traced to its source.
    let patients: Vec<&Value> = entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Patient")
        .collect();
    assert_eq!(patients.len(), 1);
    assert_eq!(
        patients[0]["resource"]["meta"]["source"],
        "https://dmch.example#rec0"
    );
    // A summary made from no cards is still a valid empty document.
    let empty = build_ips(&spondon_export::PatientSummaryInput {
        records: &[],
        created: NumericDate(T0),
    })
    .unwrap();
    assert_eq!(empty["entry"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn tampering_is_detected() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let a = anchors(&h);

    // A card's payload altered: its signature fails.
    let mut bad = export.clone();
    bad.records[1].jws = tamper_jws(&bad.records[1].jws, 2);
    let report = verify_export(&bad, &a, now());
    assert!(!report.valid);
    assert!(report.cards[0].valid && !report.cards[1].valid);
    assert!(!report.cards[1].unaltered);

    // A proof's inclusion path altered.
    let mut bad = export.clone();
    let proof = bad.records[0].proof.as_mut().unwrap();
    proof.bundle.proof[0][0] ^= 1;
    let report = verify_export(&bad, &a, now());
    assert!(!report.valid);
    assert!(report.cards[0].unaltered);
    assert_eq!(codes(&report.cards[0]), ["log_proof_invalid"]);

    // Proofs swapped between two cards: each proof is genuine, but opens another record.
    let mut bad = export.clone();
    let p0 = bad.records[0].proof.clone();
    bad.records[0].proof = bad.records[1].proof.clone();
    bad.records[1].proof = p0;
    let report = verify_export(&bad, &a, now());
    assert_eq!(codes(&report.cards[0]), ["log_commitment_mismatch"]);
    assert_eq!(codes(&report.cards[1]), ["log_commitment_mismatch"]);

    // Wrong salt.
    let mut bad = export.clone();
    bad.records[2].proof.as_mut().unwrap().salt[0] ^= 1;
    assert_eq!(
        codes(&verify_export(&bad, &a, now()).cards[2]),
        ["log_commitment_mismatch"]
    );

    // The checkpoint's signature altered.
    let mut bad = export.clone();
    let cp = &mut bad.records[0].proof.as_mut().unwrap().bundle.checkpoint;
    *cp = cp.replace("dmch.example/log\n9\n", "dmch.example/log\n10\n");
    assert_eq!(
        codes(&verify_export(&bad, &a, now()).cards[0]),
        ["log_proof_invalid"]
    );

    // A receipt's event altered (another record added): it no longer opens.
    let mut bad = export.clone();
    bad.receipts[0].event = bad.receipts[0].event.replace("\"rec0\"", "\"rec1\"");
    let report = verify_export(&bad, &a, now());
    assert!(!report.valid);
    assert_eq!(report.errors[0].code, "log_commitment_mismatch");
    assert!(report.cards[1].shared.is_empty());

    // The unsigned summary altered (a result value changed): untraced.
    let mut bad = export.clone();
    let text = bad
        .patient_summary
        .as_ref()
        .unwrap()
        .to_string()
        .replace("85.2", "185.2");
    bad.patient_summary = Some(serde_json::from_str(&text).unwrap());
    let report = verify_export(&bad, &a, now());
    assert!(!report.valid);
    assert!(report.cards.iter().all(|c| c.valid));
    assert_eq!(report.errors[0].code, "summary_untraced");
    assert_eq!(
        report.summary.as_ref().unwrap().traced + 1,
        report.summary.as_ref().unwrap().entries
    );
}

#[tokio::test]
async fn wrong_log_key_unknown_issuer_and_missing_witness() {
    let h = Hospital1::new().await;
    let export = h.export().await;

    // The trust list names another log key for this hospital.
    let mut list = h.trust_list();
    list.hospitals[0].log_key = *Ed25519KeyPair::generate().unwrap().public_key();
    let report = verify_export(&export, &Anchors::from_trust_list(&list).unwrap(), now());
    assert!(!report.valid);
    assert!(report.cards.iter().all(|c| c.unaltered));
    assert!(
        report
            .cards
            .iter()
            .all(|c| codes(c) == ["log_proof_invalid"] && c.log.is_none())
    );

    // A card validly signed by an issuer nobody trusts.
    let stranger = Es256KeyPair::generate().unwrap();
    let (bundle, _) = common::bundles().remove(1);
    let jws = CardBuilder::new("https://stranger.example", NumericDate(T0), bundle)
        .sign(&stranger)
        .unwrap();
    let mut mixed = export.clone();
    mixed.records.push(ExportRecord {
        jws,
        proof: mixed.records[0].proof.clone(),
    });
    let report = verify_export(&mixed, &anchors(&h), now());
    assert!(!report.valid);
    let card = &report.cards[3];
    assert_eq!(card.issuer.as_deref(), Some("https://stranger.example"));
    assert!(!card.unaltered);
    assert_eq!(codes(card), ["issuer_not_trusted", "log_not_trusted"]);
    assert!(report.cards[..3].iter().all(|c| c.valid));

    // Two cosignatures required, one present.
    let mut a = anchors(&h);
    a.min_cosignatures = 2;
    let report = verify_export(&export, &a, now());
    assert!(
        report
            .cards
            .iter()
            .all(|c| codes(c) == ["log_proof_invalid"])
    );

    // A card without its proof is valid, with a warning; no trust at all: nothing valid.
    let mut bare = export.clone();
    bare.records[0].proof = None;
    let report = verify_export(&bare, &anchors(&h), now());
    assert!(report.valid);
    assert_eq!(report.cards[0].warnings[0].code, "no_log_proof");
    let report = verify_export(&export, &Anchors::default(), now());
    assert!(!report.valid);
    // Judged before the cards' issue date: not yet valid, but unaltered.
    let report = verify_export(&export, &anchors(&h), NumericDate(T0 - 10));
    assert!(!report.valid);
    assert!(
        report
            .cards
            .iter()
            .all(|c| c.unaltered && codes(c) == ["not_yet_valid"])
    );
}

#[tokio::test]
async fn bad_files_give_clear_errors() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let bytes = write_export(&export);
    let err = |b: &[u8]| parse_export(b).unwrap_err();

    assert!(matches!(err(b""), ExportError::Empty));
    assert!(matches!(err(b"   \n"), ExportError::Empty));
    assert!(matches!(err(&[0xff, 0xfe, 0x7b]), ExportError::NotUtf8));
    assert!(matches!(err(b"not json"), ExportError::NotJson(_)));
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(err(&bytes[..cut]).code(), "export_not_json", "cut at {cut}");
    }
    let big = vec![b' '; spondon_export::MAX_EXPORT_BYTES + 1];
    assert!(matches!(err(&big), ExportError::TooLarge { .. }));
    assert_eq!(err(b"{\"verifiableCredential\": []}").code(), "bad_file");
    assert_eq!(err(b"[1,2]").code(), "bad_file");

    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = v.clone();
        f(&mut v);
        parse_export(v.to_string().as_bytes()).unwrap_err()
    };
    assert!(matches!(
        with(&|v| v["spondon"]["version"] = 2.into()),
        ExportError::UnsupportedVersion(2)
    ));
    assert_eq!(
        with(&|v| v["spondon"]["extra"] = 1.into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["proofs"][0]["card"] = 7.into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["proofs"][1]["card"] = 0.into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["proofs"][0]["salt"] = "abc".into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["proofs"][0]["bundle"] = "c2sp.org/tlog-proof@v1\nindex x\n".into())
            .code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["receipts"][0]["bundle"] = "nope".into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["patientSummary"] = 3.into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"]["created"] = (-1).into()).code(),
        "export_bad_member"
    );
    assert_eq!(
        with(&|v| v["spondon"] = "x".into()).code(),
        "export_bad_member"
    );
    // A plain SMART Health Card file is an export without proofs.
    v.as_object_mut().unwrap().remove("spondon");
    let plain = parse_export(v.to_string().as_bytes()).unwrap();
    assert_eq!(plain.records.len(), 3);
    assert!(plain.records.iter().all(|r| r.proof.is_none()));
    assert!(plain.patient_summary.is_none());
}

#[tokio::test]
async fn pdf_round_trip_and_bad_pdfs() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let options = PdfOptions {
        issuer_names: vec![(ISS.into(), NAME.into())],
        verify_url: Some("https://clinic.example/check".into()),
        passport: Some("A01234567".into()),
        national_id: Some("1990 2691 0000 1234".into()),
        ..PdfOptions::default()
    };
    let pdf = render_pdf(&export, &options).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    // SPONDON_EXPORT_PDF_OUT=DIR keeps the outputs (to look at them, and as fuzz seeds).
    if let Ok(dir) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        std::fs::write(format!("{dir}/export.pdf"), &pdf).unwrap();
        std::fs::write(
            format!("{dir}/export.smart-health-card"),
            write_export(&export),
        )
        .unwrap();
        let mut one = export.clone();
        one.records.truncate(1);
        one.receipts.clear();
        one.patient_summary = None;
        let small = render_pdf(&one, &PdfOptions::default()).unwrap();
        std::fs::write(format!("{dir}/one-card.pdf"), small).unwrap();
    }
    let file = extract_export_from_pdf(&pdf).unwrap();
    assert_eq!(file, write_export(&export));
    let back = parse_export(&file).unwrap();
    assert_eq!(back, export);
    assert!(verify_export(&back, &anchors(&h), now()).valid);

    // Each record's QR is the standard shc:/ text of its card (checked by decoding the PDF's
    // rendering elsewhere; here: the card fits one QR).
    for r in &export.records {
        shc::encode_numeric(&r.jws).unwrap();
    }

    // With a link, and with a long name outside WinAnsi.
    let link = shl_export(&file, "https://files.example/x.jwe", Some("IPS"), None).unwrap();
    let pdf2 = render_pdf(
        &export,
        &PdfOptions {
            issuer_names: vec![(ISS.into(), "ঢাকা মেডিকেল কলেজ হাসপাতাল".into())],
            link: Some(link.shlink.to_string()),
            ..PdfOptions::default()
        },
    )
    .unwrap();
    assert_eq!(extract_export_from_pdf(&pdf2).unwrap(), file);

    assert!(matches!(
        extract_export_from_pdf(b"hello"),
        Err(ExportError::NotPdf)
    ));
    assert!(matches!(
        extract_export_from_pdf(b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n%%EOF"),
        Err(ExportError::NoAttachment)
    ));
    // Truncated anywhere: an error or the intact file, never a panic or a wrong file.
    for cut in (0..pdf.len()).step_by(pdf.len() / 97 + 1) {
        if let Ok(f) = extract_export_from_pdf(&pdf[..cut]) {
            assert_eq!(f, file);
        }
    }
    let big = [
        b"%PDF-1.7\n".as_slice(),
        &vec![b' '; spondon_export::MAX_PDF_BYTES],
    ]
    .concat();
    assert!(matches!(
        extract_export_from_pdf(&big),
        Err(ExportError::TooLarge { .. })
    ));
    // The attachment is stored compressed; a tool that re-saves it uncompressed, or compresses
    // it again, leaves it readable.
    assert!(!pdf.windows(20).any(|w| w == b"verifiableCredential"));
    // Its MIME type as PDF names write it (`/` escaped once).
    assert!(
        String::from_utf8_lossy(&pdf).contains("/Subtype /application#2Fsmart-health-card"),
        "the attachment's /Subtype"
    );
    let plain = rewrite_attachment(&pdf, false, |data| data);
    assert!(plain.windows(20).any(|w| w == b"verifiableCredential"));
    assert_eq!(extract_export_from_pdf(&plain).unwrap(), file);
    let again = rewrite_attachment(&pdf, true, |data| data);
    assert_eq!(extract_export_from_pdf(&again).unwrap(), file);
    // An attachment that is not a card file, compressed or not.
    let not_card = |data: Vec<u8>| {
        String::from_utf8(data)
            .unwrap()
            .replace("verifiableCredential", "somethingElseEntir")
            .into_bytes()
    };
    for compress in [false, true] {
        let other = rewrite_attachment(&pdf, compress, not_card);
        assert!(matches!(
            extract_export_from_pdf(&other),
            Err(ExportError::BadAttachment(_))
        ));
    }
}

/// Rewrites the export's embedded file stream with its data (inflated) passed through `edit`,
/// stored uncompressed or as `/Filter /FlateDecode`, as PDF tools do when re-saving.
fn rewrite_attachment(pdf: &[u8], compress: bool, edit: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let text = pdf;
    let name = b"/Type /EmbeddedFile";
    let p = text.windows(name.len()).position(|w| w == name).unwrap();
    let s = p + text[p..].windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    let e = s + text[s..]
        .windows(10)
        .position(|w| w == b"\nendstream")
        .unwrap();
    let obj = text[..p].windows(4).rposition(|w| w == b" obj").unwrap() + 4;
    let dict = String::from_utf8_lossy(&text[obj..s - 7]).to_string();
    let mut stored = text[s..e].to_vec();
    if dict.contains("/Filter /FlateDecode") {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(stored.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        stored = out;
    }
    let mut data = edit(stored);
    if compress {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&data).unwrap();
        data = z.finish().unwrap();
    }
    let dict = dict.replace(" /Filter /FlateDecode", "");
    let start = dict.find("/Length ").unwrap();
    let end = start
        + 8
        + dict[start + 8..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap();
    let filter = if compress {
        " /Filter /FlateDecode"
    } else {
        ""
    };
    let dict = format!(
        "{}/Length {}{filter}{}",
        &dict[..start],
        data.len(),
        &dict[end..]
    );
    [
        &text[..obj],
        dict.as_bytes(),
        b"stream\n",
        &data,
        &text[e..],
    ]
    .concat()
}

#[tokio::test]
async fn smart_health_link_round_trip() {
    let h = Hospital1::new().await;
    let file = write_export(&h.export().await);
    let link = shl_export(
        &file,
        "https://files.example/ips.jwe",
        Some("Visa medical summary"),
        Some(NumericDate(T0 + 30 * 86_400)),
    )
    .unwrap();
    assert!(!format!("{link:?}").contains("shlink:/"));
    let payload = ShlPayload::parse(&link.shlink).unwrap();
    assert!(payload.flag.direct);
    assert_eq!(payload.url, "https://files.example/ips.jwe");
    assert_eq!(payload.label.as_deref(), Some("Visa medical summary"));
    let plain = decrypt_file(&link.encrypted_file, &payload.key).unwrap();
    assert_eq!(
        plain.content_type.as_deref(),
        Some("application/smart-health-card")
    );
    assert_eq!(plain.plaintext, file);
    assert_eq!(
        shl_export(&file, "http://x.example/f", None, None)
            .unwrap_err()
            .code(),
        "bad_link"
    );
    assert_eq!(
        shl_export(&file, "https://x.example/f", Some(&"x".repeat(81)), None)
            .unwrap_err()
            .code(),
        "bad_link"
    );
}

/// The wallet builds proofs from what the peer's pulls return (docs/peer.md).
#[tokio::test]
async fn proofs_from_peer_pulls() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let h = Hospital1::new().await;
    let export = h.export().await;
    let p = export.records[0].proof.as_ref().unwrap();
    let hashes: Vec<String> = p.bundle.proof.iter().map(|x| b64(x)).collect();
    let entry = b64(p.bundle.extra.as_ref().unwrap());
    let salt = spondon_core::b64::encode(p.salt);
    let rebuilt =
        RecordProof::from_pull(p.bundle.index, &entry, &salt, &hashes, &p.bundle.checkpoint)
            .unwrap();
    assert_eq!(&rebuilt, p);

    let r = &export.receipts[0];
    let event: Value = serde_json::from_str(&r.event).unwrap();
    let rebuilt = ShareReceipt::from_pull(
        &event,
        r.bundle.index,
        &b64(r.bundle.extra.as_ref().unwrap()),
        &spondon_core::b64::encode(r.salt),
        &r.bundle.proof.iter().map(|x| b64(x)).collect::<Vec<_>>(),
        &r.bundle.checkpoint,
    )
    .unwrap();
    assert_eq!(&rebuilt, r);

    let cp = &p.bundle.checkpoint;
    let i = p.bundle.index;
    for (entry, salt, hashes, code) in [
        (
            "!!",
            salt.as_str(),
            hashes.clone(),
            "the log entry is not base64",
        ),
        (b64(&[1; 41]).as_str(), &salt, hashes.clone(), "log entry"),
        (&entry, "short", hashes.clone(), "salt"),
        (&entry, &salt, vec!["AAAA".into()], "inclusion proof hash"),
    ] {
        let e = RecordProof::from_pull(i, entry, salt, &hashes, cp).unwrap_err();
        assert_eq!(e.code(), "export_bad_member");
        assert!(e.to_string().contains(code), "{e}");
    }
}

#[test]
fn export_debug_output_hides_content() {
    let e = Export {
        created: NumericDate(0),
        records: vec![ExportRecord {
            jws: "secret.secret.secret".into(),
            proof: None,
        }],
        receipts: Vec::new(),
        patient_summary: None,
    };
    assert!(!format!("{e:?}").contains("secret"));
}

/// The printed QR codes are the cards' standard `shc:/` texts: the PDF is rasterized by poppler
/// (`pdftoppm`, installed by scripts/setup.sh) and the codes read back from the picture.
#[tokio::test]
async fn printed_qr_codes_scan_back_to_the_cards() {
    let h = Hospital1::new().await;
    let export = h.export().await;
    let pdf = render_pdf(&export, &PdfOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.pdf"), &pdf).unwrap();
    let run = std::process::Command::new("pdftoppm")
        // 300 dpi without anti-aliasing, as a printer rasterizes.
        .args(["-png", "-r", "300", "-aaVector", "no"])
        .arg(dir.path().join("e.pdf"))
        .arg(dir.path().join("page"))
        .status();
    match run {
        Err(e) if std::env::var("SPONDON_REQUIRE_PDFTOPPM").as_deref() != Ok("1") => {
            eprintln!("skipped: pdftoppm is not installed ({e}); run scripts/setup.sh");
            return;
        }
        other => assert!(other.unwrap().success()),
    }
    let mut found = Vec::new();
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    for page in pages {
        let png = std::fs::read(page).unwrap();
        // A 300 dpi A4 page is 8.7 million pixels: a debug build needs more than the default
        // budget (this test is about what prints, not about speed).
        let budget = std::time::Duration::from_secs(120);
        let cancel = spondon_core::qr::Cancel::new();
        // The cover has no code; a code that does not read shows in the count below.
        if let Ok(codes) = spondon_core::qr::decode_image_within(&png, budget, &cancel) {
            found.extend(codes);
        }
    }
    let mut expected: Vec<String> = export
        .records
        .iter()
        .map(|r| shc::encode_numeric(&r.jws).unwrap())
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found.len(), expected.len(), "QR codes read from the pages");
    assert!(found == expected, "a printed QR differs from its card");
}

/// A card too large for one QR, and a card whose results run over several pages.
#[tokio::test]
async fn pdf_of_large_cards() {
    let h = Hospital1::new().await;
    let mut export = h.export().await;
    let observations: Vec<Value> = (0..80)
        .map(|i| {
            serde_json::json!({"fullUrl": format!("resource:{}", i + 1), "resource": {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": format!("{}-{}", 10_000 + i, i % 10)}]},
                "subject": {"reference": "resource:0"},
                "valueQuantity": {"value": 100 + i, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
                "referenceRange": [{"low": {"value": 110, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}}]}})
        })
        .collect();
    let mut entries =
        vec![serde_json::json!({"fullUrl": "resource:0", "resource": common::patient()})];
    entries.extend(observations);
    let bundle =
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let jws = CardBuilder::new(ISS, NumericDate(T0), bundle)
        .sign(&h.record_key)
        .unwrap();
    assert!(
        shc::encode_numeric(&jws).is_err(),
        "the card should not fit one QR"
    );
    export.records.push(ExportRecord { jws, proof: None });
    let pdf = render_pdf(&export, &PdfOptions::default()).unwrap();
    let pages = pdf.windows(9).filter(|w| w == b"/MediaBox").count();
    assert!(pages >= 4, "{pages} pages");
    assert_eq!(
        extract_export_from_pdf(&pdf).unwrap(),
        write_export(&export)
    );
    let report = verify_export(&export, &anchors(&h), now());
    assert!(report.valid);
    assert!(
        report.cards[3]
            .warnings
            .iter()
            .any(|w| w.code == "no_log_proof")
    );
    if let Ok(dir) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        std::fs::write(format!("{dir}/large.pdf"), &pdf).unwrap();
    }
}

/// Runs a poppler tool, or skips the test when it is missing and not required.
fn poppler(tool: &str, args: &[&std::ffi::OsStr]) -> Option<std::process::Output> {
    match std::process::Command::new(tool).args(args).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(out)
        }
        Err(e) if std::env::var("SPONDON_REQUIRE_PDFTOPPM").as_deref() != Ok("1") => {
            eprintln!("skipped: {tool} is not installed ({e}); run scripts/setup.sh");
            None
        }
        Err(e) => panic!("{tool}: {e}"),
    }
}

/// A Bangla name and a Bangla prescription print as Bangla (shaped with the embedded Noto Sans
/// Bengali: conjuncts, reordered vowel signs) and extract back as the same Unicode.
#[tokio::test]
async fn bangla_prints_and_extracts_back() {
    let h = Hospital1::new().await;
    let name = "ফাতেমা বেগম";
    let drug = "প্যারাসিটামল ৫০০ মি.গ্রা. ট্যাবলেট";
    let dose = "দিনে ৩ বার, খাবারের পরে, ৫ দিন — ক্ষত পরিষ্কার রাখুন";
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": {"resourceType": "Patient",
            "name": [{"text": name}], "gender": "female", "birthDate": "1988-04-12"}},
        {"fullUrl": "resource:1", "resource": {"resourceType": "MedicationRequest", "status": "active",
            "intent": "order", "authoredOn": "2026-11-01",
            "medicationCodeableConcept": {"text": drug},
            "dosageInstruction": [{"text": dose}],
            "subject": {"reference": "resource:0"}}}
    ]});
    let jws = CardBuilder::new(ISS, NumericDate(T0), bundle)
        .sign(&h.record_key)
        .unwrap();
    let export = Export {
        created: NumericDate(T0 + 60),
        records: vec![ExportRecord { jws, proof: None }],
        receipts: vec![],
        patient_summary: None,
    };
    let pdf = render_pdf(&export, &PdfOptions::default()).unwrap();
    assert!(
        pdf.windows(23).any(|w| w == b"+NotoSansBengali-Regula"),
        "the Bengali font is embedded"
    );
    assert!(
        !pdf.windows(9).any(|w| w == b"Helvetica"),
        "no standard font is left"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bangla.pdf");
    std::fs::write(&file, &pdf).unwrap();
    if let Ok(out) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        std::fs::write(format!("{out}/bangla.pdf"), &pdf).unwrap();
    }
    let Some(text) = poppler("pdftotext", &[file.as_os_str(), "-".as_ref()]) else {
        return;
    };
    let text = String::from_utf8(text.stdout).unwrap();
    for expected in [name, drug, "প্যারাসিটামল", "ক্ষত", "পরিষ্কার"]
    {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains('?'), "a character was replaced:\n{text}");
    // And it rasterizes: the page has ink where the name is (not an empty box row).
    let png = dir.path().join("page");
    poppler(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "100".as_ref(),
            "-f".as_ref(),
            "1".as_ref(),
            "-l".as_ref(),
            "1".as_ref(),
            file.as_os_str(),
            png.as_os_str(),
        ],
    )
    .unwrap();
    assert!(dir.path().join("page-1.png").exists());
}

/// Reads the QR codes of `pdf` as a phone reads paper: pages rasterized by `pdftoppm` at `dpi`,
/// blurred 0.8 px and scaled to 50 % by ImageMagick (`convert`), decoded by zbar (`zbarimg`).
/// `None` (test skipped) when a tool is missing and `SPONDON_REQUIRE_PDFTOPPM` is not `1`.
fn qr_codes_after_print(pdf: &[u8], dpi: u32) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.pdf");
    std::fs::write(&file, pdf).unwrap();
    let prefix = dir.path().join("page");
    poppler(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            dpi.to_string().as_ref(),
            file.as_os_str(),
            prefix.as_os_str(),
        ],
    )?;
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    let mut found = Vec::new();
    for page in pages {
        let degraded = page.with_extension("degraded.png");
        poppler(
            "convert",
            &[
                page.as_os_str(),
                "-blur".as_ref(),
                "0x0.8".as_ref(),
                "-resize".as_ref(),
                "50%".as_ref(),
                degraded.as_os_str(),
            ],
        )?;
        let out = match std::process::Command::new("zbarimg")
            .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
            .arg(&degraded)
            .output()
        {
            Ok(out) => out,
            Err(e) if std::env::var("SPONDON_REQUIRE_PDFTOPPM").as_deref() != Ok("1") => {
                eprintln!("skipped: zbarimg is not installed ({e}); run scripts/setup.sh");
                return None;
            }
            Err(e) => panic!("zbarimg: {e}"),
        };
        // zbarimg exits with 4 when a page has no code.
        assert!(
            matches!(out.status.code(), Some(0) | Some(4)),
            "zbarimg: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    Some(found)
}

/// Every record's printed QR reads with zbar after print-like degradation (blur 0.8 px, 50 %
/// scale of a 150 dpi rendering): the fixture's three records and twenty realistic ones.
#[tokio::test]
async fn printed_qr_codes_read_after_print_degradation() {
    let h = Hospital1::new().await;
    let mut bundles = common::bundles();
    bundles.extend(common::realistic_bundles());
    let export = h.export_of(bundles).await;
    let pdf = render_pdf(&export, &PdfOptions::default()).unwrap();
    if let Ok(dir) = std::env::var("SPONDON_EXPORT_PDF_OUT") {
        std::fs::write(format!("{dir}/realistic.pdf"), &pdf).unwrap();
    }
    let dpi = std::env::var("SPONDON_QR_DPI")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(150);
    let Some(found) = qr_codes_after_print(&pdf, dpi) else {
        return;
    };
    // A card too large for one QR prints without one (and says so).
    let expected: Vec<String> = export
        .records
        .iter()
        .filter_map(|r| shc::encode_numeric(&r.jws).ok())
        .collect();
    assert!(expected.len() >= 20, "{} cards fit a QR", expected.len());
    let read = expected.iter().filter(|e| found.contains(e)).count();
    eprintln!(
        "QR codes read after print degradation at {dpi} dpi: {read} of {} ({:.0} %)",
        expected.len(),
        100.0 * read as f64 / expected.len() as f64
    );
    assert_eq!(read, expected.len(), "printed QR codes that did not read");
}

/// A 3,000-record history exports: in parts that each fit a file and a PDF the clinic node's
/// document check takes, each a complete export that verifies on its own (every card with its
/// log proof) and whose PDF carries it; together every record once, in order.
#[tokio::test]
async fn a_long_history_exports_in_parts() {
    let n = 3_000;
    let h = Hospital1::new().await;
    let bundles: Vec<(Value, bool)> = common::bundles().into_iter().cycle().take(n).collect();
    let export = h.export_of(bundles).await;
    let options = PdfOptions {
        issuer_names: vec![(ISS.into(), NAME.into())],
        ..PdfOptions::default()
    };
    let parts = spondon_export::export_parts(
        &spondon_export::PartsInput {
            created: export.created,
            records: &export.records,
            receipts: &export.receipts,
            summary: true,
            files: &[],
        },
        &options,
    )
    .unwrap();
    assert!(parts.len() > 1, "{} parts", parts.len());
    let anchors = anchors(&h);
    let mut cards = Vec::new();
    let mut receipts = 0;
    for part in &parts {
        assert!(part.file.len() <= spondon_export::MAX_EXPORT_BYTES);
        assert!(part.pdf.len() <= spondon_export::MAX_PART_PDF_BYTES);
        assert_eq!(extract_export_from_pdf(&part.pdf).unwrap(), part.file);
        let parsed = parse_export(&part.file).unwrap();
        let report = verify_export(&parsed, &anchors, now());
        assert!(report.valid, "{:?}", report.errors);
        assert!(report.cards.iter().all(|c| c.log.is_some()));
        assert!(report.summary.is_some_and(|s| s.traced == s.entries));
        receipts += parsed.receipts.len();
        cards.extend(parsed.records.into_iter().map(|r| r.jws));
    }
    let expected: Vec<String> = export.records.iter().map(|r| r.jws.clone()).collect();
    assert!(cards == expected, "a record was lost, repeated or moved");
    assert_eq!(receipts, 1, "the receipt goes with the part of its records");
    // The cover says which part it is.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("part2.pdf");
    std::fs::write(&file, &parts[1].pdf).unwrap();
    let Some(text) = poppler(
        "pdftotext",
        &["-l".as_ref(), "1".as_ref(), file.as_os_str(), "-".as_ref()],
    ) else {
        return;
    };
    let text = String::from_utf8(text.stdout).unwrap();
    let words = format!("Part 2 of {}", parts.len());
    assert!(text.contains(&words), "{words:?} not in:\n{text}");
}
