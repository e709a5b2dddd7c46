//! Which certificate authorities the client trusts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;

use crate::Error;

/// Trust anchors for `https` servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsRoots {
    /// Mozilla's roots compiled into the binary (`webpki-roots`): works on gateways
    /// whose OS certificate store is missing or stale. The default.
    #[default]
    Bundled,
    /// The operating system's store (`rustls-native-certs`, e.g. /etc/ssl/certs).
    System,
    /// Only the CA certificates in this PEM file (a private hub's own CA).
    CaFile(PathBuf),
}

impl TlsRoots {
    /// Parses the CLI / config spelling: `bundled`, `system`, or a PEM file path.
    pub fn parse(s: &str) -> TlsRoots {
        match s {
            "bundled" | "webpki" | "" => TlsRoots::Bundled,
            "system" | "native" => TlsRoots::System,
            path => TlsRoots::CaFile(PathBuf::from(path)),
        }
    }

    /// Parses the `tls_roots` value of `Engine.config`: as [`TlsRoots::parse`], but a
    /// PEM file must be named by an absolute path (a relative one would depend on the
    /// directory the reading program happens to start in). The engine refuses a config
    /// that breaks this; `gdc` ignores the value, with a warning.
    pub fn from_config(value: &str) -> Result<TlsRoots, String> {
        let roots = TlsRoots::parse(value);
        if let TlsRoots::CaFile(path) = &roots {
            if !path.is_absolute() || value.chars().any(char::is_control) {
                return Err("expected bundled, system or the absolute path of a PEM file".into());
            }
        }
        Ok(roots)
    }
}

/// The spelling [`TlsRoots::parse`] reads back.
impl std::fmt::Display for TlsRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsRoots::Bundled => f.write_str("bundled"),
            TlsRoots::System => f.write_str("system"),
            TlsRoots::CaFile(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Builds the rustls configuration (ring provider, TLS 1.2 and 1.3); the one
/// place that turns [`TlsRoots`] into trust, for the device client and for
/// the hub's operator CLI.
pub fn client_config(roots: &TlsRoots) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut store = RootCertStore::empty();
    match roots {
        TlsRoots::Bundled => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        TlsRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!("system certificate store: {e}");
            }
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(Error::Config(
                    "no usable certificate in the system store".into(),
                ));
            }
        }
        TlsRoots::CaFile(path) => add_pem_file(&mut store, path)?,
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn add_pem_file(store: &mut RootCertStore, path: &Path) -> Result<(), Error> {
    let pem = std::fs::read(path).map_err(|source| Error::Io {
        what: "reading CA file",
        path: path.to_path_buf(),
        source,
    })?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|source| Error::Io {
            what: "parsing CA file",
            path: path.to_path_buf(),
            source,
        })?;
        store.add(cert).map_err(|e| {
            Error::Config(format!("CA file {}: bad certificate: {e}", path.display()))
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(Error::Config(format!(
            "CA file {}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spellings() {
        assert_eq!(TlsRoots::parse("bundled"), TlsRoots::Bundled);
        assert_eq!(TlsRoots::parse("native"), TlsRoots::System);
        assert_eq!(
            TlsRoots::parse("/x/ca.pem"),
            TlsRoots::CaFile("/x/ca.pem".into())
        );
        for roots in [
            TlsRoots::Bundled,
            TlsRoots::System,
            TlsRoots::CaFile("/x/ca.pem".into()),
        ] {
            assert_eq!(TlsRoots::parse(&roots.to_string()), roots);
        }
    }

    #[test]
    fn bundled_roots_build() {
        assert!(client_config(&TlsRoots::Bundled).is_ok());
    }

    #[test]
    fn bad_ca_files_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            client_config(&TlsRoots::CaFile(missing)),
            Err(Error::Io { .. })
        ));
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, b"not a certificate\n").unwrap();
        assert!(client_config(&TlsRoots::CaFile(garbage)).is_err());
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(client_config(&TlsRoots::CaFile(broken)).is_err());
    }
}
