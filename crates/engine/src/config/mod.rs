//! The engine's two configuration files in its configuration directory:
//! `Gateway.cfg` (identity, [`GatewayCfg`]) and `Engine.config` (behaviour, [`EngineConfig`]).
//!
//! The directory defaults to [`DEFAULT_CONFIG_DIR`] and moves with `GWE_CONFIG_DIR` (or the
//! command line's `--config-dir`). Every change goes through [`ConfigDir::update_gateway`] /
//! [`ConfigDir::update_engine`], which hold an advisory lock for the read-modify-write so that
//! the running engine (writing back the serial or a new update interval) and a `gwe --set-...`
//! call on the shell cannot lose each other's change. Writes are atomic and durable.

mod atomic;
mod engine;
mod gateway;
pub mod ini;

pub use atomic::write_atomic;
pub use engine::{
    parse_interval, validate_server_url, EngineConfig, LogLevel, DEFAULT_ACT_RETRY_INTERVAL,
    DEFAULT_UPDATE_INTERVAL, ENGINE_SECTION, MAX_ACT_RETRY_INTERVAL, MAX_UPDATE_INTERVAL,
    STATE_DIR_ENV,
};
pub use gateway::{
    validate_field, validate_iface as validate_iface_name, GatewayCfg, DEVICE_SECTION,
};

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where the configuration lives on a gateway unless told otherwise.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/gwe";
/// Environment variable that moves the configuration directory.
pub const CONFIG_DIR_ENV: &str = "GWE_CONFIG_DIR";
/// File name of the identity file.
pub const GATEWAY_CFG: &str = "Gateway.cfg";
/// File name of the behaviour file.
pub const ENGINE_CONFIG: &str = "Engine.config";
const LOCK_FILE: &str = ".gwe-config.lock";

/// Everything that can go wrong with the configuration files. Each message names the file and,
/// for content problems, the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file (or the directory, or the lock) cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid INI (the message names file and line).
    #[error(transparent)]
    Ini(#[from] ini::IniError),
    /// The file's structure is wrong.
    #[error("{path}: {problem}")]
    Structure {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A key holds a value the engine cannot use.
    #[error("{path}: [{section}] {key} = {value:?}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The INI section.
        section: String,
        /// The key.
        key: String,
        /// The value found.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The configuration directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDir {
    dir: PathBuf,
}

impl ConfigDir {
    /// A configuration directory at `dir` (not created until something is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `explicit` if given, else `$GWE_CONFIG_DIR`, else [`DEFAULT_CONFIG_DIR`].
    pub fn locate(explicit: Option<PathBuf>) -> Self {
        let dir = explicit
            .or_else(|| {
                std::env::var_os(CONFIG_DIR_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR));
        Self::new(dir)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of `Gateway.cfg`.
    pub fn gateway_cfg_path(&self) -> PathBuf {
        self.dir.join(GATEWAY_CFG)
    }

    /// Path of `Engine.config`.
    pub fn engine_config_path(&self) -> PathBuf {
        self.dir.join(ENGINE_CONFIG)
    }

    /// Reads `Gateway.cfg`; a missing file is an empty identity.
    pub fn load_gateway(&self) -> Result<GatewayCfg, ConfigError> {
        let path = self.gateway_cfg_path();
        match read_optional(&path)? {
            Some(text) => GatewayCfg::parse(&path, &text),
            None => Ok(GatewayCfg::default()),
        }
    }

    /// Reads `Engine.config`; a missing file means all defaults.
    pub fn load_engine(&self) -> Result<EngineConfig, ConfigError> {
        let path = self.engine_config_path();
        match read_optional(&path)? {
            Some(text) => EngineConfig::parse(&path, &text),
            None => Ok(EngineConfig::default()),
        }
    }

    /// Read-modify-write of `Gateway.cfg` under the lock; the file is written with mode 0600
    /// because it holds the CIK. Returns the configuration as written.
    pub fn update_gateway(
        &self,
        change: impl FnOnce(&mut GatewayCfg),
    ) -> Result<GatewayCfg, ConfigError> {
        let _lock = self.lock()?;
        let mut cfg = self.load_gateway()?;
        change(&mut cfg);
        let path = self.gateway_cfg_path();
        write_atomic(&path, cfg.render()?.as_bytes(), 0o600)
            .map_err(|source| ConfigError::Write { path, source })?;
        Ok(cfg)
    }

    /// Read-modify-write of `Engine.config` under the lock (mode 0644). Returns the
    /// configuration as written.
    pub fn update_engine(
        &self,
        change: impl FnOnce(&mut EngineConfig),
    ) -> Result<EngineConfig, ConfigError> {
        let _lock = self.lock()?;
        let mut cfg = self.load_engine()?;
        change(&mut cfg);
        let path = self.engine_config_path();
        write_atomic(&path, cfg.render()?.as_bytes(), 0o644)
            .map_err(|source| ConfigError::Write { path, source })?;
        Ok(cfg)
    }

    /// Takes the directory's advisory write lock (created with the directory when missing).
    fn lock(&self) -> Result<ConfigLock, ConfigError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| ConfigError::Write {
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| ConfigError::Write {
                path: path.clone(),
                source,
            })?;
        // SAFETY: the fd belongs to `file`, which stays open for the lock's lifetime.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(ConfigError::Write {
                path,
                source: io::Error::last_os_error(),
            });
        }
        Ok(ConfigLock { _file: file })
    }
}

/// Held while a configuration file is rewritten; closing the file releases the lock.
struct ConfigLock {
    _file: File,
}

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            if bytes.len() as u64 > ini::MAX_FILE_SIZE {
                return Err(ConfigError::Structure {
                    path: path.to_path_buf(),
                    problem: format!("file is larger than {} bytes", ini::MAX_FILE_SIZE),
                });
            }
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| ConfigError::Structure {
                    path: path.to_path_buf(),
                    problem: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses INI text read from `path`.
fn parse_ini(path: &Path, text: &str) -> Result<ini::IniDoc, ConfigError> {
    Ok(ini::IniDoc::parse(text, path)?)
}

/// The original engine stored empty values as the literal `''`; treat that (and `""`) as empty.
fn unquote_empty(value: &str) -> &str {
    match value {
        "''" | "\"\"" => "",
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let cd = ConfigDir::new(dir.path().join("sub"));
        assert_eq!(cd.load_gateway().unwrap(), GatewayCfg::default());
        assert_eq!(cd.load_engine().unwrap(), EngineConfig::default());
    }

    #[test]
    fn update_gateway_creates_dir_and_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cd = ConfigDir::new(dir.path().join("etc"));
        cd.update_gateway(|g| g.cik = "c".repeat(40)).unwrap();
        let mode = std::fs::metadata(cd.gateway_cfg_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(cd.load_gateway().unwrap().cik, "c".repeat(40));
    }

    #[test]
    fn concurrent_updates_do_not_lose_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cd = ConfigDir::new(dir.path());
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let cd = cd.clone();
                std::thread::spawn(move || {
                    cd.update_engine(|e| {
                        e.extra.push((format!("k{i}"), i.to_string()));
                    })
                    .unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let cfg = cd.load_engine().unwrap();
        assert_eq!(cfg.extra.len(), 8, "{:?}", cfg.extra);
    }

    #[test]
    fn non_utf8_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cd = ConfigDir::new(dir.path());
        std::fs::write(cd.gateway_cfg_path(), b"[device]\ncik = \xff\xfe\n").unwrap();
        let msg = cd.load_gateway().unwrap_err().to_string();
        assert!(
            msg.contains("Gateway.cfg") && msg.contains("UTF-8"),
            "{msg}"
        );
    }
}
