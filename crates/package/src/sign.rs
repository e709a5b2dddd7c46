//! Ed25519 signatures of app tarballs: key generation, detached `<tarball>.sig` files, and
//! verification against a directory of trusted public keys.
//!
//! All three files are small UTF-8 texts of `key: value` lines (`#` lines are comments, unknown
//! keys are ignored so the format can grow):
//!
//! ```text
//! # NAME.pub                        # NAME.key (mode 0600)          # TARBALL.sig
//! algorithm: ed25519                algorithm: ed25519              algorithm: ed25519
//! key-id: 3f2a9c0d1b7e4a55          key-id: 3f2a9c0d1b7e4a55        key-id: 3f2a9c0d1b7e4a55
//! public-key: <base64, 32 bytes>    private-key: <base64 seed, 32>  file: my_app.v1.tar.gz
//!                                                                   sha256: <hex of the tarball>
//!                                                                   signature: <base64, 64 bytes>
//! ```
//!
//! `key-id` is the hex of the first 8 bytes of SHA-256(public key). The signed message is
//! `gwe-tarball-signature-v1\nfile: <FILE NAME>\nsha256: <HEX>\n`, so a signature also binds the
//! file name: renaming `app.v1.tar.gz` to `app.v2.tar.gz` breaks it. The tarball is hashed in a
//! streaming fashion, never loaded whole.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Suffix of detached signature files.
pub const SIGNATURE_SUFFIX: &str = ".sig";
/// Suffix of public key files in a trusted-keys directory.
pub const PUBLIC_KEY_SUFFIX: &str = ".pub";
/// Suffix of private key files.
pub const PRIVATE_KEY_SUFFIX: &str = ".key";
const ALGORITHM: &str = "ed25519";
const MESSAGE_PREFIX: &str = "gwe-tarball-signature-v1\n";
const MAX_TEXT_FILE: u64 = 64 * 1024;

/// Why signing or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// No `<tarball>.sig` next to the tarball.
    #[error("`{tarball}` is unsigned: no signature file `{signature}`")]
    Unsigned {
        /// The tarball.
        tarball: PathBuf,
        /// Where the signature was looked for.
        signature: PathBuf,
    },
    /// The signature does not verify (tampered tarball, wrong signature, forged file).
    #[error("bad signature for `{file}` (key {key_id}): {reason}")]
    BadSignature {
        /// The signed file name.
        file: String,
        /// The key the signature names.
        key_id: String,
        /// What did not match.
        reason: &'static str,
    },
    /// The signature was made for another file name.
    #[error("signature is for `{signed}`, not `{file}`")]
    WrongFile {
        /// The file being verified.
        file: String,
        /// The file name inside the signature.
        signed: String,
    },
    /// The signing key is not among the trusted keys.
    #[error("signed by unknown key {key_id} (trusted: {trusted})")]
    UnknownKey {
        /// The key the signature names.
        key_id: String,
        /// The trusted key ids, comma separated.
        trusted: String,
    },
    /// No trusted public key was found.
    #[error("no trusted public keys (*.pub) in `{0}`")]
    NoTrustedKeys(PathBuf),
    /// A key or signature file is not in the documented format.
    #[error("`{path}`: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Key generation refuses to overwrite.
    #[error("`{0}` already exists")]
    KeyExists(PathBuf),
    /// A filesystem operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SignatureError {
    let path = path.to_path_buf();
    move |source| SignatureError::Io {
        action,
        path,
        source,
    }
}

/// `<tarball>.sig`.
pub fn signature_path(tarball: &Path) -> PathBuf {
    let mut s = tarball.as_os_str().to_owned();
    s.push(SIGNATURE_SUFFIX);
    PathBuf::from(s)
}

/// Hex of the first 8 bytes of SHA-256 of the public key.
fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn message(file: &str, sha256: &str) -> Vec<u8> {
    format!("{MESSAGE_PREFIX}file: {file}\nsha256: {sha256}\n").into_bytes()
}

/// Parsed `key: value` lines.
struct Fields {
    path: PathBuf,
    map: BTreeMap<String, String>,
}

impl Fields {
    fn parse(text: &str, path: &Path) -> Result<Self, SignatureError> {
        let mut map = BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| SignatureError::Malformed {
                    path: path.into(),
                    reason: format!("line {line:?} is not `key: value`"),
                })?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        let f = Self {
            path: path.into(),
            map,
        };
        if f.get("algorithm")? != ALGORITHM {
            return Err(f.malformed("algorithm must be `ed25519`"));
        }
        Ok(f)
    }

    fn read(path: &Path) -> Result<Self, SignatureError> {
        let file = fs::File::open(path).map_err(io_err("open", path))?;
        let mut text = String::new();
        file.take(MAX_TEXT_FILE + 1)
            .read_to_string(&mut text)
            .map_err(io_err("read", path))?;
        if text.len() as u64 > MAX_TEXT_FILE {
            return Err(SignatureError::Malformed {
                path: path.into(),
                reason: "too large".into(),
            });
        }
        Self::parse(&text, path)
    }

    fn malformed(&self, reason: &str) -> SignatureError {
        SignatureError::Malformed {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn get(&self, key: &str) -> Result<&str, SignatureError> {
        self.map
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.malformed(&format!("missing `{key}:` line")))
    }

    fn bytes<const N: usize>(&self, key: &str) -> Result<[u8; N], SignatureError> {
        let raw = B64
            .decode(self.get(key)?)
            .map_err(|e| self.malformed(&format!("`{key}` is not base64: {e}")))?;
        raw.try_into()
            .map_err(|_| self.malformed(&format!("`{key}` must be {N} bytes")))
    }
}

fn parse_public_key(f: &Fields) -> Result<(String, VerifyingKey), SignatureError> {
    let key = VerifyingKey::from_bytes(&f.bytes::<32>("public-key")?)
        .map_err(|_| f.malformed("not a valid ed25519 public key"))?;
    let id = key_id(&key);
    if f.get("key-id")? != id {
        return Err(f.malformed("key-id does not match the key"));
    }
    Ok((id, key))
}

/// Paths of a generated key pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyPair {
    /// The key id (16 hex digits).
    pub key_id: String,
    /// `<dir>/<name>.key`, mode 0600.
    pub private_key: PathBuf,
    /// `<dir>/<name>.pub`: copy it into the gateways' trusted-keys directory.
    pub public_key: PathBuf,
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), SignatureError> {
    let mut f = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(SignatureError::KeyExists(path.into()))
        }
        Err(e) => return Err(io_err("create", path)(e)),
    };
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("set permissions of", path))?;
    f.write_all(text.as_bytes())
        .map_err(io_err("write", path))?;
    f.sync_all().map_err(io_err("sync", path))
}

/// Generates a key pair as `<dir>/<name>.key` (0600) and `<dir>/<name>.pub`; never overwrites.
pub fn generate_keypair(dir: &Path, name: &str) -> Result<KeyPair, SignatureError> {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let signing = SigningKey::from_bytes(&seed);
    let public = signing.verifying_key();
    let id = key_id(&public);
    let private_key = dir.join(format!("{name}{PRIVATE_KEY_SUFFIX}"));
    let public_key = dir.join(format!("{name}{PUBLIC_KEY_SUFFIX}"));
    for p in [&private_key, &public_key] {
        if p.exists() {
            return Err(SignatureError::KeyExists(p.clone()));
        }
    }
    write_new(
        &private_key,
        &format!(
            "# gwe ed25519 private key: keep it secret\nalgorithm: {ALGORITHM}\nkey-id: {id}\nprivate-key: {}\n",
            B64.encode(seed)
        ),
        0o600,
    )?;
    write_new(
        &public_key,
        &format!(
            "# gwe ed25519 public key\nalgorithm: {ALGORITHM}\nkey-id: {id}\npublic-key: {}\n",
            B64.encode(public.as_bytes())
        ),
        0o644,
    )?;
    Ok(KeyPair {
        key_id: id,
        private_key,
        public_key,
    })
}

fn file_name_of(tarball: &Path) -> Result<String, SignatureError> {
    tarball
        .file_name()
        .and_then(|f| f.to_str())
        .map(str::to_string)
        .ok_or_else(|| SignatureError::Malformed {
            path: tarball.into(),
            reason: "not a UTF-8 file name".into(),
        })
}

/// Signs `tarball` with the private key file, writing `<tarball>.sig` (replacing an old one).
/// Returns the signature path.
pub fn sign_tarball(tarball: &Path, private_key: &Path) -> Result<PathBuf, SignatureError> {
    let f = Fields::read(private_key)?;
    let signing = SigningKey::from_bytes(&f.bytes::<32>("private-key")?);
    let id = key_id(&signing.verifying_key());
    if f.get("key-id")? != id {
        return Err(f.malformed("key-id does not match the key"));
    }
    let file = file_name_of(tarball)?;
    let sha256 = crate::sha256_file(tarball).map_err(io_err("hash", tarball))?;
    let signature = signing.sign(&message(&file, &sha256));
    let text = format!(
        "# gwe tarball signature\nalgorithm: {ALGORITHM}\nkey-id: {id}\nfile: {file}\nsha256: {sha256}\nsignature: {}\n",
        B64.encode(signature.to_bytes())
    );
    let sig = signature_path(tarball);
    let tmp = signature_path(&sig);
    fs::write(&tmp, text).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &sig).map_err(io_err("rename into place", &sig))?;
    Ok(sig)
}

/// The public keys a gateway trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustedKeys {
    /// Loads every `*.pub` file of `dir`. A malformed key file is an error (fail closed, named);
    /// a directory without keys is [`SignatureError::NoTrustedKeys`].
    pub fn load_dir(dir: &Path) -> Result<Self, SignatureError> {
        let mut keys = Self::default();
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io_err("list trusted keys in", dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == &PUBLIC_KEY_SUFFIX[1..]))
            .collect();
        paths.sort();
        for p in paths {
            keys.add_file(&p)?;
        }
        if keys.keys.is_empty() {
            return Err(SignatureError::NoTrustedKeys(dir.into()));
        }
        Ok(keys)
    }

    /// Adds one public key file; returns its key id.
    pub fn add_file(&mut self, path: &Path) -> Result<String, SignatureError> {
        let (id, key) = parse_public_key(&Fields::read(path)?)?;
        self.keys.insert(id.clone(), key);
        Ok(id)
    }

    /// The trusted key ids, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }
}

/// A verified signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// The key that signed.
    pub key_id: String,
    /// The tarball's file name.
    pub file: String,
    /// The tarball's SHA-256.
    pub sha256: String,
}

/// Verifies `<tarball>.sig` against `keys`, hashing the tarball in a streaming fashion.
pub fn verify_tarball(tarball: &Path, keys: &TrustedKeys) -> Result<Verified, SignatureError> {
    let sig = signature_path(tarball);
    if !sig.exists() {
        return Err(SignatureError::Unsigned {
            tarball: tarball.into(),
            signature: sig,
        });
    }
    let fields = Fields::read(&sig)?;
    let file = file_name_of(tarball)?;
    let sha256 = crate::sha256_file(tarball).map_err(io_err("hash", tarball))?;
    verify_fields(&fields, &file, &sha256, keys)
}

/// Verifies signature text against a tarball known by file name and SHA-256 (hex), e.g. the
/// digest computed while extracting ([`crate::Extracted::sha256`]).
pub fn verify_digest(
    file: &str,
    sha256: &str,
    signature_text: &str,
    keys: &TrustedKeys,
) -> Result<Verified, SignatureError> {
    let fields = Fields::parse(
        signature_text,
        Path::new(&format!("{file}{SIGNATURE_SUFFIX}")),
    )?;
    verify_fields(&fields, file, sha256, keys)
}

fn verify_fields(
    f: &Fields,
    file: &str,
    sha256: &str,
    keys: &TrustedKeys,
) -> Result<Verified, SignatureError> {
    let key_id = f.get("key-id")?.to_string();
    let signature = Signature::from_bytes(&f.bytes::<64>("signature")?);
    let signed_file = f.get("file")?;
    let signed_sha = f.get("sha256")?;
    let key = keys
        .keys
        .get(&key_id)
        .ok_or_else(|| SignatureError::UnknownKey {
            key_id: key_id.clone(),
            trusted: keys.key_ids().join(", "),
        })?;
    if signed_file != file {
        return Err(SignatureError::WrongFile {
            file: file.into(),
            signed: signed_file.into(),
        });
    }
    let bad = |reason| SignatureError::BadSignature {
        file: file.into(),
        key_id: key_id.clone(),
        reason,
    };
    if !signed_sha.eq_ignore_ascii_case(sha256) {
        return Err(bad(
            "the tarball's SHA-256 differs from the signed one (modified)",
        ));
    }
    key.verify_strict(&message(file, signed_sha), &signature)
        .map_err(|_| bad("ed25519 verification failed"))?;
    Ok(Verified {
        key_id,
        file: file.into(),
        sha256: sha256.to_ascii_lowercase(),
    })
}
