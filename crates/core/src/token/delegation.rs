//! The delegation (kind 8): a patient lets a family member's key act for them — see the
//! patient's records (`view`), share them with a doctor (`share`), or manage the wallet
//! (`manage`) — until an expiry. A delegate's grant embeds the delegation, so it carries both
//! signatures (`docs/protocol.md` §16).

use serde::Serialize;

use super::cbor;
use super::claims::{self, ClaimsBuilder, Cnf, Envelope};
use super::grant::{Category, check_peer};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

/// Longest delegation lifetime: 400 days, like a grant (a guardian renews it yearly).
pub const MAX_DELEGATION_LIFETIME: i64 = 400 * 86_400;
/// Most guardians a minor's delegation names.
pub const MAX_GUARDIANS: usize = 2;

const F_PATIENT_KEY: i64 = 2;
const F_SCOPES: i64 = 3;
const F_CATEGORIES: i64 = 4;
const F_PEERS: i64 = 7;
const F_GUARDIANS: i64 = 10;

/// What a delegate may do for the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Pull and read the patient's records (with the delegate's own key) and their receipts.
    View = 1,
    /// Sign grants for the patient (each embeds this delegation).
    Share = 2,
    /// Manage: write grants, revoke the patient's grants.
    Manage = 3,
}

impl Scope {
    /// Every scope, in code order.
    pub const ALL: [Scope; 3] = [Scope::View, Scope::Share, Scope::Manage];
    /// The scope's code in the token (`docs/protocol.md` §16).
    pub fn code(self) -> u64 {
        self as u64
    }
    /// The scope with this code; `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<Scope> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
    /// `view`, `share`, `manage`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::View => "view",
            Scope::Share => "share",
            Scope::Manage => "manage",
        }
    }
    /// The scope named `name` (`view`, `share`, `manage`).
    pub fn from_name(name: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A delegation (`docs/protocol.md` §16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// Unique id (`cti`), 16 random bytes; a revocation (kind 2) naming it withdraws it.
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The patient's key, which signs the delegation.
    #[serde(serialize_with = "ser::key")]
    pub patient_key: Es256PublicKey,
    /// The delegate's key (`cnf`).
    #[serde(serialize_with = "ser::key")]
    pub delegate_key: Es256PublicKey,
    /// What the delegate may do (sorted, no repeats).
    pub scopes: Vec<Scope>,
    /// The categories the delegate may see and share; empty: every category.
    pub categories: Vec<Category>,
    /// The peers the delegation is for.
    pub peers: Vec<String>,
    /// For a minor: the RFC 7638 thumbprints of the guardians' keys (1–2), who all see the
    /// patient's receipts; the delegate is one of them. Empty for an adult.
    pub guardians: Vec<String>,
    /// When the patient signed it (`iat`).
    pub issued_at: NumericDate,
    /// Valid from (`nbf`).
    pub not_before: NumericDate,
    /// Valid until (`exp`); a delegate's grants must end by then.
    pub expires: NumericDate,
}

impl Delegation {
    /// A fresh random delegation id.
    pub fn new_id() -> Result<[u8; 16], TokenError> {
        Ok(crate::keys::random_bytes::<16>()?)
    }

    /// Whether the delegation grants `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether the patient is a minor (the delegation names guardians).
    pub fn is_minor(&self) -> bool {
        !self.guardians.is_empty()
    }

    /// Whether the delegation covers records of `category` (no categories: all of them).
    pub fn covers_category(&self, category: Category) -> bool {
        self.categories.is_empty() || self.categories.contains(&category)
    }

    /// Checks every rule the decoder checks, so that a signed delegation always decodes.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_date(self.issued_at, "iat (6)")?;
        claims::check_date(self.not_before, "nbf (5)")?;
        claims::check_date(self.expires, "exp (4)")?;
        claims::check_lifetime(self.not_before, self.expires, MAX_DELEGATION_LIFETIME)?;
        let since_iat = self.expires.0.saturating_sub(self.issued_at.0);
        if since_iat > MAX_DELEGATION_LIFETIME {
            return Err(TokenError::LifetimeTooLong {
                lifetime: since_iat,
                max: MAX_DELEGATION_LIFETIME,
            });
        }
        if self.scopes.is_empty()
            || self.scopes.len() > Scope::ALL.len()
            || self.scopes.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(TokenError::OutOfRange {
                field: "scopes (3)",
                reason: "1 to 3 scopes, sorted by code without repeats".into(),
            });
        }
        if self.categories.len() > Category::ALL.len()
            || self.categories.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(TokenError::OutOfRange {
                field: "categories (4)",
                reason: "must be sorted by code without repeats".into(),
            });
        }
        if self.peers.is_empty() || self.peers.len() > super::MAX_PEERS {
            return Err(TokenError::OutOfRange {
                field: "peers (7)",
                reason: format!("must have 1..={}", super::MAX_PEERS),
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
        if self.guardians.len() > MAX_GUARDIANS {
            return Err(TokenError::OutOfRange {
                field: "guardians (10)",
                reason: format!("at most {MAX_GUARDIANS}"),
            });
        }
        for (i, g) in self.guardians.iter().enumerate() {
            if crate::b64::decode_array::<32>(g).is_none() {
                return Err(TokenError::OutOfRange {
                    field: "guardians (10)",
                    reason: "must be RFC 7638 SHA-256 thumbprints".into(),
                });
            }
            if self.guardians[..i].contains(g) {
                return Err(TokenError::OutOfRange {
                    field: "guardians (10)",
                    reason: "repeated guardian".into(),
                });
            }
        }
        if !self.guardians.is_empty()
            && !self.guardians.iter().any(|g| g == self.delegate_key.kid())
        {
            return Err(TokenError::Invalid(
                "a minor's delegate must be one of the guardians",
            ));
        }
        if self.delegate_key == self.patient_key {
            return Err(TokenError::Invalid(
                "a patient cannot delegate to their own key",
            ));
        }
        Ok(())
    }

    /// Signs the delegation with the patient's key; returns the `SPONDON:1:` text.
    pub fn sign(&self, patient: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        if patient.public_key() != &self.patient_key {
            return Err(TokenError::Invalid(
                "the signing key is not the delegation's patient key",
            ));
        }
        let guardians = self
            .guardians
            .iter()
            .map(|g| {
                crate::b64::decode_array::<32>(g)
                    .map(|raw| cbor::bytes(&raw))
                    .ok_or(TokenError::Invalid("guardian kid"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let payload = ClaimsBuilder::new(TokenKind::Delegation)
            .date(claims::CLAIM_EXP, self.expires)
            .date(claims::CLAIM_NBF, self.not_before)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(claims::CLAIM_CTI, cbor::bytes(&self.id))
            .claim(
                claims::CLAIM_CNF,
                cbor::int_map(vec![(1, claims::cose_key(&self.delegate_key))]),
            )
            .field(F_PATIENT_KEY, cbor::bytes(self.patient_key.sec1()))
            .field(
                F_SCOPES,
                ciborium::Value::Array(self.scopes.iter().map(|s| cbor::uint(s.code())).collect()),
            )
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
            .field(
                F_PEERS,
                ciborium::Value::Array(self.peers.iter().map(|p| cbor::text(p)).collect()),
            )
            .opt_field(
                F_GUARDIANS,
                (!guardians.is_empty()).then_some(ciborium::Value::Array(guardians)),
            )
            .encode()?;
        super::sign_text(patient, None, payload, super::MAX_QR_TEXT)
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<Delegation, TokenError> {
        if env.iss.is_some() {
            return Err(TokenError::UnknownField("iss (1) in a delegation".into()));
        }
        if env.sub.is_some() {
            return Err(TokenError::UnknownField("sub (2) in a delegation".into()));
        }
        let delegate_key = match env.cnf {
            Some(Cnf::Key(k)) => k,
            Some(Cnf::Kid(_)) => {
                return Err(TokenError::Invalid(
                    "a delegation's cnf holds the delegate's key (1), not a kid",
                ));
            }
            None => return Err(TokenError::MissingField("cnf (8): the delegate's key")),
        };
        let f = &mut env.fields;
        let patient_key = claims::parse_sec1(
            f.require(F_PATIENT_KEY.into(), "patient key (-65537 / 2)")?,
            "patient key",
        )?;
        let scopes = cbor::as_array(
            f.require(F_SCOPES.into(), "scopes (-65537 / 3)")?,
            "scopes (-65537 / 3)",
            1,
            Scope::ALL.len(),
        )?
        .into_iter()
        .map(|c| {
            let code = cbor::as_uint(c, "scopes (-65537 / 3)", 1, u64::MAX)?;
            Scope::from_code(code).ok_or_else(|| TokenError::OutOfRange {
                field: "scopes (-65537 / 3)",
                reason: format!("unknown scope code {code}"),
            })
        })
        .collect::<Result<_, _>>()?;
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
        let peers = cbor::as_array(
            f.require(F_PEERS.into(), "peers (-65537 / 7)")?,
            "peers (-65537 / 7)",
            1,
            super::MAX_PEERS,
        )?
        .into_iter()
        .map(|p| cbor::as_text(p, "peers (-65537 / 7)", 256))
        .collect::<Result<_, _>>()?;
        let guardians = match f.take(F_GUARDIANS.into()) {
            None => Vec::new(),
            Some(v) => cbor::as_array(v, "guardians (-65537 / 10)", 1, MAX_GUARDIANS)?
                .into_iter()
                .map(|g| {
                    cbor::as_byte_array::<32>(g, "guardians (-65537 / 10)").map(crate::b64::encode)
                })
                .collect::<Result<_, _>>()?,
        };
        f.deny_rest("the delegation's Spondon claim")?;
        let d = Delegation {
            id: super::grant::cti16(env.cti)?,
            patient_key,
            delegate_key,
            scopes,
            categories,
            peers,
            guardians,
            issued_at: env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
            not_before: env.nbf.ok_or(TokenError::MissingField("nbf (5)"))?,
            expires: env.exp.ok_or(TokenError::MissingField("exp (4)"))?,
        };
        d.validate()?;
        Ok(d)
    }

    /// Parses and verifies a delegation text: signature by the embedded patient key, time.
    pub fn decode_and_verify(text: &str, now: NumericDate) -> Result<Delegation, TokenError> {
        let parsed = super::decode_any(text)?;
        parsed.verify(&super::TrustAnchors::default(), now)?;
        match parsed.claims {
            super::TokenClaims::Delegation(d) => Ok(d),
            other => Err(TokenError::KindMismatch {
                expected: "delegation",
                found: other.kind().name(),
            }),
        }
    }

    /// Checks that a grant a delegate signs stays inside this delegation: same patient, the
    /// `share` scope (and `manage` for a write grant), categories within the delegation's,
    /// peers among its peers, and a lifetime within its own (`delegation_exceeded`).
    pub fn check_grant(&self, grant: &super::Grant) -> Result<(), TokenError> {
        if grant.patient_key != self.patient_key {
            return Err(TokenError::DelegationMismatch);
        }
        if !self.allows(Scope::Share) {
            return Err(TokenError::DelegationExceeded(
                "the delegation has no share scope",
            ));
        }
        if grant.write && !self.allows(Scope::Manage) {
            return Err(TokenError::DelegationExceeded(
                "a write grant needs the manage scope",
            ));
        }
        if !grant.categories.iter().all(|c| self.covers_category(*c)) {
            return Err(TokenError::DelegationExceeded(
                "a category outside the delegation's",
            ));
        }
        if !grant.peers.iter().all(|p| self.peers.contains(p)) {
            return Err(TokenError::DelegationExceeded(
                "a peer the delegation does not name",
            ));
        }
        if grant.not_before < self.not_before
            || grant.expires > self.expires
            || grant.issued_at < self.issued_at
        {
            return Err(TokenError::DelegationExceeded(
                "the grant's lifetime is not within the delegation's",
            ));
        }
        Ok(())
    }
}

/// The delegation a delegate's grant embeds (grant field 10), decoded, with its signature still
/// to be checked against its patient key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Embedded {
    pub delegation: Delegation,
    pub sign1: super::cose::Sign1,
    /// The embedded COSE bytes, to be re-emitted as the delegation's text.
    pub cose: Vec<u8>,
}

impl Embedded {
    /// Decodes grant field 10: the COSE_Sign1 bytes of a delegation token.
    pub(crate) fn decode(cose: Vec<u8>) -> Result<Embedded, TokenError> {
        let sign1 = super::cose::decode(&cose)?;
        let env = claims::parse(&sign1.payload)?;
        if env.kind != TokenKind::Delegation {
            return Err(TokenError::KindMismatch {
                expected: "delegation",
                found: env.kind.name(),
            });
        }
        let delegation = Delegation::from_envelope(env)?;
        if let Some(kid) = &sign1.kid
            && kid[..] != claims::kid_bytes(&delegation.patient_key)[..]
        {
            return Err(TokenError::KidMismatch);
        }
        Ok(Embedded {
            delegation,
            sign1,
            cose,
        })
    }

    /// The delegation's signature by its patient key and its time (`nbf ≤ now < exp`, `iat`
    /// at most 300 s ahead).
    pub(crate) fn verify(&self, now: NumericDate) -> Result<(), TokenError> {
        self.sign1
            .verify_with(&self.delegation.patient_key)
            .map_err(|_| TokenError::BadDelegationSignature)?;
        check_time(&self.delegation, now)
    }

    /// The token text of the embedded delegation.
    pub(crate) fn text(&self) -> String {
        super::raw::to_text(&self.cose)
    }
}

/// `nbf ≤ now < exp`, and `iat` not more than 300 s after `now`.
pub(crate) fn check_time(d: &Delegation, now: NumericDate) -> Result<(), TokenError> {
    if d.issued_at.0 > now.0.saturating_add(super::MAX_GRANT_IAT_SKEW) {
        return Err(TokenError::IssuedInFuture {
            iat: d.issued_at.0,
            now: now.0,
        });
    }
    claims::check_time(Some(d.not_before), Some(d.expires), now)
}
