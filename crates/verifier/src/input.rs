//! Reading the thing to check and telling what it is, before any parser sees it.

use std::io::Read;
use std::path::Path;

/// Largest input `check` reads: a `.smart-health-card` file with many cards, or a QR photo.
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;
/// Largest PDF `check` reads: a PDF export with document files attached
/// (`spondon_export::MAX_PDF_BYTES`).
pub const MAX_PDF_INPUT_BYTES: u64 = spondon_export::MAX_PDF_BYTES as u64;

/// Why the input could not be used at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file (or standard input, `-`) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given (`-` for standard input).
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// Larger than 8 MiB (a PDF: the largest PDF export): refused unread.
    #[error(
        "{path} is larger than {MAX_INPUT_BYTES} bytes ({MAX_PDF_INPUT_BYTES} for a PDF); nothing Spondon checks is that large"
    )]
    TooLarge {
        /// The path as given.
        path: String,
    },
    /// The input has no bytes.
    #[error("{path} is empty")]
    Empty {
        /// The path as given.
        path: String,
    },
    /// The input is neither a PNG/JPEG picture nor UTF-8 text.
    #[error("{path} is neither an image nor UTF-8 text")]
    NotText {
        /// The path as given.
        path: String,
    },
    /// Text that is none of the shapes `check` knows.
    #[error(
        "{path} is not a SMART Health Card (JSON file, JWS or shc:/ text), a Spondon export (file or PDF), a Spondon token, or a PNG/JPEG QR photo"
    )]
    Unrecognised {
        /// The path as given.
        path: String,
    },
}

impl InputError {
    /// A stable machine-readable code (docs/architecture.md, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "unreadable",
            Self::TooLarge { .. } => "too_large",
            Self::Empty { .. } => "empty",
            Self::NotText { .. } => "not_text",
            Self::Unrecognised { .. } => "unrecognised",
        }
    }
}

/// What the input looks like. Only a guess from its first bytes: the parsers decide.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// A PNG or JPEG picture, presumably of a QR code.
    Image(Vec<u8>),
    /// A PDF, presumably a Spondon export with its export file attached.
    Pdf(Vec<u8>),
    /// A `.smart-health-card` JSON file (`{"verifiableCredential": [...]}`).
    ShcFile(String),
    /// One or more `shc:/` numeric QR texts.
    ShcNumeric(String),
    /// A compact JWS.
    Jws(String),
    /// Text behind a Spondon token prefix.
    Token(String),
}

/// Reads a file, or standard input for `-`, up to [`MAX_INPUT_BYTES`] ([`MAX_PDF_INPUT_BYTES`]
/// for a PDF).
pub fn read(path: &Path) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let result = if name == "-" {
        read_capped(std::io::stdin(), &mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| read_capped(f, &mut bytes))
    };
    let name = if name == "-" {
        "standard input".to_owned()
    } else {
        name
    };
    result.map_err(|source| InputError::Read {
        path: name.clone(),
        source,
    })?;
    let cap = if bytes.starts_with(b"%PDF-") {
        MAX_PDF_INPUT_BYTES
    } else {
        MAX_INPUT_BYTES
    };
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge { path: name });
    }
    Ok(bytes)
}

/// Reads up to [`MAX_INPUT_BYTES`] + 1 bytes, or up to [`MAX_PDF_INPUT_BYTES`] + 1 when the
/// input starts as a PDF.
fn read_capped(r: impl Read, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut r = r.take(MAX_INPUT_BYTES + 1);
    let n = r.read_to_end(bytes)?;
    if n as u64 > MAX_INPUT_BYTES && bytes.starts_with(b"%PDF-") {
        let mut rest = r.into_inner().take(MAX_PDF_INPUT_BYTES - MAX_INPUT_BYTES);
        return Ok(n + rest.read_to_end(bytes)?);
    }
    Ok(n)
}

/// Classifies input bytes. `is_token` recognises the Spondon token prefix.
pub fn classify(
    name: &str,
    bytes: Vec<u8>,
    is_token: impl Fn(&str) -> bool,
) -> Result<Shape, InputError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Ok(Shape::Image(bytes));
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(Shape::Pdf(bytes));
    }
    let text = String::from_utf8(bytes).map_err(|_| InputError::NotText {
        path: name.to_owned(),
    })?;
    // A text file ends with one line ending, which is not part of the content; anything else
    // (other whitespace, a byte-order mark, trailing characters) is left for the parser to judge,
    // as the SMART Health Cards validator does.
    let content = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if content.trim().is_empty() {
        return Err(InputError::Empty {
            path: name.to_owned(),
        });
    }
    let bare = content.trim_start().trim_start_matches('\u{feff}');
    let trimmed = content;
    let shape = if bare.starts_with('{') {
        Shape::ShcFile(trimmed.to_owned())
    } else if bare
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("shc:"))
    {
        Shape::ShcNumeric(trimmed.to_owned())
    } else if is_token(bare) {
        Shape::Token(trimmed.to_owned())
    } else if looks_like_jws(bare.trim_end()) {
        Shape::Jws(trimmed.to_owned())
    } else {
        return Err(InputError::Unrecognised {
            path: name.to_owned(),
        });
    };
    Ok(shape)
}

fn looks_like_jws(text: &str) -> bool {
    text.split('.').count() == 3
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Result<Shape, InputError> {
        classify("t", text.as_bytes().to_vec(), |t| t.starts_with("TOKEN:"))
    }

    #[test]
    fn shapes() {
        assert!(matches!(
            shape(" {\"verifiableCredential\":[]}\n"),
            Ok(Shape::ShcFile(_))
        ));
        assert!(matches!(shape("shc:5676"), Ok(Shape::ShcNumeric(_))));
        assert!(matches!(shape("eyJ.eyJ.abc\n"), Ok(Shape::Jws(t)) if t == "eyJ.eyJ.abc"));
        assert!(
            matches!(shape("eyJ.eyJ.abc \t\n "), Ok(Shape::Jws(t)) if t == "eyJ.eyJ.abc \t\n ")
        );
        assert!(matches!(
            shape("shc:/5676\nshc:/1/2/56"),
            Ok(Shape::ShcNumeric(_))
        ));
        assert!(matches!(shape("eyJ.eyJ.abc_-"), Ok(Shape::Jws(_))));
        assert!(matches!(shape("TOKEN:ABC"), Ok(Shape::Token(_))));
        assert!(
            matches!(shape("\u{feff}eyJ.eyJ.abc"), Ok(Shape::Jws(t)) if t.starts_with('\u{feff}'))
        );
        assert!(matches!(
            shape("hello world"),
            Err(InputError::Unrecognised { .. })
        ));
        assert!(matches!(shape("  \n"), Err(InputError::Empty { .. })));
        assert!(matches!(
            classify("t", vec![0xff, 0xfe, 0x00], |_| false),
            Err(InputError::NotText { .. })
        ));
        assert!(matches!(
            classify("t", b"\x89PNG\r\n\x1a\nrest".to_vec(), |_| false),
            Ok(Shape::Image(_))
        ));
        assert!(matches!(
            classify("t", b"%PDF-1.7\n\xff".to_vec(), |_| false),
            Ok(Shape::Pdf(_))
        ));
    }
}
