//! Spondon tokens: COSE_Sign1 (RFC 9052) over CWT claims (RFC 8392), ES256, as text
//! `SPONDON:1:` + base45 (RFC 9285) for alphanumeric QR codes. `docs/protocol.md` is the
//! specification; this module is its reference implementation.
//!
//! Two phases, so that a tool can show what a token says even when it does not verify:
//! [`decode_any`] parses any Spondon token text into a [`ParsedToken`] without trusting it, and
//! [`ParsedToken::verify`] checks signature and time against the [`TrustAnchors`] its kind needs.

pub mod base45;
mod cbor;
mod claims;
mod cose;
mod credential;
mod delegation;
mod error;
mod grant;
mod key_rotation;
mod pop;
mod revocation;
mod self_signed;
mod signed_request;
mod trust_list;

use serde::Serialize;

pub use claims::CLAIM_SPONDON;
pub use cose::{ALG_ES256, COSE_SIGN1_TAG};
pub use credential::{
    DoctorCredential, EnrollmentCredential, MAX_DOCTOR_LIFETIME, MAX_ENROLLMENT_LIFETIME,
};
pub use delegation::{Delegation, MAX_DELEGATION_LIFETIME, MAX_GUARDIANS, Scope};
pub use error::TokenError;
pub use grant::{
    Audience, Category, Grant, MAX_GRANT_IAT_SKEW, MAX_GRANT_LIFETIME, MAX_PEERS, MAX_RECORD_IDS,
    MAX_USES, MIN_PASSCODE_CHARS, Purpose,
};
pub use key_rotation::{
    KEY_ROTATION_CONTEXT, KeyRotation, MAX_ROTATION_AGE, MAX_ROTATION_IAT_SKEW,
};
pub use pop::{MAX_POP_TEXT, POP_MAX_SKEW, PopProof, PopRequest};
pub use revocation::{Revocation, RevocationTarget};
pub use signed_request::{MAX_SIGNED_REQUEST_TEXT, SignedRequest, SignedRequestTarget};
pub use trust_list::{
    Hospital, Investigator, MAX_HOSPITALS, MAX_INVESTIGATORS, MAX_RECORD_KEYS,
    MAX_TRUST_LIST_LIFETIME, MAX_WITNESSES, TrustList, TrustedWitness, Witnessing,
    is_investigator_id,
};

use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

/// The text every Spondon token starts with: URI scheme `spondon` (upper case, as QR
/// alphanumeric mode requires) and format version 1.
pub const PREFIX: &str = "SPONDON:1:";
/// Longest token text accepted for the QR-borne kinds (QR version 40-L alphanumeric capacity).
pub const MAX_QR_TEXT: usize = 4_296;
/// Longest trust list text accepted.
pub const MAX_TRUST_LIST_TEXT: usize = 1 << 20;

/// The kinds of Spondon token, with their codes in the Spondon claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A patient's grant of access to records (code 1, §6.1).
    Grant,
    /// A patient's revocation of grants (code 2, §6.2).
    Revocation,
    /// A hospital's enrollment credential for a patient (code 3, §6.3).
    Enrollment,
    /// A hospital's credential for a doctor (code 4, §6.4).
    DoctorCredential,
    /// The authority's signed list of member hospitals (code 5, §6.5).
    TrustList,
    /// Not a text token: the HTTP proof of possession ([`PopProof`]).
    PopProof,
    /// Not a text token: a patient's signed HTTP request ([`SignedRequest`]).
    SignedRequest,
    /// A patient lets a delegate's key act for them ([`Delegation`], §16).
    Delegation,
    /// A key rotation statement ([`KeyRotation`], `docs/protocol.md` §17). Code 10: 8 is left
    /// to the delegation token, and 9 is the "unknown kind" of the token test vectors.
    KeyRotation,
}

impl TokenKind {
    /// The kind's code in the Spondon claim.
    pub fn code(self) -> u64 {
        match self {
            TokenKind::Grant => 1,
            TokenKind::Revocation => 2,
            TokenKind::Enrollment => 3,
            TokenKind::DoctorCredential => 4,
            TokenKind::TrustList => 5,
            TokenKind::PopProof => 6,
            TokenKind::SignedRequest => 7,
            TokenKind::Delegation => 8,
            TokenKind::KeyRotation => 10,
        }
    }

    /// The kind with this code; `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<TokenKind> {
        Some(match code {
            1 => TokenKind::Grant,
            2 => TokenKind::Revocation,
            3 => TokenKind::Enrollment,
            4 => TokenKind::DoctorCredential,
            5 => TokenKind::TrustList,
            6 => TokenKind::PopProof,
            7 => TokenKind::SignedRequest,
            8 => TokenKind::Delegation,
            10 => TokenKind::KeyRotation,
            _ => return None,
        })
    }

    /// The snake_case name (`grant`, `revocation`, `enrollment`, `doctor_credential`,
    /// `trust_list`, `pop_proof`, `signed_request`, `delegation`, `key_rotation`).
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Grant => "grant",
            TokenKind::Revocation => "revocation",
            TokenKind::Enrollment => "enrollment",
            TokenKind::DoctorCredential => "doctor_credential",
            TokenKind::TrustList => "trust_list",
            TokenKind::PopProof => "pop_proof",
            TokenKind::SignedRequest => "signed_request",
            TokenKind::Delegation => "delegation",
            TokenKind::KeyRotation => "key_rotation",
        }
    }
}

/// The typed claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TokenClaims {
    /// A grant.
    Grant(Grant),
    /// A revocation.
    Revocation(Revocation),
    /// An enrollment credential.
    Enrollment(EnrollmentCredential),
    /// A doctor credential.
    DoctorCredential(DoctorCredential),
    /// A trust list.
    TrustList(TrustList),
    /// A delegation.
    Delegation(Delegation),
    /// A key rotation statement.
    KeyRotation(KeyRotation),
}

impl TokenClaims {
    /// The kind of token these claims came from.
    pub fn kind(&self) -> TokenKind {
        match self {
            TokenClaims::Grant(_) => TokenKind::Grant,
            TokenClaims::Revocation(_) => TokenKind::Revocation,
            TokenClaims::Enrollment(_) => TokenKind::Enrollment,
            TokenClaims::DoctorCredential(_) => TokenKind::DoctorCredential,
            TokenClaims::TrustList(_) => TokenKind::TrustList,
            TokenClaims::Delegation(_) => TokenKind::Delegation,
            TokenClaims::KeyRotation(_) => TokenKind::KeyRotation,
        }
    }
}

/// A token that is well formed but not yet trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedToken {
    /// The token's kind, from the Spondon claim.
    pub kind: TokenKind,
    /// Who signed it, as they claim: the hospital id of a credential, the authority of a trust
    /// list; `None` for grants, revocations and key rotations (signed by the embedded patient
    /// key).
    pub issuer: Option<String>,
    /// The RFC 7638 thumbprint of the signing key: the header kid, or for grants and
    /// revocations the embedded patient key's thumbprint.
    pub signer_kid: String,
    /// When it was signed (`iat`), if the kind carries it.
    pub issued_at: Option<NumericDate>,
    /// Valid from (`nbf`), if the kind carries it.
    pub not_before: Option<NumericDate>,
    /// Valid until (`exp`), if the kind carries it.
    pub expires: Option<NumericDate>,
    /// The typed claims, checked against the format but not yet against a signature or a time.
    pub claims: TokenClaims,
    #[serde(skip)]
    sign1: cose::Sign1,
    /// A delegate's grant: the delegation it embeds (§16).
    #[serde(skip)]
    embedded: Option<delegation::Embedded>,
}

/// What verification may need. Grants and revocations need nothing (they carry the patient
/// key; the peer checks that key against its enrollment); credentials need a verified trust
/// list; a trust list needs the pinned root key.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustAnchors<'a> {
    /// The verified trust list: needed for credentials (their issuers and keys).
    pub trust_list: Option<&'a TrustList>,
    /// The authority's pinned root key: needed for a trust list.
    pub root_key: Option<&'a Es256PublicKey>,
    /// The sequence of the trust list last accepted (rollback protection); 0 accepts any.
    pub min_trust_list_sequence: u64,
}

/// True if `text` looks like a Spondon token (starts with [`PREFIX`]). Cheap; for routing input.
pub fn is_spondon_text(text: &str) -> bool {
    text.trim_start_matches(['\r', '\n']).starts_with(PREFIX)
}

/// Which kind of token `text` claims to be, read leniently (prefix, base45, the COSE payload's
/// Spondon claim) without validating anything else: for reporting the kind of a token that
/// [`decode_any`] rejects. `None` if even that much cannot be read.
pub fn peek_kind(text: &str) -> Option<TokenKind> {
    use ciborium::Value;
    let text = text.trim_matches(['\r', '\n']);
    if text.len() > MAX_TRUST_LIST_TEXT {
        return None;
    }
    let bytes = base45::decode(text.strip_prefix(PREFIX)?).ok()?;
    let inner = match cbor::decode(&bytes).ok()? {
        Value::Tag(_, inner) => *inner,
        other => other,
    };
    let Value::Array(items) = inner else {
        return None;
    };
    let Some(Value::Bytes(payload)) = items.get(2) else {
        return None;
    };
    let Value::Map(claims) = cbor::decode(payload).ok()? else {
        return None;
    };
    let key = |v: &Value, k: i128| matches!(v, Value::Integer(i) if i128::from(*i) == k);
    let (_, spondon) = claims.iter().find(|(k, _)| key(k, CLAIM_SPONDON.into()))?;
    let Value::Map(fields) = spondon else {
        return None;
    };
    let (_, kind) = fields.iter().find(|(k, _)| key(k, 0))?;
    let Value::Integer(code) = kind else {
        return None;
    };
    TokenKind::from_code(u64::try_from(i128::from(*code)).ok()?)
}

/// Parses any Spondon token text: prefix, base45, COSE_Sign1 headers, CWT claims, and every
/// field of its kind. Does not check the signature or the time: see [`ParsedToken::verify`].
/// Leading and trailing CR/LF are ignored (not spaces: space is a base45 digit).
pub fn decode_any(text: &str) -> Result<ParsedToken, TokenError> {
    let text = text.trim_matches(['\r', '\n']);
    if text.is_empty() {
        return Err(TokenError::Empty);
    }
    if text.len() > MAX_TRUST_LIST_TEXT {
        return Err(TokenError::TooLarge {
            len: text.len(),
            max: MAX_TRUST_LIST_TEXT,
        });
    }
    let body = text.strip_prefix(PREFIX).ok_or(TokenError::WrongPrefix)?;
    let bytes = base45::decode(body).map_err(TokenError::Base45)?;
    let sign1 = cose::decode(&bytes)?;
    let env = claims::parse(&sign1.payload)?;
    if env.kind != TokenKind::TrustList && text.len() > MAX_QR_TEXT {
        return Err(TokenError::TooLarge {
            len: text.len(),
            max: MAX_QR_TEXT,
        });
    }
    let issuer = env.iss.clone();
    let (iat, nbf, exp) = (env.iat, env.nbf, env.exp);
    let mut embedded = None;
    let claims = match env.kind {
        TokenKind::Grant => {
            let (grant, delegation) = Grant::from_envelope(env)?;
            if let Some(cose) = delegation {
                let e = delegation::Embedded::decode(cose)?;
                e.delegation.check_grant(&grant)?;
                embedded = Some(e);
            }
            TokenClaims::Grant(grant)
        }
        TokenKind::Delegation => TokenClaims::Delegation(Delegation::from_envelope(env)?),
        TokenKind::Revocation => TokenClaims::Revocation(Revocation::from_envelope(env)?),
        TokenKind::Enrollment => TokenClaims::Enrollment(EnrollmentCredential::from_envelope(env)?),
        TokenKind::DoctorCredential => {
            TokenClaims::DoctorCredential(DoctorCredential::from_envelope(env)?)
        }
        TokenKind::TrustList => TokenClaims::TrustList(TrustList::from_envelope(env)?),
        TokenKind::KeyRotation => TokenClaims::KeyRotation(KeyRotation::from_envelope(env)?),
        TokenKind::PopProof | TokenKind::SignedRequest => {
            return Err(TokenError::KindMismatch {
                expected: "a text token",
                found: env.kind.name(),
            });
        }
    };
    let signer_kid = match &claims {
        TokenClaims::Grant(g) => {
            let signer = match &embedded {
                Some(e) => &e.delegation.delegate_key,
                None => g.signer(),
            };
            check_embedded_kid(&sign1, signer)?;
            signer.kid().to_owned()
        }
        TokenClaims::Delegation(d) => {
            check_embedded_kid(&sign1, &d.patient_key)?;
            d.patient_key.kid().to_owned()
        }
        TokenClaims::Revocation(r) => {
            check_embedded_kid(&sign1, &r.patient_key)?;
            r.patient_key.kid().to_owned()
        }
        TokenClaims::KeyRotation(r) => {
            check_embedded_kid(&sign1, &r.old_key)?;
            r.old_key.kid().to_owned()
        }
        _ => match &sign1.kid {
            Some(kid) if kid.len() == 32 => crate::b64::encode(kid),
            Some(_) => {
                return Err(TokenError::ProtectedHeader(
                    "kid (4) must be a 32-byte RFC 7638 thumbprint".into(),
                ));
            }
            None => {
                return Err(TokenError::ProtectedHeader(
                    "kid (4) is required for this kind".into(),
                ));
            }
        },
    };
    Ok(ParsedToken {
        kind: claims.kind(),
        issuer,
        signer_kid,
        issued_at: iat,
        not_before: nbf,
        expires: exp,
        claims,
        sign1,
        embedded,
    })
}

/// A grant, revocation or delegation may carry a kid; if it does it must be the signer's
/// thumbprint (the patient key's, or for a delegate's grant the delegate key's).
fn check_embedded_kid(sign1: &cose::Sign1, key: &Es256PublicKey) -> Result<(), TokenError> {
    match &sign1.kid {
        Some(kid) if kid[..] != claims::kid_bytes(key)[..] => Err(TokenError::KidMismatch),
        _ => Ok(()),
    }
}

impl ParsedToken {
    /// For a delegate's grant, the delegation it embeds (§16); `None` otherwise. Trusted only
    /// once [`ParsedToken::verify`] succeeded.
    pub fn delegation(&self) -> Option<&Delegation> {
        self.embedded.as_ref().map(|e| &e.delegation)
    }

    /// For a delegate's grant, the text of the delegation it embeds.
    pub fn delegation_text(&self) -> Option<String> {
        self.embedded.as_ref().map(delegation::Embedded::text)
    }

    /// Verifies the signature against the key the kind calls for and checks `nbf ≤ now < exp`
    /// (for a revocation, `iat ≤ now`). `docs/protocol.md` §8 lists the steps in order.
    pub fn verify(&self, anchors: &TrustAnchors<'_>, now: NumericDate) -> Result<(), TokenError> {
        match &self.claims {
            TokenClaims::Grant(g) => match &self.embedded {
                // The chain: the patient signed the delegation, the delegate the grant.
                Some(e) => {
                    e.verify(now)?;
                    self.sign1.verify_with(&e.delegation.delegate_key)?;
                }
                None => self.sign1.verify_with(&g.patient_key)?,
            },
            TokenClaims::Delegation(d) => self.sign1.verify_with(&d.patient_key)?,
            TokenClaims::Revocation(r) => self.sign1.verify_with(&r.patient_key)?,
            TokenClaims::KeyRotation(r) => {
                self.sign1.verify_with(&r.old_key)?;
                r.verify_new_key()?;
            }
            TokenClaims::Enrollment(EnrollmentCredential { hospital_id, .. })
            | TokenClaims::DoctorCredential(DoctorCredential { hospital_id, .. }) => {
                let list = anchors
                    .trust_list
                    .ok_or(TokenError::TrustAnchorMissing("a trust list"))?;
                let hospital = list
                    .hospital(hospital_id)
                    .ok_or_else(|| TokenError::UnknownIssuer(hospital_id.clone()))?;
                let key = hospital
                    .record_key(&self.signer_kid)
                    .ok_or_else(|| TokenError::UnknownSigningKey(self.signer_kid.clone()))?;
                self.sign1.verify_with(key)?;
            }
            TokenClaims::TrustList(t) => {
                let root = anchors
                    .root_key
                    .ok_or(TokenError::TrustAnchorMissing("the pinned root key"))?;
                if root.kid() != self.signer_kid {
                    return Err(TokenError::UnknownSigningKey(self.signer_kid.clone()));
                }
                self.sign1.verify_with(root)?;
                if t.sequence < anchors.min_trust_list_sequence {
                    return Err(TokenError::TrustListRollback {
                        found: t.sequence,
                        pinned: anchors.min_trust_list_sequence,
                    });
                }
            }
        }
        match &self.claims {
            TokenClaims::Grant(g)
                if g.issued_at.0 > now.0.saturating_add(grant::MAX_GRANT_IAT_SKEW) =>
            {
                Err(TokenError::IssuedInFuture {
                    iat: g.issued_at.0,
                    now: now.0,
                })
            }
            TokenClaims::KeyRotation(r)
                if r.issued_at.0 > now.0.saturating_add(key_rotation::MAX_ROTATION_IAT_SKEW) =>
            {
                Err(TokenError::IssuedInFuture {
                    iat: r.issued_at.0,
                    now: now.0,
                })
            }
            TokenClaims::KeyRotation(_) => Ok(()),
            TokenClaims::Revocation(r) => {
                if now < r.issued_at {
                    return Err(TokenError::NotYetValid {
                        nbf: r.issued_at.0,
                        now: now.0,
                    });
                }
                Ok(())
            }
            TokenClaims::Delegation(d) => delegation::check_time(d, now),
            _ => claims::check_time(self.not_before, self.expires, now),
        }
    }
}

/// Signs a claims payload and renders the token text.
fn sign_text(
    key: &Es256KeyPair,
    kid: Option<&[u8]>,
    payload: Vec<u8>,
    max: usize,
) -> Result<String, TokenError> {
    let cose = cose::sign(key, kid, payload)?;
    let text = raw::to_text(&cose);
    if text.len() > max {
        return Err(TokenError::TooLarge {
            len: text.len(),
            max,
        });
    }
    Ok(text)
}

/// Low-level building blocks, for test vectors and interoperability tests: they sign whatever
/// they are given, valid or not.
pub mod raw {
    use ciborium::Value;

    use super::{TokenError, base45, cbor, cose};
    use crate::keys::Es256KeyPair;

    /// A tagged COSE_Sign1 over `payload` with the given protected header map (encoded here)
    /// and unprotected header value, signed with ES256 whatever the header says.
    pub fn sign_cose(
        key: &Es256KeyPair,
        protected: &Value,
        unprotected: Value,
        payload: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        let protected = cbor::encode(protected)?;
        let signature = key.sign(&cose::sig_structure(&protected, payload)?)?;
        cbor::encode(&Value::Tag(
            cose::COSE_SIGN1_TAG,
            Box::new(Value::Array(vec![
                Value::Bytes(protected),
                unprotected,
                Value::Bytes(payload.to_vec()),
                Value::Bytes(signature.to_vec()),
            ])),
        ))
    }

    /// `SPONDON:1:` + base45 of the bytes.
    pub fn to_text(cose: &[u8]) -> String {
        let mut text = String::with_capacity(super::PREFIX.len() + cose.len() * 3 / 2 + 2);
        text.push_str(super::PREFIX);
        text.push_str(&base45::encode(cose));
        text
    }

    /// The COSE bytes inside a token text (prefix and base45 removed), unchecked beyond that.
    pub fn from_text(text: &str) -> Result<Vec<u8>, TokenError> {
        let body = text
            .strip_prefix(super::PREFIX)
            .ok_or(TokenError::WrongPrefix)?;
        base45::decode(body).map_err(TokenError::Base45)
    }

    /// The payload (CWT claims bytes) of a COSE_Sign1, unverified.
    pub fn payload(cose_bytes: &[u8]) -> Result<Vec<u8>, TokenError> {
        Ok(cose::decode(cose_bytes)?.payload)
    }
}

/// serde helpers for the JSON view of claims.
mod ser {
    use serde::Serializer;

    use crate::keys::{Ed25519PublicKey, Es256PublicKey, Jwks};

    pub fn b64<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(v))
    }
    pub fn b64_vec<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(v))
    }
    pub fn key<S: Serializer>(k: &Es256PublicKey, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&k.to_jwk(), s)
    }
    pub fn keys<S: Serializer>(k: &[Es256PublicKey], s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(
            &Jwks {
                keys: k.iter().map(Es256PublicKey::to_jwk).collect(),
            },
            s,
        )
    }
    pub fn ed25519<S: Serializer>(k: &Ed25519PublicKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(k.as_bytes()))
    }
}
