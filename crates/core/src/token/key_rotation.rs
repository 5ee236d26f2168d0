//! The key rotation statement (kind 10): a patient who lost their phone moves their binding at one
//! peer from the old key to a new one. Signed by the OLD key (the COSE signature) and, to prove
//! possession of the NEW key, also by the new key (field 6, over a fixed byte string that names
//! both keys, the Health ID, the peer, the time and the id). `docs/protocol.md` §17.

use ciborium::Value;
use serde::Serialize;

use super::cbor;
use super::claims::{self, ClaimsBuilder, Envelope};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

const F_OLD_KEY: i64 = 2;
const F_NEW_KEY: i64 = 3;
const F_HEALTH_ID: i64 = 4;
const F_PEER: i64 = 5;
const F_NEW_KEY_SIGNATURE: i64 = 6;

/// The context string the new key's signature starts with.
pub const KEY_ROTATION_CONTEXT: &str = "spondon-key-rotation-v1";
/// How far a statement's `iat` may lie after the verifier's clock (`iat_in_future`).
pub const MAX_ROTATION_IAT_SKEW: i64 = 300;
/// How old a statement a peer accepts (`rotation_stale`): the wallet makes a fresh one for
/// every attempt, so an old one is a replay or a statement that was held back.
pub const MAX_ROTATION_AGE: i64 = 900;

/// A key rotation statement (`docs/protocol.md` §17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRotation {
    /// Unique id (`cti`).
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The key being retired; it signs the statement.
    #[serde(serialize_with = "ser::key")]
    pub old_key: Es256PublicKey,
    /// The key to bind from now on; its signature (field 6) proves the wallet holds it.
    #[serde(serialize_with = "ser::key")]
    pub new_key: Es256PublicKey,
    /// The patient's Health ID at that peer.
    pub health_id: String,
    /// The peer (its URL) the statement is for; another peer refuses it.
    pub peer: String,
    /// When it was made. Every grant of the old key is revoked by it, whatever the grant's `iat`.
    pub issued_at: NumericDate,
    /// The new key's ES256 signature over [`KeyRotation::new_key_message`] (raw r ‖ s).
    #[serde(serialize_with = "ser::b64")]
    pub new_key_signature: [u8; 64],
}

impl KeyRotation {
    /// The bytes the new key signs: the deterministic CBOR encoding of
    /// `["spondon-key-rotation-v1", old kid (32 bytes), new kid (32 bytes), health id, peer, iat, cti]`.
    pub fn new_key_message(
        old_key: &Es256PublicKey,
        new_key: &Es256PublicKey,
        health_id: &str,
        peer: &str,
        issued_at: NumericDate,
        id: &[u8; 16],
    ) -> Result<Vec<u8>, TokenError> {
        cbor::encode(&Value::Array(vec![
            cbor::text(KEY_ROTATION_CONTEXT),
            cbor::bytes(&claims::kid_bytes(old_key)),
            cbor::bytes(&claims::kid_bytes(new_key)),
            cbor::text(health_id),
            cbor::text(peer),
            cbor::int(issued_at.0),
            cbor::bytes(id),
        ]))
    }

    /// Makes a statement with a fresh id, signed by the new key (field 6) and then the old key.
    pub fn create(
        old: &Es256KeyPair,
        new: &Es256KeyPair,
        health_id: &str,
        peer: &str,
        now: NumericDate,
    ) -> Result<String, TokenError> {
        let id = crate::keys::random_bytes::<16>()?;
        let msg = Self::new_key_message(
            old.public_key(),
            new.public_key(),
            health_id,
            peer,
            now,
            &id,
        )?;
        let new_key_signature = new.sign(&msg)?;
        KeyRotation {
            id,
            old_key: old.public_key().clone(),
            new_key: new.public_key().clone(),
            health_id: health_id.to_owned(),
            peer: peer.to_owned(),
            issued_at: now,
            new_key_signature,
        }
        .sign(old)
    }

    /// Checks every field against the format's limits (dates, lengths, the two keys differ), as
    /// signing and parsing both do; the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_date(self.issued_at, "iat (6)")?;
        claims::check_text(
            &self.health_id,
            "health id (-65537 / 4)",
            claims::MAX_ID_LEN,
        )?;
        claims::check_url(&self.peer, "peer (-65537 / 5)")?;
        if self.old_key == self.new_key {
            return Err(TokenError::Invalid(
                "a key rotation must name a new key different from the old one",
            ));
        }
        Ok(())
    }

    /// Signs with the old key; returns the `SPONDON:1:` text. `new_key_signature` must already
    /// be the new key's signature (see [`KeyRotation::create`]).
    pub fn sign(&self, old: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        if old.public_key() != &self.old_key {
            return Err(TokenError::Invalid(
                "the signing key is not the statement's old key",
            ));
        }
        let payload = ClaimsBuilder::new(TokenKind::KeyRotation)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(claims::CLAIM_CTI, cbor::bytes(&self.id))
            .field(F_OLD_KEY, cbor::bytes(self.old_key.sec1()))
            .field(F_NEW_KEY, cbor::bytes(self.new_key.sec1()))
            .field(F_HEALTH_ID, cbor::text(&self.health_id))
            .field(F_PEER, cbor::text(&self.peer))
            .field(F_NEW_KEY_SIGNATURE, cbor::bytes(&self.new_key_signature))
            .encode()?;
        super::sign_text(old, None, payload, super::MAX_QR_TEXT)
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<KeyRotation, TokenError> {
        for (present, name) in [
            (env.iss.is_some(), "iss (1) in a key rotation"),
            (env.sub.is_some(), "sub (2) in a key rotation"),
            (env.cnf.is_some(), "cnf (8) in a key rotation"),
            (env.exp.is_some(), "exp (4) in a key rotation"),
            (env.nbf.is_some(), "nbf (5) in a key rotation"),
        ] {
            if present {
                return Err(TokenError::UnknownField(name.into()));
            }
        }
        let f = &mut env.fields;
        let old_key = claims::parse_sec1(
            f.require(F_OLD_KEY.into(), "old key (-65537 / 2)")?,
            "old key",
        )?;
        let new_key = claims::parse_sec1(
            f.require(F_NEW_KEY.into(), "new key (-65537 / 3)")?,
            "new key",
        )?;
        let health_id = cbor::as_text(
            f.require(F_HEALTH_ID.into(), "health id (-65537 / 4)")?,
            "health id (-65537 / 4)",
            claims::MAX_ID_LEN,
        )?;
        let peer = cbor::as_text(
            f.require(F_PEER.into(), "peer (-65537 / 5)")?,
            "peer (-65537 / 5)",
            256,
        )?;
        let new_key_signature = cbor::as_byte_array::<64>(
            f.require(F_NEW_KEY_SIGNATURE.into(), "new key signature (-65537 / 6)")?,
            "new key signature (-65537 / 6)",
        )?;
        f.deny_rest("the key rotation's Spondon claim")?;
        let r = KeyRotation {
            id: super::grant::cti16(env.cti)?,
            old_key,
            new_key,
            health_id,
            peer,
            issued_at: env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
            new_key_signature,
        };
        r.validate()?;
        Ok(r)
    }

    /// Checks the new key's signature (field 6). The old key's (the COSE signature) is checked
    /// by [`super::ParsedToken::verify`].
    pub(crate) fn verify_new_key(&self) -> Result<(), TokenError> {
        let msg = Self::new_key_message(
            &self.old_key,
            &self.new_key,
            &self.health_id,
            &self.peer,
            self.issued_at,
            &self.id,
        )?;
        self.new_key
            .verify(&msg, &self.new_key_signature)
            .map_err(|_| TokenError::BadSignature)
    }

    /// Parses and verifies a statement: both signatures, `iat` not more than
    /// [`MAX_ROTATION_IAT_SKEW`] after `now` (`iat_in_future`) and not more than
    /// [`MAX_ROTATION_AGE`] before it (`rotation_stale`). The peer then checks it is the
    /// statement's peer, that the old key is the one it enrolled for the Health ID, and that the
    /// request carrying it is signed by the new key.
    pub fn decode_and_verify(text: &str, now: NumericDate) -> Result<KeyRotation, TokenError> {
        let parsed = super::decode_any(text)?;
        parsed.verify(&super::TrustAnchors::default(), now)?;
        let super::TokenClaims::KeyRotation(r) = parsed.claims else {
            return Err(TokenError::KindMismatch {
                expected: "key rotation",
                found: parsed.kind.name(),
            });
        };
        if now.0.saturating_sub(r.issued_at.0) > MAX_ROTATION_AGE {
            return Err(TokenError::RotationStale {
                iat: r.issued_at.0,
                now: now.0,
            });
        }
        Ok(r)
    }
}
