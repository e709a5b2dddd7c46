//! The supervisor's own log: supervisord's line format
//! (`2026-11-25 12:00:00,123 INFO spawned: 'x' with pid 123`), its level names
//! and filtering, written to a [`RotatingFile`] or to syslog (`logfile=syslog`)
//! and, in the foreground, echoed to stdout like supervisord does with `nodaemon`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::RotatingFile;
use crate::process::Level;

/// A cheap-to-clone handle on the main log.
#[derive(Debug, Clone)]
pub struct MainLog {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    level: Level,
    file: Option<RotatingFile>,
    echo: bool,
    syslog: bool,
}

impl Level {
    /// supervisord's 4-letter level name.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Blather => "BLAT",
            Level::Trace => "TRAC",
            Level::Debug => "DEBG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERRO",
            Level::Critical => "CRIT",
        }
    }

    /// Parses a `loglevel` value (critical, error, warn, info, debug, trace, blather).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "critical" => Level::Critical,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            "blather" => Level::Blather,
            _ => return None,
        })
    }
}

impl MainLog {
    /// A log writing to `path` (None: no file) at `level`, echoing to stdout if `echo`.
    pub fn new(
        path: Option<PathBuf>,
        maxbytes: u64,
        backups: u32,
        level: Level,
        echo: bool,
    ) -> Self {
        MainLog {
            inner: Arc::new(Mutex::new(Inner {
                level,
                file: path.map(|p| RotatingFile::new(p, maxbytes, backups)),
                echo,
                syslog: false,
            })),
        }
    }

    /// Also sends every line to syslog (`[supervisord] logfile=syslog`).
    pub fn with_syslog(self, on: bool) -> Self {
        self.lock().syslog = on;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the log inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The log file path, if any.
    pub fn path(&self) -> Option<PathBuf> {
        self.lock().file.as_ref().map(|f| f.path().to_path_buf())
    }

    /// Writes one line if `level` passes the filter.
    pub fn log(&self, level: Level, msg: &str) {
        let mut inner = self.lock();
        if level < inner.level {
            return;
        }
        let stamp = timestamp();
        let line = format!("{stamp} {} {msg}\n", level.tag());
        if inner.echo {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
        if let Some(f) = inner.file.as_mut() {
            if let Some(e) = f.write(line.as_bytes()) {
                // the log itself is broken: say it where someone may see it
                let _ = writeln!(
                    std::io::stderr(),
                    "gwe supervisord: cannot write {}: {e}",
                    f.path().display()
                );
            }
        }
        if inner.syslog {
            // supervisord's SyslogHandler: one message per line, each in the
            // file format (newline included). A failure cannot be logged to
            // this log itself: it goes to stderr (once, and once when it
            // recovers: the sender reports only those two changes).
            let tag = level.tag();
            if let Some(f) = super::syslog::send_main(msg, |l| format!("{stamp} {tag} {l}\n")) {
                let _ = writeln!(std::io::stderr(), "gwe supervisord: {f}");
            }
        }
        tracing::debug!(target: "supervisord", "{msg}");
    }

    /// INFO line.
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }

    /// WARN line.
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warn, msg)
    }

    /// Removes the log file and starts a new one (clearLog).
    pub fn clear(&self) -> std::io::Result<()> {
        match self.lock().file.as_mut() {
            Some(f) => f.clear(),
            None => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        }
    }

    /// Closes the file so the next line reopens it.
    pub fn reopen(&self) {
        if let Some(f) = self.lock().file.as_mut() {
            f.reopen();
        }
    }

    /// Whether a file path is set and exists.
    pub fn exists(&self) -> bool {
        self.path().as_deref().is_some_and(Path::exists)
    }
}

/// Local time as supervisord prints it: `YYYY-MM-DD HH:MM:SS,mmm`.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes the tm we pass; an all-zero tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("supervisord.log");
        let log = MainLog::new(Some(p.clone()), 0, 0, Level::Info, false);
        log.log(Level::Debug, "hidden");
        log.info("spawned: 'x' with pid 123");
        log.warn("exited: x (exit status 1; not expected)");
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // 2026-11-25 12:00:00,123 INFO ...
        let (stamp, rest) = lines[0].split_at(23);
        assert_eq!(rest, " INFO spawned: 'x' with pid 123");
        let b = stamp.as_bytes();
        assert!(
            b[4] == b'-' && b[10] == b' ' && b[13] == b':' && b[19] == b',',
            "{stamp}"
        );
        assert!(lines[1].ends_with(" WARN exited: x (exit status 1; not expected)"));
    }

    #[test]
    fn level_names() {
        assert_eq!(Level::parse("WARN"), Some(Level::Warn));
        assert_eq!(Level::parse("blather"), Some(Level::Blather));
        assert_eq!(Level::parse("loud"), None);
        assert_eq!(Level::Critical.tag(), "CRIT");
    }
}
