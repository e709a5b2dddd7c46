//! Resource limits applied while reading a tarball (gzip-bomb and inode-exhaustion defence).

/// Limits for reading one tarball. Defaults suit a gateway with little flash and RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Most bytes the decompressed tar stream may have (headers included). Default 256 MiB.
    pub max_uncompressed_bytes: u64,
    /// Most entries (files, directories, links). Default 10 000.
    pub max_entries: u64,
    /// Longest entry path in bytes. Default 1024.
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_uncompressed_bytes: 256 * 1024 * 1024,
            max_entries: 10_000,
            max_path_len: 1024,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_uncompressed_bytes`] (default 256 MiB).
    pub fn with_max_uncompressed_bytes(mut self, bytes: u64) -> Self {
        self.max_uncompressed_bytes = bytes;
        self
    }

    /// Sets [`Limits::max_entries`] (default 10 000).
    pub fn with_max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// Sets [`Limits::max_path_len`] (default 1024).
    pub fn with_max_path_len(mut self, len: usize) -> Self {
        self.max_path_len = len;
        self
    }
}
