//! Strict reading and deterministic writing of the CBOR items Spondon tokens are made of.

use ciborium::value::{Integer, Value};

use super::TokenError;
use crate::time::NumericDate;

/// Nesting depth accepted when decoding CBOR. Spondon structures are at most 7 deep.
const RECURSION_LIMIT: usize = 16;

/// Decodes exactly one CBOR item from `bytes`; trailing bytes are an error.
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, TokenError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, RECURSION_LIMIT)
        .map_err(|e| TokenError::Cbor(cbor_error_text(&e)))?;
    if !rest.is_empty() {
        return Err(TokenError::Cbor(format!(
            "{} trailing bytes after the item",
            rest.len()
        )));
    }
    Ok(value)
}

fn cbor_error_text<T: std::fmt::Debug>(err: &ciborium::de::Error<T>) -> String {
    match err {
        ciborium::de::Error::Io(_) => "unexpected end of input".into(),
        ciborium::de::Error::Syntax(offset) => format!("syntax error at byte {offset}"),
        ciborium::de::Error::Semantic(_, msg) => msg.clone(),
        ciborium::de::Error::RecursionLimitExceeded => "nested too deeply".into(),
    }
}

/// Refuses a map key repeated in any map at any depth of `value` (`duplicate_key`), including
/// maps inside claims a verifier does not read (`docs/protocol.md` §4).
pub(crate) fn deny_duplicate_keys(value: &Value) -> Result<(), TokenError> {
    match value {
        Value::Map(entries) => {
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            for (k, v) in entries {
                if !seen.insert(encode(k)?) {
                    return Err(TokenError::DuplicateKey(match k {
                        Value::Integer(i) => i128::from(*i).to_string(),
                        _ => "a key".into(),
                    }));
                }
                deny_duplicate_keys(k)?;
                deny_duplicate_keys(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(deny_duplicate_keys),
        Value::Tag(_, inner) => deny_duplicate_keys(inner),
        _ => Ok(()),
    }
}

/// Encodes one CBOR item.
pub(crate) fn encode(value: &Value) -> Result<Vec<u8>, TokenError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok(out)
}

/// A map with integer keys in the deterministic order of RFC 8949 §4.2.1 (0, 1, …, -1, -2, …).
pub(crate) fn int_map(mut entries: Vec<(i64, Value)>) -> Value {
    entries.sort_by_key(|(k, _)| {
        if *k >= 0 {
            (0u8, k.unsigned_abs())
        } else {
            (1u8, k.unsigned_abs())
        }
    });
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Integer(Integer::from(k)), v))
            .collect(),
    )
}

pub(crate) fn int(v: i64) -> Value {
    Value::Integer(Integer::from(v))
}

pub(crate) fn uint(v: u64) -> Value {
    Value::Integer(Integer::from(v))
}

pub(crate) fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The entries of a CBOR map whose keys are all integers, none repeated. Fields are taken out
/// one by one; what is left can then be rejected or ignored.
#[derive(Debug)]
pub(crate) struct Fields {
    entries: Vec<(i128, Option<Value>)>,
}

impl Fields {
    pub(crate) fn new(value: Value, field: &'static str) -> Result<Fields, TokenError> {
        let Value::Map(map) = value else {
            return Err(TokenError::WrongType {
                field,
                expected: "a map",
            });
        };
        let mut entries: Vec<(i128, Option<Value>)> = Vec::with_capacity(map.len());
        let mut seen = std::collections::HashSet::with_capacity(map.len());
        for (k, v) in map {
            let Value::Integer(k) = k else {
                return Err(TokenError::WrongType {
                    field,
                    expected: "a map with integer keys",
                });
            };
            let k = i128::from(k);
            if !seen.insert(k) {
                return Err(TokenError::DuplicateKey(format!("{k} in {field}")));
            }
            entries.push((k, Some(v)));
        }
        Ok(Fields { entries })
    }

    pub(crate) fn take(&mut self, key: i128) -> Option<Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.take())
    }

    pub(crate) fn require(&mut self, key: i128, field: &'static str) -> Result<Value, TokenError> {
        self.take(key).ok_or(TokenError::MissingField(field))
    }

    /// Keys not taken yet.
    pub(crate) fn remaining(&self) -> Vec<i128> {
        self.entries
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| *k)
            .collect()
    }

    /// Rejects any key not taken yet (the structure is closed).
    pub(crate) fn deny_rest(&self, field: &'static str) -> Result<(), TokenError> {
        match self.remaining().first() {
            Some(k) => Err(TokenError::UnknownField(format!("{k} in {field}"))),
            None => Ok(()),
        }
    }
}

pub(crate) fn as_text(v: Value, field: &'static str, max_len: usize) -> Result<String, TokenError> {
    let Value::Text(s) = v else {
        return Err(TokenError::WrongType {
            field,
            expected: "a text string",
        });
    };
    if s.is_empty() || s.len() > max_len {
        return Err(TokenError::OutOfRange {
            field,
            reason: format!("length must be 1..={max_len} bytes"),
        });
    }
    if s.chars().any(char::is_control) {
        return Err(TokenError::OutOfRange {
            field,
            reason: "control characters are not allowed".into(),
        });
    }
    Ok(s)
}

pub(crate) fn as_bytes(v: Value, field: &'static str) -> Result<Vec<u8>, TokenError> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(TokenError::WrongType {
            field,
            expected: "a byte string",
        }),
    }
}

pub(crate) fn as_byte_array<const N: usize>(
    v: Value,
    field: &'static str,
) -> Result<[u8; N], TokenError> {
    let b = as_bytes(v, field)?;
    let len = b.len();
    b.try_into().map_err(|_| TokenError::OutOfRange {
        field,
        reason: format!("must be exactly {N} bytes, got {len}"),
    })
}

pub(crate) fn as_int(v: Value, field: &'static str) -> Result<i128, TokenError> {
    match v {
        Value::Integer(i) => Ok(i128::from(i)),
        _ => Err(TokenError::WrongType {
            field,
            expected: "an integer",
        }),
    }
}

/// An unsigned integer in `min..=max`.
pub(crate) fn as_uint(
    v: Value,
    field: &'static str,
    min: u64,
    max: u64,
) -> Result<u64, TokenError> {
    let i = as_int(v, field)?;
    match u64::try_from(i) {
        Ok(u) if (min..=max).contains(&u) => Ok(u),
        _ => Err(TokenError::OutOfRange {
            field,
            reason: format!("must be an integer in {min}..={max}"),
        }),
    }
}

pub(crate) fn as_bool(v: Value, field: &'static str) -> Result<bool, TokenError> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(TokenError::WrongType {
            field,
            expected: "a boolean",
        }),
    }
}

pub(crate) fn as_array(
    v: Value,
    field: &'static str,
    min: usize,
    max: usize,
) -> Result<Vec<Value>, TokenError> {
    let Value::Array(a) = v else {
        return Err(TokenError::WrongType {
            field,
            expected: "an array",
        });
    };
    if a.len() < min || a.len() > max {
        return Err(TokenError::OutOfRange {
            field,
            reason: format!("must have {min}..={max} elements"),
        });
    }
    Ok(a)
}

/// A NumericDate as a CBOR integer (no floats, no tags) within 1970..=9999.
pub(crate) fn as_date(v: Value, field: &'static str) -> Result<NumericDate, TokenError> {
    let i = as_int(v, field)?;
    match i64::try_from(i) {
        Ok(s) if (NumericDate::MIN.0..=NumericDate::MAX.0).contains(&s) => Ok(NumericDate(s)),
        _ => Err(TokenError::OutOfRange {
            field,
            reason: "must be seconds in 1970..=9999".into(),
        }),
    }
}
