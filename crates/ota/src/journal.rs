//! The install state machine and its journal.
//!
//! One install at a time is recorded in `<state>/journal.json`, rewritten atomically (temp file,
//! fsync, rename, fsync of the directory) *before* the side effects of the next step, so that a
//! restart after a power cut or `kill -9` knows exactly how far the install got:
//!
//! ```text
//! Started -> Fetched -> Extracted -> Verified -> Installed -> Applied -> Healthy -> Committed
//!    |          |           |           |            |           |          |
//!    +----------+-----------+-----------+-> Aborted  +-----------+----------+-> RollingBack -> RolledBack
//! ```
//!
//! - up to `Verified` nothing the running version uses was touched: a failure (or a crash) only
//!   removes the new files (`Aborted`);
//! - `Installed` means `install.sh` exited 0 in the new versioned directory; from there on the
//!   `current` link and the program config are swapped (`Applied`), the health window is
//!   watched (`Healthy`) and the registry written (`Committed`);
//! - a failure after `Installed` restores the previous link and program config
//!   (`RollingBack` -> `RolledBack`).
//!
//! [`recovery_action`] says what a restart does at each step (the table is tested).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::OtaError;
use crate::fsutil;

/// A step of one install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The journal exists; the previous state is saved; nothing else happened.
    Started,
    /// The tarball is complete on disk (downloaded or given).
    Fetched,
    /// Extracted into a staging directory, hashed in the same pass.
    Extracted,
    /// Digest, signature and content checks passed; the staging directory is now the versioned
    /// app directory.
    Verified,
    /// `install.sh` (or `setup.py install`) exited 0.
    Installed,
    /// `current` link and program config swapped, supervisor updated.
    Applied,
    /// The programs stayed RUNNING through the health window.
    Healthy,
    /// The registry records the new version. Terminal.
    Committed,
    /// A failure before anything was swapped; the new files are removed. Terminal.
    Aborted,
    /// Restoring the previous version.
    RollingBack,
    /// The previous version is back. Terminal.
    RolledBack,
}

/// Every allowed transition (anything else is a bug and refused by [`Journal::advance`]).
pub const TRANSITIONS: &[(Step, Step)] = &[
    (Step::Started, Step::Fetched),
    (Step::Fetched, Step::Extracted),
    (Step::Extracted, Step::Verified),
    (Step::Verified, Step::Installed),
    (Step::Installed, Step::Applied),
    (Step::Applied, Step::Healthy),
    (Step::Healthy, Step::Committed),
    (Step::Started, Step::Aborted),
    (Step::Fetched, Step::Aborted),
    (Step::Extracted, Step::Aborted),
    (Step::Verified, Step::Aborted),
    (Step::Installed, Step::RollingBack),
    (Step::Applied, Step::RollingBack),
    (Step::Healthy, Step::RollingBack),
    (Step::RollingBack, Step::RolledBack),
];

impl Step {
    /// Whether `self -> next` is in [`TRANSITIONS`].
    pub fn can_go_to(self, next: Step) -> bool {
        TRANSITIONS.contains(&(self, next))
    }

    /// Committed, Aborted and RolledBack end an install.
    pub fn is_terminal(self) -> bool {
        matches!(self, Step::Committed | Step::Aborted | Step::RolledBack)
    }
}

/// What a restart does with an install found at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Remove the new files; the old version was never touched.
    Abort,
    /// Apply the new version again (idempotent), watch it, commit or roll back.
    RollForward,
    /// The install was healthy: write the registry and finish.
    Commit,
    /// Restore the previous version (idempotent).
    RollBack,
    /// Only the cleanup of a finished install was left.
    Finish,
}

/// The recovery table.
pub fn recovery_action(step: Step) -> Recovery {
    match step {
        Step::Started | Step::Fetched | Step::Extracted | Step::Verified => Recovery::Abort,
        Step::Installed | Step::Applied => Recovery::RollForward,
        Step::Healthy => Recovery::Commit,
        Step::RollingBack => Recovery::RollBack,
        Step::Committed | Step::Aborted | Step::RolledBack => Recovery::Finish,
    }
}

/// What the app looked like before this install.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// Registry version, when it was installed.
    pub version: Option<String>,
    /// Registry digest.
    pub sha256: Option<String>,
    /// Target of the `current` link (relative to the app's root), when there was one.
    pub current: Option<PathBuf>,
    /// A program config existed and was saved to `<state>/saved/<APP>.conf`.
    pub had_conf: bool,
}

/// The journal of the install in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Unique id of this install (names its staging directory).
    pub id: String,
    /// App name.
    pub app: String,
    /// Version (from the file name).
    pub version: String,
    /// The tarball's file name.
    pub file: String,
    /// Where the install came from (`cli`, `engine_fetch`, `apps_to_install`).
    pub source: String,
    /// The tarball on disk.
    pub tarball: PathBuf,
    /// Remove the tarball when done (downloads in the cache).
    pub owns_tarball: bool,
    /// SHA-256 required by the command or the content's meta.
    pub expected_sha256: Option<String>,
    /// SHA-256 computed while extracting.
    pub sha256: Option<String>,
    /// Staging directory of the extraction.
    pub staging: PathBuf,
    /// The versioned app directory (name relative to the app's root), once verified.
    pub app_dir: Option<String>,
    /// The package has a supervisor.conf (long-running).
    pub long_running: bool,
    /// The program config written for it (merged with the defaults), once known.
    pub program_conf: Option<String>,
    /// The state before.
    pub previous: Previous,
    /// Where the install is.
    pub step: Step,
    /// Unix seconds at start.
    pub started_at: u64,
    /// Why it failed, when it did.
    pub failure: Option<crate::error::Failure>,
}

impl Journal {
    /// Reads the journal; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Journal>, OtaError> {
        let Some(bytes) =
            fsutil::read_small(path, 1024 * 1024).map_err(OtaError::io("read journal", path))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| OtaError::Corrupt {
                path: path.to_path_buf(),
                problem: format!("not an install journal: {e}"),
            })
    }

    /// Writes the journal atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), OtaError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| OtaError::Corrupt {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        fsutil::write_atomic(path, &bytes, 0o600).map_err(OtaError::io("write journal", path))
    }

    /// Moves to `next` and persists it before anything of `next` happens.
    pub fn advance(&mut self, next: Step, path: &Path) -> Result<(), OtaError> {
        if !self.step.can_go_to(next) {
            return Err(OtaError::Corrupt {
                path: path.to_path_buf(),
                problem: format!("invalid install transition {:?} -> {next:?}", self.step),
            });
        }
        self.step = next;
        self.save(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Step; 11] = [
        Step::Started,
        Step::Fetched,
        Step::Extracted,
        Step::Verified,
        Step::Installed,
        Step::Applied,
        Step::Healthy,
        Step::Committed,
        Step::Aborted,
        Step::RollingBack,
        Step::RolledBack,
    ];

    #[test]
    fn transition_table() {
        // (from, to, allowed)
        let cases = [
            (Step::Started, Step::Fetched, true),
            (Step::Fetched, Step::Extracted, true),
            (Step::Extracted, Step::Verified, true),
            (Step::Verified, Step::Installed, true),
            (Step::Installed, Step::Applied, true),
            (Step::Applied, Step::Healthy, true),
            (Step::Healthy, Step::Committed, true),
            (Step::Verified, Step::Aborted, true),
            (Step::Applied, Step::RollingBack, true),
            (Step::RollingBack, Step::RolledBack, true),
            // Nothing skips verification or the health window.
            (Step::Fetched, Step::Installed, false),
            (Step::Extracted, Step::Installed, false),
            (Step::Applied, Step::Committed, false),
            (Step::Installed, Step::Committed, false),
            // Once swapped, a failure must roll back, not just abort.
            (Step::Applied, Step::Aborted, false),
            (Step::Installed, Step::Aborted, false),
            // Terminal steps go nowhere.
            (Step::Committed, Step::RollingBack, false),
            (Step::RolledBack, Step::Started, false),
            (Step::Aborted, Step::Fetched, false),
        ];
        for (from, to, ok) in cases {
            assert_eq!(from.can_go_to(to), ok, "{from:?} -> {to:?}");
        }
        for s in ALL {
            if s.is_terminal() {
                assert!(ALL.iter().all(|t| !s.can_go_to(*t)), "{s:?} is terminal");
            } else {
                assert!(ALL.iter().any(|t| s.can_go_to(*t)), "{s:?} leads somewhere");
            }
        }
    }

    #[test]
    fn recovery_table() {
        let cases = [
            (Step::Started, Recovery::Abort),
            (Step::Fetched, Recovery::Abort),
            (Step::Extracted, Recovery::Abort),
            (Step::Verified, Recovery::Abort),
            (Step::Installed, Recovery::RollForward),
            (Step::Applied, Recovery::RollForward),
            (Step::Healthy, Recovery::Commit),
            (Step::RollingBack, Recovery::RollBack),
            (Step::Committed, Recovery::Finish),
            (Step::Aborted, Recovery::Finish),
            (Step::RolledBack, Recovery::Finish),
        ];
        for (s, r) in cases {
            assert_eq!(recovery_action(s), r, "{s:?}");
        }
    }

    #[test]
    fn journal_round_trip_and_garbage() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal.json");
        assert!(Journal::load(&p).unwrap().is_none());
        let mut j = Journal {
            id: "1".into(),
            app: "a".into(),
            version: "1".into(),
            file: "a.v1.tar.gz".into(),
            source: "cli".into(),
            tarball: "/x".into(),
            owns_tarball: false,
            expected_sha256: None,
            sha256: None,
            staging: "/s".into(),
            app_dir: None,
            long_running: false,
            program_conf: None,
            previous: Previous::default(),
            step: Step::Started,
            started_at: 0,
            failure: None,
        };
        j.save(&p).unwrap();
        j.advance(Step::Fetched, &p).unwrap();
        assert_eq!(Journal::load(&p).unwrap().unwrap(), j);
        assert!(j.advance(Step::Committed, &p).is_err());
        assert_eq!(Journal::load(&p).unwrap().unwrap().step, Step::Fetched);
        std::fs::write(&p, b"{not json").unwrap();
        assert!(Journal::load(&p)
            .unwrap_err()
            .to_string()
            .contains("journal"));
    }
}
