//! `spondon-verifier check`: the offline verdict on one input.

use std::path::{Path, PathBuf};

use spondon_core::NumericDate;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::shc::{self, Directory, VerifyOptions};
use spondon_core::token::{self, TokenClaims, TrustAnchors, TrustList};

use spondon_export::{CardFile, Export, ExportRecord, FoundFile, MAX_FILE_BYTES};

pub use crate::input::InputError;
use crate::input::{self, Shape};
pub use crate::report::{FileVerdict, Problem, Report};

/// Why `check` could not judge at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The input cannot be read, or is nothing `check` knows.
    #[error(transparent)]
    Input(#[from] InputError),
    /// `--at` is not an RFC 3339 time.
    #[error("--at {0:?} is not an RFC 3339 time such as 2021-06-01T00:00:00Z")]
    BadTime(String),
    /// The `--directory` issuer-key file is refused: its path, and why.
    #[error("--directory {path}: {message}")]
    BadDirectory {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
    /// The `--root-key` file is not an ES256 public JWK: its path, and why.
    #[error("--root-key {path}: {message}")]
    BadRootKey {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
    /// The `--trust` list is refused (signature, expiry, content): its path, and why.
    #[error("--trust {path}: {message}")]
    BadTrustList {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
    /// `--trust` was given without `--root-key`.
    #[error(
        "--trust needs --root-key: a trust list is only as good as the root key it is checked against"
    )]
    TrustWithoutRoot,
    /// A QR photo holds no QR code that could be decoded.
    #[error("the image holds no QR code that could be read: {0}")]
    Image(String),
    /// An export directory cannot be read as one: its path, and why.
    #[error("{path}: {message}")]
    BadExportDirectory {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
    /// A `--file` document cannot be read: its path, and why.
    #[error("--file {path}: {message}")]
    BadFile {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
}

impl CheckError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Input(e) => e.code(),
            Self::BadTime(_) => "bad_time",
            Self::BadDirectory { .. } => "bad_directory",
            Self::BadRootKey { .. } => "bad_root_key",
            Self::BadTrustList { .. } => "bad_trust_list",
            Self::TrustWithoutRoot => "trust_without_root",
            Self::Image(_) => "unreadable_image",
            Self::BadExportDirectory { .. } => "bad_export_directory",
            Self::BadFile { .. } => "bad_file",
        }
    }
}

/// What the input is checked against.
#[derive(Debug, Default)]
pub struct Trust {
    /// SMART Health Card issuers and their keys (from `--directory` or the trust list).
    pub directory: Directory,
    /// The consortium trust list, checked against `root_key`; `None` without `--trust`.
    pub trust_list: Option<TrustList>,
    /// The authority root key the trust list and Spondon tokens are checked against.
    pub root_key: Option<Es256PublicKey>,
}

/// Parses `--at`, or takes the system clock.
pub fn instant(at: Option<&str>) -> Result<NumericDate, CheckError> {
    let Some(text) = at else {
        return Ok(NumericDate::now());
    };
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| CheckError::BadTime(text.to_owned()))?;
    Ok(NumericDate(parsed.unix_timestamp()))
}

fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = input::read(path)?;
    String::from_utf8(bytes).map_err(|_| InputError::NotText {
        path: path.display().to_string(),
    })
}

/// Loads the directories, the root key and the trust list named on the command line. The trust
/// list must verify against the root key at `now`; its hospitals' record keys join the directory.
pub fn load_trust(
    directories: &[impl AsRef<Path>],
    root_key: Option<&Path>,
    trust_list: Option<&Path>,
    now: NumericDate,
) -> Result<Trust, CheckError> {
    let mut trust = Trust::default();
    for path in directories {
        let path = path.as_ref();
        let text = read_text(path)?;
        trust
            .directory
            .merge_json(&text)
            .map_err(|e| CheckError::BadDirectory {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
    }
    if let Some(path) = root_key {
        let bad = |message: String| CheckError::BadRootKey {
            path: path.display().to_string(),
            message,
        };
        let text = read_text(path)?;
        let jwk: Jwk = serde_json::from_str(&text).map_err(|e| bad(format!("not a JWK: {e}")))?;
        trust.root_key = Some(Es256PublicKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?);
    }
    if let Some(path) = trust_list {
        let bad = |message: String| CheckError::BadTrustList {
            path: path.display().to_string(),
            message,
        };
        let root = trust
            .root_key
            .as_ref()
            .ok_or(CheckError::TrustWithoutRoot)?;
        let text = read_text(path)?;
        let parsed = token::decode_any(&text).map_err(|e| bad(e.to_string()))?;
        let anchors = TrustAnchors {
            root_key: Some(root),
            ..TrustAnchors::default()
        };
        parsed
            .verify(&anchors, now)
            .map_err(|e| bad(e.to_string()))?;
        let TokenClaims::TrustList(list) = parsed.claims else {
            return Err(bad(format!(
                "is a {}, not a trust list",
                parsed.kind.name()
            )));
        };
        for hospital in &list.hospitals {
            let bad_entry = |e: shc::ShcError| {
                bad(format!(
                    "hospital {:?} cannot be trusted for health cards: {e}",
                    hospital.id
                ))
            };
            trust
                .directory
                .add_issuer(&hospital.peer_url, Some(&hospital.name))
                .map_err(bad_entry)?;
            for key in &hospital.record_keys {
                trust
                    .directory
                    .add_key(&hospital.peer_url, key.to_jwk())
                    .map_err(bad_entry)?;
            }
        }
        trust.trust_list = Some(list);
    }
    Ok(trust)
}

/// Judges the input in `paths` (read as one text when there are several) against `trust` at `now`.
/// One directory is a directory export (`docs/protocol.md` §18.4): its `.smart-health-card` file
/// and every file in its `files/` against its card.
pub fn check_paths(
    paths: &[PathBuf],
    trust: &Trust,
    now: NumericDate,
) -> Result<Report, CheckError> {
    if let [one] = paths
        && one.is_dir()
    {
        return check_export_dir(one, trust, now);
    }
    let shape = read_shape(paths)?;
    check_shape(shape, trust, now)
}

/// Reads and classifies the input in `paths`.
fn read_shape(paths: &[PathBuf]) -> Result<Shape, CheckError> {
    let (name, bytes) = match paths {
        [one] => (one.display().to_string(), input::read(one)?),
        _ => {
            let mut joined = Vec::new();
            for path in paths {
                let mut bytes = input::read(path)?;
                if bytes.len() as u64 + joined.len() as u64 > input::MAX_INPUT_BYTES {
                    return Err(InputError::TooLarge {
                        path: path.display().to_string(),
                    }
                    .into());
                }
                joined.append(&mut bytes);
                joined.push(b'\n');
            }
            ("the input files".to_owned(), joined)
        }
    };
    Ok(input::classify(&name, bytes, token::is_spondon_text)?)
}

/// Reads one document file, at most [`MAX_FILE_BYTES`] + 1 bytes (a reader stops reading at
/// `size + 1`: a larger file fails its card's size check).
fn read_file_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The hash a file name files it under: `<64 hex>.<ext>`.
fn hash_in_name(path: &Path) -> Option<[u8; 32]> {
    let stem = path.file_stem()?.to_str()?;
    spondon_export::files::parse_hex_sha256(stem)
}

/// A directory export (`NAME/` with `NAME.smart-health-card` and `files/<sha256>.<ext>`): the
/// export's cards, proofs and receipts, then every file against its card; a file no card names
/// and a document card whose file is missing make it invalid.
pub(crate) fn check_export_dir(
    dir: &Path,
    trust: &Trust,
    now: NumericDate,
) -> Result<Report, CheckError> {
    let bad = |message: String| CheckError::BadExportDirectory {
        path: dir.display().to_string(),
        message,
    };
    let read_dir = |d: &Path| -> Result<Vec<PathBuf>, CheckError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| bad(format!("cannot list {}: {e}", d.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        Ok(paths)
    };
    let cards: Vec<PathBuf> = read_dir(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "smart-health-card"))
        .collect();
    let card_path = match cards.as_slice() {
        [one] => one,
        [] => return Err(bad("holds no .smart-health-card file".into())),
        _ => return Err(bad("holds more than one .smart-health-card file".into())),
    };
    let bytes = input::read(card_path)?;
    let mut report = check_export_bytes(ExportInput::File(&bytes), trust, now);
    let Ok(export) = spondon_export::parse_export(&bytes) else {
        return Ok(report);
    };
    let files_dir = dir.join(spondon_export::files::FILES_DIR);
    let mut found = Vec::new();
    if files_dir.is_dir() {
        for path in read_dir(&files_dir)? {
            if !path.is_file() {
                continue;
            }
            if found.len() >= spondon_export::files::MAX_FILES {
                return Err(bad(format!(
                    "holds more than {} files",
                    spondon_export::files::MAX_FILES
                )));
            }
            let name = format!(
                "{}/{}",
                spondon_export::files::FILES_DIR,
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            let bytes = read_file_capped(&path)
                .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
            found.push(FoundFile {
                name,
                claimed_sha256: hash_in_name(&path),
                bytes,
            });
        }
    }
    add_files(&mut report, &export, &found, true);
    Ok(report)
}

/// `check CARD --file F…`: the card(s) as usual, then each file against the document card that
/// names it (by its `<sha256>.<ext>` name, else the only document card, else its own hash).
pub fn check_with_files(
    paths: &[PathBuf],
    files: &[PathBuf],
    trust: &Trust,
    now: NumericDate,
) -> Result<Report, CheckError> {
    let shape = read_shape(paths)?;
    let export = export_of_shape(&shape);
    let mut report = check_shape(shape, trust, now)?;
    let Some(export) = export else {
        report.valid = false;
        report.error(
            "no_document_card",
            "the input holds no card a file could be checked against",
        );
        return Ok(report);
    };
    let documents: Vec<CardFile> = export
        .records
        .iter()
        .filter_map(|r| {
            let card = shc::ParsedCard::parse(&r.jws).ok()?;
            CardFile::of_bundle(card.fhir_bundle())?.ok()
        })
        .collect();
    let mut found = Vec::new();
    for path in files {
        let bytes = read_file_capped(path).map_err(|e| CheckError::BadFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let claimed = hash_in_name(path).or(match documents.as_slice() {
            [only] => Some(only.sha256),
            _ => None,
        });
        found.push(FoundFile {
            name: path.display().to_string(),
            claimed_sha256: claimed,
            bytes,
        });
    }
    add_files(&mut report, &export, &found, false);
    Ok(report)
}

/// The cards of an input as an export (without proofs for plain cards), for checking files
/// against them. `None` for anything that holds no card.
fn export_of_shape(shape: &Shape) -> Option<Export> {
    let plain = |jws: Vec<String>| Export {
        created: NumericDate(0),
        records: jws
            .into_iter()
            .map(|jws| ExportRecord { jws, proof: None })
            .collect(),
        receipts: Vec::new(),
        patient_summary: None,
    };
    match shape {
        Shape::Pdf(bytes) => spondon_export::extract_export_from_pdf(bytes)
            .and_then(|f| spondon_export::parse_export(&f))
            .ok(),
        Shape::ShcFile(text) if is_export_file(text) => {
            spondon_export::parse_export(text.as_bytes()).ok()
        }
        Shape::ShcFile(text) => card_jws(CardText::File(text)).ok().map(plain),
        Shape::ShcNumeric(text) => card_jws(CardText::Numeric(text)).ok().map(plain),
        Shape::Jws(text) => card_jws(CardText::Jws(text)).ok().map(plain),
        Shape::Image(_) | Shape::Token(_) => None,
    }
}

/// The verdict on card `index` (0-based) of a report: itself when it is one card.
fn card_of(report: &Report, index: usize) -> Option<&Report> {
    if report.cards.is_empty() {
        (index == 0).then_some(report)
    } else {
        report.cards.get(index)
    }
}

/// Checks `found` files against the cards of `export` (§18.2) and adds the verdicts to `report`,
/// which stays valid only if every file matches its card. With `require_all`, a document card
/// whose file is not among them is an error (a directory or PDF export must carry every file).
fn add_files(report: &mut Report, export: &Export, found: &[FoundFile], require_all: bool) {
    for f in spondon_export::check_files(export, found) {
        if !require_all && f.name.is_none() {
            continue;
        }
        let card = f.card.and_then(|c| card_of(report, c.saturating_sub(1)));
        let statement = match card {
            Some(card) if f.valid && card.valid => {
                let issuer = card
                    .issuer_name
                    .clone()
                    .or_else(|| card.issuer.clone())
                    .unwrap_or_else(|| "its issuer".into());
                let issued = card
                    .not_before
                    .as_ref()
                    .and_then(serde_json::Number::as_f64)
                    .and_then(NumericDate::from_f64_floor);
                let kind = f.content_type.and_then(spondon_export::FileType::from_mime);
                match (kind, issued) {
                    (Some(kind), Some(issued)) => {
                        Some(spondon_export::files::file_sentence(kind, &issuer, issued))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if !f.valid {
            report.valid = false;
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| format!("of card {}", f.card.map_or(0, |c| c)));
            for p in &f.errors {
                report.error(p.code.clone(), format!("file {name}: {}", p.message));
            }
        }
        report.files.push(FileVerdict { file: f, statement });
    }
}

/// Judges an already classified input.
pub(crate) fn check_shape(
    shape: Shape,
    trust: &Trust,
    now: NumericDate,
) -> Result<Report, CheckError> {
    check_shape_cancellable(shape, trust, now, &spondon_core::qr::Cancel::new())
}

/// [`check_shape`] whose QR image decoding (bounded by `qr::DEFAULT_DECODE_BUDGET`) also stops
/// when `cancel` is set — by a server when the request that asked for it ends.
pub(crate) fn check_shape_cancellable(
    shape: Shape,
    trust: &Trust,
    now: NumericDate,
    cancel: &spondon_core::qr::Cancel,
) -> Result<Report, CheckError> {
    Ok(match shape {
        Shape::Image(bytes) => {
            let texts = spondon_core::qr::decode_image_within(
                &bytes,
                spondon_core::qr::DEFAULT_DECODE_BUDGET,
                cancel,
            )
            .map_err(|e| CheckError::Image(e.to_string()))?;
            let joined = texts.join("\n");
            if texts.len() == 1 && texts.iter().all(|t| token::is_spondon_text(t)) {
                check_token(&joined, trust, now)
            } else {
                check_cards(CardText::Numeric(&joined), trust, now)
            }
        }
        Shape::Pdf(bytes) => check_export_bytes(ExportInput::Pdf(&bytes), trust, now),
        Shape::ShcFile(text) if is_export_file(&text) => {
            check_export_bytes(ExportInput::File(text.as_bytes()), trust, now)
        }
        Shape::ShcFile(text) => check_cards(CardText::File(&text), trust, now),
        Shape::ShcNumeric(text) => check_cards(CardText::Numeric(&text), trust, now),
        Shape::Jws(text) => check_cards(CardText::Jws(&text), trust, now),
        Shape::Token(text) => check_token(&text, trust, now),
    })
}

fn problem(code: &str, message: impl ToString) -> Problem {
    Problem {
        code: code.to_owned(),
        message: message.to_string(),
    }
}

/// Every card in the text, each verified on its own; the file is valid only if all are.
/// Routing is strict, as the SMART validator is: whitespace or characters around a JWS, a file
/// or a QR text are the parser's to judge, not the CLI's to trim away.
fn check_cards(shape: CardText<'_>, trust: &Trust, now: NumericDate) -> Report {
    let is_file = matches!(shape, CardText::File(_));
    let jws_list = match card_jws(shape) {
        Ok(list) => list,
        Err(e) => {
            let mut report = Report::new("smart_health_card");
            report.errors.push(problem(e.code(), &e));
            // A file that cannot be read at all (e.g. a truncated export) is unusable input.
            report.unusable = is_file;
            return report;
        }
    };
    let options = VerifyOptions::at(now);
    let cards = jws_list
        .iter()
        .map(|jws| check_card(jws, trust, options))
        .collect();
    Report::combine("smart_health_card_file", cards)
}

/// The text of one or more cards, by the shape it arrived in.
#[derive(Debug, Clone, Copy)]
enum CardText<'a> {
    /// A `.smart-health-card` file, or a FHIR `$health-cards-issue` response.
    File(&'a str),
    /// One or more `shc:/` QR texts, one per line; legacy chunks of one card in any order.
    Numeric(&'a str),
    Jws(&'a str),
}

fn card_jws(shape: CardText<'_>) -> Result<Vec<String>, shc::ShcError> {
    match shape {
        CardText::Jws(jws) => Ok(vec![jws.to_owned()]),
        CardText::File(text) => {
            let is_parameters = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("resourceType")?.as_str().map(|t| t == "Parameters"))
                .unwrap_or(false);
            if is_parameters {
                shc::extract_jws(text)
            } else {
                Ok(shc::HealthCardFile::from_json(text)?.verifiable_credential)
            }
        }
        CardText::Numeric(text) => {
            let lines: Vec<&str> = text
                .split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .filter(|l| !l.trim().is_empty())
                .collect();
            let is_chunk = |l: &str| {
                l.strip_prefix("shc:/")
                    .is_some_and(|rest| rest.contains('/'))
            };
            let mut out = Vec::new();
            for line in lines.iter().filter(|l| !is_chunk(l)) {
                out.push(shc::decode_numeric_chunks(&[line])?.jws);
            }
            let chunks: Vec<&str> = lines.iter().copied().filter(|l| is_chunk(l)).collect();
            if !chunks.is_empty() {
                out.push(shc::decode_numeric_chunks(&chunks)?.jws);
            }
            Ok(out)
        }
    }
}

fn check_card(jws: &str, trust: &Trust, options: VerifyOptions) -> Report {
    let verdict = shc::check_jws(jws, &trust.directory, &options);
    let mut report = Report::new(verdict.kind);
    report.valid = verdict.valid;
    report.issuer = verdict.issuer;
    report.issuer_name = verdict.issuer_name;
    report.not_before = verdict.not_before;
    report.expires = verdict.expires;
    report.fhir = verdict.fhir;
    report.errors = verdict
        .errors
        .iter()
        .map(|e| problem(e.code, &e.message))
        .collect();
    report.warnings = verdict
        .warnings
        .iter()
        .map(|w| problem(w.code, &w.message))
        .collect();
    report
}

fn check_token(text: &str, trust: &Trust, now: NumericDate) -> Report {
    let parsed = match token::decode_any(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let mut report = Report::new("spondon_token");
            report.errors.push(problem(e.code(), &e));
            return report;
        }
    };
    let mut report = Report::new(parsed.kind.name());
    report.issuer = parsed.issuer.clone();
    report.issuer_name = match (&parsed.issuer, &trust.trust_list) {
        (Some(id), Some(list)) if parsed.kind != token::TokenKind::TrustList => {
            list.hospital(id).map(|h| h.name.clone())
        }
        _ => None,
    };
    report.not_before = parsed.not_before.map(|t| t.0.into());
    report.expires = parsed.expires.map(|t| t.0.into());
    report.claims = serde_json::to_value(&parsed.claims).ok();
    let anchors = TrustAnchors {
        trust_list: trust.trust_list.as_ref(),
        root_key: trust.root_key.as_ref(),
        ..TrustAnchors::default()
    };
    match parsed.verify(&anchors, now) {
        Ok(()) => report.valid = true,
        Err(e) => report.errors.push(problem(e.code(), &e)),
    }
    report
}

/// A `.smart-health-card` file with the Spondon `spondon` member (`docs/export.md`).
fn is_export_file(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("spondon")))
        .unwrap_or(false)
}

/// The anchors an export is checked against: the directory (VCI issuers and the trust list's
/// hospitals) and the trust list's hospital logs.
pub(crate) fn export_anchors(trust: &Trust) -> spondon_export::Anchors {
    let mut anchors = spondon_export::Anchors {
        directory: trust.directory.clone(),
        ..spondon_export::Anchors::default()
    };
    if let Some(list) = &trust.trust_list {
        for h in &list.hospitals {
            // A log name the ledger refuses cannot have signed anything: leave it out. Each log
            // is checked with the trust list's witnessing policy for it.
            let _ = anchors.add_trust_list_log(list, h);
        }
    }
    anchors
}

/// An export as it arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExportInput<'a> {
    File(&'a [u8]),
    Pdf(&'a [u8]),
}

/// The FHIR bundle of each record of an export (file or PDF), in order, as the cards carry it —
/// *not verified*: use one only where [`check_export_bytes`] found that card `unaltered`. Empty
/// for anything that is not an export.
pub(crate) fn export_bundles(shape: &Shape) -> Vec<Option<serde_json::Value>> {
    let parsed = match shape {
        Shape::Pdf(bytes) => spondon_export::extract_export_from_pdf(bytes)
            .and_then(|file| spondon_export::parse_export(&file)),
        Shape::ShcFile(text) if is_export_file(text) => {
            spondon_export::parse_export(text.as_bytes())
        }
        _ => return Vec::new(),
    };
    let Ok(export) = parsed else {
        return Vec::new();
    };
    export
        .records
        .iter()
        .map(|r| {
            spondon_core::shc::ParsedCard::parse(&r.jws)
                .ok()
                .map(|c| c.fhir_bundle().clone())
        })
        .collect()
}

/// Verifies a Spondon export (file or PDF): every card, log proof and receipt, and the summary;
/// for a PDF, every attached document file against its card (§18.4). The report carries no
/// health content.
pub(crate) fn check_export_bytes(
    input: ExportInput<'_>,
    trust: &Trust,
    now: NumericDate,
) -> Report {
    let parsed = match input {
        ExportInput::File(bytes) => spondon_export::parse_export(bytes),
        ExportInput::Pdf(bytes) => spondon_export::extract_export_from_pdf(bytes)
            .and_then(|file| spondon_export::parse_export(&file)),
    };
    let export = match parsed {
        Ok(export) => export,
        Err(e) => {
            let mut report = Report::new("spondon_export");
            report.errors.push(problem(e.code(), &e));
            report.unusable = true;
            return report;
        }
    };
    let verdict = spondon_export::verify_export(&export, &export_anchors(trust), now);
    let cards: Vec<Report> = verdict
        .cards
        .into_iter()
        .map(|c| {
            let mut r = Report::new("smart_health_card");
            r.valid = c.valid;
            r.issuer = c.issuer;
            r.issuer_name = c.issuer_name;
            r.not_before = c.issued;
            r.expires = c.expires;
            r.unaltered = Some(c.unaltered);
            r.log = c.log;
            r.shared = c.shared;
            r.errors = c
                .errors
                .into_iter()
                .map(|p| problem(&p.code, p.message))
                .collect();
            r.warnings = c
                .warnings
                .into_iter()
                .map(|p| problem(&p.code, p.message))
                .collect();
            r
        })
        .collect();
    let mut report = Report::new("spondon_export");
    report.valid = verdict.valid;
    report.created = Some(verdict.created);
    report.summary = verdict.summary;
    let first_issuer = cards.first().and_then(|c| c.issuer.clone());
    if cards.iter().all(|c| c.issuer == first_issuer) {
        report.issuer = first_issuer;
        report.issuer_name = cards.first().and_then(|c| c.issuer_name.clone());
    }
    for (i, card) in cards.iter().enumerate() {
        for p in &card.errors {
            report.error(p.code.clone(), format!("card {}: {}", i + 1, p.message));
        }
    }
    report.errors.extend(
        verdict
            .errors
            .into_iter()
            .map(|p| problem(&p.code, p.message)),
    );
    report.cards = cards;
    if let ExportInput::Pdf(bytes) = input {
        match spondon_export::extract_files_from_pdf(bytes) {
            Ok(found) => add_files(&mut report, &export, &found, true),
            Err(e) => {
                report.valid = false;
                report.error(
                    e.code(),
                    format!("the PDF's attached files cannot be read: {e}"),
                );
            }
        }
    }
    report
}
