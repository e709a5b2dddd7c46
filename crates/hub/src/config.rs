//! Hub configuration: what `gwe-hub serve` flags and in-process callers (tests, `gwe demo`) set.

use std::path::PathBuf;

/// Name of the SQLite database file inside the data directory.
pub const DB_FILE: &str = "hub.db";
/// Directory of content blobs inside the data directory.
pub const BLOB_DIR: &str = "content";
/// File holding the operator bearer token (mode 0600) inside the data directory.
pub const OPERATOR_TOKEN_FILE: &str = "operator-token";

/// TLS certificate chain and private key, both PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Everything the hub needs to run. Build with [`HubConfig::new`] and adjust fields.
/// `Debug` redacts the operator token.
#[derive(Clone)]
pub struct HubConfig {
    /// Data directory holding the database, blobs and the operator token; created if missing.
    pub data_dir: PathBuf,
    /// Product created at first start and used when a call names none. Default `"default"`.
    pub default_product: String,
    /// Points kept per alias (a few more may exist between trims). Default 100.
    pub history_limit: u32,
    /// Largest accepted device/operator request body other than content uploads. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest content blob accepted by an upload. Default 1 GiB.
    pub max_content_bytes: u64,
    /// Writes to aliases no spec defined create them (true, the default, so a fresh hub just
    /// works) or are dropped silently like on Murano (false).
    pub create_aliases: bool,
    /// TLS files; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Operator token to use instead of the one stored in the data directory (tests, demo).
    pub operator_token: Option<String>,
}

impl std::fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubConfig")
            .field("data_dir", &self.data_dir)
            .field("default_product", &self.default_product)
            .field("history_limit", &self.history_limit)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_content_bytes", &self.max_content_bytes)
            .field("create_aliases", &self.create_aliases)
            .field("tls", &self.tls)
            .field(
                "operator_token",
                &self.operator_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl HubConfig {
    /// Defaults for a hub keeping its data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> HubConfig {
        HubConfig {
            data_dir: data_dir.into(),
            default_product: "default".to_string(),
            history_limit: 100,
            max_body_bytes: 1 << 20,
            max_content_bytes: 1 << 30,
            create_aliases: true,
            tls: None,
            operator_token: None,
        }
    }

    /// Path of the SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join(DB_FILE)
    }

    /// Path of the blob directory.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join(BLOB_DIR)
    }

    /// Path of the operator token file.
    pub fn operator_token_path(&self) -> PathBuf {
        self.data_dir.join(OPERATOR_TOKEN_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_operator_token() {
        let mut c = HubConfig::new("/d");
        c.operator_token = Some("s3cret-token".into());
        let text = format!("{c:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("<redacted>"));
        assert_eq!(c.db_path(), std::path::Path::new("/d/hub.db"));
    }
}
