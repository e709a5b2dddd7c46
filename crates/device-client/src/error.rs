//! Errors of the device client.

use std::path::PathBuf;
use std::time::Duration;

use gwe_device_api::{Procedure, RecordConflict, WireError};

/// What went wrong with a call. Transport problems ([`Error::Network`],
/// [`Error::Timeout`]) are worth retrying later; the others need a change first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: the CIK is missing or no longer valid; the device must activate again.
    #[error("{procedure}: the server refused the CIK (401): the device must activate again")]
    NeedsActivation {
        /// The call that was refused.
        procedure: Procedure,
    },
    /// Activation got 404: the identity is not known to the product.
    #[error("activate: identity {sn:?} is not known to the product (404)")]
    UnknownIdentity {
        /// The serial number sent.
        sn: String,
    },
    /// Activation got 409: the identity is not enabled (already activated, or its
    /// activation window expired).
    #[error("activate: identity {sn:?} is not enabled for activation (409: already activated or window expired)")]
    NotEnabled {
        /// The serial number sent.
        sn: String,
    },
    /// Record got 409: points of one alias less than a second apart.
    #[error(
        "record: points less than one second apart (409): {}",
        gwe_device_api::record::format_conflicts(conflicts)
    )]
    RecordConflict {
        /// The conflicting points the server named.
        conflicts: Vec<RecordConflict>,
    },
    /// Any other unexpected HTTP status.
    #[error("{procedure}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The call.
        procedure: Procedure,
        /// HTTP status code.
        status: u16,
        /// The response body (truncated to 512 characters).
        body: String,
    },
    /// The connection could not be made or broke.
    #[error("{procedure} to {server}: network failure: {message}")]
    Network {
        /// The call.
        procedure: Procedure,
        /// `scheme://host:port` of the server.
        server: String,
        /// What happened (the error chain, flattened).
        message: String,
        /// True when the request provably did not go out (connect failure), so even a
        /// write may be re-sent.
        not_sent: bool,
    },
    /// No answer in time.
    #[error("{procedure}: no answer within {after:?}")]
    Timeout {
        /// The call.
        procedure: Procedure,
        /// The limit that expired.
        after: Duration,
    },
    /// The server answered something this client cannot use.
    #[error("{procedure}: bad server response: {reason}")]
    BadResponse {
        /// The call.
        procedure: Procedure,
        /// Why it was rejected.
        reason: String,
    },
    /// The call needs a CIK and none is set.
    #[error("{procedure}: no CIK configured (activate first or pass one)")]
    NoCik {
        /// The call.
        procedure: Procedure,
    },
    /// The arguments cannot be sent (e.g. a Request-Timeout above 300000 ms).
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] WireError),
    /// Invalid client configuration (URL, TLS roots...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A local file could not be used.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// True for failures where trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NeedsActivation { .. } => Some(401),
            Error::UnknownIdentity { .. } => Some(404),
            Error::NotEnabled { .. } | Error::RecordConflict { .. } => Some(409),
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Flattens an error and its sources into one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
