//! Safe, streaming extraction of an app tarball into a fresh staging directory.
//!
//! The tarball is read once: the compressed bytes are hashed (SHA-256) while entries are written.
//! Every entry is judged by the shared policy before it touches the disk; files are created with
//! `O_EXCL` so nothing is ever written through a symlink. On any error the staging directory is
//! removed, so nothing half-extracted remains.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::ExtractError;
use crate::limits::Limits;
use crate::safety::{show, Admitted};
use crate::stream::{classify, for_each_entry, EntryEvent};

/// Result of a successful extraction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Extracted {
    /// The staging directory now holding the app's files.
    pub staging: PathBuf,
    /// SHA-256 (lowercase hex) of the compressed tarball, computed in the same pass.
    pub sha256: String,
    /// Size of the compressed tarball.
    pub compressed_bytes: u64,
    /// Size of the decompressed tar stream.
    pub uncompressed_bytes: u64,
    /// Number of entries extracted.
    pub entries: u64,
}

/// Removes the staging directory unless disarmed.
struct Cleanup<'a>(Option<&'a Path>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(dir) = self.0 {
            if let Err(e) = fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove staging directory");
            }
        }
    }
}

/// Permissions written to disk: 0755 when any x bit is set, 0644 otherwise.
pub(crate) fn normalized_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

/// Extracts the tarball at `tarball` into `staging`, which must not exist yet (its parent must).
pub fn extract_tarball(
    tarball: &Path,
    staging: &Path,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let file = File::open(tarball).map_err(ExtractError::io("open tarball", tarball))?;
    extract_reader(file, staging, limits)
}

/// Extracts a `.tar.gz` stream (a file, a download body...) into `staging`, which must not exist
/// yet. Memory use is bounded: the stream is never held whole.
pub fn extract_reader<R: Read>(
    reader: R,
    staging: &Path,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    extract(reader, staging, limits, None)
}

/// As [`extract_reader`], for a stream whose SHA-256 its producer computes (a download hashed on
/// the receiving side, so that hashing and extraction run on two cores): `digest` is asked once
/// the stream has been read to its end, and its answer becomes [`Extracted::sha256`].
pub fn extract_reader_prehashed<R: Read>(
    reader: R,
    staging: &Path,
    limits: &Limits,
    digest: impl FnOnce() -> io::Result<String>,
) -> Result<Extracted, ExtractError> {
    extract(reader, staging, limits, Some(Box::new(digest)))
}

type DigestFn<'a> = Box<dyn FnOnce() -> io::Result<String> + 'a>;

fn extract(
    reader: impl Read,
    staging: &Path,
    limits: &Limits,
    digest: Option<DigestFn<'_>>,
) -> Result<Extracted, ExtractError> {
    match fs::create_dir(staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ExtractError::StagingExists(staging.to_path_buf()))
        }
        Err(e) => return Err(ExtractError::io("create staging directory", staging)(e)),
    }
    let mut cleanup = Cleanup(Some(staging));
    let mut buf = vec![0u8; COPY_BUF];
    let summary = for_each_entry(reader, limits, digest.is_none(), |event| {
        materialize(staging, event, limits, &mut buf)
    })?;
    // for_each_entry hashed the stream exactly when no digest was given
    let sha256 = match digest {
        Some(digest) => {
            digest().map_err(|e| ExtractError::Corrupt(format!("no digest of the stream: {e}")))?
        }
        None => summary.sha256.unwrap_or_default(),
    };
    cleanup.0 = None;
    Ok(Extracted {
        staging: staging.to_path_buf(),
        sha256,
        compressed_bytes: summary.compressed_bytes,
        uncompressed_bytes: summary.uncompressed_bytes,
        entries: summary.entries,
    })
}

/// Copy buffer for entry data: one write per 128 KiB, as `cat` and `tar` use; allocated once
/// per extraction.
const COPY_BUF: usize = 128 * 1024;

/// Creates the missing directories of `rel` under `root`; existing ones must be real directories.
fn make_dirs(root: &Path, rel: &Path, raw: &[u8]) -> Result<(), ExtractError> {
    let mut dir = root.to_path_buf();
    for part in rel.components() {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => return Err(ExtractError::Conflict { entry: show(raw) }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(ExtractError::io("create directory", &dir))?;
                fs::set_permissions(&dir, Permissions::from_mode(0o755))
                    .map_err(ExtractError::io("set permissions of", &dir))?;
            }
            Err(e) => return Err(ExtractError::io("inspect", &dir)(e)),
        }
    }
    Ok(())
}

/// Prepares `rel` to receive a non-directory entry: parents exist, an earlier file there is gone.
fn prepare_leaf(root: &Path, rel: &Path, raw: &[u8]) -> Result<PathBuf, ExtractError> {
    if let Some(parent) = rel.parent() {
        make_dirs(root, parent, raw)?;
    }
    let target = root.join(rel);
    match fs::symlink_metadata(&target) {
        Ok(m) if m.is_dir() => Err(ExtractError::Conflict { entry: show(raw) }),
        Ok(_) => {
            fs::remove_file(&target).map_err(ExtractError::io("replace", &target))?;
            Ok(target)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(target),
        Err(e) => Err(ExtractError::io("inspect", &target)(e)),
    }
}

fn materialize(
    root: &Path,
    event: EntryEvent<'_>,
    limits: &Limits,
    buf: &mut [u8],
) -> Result<(), ExtractError> {
    let raw = event.raw_path;
    match event.verdict? {
        Admitted::Skip => Ok(()),
        Admitted::Dir(rel) => make_dirs(root, &rel, raw),
        Admitted::File { path, mode, size } => {
            let target = prepare_leaf(root, &path, raw)?;
            let mode = normalized_mode(mode);
            // create_new = O_CREAT|O_EXCL: never follows a symlink planted at the target.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&target)
                .map_err(ExtractError::io("create file", &target))?;
            let copied = copy_data(event.data, &mut file, &target, limits, buf)?;
            if copied != size {
                return Err(ExtractError::Truncated);
            }
            file.set_permissions(Permissions::from_mode(mode))
                .map_err(ExtractError::io("set permissions of", &target))
        }
        Admitted::Symlink { path, target } => {
            let at = prepare_leaf(root, &path, raw)?;
            std::os::unix::fs::symlink(&target, &at)
                .map_err(ExtractError::io("create symlink", &at))
        }
        Admitted::Hardlink { path, target } => {
            let at = prepare_leaf(root, &path, raw)?;
            let original = root.join(&target);
            match fs::symlink_metadata(&original) {
                Ok(m) if m.file_type().is_file() => {
                    fs::hard_link(&original, &at).map_err(ExtractError::io("create hard link", &at))
                }
                _ => Err(ExtractError::Unsafe(crate::UnsafeEntry::HardlinkOutside {
                    entry: show(raw),
                    target: target.display().to_string(),
                })),
            }
        }
    }
}

/// Copies entry data, telling read errors (archive problems) from write errors (disk problems).
/// Fills `buf` before each write (entry data arrives in decoder-sized pieces), so a file is
/// written in few large writes.
fn copy_data(
    data: &mut dyn Read,
    out: &mut impl io::Write,
    target: &Path,
    limits: &Limits,
    buf: &mut [u8],
) -> Result<u64, ExtractError> {
    let mut total = 0u64;
    loop {
        let mut n = 0;
        while n < buf.len() {
            match data.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(classify(e, false, limits)),
            }
        }
        if n == 0 {
            return Ok(total);
        }
        out.write_all(&buf[..n])
            .map_err(ExtractError::io("write", target))?;
        total += n as u64;
    }
}
