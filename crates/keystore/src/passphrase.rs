//! Sealing bytes under a passphrase: Argon2id key derivation and AES-256-GCM.
//!
//! [`seal`] turns a passphrase and a plaintext into a self-describing byte string; [`open`] turns
//! it back and tells a wrong passphrase ([`KeyStoreError::WrongPassphrase`]) apart from a damaged
//! or truncated input ([`KeyStoreError::Corrupt`]).
//!
//! ```
//! use spondon_keystore::{KeyStoreError, passphrase};
//!
//! let sealed = passphrase::seal(b"a long passphrase", b"32 bytes of key material.......")?;
//! let opened = passphrase::open(b"a long passphrase", &sealed)?;
//! assert_eq!(opened.as_slice(), b"32 bytes of key material.......");
//! assert!(matches!(
//!     passphrase::open(b"another passphrase", &sealed),
//!     Err(KeyStoreError::WrongPassphrase)
//! ));
//! # Ok::<(), KeyStoreError>(())
//! ```
//!
//! # Format, version 1
//!
//! All integers big-endian.
//!
//! | offset | length | field                                                     |
//! |-------:|-------:|-----------------------------------------------------------|
//! | 0      | 8      | magic `SPNDSEAL`                                          |
//! | 8      | 1      | format version, `1`                                       |
//! | 9      | 1      | KDF, `1` = Argon2id version 0x13                          |
//! | 10     | 4      | Argon2 memory in KiB (`m`)                                |
//! | 14     | 4      | Argon2 passes (`t`)                                       |
//! | 18     | 4      | Argon2 lanes (`p`)                                        |
//! | 22     | 16     | random salt                                               |
//! | 38     | 12     | random AES-GCM nonce                                      |
//! | 50     | 32     | passphrase check: HMAC-SHA-256 over bytes 0..38           |
//! | 82     | n + 16 | AES-256-GCM ciphertext and tag; the AAD is bytes 0..82    |
//! | end-32 | 32     | SHA-256 over everything before it                         |
//!
//! Argon2id turns the passphrase and salt into a 32-byte master key; HKDF-SHA-256 expands it
//! into the AES-256-GCM key (info `spondon-keystore/v1/aead`) and the HMAC key of the passphrase
//! check (info `spondon-keystore/v1/check`). The check covers everything the key derivation
//! depends on (magic, version, KDF and its parameters, salt); the whole header with the nonce and
//! the check is the AEAD's associated data.
//!
//! The trailing SHA-256 is not a security measure (anyone can recompute it); it lets [`open`]
//! report accidental damage or truncation as [`KeyStoreError::Corrupt`] before spending a key
//! derivation, instead of as a wrong passphrase. A deliberate forgery that fixes the checksum still
//! fails the passphrase check or the AEAD tag.
//!
//! The input is untrusted: its length is bounded by [`MAX_SEALED_LEN`], and KDF parameters below
//! [`KdfParams::MIN`] (a downgrade) or above [`KdfParams::MAX`] (a memory or time bomb) are
//! refused as corrupt before any derivation runs.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hkdf, hmac};
use zeroize::Zeroizing;

use crate::{KeyStoreError, Secret};

const MAGIC: &[u8; 8] = b"SPNDSEAL";
const VERSION: u8 = 1;
const KDF_ARGON2ID_13: u8 = 1;
const SALT_LEN: usize = 16;
const KDF_HEADER_LEN: usize = 8 + 1 + 1 + 4 + 4 + 4 + SALT_LEN;
const HEADER_LEN: usize = KDF_HEADER_LEN + NONCE_LEN;
const CHECK_LEN: usize = 32;
const TAG_LEN: usize = 16;
const DIGEST_LEN: usize = 32;
/// The size of a sealed empty plaintext: every sealed input is at least this long.
pub const OVERHEAD: usize = HEADER_LEN + CHECK_LEN + TAG_LEN + DIGEST_LEN;
/// The largest sealed input [`open`] reads (16 MiB); longer input is refused as corrupt.
pub const MAX_SEALED_LEN: usize = 16 * 1024 * 1024;

const INFO_AEAD: &[u8] = b"spondon-keystore/v1/aead";
const INFO_CHECK: &[u8] = b"spondon-keystore/v1/check";

/// Argon2id cost parameters.
///
/// [`KdfParams::default()`] is the minimum this crate accepts: 64 MiB of memory, 3 passes,
/// 1 lane. Stronger settings are allowed up to [`KdfParams::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (`m`).
    pub m_kib: u32,
    /// Number of passes over the memory (`t`).
    pub t: u32,
    /// Degree of parallelism, in lanes (`p`).
    pub p: u32,
}

impl KdfParams {
    /// The weakest accepted parameters, and the default: m = 64 MiB, t = 3, p = 1.
    pub const MIN: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// The strongest accepted parameters: m = 1 GiB, t = 20, p = 16. Sealed input asking for
    /// more is refused, so a crafted file cannot make [`open`] allocate or spin without bound.
    pub const MAX: KdfParams = KdfParams {
        m_kib: 1024 * 1024,
        t: 20,
        p: 16,
    };

    /// Checks that every parameter lies within [`KdfParams::MIN`]..=[`KdfParams::MAX`]; the error
    /// is [`KeyStoreError::Corrupt`], as for parameters read from a sealed input.
    pub fn check(&self) -> Result<(), KeyStoreError> {
        let (min, max) = (Self::MIN, Self::MAX);
        if self.m_kib < min.m_kib || self.t < min.t || self.p < min.p {
            return Err(KeyStoreError::Corrupt(format!(
                "KDF parameters m={} KiB, t={}, p={} are below the minimum m={} KiB, t={}, p={}; refusing a downgrade",
                self.m_kib, self.t, self.p, min.m_kib, min.t, min.p
            )));
        }
        if self.m_kib > max.m_kib || self.t > max.t || self.p > max.p {
            return Err(KeyStoreError::Corrupt(format!(
                "KDF parameters m={} KiB, t={}, p={} exceed the maximum m={} KiB, t={}, p={}",
                self.m_kib, self.t, self.p, max.m_kib, max.t, max.p
            )));
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::MIN
    }
}

/// Seals `plaintext` under `passphrase` with [`KdfParams::default()`], a fresh random salt and a
/// fresh random nonce.
pub fn seal(passphrase: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
    seal_with(KdfParams::default(), passphrase, plaintext)
}

/// Like [`seal`] with explicit KDF parameters; they must pass [`KdfParams::check`].
pub fn seal_with(
    params: KdfParams,
    passphrase: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyStoreError> {
    params.check().map_err(|e| match e {
        KeyStoreError::Corrupt(m) => KeyStoreError::Backend(m),
        other => other,
    })?;
    SealingKey::derive_new(passphrase, params)?.seal(plaintext)
}

/// Opens what [`seal`] produced.
///
/// Errors: [`KeyStoreError::WrongPassphrase`] if the passphrase does not match;
/// [`KeyStoreError::Corrupt`] if the input is truncated, damaged, not in this format, or asks for
/// KDF parameters outside [`KdfParams::MIN`]..=[`KdfParams::MAX`].
pub fn open(passphrase: &[u8], sealed: &[u8]) -> Result<Secret, KeyStoreError> {
    let parsed = Parsed::parse(sealed)?;
    let key = SealingKey::derive(passphrase, parsed.params, parsed.salt)?;
    key.open(&parsed)
}

/// The KDF parameters recorded in a sealed input, after the same checks as [`open`] makes
/// (without deriving a key).
pub fn params_of(sealed: &[u8]) -> Result<KdfParams, KeyStoreError> {
    Ok(Parsed::parse(sealed)?.params)
}

pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), KeyStoreError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| KeyStoreError::Backend("the system random number generator failed".into()))
}

/// A sealed input whose framing, checksum and parameters have been checked.
pub(crate) struct Parsed<'a> {
    params: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    /// Magic, version, KDF parameters and salt: what the passphrase check covers.
    kdf_header: &'a [u8],
    check: &'a [u8],
    /// Header and check: the AEAD's associated data.
    aad: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> Parsed<'a> {
    pub(crate) fn parse(sealed: &'a [u8]) -> Result<Self, KeyStoreError> {
        let corrupt = |m: &str| KeyStoreError::Corrupt(m.to_owned());
        if sealed.len() < OVERHEAD {
            return Err(
                if sealed.len() >= MAGIC.len() && !sealed.starts_with(MAGIC) {
                    corrupt("not a Spondon sealed file (bad magic)")
                } else {
                    KeyStoreError::Corrupt(format!(
                        "truncated: {} bytes, a sealed file has at least {OVERHEAD}",
                        sealed.len()
                    ))
                },
            );
        }
        if sealed.len() > MAX_SEALED_LEN {
            return Err(KeyStoreError::Corrupt(format!(
                "too large: {} bytes, at most {MAX_SEALED_LEN} are read",
                sealed.len()
            )));
        }
        if !sealed.starts_with(MAGIC) {
            return Err(corrupt("not a Spondon sealed file (bad magic)"));
        }
        let (body, sum) = sealed.split_at(sealed.len() - DIGEST_LEN);
        if digest::digest(&digest::SHA256, body).as_ref() != sum {
            return Err(corrupt(
                "checksum mismatch: the file is damaged or truncated",
            ));
        }
        let (header, rest) = body.split_at(HEADER_LEN);
        let (check, ciphertext) = rest.split_at(CHECK_LEN);
        if header[8] != VERSION {
            return Err(KeyStoreError::Corrupt(format!(
                "unsupported format version {}",
                header[8]
            )));
        }
        if header[9] != KDF_ARGON2ID_13 {
            return Err(KeyStoreError::Corrupt(format!(
                "unsupported KDF {}",
                header[9]
            )));
        }
        let params = KdfParams {
            m_kib: be_u32(&header[10..14]),
            t: be_u32(&header[14..18]),
            p: be_u32(&header[18..22]),
        };
        params.check()?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&header[22..22 + SALT_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&header[22 + SALT_LEN..HEADER_LEN]);
        Ok(Parsed {
            params,
            salt,
            nonce,
            kdf_header: &header[..KDF_HEADER_LEN],
            check,
            aad: &body[..HEADER_LEN + CHECK_LEN],
            ciphertext,
        })
    }

    pub(crate) fn params(&self) -> KdfParams {
        self.params
    }

    pub(crate) fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }
}

fn be_u32(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
}

/// A key derived from a passphrase, with the parameters and salt it was derived with: it seals
/// new inputs (each with a fresh nonce) and opens inputs sealed under the same salt.
pub(crate) struct SealingKey {
    params: KdfParams,
    salt: [u8; SALT_LEN],
    master: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// Runs Argon2id: the slow step.
    pub(crate) fn derive(
        passphrase: &[u8],
        params: KdfParams,
        salt: [u8; SALT_LEN],
    ) -> Result<Self, KeyStoreError> {
        params.check()?;
        let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
            .map_err(|e| KeyStoreError::Backend(format!("Argon2 parameters: {e}")))?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let mut master = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &salt, master.as_mut_slice())
            .map_err(|e| KeyStoreError::Backend(format!("Argon2id: {e}")))?;
        Ok(Self {
            params,
            salt,
            master,
        })
    }

    /// Derives a key under a fresh random salt.
    pub(crate) fn derive_new(passphrase: &[u8], params: KdfParams) -> Result<Self, KeyStoreError> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        Self::derive(passphrase, params, salt)
    }

    pub(crate) fn params(&self) -> KdfParams {
        self.params
    }

    pub(crate) fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }

    fn prk(&self) -> hkdf::Prk {
        hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, self.master.as_slice())
    }

    fn aead_key(&self) -> Result<LessSafeKey, KeyStoreError> {
        let prk = self.prk();
        let okm = prk
            .expand(&[INFO_AEAD], &AES_256_GCM)
            .map_err(|_| KeyStoreError::Backend("HKDF expand failed".into()))?;
        Ok(LessSafeKey::new(UnboundKey::from(okm)))
    }

    fn check_key(&self) -> Result<hmac::Key, KeyStoreError> {
        let prk = self.prk();
        let okm = prk
            .expand(&[INFO_CHECK], hmac::HMAC_SHA256)
            .map_err(|_| KeyStoreError::Backend("HKDF expand failed".into()))?;
        Ok(hmac::Key::from(okm))
    }

    /// Seals `plaintext` with a fresh random nonce.
    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        if plaintext.len() > MAX_SEALED_LEN - OVERHEAD {
            return Err(KeyStoreError::Backend(format!(
                "plaintext of {} bytes is too large to seal (at most {})",
                plaintext.len(),
                MAX_SEALED_LEN - OVERHEAD
            )));
        }
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(KDF_ARGON2ID_13);
        out.extend_from_slice(&self.params.m_kib.to_be_bytes());
        out.extend_from_slice(&self.params.t.to_be_bytes());
        out.extend_from_slice(&self.params.p.to_be_bytes());
        out.extend_from_slice(&self.salt);
        let check = hmac::sign(&self.check_key()?, &out);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(check.as_ref());
        let aad_len = out.len();
        out.extend_from_slice(plaintext);
        let (aad, in_out) = out.split_at_mut(aad_len);
        let tag = self
            .aead_key()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&*aad),
                in_out,
            )
            .map_err(|_| KeyStoreError::Backend("AES-GCM sealing failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        let sum = digest::digest(&digest::SHA256, &out);
        out.extend_from_slice(sum.as_ref());
        Ok(out)
    }

    /// Opens a parsed input. The salt and parameters must be the ones this key was derived with.
    pub(crate) fn open(&self, parsed: &Parsed<'_>) -> Result<Secret, KeyStoreError> {
        if parsed.salt != self.salt || parsed.params != self.params {
            return Err(KeyStoreError::WrongPassphrase);
        }
        hmac::verify(&self.check_key()?, parsed.kdf_header, parsed.check)
            .map_err(|_| KeyStoreError::WrongPassphrase)?;
        let mut buf = Zeroizing::new(parsed.ciphertext.to_vec());
        let plain_len = self
            .aead_key()?
            .open_in_place(
                Nonce::assume_unique_for_key(parsed.nonce),
                Aad::from(parsed.aad),
                buf.as_mut_slice(),
            )
            .map_err(|_| {
                KeyStoreError::Corrupt("authentication failed: the sealed data was altered".into())
            })?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &[u8] = b"correct horse battery staple";

    fn fix_digest(sealed: &mut [u8]) {
        let n = sealed.len() - DIGEST_LEN;
        let sum = digest::digest(&digest::SHA256, &sealed[..n]);
        sealed[n..].copy_from_slice(sum.as_ref());
    }

    fn is_corrupt(r: Result<Secret, KeyStoreError>) -> bool {
        matches!(r, Err(KeyStoreError::Corrupt(_)))
    }

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let sealed = seal(PASS, b"the signing key").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 15);
        assert_eq!(params_of(&sealed).unwrap(), KdfParams::default());
        assert_eq!(open(PASS, &sealed).unwrap().as_slice(), b"the signing key");
        assert!(matches!(
            open(b"correct horse battery stapler", &sealed),
            Err(KeyStoreError::WrongPassphrase)
        ));
        assert!(matches!(
            open(b"", &sealed),
            Err(KeyStoreError::WrongPassphrase)
        ));
        // A second seal of the same plaintext differs (fresh salt and nonce).
        let again = seal(PASS, b"the signing key").unwrap();
        assert_ne!(sealed, again);
        assert_eq!(&sealed[..22], &again[..22]);
        assert_ne!(&sealed[22..50], &again[22..50]);
    }

    #[test]
    fn empty_plaintext_and_stronger_params() {
        let params = KdfParams {
            m_kib: 64 * 1024,
            t: 4,
            p: 2,
        };
        let sealed = seal_with(params, PASS, b"").unwrap();
        assert_eq!(sealed.len(), OVERHEAD);
        assert_eq!(params_of(&sealed).unwrap(), params);
        assert!(open(PASS, &sealed).unwrap().is_empty());
    }

    #[test]
    fn seal_with_refuses_params_out_of_range() {
        for params in [
            KdfParams {
                m_kib: 64 * 1024 - 1,
                ..KdfParams::MIN
            },
            KdfParams {
                t: 2,
                ..KdfParams::MIN
            },
            KdfParams {
                p: 0,
                ..KdfParams::MIN
            },
            KdfParams {
                m_kib: 1024 * 1024 + 1,
                ..KdfParams::MIN
            },
            KdfParams {
                t: 21,
                ..KdfParams::MIN
            },
            KdfParams {
                p: 17,
                ..KdfParams::MIN
            },
        ] {
            assert!(
                matches!(
                    seal_with(params, PASS, b"x"),
                    Err(KeyStoreError::Backend(_))
                ),
                "{params:?}"
            );
        }
    }

    #[test]
    fn every_truncation_and_extension_is_corrupt() {
        let sealed = seal(PASS, b"0123456789abcdef").unwrap();
        for n in 0..sealed.len() {
            assert!(is_corrupt(open(PASS, &sealed[..n])), "truncated to {n}");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(is_corrupt(open(PASS, &longer)));
        assert!(is_corrupt(open(PASS, &vec![0u8; MAX_SEALED_LEN + 1])));
        assert!(is_corrupt(open(PASS, b"not a sealed file at all")));
    }

    /// A flipped bit anywhere is caught by the checksum; with the checksum recomputed (a
    /// deliberate edit), a flip in any header field still never yields a plaintext.
    #[test]
    fn bit_flips_in_every_field() {
        let sealed = seal(PASS, b"secret").unwrap();
        for i in 0..sealed.len() {
            for bit in [0u8, 7] {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert!(is_corrupt(open(PASS, &bad)), "byte {i} bit {bit}");
            }
        }
        // Checksum fixed up: field by field, one representative byte each (each costs at most
        // one key derivation).
        let fields: &[(&str, usize, u8)] = &[
            // (field, offset, xor mask)
            ("magic", 0, 0x01),
            ("version", 8, 0x01),
            ("kdf", 9, 0x01),
            ("m", 10, 0x80), // the top byte: 64 MiB -> more than 1 GiB
            ("t", 17, 0x04), // 3 -> 7: still in range
            ("p", 21, 0x01), // 1 -> 0
            ("salt", 30, 0x01),
            ("nonce", 40, 0x01),
            ("check", 60, 0x01),
            ("ciphertext", 82, 0x01),
            ("tag", sealed.len() - DIGEST_LEN - 1, 0x01),
        ];
        for &(name, offset, mask) in fields {
            let mut bad = sealed.clone();
            bad[offset] ^= mask;
            fix_digest(&mut bad);
            let r = open(PASS, &bad);
            match name {
                // A changed t or salt derives another key; a changed check no longer matches:
                // indistinguishable from a wrong passphrase, and never a plaintext.
                "t" | "salt" | "check" => {
                    assert!(matches!(r, Err(KeyStoreError::WrongPassphrase)), "{name}")
                }
                // Framing and parameters are refused before any derivation; the nonce,
                // ciphertext and tag are covered by the AEAD tag.
                _ => assert!(is_corrupt(r), "{name}"),
            }
        }
    }

    #[test]
    fn downgrade_is_refused_before_deriving() {
        let sealed = seal(PASS, b"secret").unwrap();
        for (offset, value) in [
            (10usize, 8 * 1024u32), // m = 8 MiB
            (14, 1),                // t = 1
            (18, 0),                // p = 0
            (14, 1000),             // t too large
            (10, u32::MAX),         // m = 4 TiB
        ] {
            let mut bad = sealed.clone();
            bad[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
            fix_digest(&mut bad);
            match open(PASS, &bad) {
                Err(KeyStoreError::Corrupt(m)) => {
                    assert!(m.contains("KDF parameters"), "{m}")
                }
                other => panic!("offset {offset} value {value}: {other:?}"),
            }
        }
    }

    #[test]
    fn params_check_bounds() {
        assert!(KdfParams::MIN.check().is_ok());
        assert!(KdfParams::MAX.check().is_ok());
        assert_eq!(KdfParams::default(), KdfParams::MIN);
    }
}
