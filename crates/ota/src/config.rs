//! Where the installer keeps things and how it behaves ([`OtaConfig`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gwe_package::Limits;

/// Default root of the versioned app directories (`<root>/<app>/<version>-<sha12>/`).
pub const DEFAULT_APPS_ROOT: &str = "/var/lib/gwe/apps";
/// Default supervisor include directory (the original's).
pub const DEFAULT_INCLUDE_DIR: &str = "/etc/supervisor/conf.d";
/// Default installer state directory (journal, lock, saved program configs, download cache).
pub const DEFAULT_OTA_STATE_DIR: &str = "/var/lib/gwe/ota";
/// Default version registry: the engine's `versions.json`, read for `engine_report`.
pub const DEFAULT_REGISTRY: &str = "/var/lib/gwe/versions.json";
/// Default directory of app logs (`<dir>/<APP_NAME>.log`, the original's `/var/log` prefix).
pub const DEFAULT_LOG_DIR: &str = "/var/log";
/// Default health window.
pub const DEFAULT_HEALTH_WINDOW: Duration = Duration::from_secs(30);
/// Default time limit of an `install.sh`.
pub const DEFAULT_SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
/// Default bytes of each output stream kept (the tail).
pub const DEFAULT_OUTPUT_CAP: usize = 8 * 1024;

/// Everything the installer needs to know; tests point every path into a temp dir.
#[derive(Debug, Clone)]
pub struct OtaConfig {
    /// Root of the versioned app directories; `<root>/<app>/current` points at the live one.
    pub apps_root: PathBuf,
    /// The supervisor's include directory, where `<APP_NAME>.conf` is written.
    pub include_dir: PathBuf,
    /// The installer's own state: `journal.json`, `lock`, `saved/` (program configs kept for
    /// rollback, outside the include glob), `cache/` (downloads).
    pub state_dir: PathBuf,
    /// The version registry (JSON object keyed by app name; the engine reads `version`).
    pub registry: PathBuf,
    /// Directory of app logs: the imposed `stdout_logfile` is `<log_dir>/<APP_NAME>.log`.
    pub log_dir: PathBuf,
    /// Directory of trusted `*.pub` keys. `None` (or a directory without keys): packages are
    /// not signature-checked, as in the original, and the status says so.
    pub trusted_keys_dir: Option<PathBuf>,
    /// Supervisor XML-RPC URL; `None`: configs are written but no supervisor is asked (they
    /// take effect when it starts), and there is no health window.
    pub supervisor_url: Option<String>,
    /// How long a new version's programs must stay RUNNING before it is committed.
    pub health_window: Duration,
    /// Time limit of `install.sh` (its whole process group is killed after it).
    pub script_timeout: Duration,
    /// Bytes kept of each of stdout and stderr of the script (the tail).
    pub output_cap: usize,
    /// Extraction limits (size, entries, path length).
    pub limits: Limits,
    /// Python interpreters tried, in order, for `setup.py` packages (names looked up in
    /// `PATH`, or paths).
    pub python: Vec<PathBuf>,
    /// Extra environment for `install.sh` (the engine adds its paths, e.g. `GWE_CONFIG_DIR`).
    pub extra_env: Vec<(String, String)>,
}

impl Default for OtaConfig {
    fn default() -> Self {
        Self {
            apps_root: DEFAULT_APPS_ROOT.into(),
            include_dir: DEFAULT_INCLUDE_DIR.into(),
            state_dir: DEFAULT_OTA_STATE_DIR.into(),
            registry: DEFAULT_REGISTRY.into(),
            log_dir: DEFAULT_LOG_DIR.into(),
            trusted_keys_dir: None,
            supervisor_url: None,
            health_window: DEFAULT_HEALTH_WINDOW,
            script_timeout: DEFAULT_SCRIPT_TIMEOUT,
            output_cap: DEFAULT_OUTPUT_CAP,
            limits: Limits::default(),
            python: vec!["python3".into(), "python".into()],
            extra_env: Vec::new(),
        }
    }
}

impl OtaConfig {
    /// Every path under `root` (`apps/`, `conf.d/`, `ota/`, `versions.json`, `log/`): for
    /// tests and self-contained installs.
    pub fn under(root: &Path) -> Self {
        Self {
            apps_root: root.join("apps"),
            include_dir: root.join("conf.d"),
            state_dir: root.join("ota"),
            registry: root.join("versions.json"),
            log_dir: root.join("log"),
            ..Self::default()
        }
    }

    pub(crate) fn journal_path(&self) -> PathBuf {
        self.state_dir.join("journal.json")
    }

    pub(crate) fn lock_path(&self) -> PathBuf {
        self.state_dir.join("lock")
    }

    pub(crate) fn saved_dir(&self) -> PathBuf {
        self.state_dir.join("saved")
    }

    /// Where downloads are cached (resumable `<file>.part`, then `<file>`).
    pub fn cache_dir(&self) -> PathBuf {
        self.state_dir.join("cache")
    }

    pub(crate) fn app_root(&self, app: &str) -> PathBuf {
        self.apps_root.join(app)
    }

    pub(crate) fn current_link(&self, app: &str) -> PathBuf {
        self.app_root(app).join("current")
    }

    pub(crate) fn conf_path(&self, app: &str) -> PathBuf {
        self.include_dir.join(format!("{app}.conf"))
    }

    pub(crate) fn saved_conf_path(&self, app: &str) -> PathBuf {
        self.saved_dir().join(format!("{app}.conf"))
    }
}

/// The `[engine]` keys of `Engine.config` the installer reads (kept by the engine as unknown
/// keys), with their meaning; every one is optional.
pub const ENGINE_CONFIG_KEYS: &[(&str, &str)] = &[
    (
        "apps_root",
        "versioned app directories (default <state_dir>/apps)",
    ),
    (
        "supervisor_include_dir",
        "where <APP_NAME>.conf is written (default /etc/supervisor/conf.d)",
    ),
    (
        "app_log_dir",
        "directory of app logs, <dir>/<APP_NAME>.log (default /var/log)",
    ),
    (
        "trusted_keys_dir",
        "trusted *.pub keys; none there = unsigned accepted (default <config dir>/trusted_keys)",
    ),
    (
        "ota_health_window",
        "seconds a new version must stay RUNNING (default 30)",
    ),
    (
        "ota_install_timeout",
        "seconds install.sh may run (default 600)",
    ),
    (
        "ota_max_unpacked_bytes",
        "largest decompressed package (default 268435456)",
    ),
    (
        "ota_max_entries",
        "most entries in a package (default 10000)",
    ),
];

impl OtaConfig {
    /// The installer's configuration as the engine sees it: state under `state_dir`
    /// (`versions.json` there is the registry `engine_report` reads, `ota/` the journal and
    /// cache), `supervisor_url`, and the optional keys of [`ENGINE_CONFIG_KEYS`] from
    /// `Engine.config`'s `[engine]` section (`extra`). A bad value is an error naming the key.
    pub fn from_engine(
        state_dir: &Path,
        config_dir: &Path,
        supervisor_url: &str,
        extra: &[(String, String)],
    ) -> Result<OtaConfig, String> {
        let get = |k: &str| {
            extra
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty() && *v != "''" && *v != "\"\"")
        };
        let secs = |k: &str, default: Duration| -> Result<Duration, String> {
            match get(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=86_400).contains(n))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        format!("[engine] {k} = {v:?}: expected whole seconds 1..=86400")
                    }),
            }
        };
        let num = |k: &str, default: u64| -> Result<u64, String> {
            match get(k) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("[engine] {k} = {v:?}: expected a positive whole number")
                }),
            }
        };
        let limits = Limits::default();
        let mut c = OtaConfig {
            apps_root: get("apps_root").map_or_else(|| state_dir.join("apps"), PathBuf::from),
            include_dir: get("supervisor_include_dir")
                .map_or_else(|| DEFAULT_INCLUDE_DIR.into(), PathBuf::from),
            state_dir: state_dir.join("ota"),
            registry: state_dir.join("versions.json"),
            log_dir: get("app_log_dir").map_or_else(|| DEFAULT_LOG_DIR.into(), PathBuf::from),
            trusted_keys_dir: Some(
                get("trusted_keys_dir")
                    .map_or_else(|| config_dir.join("trusted_keys"), PathBuf::from),
            ),
            supervisor_url: Some(supervisor_url.to_string()).filter(|u| !u.is_empty()),
            health_window: secs("ota_health_window", DEFAULT_HEALTH_WINDOW)?,
            script_timeout: secs("ota_install_timeout", DEFAULT_SCRIPT_TIMEOUT)?,
            limits: limits
                .with_max_uncompressed_bytes(num(
                    "ota_max_unpacked_bytes",
                    limits.max_uncompressed_bytes,
                )?)
                .with_max_entries(num("ota_max_entries", limits.max_entries)?),
            ..OtaConfig::default()
        };
        c.extra_env = vec![
            ("GWE_CONFIG_DIR".into(), config_dir.display().to_string()),
            ("GWE_STATE_DIR".into(), state_dir.display().to_string()),
        ];
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_engine_defaults_keys_and_bad_values() {
        let c = OtaConfig::from_engine(
            Path::new("/var/lib/gwe"),
            Path::new("/etc/gwe"),
            "unix:///tmp/supervisord.sock",
            &[],
        )
        .unwrap();
        assert_eq!(c.registry, Path::new("/var/lib/gwe/versions.json"));
        assert_eq!(c.apps_root, Path::new("/var/lib/gwe/apps"));
        assert_eq!(c.state_dir, Path::new("/var/lib/gwe/ota"));
        assert_eq!(c.include_dir, Path::new(DEFAULT_INCLUDE_DIR));
        assert_eq!(
            c.trusted_keys_dir.as_deref(),
            Some(Path::new("/etc/gwe/trusted_keys"))
        );
        assert_eq!(c.health_window, DEFAULT_HEALTH_WINDOW);
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let c = OtaConfig::from_engine(
            Path::new("/s"),
            Path::new("/c"),
            "",
            &[
                kv("apps_root", "/opt/apps"),
                kv("supervisor_include_dir", "/etc/gwe/supervisor.d"),
                kv("app_log_dir", "''"),
                kv("ota_health_window", "5"),
                kv("ota_max_entries", "20"),
            ],
        )
        .unwrap();
        assert_eq!(c.apps_root, Path::new("/opt/apps"));
        assert_eq!(c.include_dir, Path::new("/etc/gwe/supervisor.d"));
        assert_eq!(c.log_dir, Path::new(DEFAULT_LOG_DIR));
        assert_eq!(c.health_window, Duration::from_secs(5));
        assert_eq!(c.limits.max_entries, 20);
        assert!(c.supervisor_url.is_none());
        for (k, v) in [
            ("ota_health_window", "0"),
            ("ota_health_window", "soon"),
            ("ota_install_timeout", "-1"),
            ("ota_max_entries", "0"),
        ] {
            let e = OtaConfig::from_engine(Path::new("/s"), Path::new("/c"), "", &[kv(k, v)])
                .unwrap_err();
            assert!(e.contains(k), "{e}");
        }
    }
}
