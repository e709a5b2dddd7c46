//! What the engine remembers between cycles and restarts, in `<state dir>/engine_state.json`:
//! what was last delivered (so unchanged reports are not re-sent), where the next usage window
//! starts (so requests made while offline are reported when the link returns), restart counts
//! and the last commands taken from `engine_fetch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::reports::engine_report::RestartTracker;

/// File name inside the state directory.
pub const STATE_FILE: &str = "engine_state.json";
/// How many past commands are kept.
pub const MAX_COMMAND_HISTORY: usize = 20;
/// Largest state file read back (it is a few KiB; a bigger one is not ours).
const MAX_STATE_BYTES: u64 = 1024 * 1024;

/// One delivered report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// Digest of its fingerprint.
    pub digest: String,
    /// When it was delivered, unix seconds.
    pub at: u64,
}

/// A command taken from `engine_fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// When it was taken, unix seconds.
    pub at: u64,
    /// The command as written by the operator (truncated to 4 KiB).
    pub command: String,
    /// What was answered in `fetch_status`.
    pub status: String,
    /// Whether that answer reached the server (else it goes with the next check-in).
    #[serde(default)]
    pub status_delivered: bool,
}

/// The persisted state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineState {
    /// Per report alias.
    pub delivered: BTreeMap<String, Delivered>,
    /// Start of the next usage window, unix seconds (0 = the beginning of the log).
    pub usage_since: u64,
    /// Restart counts.
    pub restarts: RestartTracker,
    /// Newest last.
    pub commands: Vec<CommandRecord>,
    /// Last successful check-in, unix seconds.
    pub last_checkin: Option<u64>,
    /// Start of the current outage, unix seconds (`None` when online).
    pub offline_since: Option<u64>,
}

impl EngineState {
    /// Loads the state from `dir`; a missing or unreadable file starts fresh (with a warning
    /// for the latter: the worst outcome is one extra report).
    pub fn load(dir: &Path) -> EngineState {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_STATE_BYTES => {
                tracing::warn!(path = %path.display(), "state file too large; starting fresh");
                return EngineState::default();
            }
            Ok(_) => std::fs::read_to_string(&path),
            Err(_) => return EngineState::default(),
        };
        match text
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "state file unreadable; starting fresh");
                EngineState::default()
            }
        }
    }

    /// Saves the state atomically into `dir` (created when missing).
    pub fn save(&self, dir: &Path) -> Result<(), std::io::Error> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::config::write_atomic(&state_path(dir), &text, 0o600)
    }

    /// Records a command, keeping the last [`MAX_COMMAND_HISTORY`].
    pub fn push_command(&mut self, record: CommandRecord) {
        self.commands.push(record);
        let excess = self.commands.len().saturating_sub(MAX_COMMAND_HISTORY);
        self.commands.drain(..excess);
    }
}

/// Path of the state file in `dir`.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("state");
        assert_eq!(EngineState::load(&dir), EngineState::default());
        let mut s = EngineState {
            usage_since: 42,
            ..Default::default()
        };
        s.delivered.insert(
            "device_info".into(),
            Delivered {
                digest: "d".into(),
                at: 1,
            },
        );
        for i in 0..30 {
            s.push_command(CommandRecord {
                at: i,
                command: "c".into(),
                status: "s".into(),
                status_delivered: true,
            });
        }
        assert_eq!(s.commands.len(), MAX_COMMAND_HISTORY);
        assert_eq!(s.commands[0].at, 10);
        s.save(&dir).unwrap();
        assert_eq!(EngineState::load(&dir), s);
        std::fs::write(state_path(&dir), b"{not json").unwrap();
        assert_eq!(EngineState::load(&dir), EngineState::default());
        std::fs::write(state_path(&dir), br#"{"usage_since": 7, "unknown": 1}"#).unwrap();
        assert_eq!(EngineState::load(&dir).usage_since, 7);
    }
}
