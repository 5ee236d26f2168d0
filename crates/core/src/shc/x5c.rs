//! X.509 chains carried in an issuer key's `x5c`, checked as the specification requires
//! ("Determining keys associated with an issuer"): the leaf's public key equals the JWK, the leaf
//! has a subjectAltName URI equal to the card's `iss`, and a path of certificates valid at the
//! validation time leads to a trust anchor.
//!
//! Trust anchors: if the [`Directory`](super::Directory) has any, the chain must end at one of
//! them; otherwise the chain's last certificate must be a self-signed root and is taken as the
//! anchor (what the SMART validator does with `openssl verify -CAfile <last>`). Certificate
//! revocation (X.509 CRL / OCSP) needs network access and is left to the caller.
//!
//! Supported certificate signatures: ECDSA on P-256 / P-384 with SHA-256 / SHA-384 (ring) and
//! ECDSA on P-521 with SHA-512 (RustCrypto `p521`). Anything else is `x5c_chain_invalid`.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::ShcError;
use crate::NumericDate;
use crate::keys::Es256PublicKey;

/// Most certificates accepted in one chain.
pub const MAX_CHAIN_LEN: usize = 8;
/// Largest accepted certificate (DER bytes).
pub const MAX_CERT_LEN: usize = 16 * 1024;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";

fn decode_std_b64(text: &str) -> Result<Vec<u8>, ShcError> {
    use base64::Engine as _;
    if text.len() > MAX_CERT_LEN * 4 / 3 + 4 {
        return Err(ShcError::X5cInvalid("certificate too large".into()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ShcError::X5cInvalid("an x5c entry is not standard base64".into()))
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, ShcError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(ShcError::X5cInvalid(
            "trailing bytes after a certificate".into(),
        )),
        Err(e) => Err(ShcError::X5cInvalid(format!(
            "certificate does not parse: {e}"
        ))),
    }
}

/// Verifies that `child` was signed by the key of `parent`.
fn verify_signed_by(
    child: &X509Certificate<'_>,
    parent: &X509Certificate<'_>,
) -> Result<(), ShcError> {
    use ring::signature as rs;
    let spki = parent.public_key();
    if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY {
        return Err(ShcError::X5cChainInvalid(
            "issuer key is not an EC key".into(),
        ));
    }
    let point: &[u8] = &spki.subject_public_key.data;
    let sig: &[u8] = &child.signature_value.data;
    let tbs: &[u8] = child.tbs_certificate.as_ref();
    let alg = child.signature_algorithm.algorithm.to_id_string();
    let bad = || ShcError::X5cChainInvalid("a certificate signature does not verify".into());
    let ring_alg: Option<&'static rs::EcdsaVerificationAlgorithm> =
        match (point.len(), alg.as_str()) {
            (65, OID_ECDSA_SHA256) => Some(&rs::ECDSA_P256_SHA256_ASN1),
            (65, OID_ECDSA_SHA384) => Some(&rs::ECDSA_P256_SHA384_ASN1),
            (97, OID_ECDSA_SHA256) => Some(&rs::ECDSA_P384_SHA256_ASN1),
            (97, OID_ECDSA_SHA384) => Some(&rs::ECDSA_P384_SHA384_ASN1),
            _ => None,
        };
    if let Some(a) = ring_alg {
        return rs::UnparsedPublicKey::new(a, point)
            .verify(tbs, sig)
            .map_err(|_| bad());
    }
    if point.len() == 133 {
        use p521::ecdsa::signature::hazmat::PrehashVerifier as _;
        let digest_alg = match alg.as_str() {
            OID_ECDSA_SHA256 => &ring::digest::SHA256,
            OID_ECDSA_SHA384 => &ring::digest::SHA384,
            OID_ECDSA_SHA512 => &ring::digest::SHA512,
            _ => {
                return Err(ShcError::X5cChainInvalid(format!(
                    "unsupported certificate signature algorithm {alg}"
                )));
            }
        };
        let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| ShcError::X5cChainInvalid("issuer P-521 key is invalid".into()))?;
        let signature = p521::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
        let digest = ring::digest::digest(digest_alg, tbs);
        // A digest shorter than the group order is used as is (FIPS 186-5 6.4.1): left-pad it to
        // the field size, since the ECDSA implementation wants at least half the field size.
        let mut padded = [0u8; 66];
        let d = digest.as_ref();
        padded[66 - d.len()..].copy_from_slice(d);
        return vk.verify_prehash(&padded, &signature).map_err(|_| bad());
    }
    Err(ShcError::X5cChainInvalid(format!(
        "unsupported certificate signature algorithm {alg} with a {}-byte key",
        point.len()
    )))
}

fn is_ca(cert: &X509Certificate<'_>) -> bool {
    matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

/// Checks an `x5c` chain for the issuer `iss` and its key at time `at`.
pub fn check_chain(
    x5c: &[String],
    iss: &str,
    key: &Es256PublicKey,
    at: NumericDate,
    anchors: &[Vec<u8>],
) -> Result<(), ShcError> {
    if x5c.is_empty() {
        return Err(ShcError::X5cInvalid("x5c is empty".into()));
    }
    if x5c.len() > MAX_CHAIN_LEN {
        return Err(ShcError::X5cInvalid(format!(
            "more than {MAX_CHAIN_LEN} certificates"
        )));
    }
    let ders = x5c
        .iter()
        .map(|c| decode_std_b64(c))
        .collect::<Result<Vec<_>, _>>()?;
    let certs = ders
        .iter()
        .map(|d| parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(leaf) = certs.first() else {
        return Err(ShcError::X5cInvalid("x5c is empty".into()));
    };
    // 1. The leaf certifies exactly the JWK's key.
    let leaf_spki = leaf.public_key();
    if leaf_spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY
        || leaf_spki.subject_public_key.data.as_ref() != key.sec1().as_slice()
    {
        return Err(ShcError::X5cKeyMismatch);
    }
    // 2. The leaf names the issuer in a subjectAltName URI.
    let san_ok = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .any(|g| matches!(g, GeneralName::URI(u) if *u == iss)),
        Ok(None) => false,
        Err(e) => return Err(ShcError::X5cInvalid(format!("subjectAltName: {e}"))),
    };
    if !san_ok {
        return Err(ShcError::X5cSanMismatch(iss.to_owned()));
    }
    // 3. Every certificate is valid at `at`.
    for (i, cert) in certs.iter().enumerate() {
        let v = cert.validity();
        if at.seconds() < v.not_before.timestamp() {
            return Err(ShcError::X5cNotYetValid(i));
        }
        if at.seconds() > v.not_after.timestamp() {
            return Err(ShcError::X5cExpired(i));
        }
    }
    // 4. Each certificate is issued and signed by the next, which is a CA.
    for (i, pair) in certs.windows(2).enumerate() {
        let [child, parent] = pair else { continue };
        if child.issuer().as_raw() != parent.subject().as_raw() {
            return Err(ShcError::X5cChainInvalid(format!(
                "certificate {i}'s issuer is not the subject of certificate {}",
                i + 1
            )));
        }
        if !is_ca(parent) {
            return Err(ShcError::X5cChainInvalid(format!(
                "certificate {} is not a CA",
                i + 1
            )));
        }
        verify_signed_by(child, parent)?;
    }
    // 5. The chain ends at a trust anchor.
    let last_index = certs.len() - 1;
    let last = &certs[last_index];
    if anchors.is_empty() {
        if last.issuer().as_raw() != last.subject().as_raw() || (last_index > 0 && !is_ca(last)) {
            return Err(ShcError::X5cChainInvalid(
                "the last certificate is not a self-signed root".into(),
            ));
        }
        verify_signed_by(last, last)?;
        return Ok(());
    }
    if anchors
        .iter()
        .any(|a| a.as_slice() == ders[last_index].as_slice())
    {
        return Ok(());
    }
    for anchor_der in anchors {
        if let Ok(anchor) = parse(anchor_der)
            && anchor.subject().as_raw() == last.issuer().as_raw()
            && is_ca(&anchor)
            && verify_signed_by(last, &anchor).is_ok()
        {
            let v = anchor.validity();
            if at.seconds() < v.not_before.timestamp() || at.seconds() > v.not_after.timestamp() {
                continue;
            }
            return Ok(());
        }
    }
    Err(ShcError::X5cUntrustedRoot)
}
