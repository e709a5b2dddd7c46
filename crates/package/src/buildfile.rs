//! The app buildfile (`gwe-buildfile.json`): parse, create (`--create-buildfile`) and check
//! (`--check-buildfile`).
//!
//! Format, as the original wrote it:
//! ```json
//! {
//!   "name": "my_gwe_hosted_app",
//!   "version": "1",
//!   "includes": ["install.sh", "supervisor.conf", "example.sh"],
//!   "excludes": [],
//!   "pre_build_cmds": [],
//!   "post_build_cmds": []
//! }
//! ```
//! Unknown keys are tolerated (reported as `[WARN]`), like the original's dictionary lookups did.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::name::{NameError, TarballName};
use crate::report::CheckLines;

/// The buildfile name used throughout the original documentation.
pub const DEFAULT_BUILDFILE: &str = "gwe-buildfile.json";
/// Default answer of `Provide build file name (my_app.json):`.
pub const DEFAULT_BUILDFILE_ANSWER: &str = "my_app.json";
/// Default answer of `Provide app name (my_app):`.
pub const DEFAULT_APP_NAME: &str = "my_app";
/// Default answer of `Provide app version (1):`.
pub const DEFAULT_APP_VERSION: &str = "1";
/// Largest buildfile read (it is a short JSON document).
pub const MAX_BUILDFILE_BYTES: u64 = 1024 * 1024;

const KNOWN_KEYS: [&str; 6] = [
    "name",
    "version",
    "includes",
    "excludes",
    "pre_build_cmds",
    "post_build_cmds",
];

/// A parsed buildfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Buildfile {
    /// App name (log file name, supervisor program name, version-tracking key).
    pub name: String,
    /// App version.
    pub version: String,
    /// Files, directories (packed recursively) and globs to pack, relative to the buildfile.
    #[serde(default)]
    pub includes: Vec<String>,
    /// Globs of paths to leave out (matched against paths relative to the buildfile's directory).
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Shell commands (`sh -c`) run in the buildfile's directory before packing.
    #[serde(default)]
    pub pre_build_cmds: Vec<String>,
    /// Shell commands run in the buildfile's directory after the tarball is written.
    #[serde(default)]
    pub post_build_cmds: Vec<String>,
}

/// Why a buildfile could not be read, created or used.
#[derive(Debug, thiserror::Error)]
pub enum BuildfileError {
    /// Reading or writing the file failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The buildfile has problems; all of them are listed.
    #[error("`{path}` has problems:\n  {}", problems.join("\n  "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// `--create-buildfile` refuses to overwrite.
    #[error("`{0}` already exists; remove it or choose another build file name")]
    Exists(PathBuf),
    /// The answered name/version do not make a valid tarball name.
    #[error("invalid app name or version: {0}")]
    BadAnswer(#[from] NameError),
    /// The answered build file name is not a plain file name.
    #[error("build file name `{0}` must be a plain file name")]
    BadFileName(String),
}

impl Buildfile {
    /// A bare-bones buildfile, as `--create-buildfile` writes it.
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            includes: vec![crate::INSTALL_SCRIPT.into()],
            excludes: vec![],
            pre_build_cmds: vec![],
            post_build_cmds: vec![],
        }
    }

    /// The tarball this buildfile produces.
    pub fn tarball_name(&self) -> Result<TarballName, NameError> {
        TarballName::new(&self.name, &self.version)
    }

    /// Reads and validates a buildfile; every problem is listed in [`BuildfileError::Invalid`].
    pub fn load(path: &Path) -> Result<Self, BuildfileError> {
        let text = read_limited(path)?;
        let mut lines = CheckLines::default();
        let parsed = parse_into(&text, &mut lines);
        let problems: Vec<String> = lines
            .0
            .iter()
            .filter(|l| l.status == crate::Status::Fail)
            .map(|l| format!("{}: {}", l.check, l.message))
            .collect();
        match parsed {
            Some(b) if problems.is_empty() => Ok(b),
            _ => Err(BuildfileError::Invalid {
                path: path.into(),
                problems,
            }),
        }
    }

    /// The JSON text written to disk (2-space indented, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

fn read_limited(path: &Path) -> Result<String, BuildfileError> {
    use std::io::Read;
    let io = |action| {
        move |source| BuildfileError::Io {
            action,
            path: path.into(),
            source,
        }
    };
    let file = fs::File::open(path).map_err(io("open buildfile"))?;
    let mut text = String::new();
    file.take(MAX_BUILDFILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io("read buildfile"))?;
    if text.len() as u64 > MAX_BUILDFILE_BYTES {
        return Err(BuildfileError::Invalid {
            path: path.into(),
            problems: vec![format!("larger than {MAX_BUILDFILE_BYTES} bytes")],
        });
    }
    Ok(text)
}

fn string_list(obj: &Map<String, Value>, key: &str, lines: &mut CheckLines) -> Option<Vec<String>> {
    let Some(v) = obj.get(key) else {
        lines.warn(key, "missing; taken as an empty list");
        return Some(vec![]);
    };
    let Some(items) = v.as_array() else {
        lines.fail(key, format!("must be a list of strings, found {v}"));
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(s) => out.push(s.to_string()),
            None => {
                lines.fail(key, format!("must hold only strings, found {item}"));
                return None;
            }
        }
    }
    lines.pass(key, format!("list of {} string(s)", out.len()));
    Some(out)
}

fn scalar(obj: &Map<String, Value>, key: &str, lines: &mut CheckLines) -> Option<String> {
    match obj.get(key) {
        None => {
            lines.fail(key, "missing");
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            lines.fail(key, "empty");
            None
        }
        Some(Value::String(s)) => {
            lines.pass(key, format!("`{s}`"));
            Some(s.clone())
        }
        Some(Value::Number(n)) if key == "version" => {
            lines.warn(
                key,
                format!("{n} is a number; write it as a string (\"{n}\")"),
            );
            Some(n.to_string())
        }
        Some(other) => {
            lines.fail(key, format!("must be a string, found {other}"));
            None
        }
    }
}

/// Parses buildfile JSON, recording a check line per key. `None` when unusable.
pub(crate) fn parse_into(text: &str, lines: &mut CheckLines) -> Option<Buildfile> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => {
            lines.pass("json", "valid JSON");
            v
        }
        Err(e) => {
            lines.fail("json", format!("not valid JSON: {e}"));
            return None;
        }
    };
    let Value::Object(obj) = value else {
        lines.fail("json", "the top level must be an object {...}");
        return None;
    };
    let name = scalar(&obj, "name", lines);
    let version = scalar(&obj, "version", lines);
    let includes = string_list(&obj, "includes", lines);
    let excludes = string_list(&obj, "excludes", lines);
    let pre = string_list(&obj, "pre_build_cmds", lines);
    let post = string_list(&obj, "post_build_cmds", lines);
    for key in obj.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        lines.warn(key, "unknown key, ignored");
    }
    let (name, version) = (name?, version?);
    match TarballName::new(&name, &version) {
        Ok(t) => lines.pass("tarball name", format!("builds `{t}`")),
        Err(e) => {
            lines.fail("tarball name", e.to_string());
            return None;
        }
    }
    Some(Buildfile {
        name,
        version,
        includes: includes?,
        excludes: excludes?,
        pre_build_cmds: pre?,
        post_build_cmds: post?,
    })
}

/// The three answers of `--create-buildfile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildfileAnswers {
    /// Build file name (default `my_app.json`).
    pub file_name: String,
    /// App name (default `my_app`; `-n`).
    pub name: String,
    /// App version (default `1`; `-s`).
    pub version: String,
}

impl Default for BuildfileAnswers {
    fn default() -> Self {
        Self {
            file_name: DEFAULT_BUILDFILE_ANSWER.into(),
            name: DEFAULT_APP_NAME.into(),
            version: DEFAULT_APP_VERSION.into(),
        }
    }
}

impl BuildfileAnswers {
    /// Defaults, with `-n`/`-s` values when given (the non-interactive path).
    pub fn from_flags(name: Option<&str>, version: Option<&str>) -> Self {
        let d = Self::default();
        Self {
            file_name: d.file_name,
            name: name.map_or(d.name, str::to_string),
            version: version.map_or(d.version, str::to_string),
        }
    }
}

/// Asks the three questions on `out`, reading answers from `input`. An empty answer or end of
/// input takes the default; questions already answered by `-n`/`-s` are not asked.
pub fn prompt_buildfile_answers(
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    name: Option<&str>,
    version: Option<&str>,
) -> io::Result<BuildfileAnswers> {
    let mut ask = |question: &str, default: &str| -> io::Result<String> {
        write!(out, "Provide {question} ({default}): ")?;
        out.flush()?;
        let mut line = String::new();
        input.read_line(&mut line)?;
        let answer = line.trim();
        Ok(if answer.is_empty() { default } else { answer }.to_string())
    };
    let file_name = ask("build file name", DEFAULT_BUILDFILE_ANSWER)?;
    let name = match name {
        Some(n) => n.to_string(),
        None => ask("app name", DEFAULT_APP_NAME)?,
    };
    let version = match version {
        Some(v) => v.to_string(),
        None => ask("app version", DEFAULT_APP_VERSION)?,
    };
    Ok(BuildfileAnswers {
        file_name,
        name,
        version,
    })
}

/// Writes a bare-bones buildfile named `answers.file_name` into `dir`; refuses to overwrite.
/// Returns its path.
pub fn create_buildfile(dir: &Path, answers: &BuildfileAnswers) -> Result<PathBuf, BuildfileError> {
    let file = answers.file_name.trim();
    if file.is_empty() || file.contains('/') || file == "." || file == ".." {
        return Err(BuildfileError::BadFileName(answers.file_name.clone()));
    }
    TarballName::new(&answers.name, &answers.version)?;
    let path = dir.join(file);
    let io = |action| {
        let path = path.clone();
        move |source| BuildfileError::Io {
            action,
            path,
            source,
        }
    };
    let mut f = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(BuildfileError::Exists(path))
        }
        Err(e) => return Err(io("create buildfile")(e)),
    };
    f.write_all(
        Buildfile::new(&answers.name, &answers.version)
            .to_json()
            .as_bytes(),
    )
    .map_err(io("write buildfile"))?;
    Ok(path)
}

/// The summary printed after `--create-buildfile` (what each key means, and where the file is).
pub fn creation_summary(path: &Path, buildfile: &Buildfile) -> String {
    let rule = "=".repeat(50);
    format!(
        "{rule}\n{:=^50}\n{rule}\n\n\
         A bare-bones JSON build file has been created:\n\n{}\n\
         \"name\"            the app name (log file, supervisor program, version key)\n\
         \"version\"         the app version; change it whenever the app changes\n\
         \"includes\"        files, directories and globs to pack\n\
         \"excludes\"        globs to leave out (handy with includes like \"*\")\n\
         \"pre_build_cmds\"  shell commands run before packing\n\
         \"post_build_cmds\" shell commands run after the tarball is written\n\n\
         Build file location:\n\n    {}\n\n\
         Next: gwe --check-buildfile {file} && gwe --build-app {file}\n",
        "  Build file created  ",
        buildfile.to_json(),
        path.display(),
        file = path
            .file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
    )
}
