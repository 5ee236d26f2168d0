//! Cache encryption: AES-256-GCM for every stored value, HMAC-SHA-256 blind indexes for lookups.
//!
//! Both keys are derived from the wallet's random 32-byte data key (HMAC-SHA-256 of the data key
//! over a label), so the data key itself is never used directly.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};

const AAD_PREFIX: &[u8] = b"spondon-wallet/v1";

/// `n` fresh random nonces, drawn from the system's generator at once (a page of a sync
/// seals hundreds of rows: one system call, not one per row).
pub(crate) fn nonces(n: usize) -> Result<Vec<[u8; NONCE_LEN]>> {
    let mut out = vec![[0u8; NONCE_LEN]; n];
    SystemRandom::new()
        .fill(out.as_flattened_mut())
        .map_err(|_| WalletError::Internal("the system random number generator failed".into()))?;
    Ok(out)
}

/// Fills a fresh random array.
pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| WalletError::Internal("the system random number generator failed".into()))?;
    Ok(out)
}

/// The keys of the encrypted cache.
pub(crate) struct CacheKeys {
    aead: LessSafeKey,
    index: hmac::Key,
}

impl std::fmt::Debug for CacheKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKeys { .. }")
    }
}

fn derive(data_key: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let k = hmac::Key::new(hmac::HMAC_SHA256, data_key);
    let tag = hmac::sign(&k, label);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

impl CacheKeys {
    pub(crate) fn new(data_key: &[u8; 32]) -> Result<Self> {
        let enc = derive(data_key, b"spondon-wallet/v1/cache-aead");
        let idx = derive(data_key, b"spondon-wallet/v1/blind-index");
        let unbound = UnboundKey::new(&AES_256_GCM, &enc[..])
            .map_err(|_| WalletError::Internal("AES key setup failed".into()))?;
        Ok(Self {
            aead: LessSafeKey::new(unbound),
            index: hmac::Key::new(hmac::HMAC_SHA256, &idx[..]),
        })
    }

    /// The blind index of a row's natural key in `table`.
    pub(crate) fn index(&self, table: &str, key: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.index);
        ctx.update(table.as_bytes());
        ctx.update(&[0]);
        ctx.update(key.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    fn aad(table: &str, column: &str, idx: &[u8]) -> Vec<u8> {
        let mut a =
            Vec::with_capacity(AAD_PREFIX.len() + table.len() + column.len() + idx.len() + 3);
        a.extend_from_slice(AAD_PREFIX);
        for part in [table.as_bytes(), column.as_bytes(), idx] {
            a.push(0);
            a.extend_from_slice(part);
        }
        a
    }

    /// Encrypts `plain` for (table, column, row idx): `nonce ‖ ciphertext ‖ tag`.
    pub(crate) fn seal(
        &self,
        table: &str,
        column: &str,
        idx: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        buf.resize(NONCE_LEN, 0);
        buf.extend_from_slice(plain);
        self.seal_prefixed(table, column, idx, random()?, &mut buf)?;
        Ok(buf)
    }

    /// [`seal`](Self::seal) in place: `buf` holds `NONCE_LEN` bytes of room, then the
    /// plaintext; on return it is `nonce ‖ ciphertext ‖ tag` (the plaintext overwritten by the
    /// ciphertext; on an error it is zeroized). `nonce` must be fresh random bytes.
    pub(crate) fn seal_prefixed(
        &self,
        table: &str,
        column: &str,
        idx: &[u8],
        nonce: [u8; NONCE_LEN],
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let sealed = match buf.get_mut(NONCE_LEN..) {
            Some(plain) => self
                .aead
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(Self::aad(table, column, idx)),
                    plain,
                )
                .ok(),
            None => None,
        };
        let Some(tag) = sealed else {
            zeroize::Zeroize::zeroize(buf);
            return Err(WalletError::Internal("encryption failed".into()));
        };
        buf[..NONCE_LEN].copy_from_slice(&nonce);
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same (table, column, idx).
    pub(crate) fn open(
        &self,
        table: &str,
        column: &str,
        idx: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let corrupt = || WalletError::Corrupt {
            file: "wallet.db".into(),
            reason: format!(
                "a {table} entry does not decrypt (damaged, moved or from another wallet)"
            ),
        };
        if sealed.len() < NONCE_LEN + 16 {
            return Err(corrupt());
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain = self
            .aead
            .open_in_place(
                nonce,
                Aad::from(Self::aad(table, column, idx)),
                &mut buf[..],
            )
            .map_err(|_| corrupt())?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

/// Encrypts a large blob under a one-off 32-byte key (backups). `nonce ‖ ciphertext ‖ tag`.
pub(crate) fn seal_blob(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| WalletError::Internal("AES key setup failed".into()))?;
    let k = LessSafeKey::new(unbound);
    let nonce: [u8; NONCE_LEN] = random()?;
    let mut buf = plain.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| WalletError::Internal("encryption failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens [`seal_blob`]'s output; `None` if it does not authenticate.
pub(crate) fn open_blob(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let plain = k.open_in_place(nonce, Aad::from(aad), &mut buf[..]).ok()?;
    Some(Zeroizing::new(plain.to_vec()))
}
