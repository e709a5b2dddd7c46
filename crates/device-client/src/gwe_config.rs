//! Server and identity from the engine's configuration, so an app's script can run
//! `gdc write <CIK> <alias> <value>` without naming a server.
//!
//! Files in the config directory (`$GWE_CONFIG_DIR`, default `/etc/gwe`):
//! - `Gateway.cfg`, section `[device]`: `cik`, `vendor`, `model`, `uuid`;
//! - `Engine.config`, section `[engine]`: `server_url`, `user_agent`, `audit_db`,
//!   `tls_roots` (`bundled`, `system` or the absolute path of a PEM file: a private
//!   hub's CA; any other value is ignored, with a warning, as the engine refuses it).
//!
//! An empty `server_url` means `https://<model>.m2.exosite.io` (Murano: the model is
//! the product id). A value written `''` counts as empty, as the engine prints it.
//! Both files are read with `gwe-ini` (Python RawConfigParser's dialect, as the
//! original engine wrote them). An unreadable or malformed file leaves its values
//! unset, with a warning.

use std::path::{Path, PathBuf};

/// Environment variable naming the config directory.
pub const CONFIG_DIR_ENV: &str = "GWE_CONFIG_DIR";
/// Default config directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/gwe";
/// The identity file.
pub const GATEWAY_CFG: &str = "Gateway.cfg";
/// The engine settings file.
pub const ENGINE_CONFIG: &str = "Engine.config";

/// What gdc takes from the engine's configuration; `None` = not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `[device] cik`.
    pub cik: Option<String>,
    /// `[device] vendor`.
    pub vendor: Option<String>,
    /// `[device] model`.
    pub model: Option<String>,
    /// `[device] uuid` (serial number).
    pub uuid: Option<String>,
    /// `[engine] server_url`.
    pub server_url: Option<String>,
    /// `[engine] user_agent`.
    pub user_agent: Option<String>,
    /// `[engine] audit_db`.
    pub audit_db: Option<PathBuf>,
    /// `[engine] tls_roots`.
    pub tls_roots: Option<crate::TlsRoots>,
}

/// `$GWE_CONFIG_DIR` when set and non-empty, else `/etc/gwe`.
pub fn config_dir() -> PathBuf {
    match std::env::var_os(CONFIG_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_CONFIG_DIR),
    }
}

impl GatewaySettings {
    /// Reads both files from `dir`; a missing or unreadable file leaves its values
    /// unset (gdc then asks for them on the command line).
    pub fn load(dir: &Path) -> GatewaySettings {
        let gw = read(&dir.join(GATEWAY_CFG));
        let engine_config = dir.join(ENGINE_CONFIG);
        let en = read(&engine_config);
        let get = |doc: &Option<gwe_ini::Ini>, section: &str, key: &str| {
            doc.as_ref()
                .and_then(|d| d.get(section, key))
                .map(|e| e.value.trim().to_string())
                .filter(|v| !v.is_empty() && v != "''" && v != "\"\"")
        };
        GatewaySettings {
            cik: get(&gw, "device", "cik"),
            vendor: get(&gw, "device", "vendor"),
            model: get(&gw, "device", "model"),
            uuid: get(&gw, "device", "uuid"),
            server_url: get(&en, "engine", "server_url"),
            user_agent: get(&en, "engine", "user_agent"),
            audit_db: get(&en, "engine", "audit_db").map(PathBuf::from),
            tls_roots: get(&en, "engine", "tls_roots").and_then(|r| {
                crate::TlsRoots::from_config(&r)
                    .map_err(|e| {
                        let file = engine_config.display();
                        tracing::warn!("ignoring tls_roots = {r} in {file}: {e}");
                    })
                    .ok()
            }),
        }
    }

    /// A client configuration for this gateway: server, CIK, vendor/model/uuid, trusted
    /// roots and the audit database (`audit_db`, else `$GWE_AUDIT_DB` / the default).
    /// `None` when no server can be derived.
    pub fn client_config(&self) -> Option<crate::ClientConfig> {
        let mut c = crate::ClientConfig::new(self.server()?);
        c.cik = self.cik.clone();
        c.vendor = self.vendor.clone();
        c.model = self.model.clone();
        c.sn = self.uuid.clone();
        if let Some(db) = &self.audit_db {
            c.audit = crate::audit::AuditConfig::at(db);
        }
        if let Some(roots) = &self.tls_roots {
            c.tls_roots = roots.clone();
        }
        Some(c)
    }

    /// `server_url`, or `https://<model>.m2.exosite.io` when only the product is known.
    pub fn server(&self) -> Option<String> {
        self.server_url.clone().or_else(|| {
            self.model
                .as_ref()
                .or(self.vendor.as_ref())
                .map(|p| format!("https://{p}.m2.exosite.io"))
        })
    }
}

/// The parsed file; `None` when missing (silently) or unreadable/malformed (warned).
fn read(path: &Path) -> Option<gwe_ini::Ini> {
    if !path.exists() {
        return None;
    }
    match gwe_ini::Ini::load(path) {
        Ok(ini) => Some(ini),
        Err(e) => {
            tracing::warn!("ignoring {}: {e}", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_device_and_engine_sections() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(GATEWAY_CFG),
            "[device]\ncik = abc\nmodel: prod1\nvendor = prod1\nuuid = 00:11:22\niface = ''\n# cik = nope\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(ENGINE_CONFIG),
            "[engine]\nserver_url = http://127.0.0.1:9\nuser_agent =\ntls_roots = /etc/gwe/hub-ca.pem\n",
        )
        .unwrap();
        let s = GatewaySettings::load(dir.path());
        assert_eq!(s.cik.as_deref(), Some("abc"));
        assert_eq!(s.model.as_deref(), Some("prod1"));
        assert_eq!(s.uuid.as_deref(), Some("00:11:22"));
        assert_eq!(s.user_agent, None);
        assert_eq!(s.server().as_deref(), Some("http://127.0.0.1:9"));
        let c = s.client_config().unwrap();
        assert_eq!(
            (c.base_url.as_str(), c.cik.as_deref(), c.sn.as_deref()),
            ("http://127.0.0.1:9", Some("abc"), Some("00:11:22"))
        );
        assert_eq!(
            c.tls_roots,
            crate::TlsRoots::CaFile("/etc/gwe/hub-ca.pem".into())
        );
        assert_eq!(
            GatewaySettings::default()
                .client_config()
                .map(|c| c.base_url),
            None
        );
    }

    #[test]
    fn missing_files_and_default_server() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            GatewaySettings::load(dir.path()),
            GatewaySettings::default()
        );
        std::fs::write(
            dir.path().join(GATEWAY_CFG),
            "[device]\nmodel = p9\ncik = ''\n",
        )
        .unwrap();
        let s = GatewaySettings::load(dir.path());
        assert_eq!(s.cik, None);
        assert_eq!(s.server().as_deref(), Some("https://p9.m2.exosite.io"));
    }

    #[test]
    fn tls_roots_follow_the_engines_rule() {
        // what the engine refuses (a relative path, control characters) is ignored
        // here, not resolved against gdc's working directory
        let dir = tempfile::tempdir().unwrap();
        for (value, want) in [
            ("system", Some(crate::TlsRoots::System)),
            (
                "/etc/gwe/ca.pem",
                Some(crate::TlsRoots::CaFile("/etc/gwe/ca.pem".into())),
            ),
            ("hub-ca.pem", None),
            ("./hub-ca.pem", None),
            ("/etc/gwe/ca\x07.pem", None),
        ] {
            std::fs::write(
                dir.path().join(ENGINE_CONFIG),
                format!("[engine]\nserver_url = http://127.0.0.1:9\ntls_roots = {value}\n"),
            )
            .unwrap();
            let s = GatewaySettings::load(dir.path());
            assert_eq!(s.tls_roots, want, "{value}");
            assert_eq!(
                s.server_url.as_deref(),
                Some("http://127.0.0.1:9"),
                "{value}"
            );
        }
    }

    #[test]
    fn malformed_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GATEWAY_CFG), "cik = before any section\n").unwrap();
        std::fs::write(dir.path().join(ENGINE_CONFIG), b"\xff\xfe[engine\n").unwrap();
        assert_eq!(
            GatewaySettings::load(dir.path()),
            GatewaySettings::default()
        );
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::create_dir(dir.path().join("sub").join(GATEWAY_CFG)).unwrap();
        assert_eq!(
            GatewaySettings::load(&dir.path().join("sub")),
            GatewaySettings::default()
        );
    }

    #[test]
    fn inline_comments_follow_python() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(GATEWAY_CFG),
            "[device]\ncik = abc ; the key\nmodel = p1\n",
        )
        .unwrap();
        let s = GatewaySettings::load(dir.path());
        assert_eq!(s.cik.as_deref(), Some("abc"));
    }
}
