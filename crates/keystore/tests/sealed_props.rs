#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Arbitrary bytes given to the sealed-file parser: never a panic, never a plaintext, never a key
//! derivation (each case returns in microseconds, which is what lets this run thousands).

use proptest::prelude::*;
use spondon_keystore::KeyStoreError;
use spondon_keystore::passphrase;

proptest! {
    #[test]
    fn arbitrary_bytes_are_corrupt(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(matches!(passphrase::open(b"pass", &bytes), Err(KeyStoreError::Corrupt(_))));
        prop_assert!(matches!(passphrase::params_of(&bytes), Err(KeyStoreError::Corrupt(_))));
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_are_corrupt(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = b"SPNDSEAL".to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert!(matches!(passphrase::open(b"pass", &bytes), Err(KeyStoreError::Corrupt(_))));
    }
}
