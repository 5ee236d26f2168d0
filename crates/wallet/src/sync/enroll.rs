//! Enrollment codes, and binding this wallet's key at a peer.

use std::collections::BTreeSet;

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_core::token::{Hospital, TokenClaims, TrustAnchors, TrustList};
use spondon_protocol::Enrolled;

use super::types::{PeerState, Unwitnessed};
use crate::error::{Result, WalletError};
use crate::store::Table;
use crate::wallet::Wallet;

/// `SPONDON-ENROLL:1:<code>:<health id>:<peer url>`, as a hospital prints or shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentCode {
    /// The hospital's enrollment code (`XXXXX-XXXXX`), sent with the enrollment request.
    pub code: String,
    /// The patient's Health ID at that hospital (14 digits, written `XXXX-XXXX-XXXX-XX`).
    pub health_id: String,
    /// The hospital's peer URL; it must be a hospital of the pinned trust list.
    pub peer_url: String,
}

impl EnrollmentCode {
    /// Parses the enrollment text.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |m: &str| WalletError::BadEnrollmentCode(m.to_owned());
        let text = text.trim();
        let mut parts = text.splitn(5, ':');
        if parts.next() != Some("SPONDON-ENROLL") {
            return Err(bad("it does not start with SPONDON-ENROLL:"));
        }
        if parts.next() != Some("1") {
            return Err(bad("unknown version (expected 1)"));
        }
        let (Some(code), Some(hid), Some(url)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(
                "expected SPONDON-ENROLL:1:<code>:<health id>:<peer url>",
            ));
        };
        let code_ok = code.len() == 11
            && code.bytes().enumerate().all(|(i, b)| {
                if i == 5 {
                    b == b'-'
                } else {
                    b.is_ascii_alphanumeric()
                }
            });
        if !code_ok {
            return Err(bad("the code is not of the form XXXXX-XXXXX"));
        }
        let digits: String = hid.chars().filter(|c| *c != '-').collect();
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the Health ID is not 14 digits (XXXX-XXXX-XXXX-XX)"));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 256 {
            return Err(bad("the peer URL is not an https URL"));
        }
        Ok(Self {
            code: code.to_owned(),
            health_id: hid.to_owned(),
            peer_url: url.to_owned(),
        })
    }

    /// Reads the enrollment QR code from a PNG or JPEG image (decoding can take up to its time
    /// budget: async callers use [`EnrollmentCode::from_image_async`]).
    pub fn from_image(bytes: &[u8]) -> Result<Self> {
        let texts = spondon_core::qr::decode_image(bytes)?;
        let mut last = WalletError::BadEnrollmentCode("no enrollment QR code in the image".into());
        for t in texts {
            match Self::parse(&t) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl EnrollmentCode {
    /// [`EnrollmentCode::from_image`] on the blocking pool, so decoding never holds an async
    /// runtime thread.
    pub async fn from_image_async(bytes: Vec<u8>) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::from_image(&bytes))
            .await
            .map_err(|e| WalletError::Internal(format!("QR decoding: {e}")))?
    }
}

/// Decodes the QR codes of an image on the blocking pool (the decoder may work up to its time
/// budget).
pub(crate) async fn decode_qr(bytes: &[u8]) -> Result<Vec<String>> {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || spondon_core::qr::decode_image(&bytes))
        .await
        .map_err(|e| WalletError::Internal(format!("QR decoding: {e}")))?
        .map_err(Into::into)
}

impl Wallet {
    /// Enrolls at the hospital named in an enrollment code: checks it is in the trust list,
    /// binds this wallet's key, verifies and stores the enrollment credential.
    pub async fn enroll(&self, code: &EnrollmentCode) -> Result<PeerState> {
        let list = self.trust_list().await?;
        let hospital = list
            .hospitals
            .iter()
            .find(|h| h.peer_url == code.peer_url)
            .ok_or_else(|| WalletError::UntrustedPeer(code.peer_url.clone()))?;
        let body = spondon_protocol::EnrollRequest {
            code: code.code.clone(),
            health_id: code.health_id.clone(),
            public_key: self.signing.public_key().to_jwk(),
        };
        let resp: Enrolled = self
            .net
            .signed_post(&self.signing, &code.peer_url, "/patient/enroll", &body)
            .await?;
        self.check_enrollment(
            &list,
            hospital,
            &code.health_id,
            &resp.enrollment_credential,
        )?;
        let state = PeerState {
            url: hospital.peer_url.clone(),
            hospital_id: hospital.id.clone(),
            hospital_name: hospital.name.clone(),
            health_id: code.health_id.clone(),
            enrollment_credential: resp.enrollment_credential,
            enrolled_at: NumericDate::now().seconds(),
            cursor: 0,
            receipts_cursor: 0,
            checkpoint: None,
            tree_size: 0,
            root: None,
            last_sync: None,
            unwitnessed: Some(Unwitnessed::default()),
            files_wanted: Some(BTreeSet::new()),
        };
        // Re-enrolling at the same peer keeps the accepted checkpoint (history must stay consistent).
        let state = match self
            .store
            .get::<PeerState>(Table::Peers, &state.url)
            .await?
        {
            Some(old) => PeerState {
                cursor: old.cursor,
                receipts_cursor: old.receipts_cursor,
                checkpoint: old.checkpoint,
                tree_size: old.tree_size,
                root: old.root,
                last_sync: old.last_sync,
                unwitnessed: old.unwitnessed,
                files_wanted: old.files_wanted,
                ..state
            },
            None => state,
        };
        self.store.put(Table::Peers, &state.url, &state).await?;
        Ok(state)
    }

    pub(crate) fn check_enrollment(
        &self,
        list: &TrustList,
        hospital: &Hospital,
        health_id: &str,
        text: &str,
    ) -> Result<()> {
        let bad = |m: String| WalletError::BadResponse {
            peer: hospital.peer_url.clone(),
            reason: format!("enrollment credential: {m}"),
        };
        let parsed = spondon_core::token::decode_any(text).map_err(|e| bad(e.to_string()))?;
        let TokenClaims::Enrollment(e) = &parsed.claims else {
            return Err(bad("not an enrollment credential".into()));
        };
        parsed
            .verify(
                &TrustAnchors {
                    trust_list: Some(list),
                    ..Default::default()
                },
                NumericDate::now(),
            )
            .map_err(|e| bad(e.to_string()))?;
        let issuer = list
            .hospital(&e.hospital_id)
            .ok_or_else(|| bad("unknown issuer".into()))?;
        if issuer.peer_url != hospital.peer_url {
            return Err(bad("issued by another hospital".into()));
        }
        if e.health_id != health_id {
            return Err(bad("for another Health ID".into()));
        }
        if &e.patient_key != self.signing.public_key() {
            return Err(bad("binds another key".into()));
        }
        Ok(())
    }
}
