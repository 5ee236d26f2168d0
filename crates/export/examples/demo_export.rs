//! The patient's export for a visa medical office, as `scripts/demo.sh` shows it: a hospital
//! (fresh keys, a real SQLite transparency log with a witness) issues three records, the wallet's
//! export is written as a `.smart-health-card` file, a printable PDF and a SMART Health Link, and
//! a copy with one altered log proof. The consortium trust list naming the hospital and its
//! authority's root key are written beside them for `spondon-verifier check`.
//!
//! Run: `cargo run -p spondon-export --example demo_export -- OUT_DIR`

#[path = "../tests/common/mod.rs"]
mod fixture;

use std::error::Error;
use std::path::PathBuf;

use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_export::{PdfOptions, render_pdf, shl_export, write_export};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: demo_export OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    // Issued yesterday, exported now.
    let hospital = fixture::Hospital1::new_at(NumericDate::now().seconds() - 86_400).await;
    let export = hospital.export().await;
    let file = write_export(&export);
    std::fs::write(out.join("ips.smart-health-card"), &file)?;

    let link = shl_export(
        &file,
        "https://files.example/fatema/ips.jwe",
        Some("Fatema Begum: patient summary"),
        Some(NumericDate::now().saturating_add(30 * 86_400)),
    )?;
    std::fs::write(out.join("ips.jwe"), &link.encrypted_file)?;
    std::fs::write(out.join("shlink.txt"), link.shlink.as_str())?;
    let pdf = render_pdf(
        &export,
        &PdfOptions {
            issuer_names: vec![(fixture::ISS.into(), fixture::NAME.into())],
            link: Some(link.shlink.to_string()),
            verify_url: Some("https://clinic.example/".into()),
            passport: Some("A01234567".into()),
            national_id: None,
            part: None,
        },
    )?;
    std::fs::write(out.join("ips.pdf"), &pdf)?;

    let mut tampered = export.clone();
    if let Some(p) = tampered.records.get_mut(1).and_then(|r| r.proof.as_mut()) {
        p.salt[0] ^= 1;
    }
    std::fs::write(
        out.join("ips-tampered.smart-health-card"),
        write_export(&tampered),
    )?;

    let root = Es256KeyPair::generate()?;
    std::fs::write(
        out.join("trust-list.txt"),
        hospital.trust_list().sign(&root)?,
    )?;
    std::fs::write(
        out.join("root.jwk"),
        serde_json::to_string(&root.public_key().to_jwk())?,
    )?;
    println!(
        "export of {} records with log proofs, 1 share receipt and a patient summary: ips.smart-health-card ({} bytes), ips.pdf ({} bytes), ips.jwe + shlink.txt (SMART Health Link)",
        export.records.len(),
        file.len(),
        pdf.len()
    );
    Ok(())
}
