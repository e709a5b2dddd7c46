//! `Engine.config`: how the engine behaves, section `[engine]`.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `update_interval` | 14400 | seconds between check-ins (1 ..= [`MAX_UPDATE_INTERVAL`]) |
//! | `log_level` | INFO | DEBUG, INFO, WARNING, ERROR or CRITICAL |
//! | `user_agent` | `GatewayEngine-v<VERSION>` | User-Agent of the engine's requests; empty = default |
//! | `activation_retry_interval` | 60 | seconds between activation attempts (1 ..= 86400) |
//! | `server_url` | empty | `scheme://host[:port]`; empty = `https://<model>.m2.exosite.io` |
//! | `supervisor_url` | `unix:///tmp/supervisord.sock` | where the supervisor's XML-RPC listens |
//! | `audit_db` | `/var/lib/gwe/ifaces.db` | the device-client request log read for `usage_report` (the same default as `gdc`; not `/tmp`, a tmpfs on gateways) |
//! | `state_dir` | `/var/lib/gwe` | the engine's state (`versions.json`, delivery state) |
//! | `tls_roots` | `bundled` | CAs trusted for an https `server_url`: `bundled` (Mozilla's, in the binary), `system` (the OS store) or the absolute path of a PEM file (a private hub's certificate or CA); `gdc` on the gateway reads it too |
//!
//! Other keys and sections are kept as they are (later features put theirs here).

use std::path::{Path, PathBuf};

use gwe_device_client::TlsRoots;

use super::ini::IniDoc;
use super::{parse_ini, unquote_empty, ConfigError};

/// The INI section holding the engine's settings.
pub const ENGINE_SECTION: &str = "engine";
/// Largest accepted update interval: 30 days.
pub const MAX_UPDATE_INTERVAL: u64 = 30 * 24 * 3600;
/// Largest accepted activation retry interval: one day.
pub const MAX_ACT_RETRY_INTERVAL: u64 = 24 * 3600;
/// Default seconds between check-ins (4 hours).
pub const DEFAULT_UPDATE_INTERVAL: u64 = 14400;
/// Default seconds between activation attempts.
pub const DEFAULT_ACT_RETRY_INTERVAL: u64 = 60;
/// Default supervisor control socket (the original's).
pub const DEFAULT_SUPERVISOR_URL: &str = "unix:///tmp/supervisord.sock";
/// Default request log: the device client's own default, so the engine's `usage_report` reads
/// the file `gdc` and apps write (the original's `/tmp/ifaces.db` is lost at every reboot).
pub const DEFAULT_AUDIT_DB: &str = gwe_device_client::audit::DEFAULT_AUDIT_DB;
/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/gwe";
/// Environment variable that overrides `state_dir` (tests, read-only images).
pub const STATE_DIR_ENV: &str = "GWE_STATE_DIR";

/// The log levels of the original (Python logging names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Normal operation.
    Info,
    /// Problems the engine works around.
    Warning,
    /// Failures.
    Error,
    /// Only the worst (logged as errors).
    Critical,
}

impl LogLevel {
    /// All levels, in the order the help lists them.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
    ];

    /// The name written in Engine.config.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }

    /// Parses a level name, case-insensitively (`WARN` is accepted for `WARNING`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Some(LogLevel::Debug),
            "INFO" => Some(LogLevel::Info),
            "WARNING" | "WARN" => Some(LogLevel::Warning),
            "ERROR" => Some(LogLevel::Error),
            "CRITICAL" => Some(LogLevel::Critical),
            _ => None,
        }
    }

    /// The matching `tracing` filter level.
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Critical => tracing::Level::ERROR,
        }
    }
}

/// The engine's settings, with defaults for everything not in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Seconds between check-ins.
    pub update_interval: u64,
    /// Log level.
    pub log_level: LogLevel,
    /// User-Agent as configured; empty means [`EngineConfig::default_user_agent`].
    pub user_agent: String,
    /// Seconds between activation attempts.
    pub activation_retry_interval: u64,
    /// Device API server; empty means derived from the model (product id).
    pub server_url: String,
    /// Supervisor XML-RPC URL.
    pub supervisor_url: String,
    /// The device client's request log.
    pub audit_db: PathBuf,
    /// The engine's state directory as configured (see [`EngineConfig::state_dir`]).
    pub state_dir: PathBuf,
    /// CAs trusted for https.
    pub tls_roots: TlsRoots,
    /// Keys of `[engine]` this version does not know, kept in order.
    pub extra: Vec<(String, String)>,
    doc: IniDoc,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            update_interval: DEFAULT_UPDATE_INTERVAL,
            log_level: LogLevel::Info,
            user_agent: String::new(),
            activation_retry_interval: DEFAULT_ACT_RETRY_INTERVAL,
            server_url: String::new(),
            supervisor_url: DEFAULT_SUPERVISOR_URL.into(),
            audit_db: PathBuf::from(DEFAULT_AUDIT_DB),
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            tls_roots: TlsRoots::default(),
            extra: Vec::new(),
            doc: IniDoc::default(),
        }
    }
}

const KNOWN_KEYS: [&str; 9] = [
    "update_interval",
    "log_level",
    "user_agent",
    "activation_retry_interval",
    "server_url",
    "supervisor_url",
    "audit_db",
    "state_dir",
    "tls_roots",
];

impl EngineConfig {
    /// `GatewayEngine-v<VERSION>`, the original's User-Agent form.
    pub fn default_user_agent() -> String {
        format!("GatewayEngine-v{}", crate::VERSION)
    }

    /// The User-Agent to send.
    pub fn effective_user_agent(&self) -> String {
        if self.user_agent.trim().is_empty() {
            Self::default_user_agent()
        } else {
            self.user_agent.clone()
        }
    }

    /// The Device API server: `server_url`, else `https://<model>.m2.exosite.io`; `None` when
    /// neither is known.
    pub fn effective_server_url(&self, model: &str) -> Option<String> {
        if !self.server_url.is_empty() {
            Some(self.server_url.trim_end_matches('/').to_string())
        } else if !model.is_empty() {
            Some(format!("https://{model}.m2.exosite.io"))
        } else {
            None
        }
    }

    /// The state directory: `$GWE_STATE_DIR` if set, else `state_dir`.
    pub fn effective_state_dir(&self) -> PathBuf {
        std::env::var_os(STATE_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.state_dir.clone())
    }

    /// Parses the text of `Engine.config` read from `path`; every problem names the key.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let doc = parse_ini(path, text)?;
        let mut cfg = EngineConfig {
            doc: doc.clone(),
            ..Default::default()
        };
        let invalid = |key: &str, value: &str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            section: ENGINE_SECTION.into(),
            key: key.into(),
            value: value.into(),
            problem,
        };
        for (key, raw) in &doc.entries(ENGINE_SECTION) {
            let value = unquote_empty(raw.trim());
            match key.as_str() {
                "update_interval" => {
                    cfg.update_interval = parse_interval(value, MAX_UPDATE_INTERVAL)
                        .map_err(|p| invalid(key, raw, p))?;
                }
                "activation_retry_interval" => {
                    cfg.activation_retry_interval = parse_interval(value, MAX_ACT_RETRY_INTERVAL)
                        .map_err(|p| invalid(key, raw, p))?;
                }
                "log_level" => {
                    cfg.log_level = LogLevel::parse(value).ok_or_else(|| {
                        invalid(
                            key,
                            raw,
                            "expected DEBUG, INFO, WARNING, ERROR or CRITICAL".into(),
                        )
                    })?;
                }
                "user_agent" => {
                    if value.chars().any(char::is_control) {
                        return Err(invalid(key, raw, "contains control characters".into()));
                    }
                    cfg.user_agent = value.to_string();
                }
                "server_url" => {
                    validate_server_url(value).map_err(|p| invalid(key, raw, p))?;
                    cfg.server_url = value.to_string();
                }
                "supervisor_url" => {
                    if !value.is_empty() {
                        cfg.supervisor_url = value.to_string();
                    }
                }
                "audit_db" => {
                    if !value.is_empty() {
                        cfg.audit_db = PathBuf::from(value);
                    }
                }
                "state_dir" => {
                    if !value.is_empty() {
                        cfg.state_dir = PathBuf::from(value);
                    }
                }
                "tls_roots" => {
                    cfg.tls_roots =
                        TlsRoots::from_config(value).map_err(|p| invalid(key, raw, p))?;
                }
                _ => cfg.extra.push((key.clone(), raw.clone())),
            }
        }
        Ok(cfg)
    }

    /// The `[engine]` keys and values, defaults included, in a stable order.
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "update_interval".to_string(),
                self.update_interval.to_string(),
            ),
            ("log_level".to_string(), self.log_level.as_str().to_string()),
            ("user_agent".to_string(), self.user_agent.clone()),
            (
                "activation_retry_interval".to_string(),
                self.activation_retry_interval.to_string(),
            ),
            ("server_url".to_string(), self.server_url.clone()),
            ("supervisor_url".to_string(), self.supervisor_url.clone()),
            ("audit_db".to_string(), self.audit_db.display().to_string()),
            (
                "state_dir".to_string(),
                self.state_dir.display().to_string(),
            ),
            ("tls_roots".to_string(), self.tls_roots.to_string()),
        ];
        out.extend(self.extra.iter().cloned());
        out
    }

    /// The file's content to write (other sections of the original file are kept). Settings
    /// still at their default are written only when the file already had them, so a later
    /// version's better default (and `$GWE_AUDIT_DB` for gdc) still applies.
    pub fn render(&self) -> Result<String, ConfigError> {
        let mut doc = self.doc.clone();
        let defaults = EngineConfig::default().entries();
        for (key, value) in self.entries() {
            let is_default = defaults.iter().any(|(k, v)| *k == key && *v == value);
            if !is_default || doc.get(ENGINE_SECTION, &key).is_some() {
                doc.set(ENGINE_SECTION, &key, &value);
            }
        }
        if !doc.has_section(ENGINE_SECTION) {
            doc.set(
                ENGINE_SECTION,
                "update_interval",
                &self.update_interval.to_string(),
            );
        }
        Ok(doc.render()?)
    }

    /// What `gwe --engine-conf` prints: the `[engine]` section with every setting (an empty
    /// value shown as `''`, like `--gateway-cfg`).
    pub fn display(&self) -> String {
        let mut out = String::from("[engine]\n");
        for (key, value) in self.entries() {
            let shown = if value.is_empty() {
                "''".to_string()
            } else {
                value
            };
            out.push_str(&format!("{key} = {shown}\n"));
        }
        out
    }

    /// Whether `key` is one this version interprets.
    pub fn is_known_key(key: &str) -> bool {
        KNOWN_KEYS.contains(&key)
    }
}

/// Parses a whole number of seconds in `1..=max`.
pub fn parse_interval(value: &str, max: u64) -> Result<u64, String> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number of seconds (1 to {max})"))?;
    if n == 0 || n > max {
        return Err(format!("out of range: must be 1 to {max} seconds"));
    }
    Ok(n)
}

/// `scheme://host[:port]` with scheme http or https, or empty.
pub fn validate_server_url(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| "expected http://host[:port] or https://host[:port]".to_string())?;
    if rest.trim_end_matches('/').is_empty()
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("expected http://host[:port] or https://host[:port]".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/x/Engine.config")
    }

    #[test]
    fn defaults() {
        let cfg = EngineConfig::default();
        assert_eq!(cfg.update_interval, 14400);
        assert_eq!(
            cfg.effective_user_agent(),
            format!("GatewayEngine-v{}", crate::VERSION)
        );
        assert_eq!(
            cfg.effective_server_url("pid"),
            Some("https://pid.m2.exosite.io".into())
        );
        assert_eq!(cfg.effective_server_url(""), None);
        // One request log for the engine and gdc, and one that survives a reboot.
        assert_eq!(
            cfg.audit_db,
            Path::new(gwe_device_client::audit::DEFAULT_AUDIT_DB)
        );
        assert!(!cfg.audit_db.starts_with("/tmp"));
        let parsed = EngineConfig::parse(p(), "[engine]\n").unwrap();
        assert_eq!(parsed.audit_db, cfg.audit_db);
    }

    #[test]
    fn parses_and_round_trips_with_unknown_keys() {
        let cfg = EngineConfig::parse(
            p(),
            "[engine]\nupdate_interval = 30\nlog_level = debug\nuser_agent = X/1\nfuture = yes\n[ota]\nk = v\n",
        )
        .unwrap();
        assert_eq!(cfg.update_interval, 30);
        assert_eq!(cfg.log_level, LogLevel::Debug);
        assert_eq!(cfg.effective_user_agent(), "X/1");
        assert_eq!(cfg.extra, vec![("future".to_string(), "yes".to_string())]);
        let text = cfg.render().unwrap();
        assert!(text.contains("[ota]\nk = v"), "{text}");
        assert_eq!(
            EngineConfig::parse(p(), &text).unwrap().entries(),
            cfg.entries()
        );
    }

    #[test]
    fn mistakes_name_file_key_and_problem() {
        for (text, key, problem) in [
            (
                "[engine]\nupdate_interval = soon\n",
                "update_interval",
                "whole number",
            ),
            (
                "[engine]\nupdate_interval = 0\n",
                "update_interval",
                "out of range",
            ),
            (
                "[engine]\nupdate_interval = 99999999999\n",
                "update_interval",
                "out of range",
            ),
            (
                "[engine]\nupdate_interval = -5\n",
                "update_interval",
                "whole number",
            ),
            ("[engine]\nlog_level = LOUD\n", "log_level", "DEBUG, INFO"),
            (
                "[engine]\nactivation_retry_interval = 1.5\n",
                "activation_retry_interval",
                "whole",
            ),
            ("[engine]\nserver_url = ftp://x\n", "server_url", "http://"),
            (
                "[engine]\ntls_roots = ca.pem\n",
                "tls_roots",
                "absolute path",
            ),
            (
                "[engine]\ntls_roots = mozilla\n",
                "tls_roots",
                "bundled, system",
            ),
        ] {
            let msg = EngineConfig::parse(p(), text).unwrap_err().to_string();
            assert!(
                msg.contains("Engine.config") && msg.contains(key) && msg.contains(problem),
                "{text:?} -> {msg}"
            );
        }
    }

    #[test]
    fn tls_roots_parse_render_and_default() {
        let cfg = EngineConfig::parse(p(), "[engine]\n").unwrap();
        assert_eq!(cfg.tls_roots, TlsRoots::Bundled);
        // the default is not written into a file that did not have it
        assert!(!cfg.render().unwrap().contains("tls_roots"));
        for (text, roots) in [
            ("system", TlsRoots::System),
            ("''", TlsRoots::Bundled),
            (
                "/etc/gwe/hub-ca.pem",
                TlsRoots::CaFile("/etc/gwe/hub-ca.pem".into()),
            ),
        ] {
            let cfg = EngineConfig::parse(p(), &format!("[engine]\ntls_roots = {text}\n")).unwrap();
            assert_eq!(cfg.tls_roots, roots, "{text}");
            let again = EngineConfig::parse(p(), &cfg.render().unwrap()).unwrap();
            assert_eq!(again.tls_roots, roots, "{text}");
        }
        assert!(EngineConfig::is_known_key("tls_roots"));
    }

    #[test]
    fn empty_user_agent_restores_default() {
        let cfg = EngineConfig::parse(p(), "[engine]\nuser_agent = ''\n").unwrap();
        assert_eq!(
            cfg.effective_user_agent(),
            EngineConfig::default_user_agent()
        );
    }
}
