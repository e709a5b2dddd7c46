//! `[PASS]`/`[FAIL]` check lines shared by the buildfile and tarball checkers.

use std::fmt::Write as _;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// A problem: the file would not work (or is unsafe).
    Fail,
    /// Worth knowing, but not a reason to refuse.
    Warn,
}

impl Status {
    /// The bracketed tag printed in text output.
    pub fn tag(self) -> &'static str {
        match self {
            Status::Pass => "[PASS]",
            Status::Fail => "[FAIL]",
            Status::Warn => "[WARN]",
        }
    }
}

/// One line of a check report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckLine {
    /// Pass, fail or warn.
    pub status: Status,
    /// Short id of what was checked (`name`, `install.sh`, `safety`, ...).
    pub check: String,
    /// Human explanation.
    pub message: String,
}

/// An ordered list of check lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct CheckLines(pub Vec<CheckLine>);

impl CheckLines {
    pub(crate) fn push(&mut self, status: Status, check: &str, message: impl Into<String>) {
        self.0.push(CheckLine {
            status,
            check: check.into(),
            message: message.into(),
        });
    }
    pub(crate) fn pass(&mut self, check: &str, message: impl Into<String>) {
        self.push(Status::Pass, check, message);
    }
    pub(crate) fn fail(&mut self, check: &str, message: impl Into<String>) {
        self.push(Status::Fail, check, message);
    }
    pub(crate) fn warn(&mut self, check: &str, message: impl Into<String>) {
        self.push(Status::Warn, check, message);
    }

    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.0.iter().filter(|l| l.status == Status::Fail).count()
    }

    /// One `[TAG] check: message` line per check, then a bare `[PASS]` (as the original printed)
    /// or `[FAIL] N problem(s)`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.0 {
            let _ = writeln!(
                out,
                "{} {}: {}",
                line.status.tag(),
                line.check,
                line.message
            );
        }
        match self.failures() {
            0 => out.push_str("[PASS]\n"),
            1 => out.push_str("[FAIL] 1 problem\n"),
            n => {
                let _ = writeln!(out, "[FAIL] {n} problems");
            }
        }
        out
    }
}
