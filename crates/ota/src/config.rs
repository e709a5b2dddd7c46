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
