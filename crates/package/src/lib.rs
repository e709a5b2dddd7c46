//! App tarballs (`NAME.vVERSION.tar.gz`): naming rules, the buildfile, reproducible builds,
//! the checker, safe extraction into a staging directory, and ed25519 signatures.
//!
//! Main entry points (the crate README shows the `gwe -x/-y/-w/-z` wiring):
//! - [`TarballName`]: the `<NAME>.v<VERSION>.tar.gz` rule, with a typed [`NameError`];
//! - [`Buildfile`], [`create_buildfile`], [`check_buildfile`], [`build_app_tarball`]: the
//!   developer tools (reproducible `.tar.gz`);
//! - [`check_tarball`]: every problem of a tarball at once, as `[PASS]`/`[FAIL]` lines or JSON;
//! - [`extract_tarball`] / [`extract_reader`]: one streaming pass into a fresh staging directory,
//!   hashed, limited ([`Limits`]), refusing unsafe entries ([`UnsafeEntry`]);
//! - [`sha256_file`], [`HashingReader`]: streaming SHA-256;
//! - [`generate_keypair`], [`sign_tarball`], [`verify_tarball`], [`TrustedKeys`]: ed25519;
//! - [`cli`]: the bodies of the four `gwe` flags.
#![deny(missing_docs)]

mod build;
mod buildfile;
mod check;
pub mod cli;
mod digest;
mod error;
mod extract;
mod limits;
mod name;
mod report;
mod safety;
mod sign;
mod stream;

pub use build::{
    build_app_tarball, check_buildfile, source_date_epoch, BuildError, BuildOptions, BuildOutcome,
    BuildfileReport,
};
pub use buildfile::{
    create_buildfile, creation_summary, prompt_buildfile_answers, Buildfile, BuildfileAnswers,
    BuildfileError, DEFAULT_APP_NAME, DEFAULT_APP_VERSION, DEFAULT_BUILDFILE,
    DEFAULT_BUILDFILE_ANSWER, MAX_BUILDFILE_BYTES,
};
pub use check::{
    check_extracted, check_tarball, check_tarball_reader, AppKind, TarballReport, INSTALL_SCRIPT,
    MAX_SUPERVISOR_CONF, SETUP_PY, SUPERVISORD_SECTION, SUPERVISOR_CONF,
};
pub use digest::{sha256_file, sha256_reader, HashingReader, StreamDigest};
pub use error::ExtractError;
pub use extract::{extract_reader, extract_reader_prehashed, extract_tarball, Extracted};
pub use limits::Limits;
pub use name::{NameError, TarballName, MAX_FILE_NAME_LEN, TARBALL_SUFFIX, VERSION_SEPARATOR};
pub use report::{CheckLine, CheckLines, Status};
pub use safety::UnsafeEntry;
pub use sign::{
    generate_keypair, sign_tarball, signature_path, verify_digest, verify_tarball, KeyPair,
    SignatureError, TrustedKeys, Verified, PRIVATE_KEY_SUFFIX, PUBLIC_KEY_SUFFIX, SIGNATURE_SUFFIX,
};
