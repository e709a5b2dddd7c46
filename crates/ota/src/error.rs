//! Why an install (or an OTA command) failed: a typed kind for programs and tests, and a
//! message for people that names the package, the file or entry, and the reason.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The class of a failure, serialized in `fetch_status` as snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The command JSON is malformed or has unknown keys.
    Command,
    /// The tarball name breaks the `<NAME>.v<VERSION>.tar.gz` rule.
    BadName,
    /// The download failed.
    Fetch,
    /// The SHA-256 differs from the one given in the command or the content's meta.
    Digest,
    /// Signature refused: unsigned, wrongly signed, unknown key, malformed.
    Signature,
    /// The archive is refused: unsafe entry, too large, too many entries, corrupt.
    Archive,
    /// The content is wrong: no install.sh, not executable, no shebang, ...
    Content,
    /// A `setup.py` package on a gateway without a Python interpreter.
    NoPython,
    /// `install.sh` (or `setup.py install`) exited non-zero or was killed.
    Script,
    /// `install.sh` ran past the time limit; its process group was killed.
    ScriptTimeout,
    /// `supervisor.conf` is refused (sections, no command, unwritable value).
    ProgramConfig,
    /// The supervisor refused or could not be reached when it was needed.
    Supervisor,
    /// The new version did not reach RUNNING or did not stay there.
    Unhealthy,
    /// The app is not installed (uninstall/start/stop/restart).
    NotInstalled,
    /// A filesystem operation failed.
    Io,
    /// The engine stopped in the middle (found by recovery at start).
    Interrupted,
}

/// A failure: kind and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// The class.
    pub kind: FailureKind,
    /// What happened, for people.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A filesystem failure: what was being done, to which path.
    pub fn io(action: &str, path: &Path, e: std::io::Error) -> Self {
        Self::new(
            FailureKind::Io,
            format!("{action} `{}`: {e}", path.display()),
        )
    }
}

/// `map_err` helper: `Failure::io(action, path, e)`.
pub(crate) fn io_at<'a>(
    action: &'a str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Failure + 'a {
    move |e| Failure::io(action, path, e)
}

/// Errors of the installer's own bookkeeping (journal, registry, lock).
#[derive(Debug, thiserror::Error)]
pub enum OtaError {
    /// A state file could not be read or written.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A state file holds something that is not what the installer writes.
    #[error("`{path}`: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl OtaError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

impl From<OtaError> for Failure {
    fn from(e: OtaError) -> Self {
        Failure::new(FailureKind::Io, e.to_string())
    }
}
