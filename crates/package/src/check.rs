//! The tarball checker (`gwe --check-tarball`): one streaming pass that lists every problem.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gwe_ini::Ini;

use crate::error::ExtractError;
use crate::extract::Extracted;
use crate::limits::Limits;
use crate::name::TarballName;
use crate::report::CheckLines;
use crate::safety::{show, Admitted};
use crate::stream::for_each_entry;

/// The install script every app has at its top level.
pub const INSTALL_SCRIPT: &str = "install.sh";
/// The optional supervisor configuration of long-running apps.
pub const SUPERVISOR_CONF: &str = "supervisor.conf";
/// The installer of the Python-library kind (no `install.sh`).
pub const SETUP_PY: &str = "setup.py";
/// Largest `supervisor.conf` the checker reads.
pub const MAX_SUPERVISOR_CONF: u64 = 64 * 1024;
/// The section name of the original format (renamed to `[program:<NAME>]` at install).
pub const SUPERVISORD_SECTION: &str = "supervisord";

/// What kind of app a tarball holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    /// `install.sh` and `supervisor.conf`: supervised after install.
    LongRunning,
    /// `install.sh` only: a one-off command or a library installed by its script.
    OneOff,
    /// `setup.py` and no `install.sh`: installed with `python setup.py install`.
    PythonLibrary,
}

/// Result of checking one tarball; serializable for `--json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TarballReport {
    /// The tarball as given.
    pub file: String,
    /// Name and version from the file name, when it follows the rule.
    pub name: Option<TarballName>,
    /// The app kind, when it could be told.
    pub kind: Option<AppKind>,
    /// SHA-256 of the tarball, when it was read to the end.
    pub sha256: Option<String>,
    /// Compressed size, when read to the end.
    pub compressed_bytes: Option<u64>,
    /// Decompressed size, when read to the end.
    pub uncompressed_bytes: Option<u64>,
    /// Entries, when read to the end.
    pub entries: Option<u64>,
    /// True when no check failed.
    pub passed: bool,
    /// Every check, in order.
    pub checks: CheckLines,
}

impl TarballReport {
    /// Text output: `[PASS]`/`[FAIL]`/`[WARN]` lines and a final verdict line.
    pub fn render(&self) -> String {
        self.checks.render()
    }
}

/// What the pass noticed about the interesting top-level files.
#[derive(Default)]
struct Seen {
    install: Option<TopFile>,
    conf: Option<TopFile>,
    setup_py: bool,
    nested_install: Option<String>,
}

pub(crate) struct TopFile {
    /// `None` when it is not a regular file (a link or directory).
    pub(crate) mode: Option<u32>,
    /// Leading bytes (first line of install.sh, whole supervisor.conf up to the limit).
    pub(crate) head: Vec<u8>,
    /// The file was larger than what was read.
    pub(crate) truncated: bool,
}

pub(crate) fn read_head(
    data: &mut dyn Read,
    max: u64,
    stop_at_newline: bool,
) -> Result<(Vec<u8>, bool), ExtractError> {
    let mut head = Vec::new();
    data.take(max + 1)
        .read_to_end(&mut head)
        .map_err(|e| crate::stream::classify(e, false, &Limits::default()))?;
    if stop_at_newline {
        if let Some(i) = head.iter().position(|b| *b == b'\n') {
            head.truncate(i);
            return Ok((head, false));
        }
    }
    let truncated = head.len() as u64 > max;
    head.truncate(max as usize);
    Ok((head, truncated))
}

/// Checks the tarball at `path`; never fails: an unreadable file is a `[FAIL]` line.
pub fn check_tarball(path: &Path, limits: &Limits) -> TarballReport {
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match File::open(path) {
        Ok(f) => check_tarball_reader(f, &path.display().to_string(), &file_name, limits),
        Err(e) => {
            let mut checks = CheckLines::default();
            check_name(&file_name, &mut checks);
            checks.fail("archive", format!("cannot open `{}`: {e}", path.display()));
            finish(
                path.display().to_string(),
                TarballName::parse(&file_name).ok(),
                None,
                None,
                checks,
            )
        }
    }
}

fn check_name(file_name: &str, checks: &mut CheckLines) -> Option<TarballName> {
    match TarballName::parse(file_name) {
        Ok(n) => {
            checks.pass(
                "name",
                format!(
                    "`{file_name}` is <NAME>.v<VERSION>.tar.gz (name `{}`, version `{}`)",
                    n.name, n.version
                ),
            );
            Some(n)
        }
        Err(e) => {
            checks.fail("name", e.to_string());
            None
        }
    }
}

fn finish(
    file: String,
    name: Option<TarballName>,
    kind: Option<AppKind>,
    summary: Option<crate::stream::Summary>,
    checks: CheckLines,
) -> TarballReport {
    TarballReport {
        file,
        name,
        kind,
        sha256: summary.as_ref().and_then(|s| s.sha256.clone()),
        compressed_bytes: summary.as_ref().map(|s| s.compressed_bytes),
        uncompressed_bytes: summary.as_ref().map(|s| s.uncompressed_bytes),
        entries: summary.as_ref().map(|s| s.entries),
        passed: checks.failures() == 0,
        checks,
    }
}

/// Checks a `.tar.gz` stream; `display` names it in the report, `file_name` is judged by the
/// naming rule.
pub fn check_tarball_reader<R: Read>(
    reader: R,
    display: &str,
    file_name: &str,
    limits: &Limits,
) -> TarballReport {
    let mut checks = CheckLines::default();
    let name = check_name(file_name, &mut checks);
    let mut seen = Seen::default();
    let mut unsafe_count = 0usize;
    let mut safety = CheckLines::default();
    let result = for_each_entry(reader, limits, true, |event| {
        let admitted = match event.verdict {
            Ok(a) => a,
            Err(e) => {
                unsafe_count += 1;
                safety.fail("safety", e.to_string());
                return Ok(());
            }
        };
        let top = |p: &Path, n: &str| p == Path::new(n);
        match admitted {
            Admitted::File { path, mode, .. } if top(&path, INSTALL_SCRIPT) => {
                let (head, truncated) = read_head(event.data, 4096, true)?;
                seen.install = Some(TopFile {
                    mode: Some(mode),
                    head,
                    truncated,
                });
            }
            Admitted::File { path, mode, .. } if top(&path, SUPERVISOR_CONF) => {
                let (head, truncated) = read_head(event.data, MAX_SUPERVISOR_CONF, false)?;
                seen.conf = Some(TopFile {
                    mode: Some(mode),
                    head,
                    truncated,
                });
            }
            Admitted::File { path, .. } if top(&path, SETUP_PY) => seen.setup_py = true,
            Admitted::Symlink { path, .. }
            | Admitted::Hardlink { path, .. }
            | Admitted::Dir(path)
                if top(&path, INSTALL_SCRIPT) || top(&path, SUPERVISOR_CONF) =>
            {
                let file = TopFile {
                    mode: None,
                    head: Vec::new(),
                    truncated: false,
                };
                if top(&path, INSTALL_SCRIPT) {
                    seen.install = Some(file);
                } else {
                    seen.conf = Some(file);
                }
            }
            Admitted::File { path, .. } if path.file_name() == Some(INSTALL_SCRIPT.as_ref()) => {
                seen.nested_install
                    .get_or_insert_with(|| show(event.raw_path));
            }
            _ => {}
        }
        Ok(())
    });
    let complete = result.is_ok();
    let summary = match result {
        Ok(s) => {
            checks.pass(
                "archive",
                format!(
                    "gzip-compressed tar, {} entries, {} bytes decompressed (limits: {} entries, {} bytes)",
                    s.entries, s.uncompressed_bytes, limits.max_entries, limits.max_uncompressed_bytes
                ),
            );
            Some(s)
        }
        Err(e) => {
            checks.fail("archive", e.to_string());
            None
        }
    };
    if unsafe_count == 0 && complete {
        checks.pass(
            "safety",
            "no absolute paths, `..`, escaping links, devices, fifos or setuid/setgid bits",
        );
    }
    checks.0.extend(safety.0);
    let kind = check_contents(&seen, name.as_ref(), complete, &mut checks);
    finish(display.to_string(), name, kind, summary, checks)
}

fn check_contents(
    seen: &Seen,
    name: Option<&TarballName>,
    complete: bool,
    checks: &mut CheckLines,
) -> Option<AppKind> {
    let install_ok = match &seen.install {
        Some(f) => check_install_script(f, checks),
        None => false,
    };
    if let Some(conf) = &seen.conf {
        check_supervisor_conf(conf, name, checks);
    }
    if seen.install.is_some() {
        if !install_ok {
            return None;
        }
        return Some(if seen.conf.is_some() {
            checks.pass("kind", "long-running app (install.sh + supervisor.conf)");
            AppKind::LongRunning
        } else {
            checks.pass(
                "kind",
                "one-off app or library (install.sh, no supervisor.conf)",
            );
            AppKind::OneOff
        });
    }
    if seen.setup_py {
        checks.pass(
            "kind",
            "python library (top-level setup.py, no install.sh): installed with `python setup.py install`",
        );
        return Some(AppKind::PythonLibrary);
    }
    if complete {
        let hint = seen
            .nested_install
            .as_ref()
            .map(|p| format!("; found `{p}`: pack the directory's contents, not the directory"))
            .unwrap_or_default();
        checks.fail(
            INSTALL_SCRIPT,
            format!("missing at the top level of the tarball (and no top-level setup.py){hint}"),
        );
    }
    None
}

pub(crate) fn check_install_script(f: &TopFile, checks: &mut CheckLines) -> bool {
    let Some(mode) = f.mode else {
        checks.fail(
            INSTALL_SCRIPT,
            "present but not a regular file (a link or directory)",
        );
        return false;
    };
    checks.pass(INSTALL_SCRIPT, "present at the top level");
    let mut ok = true;
    if mode & 0o111 != 0 {
        checks.pass(INSTALL_SCRIPT, format!("executable (mode {mode:o})"));
    } else {
        checks.fail(
            INSTALL_SCRIPT,
            format!("not executable (mode {mode:o}): run `chmod +x install.sh`"),
        );
        ok = false;
    }
    let first = String::from_utf8_lossy(&f.head);
    let interpreter = first.strip_prefix("#!").map(str::trim).unwrap_or("");
    if f.truncated || interpreter.is_empty() {
        checks.fail(
            INSTALL_SCRIPT,
            format!(
                "first line is not a shebang such as `#!/bin/sh`: {:?}",
                first.chars().take(60).collect::<String>()
            ),
        );
        ok = false;
    } else {
        checks.pass(INSTALL_SCRIPT, format!("shebang `{}`", first.trim_end()));
    }
    ok
}

pub(crate) fn check_supervisor_conf(
    f: &TopFile,
    name: Option<&TarballName>,
    checks: &mut CheckLines,
) {
    const C: &str = SUPERVISOR_CONF;
    if f.mode.is_none() {
        checks.fail(C, "present but not a regular file (a link or directory)");
        return;
    }
    if f.truncated {
        checks.fail(C, format!("larger than {MAX_SUPERVISOR_CONF} bytes"));
        return;
    }
    let Ok(text) = std::str::from_utf8(&f.head) else {
        checks.fail(C, "not valid UTF-8 text");
        return;
    };
    let ini = match Ini::parse_str(text, Path::new(C)) {
        Ok(ini) => ini,
        Err(e) => {
            checks.fail(C, format!("does not parse as INI: {e}"));
            return;
        }
    };
    let program = name.map(|n| format!("program:{}", n.name));
    let mut recognized = Vec::new();
    for section in ini.sections() {
        let s = section.name();
        if s == SUPERVISORD_SECTION || Some(s) == program.as_deref() {
            recognized.push(section);
        } else if let Some(other) = s.strip_prefix("program:") {
            checks.fail(
                C,
                format!(
                    "section [{s}] names program `{other}`, but the tarball's app name is `{}`",
                    name.map_or("?", |n| n.name.as_str())
                ),
            );
        } else {
            checks.warn(C, format!("section [{s}] is ignored at install"));
        }
    }
    match recognized.as_slice() {
        [] => {
            checks.fail(
                C,
                format!(
                "no [{SUPERVISORD_SECTION}] section{}: the file would not be recognized at install",
                program.as_deref().map(|p| format!(" (or [{p}])")).unwrap_or_default()
            ),
            )
        }
        [one] => {
            checks.pass(C, format!("parses; section [{}]", one.name()));
            match one.get("command") {
                Some(c) if !c.value.trim().is_empty() && c.value.trim() != "command" => {
                    checks.pass(C, format!("command = {}", c.value.trim()))
                }
                _ => checks.fail(
                    C,
                    format!(
                        "[{}] has no `command`: the default placeholder `command` always fails",
                        one.name()
                    ),
                ),
            }
        }
        _ => checks.fail(C, "both [supervisord] and [program:<NAME>]: keep one"),
    }
}

/// Reads a top-level file of an app directory on disk; `mode: None` when it is not a regular file.
pub(crate) fn disk_top_file(path: &Path, max: u64, first_line: bool) -> io::Result<TopFile> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Ok(TopFile {
            mode: None,
            head: vec![],
            truncated: false,
        });
    }
    let mut f = File::open(path)?;
    let (head, truncated) =
        read_head(&mut f, max, first_line).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(TopFile {
        mode: Some(meta.permissions().mode() & 0o7777),
        head,
        truncated,
    })
}

/// The content checks (install.sh, supervisor.conf, kind) on an extracted staging directory, so
/// the install pipeline needs no second pass over the tarball. `name` is the tarball's parsed name
/// (for the `[program:<NAME>]` check); the size figures come from `extracted`.
pub fn check_extracted(extracted: &Extracted, name: Option<&TarballName>) -> TarballReport {
    let mut checks = CheckLines::default();
    let dir = &extracted.staging;
    let mut seen = Seen::default();
    let read = |file: &str, max: u64, first_line: bool, checks: &mut CheckLines| match disk_top_file(
        &dir.join(file),
        max,
        first_line,
    ) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            checks.fail(file, format!("cannot read: {e}"));
            None
        }
    };
    seen.install = read(INSTALL_SCRIPT, 4096, true, &mut checks);
    seen.conf = read(SUPERVISOR_CONF, MAX_SUPERVISOR_CONF, false, &mut checks);
    seen.setup_py = fs::symlink_metadata(dir.join(SETUP_PY)).is_ok_and(|m| m.is_file());
    let kind = check_contents(&seen, name, true, &mut checks);
    TarballReport {
        file: dir.display().to_string(),
        name: name.cloned(),
        kind,
        sha256: Some(extracted.sha256.clone()),
        compressed_bytes: Some(extracted.compressed_bytes),
        uncompressed_bytes: Some(extracted.uncompressed_bytes),
        entries: Some(extracted.entries),
        passed: checks.failures() == 0,
        checks,
    }
}
