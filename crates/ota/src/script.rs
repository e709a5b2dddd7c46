//! Running an app's installer (`install.sh`, or `python setup.py install`) in its directory:
//! its own process group, a time limit, the whole group killed at the end (nothing it started
//! lingers), stdout and stderr captured separately with a cap (the tail is kept).

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What an installer run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptOutcome {
    /// The command line run.
    pub command: String,
    /// Exit code; `None` when killed by a signal or not started.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// Killed because it ran past the time limit.
    pub timed_out: bool,
    /// Milliseconds it ran.
    pub duration_ms: u64,
    /// The tail of its stdout (lossy UTF-8).
    pub stdout: String,
    /// The tail of its stderr.
    pub stderr: String,
    /// Bytes of stdout dropped from the front to keep the cap.
    pub stdout_dropped: u64,
    /// Bytes of stderr dropped likewise.
    pub stderr_dropped: u64,
}

impl ScriptOutcome {
    /// Exit code 0, not timed out.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// A script to run.
pub(crate) struct ScriptRun<'a> {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub dir: &'a Path,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub cap: usize,
}

/// Keeps the last `cap` bytes of a stream.
fn read_tail(mut r: impl Read, cap: usize) -> (Vec<u8>, u64) {
    let mut keep = Vec::with_capacity(cap.min(64 * 1024));
    let mut dropped = 0u64;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                keep.extend_from_slice(&buf[..n]);
                if keep.len() > cap.saturating_mul(2).max(8192) {
                    let cut = keep.len() - cap;
                    dropped += cut as u64;
                    keep.drain(..cut);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if keep.len() > cap {
        let cut = keep.len() - cap;
        dropped += cut as u64;
        keep.drain(..cut);
    }
    (keep, dropped)
}

fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: signalling a process group we created; ESRCH (all gone) is fine.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// Runs the script; a spawn failure is reported as exit code `None` with the reason in stderr.
pub(crate) fn run(s: ScriptRun<'_>) -> ScriptOutcome {
    let started = Instant::now();
    let command = std::iter::once(s.program.display().to_string())
        .chain(s.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(&s.program);
    cmd.args(&s.args)
        .current_dir(s.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in &s.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ScriptOutcome {
                command,
                stderr: format!("cannot start `{}`: {e}", s.program.display()),
                duration_ms: started.elapsed().as_millis() as u64,
                ..Default::default()
            }
        }
    };
    let pgid = child.id() as i32;
    let cap = s.cap;
    let out = child
        .stdout
        .take()
        .map(|o| std::thread::spawn(move || read_tail(o, cap)));
    let err = child
        .stderr
        .take()
        .map(|e| std::thread::spawn(move || read_tail(e, cap)));
    let deadline = started + s.timeout;
    let mut timed_out = false;
    // Most install scripts are quick: look often at first, then every 10 ms.
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(pgid);
            break child.wait().ok();
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    };
    // Whatever it left running in its group goes too, so the pipes close and nothing lingers.
    kill_group(pgid);
    let join = |h: Option<std::thread::JoinHandle<(Vec<u8>, u64)>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (stdout, stdout_dropped) = join(out);
    let (stderr, stderr_dropped) = join(err);
    ScriptOutcome {
        command,
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        duration_ms: started.elapsed().as_millis() as u64,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stdout_dropped,
        stderr_dropped,
    }
}

/// The first of `candidates` that exists (paths) or is found in `PATH` (bare names).
pub(crate) fn find_program(candidates: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    for c in candidates {
        if c.components().count() > 1 || c.is_absolute() {
            if executable(c) {
                return Some(c.clone());
            }
            continue;
        }
        for dir in std::env::split_paths(&path) {
            let full = dir.join(c);
            if executable(&full) {
                return Some(full);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64, cap: usize) -> ScriptOutcome {
        let d = tempfile::tempdir().unwrap();
        run(ScriptRun {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            dir: d.path(),
            env: vec![("APP_NAME".into(), "x".into())],
            timeout: Duration::from_millis(timeout_ms),
            cap,
        })
    }

    #[test]
    fn captures_both_streams_and_exit_code() {
        let o = sh("echo out $APP_NAME; echo err >&2; exit 3", 10_000, 1024);
        assert_eq!(o.exit_code, Some(3));
        assert_eq!(o.stdout, "out x\n");
        assert_eq!(o.stderr, "err\n");
        assert!(!o.success());
    }

    #[test]
    fn keeps_the_tail_under_the_cap() {
        let o = sh(
            "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done",
            20_000,
            100,
        );
        assert_eq!(o.exit_code, Some(0));
        assert!(o.stdout.len() <= 100);
        assert!(o.stdout.ends_with("line2999\n"), "{}", o.stdout);
        assert!(o.stdout_dropped > 0);
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("survivor");
        // A background child that would write the marker after the script is killed.
        let script = format!("(sleep 0.5; touch {}) & sleep 30", marker.display());
        let o = sh(&script, 300, 1024);
        assert!(o.timed_out && !o.success());
        assert_eq!(o.signal, Some(libc::SIGKILL));
        // Absence cannot be polled for: give the killed child well past its 0.5 s.
        std::thread::sleep(Duration::from_millis(1200));
        assert!(!marker.exists(), "a child of the script outlived it");
    }

    #[test]
    fn missing_program_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let o = run(ScriptRun {
            program: d.path().join("nope"),
            args: vec![],
            dir: d.path(),
            env: vec![],
            timeout: Duration::from_secs(1),
            cap: 100,
        });
        assert_eq!(o.exit_code, None);
        assert!(o.stderr.contains("cannot start"));
        assert!(find_program(&[d.path().join("nope")]).is_none());
        assert!(find_program(&["sh".into()]).is_some());
    }
}
