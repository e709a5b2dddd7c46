//! The version registry: one JSON object keyed by app name, written atomically. The engine's
//! `engine_report` reads `version` from it (`<state dir>/versions.json`, the format
//! `gwe_engine::reports::engine_report::load_versions` understands); the other keys record the
//! rest of the install and the last attempt.
//!
//! ```json
//! {"my_app": {"version": "2", "sha256": "…", "source": "engine_fetch", "installed_at": 1700000000,
//!             "result": "installed", "previous_version": "1", "dir": "2-0a1b2c3d4e5f",
//!             "kind": "long_running",
//!             "last_attempt": {"version": "3", "sha256": "…", "at": 1700000100,
//!                              "result": "rolled_back", "reason": "…"}}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::OtaError;
use crate::fsutil;

/// What happened to the last attempt at an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The version tried.
    pub version: String,
    /// Its digest, when known.
    pub sha256: Option<String>,
    /// Unix seconds.
    pub at: u64,
    /// `installed`, `failed`, `rolled_back`, `interrupted`.
    pub result: String,
    /// Why it failed.
    pub reason: Option<String>,
}

/// One app in the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// The installed version; `None` when no install of it ever succeeded.
    pub version: Option<String>,
    /// SHA-256 of the installed tarball.
    pub sha256: Option<String>,
    /// Where it came from: `cli`, `engine_fetch`, `apps_to_install`.
    pub source: Option<String>,
    /// Unix seconds of the install.
    pub installed_at: Option<u64>,
    /// Result of the install now in place (`installed`).
    pub result: Option<String>,
    /// The version it replaced.
    pub previous_version: Option<String>,
    /// The versioned directory (relative to the app's root).
    pub dir: Option<String>,
    /// `long_running`, `one_off`, `python_library`.
    pub kind: Option<String>,
    /// The last attempt when it was not the install in place.
    pub last_attempt: Option<Attempt>,
}

/// The registry file.
#[derive(Debug, Clone)]
pub struct Registry {
    path: PathBuf,
    /// Apps by name.
    pub apps: BTreeMap<String, AppRecord>,
}

impl Registry {
    /// Reads the registry at `path` (missing = empty).
    pub fn load(path: &Path) -> Result<Registry, OtaError> {
        let apps = match fsutil::read_small(path, 4 * 1024 * 1024)
            .map_err(OtaError::io("read version registry", path))?
        {
            None => BTreeMap::new(),
            Some(bytes) => {
                // Tolerate the engine's older `{"app": "1.2"}` form.
                let raw: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes)
                    .map_err(|e| OtaError::Corrupt {
                        path: path.to_path_buf(),
                        problem: format!("not a version registry (JSON object): {e}"),
                    })?;
                raw.into_iter()
                    .map(|(k, v)| {
                        let rec = match v {
                            serde_json::Value::String(s) => AppRecord {
                                version: Some(s),
                                ..Default::default()
                            },
                            other => {
                                serde_json::from_value(other).map_err(|e| OtaError::Corrupt {
                                    path: path.to_path_buf(),
                                    problem: format!("entry `{k}`: {e}"),
                                })?
                            }
                        };
                        Ok((k, rec))
                    })
                    .collect::<Result<_, OtaError>>()?
            }
        };
        Ok(Registry {
            path: path.to_path_buf(),
            apps,
        })
    }

    /// Writes it atomically and durably.
    pub fn save(&self) -> Result<(), OtaError> {
        let bytes = serde_json::to_vec_pretty(&self.apps).map_err(|e| OtaError::Corrupt {
            path: self.path.clone(),
            problem: e.to_string(),
        })?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(OtaError::io("create directory of", &self.path))?;
        }
        fsutil::write_atomic(&self.path, &bytes, 0o644)
            .map_err(OtaError::io("write version registry", &self.path))
    }

    /// The record of `app`.
    pub fn get(&self, app: &str) -> Option<&AppRecord> {
        self.apps.get(app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_old_form_and_garbage() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("versions.json");
        assert!(Registry::load(&p).unwrap().apps.is_empty());
        std::fs::write(&p, r#"{"a": "1", "b": {"version": "2", "sha256": "ab"}}"#).unwrap();
        let mut r = Registry::load(&p).unwrap();
        assert_eq!(r.get("a").unwrap().version.as_deref(), Some("1"));
        assert_eq!(r.get("b").unwrap().sha256.as_deref(), Some("ab"));
        r.apps.insert("c".into(), AppRecord::default());
        r.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["b"]["version"], "2");
        std::fs::write(&p, "[1]").unwrap();
        assert!(Registry::load(&p).is_err());
        std::fs::write(&p, r#"{"a": 5}"#).unwrap();
        assert!(Registry::load(&p)
            .unwrap_err()
            .to_string()
            .contains("entry `a`"));
    }
}
