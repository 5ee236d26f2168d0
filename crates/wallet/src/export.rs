//! Export for a visa medical office or any other office, through `spondon-export`: the
//! `.smart-health-card` file with each card's log proof, the share receipts and the International
//! Patient Summary; the printable PDF carrying the same file; optionally a SMART Health Link.

use base64::Engine as _;
use serde::Serialize;
use spondon_core::NumericDate;
use spondon_export::{
    Anchors, Export, ExportRecord, ExportReport, PatientSummaryInput, PdfOptions, RecordProof,
    ShareReceipt, build_ips, render_pdf, shl_export, verify_export, write_export,
};
use spondon_ledger::ProofBundle;
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};
use crate::progress::{OnProgress, Progress, Step};
use crate::store::Table;
use crate::sync::{StoredReceipt, StoredRecord, Trust};
use crate::wallet::{Authorization, Wallet};

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Record ids (or unique prefixes); empty: every record verified from a hospital.
    pub record_ids: Vec<String>,
    /// Include the share receipts of the exported records.
    pub receipts: bool,
    /// Also make a SMART Health Link to this https URL (where the caller hosts the encrypted file).
    pub link_url: Option<String>,
    /// The link's label.
    pub link_label: Option<String>,
}

/// The exported files.
#[derive(Serialize)]
pub struct ExportFiles {
    /// The `.smart-health-card` file (export format of `docs/export.md`).
    #[serde(skip)]
    pub file: Vec<u8>,
    /// The printable PDF (carries the file as an attachment).
    #[serde(skip)]
    pub pdf: Vec<u8>,
    /// `shlink:/…` (holds the decryption key) and the encrypted file to host at `link_url`.
    #[serde(skip)]
    pub link: Option<(Zeroizing<String>, String)>,
    /// The offline verification of the file, as an office would run it.
    pub report: ExportReport,
    pub records: usize,
    pub receipts: usize,
}

impl std::fmt::Debug for ExportFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFiles")
            .field("file_len", &self.file.len())
            .field("pdf_len", &self.pdf.len())
            .field("valid", &self.report.valid)
            .finish_non_exhaustive()
    }
}

fn hashes(v: &[String]) -> Option<Vec<[u8; 32]>> {
    v.iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
        })
        .collect()
}

fn bundle(entry: &str, index: u64, proof: &[String], checkpoint: &str) -> Option<ProofBundle> {
    Some(ProofBundle {
        extra: Some(
            base64::engine::general_purpose::STANDARD
                .decode(entry)
                .ok()?,
        ),
        index,
        proof: hashes(proof)?,
        checkpoint: checkpoint.to_owned(),
    })
}

fn record_proof(r: &StoredRecord) -> Option<RecordProof> {
    let salt = spondon_core::b64::decode_array(r.salt.as_deref()?)?;
    Some(RecordProof {
        salt,
        bundle: bundle(
            r.entry.as_deref()?,
            r.log_index?,
            &r.inclusion_proof,
            r.checkpoint.as_deref()?,
        )?,
    })
}

fn share_receipt(r: &StoredReceipt) -> Option<ShareReceipt> {
    Some(ShareReceipt {
        event: r.event_json.clone()?,
        salt: spondon_core::b64::decode_array(r.salt.as_deref()?)?,
        bundle: bundle(
            r.entry.as_deref()?,
            r.log_index,
            &r.inclusion_proof,
            r.checkpoint.as_deref()?,
        )?,
    })
}

impl Wallet {
    /// Exports records (hospital-signed cards with their log proofs), optionally their share
    /// receipts, and the patient summary; renders the PDF and, if asked, a SMART Health Link; and
    /// verifies the result offline against the trust list. Needs a fresh [`Authorization`].
    pub async fn export(&self, auth: &Authorization, req: &ExportRequest) -> Result<ExportFiles> {
        self.export_with_progress(auth, req, &crate::progress::ignore)
            .await
    }

    /// [`Wallet::export`], reporting progress (collecting, building, verifying, done).
    pub async fn export_with_progress(
        &self,
        auth: &Authorization,
        req: &ExportRequest,
        progress: OnProgress<'_>,
    ) -> Result<ExportFiles> {
        self.check_auth(auth)?;
        progress(Progress::new(Step::Collecting, 0, 4));
        let list = self.trust_list().await?;
        let all: Vec<StoredRecord> = self.stored_records().await?;
        let chosen: Vec<&StoredRecord> = if req.record_ids.is_empty() {
            all.iter().filter(|r| r.trust == Trust::Verified).collect()
        } else {
            let mut v = Vec::new();
            for id in &req.record_ids {
                let m: Vec<&StoredRecord> = all
                    .iter()
                    .filter(|r| r.id.starts_with(id.as_str()))
                    .collect();
                match m.as_slice() {
                    [one] => v.push(*one),
                    [] => return Err(WalletError::NotFound(format!("record {id}"))),
                    _ => {
                        return Err(WalletError::Invalid(format!(
                            "{id} matches several records"
                        )));
                    }
                }
            }
            v
        };
        if chosen.is_empty() {
            return Err(WalletError::Invalid(
                "there are no verified records to export yet (sync first)".into(),
            ));
        }
        let records: Vec<ExportRecord> = chosen
            .iter()
            .map(|r| ExportRecord {
                jws: r.jws.clone(),
                proof: record_proof(r),
            })
            .collect();
        let mut receipts = Vec::new();
        if req.receipts {
            let stored: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
            for r in stored.iter().filter(|r| r.outcome == "allowed") {
                let about_export = r.records.iter().any(|id| {
                    chosen
                        .iter()
                        .any(|c| &c.id == id && c.peer.as_deref() == Some(r.peer.as_str()))
                });
                if about_export && let Some(s) = share_receipt(r) {
                    receipts.push(s);
                }
            }
        }
        progress(Progress::new(Step::Building, 1, 4));
        let created = NumericDate::now();
        let summary = build_ips(&PatientSummaryInput {
            records: &records,
            created,
        })
        .map_err(|e| WalletError::Invalid(format!("patient summary: {e}")))?;
        let export = Export {
            created,
            records,
            receipts,
            patient_summary: Some(summary),
        };
        let file = write_export(&export);
        let link = match &req.link_url {
            Some(url) => {
                let l = shl_export(&file, url, req.link_label.as_deref(), None)
                    .map_err(|e| WalletError::Invalid(format!("SMART Health Link: {e}")))?;
                Some((l.shlink, l.encrypted_file))
            }
            None => None,
        };
        let options = PdfOptions {
            issuer_names: list
                .hospitals
                .iter()
                .map(|h| (h.peer_url.clone(), h.name.clone()))
                .collect(),
            link: link.as_ref().map(|(s, _)| s.to_string()),
        };
        let pdf =
            render_pdf(&export, &options).map_err(|e| WalletError::Invalid(format!("PDF: {e}")))?;
        progress(Progress::new(Step::Verifying, 3, 4));
        let anchors =
            Anchors::from_trust_list(&list).map_err(|e| WalletError::TrustList(e.to_string()))?;
        let report = verify_export(&export, &anchors, created);
        progress(Progress::new(Step::Done, 4, 4));
        Ok(ExportFiles {
            records: export.records.len(),
            receipts: export.receipts.len(),
            file,
            pdf,
            link,
            report,
        })
    }
}
