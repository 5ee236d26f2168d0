//! The consortium trust list, signed by the health authority's root key.

use ciborium::Value;
use serde::Serialize;

use super::cbor::{self, Fields};
use super::claims::{self, ClaimsBuilder, Envelope};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Ed25519PublicKey, Es256KeyPair, Es256PublicKey, Jwks};
use crate::time::NumericDate;

/// Longest trust list lifetime: 400 days.
pub const MAX_TRUST_LIST_LIFETIME: i64 = 400 * 86_400;
/// Most hospitals in one list.
pub const MAX_HOSPITALS: usize = 2_000;
/// Most record-signing keys per hospital.
pub const MAX_RECORD_KEYS: usize = 8;
/// Most witnesses in one list.
pub const MAX_WITNESSES: usize = 64;
/// Most investigators in one list.
pub const MAX_INVESTIGATORS: usize = 256;

const F_SEQUENCE: i64 = 2;
const F_HOSPITALS: i64 = 3;
const F_WITNESSES: i64 = 4;
const F_QUORUM: i64 = 5;
const F_PUBLISH_URL: i64 = 6;
const F_INVESTIGATORS: i64 = 7;
const I_ID: i64 = 1;
const I_NAME: i64 = 2;
const W_NAME: i64 = 1;
const W_KEY: i64 = 2;
const W_OPERATOR: i64 = 3;
const H_ID: i64 = 1;
const H_NAME: i64 = 2;
const H_PEER_URL: i64 = 3;
const H_RECORD_KEYS: i64 = 4;
const H_LOG_KEY: i64 = 5;
const H_LOG_ORIGIN: i64 = 6;

/// One member of the consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hospital {
    /// The hospital's id, unique in the list; credentials name it as issuer.
    pub id: String,
    /// The hospital's name, as shown to patients and verifiers.
    pub name: String,
    /// The hospital peer's public `https` URL (also the `iss` of its health cards).
    pub peer_url: String,
    /// Record-signing keys (P-256); serialized as a JWKS.
    #[serde(serialize_with = "ser::keys")]
    pub record_keys: Vec<Es256PublicKey>,
    /// The transparency log's Ed25519 public key.
    #[serde(serialize_with = "ser::ed25519")]
    pub log_key: Ed25519PublicKey,
    /// The log's origin line (C2SP tlog-checkpoint).
    pub log_origin: String,
}

impl Hospital {
    /// The record-signing keys as a JWKS.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .record_keys
                .iter()
                .map(Es256PublicKey::to_jwk)
                .collect(),
        }
    }

    /// The record-signing key with this RFC 7638 thumbprint.
    pub fn record_key(&self, kid: &str) -> Option<&Es256PublicKey> {
        self.record_keys.iter().find(|k| k.kid() == kid)
    }
}

/// A witness of the consortium's logs (C2SP `tlog-witness`): it cosigns a hospital's checkpoint
/// only after checking it is consistent with the last one it cosigned for that log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedWitness {
    /// The witness's signed-note key name (its cosignatures carry it).
    pub name: String,
    /// Its Ed25519 `cosignature/v1` public key.
    #[serde(serialize_with = "ser::ed25519")]
    pub key: Ed25519PublicKey,
    /// The member hospital that runs it, if any: its cosignatures never count for that
    /// hospital's own log.
    pub operator: Option<String>,
}

/// An investigator the consortium names (police, a court, an ombudsman): hospitals release
/// proofs of sharing (`docs/protocol.md` §14) to them. A name, not a key: the proofs are
/// verifiable by anyone, the role only says to whom a hospital may hand one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Investigator {
    /// A short id, `[a-z0-9.-]{1,64}`.
    pub id: String,
    /// Who it is, for people.
    pub name: String,
}

/// Which witnesses count and how many a checkpoint needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Witnessing {
    /// The witnesses readers trust, each with its Ed25519 key.
    pub witnesses: Vec<TrustedWitness>,
    /// Cosignatures a hospital's checkpoint needs, from distinct listed witnesses that the
    /// hospital does not run, before readers call it witnessed (0: witnessing not required).
    pub quorum: u8,
}

impl Witnessing {
    /// No witnesses and no quorum (a list from before witnessing).
    pub fn is_empty(&self) -> bool {
        self.witnesses.is_empty() && self.quorum == 0
    }

    /// The witnesses whose cosignatures count for `hospital_id`'s log.
    pub fn for_hospital<'a>(
        &'a self,
        hospital_id: &'a str,
    ) -> impl Iterator<Item = &'a TrustedWitness> + 'a {
        self.witnesses
            .iter()
            .filter(move |w| w.operator.as_deref() != Some(hospital_id))
    }
}

/// A trust list (`docs/protocol.md` §6.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustList {
    /// The authority's name (`iss`).
    pub authority: String,
    /// Grows with every list issued; a verifier never accepts a lower one than it has pinned.
    pub sequence: u64,
    /// When the authority signed it (`iat`).
    pub issued_at: NumericDate,
    /// Valid from (`nbf`).
    pub not_before: NumericDate,
    /// Valid until (`exp`); a reader refreshes before then (see `publish_url`).
    pub expires: NumericDate,
    /// The member hospitals, each id unique.
    pub hospitals: Vec<Hospital>,
    /// The witnesses and the quorum every reader applies to checkpoints.
    #[serde(skip_serializing_if = "Witnessing::is_empty")]
    pub witnessing: Witnessing,
    /// Where the authority publishes its newest list (`https://…`); wallets refresh from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_url: Option<String>,
    /// The investigators the consortium names (none in lists from before the role existed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub investigators: Vec<Investigator>,
}

impl TrustList {
    /// The member a credential's issuer names: by its id, or else by its peer URL (hospital
    /// peers sign credentials with their public URL as `iss`, the same as their cards' `iss`).
    pub fn hospital(&self, id: &str) -> Option<&Hospital> {
        self.hospitals
            .iter()
            .find(|h| h.id == id)
            .or_else(|| self.hospitals.iter().find(|h| h.peer_url == id))
    }

    /// The investigator with this id.
    pub fn investigator(&self, id: &str) -> Option<&Investigator> {
        self.investigators.iter().find(|i| i.id == id)
    }

    /// Checks every field (lengths, URLs, keys, unique ids, dates, quorum) as signing and parsing
    /// both do; the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_text(&self.authority, "iss (1)", claims::MAX_ID_LEN)?;
        claims::check_date(self.issued_at, "iat (6)")?;
        claims::check_date(self.not_before, "nbf (5)")?;
        claims::check_date(self.expires, "exp (4)")?;
        claims::check_lifetime(self.not_before, self.expires, MAX_TRUST_LIST_LIFETIME)?;
        if i64::try_from(self.sequence).is_err() {
            return Err(TokenError::OutOfRange {
                field: "sequence (-65537 / 2)",
                reason: "must be < 2^63".into(),
            });
        }
        if self.hospitals.len() > MAX_HOSPITALS {
            return Err(TokenError::OutOfRange {
                field: "hospitals (-65537 / 3)",
                reason: format!("at most {MAX_HOSPITALS}"),
            });
        }
        for (i, h) in self.hospitals.iter().enumerate() {
            claims::check_text(&h.id, "hospital id (1)", claims::MAX_ID_LEN)?;
            claims::check_text(&h.name, "hospital name (2)", claims::MAX_ID_LEN)?;
            claims::check_url(&h.peer_url, "hospital peer URL (3)")?;
            claims::check_text(&h.log_origin, "hospital log origin (6)", claims::MAX_ID_LEN)?;
            if h.record_keys.is_empty() || h.record_keys.len() > MAX_RECORD_KEYS {
                return Err(TokenError::OutOfRange {
                    field: "hospital record keys (4)",
                    reason: format!("must have 1..={MAX_RECORD_KEYS}"),
                });
            }
            if self.hospitals[..i].iter().any(|o| o.id == h.id) {
                return Err(TokenError::OutOfRange {
                    field: "hospital id (1)",
                    reason: format!("{:?} repeated", h.id),
                });
            }
        }
        if let Some(url) = &self.publish_url {
            claims::check_url(url, "publish URL (-65537 / 6)")?;
        }
        self.validate_investigators()?;
        self.validate_witnessing()
    }

    fn validate_investigators(&self) -> Result<(), TokenError> {
        let bad = |field: &'static str, reason: String| TokenError::OutOfRange { field, reason };
        if self.investigators.len() > MAX_INVESTIGATORS {
            return Err(bad(
                "investigators (-65537 / 7)",
                format!("at most {MAX_INVESTIGATORS}"),
            ));
        }
        for (i, x) in self.investigators.iter().enumerate() {
            if !is_investigator_id(&x.id) {
                return Err(bad(
                    "investigator id (1)",
                    format!("{:?} is not [a-z0-9.-]{{1,64}}", x.id),
                ));
            }
            claims::check_text(&x.name, "investigator name (2)", claims::MAX_ID_LEN)?;
            if self.investigators[..i].iter().any(|o| o.id == x.id) {
                return Err(bad("investigator id (1)", format!("{:?} repeated", x.id)));
            }
        }
        Ok(())
    }

    fn validate_witnessing(&self) -> Result<(), TokenError> {
        let w = &self.witnessing;
        let bad = |field: &'static str, reason: String| TokenError::OutOfRange { field, reason };
        if w.witnesses.len() > MAX_WITNESSES {
            return Err(bad(
                "witnesses (-65537 / 4)",
                format!("at most {MAX_WITNESSES}"),
            ));
        }
        for (i, x) in w.witnesses.iter().enumerate() {
            claims::check_text(&x.name, "witness name (1)", claims::MAX_ID_LEN)?;
            // A signed-note key name: no spaces, no '+', no control characters.
            if x.name
                .chars()
                .any(|c| c == '+' || c.is_whitespace() || c.is_control())
            {
                return Err(bad(
                    "witness name (1)",
                    format!("{:?} is not a signed-note key name", x.name),
                ));
            }
            if let Some(op) = &x.operator
                && !self.hospitals.iter().any(|h| &h.id == op)
            {
                return Err(bad(
                    "witness operator (3)",
                    format!("{op:?} is not a hospital of this list"),
                ));
            }
            if w.witnesses[..i]
                .iter()
                .any(|o| o.name == x.name || o.key == x.key)
            {
                return Err(bad(
                    "witnesses (-65537 / 4)",
                    format!("witness {:?} repeated (same name or key)", x.name),
                ));
            }
        }
        let quorum = usize::from(w.quorum);
        if let Some(h) = self
            .hospitals
            .iter()
            .find(|h| w.for_hospital(&h.id).count() < quorum)
        {
            return Err(bad(
                "witness quorum (-65537 / 5)",
                format!(
                    "{quorum} cosignatures cannot be met for {:?}: fewer independent witnesses",
                    h.id
                ),
            ));
        }
        Ok(())
    }

    /// Signs with the authority's root key (its kid goes in the protected header).
    pub fn sign(&self, root: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        let hospitals = self
            .hospitals
            .iter()
            .map(|h| {
                cbor::int_map(vec![
                    (H_ID, cbor::text(&h.id)),
                    (H_NAME, cbor::text(&h.name)),
                    (H_PEER_URL, cbor::text(&h.peer_url)),
                    (
                        H_RECORD_KEYS,
                        Value::Array(
                            h.record_keys
                                .iter()
                                .map(|k| cbor::bytes(k.sec1()))
                                .collect(),
                        ),
                    ),
                    (H_LOG_KEY, cbor::bytes(h.log_key.as_bytes())),
                    (H_LOG_ORIGIN, cbor::text(&h.log_origin)),
                ])
            })
            .collect();
        let witnesses = (!self.witnessing.witnesses.is_empty()).then(|| {
            Value::Array(
                self.witnessing
                    .witnesses
                    .iter()
                    .map(|w| {
                        let mut m = vec![
                            (W_NAME, cbor::text(&w.name)),
                            (W_KEY, cbor::bytes(w.key.as_bytes())),
                        ];
                        if let Some(op) = &w.operator {
                            m.push((W_OPERATOR, cbor::text(op)));
                        }
                        cbor::int_map(m)
                    })
                    .collect(),
            )
        });
        let investigators = (!self.investigators.is_empty()).then(|| {
            Value::Array(
                self.investigators
                    .iter()
                    .map(|x| {
                        cbor::int_map(vec![
                            (I_ID, cbor::text(&x.id)),
                            (I_NAME, cbor::text(&x.name)),
                        ])
                    })
                    .collect(),
            )
        });
        let payload = ClaimsBuilder::new(TokenKind::TrustList)
            .claim(claims::CLAIM_ISS, cbor::text(&self.authority))
            .date(claims::CLAIM_EXP, self.expires)
            .date(claims::CLAIM_NBF, self.not_before)
            .date(claims::CLAIM_IAT, self.issued_at)
            .field(F_SEQUENCE, cbor::uint(self.sequence))
            .field(F_HOSPITALS, Value::Array(hospitals))
            .opt_field(F_WITNESSES, witnesses)
            .opt_field(
                F_QUORUM,
                (self.witnessing.quorum > 0).then(|| cbor::uint(self.witnessing.quorum.into())),
            )
            .opt_field(F_PUBLISH_URL, self.publish_url.as_deref().map(cbor::text))
            .opt_field(F_INVESTIGATORS, investigators)
            .encode()?;
        super::sign_text(
            root,
            Some(&claims::kid_bytes(root.public_key())),
            payload,
            super::MAX_TRUST_LIST_TEXT,
        )
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<Self, TokenError> {
        if env.sub.is_some() || env.cnf.is_some() {
            return Err(TokenError::UnknownField(
                "sub (2) or cnf (8) in a trust list".into(),
            ));
        }
        let f = &mut env.fields;
        let sequence = cbor::as_uint(
            f.require(F_SEQUENCE.into(), "sequence (-65537 / 2)")?,
            "sequence (-65537 / 2)",
            0,
            i64::MAX as u64,
        )?;
        let hospitals = cbor::as_array(
            f.require(F_HOSPITALS.into(), "hospitals (-65537 / 3)")?,
            "hospitals (-65537 / 3)",
            0,
            MAX_HOSPITALS,
        )?
        .into_iter()
        .map(parse_hospital)
        .collect::<Result<_, _>>()?;
        let witnesses = match f.take(F_WITNESSES.into()) {
            None => Vec::new(),
            Some(v) => cbor::as_array(v, "witnesses (-65537 / 4)", 1, MAX_WITNESSES)?
                .into_iter()
                .map(parse_witness)
                .collect::<Result<_, _>>()?,
        };
        let quorum = match f.take(F_QUORUM.into()) {
            None => 0,
            Some(v) => {
                let q = cbor::as_uint(v, "witness quorum (-65537 / 5)", 1, u8::MAX.into())?;
                u8::try_from(q).map_err(|_| TokenError::OutOfRange {
                    field: "witness quorum (-65537 / 5)",
                    reason: "must be 1..=255".into(),
                })?
            }
        };
        let publish_url = f
            .take(F_PUBLISH_URL.into())
            .map(|v| cbor::as_text(v, "publish URL (-65537 / 6)", 256))
            .transpose()?;
        let investigators = match f.take(F_INVESTIGATORS.into()) {
            None => Vec::new(),
            Some(v) => cbor::as_array(v, "investigators (-65537 / 7)", 1, MAX_INVESTIGATORS)?
                .into_iter()
                .map(parse_investigator)
                .collect::<Result<_, _>>()?,
        };
        f.deny_rest("the trust list's Spondon claim")?;
        let list = TrustList {
            authority: env.iss.ok_or(TokenError::MissingField("iss (1)"))?,
            sequence,
            issued_at: env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
            not_before: env.nbf.ok_or(TokenError::MissingField("nbf (5)"))?,
            expires: env.exp.ok_or(TokenError::MissingField("exp (4)"))?,
            hospitals,
            witnessing: Witnessing { witnesses, quorum },
            publish_url,
            investigators,
        };
        list.validate()?;
        Ok(list)
    }

    /// Parses and verifies a trust list text against the pinned root key; rejects a sequence
    /// lower than `min_sequence` (the one last accepted).
    pub fn decode_and_verify(
        text: &str,
        root: &Es256PublicKey,
        min_sequence: u64,
        now: NumericDate,
    ) -> Result<TrustList, TokenError> {
        let parsed = super::decode_any(text)?;
        let anchors = super::TrustAnchors {
            root_key: Some(root),
            min_trust_list_sequence: min_sequence,
            ..Default::default()
        };
        parsed.verify(&anchors, now)?;
        match parsed.claims {
            super::TokenClaims::TrustList(t) => Ok(t),
            other => Err(TokenError::KindMismatch {
                expected: "trust_list",
                found: other.kind().name(),
            }),
        }
    }
}

/// `[a-z0-9.-]{1,64}`.
pub fn is_investigator_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

fn parse_investigator(v: Value) -> Result<Investigator, TokenError> {
    let mut f = Fields::new(v, "investigator")?;
    let id = cbor::as_text(
        f.require(I_ID.into(), "investigator id (1)")?,
        "investigator id (1)",
        64,
    )?;
    let name = cbor::as_text(
        f.require(I_NAME.into(), "investigator name (2)")?,
        "investigator name (2)",
        claims::MAX_ID_LEN,
    )?;
    f.deny_rest("investigator")?;
    Ok(Investigator { id, name })
}

fn parse_witness(v: Value) -> Result<TrustedWitness, TokenError> {
    let mut f = Fields::new(v, "witness")?;
    let name = cbor::as_text(
        f.require(W_NAME.into(), "witness name (1)")?,
        "witness name (1)",
        claims::MAX_ID_LEN,
    )?;
    let key = cbor::as_byte_array::<32>(
        f.require(W_KEY.into(), "witness key (2)")?,
        "witness key (2)",
    )?;
    let key = Ed25519PublicKey::from_bytes(&key).map_err(|_| TokenError::InvalidKey)?;
    let operator = f
        .take(W_OPERATOR.into())
        .map(|v| cbor::as_text(v, "witness operator (3)", claims::MAX_ID_LEN))
        .transpose()?;
    f.deny_rest("witness")?;
    Ok(TrustedWitness {
        name,
        key,
        operator,
    })
}

fn parse_hospital(v: Value) -> Result<Hospital, TokenError> {
    let mut f = Fields::new(v, "hospital")?;
    let text = |f: &mut Fields, k: i64, name: &'static str| -> Result<String, TokenError> {
        cbor::as_text(f.require(k.into(), name)?, name, claims::MAX_ID_LEN)
    };
    let id = text(&mut f, H_ID, "hospital id (1)")?;
    let name = text(&mut f, H_NAME, "hospital name (2)")?;
    let peer_url = cbor::as_text(
        f.require(H_PEER_URL.into(), "hospital peer URL (3)")?,
        "hospital peer URL (3)",
        256,
    )?;
    let record_keys = cbor::as_array(
        f.require(H_RECORD_KEYS.into(), "hospital record keys (4)")?,
        "hospital record keys (4)",
        1,
        MAX_RECORD_KEYS,
    )?
    .into_iter()
    .map(|k| claims::parse_sec1(k, "hospital record keys (4)"))
    .collect::<Result<_, _>>()?;
    let log_key = cbor::as_byte_array::<32>(
        f.require(H_LOG_KEY.into(), "hospital log key (5)")?,
        "hospital log key (5)",
    )?;
    let log_key = Ed25519PublicKey::from_bytes(&log_key).map_err(|_| TokenError::InvalidKey)?;
    let log_origin = text(&mut f, H_LOG_ORIGIN, "hospital log origin (6)")?;
    f.deny_rest("hospital")?;
    Ok(Hospital {
        id,
        name,
        peer_url,
        record_keys,
        log_key,
        log_origin,
    })
}
