//! A consortium for tests: hospitals with fresh keys, and trust lists at a fixed clock (`at`) or
//! now.

use spondon_core::NumericDate;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::token::{Hospital, TrustList};

/// A hospital of the consortium: its record and log keys and its trust-list entry.
#[derive(Debug)]
pub struct TestHospital {
    /// Its record key (signs cards and credentials).
    pub record: Es256KeyPair,
    /// Its log key (signs checkpoints).
    pub log: Ed25519KeyPair,
    /// Its entry in a trust list.
    pub entry: Hospital,
}

/// A hospital `id` named `name` at `url` (`https://host`), with fresh keys; its log's origin is
/// `host/log`.
pub fn hospital(id: &str, name: &str, url: &str) -> TestHospital {
    let record = Es256KeyPair::generate().unwrap();
    let log = Ed25519KeyPair::generate().unwrap();
    let origin = format!("{}/log", url.trim_start_matches("https://"));
    let entry = Hospital {
        id: id.into(),
        name: name.into(),
        peer_url: url.into(),
        record_keys: vec![record.public_key().clone()],
        log_key: *log.public_key(),
        log_origin: origin,
    };
    TestHospital { record, log, entry }
}

/// The trust list of these hospitals (no witnesses) issued now, valid from a minute ago for 30
/// days.
pub fn trust_list(hospitals: Vec<Hospital>, sequence: u64) -> TrustList {
    trust_list_at(hospitals, sequence, NumericDate::now())
}

/// The trust list of these hospitals (no witnesses) as issued at `at`, valid from a minute
/// before for 30 days: the fixed clock of a test that checks validity windows.
pub fn trust_list_at(hospitals: Vec<Hospital>, sequence: u64, at: NumericDate) -> TrustList {
    TrustList {
        witnessing: Default::default(),
        publish_url: None,
        investigators: Vec::new(),
        authority: "DGHS Spondon Root (test)".into(),
        sequence,
        issued_at: at,
        not_before: at.saturating_add(-60),
        expires: at.saturating_add(30 * 86_400),
        hospitals,
    }
}

/// A root key and the trust lists it signs.
#[derive(Debug)]
pub struct Consortium {
    /// The root key (the authority's).
    pub root: Es256KeyPair,
}

impl Consortium {
    /// A fresh root key.
    pub fn new() -> Self {
        Consortium {
            root: Es256KeyPair::generate().unwrap(),
        }
    }

    /// `list` signed by the root: the text wallets and nodes are configured with.
    pub fn sign(&self, list: &TrustList) -> String {
        list.sign(&self.root).unwrap()
    }

    /// The root's public key as a JWK (JSON), as `--root-key` files hold it.
    pub fn root_jwk(&self) -> String {
        serde_json::to_string(&self.root.public_key().to_jwk()).unwrap()
    }
}

impl Default for Consortium {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_at_a_fixed_clock_is_valid_then_and_signed_by_the_root() {
        let c = Consortium::new();
        let h = hospital(
            "dmch",
            "Dhaka Medical College Hospital",
            "https://dmch.example",
        );
        assert_eq!(h.entry.log_origin, "dmch.example/log");
        let at = NumericDate(1_780_000_000);
        let list = trust_list_at(vec![h.entry], 4, at);
        assert_eq!(list.not_before, NumericDate(1_780_000_000 - 60));
        assert_eq!(list.expires, NumericDate(1_780_000_000 + 30 * 86_400));
        assert!(!c.sign(&list).is_empty());
    }
}
