//! Server nonces that need no write when they are handed out (`POST /nonce`).
//!
//! A nonce is `01 ‖ expires (8 bytes, big-endian Unix seconds) ‖ 16 random bytes ‖
//! HMAC-SHA-256(key, "spondon-peer-nonce" ‖ those 25 bytes)`: 57 bytes, opaque to clients
//! (docs/protocol.md §7). The key is 32 random bytes generated once and kept in the database
//! (`peer_nonce_key`, migration 0021), so every `serve` process sharing the database issues
//! and accepts the same nonces. Its single use is enforced only when it is spent: the spend
//! inserts it into `peer_nonces` (its primary key refuses a second copy, across transactions
//! and processes), in the access event's transaction for an allowed redemption.
//!
//! Nonces of the earlier form (16 random bytes, stored when issued) are still spent by the
//! stored row's conditional update, so a nonce handed out by an older process is accepted.

use ring::hmac;

use crate::error::{PeerError, Result};

/// The form's first byte.
const VERSION: u8 = 1;
/// Bytes of a nonce: version, expiry, random part, tag.
pub(crate) const NONCE_LEN: usize = 1 + 8 + 16 + 32;
/// Bytes covered by the tag (after the context).
const BODY_LEN: usize = 1 + 8 + 16;
/// The tag's context: the key makes nothing else, but a tag over these bytes means this.
const CONTEXT: &[u8] = b"spondon-peer-nonce";

/// The key that makes and checks this database's nonces.
pub(crate) struct NonceKey(hmac::Key);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

/// What a presented nonce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// One this key made, expiring at this time (Unix seconds); not yet judged against the
    /// clock or its use.
    Made { expires: i64 },
    /// Of the earlier, stored form (not this form's length): judged by its stored row.
    Stored,
}

impl NonceKey {
    /// The key from its 32 stored bytes.
    pub(crate) fn new(secret: &[u8]) -> Result<NonceKey> {
        if secret.len() != 32 {
            return Err(PeerError::Integrity(format!(
                "the stored nonce key has {} bytes, not 32",
                secret.len()
            )));
        }
        Ok(NonceKey(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    fn tag(&self, body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(CONTEXT);
        ctx.update(body);
        ctx.sign()
    }

    /// A fresh nonce expiring at `expires`.
    pub(crate) fn make(&self, expires: i64) -> Result<[u8; NONCE_LEN]> {
        let random: [u8; 16] = spondon_core::keys::random_bytes()?;
        let mut out = [0u8; NONCE_LEN];
        out[0] = VERSION;
        out[1..9].copy_from_slice(&expires.to_be_bytes());
        out[9..BODY_LEN].copy_from_slice(&random);
        let tag = self.tag(&out[..BODY_LEN]);
        out[BODY_LEN..].copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Judges a presented nonce's form: one this key made (its tag checked in constant time)
    /// with its expiry, the earlier stored form, or `nonce_unknown` (a nonce of this form's
    /// length that this key did not make, whatever its bytes).
    pub(crate) fn open(&self, nonce: &[u8]) -> Result<Presented> {
        if nonce.len() != NONCE_LEN {
            return Ok(Presented::Stored);
        }
        let (body, tag) = nonce.split_at(BODY_LEN);
        // The tagged bytes on the stack (no allocation per request), checked by ring's
        // constant-time `hmac::verify`.
        let mut tagged = [0u8; CONTEXT.len() + BODY_LEN];
        tagged[..CONTEXT.len()].copy_from_slice(CONTEXT);
        tagged[CONTEXT.len()..].copy_from_slice(body);
        if body[0] != VERSION || hmac::verify(&self.0, &tagged, tag).is_err() {
            return Err(PeerError::NonceUnknown);
        }
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&body[1..9]);
        Ok(Presented::Made {
            expires: i64::from_be_bytes(exp),
        })
    }
}

/// The nonces this process handed out that are neither expired nor spent here, by expiry:
/// the estimate behind `max_outstanding_nonces` (nothing is stored when a nonce is handed out,
/// so there is nothing to count in the database; a nonce spent by another process sharing the
/// database leaves the count when it expires).
#[derive(Debug, Default)]
pub(crate) struct Outstanding {
    by_expiry: std::collections::BTreeMap<i64, u64>,
    total: u64,
}

impl Outstanding {
    /// How many are outstanding at `now` (those expired before it are dropped).
    pub(crate) fn count(&mut self, now: i64) -> u64 {
        while let Some(entry) = self.by_expiry.first_entry() {
            if *entry.key() >= now {
                break;
            }
            self.total -= entry.remove();
        }
        self.total
    }

    /// One handed out, expiring at `expires`.
    pub(crate) fn add(&mut self, expires: i64) {
        *self.by_expiry.entry(expires).or_default() += 1;
        self.total += 1;
    }

    /// One expiring at `expires` spent (if this process handed out one with that expiry).
    pub(crate) fn spent(&mut self, expires: i64) {
        if let Some(n) = self.by_expiry.get_mut(&expires) {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.by_expiry.remove(&expires);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_nonces_open_and_anything_else_is_unknown() {
        let key = NonceKey::new(&[7u8; 32]).unwrap();
        let n = key.make(1_000_300).unwrap();
        assert_eq!(
            key.open(&n).unwrap(),
            Presented::Made { expires: 1_000_300 }
        );
        // Two nonces with one expiry differ (the random part).
        assert_ne!(n, key.make(1_000_300).unwrap());
        // Any one byte changed (the version, the expiry, the random part, the tag) is unknown.
        for i in 0..NONCE_LEN {
            let mut m = n;
            m[i] ^= 0x01;
            assert!(
                matches!(key.open(&m), Err(PeerError::NonceUnknown)),
                "byte {i}"
            );
        }
        // Another database's key did not make it.
        let other = NonceKey::new(&[8u8; 32]).unwrap();
        assert!(matches!(other.open(&n), Err(PeerError::NonceUnknown)));
        // Other lengths are the earlier, stored form, judged by the database.
        assert_eq!(key.open(&[0u8; 16]).unwrap(), Presented::Stored);
        assert_eq!(key.open(&n[..NONCE_LEN - 1]).unwrap(), Presented::Stored);
        assert!(NonceKey::new(&[0u8; 31]).is_err());
    }

    #[test]
    fn outstanding_counts_unexpired_unspent() {
        let mut o = Outstanding::default();
        o.add(100);
        o.add(100);
        o.add(105);
        assert_eq!(o.count(100), 3);
        o.spent(100);
        o.spent(999); // not one of ours: nothing
        assert_eq!(o.count(100), 2);
        assert_eq!(o.count(101), 1);
        o.spent(105);
        assert_eq!(o.count(101), 0);
        o.spent(105);
        assert_eq!(o.count(0), 0);
    }
}
