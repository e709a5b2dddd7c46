//! Crash-consistent file operations: every replacement is a rename of a fully written, fsynced
//! temporary in the same directory, followed by an fsync of the directory, so a power cut leaves
//! the old or the new file, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    parent_of(path).join(name)
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Makes the tree at `root` durable: every regular file (data and size) and every directory
/// (its entries), deepest first. This is what the new version's files need before anything
/// points at them; unlike `syncfs` it does not wait for unrelated dirty data of the same
/// filesystem (other programs' writes, the download cache). A tree of more than
/// [`SYNC_TREE_MAX_ENTRIES`] entries is flushed with one `syncfs` instead of one `fsync` each.
pub(crate) fn sync_tree(root: &Path) -> io::Result<()> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, bool)>) -> io::Result<bool> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                if !walk(&e.path(), out)? {
                    return Ok(false);
                }
            } else if t.is_file() {
                out.push((e.path(), false));
            }
            if out.len() > SYNC_TREE_MAX_ENTRIES {
                return Ok(false);
            }
        }
        out.push((dir.to_path_buf(), true));
        Ok(true)
    }
    let mut entries = Vec::new();
    if !walk(root, &mut entries)? {
        return sync_filesystem(root);
    }
    for (path, is_dir) in entries {
        if is_dir {
            sync_dir(&path)?;
        } else {
            open_nofollow(&path)?.sync_all()?;
        }
    }
    Ok(())
}

/// Above this many files and directories, [`sync_tree`] uses one `syncfs`.
pub(crate) const SYNC_TREE_MAX_ENTRIES: usize = 4096;

/// Flushes the whole filesystem holding `path` (`syncfs`).
fn sync_filesystem(path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = File::open(path)?;
    // SAFETY: syncfs on a descriptor we own.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Starts the writeback of what was written under `root` since the last call, without waiting
/// for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that the disk works while the download
/// and extraction go on and the final [`sync_tree`] has little left to wait for. What was handed
/// to writeback at the call before is let go of from the page cache (clean pages only), so that
/// installing a large app neither floods a small gateway's memory nor evicts what the running
/// apps use, and the extraction reuses its own pages.
#[derive(Debug, Default)]
pub(crate) struct EarlyWriteback {
    /// Per file: bytes handed to writeback, and bytes let go of from the page cache.
    started: std::collections::HashMap<PathBuf, (u64, u64)>,
    /// Set when the tree has too many entries for repeated walks to be cheap.
    off: bool,
}

/// Above this many entries the walks cost more than they save; the final sync does it all.
const WRITEBACK_MAX_ENTRIES: usize = 512;

impl EarlyWriteback {
    /// One pass over `root` (best effort: errors only end early writeback).
    pub(crate) fn kick(&mut self, root: &Path) {
        if self.off {
            return;
        }
        let mut seen = 0usize;
        if self.walk(root, &mut seen).is_err() || seen > WRITEBACK_MAX_ENTRIES {
            self.off = true;
        }
    }

    fn walk(&mut self, dir: &Path, seen: &mut usize) -> io::Result<()> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            *seen += 1;
            if *seen > WRITEBACK_MAX_ENTRIES {
                return Ok(());
            }
            let t = e.file_type()?;
            if t.is_dir() {
                self.walk(&e.path(), seen)?;
            } else if t.is_file() {
                let len = e.metadata()?.len();
                let path = e.path();
                let (from, dropped) = self.started.get(&path).copied().unwrap_or((0, 0));
                if len > from {
                    let f = open_nofollow(&path)?;
                    drop_cached(&f, dropped, from);
                    start_writeback(&f, from, len)?;
                    self.started.insert(path, (len, from));
                }
            }
        }
        Ok(())
    }
}

/// Starts the writeback of bytes `from..to` of `f` without waiting for it
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`).
pub(crate) fn start_writeback(f: &File, from: u64, to: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a descriptor the caller owns; the kernel checks the range.
    let rc = unsafe {
        libc::sync_file_range(
            f.as_raw_fd(),
            from as libc::off64_t,
            to.saturating_sub(from) as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Lets go of the page cache of bytes `from..to` of `f`. Advice only: pages still dirty or
/// under writeback stay, so nothing is lost; an empty range does nothing.
pub(crate) fn drop_cached(f: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd;
    if to > from {
        // SAFETY: a descriptor the caller owns; advice has no effect on the data.
        unsafe {
            libc::posix_fadvise(
                f.as_raw_fd(),
                from as libc::off_t,
                (to - from) as libc::off_t,
                libc::POSIX_FADV_DONTNEED,
            );
        }
    }
}

/// Writes `contents` to `path` (mode `mode`) atomically and durably.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = sibling(path, &format!(".tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(parent_of(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Points the symlink `link` at `target` atomically (a new link renamed over the old one).
pub(crate) fn swap_symlink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = sibling(link, &format!(".new.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_of(link))
}

/// Removes a file durably; a missing file is fine.
pub(crate) fn remove_file_durable(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a directory tree; a missing one is fine.
pub(crate) fn remove_dir_all_quiet(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames durably (both directories synced).
pub(crate) fn rename_durable(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_dir(parent_of(to))?;
    if parent_of(from) != parent_of(to) {
        sync_dir(parent_of(from))?;
    }
    Ok(())
}

/// Reads a file of at most `max` bytes; `None` when it does not exist.
pub(crate) fn read_small(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(Some(buf))
}

/// An exclusive advisory lock held while the file stays open.
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock at `path` is ours (the file is created when missing).
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        use std::os::fd::AsRawFd;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            // SAFETY: the fd belongs to `file`, open for the lock's lifetime.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_symlink_swap() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_atomic(&p, b"a", 0o644).unwrap();
        write_atomic(&p, b"b", 0o644).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"b");
        let link = d.path().join("current");
        swap_symlink(&link, Path::new("v1")).unwrap();
        swap_symlink(&link, Path::new("v2")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("v2"));
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporaries left");
        assert!(read_small(&d.path().join("missing"), 10).unwrap().is_none());
        fs::create_dir_all(d.path().join("t/sub")).unwrap();
        fs::write(d.path().join("t/sub/a"), vec![1u8; 100_000]).unwrap();
        std::os::unix::fs::symlink("/nonexistent", d.path().join("t/l")).unwrap();
        let mut wb = EarlyWriteback::default();
        wb.kick(&d.path().join("t"));
        assert!(!wb.off);
        assert_eq!(wb.started.len(), 1);
        sync_tree(&d.path().join("t")).unwrap();
        write_atomic(&p, &[0u8; 20], 0o644).unwrap();
        assert!(read_small(&p, 10).is_err());
    }
}
