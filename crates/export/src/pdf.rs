//! The printable export: an A4 PDF with the patient's details, every record in words with its
//! issuer and issue date, a standard `shc:/` QR per record (any SMART Health Card verifier app
//! checks the paper copy), and the export file itself attached (`EmbeddedFile`), so that
//! `spondon-verifier check export.pdf` verifies every card and log proof offline.
//!
//! Text is shaped and set in subsets of the embedded Noto Sans and Noto Sans Bengali fonts
//! ([`crate::font`]), so Bangla names and prescriptions print, and extract back, as written.

use std::io::Read as _;

use pdf_writer::types::AssociationKind;
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use qrcode::EcLevel;
use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::shc::{self, ParsedCard};

use crate::files::{self, CardFile, ExportFile, FoundFile, MAX_FILE_BYTES};
use crate::font::Typesetter;
use crate::qr;
use crate::render::{self, Item};
use crate::{Export, ExportError, MAX_EXPORT_BYTES, MEDIA_TYPE, write_export};

/// Largest PDF [`extract_export_from_pdf`] and [`extract_files_from_pdf`] read: the export
/// file and a few documents' files (each at most [`MAX_FILE_BYTES`]).
pub const MAX_PDF_BYTES: usize = 64 * 1024 * 1024;
/// The key of an attached document file's stream dictionary that names the SHA-256 (64 hex) of
/// the card's file it is filed under (a second-class name, ignored by PDF readers).
pub const SHA256_KEY: &[u8] = b"SpondonSHA256";
/// The attachment's file name.
pub const ATTACHMENT_NAME: &str = "spondon-export.smart-health-card";
/// Most `EmbeddedFile` streams looked at when extracting.
const MAX_CANDIDATES: usize = 64;

/// Options of the printed export.
#[derive(Debug, Clone, Default)]
pub struct PdfOptions {
    /// Display names of issuers (`iss` → name), e.g. from the trust list; unnamed issuers are
    /// printed by URL.
    pub issuer_names: Vec<(String, String)>,
    /// A SMART Health Link (`shlink:/…`) to the same export, printed as a QR on the first page.
    pub link: Option<String>,
    /// A web page where anyone can check the PDF without a command line (e.g. a clinic node's
    /// document check), printed on the cover with a QR that opens it.
    pub verify_url: Option<String>,
    /// Passport number entered by the patient: printed on the cover as self-declared. Not signed
    /// by anyone and not put into the export file.
    pub passport: Option<String>,
    /// National ID (NID) number entered by the patient: as `passport`.
    pub national_id: Option<String>,
    /// This PDF is one part of a longer export ([`crate::export_parts`]).
    pub part: Option<PdfPart>,
}

/// Where a part sits in a longer export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfPart {
    /// 1-based.
    pub number: usize,
    /// How many parts the export has.
    pub count: usize,
    /// The number, in the whole export, of this part's first record (1-based).
    pub first_record: usize,
    /// Records in the whole export.
    pub total_records: usize,
}

/// Longest self-declared number printed.
const MAX_SELF_DECLARED: usize = 40;
/// Longest verification page URL printed.
const MAX_VERIFY_URL: usize = 200;

impl PdfOptions {
    /// Checks what the patient typed: self-declared numbers of at most 40 letters, digits,
    /// spaces and `-`/`/`; an `https://` (or `http://`) verification URL of at most 200
    /// characters without spaces.
    pub fn check(&self) -> Result<(), ExportError> {
        for (what, v) in [
            ("passport number", &self.passport),
            ("national ID number", &self.national_id),
        ] {
            let Some(v) = v else { continue };
            let v = v.trim();
            if v.is_empty() || v.chars().count() > MAX_SELF_DECLARED {
                return Err(ExportError::BadOption(format!(
                    "the {what} must have 1 to {MAX_SELF_DECLARED} characters"
                )));
            }
            if !v
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '/'))
            {
                return Err(ExportError::BadOption(format!(
                    "the {what} may hold only letters, digits, spaces, '-' and '/'"
                )));
            }
        }
        if let Some(url) = &self.verify_url {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            let host_ok = url
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
            if !scheme_ok || !host_ok {
                return Err(ExportError::BadOption(
                    "the verification page must be an https:// address".into(),
                ));
            }
            if url.len() > MAX_VERIFY_URL
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ExportError::BadOption(format!(
                    "the verification page address must be at most {MAX_VERIFY_URL} characters, without spaces"
                )));
            }
        }
        Ok(())
    }
}

// A4 in points, margins.
const W: f32 = 595.28;
const H: f32 = 841.89;
const M: f32 = 50.0;
const BOTTOM: f32 = 60.0;
/// A printed QR module (dot): 3 pt (1.06 mm), which a phone reads from paper; a record's QR is
/// drawn at least 150 pt and at most 70 % of the text width.
const QR_MODULE: f32 = 3.0;
const QR_MIN: f32 = 150.0;
const ACCENT: (f32, f32, f32) = (0.07, 0.33, 0.40);
const GREY: f32 = 0.35;
const RED: (f32, f32, f32) = (0.75, 0.10, 0.10);

/// Greedy word wrap to `width`; over-long words are cut.
fn wrap(ts: &Typesetter, text: &str, bold: bool, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if ts.width(&candidate, bold, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_owned();
        while ts.width(&rest, bold, size) > width {
            let mut cut = rest.len();
            while cut > 1 && ts.width(&rest[..cut], bold, size) > width {
                cut -= 1;
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
            }
            if cut == 0 {
                // Narrower than one character: take one anyway, so that the loop ends.
                cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            lines.push(rest[..cut].to_owned());
            rest = rest[cut..].to_owned();
        }
        line = rest;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pages being laid out top to bottom.
struct Layout {
    ts: Typesetter,
    pages: Vec<Content>,
    /// The QR images drawn so far, each on its page.
    images: Vec<PlacedQr>,
    y: f32,
    running_title: String,
}

impl Layout {
    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = H - M;
        let title = self.running_title.clone();
        self.text(M, self.y - 8.0, &title, false, 8.0, Some(GREY));
        self.rule(self.y - 14.0, 0.75);
        self.y -= 30.0;
    }

    /// Starts a new page unless `h` points fit.
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, s: &str, bold: bool, size: f32, grey: Option<f32>) {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let Some(c) = self.pages.last_mut() else {
            return;
        };
        c.set_fill_gray(grey.unwrap_or(0.0));
        self.ts.draw(c, x, y, s, bold, size);
    }

    fn colored_text(&mut self, x: f32, y: f32, s: &str, size: f32, rgb: (f32, f32, f32)) {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let Some(c) = self.pages.last_mut() else {
            return;
        };
        c.set_fill_rgb(rgb.0, rgb.1, rgb.2);
        self.ts.draw(c, x, y, s, true, size);
        c.set_fill_gray(0.0);
    }

    fn rule(&mut self, y: f32, gray: f32) {
        let c = self.page();
        c.set_stroke_gray(gray);
        c.set_line_width(0.5);
        c.move_to(M, y);
        c.line_to(W - M, y);
        c.stroke();
    }

    /// Writes wrapped text at the cursor, breaking pages as needed.
    fn paragraph(&mut self, x: f32, width: f32, s: &str, bold: bool, size: f32, grey: Option<f32>) {
        let leading = size * 1.3;
        for line in wrap(&self.ts, s, bold, size, width) {
            self.ensure(leading);
            self.y -= leading;
            self.text(x, self.y + size * 0.25, &line, bold, size, grey);
        }
    }

    fn qr(&mut self, x: f32, top: f32, size: f32, text: &str) -> bool {
        let Some(image) = QrImage::encode(text) else {
            return false;
        };
        self.draw_qr(x, top, size, image);
        true
    }

    /// Draws `image` with its quiet zone as a `size`-point square whose top left is at
    /// (`x`, `top`): a white square, then the modules as a 1-bit stencil (an image mask, painted
    /// black, never interpolated), so that a module stays a sharp square at any zoom and on
    /// paper, and a QR costs its bits (a few hundred bytes compressed) rather than a path of
    /// thousands of rectangles.
    fn draw_qr(&mut self, x: f32, top: f32, size: f32, image: QrImage) {
        let n = image.width as f32;
        let quiet = 4.0;
        let module = size / (n + 2.0 * quiet);
        let name = format!("Qr{}", self.images.len());
        let page = self.pages.len().max(1) - 1;
        let c = self.page();
        c.set_fill_gray(1.0);
        c.rect(x, top - size, size, size);
        c.fill_nonzero();
        c.set_fill_gray(0.0);
        c.save_state();
        c.transform([
            n * module,
            0.0,
            0.0,
            n * module,
            x + quiet * module,
            top - (quiet + n) * module,
        ]);
        c.x_object(Name(name.as_bytes()));
        c.restore_state();
        self.images.push(PlacedQr { page, name, image });
    }
}

/// A QR code's modules as a PDF image mask: one bit per module, rows padded to a byte, a dark
/// module 0 (painted with the fill colour under the default `/Decode [0 1]`), Flate-compressed.
struct QrImage {
    width: u32,
    data: Vec<u8>,
}

impl QrImage {
    /// The QR of `text` at ECC level L, or `None` when it does not fit one. Level L: for a
    /// given printed size, the fewest and so largest modules (a printed page is blurred, not
    /// torn; larger dots read better than more redundancy).
    fn encode(text: &str) -> Option<QrImage> {
        let code = qr::encode(text.as_bytes(), EcLevel::L)?;
        let n = code.width;
        let row_bytes = n.div_ceil(8);
        let mut bits = vec![0xffu8; row_bytes * n];
        for (i, dark) in code.dark.iter().enumerate() {
            if *dark {
                let (row, col) = (i / n, i % n);
                bits[row * row_bytes + col / 8] &= !(0x80 >> (col % 8));
            }
        }
        Some(QrImage {
            width: u32::try_from(n).ok()?,
            data: deflate(&bits).ok()?,
        })
    }

    /// [`QrImage::encode`] of many texts on every core: choosing a QR's mask is most of the
    /// cost of a PDF export. The answers are in `texts`' order.
    fn encode_all(texts: &[Option<String>]) -> Vec<Option<QrImage>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, 8);
        let chunk = texts.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = texts
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|t| t.as_deref().and_then(QrImage::encode))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }
}

/// A QR image drawn on a page, under its resource name.
struct PlacedQr {
    page: usize,
    name: String,
    image: QrImage,
}

/// The printed size of a record's QR: [`QR_MODULE`] per module with the quiet zone, between
/// [`QR_MIN`] and `max`.
fn qr_size(image: &QrImage, max: f32) -> f32 {
    ((image.width as f32 + 8.0) * QR_MODULE).clamp(QR_MIN, max)
}

/// About how many lines a record's items take (for keeping a record with its QR).
fn meta_lines(items: &[Item]) -> f32 {
    items.iter().map(|i| 1.5 + i.details.len() as f32).sum()
}

fn issuer_name<'a>(options: &'a PdfOptions, iss: &'a str) -> &'a str {
    options
        .issuer_names
        .iter()
        .find(|(i, _)| i == iss)
        .map(|(_, n)| n.as_str())
        .unwrap_or(iss)
}

fn card_title(items: &[Item], resources: &[&Value]) -> String {
    let report = resources
        .iter()
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("DiagnosticReport"))
        .and_then(|r| r.get("code"))
        .and_then(render::concept);
    if let Some(name) = report {
        return format!("Laboratory report: {name}");
    }
    match items.first().map(|i| i.label) {
        Some("Document") => format!(
            "Document: {}",
            items.first().map_or("document", |i| i.text.as_str())
        ),
        Some("Medication") => "Prescription".into(),
        Some("Diagnosis") => "Diagnosis".into(),
        Some("Immunization") => "Immunization".into(),
        Some("Result") => "Test result".into(),
        Some("Allergy") => "Allergy record".into(),
        Some("Encounter") => "Encounter".into(),
        Some("Payment") => "Payment receipt".into(),
        _ => "Health record".into(),
    }
}

/// What the cover shows of the patient, from the hospital-signed cards (never from the
/// wallet-made summary): name, date of birth and sex from the first card with a `Patient`, and
/// every Health ID, labelled with the hospital whose card carries it.
struct Cover {
    details: Vec<(&'static str, String)>,
    health_ids: Vec<(String, String)>,
}

/// Most Health IDs listed on the cover.
const MAX_HEALTH_IDS: usize = 12;

impl Cover {
    fn of(cards: &[ParsedCard], options: &PdfOptions) -> Cover {
        let mut details = Vec::new();
        let mut health_ids: Vec<(String, String)> = Vec::new();
        for card in cards {
            let resources = shc::fhir::resources(card.fhir_bundle());
            let Some(patient) = resources
                .iter()
                .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
            else {
                continue;
            };
            if details.is_empty() {
                details = render::patient(patient)
                    .into_iter()
                    .filter(|(label, _)| matches!(*label, "Name" | "Date of birth" | "Sex"))
                    .collect();
            }
            let ids = patient
                .get("identifier")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for id in ids {
                let (Some(system), Some(value)) = (
                    id.get("system").and_then(Value::as_str),
                    id.get("value").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if !system.ends_with("/health-id") || value.trim().is_empty() {
                    continue;
                }
                let pair = (
                    issuer_name(options, card.iss()).to_owned(),
                    value.trim().to_owned(),
                );
                if !health_ids.contains(&pair) && health_ids.len() < MAX_HEALTH_IDS {
                    health_ids.push(pair);
                }
            }
        }
        Cover {
            details,
            health_ids,
        }
    }
}

fn pdf_date(t: NumericDate) -> Option<Date> {
    let d = time::OffsetDateTime::from_unix_timestamp(t.seconds()).ok()?;
    Some(
        Date::new(u16::try_from(d.year()).ok()?)
            .month(u8::from(d.month()))
            .day(d.day())
            .hour(d.hour())
            .minute(d.minute())
            .second(d.second())
            .utc_offset_hour(0)
            .utc_offset_minute(0),
    )
}

/// Draws the printable PDF of `export`, with the export file attached. An export with document
/// records needs their files: [`render_pdf_with_files`].
pub fn render_pdf(export: &Export, options: &PdfOptions) -> Result<Vec<u8>, ExportError> {
    render_pdf_inner(export, None, options)
}

/// [`render_pdf`] with the files of its document records (`docs/protocol.md` §18.4): each
/// document card's file, checked against its card ([`files::files_of_export`]: a missing or
/// altered file is an error), is attached as a PDF embedded file (`/EmbeddedFiles` and `/AF`,
/// `/AFRelationship /Supplement`, `/Params` with `/Size` and the MD5 `/CheckSum`), named
/// `<title or sha256>.<ext>`, and listed on a page with its title, type, size, SHA-256, issuer
/// and date. Files no card names are left out.
pub fn render_pdf_with_files(
    export: &Export,
    files: &[ExportFile],
    options: &PdfOptions,
) -> Result<Vec<u8>, ExportError> {
    render_pdf_inner(export, Some(files), options)
}

fn render_pdf_inner(
    export: &Export,
    files: Option<&[ExportFile]>,
    options: &PdfOptions,
) -> Result<Vec<u8>, ExportError> {
    let file = write_export(export);
    if file.len() > MAX_EXPORT_BYTES {
        return Err(ExportError::TooLarge {
            len: file.len(),
            max: MAX_EXPORT_BYTES,
        });
    }
    options.check()?;
    let cards: Vec<ParsedCard> = export
        .records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            ParsedCard::parse(&r.jws).map_err(|source| ExportError::Card {
                index: n + 1,
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    // The document files to attach, checked against their cards, with unique attachment names.
    let attached: Vec<(usize, CardFile, &ExportFile, String)> = match files {
        Some(files) => {
            let mut names: Vec<String> = vec![ATTACHMENT_NAME.to_owned()];
            files::files_of_export(export, files)?
                .into_iter()
                .map(|(i, cf, f)| {
                    let base = cf.attachment_name();
                    let mut name = base.clone();
                    let mut k = 2;
                    while names.contains(&name) {
                        name = match base.rsplit_once('.') {
                            Some((stem, ext)) => format!("{stem} ({k}).{ext}"),
                            None => format!("{base} ({k})"),
                        };
                        k += 1;
                    }
                    names.push(name.clone());
                    (i, cf, f, name)
                })
                .collect()
        }
        None => Vec::new(),
    };
    let cover = Cover::of(&cards, options);
    let patient_name = cover
        .details
        .iter()
        .find(|(l, _)| *l == "Name")
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| "Patient".into());
    let part_words = options
        .part
        .filter(|p| p.count > 1)
        .map(|p| format!("part {} of {}", p.number, p.count));
    let mut l = Layout {
        ts: Typesetter::new()?,
        pages: vec![Content::new()],
        images: Vec::new(),
        y: H,
        running_title: match &part_words {
            Some(p) => format!("International Patient Summary - {patient_name} - {p}"),
            None => format!("International Patient Summary - {patient_name}"),
        },
    };
    let cw = W - 2.0 * M;

    // Title band.
    {
        let c = l.page();
        c.set_fill_rgb(ACCENT.0, ACCENT.1, ACCENT.2);
        c.rect(0.0, H - 92.0, W, 92.0);
        c.fill_nonzero();
    }
    l.colored_text(
        M,
        H - 48.0,
        "International Patient Summary",
        22.0,
        (1.0, 1.0, 1.0),
    );
    l.colored_text(
        M,
        H - 70.0,
        &format!(
            "Health records signed by the issuing hospitals  \u{2022}  exported {}",
            render::date(export.created)
        ),
        10.0,
        (0.85, 0.93, 0.95),
    );
    if let Some(p) = &part_words {
        let text = format!("P{}", &p[1..]);
        let w = l.ts.width(&text, true, 16.0);
        l.colored_text(W - M - w, H - 48.0, &text, 16.0, (1.0, 1.0, 1.0));
    }
    l.y = H - 92.0 - 28.0;

    // Patient, as the hospitals signed it.
    let top = l.y;
    let link_qr = options.link.as_deref().filter(|t| !t.is_empty());
    let detail_w = if link_qr.is_some() { cw - 120.0 } else { cw };
    l.text(
        M,
        l.y,
        "PATIENT (as recorded in the hospital-signed records)",
        true,
        9.0,
        Some(GREY),
    );
    l.y -= 18.0;
    for (label, value) in &cover.details {
        l.text(M, l.y, label, false, 10.0, Some(GREY));
        let lines = wrap(&l.ts, value, true, 11.0, detail_w - 110.0);
        for line in lines {
            l.text(M + 110.0, l.y, &line, true, 11.0, None);
            l.y -= 15.0;
        }
        l.y -= 1.0;
    }
    if cover.details.is_empty() {
        l.text(
            M,
            l.y,
            "No patient details in the records.",
            false,
            10.0,
            Some(GREY),
        );
        l.y -= 16.0;
    }
    // The link QR beside the patient details.
    if let Some(link) = link_qr {
        let size = 96.0;
        let x = W - M - size;
        if l.qr(x, top + 6.0, size, link) {
            l.text(x, top - size, "SMART Health Link", true, 7.5, Some(GREY));
            l.text(
                x,
                top - size - 9.0,
                "(all records, encrypted)",
                false,
                7.5,
                Some(GREY),
            );
            l.y = l.y.min(top - size - 16.0);
        }
    }

    // Health IDs by hospital.
    if !cover.health_ids.is_empty() {
        l.y -= 10.0;
        l.text(M, l.y, "HEALTH IDS", true, 9.0, Some(GREY));
        l.y -= 16.0;
        l.text(M, l.y, "Hospital", false, 8.5, Some(GREY));
        l.text(M + 300.0, l.y, "Health ID", false, 8.5, Some(GREY));
        l.rule(l.y - 5.0, 0.8);
        l.y -= 18.0;
        for (hospital, id) in &cover.health_ids {
            let lines = wrap(&l.ts, hospital, false, 10.0, 290.0);
            l.text(M + 300.0, l.y, id, true, 10.5, None);
            for line in lines {
                l.text(M, l.y, &line, false, 10.0, None);
                l.y -= 13.0;
            }
            l.y -= 3.0;
        }
    }

    // Self-declared numbers.
    let declared: Vec<(&str, &str)> = [
        ("Passport number", options.passport.as_deref()),
        ("National ID (NID)", options.national_id.as_deref()),
    ]
    .into_iter()
    .filter_map(|(l, v)| Some((l, v?.trim())))
    .collect();
    if !declared.is_empty() {
        l.y -= 10.0;
        l.text(
            M,
            l.y,
            "SELF-DECLARED BY THE PATIENT",
            true,
            9.0,
            Some(GREY),
        );
        l.y -= 16.0;
        for (label, value) in &declared {
            l.text(M, l.y, label, false, 10.0, Some(GREY));
            l.text(M + 110.0, l.y, value, true, 11.0, None);
            l.y -= 15.0;
        }
        l.paragraph(
            M,
            cw,
            "Entered by the patient in the wallet: self-declared by the patient, not verified by any hospital. \
             No one has signed these numbers, and they are not part of the signed records or the attached file.",
            false,
            8.5,
            Some(GREY),
        );
    }

    // This document.
    l.y -= 16.0;
    l.text(M, l.y, "THIS DOCUMENT", true, 9.0, Some(GREY));
    l.y -= 2.0;
    let n = export.records.len();
    let contents = match options.part.filter(|p| p.count > 1) {
        Some(p) => format!(
            "Exported {} from the patient's Spondon wallet. This is part {} of {}: records {} to {} of {}. \
             Each part is complete on its own and verifies on its own.",
            render::date(export.created),
            p.number,
            p.count,
            p.first_record,
            p.first_record + n.saturating_sub(1),
            p.total_records
        ),
        None => format!(
            "Exported {} from the patient's Spondon wallet: {n} record{}.",
            render::date(export.created),
            if n == 1 { "" } else { "s" }
        ),
    };
    l.paragraph(M, cw, &contents, false, 10.0, None);
    l.y -= 10.0;

    // How to verify, without a command line first.
    let verify_qr = options.verify_url.as_deref();
    let qr_room = if verify_qr.is_some() { 100.0 } else { 0.0 };
    let mut how: Vec<(bool, String)> = Vec::new();
    match verify_qr {
        Some(url) => how.push((
            false,
            format!(
                "1. On the web, no software needed: open {url} (or scan the QR code beside this box) and \
                 upload this PDF file. The page checks every record's hospital signature and its entry in \
                 the hospital's transparency log, and says whether the document is genuine and unaltered."
            ),
        )),
        None => how.push((
            false,
            "1. On the web, no software needed: upload this PDF file to the document check page of a \
             Spondon clinic node. It checks every record's hospital signature and its entry in the \
             hospital's transparency log, and says whether the document is genuine and unaltered."
                .into(),
        )),
    }
    how.push((
        false,
        "2. With a phone: each record's QR code is that one record exactly as its hospital signed it \
         (a SMART Health Card). Any SMART Health Card verifier app reads it and shows the record and \
         whether a trusted hospital signed it. A QR code proves its record, not this cover page."
            .into(),
    ));
    if link_qr.is_some() {
        how.push((
            false,
            "3. The SMART Health Link QR code (top right) opens the whole export, encrypted, in a SMART \
             Health Link viewer."
                .into(),
        ));
    }
    how.push((
        false,
        "What is signed: the records, by their hospitals. This cover and the layout are made by the \
         patient's wallet."
            .into(),
    ));
    how.push((
        true,
        format!(
            "Command line (offline): spondon-verifier check --trust trust-list.txt --root-key authority.jwk \
             this.pdf (the attachment {ATTACHMENT_NAME} holds the signed records and their proofs)."
        ),
    ));
    let text_w = cw - 24.0 - qr_room;
    let lines: Vec<(bool, String)> = how
        .iter()
        .flat_map(|(small, t)| {
            let size = if *small { 7.5 } else { 8.5 };
            let mut v: Vec<(bool, String)> = wrap(&l.ts, t, false, size, text_w)
                .into_iter()
                .map(|line| (*small, line))
                .collect();
            v.push((*small, String::new()));
            v
        })
        .collect();
    let lines_h: f32 = lines
        .iter()
        .map(|(small, line)| match (line.is_empty(), small) {
            (true, _) => 3.0,
            (false, true) => 9.5,
            (false, false) => 10.5,
        })
        .sum();
    let box_h = (24.0 + lines_h).max(qr_room + 24.0);
    l.ensure(box_h + 10.0);
    {
        let y = l.y;
        let c = l.page();
        c.set_fill_rgb(0.93, 0.96, 0.97);
        c.rect(M, y - box_h, cw, box_h);
        c.fill_nonzero();
        c.set_fill_rgb(ACCENT.0, ACCENT.1, ACCENT.2);
        c.rect(M, y - box_h, 3.0, box_h);
        c.fill_nonzero();
    }
    l.text(M + 12.0, l.y - 14.0, "HOW TO VERIFY", true, 8.0, Some(GREY));
    let mut y = l.y - 27.0;
    for (small, line) in &lines {
        if line.is_empty() {
            y -= 3.0;
            continue;
        }
        let (size, grey) = if *small { (7.5, GREY) } else { (8.5, 0.15) };
        l.text(M + 12.0, y, line, false, size, Some(grey));
        y -= if *small { 9.5 } else { 10.5 };
    }
    if let Some(url) = verify_qr {
        let x = W - M - qr_room - 2.0;
        if l.qr(x, l.y - 6.0, qr_room, url) {
            l.text(
                x + 4.0,
                l.y - qr_room - 12.0,
                "Verification page",
                false,
                7.0,
                Some(GREY),
            );
        }
    }
    l.y -= box_h + 20.0;

    // Records, from the second page.
    l.new_page();
    l.text(
        M,
        l.y,
        &match options.part.filter(|p| p.count > 1) {
            Some(p) => format!(
                "RECORDS {} TO {} OF {}",
                p.first_record,
                p.first_record + n.saturating_sub(1),
                p.total_records
            ),
            None => format!("RECORDS ({n})"),
        },
        true,
        9.0,
        Some(GREY),
    );
    l.y -= 8.0;
    let first_number = options.part.map_or(1, |p| p.first_record);
    // Every record's QR, encoded up front on every core (in record order).
    let texts: Vec<Option<String>> = export
        .records
        .iter()
        .map(|r| shc::encode_numeric(&r.jws).ok())
        .collect();
    let mut qrs = QrImage::encode_all(&texts).into_iter();
    for (n, (record, card)) in export.records.iter().zip(&cards).enumerate() {
        let number = first_number + n;
        let resources = shc::fhir::resources(card.fhir_bundle());
        let items: Vec<Item> = resources
            .iter()
            .filter_map(|r| render::describe(r))
            .collect();
        let by = resources
            .iter()
            .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Practitioner"))
            .and_then(|r| render::practitioner(r));
        let issued = card
            .nbf()
            .as_f64()
            .and_then(NumericDate::from_f64_floor)
            .map(render::date)
            .unwrap_or_else(|| card.nbf().to_string());
        let qr = qrs.next().flatten().map(|image| {
            let size = qr_size(&image, cw * 0.7);
            (image, size)
        });
        let hospital = issuer_name(options, card.iss());

        // A record starts on a new page unless its heading and its QR fit (then its QR is not
        // cut from it).
        let qr_h = qr.as_ref().map_or(0.0, |(_, size)| *size);
        let text_h = 60.0 + 12.0 * meta_lines(&items);
        l.ensure((qr_h + text_h + 40.0).min(H - M - BOTTOM - 40.0));
        l.rule(l.y - 4.0, 0.8);
        l.y -= 22.0;
        let title = format!("{number}. {}", card_title(&items, &resources));
        for line in wrap(&l.ts, &title, true, 12.5, cw) {
            l.text(M, l.y, &line, true, 12.5, None);
            l.y -= 16.0;
        }
        let mut meta = vec![
            if hospital == card.iss() {
                format!("Issued by {hospital}")
            } else {
                format!("Issued by {hospital} ({})", card.iss())
            },
            format!("Issue date {issued}"),
        ];
        if let Some(by) = by {
            meta.push(format!("Clinician {by}"));
        }
        if let Some(p) = &record.proof {
            meta.push(format!(
                "Logged in the hospital's transparency log, entry {}",
                p.bundle.index
            ));
        }
        for m in &meta {
            l.paragraph(M, cw, m, false, 8.5, Some(GREY));
        }
        l.y -= 6.0;
        for item in &items {
            l.ensure(30.0);
            l.y -= 14.0;
            l.text(M, l.y, item.label, false, 8.0, Some(GREY));
            let mut x_after = M + 70.0;
            let main = wrap(&l.ts, &item.text, true, 10.0, cw - 70.0 - 50.0);
            for (k, line) in main.iter().enumerate() {
                if k > 0 {
                    l.ensure(13.0);
                    l.y -= 13.0;
                }
                l.text(M + 70.0, l.y, line, true, 10.0, None);
                x_after = M + 70.0 + l.ts.width(line, true, 10.0);
            }
            if let Some(flag) = &item.flag {
                l.colored_text(x_after + 8.0, l.y, &flag.to_uppercase(), 8.5, RED);
            }
            // Room under the bold line for its descenders.
            l.y -= 2.5;
            for d in &item.details {
                l.paragraph(M + 70.0, cw - 70.0, d, false, 8.5, Some(GREY));
            }
        }
        // A document card: whether its file travels in this PDF.
        if items.first().is_some_and(|i| i.label == "Document") {
            let index = number - first_number;
            let line = match attached.iter().find(|(i, ..)| *i == index) {
                Some((.., name)) => format!(
                    "The file is attached to this PDF as {name} (listed under Attached files)."
                ),
                None => match attached.iter().find(|(_, cf, ..)| {
                    CardFile::of_bundle(card.fhir_bundle())
                        .and_then(Result::ok)
                        .is_some_and(|c| c.sha256 == cf.sha256)
                }) {
                    Some((.., name)) => {
                        format!("The file is attached to this PDF as {name}.")
                    }
                    None => "The file is not attached to this PDF.".to_owned(),
                },
            };
            l.y -= 4.0;
            l.paragraph(M + 70.0, cw - 70.0, &line, true, 8.5, Some(GREY));
        }
        // The QR below the record, large enough for a phone to read from paper, with what it
        // means beside it.
        match qr {
            Some((image, size)) => {
                l.ensure(size + 14.0);
                let top = l.y - 6.0;
                l.draw_qr(M, top, size, image);
                let x = M + size + 14.0;
                let w = cw - size - 14.0;
                let mut y = top - 12.0;
                for line in wrap(&l.ts, &format!("Record {number}"), true, 9.0, w) {
                    l.text(x, y, &line, true, 9.0, Some(GREY));
                    y -= 12.0;
                }
                let caption = format!(
                    "This QR code is this record exactly as {hospital} signed it (a SMART Health Card). \
                     Scan it with a SMART Health Card verifier app to see the record and check the signature."
                );
                for line in wrap(&l.ts, &caption, false, 8.0, w) {
                    l.text(x, y, &line, false, 8.0, Some(GREY));
                    y -= 10.5;
                }
                l.y = top - size;
            }
            None => {
                l.y -= 6.0;
                l.paragraph(
                    M,
                    cw,
                    "This record is too large for a single QR code: verify it from the PDF file or the SMART Health Link.",
                    false,
                    8.0,
                    Some(GREY),
                );
            }
        }
        l.y -= 12.0;
    }

    // Attached files, listed.
    if !attached.is_empty() {
        l.new_page();
        l.text(
            M,
            l.y,
            &format!("ATTACHED FILES ({})", attached.len()),
            true,
            9.0,
            Some(GREY),
        );
        l.y -= 6.0;
        l.paragraph(
            M,
            cw,
            "Each file below is attached to this PDF (open the PDF viewer's attachments panel). \
             Each record's card names its file's size and SHA-256, and the hospital signed the card: \
             spondon-verifier check this.pdf checks every attached file against its card.",
            false,
            8.5,
            Some(GREY),
        );
        for (i, cf, _, name) in &attached {
            let card = &cards[*i];
            let issued = card
                .nbf()
                .as_f64()
                .and_then(NumericDate::from_f64_floor)
                .map(render::date)
                .unwrap_or_else(|| card.nbf().to_string());
            let hospital = issuer_name(options, card.iss()).to_owned();
            l.ensure(110.0);
            l.rule(l.y - 6.0, 0.8);
            l.y -= 22.0;
            let title = cf.doc_type.clone().unwrap_or_else(|| "Document".to_owned());
            for line in wrap(&l.ts, &format!("{name}  ({title})"), true, 10.5, cw) {
                l.text(M, l.y, &line, true, 10.5, None);
                l.y -= 14.0;
            }
            let rows = [
                ("Record", format!("{}", first_number + i)),
                ("Type", files::type_words(cf.kind).to_owned()),
                ("Size", render::size_words(cf.size)),
                ("SHA-256", files::hex(&cf.sha256)),
                ("Issuer", hospital),
                ("Date", issued),
            ];
            for (label, value) in rows {
                let size = if label == "SHA-256" { 7.5 } else { 9.0 };
                let lines = wrap(&l.ts, &value, false, size, cw - 70.0);
                l.ensure(12.0 * lines.len() as f32);
                l.text(M, l.y, label, false, 8.0, Some(GREY));
                for line in lines {
                    l.text(M + 70.0, l.y, &line, false, size, None);
                    l.y -= 12.0;
                }
            }
        }
    }

    // Footers.
    let total = l.pages.len();
    for i in 0..total {
        let footer = format!(
            "Page {} of {total}  \u{2022}  Spondon export  \u{2022}  Records signed by their hospitals; summary assembled by the patient's wallet",
            i + 1
        );
        let c = &mut l.pages[i];
        c.set_stroke_gray(0.8);
        c.set_line_width(0.5);
        c.move_to(M, 42.0);
        c.line_to(W - M, 42.0);
        c.stroke();
        c.set_fill_gray(GREY);
        l.ts.draw(c, M, 30.0, &footer, false, 7.5);
    }

    // Objects.
    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let file_spec = Ref::new(5);
    let embedded = Ref::new(6);
    let info = Ref::new(7);
    let first_page = 8;
    let page_ids: Vec<Ref> = (0..total)
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(total).map_err(|_| ExportError::Render("too many pages".into()))?);
    let mut next = first_page + 2 * i32::try_from(total).unwrap_or(0);
    let Layout {
        ts, pages, images, ..
    } = l;
    let fonts = ts.write_fonts(&mut pdf, &mut next)?;
    // The QR images, each an image mask (see `Layout::draw_qr`).
    let mut page_images: Vec<Vec<(&str, Ref)>> = vec![Vec::new(); total];
    for placed in &images {
        let id = Ref::new(next);
        next += 1;
        let mut image = pdf.image_xobject(id, &placed.image.data);
        image.filter(Filter::FlateDecode);
        image.width(i32::try_from(placed.image.width).unwrap_or(i32::MAX));
        image.height(i32::try_from(placed.image.width).unwrap_or(i32::MAX));
        image.image_mask(true);
        image.bits_per_component(1);
        image.interpolate(false);
        image.finish();
        if let Some(list) = page_images.get_mut(placed.page) {
            list.push((&placed.name, id));
        }
    }
    // Each attached document: its file specification and its embedded file stream.
    let doc_refs: Vec<(Ref, Ref)> = attached
        .iter()
        .map(|_| {
            let spec = Ref::new(next);
            let ef = Ref::new(next + 1);
            next += 2;
            (spec, ef)
        })
        .collect();
    {
        let mut spec = pdf.file_spec(file_spec);
        spec.path(Str(ATTACHMENT_NAME.as_bytes()))
            .unic_file(TextStr(ATTACHMENT_NAME))
            .description(TextStr(
                "The signed SMART Health Cards with their transparency-log proofs (Spondon export)",
            ))
            .association_kind(AssociationKind::Data)
            .embedded_file_with_unicode(embedded);
        spec.finish();
    }
    {
        // Flate-compressed: the cards' log proofs share their checkpoint and most of their
        // hashes, so the export file shrinks to about a third.
        let packed = deflate(&file)?;
        let mut ef = pdf.embedded_file(embedded, &packed);
        ef.filter(Filter::FlateDecode);
        // The MIME type as a name (pdf-writer writes its `/` as `#2F`).
        ef.subtype(Name(MEDIA_TYPE.as_bytes()));
        let mut params = ef.params();
        params.size(
            i32::try_from(file.len())
                .map_err(|_| ExportError::Render("attachment too large".into()))?,
        );
        if let Some(d) = pdf_date(export.created) {
            params.creation_date(d);
        }
        params.finish();
        ef.finish();
    }
    for ((_, cf, f, name), (spec_ref, ef_ref)) in attached.iter().zip(&doc_refs) {
        let mut spec = pdf.file_spec(*spec_ref);
        spec.path(Str(name.as_bytes()))
            .unic_file(TextStr(name))
            .description(TextStr(&format!(
                "{} ({}); its card names SHA-256 {}",
                cf.doc_type.as_deref().unwrap_or("Document"),
                files::type_words(cf.kind),
                files::hex(&cf.sha256)
            )))
            .association_kind(AssociationKind::Supplement)
            .embedded_file_with_unicode(*ef_ref);
        spec.finish();
        // Stored as is (no filter): PDF and JPEG/PNG files are compressed already.
        let mut ef = pdf.embedded_file(*ef_ref, &f.bytes);
        ef.subtype(Name(cf.kind.mime().as_bytes()));
        ef.pair(Name(SHA256_KEY), Str(files::hex(&cf.sha256).as_bytes()));
        let mut params = ef.params();
        params.size(
            i32::try_from(f.bytes.len())
                .map_err(|_| ExportError::Render("attachment too large".into()))?,
        );
        let md5: [u8; 16] = {
            use md5::Digest as _;
            md5::Md5::digest(&f.bytes).into()
        };
        params.checksum(Str(&md5));
        params.finish();
        ef.finish();
    }
    {
        // The catalog names every attachment (a name tree's keys in byte order) and associates
        // each with the document (`/AF`).
        let mut entries: Vec<(&[u8], Ref)> = vec![(ATTACHMENT_NAME.as_bytes(), file_spec)];
        for ((.., name), (spec_ref, _)) in attached.iter().zip(&doc_refs) {
            entries.push((name.as_bytes(), *spec_ref));
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut cat = pdf.catalog(catalog);
        cat.pages(tree);
        {
            let mut names = cat.names();
            let mut tree = names.embedded_files();
            let mut list = tree.names();
            for (name, r) in &entries {
                list.insert(Str(name), *r);
            }
        }
        let mut af = cat.insert(Name(b"AF")).array();
        af.item(file_spec);
        for (spec_ref, _) in &doc_refs {
            af.item(*spec_ref);
        }
        af.finish();
        cat.finish();
    }
    {
        let mut di = pdf.document_info(info);
        di.title(TextStr(&format!(
            "International Patient Summary - {patient_name}"
        )))
        .creator(TextStr("Spondon wallet"))
        .producer(TextStr("spondon-export"));
        if let Some(d) = pdf_date(export.created) {
            di.creation_date(d);
        }
        di.finish();
    }
    for (i, content) in pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, W, H))
            .parent(tree)
            .contents(content_id);
        {
            let mut resources = page.resources();
            let mut dict = resources.fonts();
            for (name, font) in &fonts {
                dict.pair(*name, *font);
            }
            dict.finish();
            if let Some(list) = page_images.get(i).filter(|l| !l.is_empty()) {
                let mut objects = resources.x_objects();
                for (name, id) in list {
                    objects.pair(Name(name.as_bytes()), *id);
                }
            }
        }
        page.finish();
        let data = deflate(&content.finish())?;
        pdf.stream(content_id, &data).filter(Filter::FlateDecode);
    }
    Ok(pdf.finish())
}

pub(crate) fn deflate(data: &[u8]) -> Result<Vec<u8>, ExportError> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data)
        .and_then(|()| z.finish())
        .map_err(|e| ExportError::Render(e.to_string()))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn rfind(hay: &[u8], needle: &[u8], before: usize) -> Option<usize> {
    let end = before.min(hay.len());
    hay[..end].windows(needle.len()).rposition(|w| w == needle)
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b)
}

/// The integer after `/Key` in a dictionary text (direct, or an indirect `N G R` resolved in
/// `pdf`).
fn dict_int(dict: &[u8], key: &[u8], pdf: &[u8]) -> Option<usize> {
    let mut at = 0;
    let p = loop {
        let p = find(dict, key, at)?;
        let after = p + key.len();
        if dict.get(after).is_none_or(|&b| is_delimiter(b)) {
            break after;
        }
        at = after;
    };
    let rest = &dict[p..];
    let words: Vec<&[u8]> = rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .take(3)
        .collect();
    let num = |w: &[u8]| -> Option<usize> {
        let digits: Vec<u8> = w.iter().copied().take_while(u8::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 12 {
            return None;
        }
        std::str::from_utf8(&digits).ok()?.parse().ok()
    };
    let first = num(words.first()?)?;
    if words.len() == 3 && words[2].first() == Some(&b'R') {
        let generation = num(words[1])?;
        let header = format!("{first} {generation} obj");
        let obj = find(pdf, header.as_bytes(), 0)?;
        let after = &pdf[obj + header.len()..];
        let value = after
            .split(|b| b.is_ascii_whitespace())
            .find(|w| !w.is_empty())?;
        return num(value);
    }
    Some(first)
}

/// Finds the export file attached to a PDF made by [`render_pdf`] (or re-saved by a tool that
/// keeps attachments as plain or Flate-compressed streams). Bounded work on untrusted input; the
/// bytes returned still need [`crate::parse_export`].
pub fn extract_export_from_pdf(bytes: &[u8]) -> Result<Vec<u8>, ExportError> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(ExportError::TooLarge {
            len: bytes.len(),
            max: MAX_PDF_BYTES,
        });
    }
    if find(&bytes[..bytes.len().min(1024)], b"%PDF-", 0).is_none() {
        return Err(ExportError::NotPdf);
    }
    let mut at = 0;
    let mut candidates = 0;
    let mut last_error = None;
    while let Some(p) = find(bytes, b"/EmbeddedFile", at) {
        at = p + 1;
        let after = p + b"/EmbeddedFile".len();
        if bytes.get(after).is_some_and(|&b| !is_delimiter(b)) {
            continue; // `/EmbeddedFiles` (the name tree) or another name
        }
        candidates += 1;
        if candidates > MAX_CANDIDATES {
            break;
        }
        match stream_after(bytes, p, MAX_EXPORT_BYTES) {
            Ok(Stream { data, .. }) => {
                let looks_right = data
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|&b| b == b'{')
                    && find(&data, b"verifiableCredential", 0).is_some();
                if looks_right {
                    return Ok(data);
                }
                last_error = Some(ExportError::BadAttachment(
                    "an attached file is not a SMART Health Card file".into(),
                ));
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or(ExportError::NoAttachment))
}

/// Most document files [`extract_files_from_pdf`] takes from one PDF.
const MAX_ATTACHED_FILES: usize = 256;

/// Finds the document files attached to a PDF made by [`render_pdf_with_files`] (every
/// `EmbeddedFile` stream but the export file), each with the card hash it is filed under
/// ([`SHA256_KEY`]) when its dictionary names one. Bounded work on untrusted input: each stream
/// is skipped by its `/Length`, at most [`MAX_FILE_BYTES`] per file. The files still need
/// [`crate::check_files`].
pub fn extract_files_from_pdf(bytes: &[u8]) -> Result<Vec<FoundFile>, ExportError> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(ExportError::TooLarge {
            len: bytes.len(),
            max: MAX_PDF_BYTES,
        });
    }
    if find(&bytes[..bytes.len().min(1024)], b"%PDF-", 0).is_none() {
        return Err(ExportError::NotPdf);
    }
    let mut out = Vec::new();
    let mut at = 0;
    let mut seen = 0;
    while let Some(p) = find(bytes, b"/EmbeddedFile", at) {
        at = p + 1;
        let after = p + b"/EmbeddedFile".len();
        if bytes.get(after).is_some_and(|&b| !is_delimiter(b)) {
            continue;
        }
        seen += 1;
        if seen > MAX_ATTACHED_FILES + 1 {
            return Err(ExportError::BadAttachment(
                "the PDF has too many attached files".into(),
            ));
        }
        let stream = stream_after(bytes, p, MAX_FILE_BYTES)?;
        at = at.max(stream.end);
        let is_export = stream
            .data
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
            && find(&stream.data, b"verifiableCredential", 0).is_some();
        if is_export {
            continue;
        }
        let dict = &bytes[stream.dict.clone()];
        let claimed = find(dict, SHA256_KEY, 0).and_then(|k| {
            let rest = &dict[k + SHA256_KEY.len()..];
            let open = rest.iter().position(|&b| b == b'(')?;
            let text = rest.get(open + 1..open + 65)?;
            files::parse_hex_sha256(std::str::from_utf8(text).ok()?)
        });
        let name = match claimed {
            Some(h) => format!("attached file {}", files::hex(&h)),
            None => format!("attached file {}", out.len() + 1),
        };
        out.push(FoundFile {
            name,
            claimed_sha256: claimed,
            bytes: stream.data,
        });
    }
    Ok(out)
}

/// A stream found in a PDF: its decoded data, its dictionary's place and where its data ends.
struct Stream {
    data: Vec<u8>,
    dict: std::ops::Range<usize>,
    end: usize,
}

/// The (decoded) data of the stream whose dictionary holds the name at `name_at`, at most `max`
/// bytes.
fn stream_after(pdf: &[u8], name_at: usize, max: usize) -> Result<Stream, ExportError> {
    let damaged = |m: &str| ExportError::BadAttachment(m.to_owned());
    let obj_start = rfind(pdf, b" obj", name_at).ok_or_else(|| damaged("no object header"))?;
    let kw = find(pdf, b"stream", name_at).ok_or_else(|| damaged("no stream"))?;
    if let Some(end) = find(pdf, b"endobj", name_at)
        && end < kw
    {
        return Err(damaged("the attachment is not a stream"));
    }
    let dict_range = obj_start..kw;
    let dict = &pdf[obj_start..kw];
    let mut data_start = kw + b"stream".len();
    match pdf.get(data_start..data_start + 2) {
        Some(b"\r\n") => data_start += 2,
        Some([b'\n', _]) | Some([b'\r', _]) => data_start += 1,
        _ => return Err(damaged("bad stream keyword")),
    }
    let length = dict_int(dict, b"/Length", pdf);
    let raw = match length {
        Some(n) if data_start.checked_add(n).is_some_and(|e| e <= pdf.len()) => {
            &pdf[data_start..data_start + n]
        }
        _ => {
            let end = find(pdf, b"endstream", data_start)
                .ok_or_else(|| damaged("the stream has no end"))?;
            let mut e = end;
            while e > data_start && matches!(pdf[e - 1], b'\r' | b'\n') {
                e -= 1;
            }
            &pdf[data_start..e]
        }
    };
    let end = data_start + raw.len();
    let done = |data: Vec<u8>| Stream {
        data,
        dict: dict_range.clone(),
        end,
    };
    let filter = find(dict, b"/Filter", 0).map(|p| &dict[p..]);
    match filter {
        None => {
            if raw.len() > max {
                return Err(ExportError::TooLarge {
                    len: raw.len(),
                    max,
                });
            }
            Ok(done(raw.to_vec()))
        }
        Some(f)
            if f.starts_with(b"/Filter /FlateDecode") || f.starts_with(b"/Filter/FlateDecode") =>
        {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(raw)
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| damaged(&format!("cannot inflate: {e}")))?;
            if out.len() > max {
                return Err(ExportError::TooLarge {
                    len: out.len(),
                    max,
                });
            }
            Ok(done(out))
        }
        Some(_) => Err(damaged(
            "the attachment uses a compression this reader does not support",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_always_ends() {
        let ts = Typesetter::new().expect("fonts");
        assert_eq!(wrap(&ts, "", false, 10.0, 100.0), Vec::<String>::new());
        let lines = wrap(&ts, "ঢাকাঢাকাঢাকা মেডিকেল", false, 10.0, 1.0);
        assert_eq!(lines.concat(), "ঢাকাঢাকাঢাকামেডিকেল");
        let lines = wrap(&ts, &"x".repeat(500), true, 10.0, 100.0);
        assert!(lines.len() > 5 && lines.iter().all(|l| ts.width(l, true, 10.0) <= 100.0));
        let lines = wrap(&ts, "ঢাকা মেডিকেল কলেজ হাসপাতাল", false, 10.0, 80.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| ts.width(l, false, 10.0) <= 80.0));
    }
}
