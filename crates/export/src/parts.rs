//! A long history in parts: an export that would not fit one file (4 MiB, 1,000 cards) or one
//! PDF that `spondon-verifier check` and the clinic's document check read (8 MiB) is cut into
//! numbered parts. Each part is a complete export on its own: its cards, every card's log proof,
//! the share receipts about its cards, its own patient summary, and a PDF whose cover says
//! "part k of n". No card is left out or repeated.

use spondon_core::NumericDate;
use spondon_core::shc::ParsedCard;

use crate::files::{ExportFile, files_of_export};
use crate::{
    Export, ExportError, ExportRecord, MAX_EXPORT_BYTES, PatientSummaryInput, PdfOptions, PdfPart,
    ShareReceipt, build_ips, render_pdf_with_files, write_export,
};

/// Most cards in one part. Keeps each part's PDF under [`MAX_PART_PDF_BYTES`] (a card prints
/// in about 15 KB) and its file under the 1,000 cards a card file may hold.
pub const MAX_PART_CARDS: usize = 200;
/// Largest PDF of one part, not counting the document files attached to it: what the clinic
/// node's document check accepts by default (`max_upload_bytes`, 4 MiB; `spondon-verifier
/// check` reads 8 MiB, and a PDF with attached documents up to 64 MiB).
pub const MAX_PART_PDF_BYTES: usize = 4 * 1024 * 1024;

/// One part of an export: the export, its file and its PDF.
#[derive(Debug, Clone)]
pub struct ExportPart {
    /// The part's export: its cards, their receipts and summary.
    pub export: Export,
    /// The `.smart-health-card` file ([`write_export`]).
    pub file: Vec<u8>,
    /// The printable PDF ([`render_pdf_with_files`]) with "part k of n" on its cover (when
    /// n > 1), its cards' document files attached.
    pub pdf: Vec<u8>,
    /// The document files of this part's cards, checked against them: with `file`, the
    /// directory form of the part ([`crate::write_export_dir`]) when not empty.
    pub files: Vec<ExportFile>,
}

/// What goes into an export before it is cut into parts.
#[derive(Debug, Clone, Copy)]
pub struct PartsInput<'a> {
    /// When the wallet made the export; every part carries it.
    pub created: NumericDate,
    /// The cards, in order; the parts keep the order.
    pub records: &'a [ExportRecord],
    /// Share receipts; each part gets those that name one of its cards.
    pub receipts: &'a [ShareReceipt],
    /// Build each part's International Patient Summary.
    pub summary: bool,
    /// The files the wallet keeps for document records (`docs/protocol.md` §18): each part
    /// carries those of its cards. Every document card's file must be here.
    pub files: &'a [ExportFile],
}

/// `(issuer, rid)` of each card, for matching receipts.
fn card_keys(records: &[ExportRecord]) -> Vec<Option<(String, String)>> {
    records
        .iter()
        .map(|r| {
            let card = ParsedCard::parse(&r.jws).ok()?;
            Some((card.iss().to_owned(), card.rid()?.to_owned()))
        })
        .collect()
}

/// The issuer and record ids a receipt event names (`None` if it does not parse: such a receipt
/// goes with the first part, where verification reports it).
fn receipt_keys(receipt: &ShareReceipt) -> Option<(String, Vec<String>)> {
    let event: spondon_protocol::AccessEvent = serde_json::from_str(&receipt.event).ok()?;
    Some((event.peer, event.records))
}

fn build_part(
    input: &PartsInput<'_>,
    keys: &[Option<(String, String)>],
    range: std::ops::Range<usize>,
    first: bool,
) -> Result<(Export, Vec<u8>), ExportError> {
    let records = input.records[range.clone()].to_vec();
    let part_keys = &keys[range];
    let receipts = input
        .receipts
        .iter()
        .filter(|r| match receipt_keys(r) {
            Some((peer, rids)) => part_keys
                .iter()
                .flatten()
                .any(|(iss, rid)| *iss == peer && rids.contains(rid)),
            None => first,
        })
        .cloned()
        .collect();
    let patient_summary = if input.summary {
        Some(build_ips(&PatientSummaryInput {
            records: &records,
            created: input.created,
        })?)
    } else {
        None
    };
    let export = Export {
        created: input.created,
        records,
        receipts,
        patient_summary,
    };
    let file = write_export(&export);
    Ok((export, file))
}

/// Cuts the export into the fewest even parts of at most [`MAX_PART_CARDS`] cards whose files
/// fit [`MAX_EXPORT_BYTES`] and whose PDFs fit [`MAX_PART_PDF_BYTES`], in the order given, and
/// renders each part's PDF with `options` (its `part` is set for each). One part when all fits.
/// A single card too large for a file of its own is an error ([`ExportError::TooLarge`]).
pub fn export_parts(
    input: &PartsInput<'_>,
    options: &PdfOptions,
) -> Result<Vec<ExportPart>, ExportError> {
    let n = input.records.len();
    if n == 0 {
        return Err(ExportError::Empty);
    }
    let keys = card_keys(input.records);
    let mut count = n.div_ceil(MAX_PART_CARDS);
    // Grows the number of parts until every part fits; at most one card per part.
    loop {
        let ranges: Vec<std::ops::Range<usize>> = (0..count)
            .map(|k| (k * n / count)..((k + 1) * n / count))
            .collect();
        let built: Vec<(Export, Vec<u8>)> = ranges
            .iter()
            .enumerate()
            .map(|(k, r)| build_part(input, &keys, r.clone(), k == 0))
            .collect::<Result<_, _>>()?;
        if let Some(len) = built
            .iter()
            .map(|(_, f)| f.len())
            .find(|&len| len > MAX_EXPORT_BYTES)
        {
            if count >= n {
                return Err(ExportError::TooLarge {
                    len,
                    max: MAX_EXPORT_BYTES,
                });
            }
            count = (count * 2).min(n);
            continue;
        }
        let part_files: Vec<Vec<ExportFile>> = built
            .iter()
            .map(|(export, _)| {
                files_of_export(export, input.files)
                    .map(|v| v.into_iter().map(|(_, _, f)| f.clone()).collect())
            })
            .collect::<Result<_, _>>()?;
        let pdfs = render_all(&built, &part_files, &ranges, options)?;
        if let Some(len) = pdfs
            .iter()
            .zip(&part_files)
            .map(|(pdf, files)| {
                pdf.len()
                    .saturating_sub(files.iter().map(|f| f.bytes.len()).sum())
            })
            .find(|&len| len > MAX_PART_PDF_BYTES)
        {
            if count >= n {
                return Err(ExportError::TooLarge {
                    len,
                    max: MAX_PART_PDF_BYTES,
                });
            }
            count = (count * 2).min(n);
            continue;
        }
        return Ok(built
            .into_iter()
            .zip(pdfs)
            .zip(part_files)
            .map(|(((export, file), pdf), files)| ExportPart {
                export,
                file,
                pdf,
                files,
            })
            .collect());
    }
}

/// Renders the parts' PDFs, on as many threads as there are cores (at most one per part).
fn render_all(
    built: &[(Export, Vec<u8>)],
    files: &[Vec<ExportFile>],
    ranges: &[std::ops::Range<usize>],
    options: &PdfOptions,
) -> Result<Vec<Vec<u8>>, ExportError> {
    let total = built.len();
    let total_records = ranges.last().map_or(0, |r| r.end);
    let render = |k: usize| {
        let mut o = options.clone();
        o.part = (total > 1).then(|| PdfPart {
            number: k + 1,
            count: total,
            first_record: ranges.get(k).map_or(1, |r| r.start + 1),
            total_records,
        });
        render_pdf_with_files(&built[k].0, &files[k], &o)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(total);
    if threads <= 1 {
        return (0..total).map(render).collect();
    }
    let mut out: Vec<Option<Result<Vec<u8>, ExportError>>> = (0..total).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let render = &render;
                s.spawn(move || {
                    (t..total)
                        .step_by(threads)
                        .map(|k| (k, render(k)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (k, pdf) in done {
                        out[k] = Some(pdf);
                    }
                }
                Err(_) => {
                    // A panic while drawing: reported below as a part that was not drawn.
                }
            }
        }
    });
    out.into_iter()
        .map(|p| p.unwrap_or_else(|| Err(ExportError::Render("a part was not drawn".into()))))
        .collect()
}
