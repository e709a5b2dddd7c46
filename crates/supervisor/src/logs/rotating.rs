//! A log file that rotates by size like supervisord's `RotatingFileHandler`:
//! after a write leaves the file at `maxbytes` or more, `f.N-1 -> f.N ... f -> f.1`
//! and a fresh file; with 0 backups the file is truncated instead; `maxbytes`
//! 0 never rotates. Write failures (full disk, unwritable path) never
//! propagate: the data is dropped and counted, and the first failure of a run
//! of failures is returned once so the caller can log it.
//!
//! Plain writes go through `O_APPEND` (one `write(2)` each, appending even
//! when the file was truncated or appended to by someone else, as supervisord's
//! append-mode file does). splice(2) refuses append-mode targets, so a splice
//! first clears `O_APPEND` (one `fcntl`, only when the previous operation was
//! a write) and goes to the current end (`fstat` size) instead.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// Removes a full log file without making the writer wait for it: freeing
/// maxbytes of page cache (unlink or truncate) takes milliseconds, during which
/// a fast child's pipe would fill up and block it. The file is renamed out of
/// the way (cheap, the name is free) and unlinked on a short-lived thread.
/// Should the daemon die in between, a `*.discarded-*` file stays behind.
fn discard(p: &Path) -> io::Result<()> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut doomed = p.as_os_str().to_owned();
    doomed.push(format!(".discarded-{}-{n}", std::process::id()));
    let doomed = PathBuf::from(doomed);
    std::fs::rename(p, &doomed)?;
    let spawned = std::thread::Builder::new()
        .name("gwe-discard".into())
        .stack_size(32 * 1024)
        .spawn({
            let doomed = doomed.clone();
            move || {
                let _ = std::fs::remove_file(doomed);
            }
        });
    if spawned.is_err() {
        remove_if_present(&doomed)?;
    }
    Ok(())
}

/// Removes what [`discard`] left next to the `logs` when an earlier daemon died between the
/// rename and the unlink (`<log>*.discarded-<pid>-<n>` of another pid). Each directory is read
/// once, however many logs it holds. Best effort.
pub fn remove_stale_discards<'a>(logs: impl IntoIterator<Item = &'a Path>) {
    let mut by_dir: std::collections::BTreeMap<&Path, Vec<String>> = Default::default();
    for log in logs {
        if let (Some(dir), Some(base)) = (log.parent(), log.file_name()) {
            by_dir
                .entry(dir)
                .or_default()
                .push(base.to_string_lossy().into_owned());
        }
    }
    let ours = format!(".discarded-{}-", std::process::id());
    for (dir, bases) in by_dir {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.contains(".discarded-")
                && !name.contains(&ours)
                && bases.iter().any(|b| name.starts_with(b.as_str()))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Size of the open file `fd`.
fn fstat_size(fd: libc::c_int) -> io::Result<libc::loff_t> {
    // SAFETY: fstat writes only into `st`; an all-zero stat is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.st_size as libc::loff_t)
}

/// What [`RotatingFile::splice_from`] did.
#[derive(Debug)]
pub enum Splice {
    /// Moved this many bytes from the pipe to the file.
    Moved(usize),
    /// The pipe's writer closed it.
    Eof,
    /// The pipe is empty for now.
    Empty,
    /// This file (not a regular file) or kernel cannot splice: copy instead.
    Unsupported,
    /// The file could not be written; the data is still in the pipe and must
    /// be read and dropped. Carries the error for the first failure of a run.
    Failed(Option<io::Error>),
}

/// A size-rotating append-only log file.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    maxbytes: u64,
    backups: u32,
    file: Option<File>,
    size: u64,
    regular: bool,
    dropped: u64,
    failing: bool,
    /// Bytes dropped since the current run of failures began.
    dropped_in_run: u64,
    /// Set when writing works again: how much the failure run dropped.
    recovered: Option<u64>,
    /// The open file currently has `O_APPEND` set.
    append: bool,
}

impl RotatingFile {
    /// A writer for `path`; the file is opened (created) on the first write.
    pub fn new(path: PathBuf, maxbytes: u64, backups: u32) -> Self {
        RotatingFile {
            path,
            maxbytes,
            backups,
            file: None,
            size: 0,
            regular: true,
            dropped: 0,
            failing: false,
            dropped_in_run: 0,
            recovered: None,
            append: false,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes dropped because writing failed.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Opens (creates) the file now rather than on the first write; a failure
    /// is left for that write to report.
    pub fn touch(&mut self) {
        let _ = self.open();
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            // append mode like supervisord's; also devices and pipes
            // (/dev/stdout), which are only ever written
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.path)?;
            let meta = f.metadata()?;
            self.regular = meta.is_file();
            self.size = meta.len();
            self.append = true;
            self.file = Some(f);
        }
        // just set above when it was None
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("log file not open"))
    }

    /// Appends `data`, rotating afterwards if needed. Returns the error only
    /// for the first failure after a success (to log once).
    pub fn write(&mut self, data: &[u8]) -> Option<io::Error> {
        // what got in before a failure (a full disk, the file size limit) is
        // in the file, not dropped
        let mut done = 0;
        let res = match self.open() {
            Ok(_) => self.set_append(true).and_then(|f| {
                while done < data.len() {
                    match f.write(&data[done..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => done += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }),
            Err(e) => Err(e),
        };
        match res {
            Ok(()) => self.written(data.len()),
            // the size is read from the file when it is reopened
            Err(e) => self.fail(e, data.len() - done),
        }
    }

    /// Moves up to `len` bytes from the non-blocking pipe `from` to the end
    /// of the file with splice(2): no copy through user space. Rotates like
    /// [`RotatingFile::write`], but never moves past `maxbytes`, so a file
    /// rotated after a splice holds exactly `maxbytes` (a plain write may
    /// overshoot by what it carries, as supervisord's does).
    pub fn splice_from(&mut self, from: BorrowedFd<'_>, len: usize) -> Splice {
        if let Err(e) = self.open() {
            return Splice::Failed(self.fail(e, 0));
        }
        if !self.regular {
            return Splice::Unsupported;
        }
        let out = match self.set_append(false) {
            Ok(file) => file.as_raw_fd(),
            Err(e) => return Splice::Failed(self.fail(e, 0)),
        };
        // (no room left means a rotation failed and is retried after this
        // splice: it is not cut short then)
        let room = self.maxbytes.saturating_sub(self.size);
        let len = if room > 0 {
            len.min(usize::try_from(room).unwrap_or(usize::MAX))
        } else {
            len
        };
        // the current end, like O_APPEND would (splice refuses O_APPEND
        // files); one plain fstat, no statx
        let mut off = match fstat_size(out) {
            Ok(n) => n,
            Err(e) => return Splice::Failed(self.fail(e, 0)),
        };
        // SAFETY: both fds are open for the call; `off` outlives it.
        let n = unsafe {
            libc::splice(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                out,
                &mut off,
                len,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        if n > 0 {
            let n = n as usize;
            return match self.written(n) {
                None => Splice::Moved(n),
                Some(e) => Splice::Failed(Some(e)),
            };
        }
        if n == 0 {
            return Splice::Eof;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => Splice::Empty,
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ESPIPE) => Splice::Unsupported,
            Some(libc::EINTR) => Splice::Moved(0),
            _ => Splice::Failed(self.fail(e, 0)),
        }
    }

    /// The open file with `O_APPEND` set or cleared; one `fcntl` only when
    /// the mode changes (a stream switching between splices and writes).
    fn set_append(&mut self, on: bool) -> io::Result<&mut File> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("log file not open"))?;
        if self.append != on {
            let fd = file.as_raw_fd();
            // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            if flags < 0 {
                return Err(io::Error::last_os_error());
            }
            let flags = if on {
                flags | libc::O_APPEND
            } else {
                flags & !libc::O_APPEND
            };
            if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } != 0 {
                return Err(io::Error::last_os_error());
            }
            self.append = on;
        }
        Ok(file)
    }

    /// Accounts `n` bytes written: ends a failure run, rotates if due.
    fn written(&mut self, n: usize) -> Option<io::Error> {
        if self.failing {
            self.recovered = Some(self.dropped_in_run);
            self.dropped_in_run = 0;
        }
        self.failing = false;
        self.size += n as u64;
        if self.maxbytes > 0 && self.size >= self.maxbytes && self.regular {
            if let Err(e) = self.rotate() {
                return self.fail(e, 0);
            }
        }
        None
    }

    fn fail(&mut self, e: io::Error, lost: usize) -> Option<io::Error> {
        self.dropped += lost as u64;
        self.dropped_in_run += lost as u64;
        // reopen next time: the path may become writable again
        self.file = None;
        if self.failing {
            None
        } else {
            self.failing = true;
            Some(e)
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        if self.backups > 0 {
            // Like supervisord's doRollover: the destination goes first, then
            // each rename has a free target. Renaming over an existing file
            // would make ext4 (its auto_da_alloc heuristic) start writeback of
            // the whole renamed file inside rename(2).
            let oldest = numbered(&self.path, self.backups);
            if oldest.exists() {
                discard(&oldest)?;
            }
            for i in (1..self.backups).rev() {
                let src = numbered(&self.path, i);
                if src.exists() {
                    let dst = numbered(&self.path, i + 1);
                    remove_if_present(&dst)?;
                    std::fs::rename(&src, dst)?;
                }
            }
            let dst = numbered(&self.path, 1);
            remove_if_present(&dst)?;
            std::fs::rename(&self.path, dst)?;
        } else if self.path.exists() {
            // 0 backups: start the file afresh (supervisord truncates it)
            discard(&self.path)?;
        }
        self.open().map(|_| ())
    }

    /// Bytes in the current file (as this writer counts them).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// After a run of failures: the bytes that run dropped, once writing works
    /// again (then reset).
    pub fn take_recovered(&mut self) -> Option<u64> {
        self.recovered.take()
    }

    /// Bytes dropped by the current run of failures, if writing still fails.
    pub fn still_failing(&self) -> Option<u64> {
        self.failing.then_some(self.dropped_in_run)
    }

    /// Removes the file and its backups and starts afresh (clearProcessLogs).
    pub fn clear(&mut self) -> io::Result<()> {
        self.file = None;
        for i in 1..=self.backups {
            let _ = std::fs::remove_file(numbered(&self.path, i));
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.size = 0;
        self.open().map(|_| ())
    }

    /// Closes the file so the next write reopens it (SIGUSR2, log moved away).
    pub fn reopen(&mut self) {
        self.file = None;
    }
}

fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_else(|_| "<missing>".into())
    }

    #[test]
    fn stale_discards_of_another_daemon_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        let stale = dir.path().join("a.log.2.discarded-1-0");
        let mine = dir
            .path()
            .join(format!("a.log.discarded-{}-3", std::process::id()));
        let other_log = dir.path().join("b.log.discarded-1-0");
        for f in [&p, &stale, &mine, &other_log] {
            std::fs::write(f, "x").unwrap();
        }
        remove_stale_discards([p.as_path()]);
        assert!(!stale.exists());
        assert!(p.exists() && mine.exists() && other_log.exists());
    }

    #[test]
    fn rotates_with_backups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        let mut f = RotatingFile::new(p.clone(), 10, 2);
        for chunk in ["aaaaaa", "bbbbbb", "cccccc", "dddddd", "ee"] {
            assert!(f.write(chunk.as_bytes()).is_none());
        }
        assert_eq!(read(&p), "ee");
        assert_eq!(read(&numbered(&p, 1)), "ccccccdddddd");
        assert_eq!(read(&numbered(&p, 2)), "aaaaaabbbbbb");
        assert!(!numbered(&p, 3).exists());
        // a third rotation discards the oldest backup (on another thread)
        f.write(b"ffffffffff");
        assert_eq!(read(&numbered(&p, 2)), "ccccccdddddd");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            if names == ["a.log", "a.log.1", "a.log.2"] {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "left behind: {names:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn zero_backups_truncates_and_zero_maxbytes_never_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        let mut f = RotatingFile::new(p.clone(), 4, 0);
        f.write(b"12345");
        f.write(b"67");
        assert_eq!(read(&p), "67");
        assert!(!numbered(&p, 1).exists());
        let q = dir.path().join("b.log");
        let mut g = RotatingFile::new(q.clone(), 0, 3);
        for _ in 0..100 {
            g.write(b"0123456789");
        }
        assert_eq!(std::fs::metadata(&q).unwrap().len(), 1000);
        assert!(!numbered(&q, 1).exists());
    }

    #[test]
    fn appends_to_existing_file_and_counts_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "xxxxxxxx").unwrap();
        let mut f = RotatingFile::new(p.clone(), 10, 1);
        f.write(b"yy");
        assert_eq!(read(&p), "");
        assert_eq!(read(&numbered(&p, 1)), "xxxxxxxxyy");
    }

    #[test]
    fn unwritable_path_drops_and_reports_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/a.log");
        let mut f = RotatingFile::new(p, 10, 1);
        assert!(f.write(b"abc").is_some());
        assert!(f.write(b"def").is_none(), "reported only once");
        assert_eq!(f.dropped(), 6);
    }

    #[test]
    fn recovery_reports_what_was_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("later");
        let mut f = RotatingFile::new(sub.join("a.log"), 0, 0);
        assert!(f.write(b"abc").is_some());
        f.write(b"de");
        assert_eq!(f.still_failing(), Some(5));
        assert_eq!(f.take_recovered(), None);
        std::fs::create_dir(&sub).unwrap();
        assert!(f.write(b"ok").is_none());
        assert_eq!(f.take_recovered(), Some(5));
        assert_eq!(f.take_recovered(), None);
        assert_eq!(f.still_failing(), None);
        assert_eq!(f.dropped(), 5);
    }

    #[test]
    fn full_disk_drops_data() {
        // /dev/full fails every write with ENOSPC.
        if !Path::new("/dev/full").exists() {
            return;
        }
        let mut f = RotatingFile::new(PathBuf::from("/dev/full"), 0, 0);
        let e = f.write(b"abc").expect("ENOSPC reported");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert!(f.write(b"d").is_none());
        assert_eq!(f.dropped(), 4);
    }

    #[test]
    fn clear_removes_backups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        let mut f = RotatingFile::new(p.clone(), 3, 2);
        f.write(b"aaa");
        f.write(b"bbb");
        f.write(b"c");
        f.clear().unwrap();
        assert_eq!(read(&p), "");
        assert!(!numbered(&p, 1).exists() && !numbered(&p, 2).exists());
        f.write(b"d");
        assert_eq!(read(&p), "d");
    }

    fn nonblocking_pipe() -> (std::os::fd::OwnedFd, File) {
        use nix::fcntl::OFlag;
        let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).unwrap();
        (r, File::from(w))
    }

    #[test]
    fn splice_moves_pipe_data_appends_and_rotates() {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut f = RotatingFile::new(p.clone(), 10, 1);
        let (rx, mut tx) = nonblocking_pipe();
        tx.write_all(b"12345").unwrap();
        assert!(matches!(
            f.splice_from(rx.as_fd(), 1 << 20),
            Splice::Moved(5)
        ));
        assert_eq!(read(&p), "old\n12345");
        assert!(matches!(f.splice_from(rx.as_fd(), 1 << 20), Splice::Empty));
        // a plain write lands after the spliced bytes, then the size rotates
        assert!(f.write(b"w").is_none());
        assert_eq!(read(&p), "");
        assert_eq!(read(&numbered(&p, 1)), "old\n12345w");
        tx.write_all(b"after").unwrap();
        drop(tx);
        assert!(matches!(
            f.splice_from(rx.as_fd(), 1 << 20),
            Splice::Moved(5)
        ));
        assert!(matches!(f.splice_from(rx.as_fd(), 1 << 20), Splice::Eof));
        assert_eq!(read(&p), "after");
    }

    #[test]
    fn a_splice_stops_at_maxbytes_so_rotated_files_hold_exactly_that() {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut f = RotatingFile::new(p.clone(), 10, 2);
        let (rx, mut tx) = nonblocking_pipe();
        tx.write_all(b"abcdefghijklmnopqrstuvwx").unwrap();
        drop(tx);
        let mut moved = Vec::new();
        loop {
            match f.splice_from(rx.as_fd(), 1 << 20) {
                Splice::Moved(n) => moved.push(n),
                Splice::Eof => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(moved, [6, 10, 8]);
        assert_eq!(read(&numbered(&p, 2)), "old\nabcdef");
        assert_eq!(read(&numbered(&p, 1)), "ghijklmnop");
        assert_eq!(read(&p), "qrstuvwx");
    }

    #[test]
    fn a_file_already_past_maxbytes_takes_a_whole_splice_then_rotates() {
        // as after a failed rotation (retried after the next splice): no room
        // left must not cut splices to one byte each
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, [b'a'; 30]).unwrap();
        let mut f = RotatingFile::new(p.clone(), 10, 1);
        let (rx, mut tx) = nonblocking_pipe();
        tx.write_all(&[b'b'; 20]).unwrap();
        assert!(matches!(
            f.splice_from(rx.as_fd(), 1 << 20),
            Splice::Moved(20)
        ));
        assert_eq!(std::fs::metadata(numbered(&p, 1)).unwrap().len(), 50);
        assert_eq!(read(&p), "");
    }

    #[test]
    fn splice_into_a_device_is_unsupported_and_into_a_bad_path_fails_once() {
        use std::os::fd::AsFd;
        let (rx, mut tx) = nonblocking_pipe();
        tx.write_all(b"x").unwrap();
        let mut dev = RotatingFile::new(PathBuf::from("/dev/null"), 0, 0);
        assert!(matches!(
            dev.splice_from(rx.as_fd(), 64),
            Splice::Unsupported
        ));
        let dir = tempfile::tempdir().unwrap();
        let mut bad = RotatingFile::new(dir.path().join("no/such/a.log"), 0, 0);
        assert!(matches!(
            bad.splice_from(rx.as_fd(), 64),
            Splice::Failed(Some(_))
        ));
        assert!(matches!(
            bad.splice_from(rx.as_fd(), 64),
            Splice::Failed(None)
        ));
    }
}
