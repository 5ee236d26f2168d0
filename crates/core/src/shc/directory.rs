//! Trusted issuers: who may sign cards, with which keys, and which cards they revoked.
//!
//! Input is the VCI directory format
//! `{"issuerInfo":[{"issuer":{"iss","name"},"keys":[JWK…],"crls":[CRL…]}]}` (a snapshot of the
//! VCI directory), the older participant list `{"participating_issuers":[{"iss","name"}]}`, or
//! programmatic additions: the wallet fetches `<iss>/.well-known/jwks.json` and
//! `<iss>/.well-known/crl/<kid>.json` itself and hands the text to
//! [`Directory::add_jwks_json`] / [`Directory::add_crl_json`]. Core does no I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MAX_INPUT_LEN, ShcError, check_len, parse_rid};
use crate::keys::{Es256PublicKey, Es256Verifier, Jwk, Jwks};

/// Most issuers / keys / CRL entries accepted from one document (bounds memory on hostile input).
const MAX_ISSUERS: usize = 10_000;
const MAX_KEYS_PER_ISSUER: usize = 1_000;

/// A Card Revocation List as published at `<iss>/.well-known/crl/<kid>.json`. Stored as given
/// and judged when a card needs it ([`ParsedCard::verify`](super::ParsedCard::verify)), so that a
/// bad list rejects exactly the cards of its key, with a specific reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Crl {
    /// The key id the list is for; must equal the `kid` in the URL (checked when used).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub kid: Value,
    /// The revocation method; only `rid` is defined.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub method: Value,
    /// The list's version counter; must reach the key's `crlVersion` (checked when used).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub ctr: Value,
    /// The revoked `rid`s, each optionally `.<timestamp>` (revoked if issued before it).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub rids: Value,
}

impl Crl {
    /// Parses CRL JSON (must be an object; members are judged later).
    pub fn from_json(text: &str) -> Result<Crl, ShcError> {
        check_len(text, MAX_INPUT_LEN)?;
        serde_json::from_str(text)
            .map_err(|e| ShcError::CrlInvalid(format!("not a JSON object: {e}")))
    }

    /// The `kid` this list is for, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_str()
    }
}

/// Checks a CRL for the key `kid` (with the key's `crlVersion`) and returns its entries as
/// `(rid, optional timestamp)`.
pub(crate) fn check_crl(
    crl: &Crl,
    kid: &str,
    crl_version: Option<u64>,
) -> Result<Vec<(String, Option<i64>)>, ShcError> {
    match crl.kid.as_str() {
        Some(k) if k == kid => {}
        _ => {
            return Err(ShcError::CrlKidMismatch {
                crl: crate::shc::jws_value_text(&crl.kid),
                key: kid.to_owned(),
            });
        }
    }
    match crl.method.as_str() {
        Some("rid") => {}
        _ => {
            return Err(ShcError::CrlBadMethod(crate::shc::jws_value_text(
                &crl.method,
            )));
        }
    }
    let ctr = crl.ctr.as_u64().filter(|c| *c >= 1);
    match (ctr, crl_version) {
        (None, _) => {
            return Err(ShcError::CrlInvalid(format!(
                "\"ctr\" {} is not a positive integer",
                crl.ctr
            )));
        }
        (Some(c), Some(v)) if c != v => {
            return Err(ShcError::CrlVersionMismatch {
                ctr: c.to_string(),
                crl_version: v,
            });
        }
        _ => {}
    }
    let Value::Array(items) = &crl.rids else {
        return Err(ShcError::CrlInvalid("\"rids\" is not an array".into()));
    };
    let mut out: Vec<(String, Option<i64>)> = Vec::with_capacity(items.len());
    for item in items {
        let Some(s) = item.as_str() else {
            return Err(ShcError::CrlBadRid(item.to_string()));
        };
        let (rid, ts) = parse_rid(s).map_err(|_| ShcError::CrlBadRid(s.to_owned()))?;
        if out.iter().any(|(r, _)| r == rid) {
            return Err(ShcError::CrlDuplicateRid(rid.to_owned()));
        }
        out.push((rid.to_owned(), ts));
    }
    Ok(out)
}

/// One trusted issuer.
#[derive(Debug, Clone, Default)]
pub struct IssuerEntry {
    /// The issuer URL exactly as cards carry it in `iss`.
    pub iss: String,
    /// Display name.
    pub name: Option<String>,
    /// Its published keys (the JWKS), as given; each is judged when a card uses it.
    pub keys: Vec<Jwk>,
    /// Its revocation lists (one per kid).
    pub crls: Vec<Crl>,
    /// What every card of this issuer needs judged, judged once (on first use after the entry
    /// last changed): see [`Prepared`].
    prepared: OnceLock<Prepared>,
}

impl PartialEq for IssuerEntry {
    fn eq(&self, other: &Self) -> bool {
        // The prepared judgements follow from the rest.
        self.iss == other.iss
            && self.name == other.name
            && self.keys == other.keys
            && self.crls == other.crls
    }
}

/// The judgements of an issuer's URL, keys and revocation lists that do not depend on the card:
/// made once per issuer instead of once per card, with exactly the outcomes (errors included)
/// the per-card checks had. A bad key or list still rejects exactly the cards that use it.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// [`check_iss`](super::jws::check_iss) of the issuer URL.
    pub(crate) iss: Result<(), ShcError>,
    /// One per key of [`IssuerEntry::keys`], in its order.
    pub(crate) keys: Vec<PreparedKey>,
}

/// One key's judgements.
#[derive(Debug, Clone)]
pub(crate) struct PreparedKey {
    /// [`validate_issuer_key`](super::jws::validate_issuer_key), and the key made ready to
    /// verify (aws-lc-rs decodes the point once, not per card).
    pub(crate) key: Result<(Es256PublicKey, Es256Verifier), ShcError>,
    /// `None` when no list is loaded for the key's kid; else [`check_crl`] of the list with the
    /// highest `ctr`, as revoked rid → optional timestamp.
    pub(crate) crl: Option<Result<HashMap<String, Option<i64>>, ShcError>>,
}

impl IssuerEntry {
    /// The key with this `kid`.
    pub fn key(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
    /// The position in [`IssuerEntry::keys`] of the key with this `kid`.
    pub(crate) fn key_index(&self, kid: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.kid.as_deref() == Some(kid))
    }
    /// The CRL for this `kid` (the one with the highest `ctr` if several were added).
    pub fn crl(&self, kid: &str) -> Option<&Crl> {
        self.crls
            .iter()
            .filter(|c| c.kid() == Some(kid))
            .max_by_key(|c| c.ctr.as_u64().unwrap_or(0))
    }

    /// The judgements of this issuer's URL, keys and lists, made on first use.
    pub(crate) fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| Prepared {
            iss: super::jws::check_iss(&self.iss),
            keys: self
                .keys
                .iter()
                .map(|jwk| {
                    let kid = jwk.kid.as_deref().unwrap_or_default();
                    PreparedKey {
                        key: super::jws::validate_issuer_key(jwk).map(|key| {
                            let verifier = key.verifier();
                            (key, verifier)
                        }),
                        crl: jwk.kid.as_deref().and_then(|kid| self.crl(kid)).map(|crl| {
                            check_crl(crl, kid, jwk.crl_version)
                                .map(|list| list.into_iter().collect())
                        }),
                    }
                })
                .collect(),
        })
    }

    /// Forgets the judgements (the entry changed).
    fn changed(&mut self) {
        self.prepared = OnceLock::new();
    }
}

#[derive(Deserialize)]
struct VciDoc {
    #[serde(rename = "issuerInfo")]
    issuer_info: Option<Vec<VciIssuerInfo>>,
    participating_issuers: Option<Vec<VciIssuer>>,
}

#[derive(Deserialize, Serialize)]
struct VciIssuerInfo {
    issuer: VciIssuer,
    #[serde(default)]
    keys: Vec<Jwk>,
    #[serde(default)]
    crls: Vec<Crl>,
}

#[derive(Deserialize, Serialize)]
struct VciIssuer {
    iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// The set of trusted issuers, their keys and CRLs, and optional X.509 trust anchors.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    issuers: BTreeMap<String, IssuerEntry>,
    anchors: Vec<Vec<u8>>,
}

impl Directory {
    /// An empty directory: trusts nobody.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a VCI directory (`issuerInfo`) or participant list (`participating_issuers`).
    pub fn from_json(text: &str) -> Result<Directory, ShcError> {
        let mut d = Directory::new();
        d.merge_json(text)?;
        Ok(d)
    }

    /// Adds the issuers of a VCI directory document to this one.
    pub fn merge_json(&mut self, text: &str) -> Result<(), ShcError> {
        check_len(text, MAX_INPUT_LEN)?;
        let doc: VciDoc =
            serde_json::from_str(text).map_err(|e| ShcError::BadDirectory(e.to_string()))?;
        if doc.issuer_info.is_none() && doc.participating_issuers.is_none() {
            return Err(ShcError::BadDirectory(
                "neither \"issuerInfo\" nor \"participating_issuers\" is present".into(),
            ));
        }
        for info in doc.issuer_info.unwrap_or_default() {
            self.add_issuer(&info.issuer.iss, info.issuer.name.as_deref())?;
            for key in info.keys {
                self.add_key(&info.issuer.iss, key)?;
            }
            for crl in info.crls {
                self.add_crl(&info.issuer.iss, crl)?;
            }
        }
        for issuer in doc.participating_issuers.unwrap_or_default() {
            self.add_issuer(&issuer.iss, issuer.name.as_deref())?;
        }
        Ok(())
    }

    /// Trusts `iss` (with no keys yet). Keeps existing keys; sets the name if given.
    pub fn add_issuer(&mut self, iss: &str, name: Option<&str>) -> Result<(), ShcError> {
        if !self.issuers.contains_key(iss) && self.issuers.len() >= MAX_ISSUERS {
            return Err(ShcError::BadDirectory(format!(
                "more than {MAX_ISSUERS} issuers"
            )));
        }
        let entry = self
            .issuers
            .entry(iss.to_owned())
            .or_insert_with(|| IssuerEntry {
                iss: iss.to_owned(),
                ..IssuerEntry::default()
            });
        if let Some(n) = name {
            entry.name = Some(n.to_owned());
            entry.changed();
        }
        Ok(())
    }

    /// Adds one key to `iss` (trusting `iss`). A key with the same `kid` is replaced.
    pub fn add_key(&mut self, iss: &str, key: Jwk) -> Result<(), ShcError> {
        self.add_issuer(iss, None)?;
        let entry = self
            .issuers
            .get_mut(iss)
            .ok_or_else(|| ShcError::BadDirectory("issuer vanished".into()))?;
        if entry.keys.len() >= MAX_KEYS_PER_ISSUER {
            return Err(ShcError::BadJwks(format!(
                "more than {MAX_KEYS_PER_ISSUER} keys"
            )));
        }
        if key.kid.is_some() {
            entry.keys.retain(|k| k.kid != key.kid);
        }
        entry.keys.push(key);
        entry.changed();
        Ok(())
    }

    /// Adds the keys of a JWKS document (`<iss>/.well-known/jwks.json`) to `iss`.
    pub fn add_jwks_json(&mut self, iss: &str, text: &str) -> Result<(), ShcError> {
        check_len(text, MAX_INPUT_LEN)?;
        let jwks: Jwks =
            serde_json::from_str(text).map_err(|e| ShcError::BadJwks(e.to_string()))?;
        self.add_jwks(iss, jwks)
    }

    /// Adds the keys of a JWKS to `iss`.
    pub fn add_jwks(&mut self, iss: &str, jwks: Jwks) -> Result<(), ShcError> {
        self.add_issuer(iss, None)?;
        for key in jwks.keys {
            self.add_key(iss, key)?;
        }
        Ok(())
    }

    /// Adds a CRL (`<iss>/.well-known/crl/<kid>.json`) to `iss`.
    pub fn add_crl_json(&mut self, iss: &str, text: &str) -> Result<(), ShcError> {
        let crl = Crl::from_json(text)?;
        self.add_crl(iss, crl)
    }

    /// Adds a CRL to `iss`. A list for the same kid with a lower or equal `ctr` is replaced.
    pub fn add_crl(&mut self, iss: &str, crl: Crl) -> Result<(), ShcError> {
        self.add_issuer(iss, None)?;
        let entry = self
            .issuers
            .get_mut(iss)
            .ok_or_else(|| ShcError::BadDirectory("issuer vanished".into()))?;
        if entry.crls.len() >= MAX_KEYS_PER_ISSUER {
            return Err(ShcError::CrlInvalid(format!(
                "more than {MAX_KEYS_PER_ISSUER} lists"
            )));
        }
        let new_ctr = crl.ctr.as_u64().unwrap_or(0);
        entry
            .crls
            .retain(|c| !(c.kid == crl.kid && c.ctr.as_u64().unwrap_or(0) <= new_ctr));
        entry.crls.push(crl);
        entry.changed();
        Ok(())
    }

    /// Adds an X.509 trust anchor (DER certificate). When any anchor is configured, an `x5c`
    /// chain must end at one of them; otherwise the chain's own last certificate is its anchor
    /// (as the SMART validator does).
    pub fn add_trust_anchor_der(&mut self, der: Vec<u8>) {
        self.anchors.push(der);
    }

    /// The configured X.509 trust anchors.
    pub fn trust_anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// The entry of `iss`, if trusted.
    pub fn issuer(&self, iss: &str) -> Option<&IssuerEntry> {
        self.issuers.get(iss)
    }

    /// All trusted issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &IssuerEntry> {
        self.issuers.values()
    }

    /// The issuer whose key set holds `kid`, if any (used only to explain a mismatch; keys are
    /// never looked up across issuers).
    pub fn kid_owner(&self, kid: &str) -> Option<&str> {
        self.issuers
            .values()
            .find(|e| e.key(kid).is_some())
            .map(|e| e.iss.as_str())
    }

    /// The directory in the VCI `issuerInfo` format.
    pub fn to_json(&self) -> Result<String, ShcError> {
        let infos: Vec<VciIssuerInfo> = self
            .issuers
            .values()
            .map(|e| VciIssuerInfo {
                issuer: VciIssuer {
                    iss: e.iss.clone(),
                    name: e.name.clone(),
                },
                keys: e.keys.clone(),
                crls: e.crls.clone(),
            })
            .collect();
        serde_json::to_string(&serde_json::json!({ "issuerInfo": infos }))
            .map_err(|e| ShcError::BadDirectory(e.to_string()))
    }
}
