//! The grant: a patient lets one doctor or clinic key (or a passcode holder) read some records.

use serde::Serialize;

use super::cbor;
use super::claims::{self, ClaimsBuilder, Cnf, Envelope};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey, sha256};
use crate::time::NumericDate;

/// Longest grant lifetime: 400 days ("minutes to months").
pub const MAX_GRANT_LIFETIME: i64 = 400 * 86_400;
/// How far a grant's `iat` may lie ahead of the verifier's clock (clock skew). A grant dated
/// later is refused (`iat_in_future`), so a thief holding the key cannot mint grants dated after
/// a revocation that are already usable.
pub const MAX_GRANT_IAT_SKEW: i64 = 300;
/// Most peers a grant may name.
pub const MAX_PEERS: usize = 8;
/// Most explicit record ids a grant may name.
pub const MAX_RECORD_IDS: usize = 32;
/// Highest use limit.
pub const MAX_USES: u64 = 10_000;
/// Shortest passcode a bearer grant may be given (checked by the wallet that registers it).
pub const MIN_PASSCODE_CHARS: usize = 6;

const F_PATIENT_KEY: i64 = 2;
const F_PURPOSE: i64 = 3;
const F_CATEGORIES: i64 = 4;
const F_RECORDS: i64 = 5;
const F_WRITE: i64 = 6;
const F_PEERS: i64 = 7;
const F_USES: i64 = 8;
const F_PASSCODE: i64 = 9;
/// A delegate's grant: the COSE_Sign1 bytes of the delegation it is signed under (§16).
const F_DELEGATION: i64 = 10;

/// A record category a grant can cover (`docs/protocol.md` §6.1 gives the codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Prescriptions (code 1).
    Prescription = 1,
    /// Laboratory results (code 2).
    LabResult = 2,
    /// Diagnoses (code 3).
    Diagnosis = 3,
    /// Immunizations (code 4).
    Immunization = 4,
    /// Encounters: visits and admissions (code 5).
    Encounter = 5,
    /// Payments and bills (code 6).
    Payment = 6,
    /// Free-text clinical notes (code 7).
    Note = 7,
}

impl Category {
    /// Every category, in code order.
    pub const ALL: [Category; 7] = [
        Category::Prescription,
        Category::LabResult,
        Category::Diagnosis,
        Category::Immunization,
        Category::Encounter,
        Category::Payment,
        Category::Note,
    ];
    /// The category's code in the token (`docs/protocol.md` §6.1).
    pub fn code(self) -> u64 {
        self as u64
    }
    /// The category with this code; `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<Category> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Why the records are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Care by the audience (code 1).
    Treatment = 1,
    /// A visa medical examination (code 2).
    VisaMedical = 2,
    /// Emergency care (code 3).
    Emergency = 3,
    /// A referral to another doctor or hospital (code 4).
    Referral = 4,
    /// An insurance claim (code 5).
    Insurance = 5,
}

impl Purpose {
    /// Every purpose, in code order.
    pub const ALL: [Purpose; 5] = [
        Purpose::Treatment,
        Purpose::VisaMedical,
        Purpose::Emergency,
        Purpose::Referral,
        Purpose::Insurance,
    ];
    /// The purpose's code in the token (`docs/protocol.md` §6.1).
    pub fn code(self) -> u64 {
        self as u64
    }
    /// The purpose with this code; `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<Purpose> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Who may redeem the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    /// Only the holder of the key with this RFC 7638 thumbprint, proven on every request.
    Key {
        /// The RFC 7638 thumbprint of the audience's ES256 key.
        kid: String,
    },
    /// Whoever knows the passcode, once. The grant carries no trace of the passcode: the
    /// wallet registers its verifier ([`Grant::passcode_verifier`]) with each named peer by a
    /// patient-signed request, so a photo of the QR gives nothing to test offline.
    Bearer,
}

/// A grant (`docs/protocol.md` §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Unique id (`cti`), 16 random bytes.
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The patient's key, which signs the grant.
    #[serde(serialize_with = "ser::key")]
    pub patient_key: Es256PublicKey,
    /// Who may redeem it: one key holder, or whoever has the passcode (once).
    pub audience: Audience,
    /// Record categories covered (sorted, no repeats).
    pub categories: Vec<Category>,
    /// Explicit record ids covered, in addition to the categories.
    pub record_ids: Vec<String>,
    /// Whether the audience may add records (a prescription, a note).
    pub write: bool,
    /// Why the patient shares; shown to the patient and logged with each access.
    pub purpose: Purpose,
    /// When the patient signed it (`iat`).
    pub issued_at: NumericDate,
    /// Valid from (`nbf`).
    pub not_before: NumericDate,
    /// Valid until (`exp`); the lifetime is capped by `docs/protocol.md` §6.1.
    pub expires: NumericDate,
    /// How many times the grant may be redeemed; `None` is unlimited within its lifetime.
    pub use_limit: Option<u64>,
    /// The peers that hold the records: peer URLs (or peer ids from the trust list).
    pub peers: Vec<String>,
}

impl Grant {
    /// A fresh random grant id.
    pub fn new_id() -> Result<[u8; 16], TokenError> {
        Ok(crate::keys::random_bytes::<16>()?)
    }

    /// The verifier of a bearer grant's passcode that the wallet registers with each peer the
    /// grant names (never put in the grant):
    /// `SHA-256("spondon-grant-passcode-v2" ‖ 0x00 ‖ grant id ‖ UTF-8 passcode)`.
    pub fn passcode_verifier(id: &[u8; 16], passcode: &str) -> [u8; 32] {
        let mut input = b"spondon-grant-passcode-v2\0".to_vec();
        input.extend_from_slice(id);
        input.extend_from_slice(passcode.as_bytes());
        sha256(&input)
    }

    /// Whether `passcode` matches a registered `verifier` for grant `id` (constant time).
    pub fn passcode_matches(id: &[u8; 16], passcode: &str, verifier: &[u8; 32]) -> bool {
        let got = Self::passcode_verifier(id, passcode);
        got.iter()
            .zip(verifier.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Checks every rule the decoder checks, so that a signed grant always decodes.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_date(self.issued_at, "iat (6)")?;
        claims::check_date(self.not_before, "nbf (5)")?;
        claims::check_date(self.expires, "exp (4)")?;
        claims::check_lifetime(self.not_before, self.expires, MAX_GRANT_LIFETIME)?;
        // The lifetime is bounded from the issue time too: a grant is usable at most
        // MAX_GRANT_LIFETIME after it was (claims to be) made.
        let since_iat = self.expires.0.saturating_sub(self.issued_at.0);
        if since_iat > MAX_GRANT_LIFETIME {
            return Err(TokenError::LifetimeTooLong {
                lifetime: since_iat,
                max: MAX_GRANT_LIFETIME,
            });
        }
        if self.categories.is_empty() && self.record_ids.is_empty() {
            return Err(TokenError::MissingField("categories (4) or record ids (5)"));
        }
        if self.categories.len() > Category::ALL.len()
            || self.categories.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(TokenError::OutOfRange {
                field: "categories (4)",
                reason: "must be sorted by code without repeats".into(),
            });
        }
        if self.record_ids.len() > MAX_RECORD_IDS {
            return Err(TokenError::OutOfRange {
                field: "record ids (5)",
                reason: format!("at most {MAX_RECORD_IDS}"),
            });
        }
        for (i, r) in self.record_ids.iter().enumerate() {
            claims::check_text(r, "record ids (5)", claims::MAX_ID_LEN)?;
            if self.record_ids[..i].contains(r) {
                return Err(TokenError::OutOfRange {
                    field: "record ids (5)",
                    reason: "repeated id".into(),
                });
            }
        }
        if self.peers.is_empty() || self.peers.len() > MAX_PEERS {
            return Err(TokenError::OutOfRange {
                field: "peers (7)",
                reason: format!("must have 1..={MAX_PEERS}"),
            });
        }
        for (i, p) in self.peers.iter().enumerate() {
            check_peer(p)?;
            if self.peers[..i].contains(p) {
                return Err(TokenError::OutOfRange {
                    field: "peers (7)",
                    reason: "repeated peer".into(),
                });
            }
        }
        if let Some(n) = self.use_limit
            && !(1..=MAX_USES).contains(&n)
        {
            return Err(TokenError::OutOfRange {
                field: "use limit (8)",
                reason: format!("must be 1..={MAX_USES}"),
            });
        }
        match &self.audience {
            Audience::Key { kid } => {
                if crate::b64::decode_array::<32>(kid).is_none() {
                    return Err(TokenError::OutOfRange {
                        field: "cnf kid (8 / 3)",
                        reason: "must be an RFC 7638 SHA-256 thumbprint".into(),
                    });
                }
            }
            Audience::Bearer => {
                if self.use_limit != Some(1) {
                    return Err(TokenError::BearerGrantInvalid("the use limit must be 1"));
                }
            }
        }
        Ok(())
    }

    /// Signs the grant with the patient's key; returns the `SPONDON:1:` text.
    pub fn sign(&self, patient: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        if patient.public_key() != &self.patient_key {
            return Err(TokenError::Invalid(
                "the signing key is not the grant's patient key",
            ));
        }
        super::sign_text(patient, None, self.payload(None)?, super::MAX_QR_TEXT)
    }

    /// Signs the grant with a delegate's key under `delegation` (a delegation token text whose
    /// delegate key is `delegate`'s): the grant embeds the delegation, so it carries the
    /// patient's signature and the delegate's (`docs/protocol.md` §16). The grant must stay
    /// inside the delegation ([`super::Delegation::check_grant`], `delegation_exceeded`).
    pub fn sign_as_delegate(
        &self,
        delegate: &Es256KeyPair,
        delegation: &str,
    ) -> Result<String, TokenError> {
        self.validate()?;
        let cose = super::raw::from_text(delegation.trim_matches(['\r', '\n']))?;
        let embedded = super::delegation::Embedded::decode(cose)?;
        if delegate.public_key() != &embedded.delegation.delegate_key {
            return Err(TokenError::Invalid(
                "the signing key is not the delegation's delegate key",
            ));
        }
        embedded.delegation.check_grant(self)?;
        let payload = self.payload(Some(cbor::bytes(&embedded.cose)))?;
        super::sign_text(delegate, None, payload, super::MAX_QR_TEXT)
    }

    fn payload(&self, delegation: Option<ciborium::Value>) -> Result<Vec<u8>, TokenError> {
        let (cnf, passcode) = match &self.audience {
            Audience::Key { kid } => {
                let raw = crate::b64::decode_array::<32>(kid)
                    .ok_or(TokenError::Invalid("audience kid"))?;
                (Some(cbor::int_map(vec![(3, cbor::bytes(&raw))])), None)
            }
            Audience::Bearer => (None, Some(ciborium::Value::Bool(true))),
        };
        ClaimsBuilder::new(TokenKind::Grant)
            .date(claims::CLAIM_EXP, self.expires)
            .date(claims::CLAIM_NBF, self.not_before)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(claims::CLAIM_CTI, cbor::bytes(&self.id))
            .opt_claim(claims::CLAIM_CNF, cnf)
            .field(F_PATIENT_KEY, cbor::bytes(self.patient_key.sec1()))
            .field(F_PURPOSE, cbor::uint(self.purpose.code()))
            .opt_field(
                F_CATEGORIES,
                (!self.categories.is_empty()).then(|| {
                    ciborium::Value::Array(
                        self.categories
                            .iter()
                            .map(|c| cbor::uint(c.code()))
                            .collect(),
                    )
                }),
            )
            .opt_field(
                F_RECORDS,
                (!self.record_ids.is_empty()).then(|| {
                    ciborium::Value::Array(self.record_ids.iter().map(|r| cbor::text(r)).collect())
                }),
            )
            .opt_field(F_WRITE, self.write.then_some(ciborium::Value::Bool(true)))
            .field(
                F_PEERS,
                ciborium::Value::Array(self.peers.iter().map(|p| cbor::text(p)).collect()),
            )
            .opt_field(F_USES, self.use_limit.map(cbor::uint))
            .opt_field(F_PASSCODE, passcode)
            .opt_field(F_DELEGATION, delegation)
            .encode()
    }

    /// The grant and, for a delegate's grant, the embedded delegation's COSE bytes (field 10).
    pub(crate) fn from_envelope(mut env: Envelope) -> Result<(Grant, Option<Vec<u8>>), TokenError> {
        if env.iss.is_some() {
            return Err(TokenError::UnknownField("iss (1) in a grant".into()));
        }
        if env.sub.is_some() {
            return Err(TokenError::UnknownField("sub (2) in a grant".into()));
        }
        let f = &mut env.fields;
        let patient_key = claims::parse_sec1(
            f.require(F_PATIENT_KEY.into(), "patient key (-65537 / 2)")?,
            "patient key",
        )?;
        let purpose_code = cbor::as_uint(
            f.require(F_PURPOSE.into(), "purpose (-65537 / 3)")?,
            "purpose",
            1,
            u64::MAX,
        )?;
        let purpose = Purpose::from_code(purpose_code).ok_or_else(|| TokenError::OutOfRange {
            field: "purpose (-65537 / 3)",
            reason: format!("unknown purpose code {purpose_code}"),
        })?;
        let categories = match f.take(F_CATEGORIES.into()) {
            None => Vec::new(),
            Some(v) => cbor::as_array(v, "categories (-65537 / 4)", 1, Category::ALL.len())?
                .into_iter()
                .map(|c| {
                    let code = cbor::as_uint(c, "categories (-65537 / 4)", 1, u64::MAX)?;
                    Category::from_code(code).ok_or_else(|| TokenError::OutOfRange {
                        field: "categories (-65537 / 4)",
                        reason: format!("unknown category code {code}"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let record_ids = match f.take(F_RECORDS.into()) {
            None => Vec::new(),
            Some(v) => cbor::as_array(v, "record ids (-65537 / 5)", 1, MAX_RECORD_IDS)?
                .into_iter()
                .map(|r| cbor::as_text(r, "record ids (-65537 / 5)", claims::MAX_ID_LEN))
                .collect::<Result<_, _>>()?,
        };
        let write = match f.take(F_WRITE.into()) {
            None => false,
            Some(v) => {
                if !cbor::as_bool(v, "write (-65537 / 6)")? {
                    return Err(TokenError::OutOfRange {
                        field: "write (-65537 / 6)",
                        reason: "is omitted rather than false".into(),
                    });
                }
                true
            }
        };
        let peers = cbor::as_array(
            f.require(F_PEERS.into(), "peers (-65537 / 7)")?,
            "peers (-65537 / 7)",
            1,
            MAX_PEERS,
        )?
        .into_iter()
        .map(|p| cbor::as_text(p, "peers (-65537 / 7)", 256))
        .collect::<Result<_, _>>()?;
        let use_limit = f
            .take(F_USES.into())
            .map(|v| cbor::as_uint(v, "use limit (-65537 / 8)", 1, MAX_USES))
            .transpose()?;
        let passcode = match f.take(F_PASSCODE.into()) {
            None => None,
            Some(v) => {
                if !cbor::as_bool(v, "passcode (-65537 / 9)")? {
                    return Err(TokenError::OutOfRange {
                        field: "passcode (-65537 / 9)",
                        reason: "is omitted rather than false".into(),
                    });
                }
                Some(())
            }
        };
        let delegation = f
            .take(F_DELEGATION.into())
            .map(|v| cbor::as_bytes(v, "delegation (-65537 / 10)"))
            .transpose()?;
        f.deny_rest("the grant's Spondon claim")?;
        let audience = match (env.cnf, passcode) {
            (Some(Cnf::Kid(kid)), None) => Audience::Key {
                kid: crate::b64::encode(kid),
            },
            (Some(Cnf::Kid(_)), Some(_)) => {
                return Err(TokenError::BearerGrantInvalid(
                    "a key-bound grant has no passcode",
                ));
            }
            (Some(Cnf::Key(_)), _) => {
                return Err(TokenError::Invalid(
                    "a grant's cnf holds a kid (3), not a key",
                ));
            }
            (None, Some(())) => Audience::Bearer,
            (None, None) => {
                return Err(TokenError::BearerGrantInvalid("no cnf and no passcode"));
            }
        };
        let grant = Grant {
            id: cti16(env.cti)?,
            patient_key,
            audience,
            categories,
            record_ids,
            write,
            purpose,
            issued_at: env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
            not_before: env.nbf.ok_or(TokenError::MissingField("nbf (5)"))?,
            expires: env.exp.ok_or(TokenError::MissingField("exp (4)"))?,
            use_limit,
            peers,
        };
        grant.validate()?;
        Ok((grant, delegation))
    }

    /// Parses and verifies a grant text: signature by the embedded patient key, time.
    pub fn decode_and_verify(text: &str, now: NumericDate) -> Result<Grant, TokenError> {
        let parsed = super::decode_any(text)?;
        parsed.verify(&super::TrustAnchors::default(), now)?;
        match parsed.claims {
            super::TokenClaims::Grant(g) => Ok(g),
            other => Err(TokenError::KindMismatch {
                expected: "grant",
                found: other.kind().name(),
            }),
        }
    }

    /// Parses and verifies a grant text like [`Grant::decode_and_verify`], and returns the
    /// delegation a delegate's grant is signed under (already checked: its signature by the
    /// patient key, its time, and that the grant stays inside it), `None` for a patient's own
    /// grant. A peer then checks the delegation is registered and not revoked (§16).
    pub fn decode_and_verify_delegated(
        text: &str,
        now: NumericDate,
    ) -> Result<(Grant, Option<super::Delegation>), TokenError> {
        let parsed = super::decode_any(text)?;
        parsed.verify(&super::TrustAnchors::default(), now)?;
        let delegation = parsed.delegation().cloned();
        match parsed.claims {
            super::TokenClaims::Grant(g) => Ok((g, delegation)),
            other => Err(TokenError::KindMismatch {
                expected: "grant",
                found: other.kind().name(),
            }),
        }
    }

    /// Whether this grant covers a record of `category` with id `record_id`.
    pub fn covers(&self, category: Category, record_id: &str) -> bool {
        self.categories.contains(&category) || self.record_ids.iter().any(|r| r == record_id)
    }

    pub(crate) fn signer(&self) -> &Es256PublicKey {
        &self.patient_key
    }
}

pub(crate) fn cti16(cti: Option<Vec<u8>>) -> Result<[u8; 16], TokenError> {
    let cti = cti.ok_or(TokenError::MissingField("cti (7)"))?;
    cti.try_into().map_err(|_| TokenError::OutOfRange {
        field: "cti (7)",
        reason: "must be 16 bytes".into(),
    })
}

/// A peer is a URL (`https://…`) or a peer id from the trust list (`[a-z0-9.-]{1,64}`).
pub(crate) fn check_peer(p: &str) -> Result<(), TokenError> {
    if p.contains("://") {
        return claims::check_url(p, "peers (7)");
    }
    if p.is_empty()
        || p.len() > 64
        || !p
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return Err(TokenError::OutOfRange {
            field: "peers (7)",
            reason: "a peer is an https URL or an id of [a-z0-9.-]{1,64}".into(),
        });
    }
    Ok(())
}
