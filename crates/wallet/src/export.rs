//! Export for a visa medical office or any other office, through `spondon-export`: the
//! `.smart-health-card` file with each card's log proof, the share receipts and the International
//! Patient Summary; the printable PDF carrying the same file; optionally a SMART Health Link.

use base64::Engine as _;
use serde::Serialize;
use spondon_core::NumericDate;
use spondon_core::token::Category;
use spondon_export::{
    Anchors, ExportFile, ExportRecord, ExportReport, PdfOptions, RecordProof, ShareReceipt,
    render_pdf_with_files, shl_export, verify_export, write_export_dir,
};
use spondon_export::{PartsInput, export_parts};
use spondon_ledger::ProofBundle;
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};
use crate::grants::record_category;
use crate::progress::{OnProgress, Progress, Step};
use crate::store::Table;
use crate::sync::{StoredReceipt, StoredRecord, Trust};
use crate::wallet::{Authorization, Wallet};

/// What to export.
///
/// Records are chosen by id, or else all records verified from a hospital; then narrowed by
/// category and by issue date. Payment slips stay out unless asked for: by id, by the
/// `payment` category, or by `include_payments`.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Record ids (or unique prefixes); empty: every record verified from a hospital.
    pub record_ids: Vec<String>,
    /// Only records of these categories (the grant scope's words: `prescription`,
    /// `lab_result`, …; [`crate::grants::parse_category`]); empty: every category.
    pub categories: Vec<Category>,
    /// Only records issued on or after this day (in the user's time zone).
    pub since: Option<time::Date>,
    /// Only records issued on or before this day (in the user's time zone).
    pub until: Option<time::Date>,
    /// Include payment slips (otherwise only when chosen by id or by the `payment` category).
    pub include_payments: bool,
    /// Printed on the PDF's cover as self-declared by the patient (not signed, not in the file).
    pub passport: Option<String>,
    /// Printed on the PDF's cover as self-declared by the patient (not signed, not in the file).
    pub national_id: Option<String>,
    /// The verification page printed on the PDF's cover (e.g. a clinic node's document check).
    pub verify_url: Option<String>,
    /// Include the share receipts of the exported records.
    pub receipts: bool,
    /// Also make a SMART Health Link to this https URL (where the caller hosts the encrypted file).
    pub link_url: Option<String>,
    /// The link's label.
    pub link_label: Option<String>,
}

/// One part of an export: a complete, independently verifiable export of some of the records.
#[derive(Clone)]
pub struct ExportFilesPart {
    /// The `.smart-health-card` file (export format of `docs/export.md`).
    pub file: Vec<u8>,
    /// The printable PDF (carries the file as an attachment; "part k of n" on its cover).
    pub pdf: Vec<u8>,
    /// Records in this part.
    pub records: usize,
    /// When the part holds document records, their files as the directory form of an export
    /// names them (`docs/protocol.md` §18.4): `(files/<sha256>.<ext>, bytes)`, each checked
    /// against its card. Write `file` and these under one directory; empty otherwise. The PDF
    /// carries them as attachments either way.
    pub documents: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for ExportFilesPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFilesPart")
            .field("file_len", &self.file.len())
            .field("pdf_len", &self.pdf.len())
            .field("records", &self.records)
            .field("documents", &self.documents.len())
            .finish()
    }
}

/// The exported files.
#[derive(Serialize)]
pub struct ExportFiles {
    /// The export, in one part unless it is too large for one file or PDF
    /// ([`spondon_export::export_parts`]); in record order.
    #[serde(skip)]
    pub parts: Vec<ExportFilesPart>,
    /// `shlink:/…` (holds the decryption key) and the encrypted file to host at `link_url`.
    #[serde(skip)]
    pub link: Option<(Zeroizing<String>, String)>,
    /// The offline verification of every part, as an office would run it (cards of all parts in
    /// order; valid when every part is).
    pub report: ExportReport,
    /// How many records the export carries, across all parts.
    pub records: usize,
    /// How many access receipts it carries, across all parts.
    pub receipts: usize,
    /// How many parts.
    #[serde(rename = "parts")]
    pub part_count: usize,
}

impl std::fmt::Debug for ExportFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFiles")
            .field("parts", &self.parts)
            .field("valid", &self.report.valid)
            .finish_non_exhaustive()
    }
}

/// Parses a day as `YYYY-MM-DD` (for `since` and `until`).
pub fn parse_day(text: &str) -> Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).map_err(|_| {
        WalletError::BadDate(format!(
            "{text:?} is not a date; write it as YYYY-MM-DD (e.g. 2026-01-31)"
        ))
    })
}

/// Where a part's `.smart-health-card` goes, and its document files: `STEM.smart-health-card`
/// when it holds no document; else the directory form of `docs/protocol.md` §18.4,
/// `STEM/NAME.smart-health-card` and `STEM/files/…` (NAME: the last part of STEM). Returns
/// `(path, bytes)` in writing order; the caller writes them (creating directories).
pub fn card_files(stem: &str, part: &ExportFilesPart) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    use std::path::{Path, PathBuf};
    if part.documents.is_empty() {
        return vec![(
            PathBuf::from(format!("{stem}.smart-health-card")),
            part.file.clone(),
        )];
    }
    let dir = PathBuf::from(stem);
    let name = Path::new(stem)
        .file_name()
        .map_or_else(|| "export".to_owned(), |n| n.to_string_lossy().into_owned());
    let mut out = vec![(
        dir.join(format!("{name}.smart-health-card")),
        part.file.clone(),
    )];
    for (rel, bytes) in &part.documents {
        out.push((dir.join(rel), bytes.clone()));
    }
    out
}

/// The file names of an export's parts: `STEM.ext` for one part, `STEM-partK-of-N.ext` for
/// several.
pub fn part_stem(stem: &str, part: usize, count: usize) -> String {
    if count <= 1 {
        stem.to_owned()
    } else {
        format!("{stem}-part{part}-of-{count}")
    }
}

/// The day a record was issued, in the user's time zone (`TZ`, else the system's): the day
/// the patient remembers, not UTC's (Dhaka is six hours ahead).
fn issued_day(r: &StoredRecord) -> Option<time::Date> {
    parse_day(&spondon_core::time::local_date(r.issued_at)).ok()
}

/// The records an [`ExportRequest`] chooses, in the wallet's order.
pub(crate) fn select<'a>(
    all: &'a [StoredRecord],
    req: &ExportRequest,
) -> Result<Vec<&'a StoredRecord>> {
    if let (Some(since), Some(until)) = (req.since, req.until)
        && since > until
    {
        return Err(WalletError::BadDate(format!(
            "the date range is empty: {since} is after {until}"
        )));
    }
    let in_dates = |r: &StoredRecord| {
        let day = issued_day(r);
        req.since.is_none_or(|s| day.is_some_and(|d| d >= s))
            && req.until.is_none_or(|u| day.is_some_and(|d| d <= u))
    };
    let in_categories = |r: &StoredRecord| {
        req.categories.is_empty() || record_category(r).is_some_and(|c| req.categories.contains(&c))
    };
    if !req.record_ids.is_empty() {
        let mut chosen: Vec<&StoredRecord> = Vec::new();
        for id in &req.record_ids {
            let m: Vec<&StoredRecord> = all
                .iter()
                .filter(|r| r.id.starts_with(id.as_str()))
                .collect();
            let one = match m.as_slice() {
                [one] => *one,
                [] => return Err(WalletError::NotFound(format!("record {id}"))),
                _ => {
                    return Err(WalletError::Ambiguous {
                        prefix: id.clone(),
                        what: "record",
                    });
                }
            };
            if !in_categories(one) || !in_dates(one) {
                return Err(WalletError::BadExport(format!(
                    "record {id} is outside the chosen categories or dates"
                )));
            }
            if !chosen.iter().any(|c| c.key == one.key) {
                chosen.push(one);
            }
        }
        return Ok(chosen);
    }
    let payments = req.include_payments || req.categories.contains(&Category::Payment);
    let verified: Vec<&StoredRecord> = all.iter().filter(|r| r.trust == Trust::Verified).collect();
    if verified.is_empty() {
        return Err(WalletError::BadExport(
            "there are no verified records to export yet (sync first)".into(),
        ));
    }
    let chosen: Vec<&StoredRecord> = verified
        .into_iter()
        .filter(|r| in_categories(r) && in_dates(r))
        .filter(|r| payments || record_category(r) != Some(Category::Payment))
        .collect();
    if chosen.is_empty() {
        return Err(WalletError::BadExport(
            "no verified record is in the chosen categories and dates (payment slips are left out unless asked for)".into(),
        ));
    }
    Ok(chosen)
}

/// The reports of the parts as one: cards in order, valid when every part is.
fn merge_reports(reports: Vec<ExportReport>) -> Option<ExportReport> {
    let mut it = reports.into_iter();
    let mut all = it.next()?;
    for r in it {
        all.valid &= r.valid;
        all.cards.extend(r.cards);
        all.errors.extend(r.errors);
        match (&mut all.summary, r.summary) {
            (Some(a), Some(b)) => {
                a.entries += b.entries;
                a.traced += b.traced;
            }
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
    }
    Some(all)
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

pub(crate) fn bundle(
    entry: &str,
    index: u64,
    proof: &[String],
    checkpoint: &str,
) -> Option<ProofBundle> {
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
        let self_declared = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let (passport, national_id) = (
            self_declared(&req.passport),
            self_declared(&req.national_id),
        );
        progress(Progress::new(Step::Collecting, 0, 4));
        let list = self.trust_list().await?;
        let all: Vec<StoredRecord> = self.stored_records().await?;
        let chosen = select(&all, req)?;
        // The files of the chosen documents, checked against their cards as they are read.
        let mut files = Vec::new();
        for r in &chosen {
            if let Some(a) = crate::documents::attachment_of(r)? {
                let bytes = self
                    .store
                    .get_raw(Table::Files, &hex::encode(a.sha256))
                    .await?
                    .ok_or_else(|| {
                        WalletError::BadExport(format!(
                            "the file of document {} is not in the wallet yet: sync first (or leave the document out)",
                            r.id
                        ))
                    })?;
                a.check(&bytes).map_err(|source| WalletError::File {
                    record: r.id.clone(),
                    source,
                })?;
                files.push(ExportFile::new(bytes.to_vec()));
            }
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
        let options = PdfOptions {
            issuer_names: list
                .hospitals
                .iter()
                .map(|h| (h.peer_url.clone(), h.name.clone()))
                .collect(),
            link: None,
            verify_url: req.verify_url.clone(),
            passport,
            national_id,
            part: None,
        };
        options.check()?;
        let link_url = req.link_url.clone();
        let link_label = req.link_label.clone();
        // Drawing thousands of QR codes takes seconds: off the async threads.
        let (parts, link) = tokio::task::spawn_blocking(move || -> Result<_> {
            let input = PartsInput {
                created,
                records: &records,
                receipts: &receipts,
                summary: true,
                // Document records' files (docs/protocol.md §18.4).
                files: &files,
            };
            let mut parts = export_parts(&input, &options)?;
            let link = match (&link_url, parts.as_mut_slice()) {
                (None, _) => None,
                (Some(url), [one]) => {
                    let l = shl_export(&one.file, url, link_label.as_deref(), None)?;
                    let with_link = PdfOptions {
                        link: Some(l.shlink.to_string()),
                        ..options
                    };
                    one.pdf = render_pdf_with_files(&one.export, &one.files, &with_link)?;
                    Some((l.shlink, l.encrypted_file))
                }
                (Some(_), many) => {
                    return Err(WalletError::BadExport(format!(
                        "a SMART Health Link carries one file, and these records need {} parts: choose fewer records (by category or dates) for the link",
                        many.len()
                    )));
                }
            };
            Ok((parts, link))
        })
        .await
        .map_err(|e| WalletError::Internal(format!("export task: {e}")))??;
        progress(Progress::new(Step::Verifying, 3, 4));
        let anchors =
            Anchors::from_trust_list(&list).map_err(|e| WalletError::TrustList(e.to_string()))?;
        let reports = parts
            .iter()
            .map(|p| verify_export(&p.export, &anchors, created))
            .collect();
        let report = merge_reports(reports)
            .ok_or_else(|| WalletError::Internal("the export has no parts".into()))?;
        let records = parts.iter().map(|p| p.export.records.len()).sum();
        let receipts = parts.iter().map(|p| p.export.receipts.len()).sum();
        progress(Progress::new(Step::Done, 4, 4));
        Ok(ExportFiles {
            part_count: parts.len(),
            parts: parts
                .into_iter()
                .map(|p| -> Result<ExportFilesPart> {
                    let documents = if p.files.is_empty() {
                        Vec::new()
                    } else {
                        // The first entry is the card file itself (`file`).
                        write_export_dir(&p.export, &p.files, "export")?
                            .into_iter()
                            .skip(1)
                            .collect()
                    };
                    Ok(ExportFilesPart {
                        records: p.export.records.len(),
                        file: p.file,
                        pdf: p.pdf,
                        documents,
                    })
                })
                .collect::<Result<_>>()?,
            link,
            report,
            records,
            receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 2026-03-10T12:00:00Z
    const MARCH_10: i64 = 1_773_144_000;

    fn record(id: &str, kind: &str, issued_at: i64, trust: Trust) -> StoredRecord {
        StoredRecord {
            key: format!("https://dmch.example\0{id}"),
            id: id.into(),
            issuer: "https://dmch.example".into(),
            issuer_name: None,
            kind: kind.into(),
            supersedes: None,
            issued_at,
            jws: String::new(),
            peer: Some("https://dmch.example".into()),
            log_index: None,
            entry: None,
            salt: None,
            inclusion_proof: vec![],
            checkpoint: None,
            trust,
            witnessed: true,
        }
    }

    fn ids(v: Vec<&StoredRecord>) -> Vec<&str> {
        v.into_iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn selection_by_category_dates_and_payments() {
        let day = 86_400;
        let all = vec![
            record("rx1", "prescription", MARCH_10, Trust::Verified),
            record("lab1", "lab_report", MARCH_10 + day, Trust::Verified),
            record("pay1", "payment", MARCH_10 + day, Trust::Verified),
            record("dx1", "diagnosis", MARCH_10 + 2 * day, Trust::Verified),
            record("imp1", "prescription", MARCH_10, Trust::ImportedTrusted),
        ];
        let req = |f: &dyn Fn(&mut ExportRequest)| {
            let mut r = ExportRequest::default();
            f(&mut r);
            r
        };
        // Default: verified records, no payment slips.
        assert_eq!(
            ids(select(&all, &req(&|_| {})).unwrap()),
            ["rx1", "lab1", "dx1"]
        );
        assert_eq!(
            ids(select(&all, &req(&|r| r.include_payments = true)).unwrap()),
            ["rx1", "lab1", "pay1", "dx1"]
        );
        assert_eq!(
            ids(select(&all, &req(&|r| r.categories = vec![Category::Payment])).unwrap()),
            ["pay1"]
        );
        let lab_and_dx = req(&|r| r.categories = vec![Category::LabResult, Category::Diagnosis]);
        assert_eq!(ids(select(&all, &lab_and_dx).unwrap()), ["lab1", "dx1"]);
        // Dates: whole days in the user's zone (the fixtures are at noon UTC), both ends included.
        let march_11 = parse_day("2026-03-11").unwrap();
        assert_eq!(
            ids(select(&all, &req(&|r| r.since = Some(march_11))).unwrap()),
            ["lab1", "dx1"]
        );
        assert_eq!(
            ids(select(&all, &req(&|r| r.until = Some(march_11))).unwrap()),
            ["rx1", "lab1"]
        );
        let one_day = req(&|r| {
            r.since = Some(march_11);
            r.until = Some(march_11);
            r.include_payments = true;
        });
        assert_eq!(ids(select(&all, &one_day).unwrap()), ["lab1", "pay1"]);
        // By id: a payment slip chosen by id goes in; an id outside the filters is an error.
        assert_eq!(
            ids(select(
                &all,
                &req(&|r| r.record_ids = vec!["pay".into(), "imp".into()])
            )
            .unwrap()),
            ["pay1", "imp1"]
        );
        let outside = req(&|r| {
            r.record_ids = vec!["rx1".into()];
            r.since = Some(march_11);
        });
        assert!(
            matches!(select(&all, &outside), Err(WalletError::BadExport(m)) if m.contains("outside"))
        );
        // Empty ranges and empty choices are errors that say so.
        let backwards = req(&|r| {
            r.since = Some(march_11);
            r.until = Some(parse_day("2026-03-10").unwrap());
        });
        assert!(
            matches!(select(&all, &backwards), Err(WalletError::BadDate(m)) if m.contains("empty"))
        );
        let nothing = req(&|r| r.categories = vec![Category::Immunization]);
        assert!(matches!(
            select(&all, &nothing),
            Err(WalletError::BadExport(_))
        ));
        assert!(
            matches!(select(&[], &req(&|_| {})), Err(WalletError::BadExport(m)) if m.contains("sync first"))
        );
    }

    #[test]
    fn days_and_part_names() {
        assert!(parse_day("2026-02-30").is_err());
        assert!(parse_day("10/03/2026").is_err());
        assert_eq!(parse_day(" 2026-03-10 ").unwrap().day(), 10);
        assert_eq!(part_stem("visa", 1, 1), "visa");
        assert_eq!(part_stem("visa", 2, 15), "visa-part2-of-15");
    }
}
