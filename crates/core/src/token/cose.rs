//! COSE_Sign1 (RFC 9052 §4.2) with ES256, as Spondon profiles it (`docs/protocol.md` §4).

use ciborium::value::Value;

use super::TokenError;
use super::cbor::{self, Fields};
use crate::keys::{Es256KeyPair, Es256PublicKey};

/// CBOR tag of a COSE_Sign1.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm identifier of ES256 (ECDSA P-256 with SHA-256).
pub const ALG_ES256: i64 = -7;
const LABEL_ALG: i128 = 1;
const LABEL_CRIT: i128 = 2;
const LABEL_KID: i128 = 4;

/// A decoded, not yet verified COSE_Sign1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sign1 {
    /// The protected header exactly as received (it is signed as bytes).
    pub protected: Vec<u8>,
    pub kid: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// `Sig_structure = ["Signature1", body_protected, external_aad (empty), payload]`, encoded.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Result<Vec<u8>, TokenError> {
    cbor::encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// Signs `payload` into a tagged COSE_Sign1; the protected header is `{1: -7, 4: kid}` (kid
/// omitted when `None`), the unprotected header empty.
pub(crate) fn sign(
    key: &Es256KeyPair,
    kid: Option<&[u8]>,
    payload: Vec<u8>,
) -> Result<Vec<u8>, TokenError> {
    let mut header = vec![(1, cbor::int(ALG_ES256))];
    if let Some(kid) = kid {
        header.push((4, cbor::bytes(kid)));
    }
    let protected = cbor::encode(&cbor::int_map(header))?;
    let signature = key.sign(&sig_structure(&protected, &payload)?)?;
    cbor::encode(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// Decodes a tagged COSE_Sign1 and checks its headers. Does not verify the signature.
pub(crate) fn decode(bytes: &[u8]) -> Result<Sign1, TokenError> {
    let value = cbor::decode(bytes)?;
    let Value::Tag(tag, inner) = value else {
        return Err(TokenError::CoseStructure(
            "the COSE_Sign1 tag 18 is missing",
        ));
    };
    if tag != COSE_SIGN1_TAG {
        return Err(TokenError::CoseStructure(
            "the outer tag is not 18 (COSE_Sign1)",
        ));
    }
    let Value::Array(items) = *inner else {
        return Err(TokenError::CoseStructure("the tagged item is not an array"));
    };
    let [protected, unprotected, payload, signature]: [Value; 4] = items
        .try_into()
        .map_err(|_| TokenError::CoseStructure("the array does not have exactly 4 elements"))?;
    let Value::Bytes(protected) = protected else {
        return Err(TokenError::CoseStructure(
            "the protected header is not a byte string",
        ));
    };
    match unprotected {
        Value::Map(m) if m.is_empty() => {}
        Value::Map(_) => return Err(TokenError::UnprotectedHeaderNotEmpty),
        _ => {
            return Err(TokenError::CoseStructure(
                "the unprotected header is not a map",
            ));
        }
    }
    let Value::Bytes(payload) = payload else {
        return Err(TokenError::PayloadMissing);
    };
    let Value::Bytes(signature) = signature else {
        return Err(TokenError::CoseStructure(
            "the signature is not a byte string",
        ));
    };
    if signature.len() != 64 {
        return Err(TokenError::BadSignature);
    }
    let kid = check_protected(&protected)?;
    Ok(Sign1 {
        protected,
        kid,
        payload,
        signature,
    })
}

/// Checks the protected header; returns its kid.
fn check_protected(protected: &[u8]) -> Result<Option<Vec<u8>>, TokenError> {
    if protected.is_empty() {
        return Err(TokenError::ProtectedHeader("empty; alg is required".into()));
    }
    let value = cbor::decode(protected).map_err(|e| TokenError::ProtectedHeader(e.to_string()))?;
    let mut fields = match Fields::new(value, "protected header") {
        Ok(f) => f,
        Err(TokenError::DuplicateKey(k)) => {
            return Err(TokenError::ProtectedHeader(format!("duplicate label {k}")));
        }
        Err(_) => {
            return Err(TokenError::ProtectedHeader(
                "not a map with integer labels".into(),
            ));
        }
    };
    let mut kid_critical = false;
    if let Some(crit) = fields.take(LABEL_CRIT) {
        let Value::Array(labels) = crit else {
            return Err(TokenError::ProtectedHeader("crit is not an array".into()));
        };
        if labels.is_empty() {
            return Err(TokenError::ProtectedHeader("crit is empty".into()));
        }
        for label in labels {
            let understood = matches!(&label, Value::Integer(i) if {
                let i = i128::from(*i);
                i == LABEL_ALG || i == LABEL_KID
            });
            if !understood {
                return Err(TokenError::UnknownCriticalHeader(describe(&label)));
            }
            kid_critical |= matches!(&label, Value::Integer(i) if i128::from(*i) == LABEL_KID);
        }
    }
    match fields.take(LABEL_ALG) {
        None => return Err(TokenError::ProtectedHeader("alg (1) is missing".into())),
        Some(Value::Integer(i)) if i128::from(i) == i128::from(ALG_ES256) => {}
        Some(other) => return Err(TokenError::UnsupportedAlgorithm(describe(&other))),
    }
    let kid = match fields.take(LABEL_KID) {
        None => None,
        Some(Value::Bytes(b)) if !b.is_empty() && b.len() <= 64 => Some(b),
        Some(_) => {
            return Err(TokenError::ProtectedHeader(
                "kid (4) is not a byte string of 1..=64 bytes".into(),
            ));
        }
    };
    if kid_critical && kid.is_none() {
        // RFC 9052 §3.1: a label listed in crit must be present.
        return Err(TokenError::ProtectedHeader(
            "crit lists kid (4) but it is absent".into(),
        ));
    }
    // Other labels are not critical and are ignored (RFC 9052 §3).
    Ok(kid)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => format!("{t:?}"),
        _ => "a non-label value".into(),
    }
}

impl Sign1 {
    pub(crate) fn verify_with(&self, key: &Es256PublicKey) -> Result<(), TokenError> {
        let tbs = sig_structure(&self.protected, &self.payload)?;
        key.verify(&tbs, &self.signature)
            .map_err(|_| TokenError::BadSignature)
    }
}
