//! What one install did ([`InstallReport`]), serialized into `fetch_status` and printed by
//! `gwe -I`.

use serde::{Deserialize, Serialize};

use crate::error::Failure;
use crate::journal::Step;
use crate::script::ScriptOutcome;
use crate::supervisor::{ProgramHealth, UpdateSummary};

/// How an install ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallResult {
    /// The new version is in place (and healthy).
    Installed,
    /// The same version with the same digest was in place already; nothing ran.
    AlreadyInstalled,
    /// Refused or failed before anything of the running version was touched.
    Failed,
    /// Applied, then found broken: the previous version was restored.
    RolledBack,
}

/// What a rollback restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackInfo {
    /// Why the new version was rolled back.
    pub reason: String,
    /// The version restored (`None`: there was none; the app was removed again).
    pub restored_version: Option<String>,
    /// The restored programs' states.
    pub programs: Vec<ProgramHealth>,
    /// The new version's programs as they were when it failed (with log tails).
    pub failed_programs: Vec<ProgramHealth>,
}

/// One install, start to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallReport {
    /// The tarball's file name.
    pub file: String,
    /// App name, when the file name follows the rule.
    pub app: Option<String>,
    /// Version, likewise.
    pub version: Option<String>,
    /// `cli`, `engine_fetch`, `apps_to_install`, `recovery`.
    pub source: String,
    /// The outcome.
    pub result: InstallResult,
    /// Why it failed or was rolled back.
    pub error: Option<Failure>,
    /// SHA-256 of the tarball, when computed.
    pub sha256: Option<String>,
    /// What the signature check said.
    pub signature: Option<String>,
    /// `long_running`, `one_off`, `python_library`.
    pub kind: Option<String>,
    /// The installer script's run.
    pub script: Option<ScriptOutcome>,
    /// The version that was in place before.
    pub previous_version: Option<String>,
    /// What the supervisor update changed.
    pub supervisor: Option<UpdateSummary>,
    /// A note about the supervisor (e.g. not configured: applies at its next start).
    pub supervisor_note: Option<String>,
    /// The new programs after the health window.
    pub programs: Vec<ProgramHealth>,
    /// Rollback details.
    pub rollback: Option<RollbackInfo>,
    /// Steps the journal went through.
    pub steps: Vec<Step>,
    /// Milliseconds the install took.
    pub duration_ms: u64,
}

impl InstallReport {
    pub(crate) fn new(file: &str, source: &str) -> Self {
        Self {
            file: file.to_string(),
            app: None,
            version: None,
            source: source.to_string(),
            result: InstallResult::Failed,
            error: None,
            sha256: None,
            signature: None,
            kind: None,
            script: None,
            previous_version: None,
            supervisor: None,
            supervisor_note: None,
            programs: Vec::new(),
            rollback: None,
            steps: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Installed or already installed.
    pub fn ok(&self) -> bool {
        matches!(
            self.result,
            InstallResult::Installed | InstallResult::AlreadyInstalled
        )
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let what = format!(
            "{} {}",
            self.app.as_deref().unwrap_or(&self.file),
            self.version.as_deref().unwrap_or("?")
        );
        match self.result {
            InstallResult::Installed => format!(
                "{what}: installed{}",
                self.previous_version
                    .as_deref()
                    .map(|p| format!(" (replacing {p})"))
                    .unwrap_or_default()
            ),
            InstallResult::AlreadyInstalled => format!("{what}: already installed"),
            InstallResult::Failed => format!(
                "{what}: failed: {}",
                self.error
                    .as_ref()
                    .map_or("unknown error", |e| e.message.as_str())
            ),
            InstallResult::RolledBack => format!(
                "{what}: rolled back to {}: {}",
                self.rollback
                    .as_ref()
                    .and_then(|r| r.restored_version.as_deref())
                    .unwrap_or("nothing (no previous version)"),
                self.error
                    .as_ref()
                    .map_or("unknown error", |e| e.message.as_str())
            ),
        }
    }
}
