//! Errors of reading and extracting tarballs.

use std::io;
use std::path::PathBuf;

use crate::safety::UnsafeEntry;

/// Why a tarball could not be read or extracted. On any of these the staging directory is gone.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A filesystem operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The input does not start with the gzip magic bytes.
    #[error("not a gzip file (it does not start with the bytes 1f 8b)")]
    NotGzip,
    /// The gzip stream or an entry's data ends early.
    #[error("truncated archive: the gzip stream or an entry's data ends early")]
    Truncated,
    /// Invalid gzip or tar data.
    #[error("corrupt archive: {0}")]
    Corrupt(String),
    /// Decompressed size over [`crate::Limits::max_uncompressed_bytes`] (gzip bomb defence).
    #[error("archive is larger than {limit} bytes once decompressed (limit; gzip bomb defence)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// More entries than [`crate::Limits::max_entries`].
    #[error("archive has more than {limit} entries (limit)")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// An entry refused by the safety policy.
    #[error("refused: {0}")]
    Unsafe(#[from] UnsafeEntry),
    /// An entry replaces an earlier one of another type (e.g. a file over a directory).
    #[error("entry `{entry}` conflicts with an earlier entry of another type")]
    Conflict {
        /// Entry path as stored.
        entry: String,
    },
    /// The staging directory exists already (it is never reused, so nothing stale mixes in).
    #[error("staging directory `{0}` already exists")]
    StagingExists(PathBuf),
}

impl ExtractError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
