#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! One Argon2id derivation at the default parameters (m = 64 MiB, t = 3, p = 1), and key file
//! reads and writes with the key already derived.
//! Run: `cargo bench -p spondon-keystore --bench kdf`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spondon_keystore::passphrase::{self, KdfParams};
use spondon_keystore::{KeyStore, PassphraseFileKeyStore};

fn benches(c: &mut Criterion) {
    let pass = b"correct horse battery staple";
    let sealed = passphrase::seal(pass, &[7u8; 32]).unwrap();
    assert_eq!(
        passphrase::params_of(&sealed).unwrap(),
        KdfParams::default()
    );

    let mut g = c.benchmark_group("kdf");
    g.sample_size(10);
    // open = Argon2id + HKDF + HMAC + AES-GCM on 32 bytes: the derivation dominates.
    g.bench_function("open (one Argon2id derivation, m=64MiB t=3 p=1)", |b| {
        b.iter(|| passphrase::open(black_box(pass), black_box(&sealed)).unwrap())
    });
    g.finish();

    let dir = tempfile::tempdir().unwrap();
    let store = PassphraseFileKeyStore::create(dir.path().join("keys"), pass).unwrap();
    store.put("wallet:1:signing-key", &[1u8; 32]).unwrap();
    store.put("wallet:1:data-key", &[2u8; 32]).unwrap();
    let mut g = c.benchmark_group("key_file");
    g.sample_size(20);
    g.bench_function("get (key in memory)", |b| {
        b.iter(|| store.get(black_box("wallet:1:data-key")).unwrap())
    });
    g.bench_function("put (rewrite + fsync + rename)", |b| {
        b.iter(|| {
            store
                .put(black_box("wallet:1:data-key"), &[3u8; 32])
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(kdf, benches);
criterion_main!(kdf);
