//! An error answer (RFC 9457 `application/problem+json`), as every Spondon server writes it
//! (`docs/peer.md`, "Errors"). Fields are declared in key order: the servers write them sorted.

use serde::{Deserialize, Serialize};

/// An error answer: a stable `code` a program branches on, and words for a person.
///
/// Readers take it from any failed answer with [`Problem::read`], which never fails: a body
/// that is not a problem (a proxy's HTML page, say) reads as an empty one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The stable error code (`unknown_patient`, `confirmation_required`, …).
    #[serde(default)]
    pub code: Option<String>,
    /// What went wrong, in words.
    #[serde(default)]
    pub detail: Option<String>,
    /// The HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// The status's reason phrase.
    #[serde(default)]
    pub title: Option<String>,
    /// A URI naming the code.
    #[serde(default, rename = "type")]
    pub type_uri: Option<String>,
}

impl Problem {
    /// Reads an error answer's body; anything that is not a problem reads as an empty one.
    pub fn read(body: &[u8]) -> Problem {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The code, if it is one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_reads_and_writes_back_byte_for_byte() {
        let text = r#"{"code":"unknown_patient","detail":"no such patient","status":404,"title":"Not Found","type":"https://spondon.example/problems/unknown_patient"}"#;
        let p = Problem::read(text.as_bytes());
        assert_eq!(p.code(), Some("unknown_patient"));
        assert_eq!(p.detail.as_deref(), Some("no such patient"));
        assert_eq!(p.status, Some(404));
        assert_eq!(serde_json::to_string(&p).expect("writes"), text);
    }

    #[test]
    fn anything_else_reads_as_an_empty_problem() {
        assert_eq!(
            Problem::read(b"<html>bad gateway</html>"),
            Problem::default()
        );
        assert_eq!(Problem::read(b"null"), Problem::default());
        let partial = Problem::read(br#"{"detail":"slow down"}"#);
        assert_eq!(partial.code(), None);
        assert_eq!(partial.detail.as_deref(), Some("slow down"));
    }
}
