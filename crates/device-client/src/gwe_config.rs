//! Server and identity from the engine's configuration, so an app's script can run
//! `gdc write <CIK> <alias> <value>` without naming a server.
//!
//! Files in the config directory (`$GWE_CONFIG_DIR`, default `/etc/gwe`):
//! - `Gateway.cfg`, section `[device]`: `cik`, `vendor`, `model`, `uuid`;
//! - `Engine.config`, section `[engine]`: `server_url`, `user_agent`, `audit_db`.
//!
//! An empty `server_url` means `https://<model>.m2.exosite.io` (Murano: the model is
//! the product id). A value written `''` counts as empty, as the engine prints it.
//! Only this small subset of the INI dialect is read here (sections, `key = value` /
//! `key: value`, `#`/`;` comment lines), which is all these two files use.

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
        let en = read(&dir.join(ENGINE_CONFIG));
        let get = |doc: &[(String, String, String)], section: &str, key: &str| {
            doc.iter()
                .rev()
                .find(|(s, k, _)| s == section && k == key)
                .map(|(_, _, v)| v.clone())
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
        }
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

/// `(section, key, value)` triples of a small INI file; empty when unreadable.
fn read(path: &Path) -> Vec<(String, String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    parse(&text)
}

fn parse(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            if let Some(end) = rest.rfind(']') {
                section = rest[..end].to_string();
            }
            continue;
        }
        let split = t.find(['=', ':']);
        if let Some(i) = split {
            let key = t[..i].trim().to_ascii_lowercase();
            let value = t[i + 1..].trim().to_string();
            out.push((section.clone(), key, value));
        }
    }
    out
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
            "[engine]\nserver_url = http://127.0.0.1:9\nuser_agent =\n",
        )
        .unwrap();
        let s = GatewaySettings::load(dir.path());
        assert_eq!(s.cik.as_deref(), Some("abc"));
        assert_eq!(s.model.as_deref(), Some("prod1"));
        assert_eq!(s.uuid.as_deref(), Some("00:11:22"));
        assert_eq!(s.user_agent, None);
        assert_eq!(s.server().as_deref(), Some("http://127.0.0.1:9"));
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
    fn garbage_is_ignored() {
        let v = parse("\u{0}\u{1}garbage\n[unterminated\nkey\n=novalue\n[device]\ncik=1=2\n");
        assert!(v.contains(&("device".into(), "cik".into(), "1=2".into())));
    }
}
