//! `.smart-health-card` files: `{"verifiableCredential":["<JWS>", …]}` (media type
//! `application/smart-health-card`).

use serde_json::Value;

use super::{MAX_INPUT_LEN, ShcError, check_len};

/// Most cards accepted in one file.
pub const MAX_CARDS_PER_FILE: usize = 1000;

/// The contents of a `.smart-health-card` file.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HealthCardFile {
    /// The compact JWSs, in file order.
    pub verifiable_credential: Vec<String>,
}

impl HealthCardFile {
    /// Wraps JWSs for writing.
    pub fn new(jws: Vec<String>) -> Self {
        HealthCardFile {
            verifiable_credential: jws,
        }
    }

    /// Parses a file. Surrounding whitespace is an error (`trailing_characters`), as in the
    /// SMART validator; use [`extract_jws`](super::extract_jws) for lenient user input.
    pub fn from_json(text: &str) -> Result<Self, ShcError> {
        check_len(text, MAX_INPUT_LEN)?;
        if text.trim() != text || text.starts_with('\u{feff}') {
            return Err(ShcError::TrailingCharacters);
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| ShcError::BadFile(e.to_string()))?;
        Self::from_value(value)
    }

    /// From parsed JSON: an object whose `verifiableCredential` is a non-empty array of strings.
    pub fn from_value(value: Value) -> Result<Self, ShcError> {
        let Value::Object(mut obj) = value else {
            return Err(ShcError::BadFile("not a JSON object".into()));
        };
        let Some(Value::Array(items)) = obj.remove("verifiableCredential") else {
            return Err(ShcError::BadFile(
                "\"verifiableCredential\" is missing or not an array".into(),
            ));
        };
        if items.is_empty() {
            return Err(ShcError::BadFile(
                "\"verifiableCredential\" is empty".into(),
            ));
        }
        if items.len() > MAX_CARDS_PER_FILE {
            return Err(ShcError::BadFile(format!(
                "more than {MAX_CARDS_PER_FILE} cards"
            )));
        }
        let verifiable_credential = items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(ShcError::BadFile(
                    "\"verifiableCredential\" holds a non-string".into(),
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(HealthCardFile {
            verifiable_credential,
        })
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "verifiableCredential": self.verifiable_credential }).to_string()
    }
}

impl std::fmt::Debug for HealthCardFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HealthCardFile({} cards, redacted)",
            self.verifiable_credential.len()
        )
    }
}
