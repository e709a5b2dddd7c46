//! Ed25519 signatures: key files, sign, verify good / bad / unsigned / unknown key / renamed.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use gwe_package::{
    extract_tarball, generate_keypair, sign_tarball, signature_path, verify_digest, verify_tarball,
    Limits, SignatureError, TrustedKeys,
};

struct Setup {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    trusted: std::path::PathBuf,
    tarball: std::path::PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let trusted = root.join("trusted");
    fs::create_dir(&trusted).unwrap();
    let tarball = write(
        &root,
        "app.v1.tar.gz",
        &targz(&[file("install.sh", 0o755, INSTALL)]),
    );
    Setup {
        _tmp: tmp,
        root,
        trusted,
        tarball,
    }
}

fn trust(s: &Setup, pubkey: &Path) -> TrustedKeys {
    fs::copy(pubkey, s.trusted.join(pubkey.file_name().unwrap())).unwrap();
    TrustedKeys::load_dir(&s.trusted).unwrap()
}

#[test]
fn keypair_files_and_modes() {
    let s = setup();
    let kp = generate_keypair(&s.root, "release").unwrap();
    assert_eq!(kp.key_id.len(), 16);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&kp.private_key), 0o600);
    assert_eq!(mode(&kp.public_key), 0o644);
    let public = fs::read_to_string(&kp.public_key).unwrap();
    assert!(
        public.contains(&format!("key-id: {}\n", kp.key_id))
            && public.contains("algorithm: ed25519")
    );
    assert!(!public.contains("private"));
    assert!(matches!(
        generate_keypair(&s.root, "release"),
        Err(SignatureError::KeyExists(_))
    ));
    let other = generate_keypair(&s.root, "other").unwrap();
    assert_ne!(other.key_id, kp.key_id);
}

#[test]
fn good_signature_verifies() {
    let s = setup();
    let kp = generate_keypair(&s.root, "release").unwrap();
    let sig = sign_tarball(&s.tarball, &kp.private_key).unwrap();
    assert_eq!(sig, signature_path(&s.tarball));
    assert!(sig.to_str().unwrap().ends_with("app.v1.tar.gz.sig"));
    let text = fs::read_to_string(&sig).unwrap();
    assert!(text.contains("file: app.v1.tar.gz\n"), "{text}");
    let keys = trust(&s, &kp.public_key);
    let v = verify_tarball(&s.tarball, &keys).unwrap();
    assert_eq!(v.key_id, kp.key_id);
    assert_eq!(v.sha256, gwe_package::sha256_file(&s.tarball).unwrap());

    // The one-pass digest from extraction verifies the same signature.
    let x = extract_tarball(&s.tarball, &s.root.join("stage"), &Limits::default()).unwrap();
    assert_eq!(
        verify_digest("app.v1.tar.gz", &x.sha256, &text, &keys).unwrap(),
        v
    );
}

#[test]
fn unsigned_tarball_is_refused() {
    let s = setup();
    let kp = generate_keypair(&s.root, "release").unwrap();
    let keys = trust(&s, &kp.public_key);
    assert!(matches!(
        verify_tarball(&s.tarball, &keys),
        Err(SignatureError::Unsigned { .. })
    ));
}

#[test]
fn modified_tarball_and_forged_signature_are_bad() {
    let s = setup();
    let kp = generate_keypair(&s.root, "release").unwrap();
    let keys = trust(&s, &kp.public_key);
    let sig = sign_tarball(&s.tarball, &kp.private_key).unwrap();
    let original = fs::read_to_string(&sig).unwrap();

    // Tarball replaced after signing.
    let good = fs::read(&s.tarball).unwrap();
    fs::write(
        &s.tarball,
        targz(&[file("install.sh", 0o755, b"#!/bin/sh\nrm -rf /\n")]),
    )
    .unwrap();
    assert!(matches!(
        verify_tarball(&s.tarball, &keys),
        Err(SignatureError::BadSignature { .. })
    ));
    fs::write(&s.tarball, &good).unwrap();
    verify_tarball(&s.tarball, &keys).unwrap();

    // sha256 line edited to match an evil tarball: the signature no longer verifies.
    let evil = targz(&[file("install.sh", 0o755, b"#!/bin/sh\nevil\n")]);
    let evil_sha = gwe_package::sha256_reader(&evil[..]).unwrap().0;
    let good_sha = gwe_package::sha256_file(&s.tarball).unwrap();
    let edited = original.replace(&good_sha, &evil_sha);
    let r = verify_digest("app.v1.tar.gz", &evil_sha, &edited, &keys);
    assert!(
        matches!(r, Err(SignatureError::BadSignature { reason, .. }) if reason.contains("ed25519")),
        "{r:?}"
    );

    // One flipped signature bit.
    let line = original
        .lines()
        .find(|l| l.starts_with("signature: "))
        .unwrap();
    let mut raw = base64_decode(&line["signature: ".len()..]);
    raw[10] ^= 1;
    let forged = original.replace(line, &format!("signature: {}", base64_encode(&raw)));
    fs::write(&sig, forged).unwrap();
    assert!(matches!(
        verify_tarball(&s.tarball, &keys),
        Err(SignatureError::BadSignature { .. })
    ));
}

#[test]
fn unknown_key_and_impersonated_key_id() {
    let s = setup();
    let trusted = generate_keypair(&s.root, "trusted").unwrap();
    let stranger = generate_keypair(&s.root, "stranger").unwrap();
    let keys = trust(&s, &trusted.public_key);
    let sig = sign_tarball(&s.tarball, &stranger.private_key).unwrap();
    match verify_tarball(&s.tarball, &keys) {
        Err(SignatureError::UnknownKey { key_id, trusted: t }) => {
            assert_eq!(key_id, stranger.key_id);
            assert_eq!(t, trusted.key_id);
        }
        other => panic!("{other:?}"),
    }
    // The stranger claims the trusted key's id: the signature does not verify under that key.
    let text = fs::read_to_string(&sig)
        .unwrap()
        .replace(&stranger.key_id, &trusted.key_id);
    fs::write(&sig, text).unwrap();
    assert!(matches!(
        verify_tarball(&s.tarball, &keys),
        Err(SignatureError::BadSignature { .. })
    ));
}

#[test]
fn renamed_tarball_is_refused() {
    let s = setup();
    let kp = generate_keypair(&s.root, "release").unwrap();
    let keys = trust(&s, &kp.public_key);
    let sig = sign_tarball(&s.tarball, &kp.private_key).unwrap();
    let renamed = s.root.join("app.v2.tar.gz");
    fs::copy(&s.tarball, &renamed).unwrap();
    fs::copy(&sig, signature_path(&renamed)).unwrap();
    assert!(matches!(
        verify_tarball(&renamed, &keys),
        Err(SignatureError::WrongFile { .. })
    ));
}

#[test]
fn malformed_files_and_empty_key_directories() {
    let s = setup();
    assert!(matches!(
        TrustedKeys::load_dir(&s.trusted),
        Err(SignatureError::NoTrustedKeys(_))
    ));
    let kp = generate_keypair(&s.root, "release").unwrap();
    let keys = trust(&s, &kp.public_key);
    let sig = signature_path(&s.tarball);
    for junk in [
        "",
        "garbage",
        "algorithm: rsa\n",
        "algorithm: ed25519\nkey-id: x\n",
        "algorithm: ed25519\nkey-id: x\nfile: a\nsha256: b\nsignature: !!!\n",
    ] {
        fs::write(&sig, junk).unwrap();
        let r = verify_tarball(&s.tarball, &keys);
        assert!(
            matches!(r, Err(SignatureError::Malformed { .. })),
            "{junk:?}: {r:?}"
        );
    }
    fs::write(
        s.trusted.join("broken.pub"),
        "algorithm: ed25519\nkey-id: 00\npublic-key: AAAA\n",
    )
    .unwrap();
    assert!(matches!(
        TrustedKeys::load_dir(&s.trusted),
        Err(SignatureError::Malformed { .. })
    ));
    // A public key whose key-id line lies is refused too.
    let text = fs::read_to_string(&kp.public_key)
        .unwrap()
        .replace(&kp.key_id, "0000000000000000");
    fs::write(s.trusted.join("broken.pub"), text).unwrap();
    assert!(matches!(
        TrustedKeys::load_dir(&s.trusted),
        Err(SignatureError::Malformed { .. })
    ));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}
