//! The three reports the engine writes each cycle: [`device_info`], [`engine_report`] and
//! [`usage_report`], plus [`system`], the readers of kernel facts they use. Their JSON
//! schemas are in docs/reports.md.

pub mod device_info;
pub mod engine_report;
pub mod system;
pub mod usage_report;

use sha2::{Digest, Sha256};

/// A stable digest of a JSON value (serde_json maps are sorted, so equal content hashes
/// equally): reports are compared by the digest of their fingerprint.
pub fn digest(value: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}
