//! OTA commands from `engine_fetch` and their answer in `fetch_status`.
//!
//! The command is the original's `{"install": [{"name": "<APP>.v<VERSION>.tar.gz"}, ...]}`,
//! with an optional `"sha256"` per item, and `"uninstall"`, `"start"`, `"stop"`, `"restart"`
//! lists of app names (`"app"` or `{"name": "app"}`). Unknown keys are refused. The actions run
//! in the order install, uninstall, stop, start, restart; one failing item does not stop the
//! others.

use serde::{Deserialize, Serialize};

use crate::error::{Failure, FailureKind};
use crate::report::{InstallReport, InstallResult, RollbackInfo};

/// Largest command accepted.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// Largest `fetch_status` text written (a cloud alias value is not a log store).
pub const MAX_FETCH_STATUS: usize = 60 * 1024;
/// Most items in one command.
pub const MAX_ITEMS: usize = 64;

/// One tarball to install.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstallItem {
    /// The content id: `<APP>.v<VERSION>.tar.gz`.
    pub name: String,
    /// The SHA-256 it must have (hex).
    #[serde(default)]
    pub sha256: Option<String>,
}

/// An app named by a string or `{"name": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum AppRef {
    Name(String),
    Obj(NameObj),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameObj {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    #[serde(default)]
    install: Vec<InstallItem>,
    #[serde(default)]
    uninstall: Vec<AppRef>,
    #[serde(default)]
    start: Vec<AppRef>,
    #[serde(default)]
    stop: Vec<AppRef>,
    #[serde(default)]
    restart: Vec<AppRef>,
}

/// A parsed OTA command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtaCommand {
    /// Tarballs to install, in order.
    pub install: Vec<InstallItem>,
    /// Apps to remove.
    pub uninstall: Vec<String>,
    /// Apps to start.
    pub start: Vec<String>,
    /// Apps to stop.
    pub stop: Vec<String>,
    /// Apps to restart.
    pub restart: Vec<String>,
}

fn names(v: Vec<AppRef>) -> Vec<String> {
    v.into_iter()
        .map(|r| match r {
            AppRef::Name(n) => n,
            AppRef::Obj(o) => o.name,
        })
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A valid app name (the naming rule's name part).
pub(crate) fn valid_app_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 200
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && n.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl OtaCommand {
    /// Parses a command; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<OtaCommand, Failure> {
        let bad = |m: String| Failure::new(FailureKind::Command, format!("engine_fetch: {m}"));
        if text.len() > MAX_COMMAND_BYTES {
            return Err(bad(format!(
                "command longer than {MAX_COMMAND_BYTES} bytes"
            )));
        }
        let raw: RawCommand = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not a valid command ({e}); expected {{\"install\": [{{\"name\": \"<APP>.v<VERSION>.tar.gz\", \"sha256\": \"<optional hex>\"}}], \"uninstall\"|\"start\"|\"stop\"|\"restart\": [\"<APP>\"]}}"
            ))
        })?;
        let cmd = OtaCommand {
            install: raw.install,
            uninstall: names(raw.uninstall),
            start: names(raw.start),
            stop: names(raw.stop),
            restart: names(raw.restart),
        };
        let count = cmd.install.len()
            + cmd.uninstall.len()
            + cmd.start.len()
            + cmd.stop.len()
            + cmd.restart.len();
        if count == 0 {
            return Err(bad("the command names nothing to do".into()));
        }
        if count > MAX_ITEMS {
            return Err(bad(format!(
                "{count} items; at most {MAX_ITEMS} per command"
            )));
        }
        for i in &cmd.install {
            if let Some(s) = &i.sha256 {
                if !is_hex64(s) {
                    return Err(bad(format!(
                        "install `{}`: sha256 must be 64 hex digits, got {s:?}",
                        i.name
                    )));
                }
            }
        }
        Ok(cmd)
    }
}

/// How one item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemResult {
    /// Installed (and healthy).
    Installed,
    /// Same version and digest already in place.
    AlreadyInstalled,
    /// Rolled back to the previous version.
    RolledBack,
    /// Removed.
    Uninstalled,
    /// Started / stopped / restarted.
    Done,
    /// Failed (nothing changed).
    Failed,
}

/// One item of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemStatus {
    /// `install`, `uninstall`, `start`, `stop`, `restart`.
    pub action: String,
    /// The tarball or app name.
    pub name: String,
    /// The outcome.
    pub result: ItemResult,
    /// One line for people.
    pub message: String,
    /// Why it failed (kind and message).
    pub error: Option<Failure>,
    /// Exit code of install.sh.
    pub exit_code: Option<i32>,
    /// Milliseconds the item took.
    pub duration_ms: u64,
    /// Tail of install.sh's stdout.
    pub stdout: String,
    /// Tail of install.sh's stderr.
    pub stderr: String,
    /// Rollback details.
    pub rollback: Option<RollbackInfo>,
    /// The whole install report (installs only).
    pub install: Option<InstallReport>,
}

impl ItemStatus {
    pub(crate) fn simple(action: &str, name: &str, r: Result<String, Failure>, ms: u64) -> Self {
        let (result, message, error) = match r {
            Ok(m) => (
                if action == "uninstall" {
                    ItemResult::Uninstalled
                } else {
                    ItemResult::Done
                },
                m,
                None,
            ),
            Err(f) => (ItemResult::Failed, f.message.clone(), Some(f)),
        };
        Self {
            action: action.into(),
            name: name.into(),
            result,
            message,
            error,
            exit_code: None,
            duration_ms: ms,
            stdout: String::new(),
            stderr: String::new(),
            rollback: None,
            install: None,
        }
    }

    pub(crate) fn from_install(name: &str, r: InstallReport) -> Self {
        let result = match r.result {
            InstallResult::Installed => ItemResult::Installed,
            InstallResult::AlreadyInstalled => ItemResult::AlreadyInstalled,
            InstallResult::RolledBack => ItemResult::RolledBack,
            InstallResult::Failed => ItemResult::Failed,
        };
        let (stdout, stderr, exit_code) = r
            .script
            .as_ref()
            .map(|s| (s.stdout.clone(), s.stderr.clone(), s.exit_code))
            .unwrap_or_default();
        let mut install = r;
        // The outputs are shown once, at the item's top level.
        if let Some(s) = install.script.as_mut() {
            s.stdout.clear();
            s.stderr.clear();
        }
        Self {
            action: "install".into(),
            name: name.into(),
            result,
            message: install.summary(),
            error: install.error.clone(),
            exit_code,
            duration_ms: install.duration_ms,
            stdout,
            stderr,
            rollback: install.rollback.clone(),
            install: Some(install),
        }
    }
}

/// The answer written to `fetch_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchStatus {
    /// Every item succeeded.
    pub ok: bool,
    /// The command itself was refused (malformed JSON, unknown keys...).
    pub error: Option<Failure>,
    /// One entry per item, in the order run.
    pub items: Vec<ItemStatus>,
    /// Details were dropped to keep the text under [`MAX_FETCH_STATUS`].
    #[serde(default)]
    pub truncated: bool,
}

impl FetchStatus {
    /// A refused command.
    pub fn refused(f: Failure) -> Self {
        Self {
            ok: false,
            error: Some(f),
            items: Vec::new(),
            truncated: false,
        }
    }

    /// The JSON text for `fetch_status`, at most [`MAX_FETCH_STATUS`] bytes (see
    /// [`FetchStatus::to_json_capped`]).
    pub fn to_json(&self) -> String {
        self.to_json_capped(MAX_FETCH_STATUS)
    }

    /// The JSON text, shrunk to fit `max` bytes when needed: first the per-item `install`
    /// details go, then the outputs are cut to their last 1 KiB, then to nothing (`truncated`
    /// says so). Results, messages and errors always stay.
    pub fn to_json_capped(&self, max: usize) -> String {
        let ser = |s: &FetchStatus| {
            serde_json::to_string(s).unwrap_or_else(|e| {
                format!("{{\"ok\":false,\"error\":{{\"kind\":\"io\",\"message\":\"cannot serialize the status: {e}\"}}}}")
            })
        };
        let text = ser(self);
        if text.len() <= max {
            return text;
        }
        let mut s = self.clone();
        s.truncated = true;
        for i in &mut s.items {
            i.install = None;
        }
        let tail = |t: &mut String, n: usize| {
            if t.len() > n {
                let mut cut = t.len() - n;
                while !t.is_char_boundary(cut) {
                    cut += 1;
                }
                t.drain(..cut);
            }
        };
        for keep in [1024, 0] {
            let text = ser(&s);
            if text.len() <= max {
                return text;
            }
            for i in &mut s.items {
                tail(&mut i.stdout, keep);
                tail(&mut i.stderr, keep);
                if let Some(r) = i.rollback.as_mut() {
                    for p in r.failed_programs.iter_mut() {
                        tail(&mut p.log_tail, keep);
                    }
                }
            }
        }
        ser(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_original_and_the_extensions() {
        let c = OtaCommand::parse(r#"{"install": [{"name": "a.v1.tar.gz"}]}"#).unwrap();
        assert_eq!(c.install[0].name, "a.v1.tar.gz");
        let sha = "ab".repeat(32);
        let c = OtaCommand::parse(&format!(
            r#"{{"install": [{{"name": "a.v1.tar.gz", "sha256": "{sha}"}}], "uninstall": ["b"], "restart": [{{"name": "c"}}], "stop": [], "start": ["d"]}}"#
        ))
        .unwrap();
        assert_eq!(c.install[0].sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(c.uninstall, vec!["b"]);
        assert_eq!(c.restart, vec!["c"]);
        assert_eq!(c.start, vec!["d"]);
    }

    #[test]
    fn malformed_commands_are_refused_with_a_reason() {
        let cases = [
            ("", "not a valid command"),
            ("reboot", "not a valid command"),
            ("[1]", "not a valid command"),
            ("{}", "nothing to do"),
            (r#"{"install": []}"#, "nothing to do"),
            (
                r#"{"install": [{"nom": "a.v1.tar.gz"}]}"#,
                "unknown field `nom`",
            ),
            (
                r#"{"instal": [{"name": "a.v1.tar.gz"}]}"#,
                "unknown field `instal`",
            ),
            (
                r#"{"install": [{"name": "a.v1.tar.gz", "x": 1}]}"#,
                "unknown field `x`",
            ),
            (r#"{"install": "a.v1.tar.gz"}"#, "not a valid command"),
            (r#"{"install": [{"name": 5}]}"#, "not a valid command"),
            (
                r#"{"install": [{"name": "a.v1.tar.gz", "sha256": "xyz"}]}"#,
                "64 hex",
            ),
            (
                r#"{"uninstall": [{"name": "a", "extra": 1}]}"#,
                "not a valid command",
            ),
            (
                r#"{"install": [{"name": "a.v1.tar.gz"}"#,
                "not a valid command",
            ),
        ];
        for (text, want) in cases {
            let e = OtaCommand::parse(text).unwrap_err();
            assert_eq!(e.kind, FailureKind::Command);
            assert!(e.message.contains(want), "{text:?}: {}", e.message);
        }
        let many = format!(
            r#"{{"start": [{}]}}"#,
            vec!["\"a\""; MAX_ITEMS + 1].join(",")
        );
        assert!(OtaCommand::parse(&many)
            .unwrap_err()
            .message
            .contains("at most"));
        let huge = format!(r#"{{"start": ["{}"]}}"#, "a".repeat(MAX_COMMAND_BYTES));
        assert!(OtaCommand::parse(&huge)
            .unwrap_err()
            .message
            .contains("longer"));
    }

    #[test]
    fn fetch_status_is_capped_but_keeps_results() {
        let item = |n: usize| {
            let mut i = ItemStatus::simple(
                "install",
                &format!("a{n}.v1.tar.gz"),
                Err(Failure::new(FailureKind::Script, "exit 1")),
                5,
            );
            i.stdout = "o".repeat(8192);
            i.stderr = "é".repeat(4096);
            i
        };
        let s = FetchStatus {
            ok: false,
            error: None,
            items: (0..MAX_ITEMS).map(item).collect(),
            truncated: false,
        };
        let text = s.to_json();
        assert!(text.len() <= MAX_FETCH_STATUS, "{}", text.len());
        let back: FetchStatus = serde_json::from_str(&text).unwrap();
        assert!(back.truncated);
        assert_eq!(back.items.len(), MAX_ITEMS);
        assert!(back
            .items
            .iter()
            .all(|i| i.error.as_ref().unwrap().kind == FailureKind::Script));
        let small = FetchStatus {
            items: vec![item(1)],
            ..s
        };
        let back: FetchStatus = serde_json::from_str(&small.to_json()).unwrap();
        assert!(!back.truncated);
        assert_eq!(back.items[0].stdout.len(), 8192);
    }

    #[test]
    fn app_names() {
        assert!(valid_app_name("my_app-1.x"));
        for bad in ["", "../x", "a/b", "-a", ".a", "a b"] {
            assert!(!valid_app_name(bad), "{bad}");
        }
    }
}
