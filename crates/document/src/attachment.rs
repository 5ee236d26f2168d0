//! The card's `DocumentReference` and the reader's check (§18.1, §18.2).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{DocumentError, FileType, MAX_FILE_BYTES};

/// The extension that carries the file's SHA-256 in the attachment (`valueBase64Binary`).
pub const SHA256_EXTENSION_URL: &str =
    "https://spondon.health/fhir/StructureDefinition/attachment-sha256";
/// The code system of the document's grant category (§18.1).
pub const RECORD_CATEGORY_SYSTEM: &str = "https://spondon.health/fhir/CodeSystem/record-category";
/// The grant categories (§6.1) a document may belong to.
pub const CATEGORIES: [&str; 7] = [
    "prescription",
    "lab_result",
    "diagnosis",
    "immunization",
    "encounter",
    "payment",
    "note",
];
/// The longest `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest `creation` (an R4 `dateTime` is far shorter).
const MAX_CREATION_CHARS: usize = 64;

type Result<T> = std::result::Result<T, DocumentError>;

fn invalid(why: &'static str) -> DocumentError {
    DocumentError::InvalidDocumentReference(why)
}

/// The file a document card names (§18.1): everything a reader needs to check the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file's type, from the attachment's `contentType`.
    pub file_type: FileType,
    /// The exact byte count, 1 ..= [`MAX_FILE_BYTES`].
    pub size: u64,
    /// The file's SHA-256, from the attachment's SHA-256 extension (base64 in the card).
    pub sha256: [u8; 32],
    /// The attachment's `title` (a file name for people), when given.
    pub title: Option<String>,
    /// The attachment's `creation` date-time as written, when given.
    pub creation: Option<String>,
}

/// A `DocumentReference` as staff (or a hospital system) send it to be issued: like the card's,
/// but `size` may be absent, since the peer fills it in from the stored file (§18.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    /// The file's type, from the attachment's `contentType`.
    pub file_type: FileType,
    /// The byte count, if the sender gave one; the peer fills it in from the stored file.
    pub size: Option<u64>,
    /// The file's SHA-256, from the attachment's SHA-256 extension.
    pub sha256: [u8; 32],
    /// The attachment's `title`, when given.
    pub title: Option<String>,
    /// The attachment's `creation` date-time as written, when given.
    pub creation: Option<String>,
    /// The grant category from the `record-category` coding (one of [`CATEGORIES`]).
    pub category: &'static str,
}

impl DocumentRequest {
    /// Reads a `DocumentReference` to be issued: the §18.1 rules, except that `size` is optional.
    pub fn from_document_reference(doc: &Value) -> Result<DocumentRequest> {
        let category = category_of(doc)?;
        let parsed = parse(doc)?;
        Ok(DocumentRequest {
            file_type: parsed.file_type,
            size: parsed.size,
            sha256: parsed.sha256,
            title: parsed.title,
            creation: parsed.creation,
            category,
        })
    }

    /// The attachment of the card once the stored file's `size` is known.
    pub fn with_size(&self, size: u64) -> Attachment {
        Attachment {
            file_type: self.file_type,
            size,
            sha256: self.sha256,
            title: self.title.clone(),
            creation: self.creation.clone(),
        }
    }
}

/// The grant category a `DocumentReference` belongs to: the `code` of its one `category`
/// coding whose system is [`RECORD_CATEGORY_SYSTEM`] (§18.1).
pub fn category_of(doc: &Value) -> Result<&'static str> {
    let categories = doc
        .get("category")
        .and_then(Value::as_array)
        .ok_or(invalid("category is missing"))?;
    let mut found = None;
    for concept in categories {
        let codings = concept.get("coding").and_then(Value::as_array);
        for coding in codings.into_iter().flatten() {
            if coding.get("system").and_then(Value::as_str) != Some(RECORD_CATEGORY_SYSTEM) {
                continue;
            }
            let code = coding
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let category = CATEGORIES
                .into_iter()
                .find(|c| *c == code)
                .ok_or(invalid("unknown record-category code"))?;
            if found.replace(category).is_some() {
                return Err(invalid("more than one record-category coding"));
            }
        }
    }
    found.ok_or(invalid("no record-category coding"))
}

struct Parsed {
    file_type: FileType,
    size: Option<u64>,
    sha256: [u8; 32],
    title: Option<String>,
    creation: Option<String>,
}

fn parse(doc: &Value) -> Result<Parsed> {
    if doc.get("resourceType").and_then(Value::as_str) != Some("DocumentReference") {
        return Err(invalid("not a DocumentReference"));
    }
    let content = doc
        .get("content")
        .and_then(Value::as_array)
        .ok_or(invalid("content is missing"))?;
    let [item] = content.as_slice() else {
        return Err(invalid("content must have exactly one element"));
    };
    let att = item
        .get("attachment")
        .and_then(Value::as_object)
        .ok_or(invalid("content[0].attachment is missing"))?;
    for forbidden in ["data", "url", "hash"] {
        if att.contains_key(forbidden) {
            return Err(match forbidden {
                "data" => {
                    invalid("attachment.data must be absent: the bytes travel beside the card")
                }
                "url" => invalid("attachment.url must be absent: the bytes travel beside the card"),
                _ => invalid(
                    "attachment.hash (SHA-1) must be absent; use the attachment-sha256 extension",
                ),
            });
        }
    }
    let mime = att
        .get("contentType")
        .and_then(Value::as_str)
        .ok_or(invalid("attachment.contentType is missing"))?;
    // The card's contentType is exactly one of the three (no parameters, lower case).
    let file_type = FileType::ALL
        .into_iter()
        .find(|t| t.mime() == mime)
        .ok_or(DocumentError::UnsupportedFileType)?;
    let size = match att.get("size") {
        None => None,
        Some(v) => {
            let n = v
                .as_u64()
                .ok_or(invalid("attachment.size is not a whole number"))?;
            if n == 0 || n > MAX_FILE_BYTES {
                return Err(DocumentError::FileTooLarge {
                    size: n,
                    max: MAX_FILE_BYTES,
                });
            }
            Some(n)
        }
    };
    let sha256 = sha256_extension(att)?;
    let title = match att.get("title") {
        None => None,
        Some(v) => {
            let t = v
                .as_str()
                .ok_or(invalid("attachment.title is not a string"))?;
            if t.is_empty() || t.chars().count() > MAX_TITLE_CHARS {
                return Err(invalid("attachment.title must be 1 to 200 characters"));
            }
            if t.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
                return Err(invalid(
                    "attachment.title has a path separator or control character",
                ));
            }
            Some(t.to_owned())
        }
    };
    let creation = match att.get("creation") {
        None => None,
        Some(v) => {
            let c = v
                .as_str()
                .ok_or(invalid("attachment.creation is not a string"))?;
            if c.is_empty() || c.len() > MAX_CREATION_CHARS || c.chars().any(char::is_control) {
                return Err(invalid("attachment.creation is not a dateTime"));
            }
            Some(c.to_owned())
        }
    };
    Ok(Parsed {
        file_type,
        size,
        sha256,
        title,
        creation,
    })
}

fn sha256_extension(att: &Map<String, Value>) -> Result<[u8; 32]> {
    let extensions = att
        .get("extension")
        .and_then(Value::as_array)
        .ok_or(invalid("the attachment-sha256 extension is missing"))?;
    let mut found = None;
    for ext in extensions {
        if ext.get("url").and_then(Value::as_str) != Some(SHA256_EXTENSION_URL) {
            continue;
        }
        let b64 = ext
            .get("valueBase64Binary")
            .and_then(Value::as_str)
            .ok_or(invalid("attachment-sha256 has no valueBase64Binary"))?;
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| invalid("attachment-sha256 is not standard base64"))?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("attachment-sha256 is not 32 bytes"))?;
        if found.replace(hash).is_some() {
            return Err(invalid("attachment-sha256 appears more than once"));
        }
    }
    found.ok_or(invalid("the attachment-sha256 extension is missing"))
}

impl Attachment {
    /// Reads the attachment of a card's `DocumentReference` (§18.1); `size` is required.
    pub fn from_document_reference(doc: &Value) -> Result<Attachment> {
        let p = parse(doc)?;
        let size = p.size.ok_or(invalid("attachment.size is missing"))?;
        Ok(Attachment {
            file_type: p.file_type,
            size,
            sha256: p.sha256,
            title: p.title,
            creation: p.creation,
        })
    }

    /// The attachment of the one `DocumentReference` in a card's FHIR bundle (the
    /// `credentialSubject.fhirBundle`); `Ok(None)` when the card has none, an error when it has
    /// more than one or that one breaks §18.1.
    pub fn from_card_fhir(bundle: &Value) -> Result<Option<Attachment>> {
        let entries = bundle.get("entry").and_then(Value::as_array);
        let mut docs = entries
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("DocumentReference"));
        let Some(doc) = docs.next() else {
            return Ok(None);
        };
        if docs.next().is_some() {
            return Err(invalid("a card holds at most one DocumentReference"));
        }
        Attachment::from_document_reference(doc).map(Some)
    }

    /// The attachment's JSON, as the card carries it (`content[0].attachment`).
    pub fn to_json(&self) -> Value {
        let mut att = json!({
            "contentType": self.file_type.mime(),
            "size": self.size,
        });
        if let Some(map) = att.as_object_mut() {
            if let Some(t) = &self.title {
                map.insert("title".into(), Value::String(t.clone()));
            }
            if let Some(c) = &self.creation {
                map.insert("creation".into(), Value::String(c.clone()));
            }
            map.insert(
                "extension".into(),
                json!([{"url": SHA256_EXTENSION_URL,
                        "valueBase64Binary": STANDARD.encode(self.sha256)}]),
            );
        }
        att
    }

    /// The SHA-256 as 64 lower-case hex digits (the peer's and the exports' file name).
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The reader's check of a whole file (§18.2, in order): its length is `size`, its SHA-256
    /// is the card's, its leading bytes are those of `contentType`.
    pub fn check(&self, bytes: &[u8]) -> Result<()> {
        let mut checker = AttachmentChecker::new(self);
        checker.update(bytes)?;
        checker.finish()
    }
}

/// The reader's check (§18.2) over a file that arrives in chunks: feed every chunk to
/// [`update`](Self::update), which fails as soon as more than `size` bytes arrived (so a reader
/// stops reading at `size + 1`), then [`finish`](Self::finish). Nothing read may be shown or
/// kept before `finish` is `Ok`.
#[derive(Debug, Clone)]
pub struct AttachmentChecker {
    expected: Attachment,
    read: u64,
    head: Vec<u8>,
    hasher: Sha256,
}

impl AttachmentChecker {
    /// A checker for the file `attachment` names; feed it the bytes in order, then finish.
    pub fn new(attachment: &Attachment) -> AttachmentChecker {
        AttachmentChecker {
            expected: attachment.clone(),
            read: 0,
            head: Vec::with_capacity(8),
            hasher: Sha256::new(),
        }
    }

    /// The most bytes worth reading: `size + 1` (one more shows a file that is too long).
    pub fn read_limit(&self) -> u64 {
        self.expected.size.saturating_add(1)
    }

    /// Feeds the next chunk; `file_size_mismatch` once more than `size` bytes arrived.
    pub fn update(&mut self, chunk: &[u8]) -> Result<()> {
        self.read = self.read.saturating_add(chunk.len() as u64);
        if self.read > self.expected.size {
            return Err(DocumentError::FileSizeMismatch);
        }
        let want = 8usize.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..want]);
        self.hasher.update(chunk);
        Ok(())
    }

    /// The check once the whole file was fed: length, then SHA-256, then magic bytes.
    pub fn finish(self) -> Result<()> {
        if self.read != self.expected.size {
            return Err(DocumentError::FileSizeMismatch);
        }
        let hash: [u8; 32] = self.hasher.finalize().into();
        if hash != self.expected.sha256 {
            return Err(DocumentError::FileHashMismatch);
        }
        if FileType::sniff(&self.head) != Some(self.expected.file_type) {
            return Err(DocumentError::FileTypeMismatch {
                expected: self.expected.file_type.mime(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

    fn doc_ref(file: &[u8]) -> Value {
        json!({
            "resourceType": "DocumentReference",
            "status": "current",
            "category": [{"coding": [{"system": RECORD_CATEGORY_SYSTEM, "code": "lab_result"}]}],
            "subject": {"reference": "resource:0"},
            "content": [{"attachment": {
                "contentType": "application/pdf",
                "size": file.len(),
                "title": "cbc-2026-12-06.pdf",
                "creation": "2026-12-06T09:12:00Z",
                "extension": [{"url": SHA256_EXTENSION_URL,
                               "valueBase64Binary": STANDARD.encode(sha256(file))}]
            }}]
        })
    }

    fn code(r: Result<impl std::fmt::Debug>) -> &'static str {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn reads_the_card_attachment_and_checks_the_file() {
        let doc = doc_ref(PDF);
        let att = Attachment::from_document_reference(&doc).expect("valid");
        assert_eq!(att.file_type, FileType::Pdf);
        assert_eq!(att.size, PDF.len() as u64);
        assert_eq!(att.title.as_deref(), Some("cbc-2026-12-06.pdf"));
        assert_eq!(att.check(PDF), Ok(()));
        assert_eq!(category_of(&doc), Ok("lab_result"));
        // to_json round-trips
        let mut again = doc.clone();
        again["content"][0]["attachment"] = att.to_json();
        assert_eq!(Attachment::from_document_reference(&again), Ok(att.clone()));

        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "resource:0", "resource": {"resourceType": "Patient"}},
            {"fullUrl": "resource:1", "resource": doc}]});
        assert_eq!(Attachment::from_card_fhir(&bundle), Ok(Some(att)));
        let plain = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient"}}]});
        assert_eq!(Attachment::from_card_fhir(&plain), Ok(None));
        let two = json!({"entry": [{"resource": doc_ref(PDF)}, {"resource": doc_ref(PDF)}]});
        assert_eq!(
            code(Attachment::from_card_fhir(&two)),
            "invalid_document_reference"
        );
    }

    #[test]
    fn the_check_runs_in_order() {
        let att = Attachment::from_document_reference(&doc_ref(PDF)).expect("valid");
        let mut longer = PDF.to_vec();
        longer.push(b'\n');
        assert_eq!(code(att.check(&longer)), "file_size_mismatch");
        assert_eq!(code(att.check(&PDF[1..])), "file_size_mismatch");
        let mut flipped = PDF.to_vec();
        flipped[20] ^= 1;
        assert_eq!(code(att.check(&flipped)), "file_hash_mismatch");
        // Right size and hash, wrong declared type: the magic bytes say PDF.
        let mut as_png = doc_ref(PDF);
        as_png["content"][0]["attachment"]["contentType"] = json!("image/png");
        let png_att = Attachment::from_document_reference(&as_png).expect("valid");
        assert_eq!(code(png_att.check(PDF)), "file_type_mismatch");
    }

    #[test]
    fn the_streaming_checker_stops_at_size_plus_one() {
        let att = Attachment::from_document_reference(&doc_ref(PDF)).expect("valid");
        let mut ok = AttachmentChecker::new(&att);
        assert_eq!(ok.read_limit(), PDF.len() as u64 + 1);
        for chunk in PDF.chunks(3) {
            ok.update(chunk).expect("within size");
        }
        assert_eq!(ok.finish(), Ok(()));
        let mut long = AttachmentChecker::new(&att);
        long.update(PDF).expect("exactly size");
        assert_eq!(code(long.update(b"x")), "file_size_mismatch");
        let mut short = AttachmentChecker::new(&att);
        short.update(&PDF[..4]).expect("within size");
        assert_eq!(code(short.finish()), "file_size_mismatch");
    }

    #[test]
    fn refuses_what_section_18_1_forbids() {
        let cases: &[(&str, Value, &str)] = &[
            ("data", json!("JVBERi0="), "invalid_document_reference"),
            (
                "url",
                json!("https://example.org/x.pdf"),
                "invalid_document_reference",
            ),
            (
                "hash",
                json!("2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
                "invalid_document_reference",
            ),
            ("contentType", json!("text/html"), "unsupported_file_type"),
            (
                "contentType",
                json!("application/PDF"),
                "unsupported_file_type",
            ),
            ("size", json!(0), "file_too_large"),
            ("size", json!(MAX_FILE_BYTES + 1), "file_too_large"),
            ("size", json!(-1), "invalid_document_reference"),
            ("size", json!("12"), "invalid_document_reference"),
            (
                "title",
                json!("../../etc/passwd"),
                "invalid_document_reference",
            ),
            ("title", json!("a\u{0}b"), "invalid_document_reference"),
            (
                "title",
                json!("x".repeat(201)),
                "invalid_document_reference",
            ),
            ("creation", json!(5), "invalid_document_reference"),
            ("extension", json!([]), "invalid_document_reference"),
            (
                "extension",
                json!([{"url": SHA256_EXTENSION_URL, "valueBase64Binary": "AAAA"}]),
                "invalid_document_reference",
            ),
            (
                "extension",
                json!([{"url": SHA256_EXTENSION_URL, "valueBase64Binary": "not base64!"}]),
                "invalid_document_reference",
            ),
            (
                "extension",
                json!([
                    {"url": SHA256_EXTENSION_URL, "valueBase64Binary": STANDARD.encode([0u8; 32])},
                    {"url": SHA256_EXTENSION_URL, "valueBase64Binary": STANDARD.encode([0u8; 32])}
                ]),
                "invalid_document_reference",
            ),
        ];
        for (field, value, want) in cases {
            let mut doc = doc_ref(PDF);
            doc["content"][0]["attachment"][*field] = value.clone();
            assert_eq!(
                code(Attachment::from_document_reference(&doc)),
                *want,
                "{field} = {value}"
            );
        }
        let mut no_size = doc_ref(PDF);
        if let Some(att) = no_size["content"][0]["attachment"].as_object_mut() {
            att.remove("size");
        }
        assert_eq!(
            code(Attachment::from_document_reference(&no_size)),
            "invalid_document_reference"
        );
        // … which a request to issue allows: the peer fills it in.
        let req = DocumentRequest::from_document_reference(&no_size).expect("valid request");
        assert_eq!(req.size, None);
        assert_eq!(req.category, "lab_result");
        assert_eq!(req.with_size(PDF.len() as u64).check(PDF), Ok(()));

        let mut two_contents = doc_ref(PDF);
        two_contents["content"] = json!([{"attachment": {}}, {"attachment": {}}]);
        assert_eq!(
            code(Attachment::from_document_reference(&two_contents)),
            "invalid_document_reference"
        );
        let mut not_doc = doc_ref(PDF);
        not_doc["resourceType"] = json!("Observation");
        assert_eq!(
            code(Attachment::from_document_reference(&not_doc)),
            "invalid_document_reference"
        );
        for bad in [
            json!([]),
            json!([{"coding": [{"system": RECORD_CATEGORY_SYSTEM, "code": "x"}]}]),
        ] {
            let mut doc = doc_ref(PDF);
            doc["category"] = bad;
            assert_eq!(code(category_of(&doc)), "invalid_document_reference");
        }
    }
}
