//! App tarballs (`NAME.vVERSION.tar.gz`): naming rules, the buildfile, reproducible builds,
//! the checker, safe extraction into a staging directory, and ed25519 signatures.
#![deny(missing_docs)]
