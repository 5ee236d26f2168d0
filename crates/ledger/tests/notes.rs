//! C2SP signed-note, tlog-checkpoint and tlog-cosignature: spec examples and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spondon_core::keys::Ed25519KeyPair;
use spondon_ledger::note::{
    MAX_NOTE_BYTES, Note, NoteError, SIG_TYPE_COSIGNATURE_V1, Signer, Verifier,
    cosignature_message, key_id,
};
use spondon_ledger::{Checkpoint, CheckpointError, SignedCheckpoint};

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

const SPEC_COSIGNED: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#[test]
fn signed_note_spec_example_verifies() {
    let v = Verifier::from_vkey(SPEC_VKEY).unwrap();
    assert_eq!(v.key_id(), 0x530d903a);
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.to_vkey(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(note.to_text(), SPEC_NOTE);
    assert_eq!(note.verify(std::slice::from_ref(&v)).unwrap(), vec![(0, 0)]);
    // The recommended key ID construction reproduces the spec's ID.
    assert_eq!(
        key_id("example.com/foo", 0x01, v.public_key().as_bytes()),
        0x530d903a
    );

    // One flipped text byte: the known key's signature fails, rejecting the note.
    let tampered = SPEC_NOTE.replace("example message", "example massage");
    let note = Note::parse(tampered.as_bytes()).unwrap();
    assert!(matches!(
        note.verify(&[v]),
        Err(NoteError::InvalidSignature {
            key_id: 0x530d903a,
            ..
        })
    ));
}

#[test]
fn checkpoint_and_cosignature_spec_examples_parse() {
    let note = Note::parse(SPEC_COSIGNED.as_bytes()).unwrap();
    let cp = Checkpoint::from_text(&note.text).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(cp.to_text(), note.text);
    assert_eq!(note.signatures.len(), 2);
    let cosig = &note.signatures[1];
    assert_eq!(cosig.name, "witness.example.com/w1");
    assert_eq!(cosig.key_id, 0x8d66cf3f);
    assert_eq!(cosig.signature.len(), 72, "timestamp + Ed25519 signature");
    let ts = u64::from_be_bytes(cosig.signature[..8].try_into().unwrap());
    // The spec's signed-message example uses this very timestamp.
    assert_eq!(ts, 1679315147);
    let msg = cosignature_message(ts, note.text.as_bytes());
    assert_eq!(
        String::from_utf8(msg).unwrap(),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    assert_eq!(note.to_text(), SPEC_COSIGNED);
    // No key of ours signed it.
    let other = Verifier::ed25519(
        "example.com/behind-the-sofa",
        *Ed25519KeyPair::generate().unwrap().public_key(),
    )
    .unwrap();
    assert_eq!(note.verify(&[other]), Err(NoteError::NoKnownSignature));
}

#[test]
fn sign_cosign_roundtrip() {
    let log = Signer::ed25519(
        "log.example/a",
        Ed25519KeyPair::from_seed(&[7; 32]).unwrap(),
    )
    .unwrap();
    let wit = Signer::cosigner(
        "witness.example/w",
        Ed25519KeyPair::from_seed(&[9; 32]).unwrap(),
    )
    .unwrap();
    assert_eq!(wit.verifier().sig_type(), SIG_TYPE_COSIGNATURE_V1);
    let cp = Checkpoint::new("log.example/a", 5, [3; 32]);
    let mut note = Note::new(cp.to_text()).unwrap();
    note.signatures.push(log.sign(&note.text, 0).unwrap());
    note.signatures
        .push(wit.sign(&note.text, 1_700_000_000).unwrap());
    let bytes = note.to_text();
    let sc = SignedCheckpoint::verify(bytes.as_bytes(), "log.example/a", &[log.verifier().clone()])
        .unwrap();
    assert_eq!(sc.checkpoint, cp);
    assert_eq!(sc.count_cosignatures(&[wit.verifier().clone()]).unwrap(), 1);
    assert_eq!(
        sc.note.verify(&[wit.verifier().clone()]).unwrap(),
        vec![(0, 1_700_000_000)]
    );
    // vkey round trip for both types
    for v in [log.verifier(), wit.verifier()] {
        assert_eq!(&Verifier::from_vkey(&v.to_vkey()).unwrap(), v);
    }
    // Wrong origin
    assert!(matches!(
        SignedCheckpoint::verify(bytes.as_bytes(), "log.example/b", &[log.verifier().clone()]),
        Err(CheckpointError::WrongOrigin { .. })
    ));
    // A cosignature is not accepted as a plain log signature with the same key under a
    // different type: the key IDs differ, so it is simply unknown.
    let confused = Verifier::ed25519("witness.example/w", *wit.verifier().public_key()).unwrap();
    assert_ne!(confused.key_id(), wit.verifier().key_id());
    assert_eq!(
        sc.note.verify(&[confused]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn malformed_notes_are_rejected_specifically() {
    let v = Verifier::from_vkey(SPEC_VKEY).unwrap();
    let cases: Vec<(Vec<u8>, NoteError)> = vec![
        (
            b"text\n\n\xe2\x80\x94 a \xff\n".to_vec(),
            NoteError::NotUtf8,
        ),
        (b"te\rxt\n\n".to_vec(), NoteError::ControlCharacter),
        (b"text\n".to_vec(), NoteError::MissingSeparator),
        (b"text\n\nnope".to_vec(), NoteError::MissingFinalNewline),
        (b"text\n\n".to_vec(), NoteError::NoSignatures),
        (
            b"text\n\n- a AAAAAA==\n".to_vec(),
            NoteError::MalformedSignatureLine(1),
        ),
        (
            "text\n\n\u{2014} a\n".as_bytes().to_vec(),
            NoteError::MalformedSignatureLine(1),
        ),
        (
            "text\n\n\u{2014} a+b AAAAAA==\n".as_bytes().to_vec(),
            NoteError::MalformedSignatureLine(1),
        ),
        (
            "text\n\n\u{2014} a !!!!\n".as_bytes().to_vec(),
            NoteError::SignatureNotBase64(1),
        ),
        (
            "text\n\n\u{2014} a AAA=\n".as_bytes().to_vec(),
            NoteError::SignatureTooShort(1),
        ),
        (
            vec![b'a'; MAX_NOTE_BYTES + 1],
            NoteError::TooLarge(MAX_NOTE_BYTES + 1),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            Note::parse(&input),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(&input)
        );
    }
    let many = format!("text\n\n{}", "\u{2014} a AAAAAA==\n".repeat(65));
    assert_eq!(
        Note::parse(many.as_bytes()),
        Err(NoteError::TooManySignatures)
    );

    // Wrong key ID in a vkey, bad vkey shapes.
    assert_eq!(
        Verifier::from_vkey(
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        ),
        Err(NoteError::WrongKeyId)
    );
    assert!(matches!(
        Verifier::from_vkey("example.com/foo+530d903a"),
        Err(NoteError::BadVerifierKey(_))
    ));
    assert!(matches!(
        Verifier::from_vkey(
            "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        ),
        Err(NoteError::UnsupportedSignatureType(0x02))
    ));
    // A signature whose key ID does not match the known key is ignored (unknown key).
    let wrong_id = SPEC_NOTE.replace(" Uw2QOkn8", " Vw2QOkn8");
    let note = Note::parse(wrong_id.as_bytes()).unwrap();
    assert_eq!(note.verify(&[v]), Err(NoteError::NoKnownSignature));

    // Checkpoint bodies
    for (text, want) in [
        ("a\n1\n", CheckpointError::TooFewLines),
        (
            "a\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            CheckpointError::BadSize,
        ),
        (
            "a\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            CheckpointError::BadSize,
        ),
        (
            "a\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            CheckpointError::BadSize,
        ),
        (
            "a\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
            CheckpointError::BadRoot,
        ),
        (
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            CheckpointError::EmptyOrigin,
        ),
        (
            "a\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n",
            CheckpointError::EmptyExtension,
        ),
        (
            "a\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            CheckpointError::TooFewLines,
        ),
    ] {
        assert_eq!(Checkpoint::from_text(text), Err(want), "{text:?}");
    }
}
