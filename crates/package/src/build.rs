//! Building an app tarball from a buildfile (`gwe --build-app-tarball`), reproducibly, and the
//! full buildfile check (`gwe --check-buildfile`).
//!
//! Reproducible means: the same input files give a byte-identical `.tar.gz` (same SHA-256),
//! whatever their mtimes, owners or umask: entries are sorted, mtime is fixed (`SOURCE_DATE_EPOCH`
//! or 0), uid/gid 0 with names `root`, permissions normalized to 0755 (any x bit) / 0644 and 0755
//! for directories, and the gzip header carries no mtime and no file name.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::buildfile::{parse_into, Buildfile, BuildfileError};
use crate::check::{check_install_script, check_supervisor_conf, check_tarball, disk_top_file};
use crate::limits::Limits;
use crate::name::TarballName;
use crate::report::CheckLines;
use crate::{TarballReport, INSTALL_SCRIPT, SETUP_PY, SUPERVISOR_CONF};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The buildfile could not be read or is invalid.
    #[error(transparent)]
    Buildfile(#[from] BuildfileError),
    /// A pre- or post-build command failed.
    #[error("{phase} command `{command}` failed: {status}")]
    Command {
        /// `pre_build_cmds` or `post_build_cmds`.
        phase: &'static str,
        /// The command line.
        command: String,
        /// Exit status or spawn error.
        status: String,
    },
    /// An include pattern matched no file.
    #[error("include `{pattern}` matches no file")]
    IncludeMatchesNothing {
        /// The pattern.
        pattern: String,
    },
    /// An include/exclude pattern is invalid or reaches outside the buildfile's directory.
    #[error("pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// An input file cannot be packed safely (escaping symlink, device, fifo, socket).
    #[error("`{path}`: {reason}")]
    UnsafeInput {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A filesystem operation failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

/// Options of [`build_app_tarball`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Where the tarball goes. Default: the buildfile's directory.
    pub out_dir: Option<PathBuf>,
    /// mtime of every entry. Default: `SOURCE_DATE_EPOCH` if set and numeric, else 0.
    pub mtime: Option<u64>,
    /// Run `pre_build_cmds`/`post_build_cmds`. Default: true.
    pub run_commands: bool,
    /// Limits for the check of the result. Default: [`Limits::default`].
    pub limits: Limits,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            out_dir: None,
            mtime: None,
            run_commands: true,
            limits: Limits::default(),
        }
    }
}

/// What [`build_app_tarball`] produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildOutcome {
    /// Absolute path of the tarball (printed on stdout by `gwe --build-app`).
    pub tarball: PathBuf,
    /// Name and version.
    pub name: TarballName,
    /// SHA-256 (hex) of the tarball.
    pub sha256: String,
    /// Entries packed.
    pub entries: usize,
    /// The tarball checks run on the result.
    pub report: TarballReport,
}

/// `SOURCE_DATE_EPOCH` when set to a number, else 0.
pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One input to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Dir,
    File { abs: PathBuf, exec: bool, len: u64 },
    Symlink(PathBuf),
}

/// Files collected from includes minus excludes, keyed (and so sorted) by relative path.
#[derive(Debug, Default)]
struct Collected {
    inputs: BTreeMap<PathBuf, Input>,
    unmatched: Vec<String>,
}

fn glob_options() -> glob::MatchOptions {
    // Like Python's glob, which the original used: `*` does not match dot files.
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: false,
        require_literal_leading_dot: true,
    }
}

fn check_pattern(pattern: &str) -> Result<(), BuildError> {
    let bad = |reason: &str| BuildError::BadPattern {
        pattern: pattern.into(),
        reason: reason.into(),
    };
    if pattern.is_empty() {
        return Err(bad("empty pattern"));
    }
    let p = Path::new(pattern);
    if p.is_absolute() {
        return Err(bad(
            "absolute paths are not allowed: paths are relative to the buildfile",
        ));
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(bad("`..` would reach outside the buildfile's directory"));
    }
    glob::Pattern::new(pattern).map_err(|e| bad(&e.to_string()))?;
    Ok(())
}

struct Collector<'a> {
    root: &'a Path,
    excludes: Vec<glob::Pattern>,
    skip: &'a [PathBuf],
    out: Collected,
}

impl Collector<'_> {
    fn excluded(&self, rel: &Path) -> bool {
        rel.ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .any(|a| {
                self.excludes
                    .iter()
                    .any(|p| p.matches_path_with(a, glob_options()))
            })
    }

    fn add(&mut self, rel: &Path) -> Result<(), BuildError> {
        let abs = self.root.join(rel);
        if self.excluded(rel) || self.skip.contains(&abs) || self.out.inputs.contains_key(rel) {
            return Ok(());
        }
        let meta = fs::symlink_metadata(&abs).map_err(io_err("inspect", &abs))?;
        let ft = meta.file_type();
        let input = if ft.is_symlink() {
            let target = fs::read_link(&abs).map_err(io_err("read symlink", &abs))?;
            if !link_stays_inside(rel, &target) {
                return Err(BuildError::UnsafeInput {
                    path: abs,
                    reason: format!(
                        "symlink to `{}` points outside the app; copy the file instead",
                        target.display()
                    ),
                });
            }
            Input::Symlink(target)
        } else if ft.is_dir() {
            Input::Dir
        } else if ft.is_file() {
            Input::File {
                abs: abs.clone(),
                exec: meta.permissions().mode() & 0o111 != 0,
                len: meta.len(),
            }
        } else {
            return Err(BuildError::UnsafeInput {
                path: abs,
                reason: "devices, fifos and sockets cannot be packed".into(),
            });
        };
        let is_dir = input == Input::Dir;
        self.out.inputs.insert(rel.to_path_buf(), input);
        if is_dir {
            let mut children: Vec<PathBuf> = fs::read_dir(&abs)
                .map_err(io_err("list directory", &abs))?
                .map(|e| e.map(|e| rel.join(e.file_name())))
                .collect::<Result<_, _>>()
                .map_err(io_err("list directory", &abs))?;
            children.sort();
            for child in children {
                self.add(&child)?;
            }
        }
        Ok(())
    }
}

/// The extractor's rule (see `safety::resolve_link`): relative, `..` only leading, never above
/// the root.
fn link_stays_inside(rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = rel.components().count() as i64 - 1;
    let mut descended = false;
    for c in target.components() {
        match c {
            Component::ParentDir if descended => return false,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => {
                descended = true;
                depth += 1;
            }
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Resolves includes minus excludes under `root`.
fn collect(root: &Path, b: &Buildfile, skip: &[PathBuf]) -> Result<Collected, BuildError> {
    for p in b.includes.iter().chain(&b.excludes) {
        check_pattern(p)?;
    }
    let excludes = b
        .excludes
        .iter()
        .map(|p| glob::Pattern::new(p))
        .collect::<Result<_, _>>()
        .map_err(|e| BuildError::BadPattern {
            pattern: b.excludes.join(", "),
            reason: e.to_string(),
        })?;
    let root_str = root.to_str().ok_or_else(|| BuildError::UnsafeInput {
        path: root.into(),
        reason: "the buildfile's directory must be a UTF-8 path".into(),
    })?;
    let mut c = Collector {
        root,
        excludes,
        skip,
        out: Collected::default(),
    };
    for pattern in &b.includes {
        let full = format!("{}/{}", glob::Pattern::escape(root_str), pattern);
        let matches =
            glob::glob_with(&full, glob_options()).map_err(|e| BuildError::BadPattern {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
        let mut any = false;
        for m in matches {
            let abs = m.map_err(|e| BuildError::Io {
                action: "read",
                path: e.path().to_path_buf(),
                source: io::Error::new(e.error().kind(), e.error().to_string()),
            })?;
            let Ok(rel) = abs.strip_prefix(root) else {
                continue;
            };
            let rel: PathBuf = rel
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            any = true;
            if rel.as_os_str().is_empty() {
                // `.` (or `./`): the directory's contents.
                let mut children: Vec<PathBuf> = fs::read_dir(root)
                    .map_err(io_err("list directory", root))?
                    .filter_map(|e| e.ok().map(|e| PathBuf::from(e.file_name())))
                    .collect();
                children.sort();
                for child in children {
                    c.add(&child)?;
                }
            } else {
                c.add(&rel)?;
            }
        }
        if !any {
            c.out.unmatched.push(pattern.clone());
        }
    }
    Ok(c.out)
}

/// Reads exactly `len` bytes, failing if the file changed size while being packed.
struct ExactLen<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactLen<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being packed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn header(entry_type: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(entry_type);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    // Both names are short ASCII: these cannot fail.
    let _ = h.set_username("root");
    let _ = h.set_groupname("root");
    h
}

/// Writes the sorted inputs as a reproducible `.tar.gz` to `out`.
fn write_tarball(
    inputs: &BTreeMap<PathBuf, Input>,
    out: File,
    mtime: u64,
    path: &Path,
) -> Result<(), BuildError> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(BufWriter::new(out), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let werr = io_err("write tarball", path);
    for (rel, input) in inputs {
        match input {
            Input::Dir => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0, mtime);
                let name = format!("{}/", rel.display());
                tar.append_data(&mut h, name, io::empty())
                    .map_err(io_err("write tarball", path))?;
            }
            Input::File { abs, exec, len } => {
                let mode = if *exec { 0o755 } else { 0o644 };
                let mut h = header(tar::EntryType::Regular, mode, *len, mtime);
                let f = File::open(abs).map_err(io_err("open", abs))?;
                tar.append_data(
                    &mut h,
                    rel,
                    ExactLen {
                        inner: f,
                        left: *len,
                    },
                )
                .map_err(io_err("pack", abs))?;
            }
            Input::Symlink(target) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0, mtime);
                tar.append_link(&mut h, rel, target)
                    .map_err(io_err("write tarball", path))?;
            }
        }
    }
    let gz = tar.into_inner().map_err(io_err("write tarball", path))?;
    let buf = gz.finish().map_err(io_err("write tarball", path))?;
    let file = buf.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(io_err("sync", path))
}

fn run_commands(
    phase: &'static str,
    cmds: &[String],
    dir: &Path,
    b: &Buildfile,
) -> Result<(), BuildError> {
    use std::os::fd::AsFd;
    for cmd in cmds {
        tracing::info!(phase, command = %cmd, "running build command");
        // The command's stdout goes to our stderr: stdout carries only the tarball path.
        let stdout = io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null());
        let status = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .env("GWE_APP_NAME", &b.name)
            .env("GWE_APP_VERSION", &b.version)
            .stdin(Stdio::null())
            .stdout(stdout)
            .status()
            .map_err(|e| BuildError::Command {
                phase,
                command: cmd.clone(),
                status: format!("cannot start sh: {e}"),
            })?;
        if !status.success() {
            return Err(BuildError::Command {
                phase,
                command: cmd.clone(),
                status: status.to_string(),
            });
        }
    }
    Ok(())
}

fn buildfile_dir(buildfile: &Path) -> Result<PathBuf, BuildError> {
    let abs = fs::canonicalize(buildfile).map_err(io_err("find buildfile", buildfile))?;
    Ok(abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/")))
}

/// Builds `<name>.v<version>.tar.gz` from the buildfile at `buildfile`: runs `pre_build_cmds` (with
/// `sh -c` in the buildfile's directory), packs includes minus excludes reproducibly, runs
/// `post_build_cmds`, then checks the tarball (see [`BuildOutcome::report`]).
pub fn build_app_tarball(
    buildfile: &Path,
    opts: &BuildOptions,
) -> Result<BuildOutcome, BuildError> {
    let b = Buildfile::load(buildfile)?;
    let name = b.tarball_name().map_err(BuildfileError::from)?;
    let root = buildfile_dir(buildfile)?;
    let out_dir = match &opts.out_dir {
        Some(d) => fs::canonicalize(d).map_err(io_err("find output directory", d))?,
        None => root.clone(),
    };
    let file_name = name.file_name();
    let tarball = out_dir.join(&file_name);
    let partial = out_dir.join(format!(".{file_name}.partial-{}", std::process::id()));
    let skip = [
        tarball.clone(),
        partial.clone(),
        out_dir.join(format!("{file_name}.sig")),
    ];
    if opts.run_commands {
        run_commands("pre_build_cmds", &b.pre_build_cmds, &root, &b)?;
    }
    let collected = collect(&root, &b, &skip)?;
    if let Some(pattern) = collected.unmatched.first() {
        return Err(BuildError::IncludeMatchesNothing {
            pattern: pattern.clone(),
        });
    }
    let mtime = opts.mtime.unwrap_or_else(source_date_epoch);
    let out = File::create(&partial).map_err(io_err("create", &partial))?;
    let written = write_tarball(&collected.inputs, out, mtime, &partial).and_then(|()| {
        fs::rename(&partial, &tarball).map_err(io_err("rename into place", &tarball))
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    if opts.run_commands {
        run_commands("post_build_cmds", &b.post_build_cmds, &root, &b)?;
    }
    let sha256 = crate::sha256_file(&tarball).map_err(io_err("hash", &tarball))?;
    let report = check_tarball(&tarball, &opts.limits);
    Ok(BuildOutcome {
        tarball,
        name,
        sha256,
        entries: collected.inputs.len(),
        report,
    })
}

/// Result of `--check-buildfile`; serializable for `--json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildfileReport {
    /// The buildfile as given.
    pub file: String,
    /// The parsed buildfile, when usable.
    pub buildfile: Option<Buildfile>,
    /// The files that would be packed (relative paths, sorted), when they could be resolved.
    pub files: Vec<String>,
    /// True when no check failed.
    pub passed: bool,
    /// Every check, in order.
    pub checks: CheckLines,
}

impl BuildfileReport {
    /// Text output: one line per check, then a bare `[PASS]` (or `[FAIL] N problems`).
    pub fn render(&self) -> String {
        self.checks.render()
    }
}

/// Checks a buildfile for common problems (`gwe --check-buildfile`) and lists every one:
/// JSON shape and types, the tarball name, patterns, files matched, `install.sh` (present,
/// executable, shebang) or `setup.py`, and `supervisor.conf`. Never fails: problems are lines.
pub fn check_buildfile(buildfile: &Path) -> BuildfileReport {
    let mut checks = CheckLines::default();
    let report = |b: Option<Buildfile>, files: Vec<String>, checks: CheckLines| BuildfileReport {
        file: buildfile.display().to_string(),
        buildfile: b,
        files,
        passed: checks.failures() == 0,
        checks,
    };
    let text = match fs::read(buildfile) {
        Ok(t) if t.len() as u64 <= crate::buildfile::MAX_BUILDFILE_BYTES => t,
        Ok(_) => {
            checks.fail("buildfile", "too large");
            return report(None, vec![], checks);
        }
        Err(e) => {
            checks.fail(
                "buildfile",
                format!("cannot read `{}`: {e}", buildfile.display()),
            );
            return report(None, vec![], checks);
        }
    };
    let Some(b) = parse_into(&String::from_utf8_lossy(&text), &mut checks) else {
        return report(None, vec![], checks);
    };
    let mut pattern_ok = true;
    for p in b.includes.iter().chain(&b.excludes) {
        if let Err(e) = check_pattern(p) {
            checks.fail("patterns", e.to_string());
            pattern_ok = false;
        }
    }
    if b.includes.is_empty() {
        checks.fail("includes", "empty: nothing would be packed");
    }
    let Ok(root) = buildfile_dir(buildfile) else {
        checks.fail("buildfile", "cannot resolve its directory");
        return report(Some(b), vec![], checks);
    };
    if !pattern_ok {
        return report(Some(b), vec![], checks);
    }
    let made_by_pre = !b.pre_build_cmds.is_empty();
    let collected = match collect(
        &root,
        &b,
        &[root.join(b.tarball_name().map(|n| n.file_name()).unwrap_or_default())],
    ) {
        Ok(c) => c,
        Err(e) => {
            checks.fail("files", e.to_string());
            return report(Some(b), vec![], checks);
        }
    };
    for p in &collected.unmatched {
        let msg = format!("include `{p}` matches no file");
        if made_by_pre {
            checks.warn(
                "files",
                format!("{msg} (yet: pre_build_cmds may create it)"),
            );
        } else {
            checks.fail("files", msg);
        }
    }
    checks.pass(
        "files",
        format!("{} entries would be packed", collected.inputs.len()),
    );
    let has = |n: &str| collected.inputs.contains_key(Path::new(n));
    let missing = |checks: &mut CheckLines, msg: String| {
        if made_by_pre {
            checks.warn(
                INSTALL_SCRIPT,
                format!("{msg} (yet: pre_build_cmds may create it)"),
            );
        } else {
            checks.fail(INSTALL_SCRIPT, msg);
        }
    };
    if has(INSTALL_SCRIPT) {
        match disk_top_file(&root.join(INSTALL_SCRIPT), 4096, true) {
            Ok(f) => {
                check_install_script(&f, &mut checks);
            }
            Err(e) => checks.fail(INSTALL_SCRIPT, format!("cannot read: {e}")),
        }
    } else if has(SETUP_PY) {
        checks.pass("kind", "python library (setup.py, no install.sh)");
    } else {
        missing(
            &mut checks,
            "not among the included files (and no setup.py)".into(),
        );
    }
    if has(SUPERVISOR_CONF) {
        match disk_top_file(
            &root.join(SUPERVISOR_CONF),
            crate::MAX_SUPERVISOR_CONF,
            false,
        ) {
            Ok(f) => check_supervisor_conf(&f, b.tarball_name().ok().as_ref(), &mut checks),
            Err(e) => checks.fail(SUPERVISOR_CONF, format!("cannot read: {e}")),
        }
    }
    let files = collected
        .inputs
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    report(Some(b), files, checks)
}
