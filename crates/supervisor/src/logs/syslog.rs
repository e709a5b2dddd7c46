//! Child output and the main log to syslog, as supervisord 4.3 sends them.
//!
//! supervisord calls Python's `syslog.syslog(msg)` without `openlog`, so glibc
//! frames every message as `<14>Mmm dd hh:mm:ss supervisord: ` + text
//! (facility user, level info for stdout *and* stderr, ident the basename of
//! `argv[0]`, no pid). Child output is sent one message per line, prefixed with
//! the process name and a space (`fmt=config.name + ' %(message)s'`); main log
//! lines keep their file format, trailing newline included.
//!
//! The daemon never blocks on syslog: one non-blocking, unconnected datagram
//! socket addresses [`socket_path`] on every send (a restarted syslogd is
//! picked up by itself). A message that cannot go out (no socket, a full
//! queue) is dropped and counted; the first drop and the recovery are
//! reported once each, like a failing log file.
//!
//! Unlike supervisord, which sends whatever one read returned (a line split
//! across two reads became two messages), lines are reassembled across reads
//! in a bounded buffer: a line longer than [`MAX_LINE`] goes out in pieces.

use std::cell::RefCell;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

/// Environment variable naming the syslog socket (default [`DEFAULT_SOCKET`]).
pub const SOCKET_ENV: &str = "GWE_SYSLOG_SOCKET";
/// Where syslog listens.
pub const DEFAULT_SOCKET: &str = "/dev/log";
/// The ident supervisord's messages carry (the basename of its `argv[0]`), kept
/// so that existing syslog filters on `supervisord` keep matching.
pub const IDENT: &str = "supervisord";
/// `LOG_USER | LOG_INFO`: what `syslog.syslog(msg)` uses for every message.
const PRI: u8 = 8 + 6;
/// The longest line sent as one message; longer lines are sent in pieces.
/// rsyslog's default message size, so nothing is truncated on the way.
pub const MAX_LINE: usize = 8 * 1024;

/// The socket path: `$GWE_SYSLOG_SOCKET`, else `/dev/log`.
pub fn socket_path() -> PathBuf {
    std::env::var_os(SOCKET_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from)
}

/// The daemon's syslog sender (created on first use).
pub fn global() -> &'static Syslog {
    static SYSLOG: OnceLock<Syslog> = OnceLock::new();
    SYSLOG.get_or_init(|| Syslog::new(socket_path()))
}

/// A non-blocking sender of syslog datagrams with drop accounting.
#[derive(Debug)]
pub struct Syslog {
    path: PathBuf,
    sock: Option<UnixDatagram>,
    failing: AtomicBool,
    dropped: AtomicU64,
}

/// What a send changed, for the one-time reports.
#[derive(Debug)]
pub enum Sent {
    /// Sent, or dropped while already failing: nothing to report.
    Quiet,
    /// The first message dropped after working (or from the start).
    Failed(io::Error),
    /// Sending works again after `n` messages were dropped.
    Recovered(u64),
}

impl Syslog {
    /// A sender to the socket at `path`.
    pub fn new(path: PathBuf) -> Syslog {
        let sock = UnixDatagram::unbound()
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        Syslog {
            path,
            sock,
            failing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends one complete datagram without blocking.
    pub fn send(&self, msg: &[u8]) -> Sent {
        let r = match &self.sock {
            Some(s) => s.send_to(msg, &self.path).map(|_| ()),
            None => Err(io::Error::from(io::ErrorKind::Unsupported)),
        };
        match r {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    Sent::Recovered(self.dropped.swap(0, Ordering::Relaxed))
                } else {
                    Sent::Quiet
                }
            }
            Err(e) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if self.failing.swap(true, Ordering::Relaxed) {
                    Sent::Quiet
                } else {
                    Sent::Failed(e)
                }
            }
        }
    }

    /// The main-log line for a report, if any.
    pub fn describe(&self, sent: &Sent) -> Option<(crate::process::Level, String)> {
        use crate::process::Level;
        match sent {
            Sent::Quiet => None,
            Sent::Failed(e) => Some((
                Level::Error,
                format!(
                    "cannot send to syslog at {}, dropping syslog messages: {e}",
                    self.path.display()
                ),
            )),
            Sent::Recovered(n) => Some((
                Level::Warn,
                format!(
                    "syslog at {} reachable again after dropping {n} messages",
                    self.path.display()
                ),
            )),
        }
    }
}

/// `<14>Mmm dd hh:mm:ss supervisord: `, glibc's framing for /dev/log (local
/// time, C locale, day padded with a space).
pub fn header() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes the tm we pass; an all-zero tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "<{PRI}>{} {:>2} {:02}:{:02}:{:02} {IDENT}: ",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

thread_local! {
    static MSG: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Splits one stream of child output into per-line syslog messages
/// `name line`, reassembling lines across reads.
#[derive(Debug)]
pub struct LineSender {
    prefix: Vec<u8>,
    partial: Vec<u8>,
}

impl LineSender {
    /// Lines of process `name`.
    pub fn new(name: &str) -> LineSender {
        LineSender {
            prefix: format!("{name} ").into_bytes(),
            partial: Vec::new(),
        }
    }

    /// Sends every line `data` completes; keeps the unfinished tail.
    /// `report` gets what is worth a main-log line.
    pub fn feed(&mut self, mut data: &[u8], to: &Syslog, report: &mut impl FnMut(Sent)) {
        if data.is_empty() {
            return;
        }
        let header = header();
        while !data.is_empty() {
            let (mut line, complete, rest) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (&data[..i], true, &data[i + 1..]),
                None => (data, false, &data[data.len()..]),
            };
            while self.partial.len() + line.len() > MAX_LINE {
                let take = MAX_LINE - self.partial.len();
                self.send(&header, &line[..take], to, report);
                line = &line[take..];
            }
            if complete {
                self.send(&header, line, to, report);
            } else {
                self.partial.extend_from_slice(line);
            }
            data = rest;
        }
    }

    /// At EOF: sends the unfinished last line, if any.
    pub fn finish(&mut self, to: &Syslog, report: &mut impl FnMut(Sent)) {
        if !self.partial.is_empty() {
            self.send(&header(), &[], to, report);
        }
    }

    /// Sends `partial + tail` as one message and empties `partial`.
    fn send(&mut self, header: &str, tail: &[u8], to: &Syslog, report: &mut impl FnMut(Sent)) {
        let sent = MSG.with(|m| {
            let mut m = m.borrow_mut();
            m.clear();
            m.extend_from_slice(header.as_bytes());
            m.extend_from_slice(&self.prefix);
            m.extend_from_slice(&self.partial);
            m.extend_from_slice(tail);
            to.send(&m)
        });
        self.partial.clear();
        if self.partial.capacity() > 1024 {
            // a long line passed: do not keep its buffer for the child's lifetime
            self.partial = Vec::new();
        }
        report(sent);
    }
}

/// Sends main-log text as supervisord's SyslogHandler does: one message per
/// line of `msg`, each formatted by `line` (which adds stamp, level, newline).
pub fn send_main(msg: &str, line: impl Fn(&str) -> String) -> Option<String> {
    let to = global();
    let header = header();
    let mut failure = None;
    for l in msg.trim_end_matches('\n').split('\n') {
        let sent = to.send(format!("{header}{}", line(l)).as_bytes());
        if let Some((_, text)) = to.describe(&sent) {
            failure = Some(text);
        }
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> (tempfile::TempDir, UnixDatagram, Syslog) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let rx = UnixDatagram::bind(&p).unwrap();
        rx.set_nonblocking(true).unwrap();
        (dir, rx, Syslog::new(p))
    }

    fn received(rx: &UnixDatagram) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = rx.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            // <14>Nov 25 16:12:33 supervisord: text
            assert!(m.starts_with("<14>"), "{m}");
            assert_eq!(&m[19..33], " supervisord: ", "{m}");
            out.push(m[33..].to_owned());
        }
        out
    }

    #[test]
    fn header_is_glibc_framing() {
        let h = header();
        assert_eq!(h.len(), 33, "{h}");
        assert!(
            h.starts_with("<14>") && h.ends_with(" supervisord: "),
            "{h}"
        );
        let b = h.as_bytes();
        assert!(b[7] == b' ' && b[10] == b' ' && b[13] == b':' && b[16] == b':');
    }

    #[test]
    fn lines_reassembled_and_bounded() {
        let (_d, rx, to) = receiver();
        let mut s = LineSender::new("app");
        let mut reports = Vec::new();
        let mut r = |x: Sent| reports.push(format!("{x:?}"));
        s.feed(b"one\ntw", &to, &mut r);
        s.feed(b"o\n\nthr", &to, &mut r);
        s.feed(b"ee", &to, &mut r);
        s.finish(&to, &mut r);
        assert_eq!(received(&rx), ["app one", "app two", "app ", "app three"]);
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        s.feed(&long[..100], &to, &mut r);
        s.feed(&long[100..], &to, &mut r);
        s.feed(b"\n", &to, &mut r);
        let exact = vec![b'y'; MAX_LINE];
        s.feed(&exact, &to, &mut r);
        s.feed(b"\n", &to, &mut r);
        let got = received(&rx);
        let x = |n| format!("app {}", "x".repeat(n));
        assert_eq!(
            got,
            [
                x(MAX_LINE),
                x(MAX_LINE),
                x(10),
                format!("app {}", "y".repeat(MAX_LINE))
            ]
        );
        assert!(reports.iter().all(|r| r == "Quiet"), "{reports:?}");
    }

    #[test]
    fn drops_are_counted_and_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let to = Syslog::new(p.clone());
        assert!(matches!(to.send(b"a"), Sent::Failed(_)));
        assert!(matches!(to.send(b"b"), Sent::Quiet));
        let rx = UnixDatagram::bind(&p).unwrap();
        assert!(matches!(to.send(b"c"), Sent::Recovered(2)));
        assert!(matches!(to.send(b"d"), Sent::Quiet));
        let mut buf = [0u8; 8];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"c");
    }
}
