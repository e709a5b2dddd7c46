//! Loading a supervisord config the way supervisord 4.3.0's `ServerOptions.read_config` does:
//! the main file, then `[include] files` (globs relative to the main file's directory, sorted
//! matches), then every section turned into the typed model with the same defaults,
//! `%(name)s` expansions and conversions. Problems are collected and reported together, each
//! as `file:line: [section] option: what is wrong`.
//!
//! Deliberate differences from supervisord (all make a bad config fail earlier):
//! an unreadable include file, an empty or unparsable `command`, duplicate group names and
//! process-name collisions inside a group are errors; `[eventlistener:x]` and
//! `[fcgi-program:x]` are refused as not supported yet.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use gwe_ini::{Entry, Ini, IniError, Location};

use super::expand::{expand, ExpVal, Expansions};
use super::values as v;
use super::{
    AutoRestart, Config, GroupConfig, InetHttpServer, LogConfig, LogTarget, ProcessConfig,
    SupervisorctlSection, SupervisordSection, UnixHttpServer,
};

/// Most processes one `[program:x]` may expand to: a typo like `numprocs=100000000` must not
/// exhaust the gateway's memory.
pub const MAX_NUMPROCS: i64 = 10_000;

/// One thing wrong with a configuration, and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line; 0 when it concerns the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// A configuration that cannot be used: every problem found (never empty), one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_problems(.problems))]
pub struct ConfigError {
    /// The problems, in the order they were found.
    pub problems: Vec<Problem>,
}

fn display_problems(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

impl ConfigError {
    fn from_ini(e: IniError, fallback: &Path) -> Self {
        let (file, line) = match e.location() {
            Some((f, l)) => (f.to_owned(), l),
            None => (fallback.to_owned(), 0),
        };
        // IniError's Display already starts with "file:line: "; keep only the message.
        let text = e.to_string();
        let prefix = if line == 0 {
            format!("{}: ", file.display())
        } else {
            format!("{}:{}: ", file.display(), line)
        };
        let message = text.strip_prefix(&prefix).unwrap_or(&text).to_owned();
        ConfigError {
            problems: vec![Problem {
                file,
                line,
                message,
            }],
        }
    }
}

/// Reads the supervisord config at `path` with its includes and builds the validated model.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let main = v::normalize_path(path);
    let mut ini = Ini::new();
    ini.read_file(&main)
        .map_err(|e| ConfigError::from_ini(e, &main))?;
    let mut loader = Loader::new(ini, main);
    loader.read_includes();
    loader.finish_if_failed()?;
    let config = loader.build();
    loader.finish_if_failed()?;
    config.ok_or_else(|| unreachable_problem(&loader.main))
}

fn unreachable_problem(main: &Path) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            file: main.to_owned(),
            line: 0,
            message: "configuration could not be built".to_owned(),
        }],
    }
}

/// Options `[program:x]` understands; others are ignored with a warning, as supervisord
/// ignores them silently.
const PROGRAM_KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "autorestart",
    "startsecs",
    "startretries",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "directory",
    "umask",
    "environment",
    "redirect_stderr",
    "serverurl",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
];

struct Loader {
    ini: Ini,
    main: PathBuf,
    main_dir: String,
    host: String,
    /// `ENV_x` names: supervisord's own environment, later plus `[supervisord] environment`.
    env: Expansions,
    problems: Vec<Problem>,
}

fn vars(pairs: &[(&str, ExpVal)]) -> Expansions {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn s(v: &str) -> ExpVal {
    ExpVal::Str(v.to_owned())
}

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl Loader {
    fn new(ini: Ini, main: PathBuf) -> Self {
        let main_dir = main
            .parent()
            .unwrap_or(Path::new("/"))
            .to_string_lossy()
            .into_owned();
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let env = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((
                    format!("ENV_{}", k.into_string().ok()?),
                    ExpVal::Str(v.into_string().ok()?),
                ))
            })
            .collect();
        Loader {
            ini,
            main,
            main_dir,
            host,
            env,
            problems: Vec::new(),
        }
    }

    fn finish_if_failed(&mut self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        // numprocs copies repeat the same problem: report it once
        let mut seen = HashSet::new();
        let problems = std::mem::take(&mut self.problems)
            .into_iter()
            .filter(|p| seen.insert(p.clone()))
            .collect();
        Err(ConfigError { problems })
    }

    fn problem(&mut self, loc: &Location, message: String) {
        self.problems.push(Problem {
            file: loc.file.to_path_buf(),
            line: loc.line,
            message,
        });
    }

    fn section_location(&self, section: &str) -> Location {
        self.ini
            .section(section)
            .map(|s| s.location().clone())
            .unwrap_or_else(|| Location::new(&self.main, 0))
    }

    fn section_problem(&mut self, section: &str, message: String) {
        let loc = self.section_location(section);
        self.problem(&loc, message);
    }

    fn entry(&self, section: &str, key: &str) -> Option<Entry> {
        self.ini.get(section, key).cloned()
    }

    /// `%(here)s` of a value: the directory of the file it was written in.
    fn here_of(&self, loc: &Location) -> String {
        if loc.line == 0 {
            return self.main_dir.clone();
        }
        loc.file
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.main_dir.clone())
    }

    /// All names visible to a value at `loc` with the call's `extra` names.
    fn names(&self, loc: &Location, extra: &Expansions) -> Expansions {
        let mut all = self.env.clone();
        all.insert("here".to_owned(), ExpVal::Str(self.here_of(loc)));
        all.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    /// `saneget`: the value (section's own, else DEFAULT) expanded. `Ok(None)` when absent,
    /// `Err(())` when a problem was recorded.
    fn get(
        &mut self,
        section: &str,
        key: &str,
        extra: &Expansions,
    ) -> Result<Option<(String, Location)>, ()> {
        let Some(e) = self.entry(section, key) else {
            return Ok(None);
        };
        self.expand_at(section, key, &e.value, &e.location, extra)
            .map(|v| Some((v, e.location)))
    }

    fn expand_at(
        &mut self,
        section: &str,
        key: &str,
        value: &str,
        loc: &Location,
        extra: &Expansions,
    ) -> Result<String, ()> {
        let names = self.names(loc, extra);
        expand(value, &names).map_err(|m| {
            self.problem(loc, format!("[{section}] {key}: {m}"));
        })
    }

    /// An option converted with `parse`, or `default` when absent (or wrong: then a problem
    /// is recorded and loading fails anyway).
    fn opt<T>(
        &mut self,
        section: &str,
        key: &str,
        extra: &Expansions,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.get(section, key, extra) {
            Ok(Some((value, loc))) => match parse(&value) {
                Ok(v) => v,
                Err(m) => {
                    self.problem(&loc, format!("[{section}] {key}: {m}"));
                    default
                }
            },
            _ => default,
        }
    }

    /// An optional option converted with `parse`.
    fn opt_some<T>(
        &mut self,
        section: &str,
        key: &str,
        extra: &Expansions,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.get(section, key, extra) {
            Ok(Some((value, loc))) => match parse(&value) {
                Ok(v) => Some(v),
                Err(m) => {
                    self.problem(&loc, format!("[{section}] {key}: {m}"));
                    None
                }
            },
            _ => None,
        }
    }

    fn read_includes(&mut self) {
        if !self.ini.has_section("include") {
            return;
        }
        let Some(files_entry) = self.entry("include", "files") else {
            self.section_problem(
                "include",
                "[include] section has no files setting".to_owned(),
            );
            return;
        };
        let extra = vars(&[("host_node_name", s(&self.host))]);
        let Ok(Some((files, loc))) = self.get("include", "files", &extra) else {
            return;
        };
        let base = PathBuf::from(&self.main_dir);
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        for pattern in files.split(is_py_space).filter(|p| !p.is_empty()) {
            let full = base.join(pattern);
            let full_text = full.to_string_lossy().into_owned();
            let paths = match glob::glob_with(&full_text, options) {
                Ok(paths) => paths,
                Err(e) => {
                    self.problem(
                        &loc,
                        format!("[include] files: bad pattern {pattern:?}: {e}"),
                    );
                    continue;
                }
            };
            let mut matches = Vec::new();
            for p in paths {
                match p {
                    Ok(p) => matches.push(p),
                    Err(e) => self.problem(
                        &loc,
                        format!(
                            "[include] files: cannot read {}: {}",
                            e.path().display(),
                            e.error()
                        ),
                    ),
                }
            }
            if matches.is_empty() {
                tracing::warn!("No file matches via include {full_text:?}");
                continue;
            }
            matches.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            for m in matches {
                if m.is_dir() {
                    tracing::warn!("include {} is a directory: skipped", m.display());
                    continue;
                }
                tracing::info!(
                    "Included extra file {:?} during parsing",
                    m.display().to_string()
                );
                if let Err(e) = self.ini.read_file(&m) {
                    match e {
                        IniError::Io { path, source } => self.problem(
                            &loc,
                            format!(
                                "[include] files: cannot read included file {}: {source}",
                                path.display()
                            ),
                        ),
                        other => self
                            .problems
                            .extend(ConfigError::from_ini(other, &m).problems),
                    }
                }
            }
        }
        if let Some(now) = self.entry("include", "files") {
            if now.location != files_entry.location {
                tracing::warn!(
                    "{}: [include] inside an included file is ignored (supervisord does not follow nested includes)",
                    now.location
                );
            }
        }
    }

    fn build(&mut self) -> Option<Config> {
        if !self.ini.has_section("supervisord") {
            let loc = Location::new(&self.main, 0);
            self.problem(
                &loc,
                ".ini file does not include supervisord section".to_owned(),
            );
            return None;
        }
        self.check_sections();
        let supervisord = self.supervisord();
        let groups = self.process_groups();
        let unix_http_server = self.unix_http_server();
        let inet_http_server = self.inet_http_server();
        let supervisorctl = self.supervisorctl();
        Some(Config {
            path: self.main.clone(),
            supervisord,
            unix_http_server,
            inet_http_server,
            supervisorctl,
            groups,
        })
    }

    fn check_sections(&mut self) {
        let names: Vec<String> = self.ini.section_names().map(str::to_owned).collect();
        for name in names {
            let kind = name.split(':').next().unwrap_or("");
            match (kind, name.contains(':')) {
                (
                    "supervisord" | "unix_http_server" | "inet_http_server" | "supervisorctl"
                    | "include",
                    false,
                )
                | ("program" | "group" | "ctlplugin", true) => {}
                ("rpcinterface", true) => {
                    let factory = self
                        .entry(&name, "supervisor.rpcinterface_factory")
                        .map(|e| e.value);
                    if factory.as_deref() != Some("supervisor.rpcinterface:make_main_rpcinterface")
                    {
                        tracing::warn!("[{name}] is ignored: only the standard supervisor RPC interface is provided");
                    }
                }
                ("eventlistener" | "fcgi-program", true) => {
                    self.section_problem(&name, format!("[{name}] is not supported yet"));
                }
                _ => tracing::warn!("unknown section [{name}] ignored"),
            }
        }
    }

    fn supervisord(&mut self) -> SupervisordSection {
        let sec = "supervisord";
        let none = Expansions::new();
        let minfds = self.opt(sec, "minfds", &none, 1024, v::non_negative);
        let minprocs = self.opt(sec, "minprocs", &none, 200, v::non_negative);
        let directory = self.opt_some(sec, "directory", &none, v::existing_directory);
        let user = self.opt_some(sec, "user", &none, |u| {
            v::check_user(u).map(|()| u.to_owned())
        });
        let umask = self.opt(sec, "umask", &none, 0o22, v::octal);
        let logfile = self.opt(
            sec,
            "logfile",
            &none,
            Some(v::normalize_path(Path::new("supervisord.log"))),
            |s| match s.to_lowercase().as_str() {
                "syslog" | "none" => Ok(None),
                _ => v::existing_dirpath(s).map(|p| Some(v::normalize_path(&p))),
            },
        );
        let logfile_syslog = self
            .entry(sec, "logfile")
            .is_some_and(|e| e.value.trim().eq_ignore_ascii_case("syslog"));
        let logfile_maxbytes = self.opt(sec, "logfile_maxbytes", &none, 50 << 20, v::byte_size);
        let logfile_backups = self.opt(sec, "logfile_backups", &none, 10, v::non_negative);
        let loglevel = self.opt(sec, "loglevel", &none, "info".to_owned(), v::logging_level);
        let pidfile = self.opt(
            sec,
            "pidfile",
            &none,
            v::normalize_path(Path::new("supervisord.pid")),
            |s| v::existing_dirpath(s).map(|p| v::normalize_path(&p)),
        );
        let identifier = self.opt(sec, "identifier", &none, "supervisor".to_owned(), |s| {
            Ok(s.to_owned())
        });
        let nodaemon = self.opt(sec, "nodaemon", &none, false, v::boolean);
        let silent = self.opt(sec, "silent", &none, false, v::boolean);
        let childlogdir = self.opt(
            sec,
            "childlogdir",
            &none,
            std::env::temp_dir(),
            v::existing_directory,
        );
        let nocleanup = self.opt(sec, "nocleanup", &none, false, v::boolean);
        let strip_ansi = self.opt(sec, "strip_ansi", &none, false, v::boolean);
        // supervisord expands `environment` twice: once in saneget, once more with host_node_name.
        let second = vars(&[("host_node_name", s(&self.host))]);
        let environment = match self.get(sec, "environment", &none) {
            Ok(Some((once, loc))) => self
                .expand_at(sec, "environment", &once, &loc, &second)
                .ok()
                .and_then(|twice| match v::key_value_pairs(&twice) {
                    Ok(env) => Some(env),
                    Err(m) => {
                        self.problem(&loc, format!("[{sec}] environment: {m}"));
                        None
                    }
                })
                .unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        for (k, val) in &environment {
            self.env.insert(format!("ENV_{k}"), s(val));
        }
        SupervisordSection {
            logfile,
            logfile_syslog,
            logfile_maxbytes,
            logfile_backups,
            loglevel,
            pidfile,
            nodaemon,
            silent,
            minfds,
            minprocs,
            umask,
            user,
            identifier,
            directory,
            strip_ansi,
            environment,
            childlogdir,
            nocleanup,
        }
    }

    fn process_groups(&mut self) -> Vec<GroupConfig> {
        let names: Vec<String> = self.ini.section_names().map(str::to_owned).collect();
        let none = Expansions::new();
        let mut in_groups = HashSet::new();
        let mut groups = Vec::new();
        for section in names.iter().filter(|n| n.starts_with("group:")) {
            let name = match v::process_or_group_name(&section["group:".len()..]) {
                Ok(n) => n,
                Err(m) => {
                    self.section_problem(section, format!("[{section}]: {m}"));
                    continue;
                }
            };
            let programs = self.opt(section, "programs", &none, Vec::new(), |p| {
                Ok(v::list_of_strings(p))
            });
            let priority = self.opt(section, "priority", &none, 999, v::integer);
            let mut processes = Vec::new();
            for program in programs {
                let program_section = format!("program:{program}");
                if !self.ini.has_section(&program_section) {
                    let loc = self
                        .entry(section, "programs")
                        .map(|e| e.location)
                        .unwrap_or_else(|| self.section_location(section));
                    self.problem(&loc, format!("[{section}] names unknown program {program}"));
                    continue;
                }
                in_groups.insert(program_section.clone());
                processes.extend(self.processes(&program_section, &name));
            }
            groups.push((
                section.clone(),
                GroupConfig {
                    name,
                    priority,
                    processes,
                },
            ));
        }
        for section in names.iter().filter(|n| n.starts_with("program:")) {
            if in_groups.contains(section) {
                continue;
            }
            let name = match v::process_or_group_name(&section["program:".len()..]) {
                Ok(n) => n,
                Err(m) => {
                    self.section_problem(section, format!("[{section}]: {m}"));
                    continue;
                }
            };
            let priority = self.opt(section, "priority", &none, 999, v::integer);
            let processes = self.processes(section, &name);
            groups.push((
                section.clone(),
                GroupConfig {
                    name,
                    priority,
                    processes,
                },
            ));
        }
        // Names must be unique: supervisord would silently keep only one of them.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (section, g) in &groups {
            if let Some(first) = seen.get(&g.name) {
                let msg = format!(
                    "[{section}]: duplicate group name {:?} (also [{first}])",
                    g.name
                );
                self.section_problem(section, msg);
            } else {
                seen.insert(g.name.clone(), section.clone());
            }
            let mut names = HashSet::new();
            for p in &g.processes {
                if !names.insert(p.name.as_str()) {
                    let psec = format!("program:{}", p.program_name);
                    let msg = format!(
                        "[{psec}]: process name {:?} is used more than once in group {:?}",
                        p.name, g.name
                    );
                    self.section_problem(&psec, msg);
                }
            }
        }
        let mut groups: Vec<GroupConfig> = groups.into_iter().map(|(_, g)| g).collect();
        groups.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        groups
    }

    /// `_processes_from_section`: the processes of one `[program:x]` in group `group`.
    fn processes(&mut self, section: &str, group: &str) -> Vec<ProcessConfig> {
        let program_name =
            match v::process_or_group_name(section.split_once(':').map_or("", |p| p.1)) {
                Ok(n) => n,
                Err(m) => {
                    self.section_problem(section, format!("[{section}]: {m}"));
                    return Vec::new();
                }
            };
        let pre = vars(&[
            ("program_name", s(&program_name)),
            ("host_node_name", s(&self.host)),
            ("group_name", s(group)),
        ]);
        let priority = self.opt(section, "priority", &pre, 999, v::integer);
        let autostart = self.opt(section, "autostart", &pre, true, v::boolean);
        let autorestart = self.opt(
            section,
            "autorestart",
            &pre,
            AutoRestart::Unexpected,
            v::auto_restart,
        );
        let startsecs = self.opt(section, "startsecs", &pre, 1, v::non_negative);
        let startretries = self.opt(section, "startretries", &pre, 3, v::non_negative);
        let stopsignal = self.opt(section, "stopsignal", &pre, libc::SIGTERM, v::signal_number);
        let stopwaitsecs = self.opt(section, "stopwaitsecs", &pre, 10, v::non_negative);
        let stopasgroup = self.opt(section, "stopasgroup", &pre, false, v::boolean);
        let killasgroup = self.opt(section, "killasgroup", &pre, stopasgroup, v::boolean);
        let exitcodes = self.opt(section, "exitcodes", &pre, vec![0], v::exitcodes);
        let redirect_stderr = self.opt(section, "redirect_stderr", &pre, false, v::boolean);
        let numprocs = self.opt(section, "numprocs", &pre, 1, |n| match v::integer(n)? {
            n if (0..=MAX_NUMPROCS).contains(&n) => Ok(n),
            _ => Err(format!("{n:?} must be between 0 and {MAX_NUMPROCS}")),
        });
        let numprocs_start = self.opt(section, "numprocs_start", &pre, 0, |n| {
            match v::integer(n)? {
                n if n.checked_add(MAX_NUMPROCS).is_some() => Ok(n),
                _ => Err(format!("{n:?} is too large")),
            }
        });
        let environment = self.entry(section, "environment");
        let capture = |me: &mut Self, k: &str| {
            let maxbytes = me.opt(
                section,
                &format!("{k}_capture_maxbytes"),
                &pre,
                0,
                v::byte_size,
            );
            let events = me.opt(
                section,
                &format!("{k}_events_enabled"),
                &pre,
                false,
                v::boolean,
            );
            (maxbytes, events)
        };
        let (stdout_cmax, stdout_events) = capture(self, "stdout");
        let (stderr_cmax, stderr_events) = capture(self, "stderr");
        let serverurl = self
            .opt_some(section, "serverurl", &pre, |u| Ok(u.to_owned()))
            .filter(|u| !u.trim().eq_ignore_ascii_case("auto"));
        let user = self.opt_some(section, "user", &pre, |u| {
            v::check_user(u).map(|()| u.to_owned())
        });
        let umask = self.opt_some(section, "umask", &pre, v::octal);
        let (process_name, name_loc) = match self.entry(section, "process_name") {
            Some(e) => (e.value, e.location),
            None => (
                "%(program_name)s".to_owned(),
                self.section_location(section),
            ),
        };
        if let Err(m) = v::process_or_group_name(&process_name) {
            self.problem(&name_loc, format!("[{section}] process_name: {m}"));
            return Vec::new();
        }
        let process_name = process_name.trim_matches(is_py_space).to_owned();
        if numprocs > 1 && !process_name.contains("%(process_num)") {
            self.problem(
                &name_loc,
                format!("[{section}] process_name: %(process_num) must be present within process_name when numprocs > 1"),
            );
            return Vec::new();
        }
        if stopasgroup && !killasgroup {
            let loc = self
                .entry(section, "killasgroup")
                .map(|e| e.location)
                .unwrap_or_else(|| self.section_location(section));
            self.problem(
                &loc,
                format!("[{section}]: cannot set stopasgroup=true and killasgroup=false"),
            );
        }
        if let Some(own) = self.ini.section(section) {
            for e in own.entries() {
                if !PROGRAM_KEYS.contains(&e.key.as_str()) {
                    tracing::warn!(
                        "{}: [{section}] unknown option {:?} ignored",
                        e.location,
                        e.key
                    );
                }
            }
        }

        let mut out = Vec::new();
        for num in numprocs_start..numprocs_start + numprocs {
            let mut names = pre.clone();
            names.insert("process_num".to_owned(), ExpVal::Int(num));
            names.insert("numprocs".to_owned(), ExpVal::Int(numprocs));
            let env = match &environment {
                Some(e) => self
                    .expand_at(section, "environment", &e.value, &e.location, &names)
                    .ok()
                    .and_then(|text| match v::key_value_pairs(&text) {
                        Ok(env) => Some(env),
                        Err(m) => {
                            self.problem(&e.location, format!("[{section}] environment: {m}"));
                            None
                        }
                    })
                    .unwrap_or_default(),
                None => BTreeMap::new(),
            };
            for (k, val) in &env {
                names.insert(format!("ENV_{k}"), s(val));
            }
            let directory = self.opt_some(section, "directory", &names, |d| Ok(PathBuf::from(d)));
            let stdout = self.log_config(section, "stdout", &names, stdout_cmax, stdout_events);
            let mut stderr = self.log_config(section, "stderr", &names, stderr_cmax, stderr_events);
            if redirect_stderr {
                // never an stderr log file when redirected
                stderr.target = LogTarget::None;
            }
            let command = match self.get(section, "command", &names) {
                Ok(Some((c, loc))) => match super::shlex::split(&c) {
                    Ok(argv) if !argv.is_empty() => Some((c, argv)),
                    Ok(_) => {
                        self.problem(&loc, format!("[{section}] command: command is empty"));
                        None
                    }
                    Err(m) => {
                        self.problem(
                            &loc,
                            format!("[{section}] command: can't parse command {c:?}: {m}"),
                        );
                        None
                    }
                },
                Ok(None) => {
                    self.section_problem(
                        section,
                        format!("[{section}] does not specify a command"),
                    );
                    None
                }
                Err(()) => None,
            };
            let name = self
                .expand_at(section, "process_name", &process_name, &name_loc, &names)
                .ok()
                .and_then(|n| match v::process_or_group_name(&n) {
                    Ok(n) => Some(n),
                    Err(m) => {
                        self.problem(&name_loc, format!("[{section}] process_name: {m}"));
                        None
                    }
                });
            let (Some((command, argv)), Some(name)) = (command, name) else {
                continue;
            };
            out.push(ProcessConfig {
                name,
                program_name: program_name.clone(),
                group: group.to_owned(),
                command,
                argv,
                priority,
                autostart,
                autorestart,
                startsecs,
                startretries,
                exitcodes: exitcodes.clone(),
                stopsignal,
                stopwaitsecs,
                stopasgroup,
                killasgroup,
                user: user.clone(),
                directory,
                umask,
                environment: env,
                redirect_stderr,
                stdout,
                stderr,
                serverurl: serverurl.clone(),
            });
        }
        out.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        out
    }

    fn log_config(
        &mut self,
        section: &str,
        stream: &str,
        names: &Expansions,
        capture_maxbytes: u64,
        events_enabled: bool,
    ) -> LogConfig {
        let key = format!("{stream}_logfile");
        // supervisord expands a logfile value twice (saneget, then expand()).
        let target = match self.get(section, &key, names) {
            Ok(Some((once, loc))) => match self.expand_at(section, &key, &once, &loc, names) {
                Ok(twice) => match twice.to_lowercase().as_str() {
                    "none" | "off" => LogTarget::None,
                    "auto" => LogTarget::Auto,
                    "syslog" => LogTarget::Syslog,
                    "" => {
                        self.problem(&loc, format!("[{section}] {key}: empty path"));
                        LogTarget::None
                    }
                    _ => match v::existing_dirpath(&twice) {
                        Ok(p) => LogTarget::File(p),
                        Err(m) => {
                            self.problem(&loc, format!("[{section}] {key}: {m}"));
                            LogTarget::None
                        }
                    },
                },
                Err(()) => LogTarget::None,
            },
            Ok(None) => LogTarget::Auto,
            Err(()) => LogTarget::None,
        };
        let backups = self.opt(
            section,
            &format!("{key}_backups"),
            names,
            10,
            v::non_negative,
        );
        let maxbytes = self.opt(
            section,
            &format!("{key}_maxbytes"),
            names,
            50 << 20,
            v::byte_size,
        );
        let syslog = self.opt(
            section,
            &format!("{stream}_syslog"),
            names,
            false,
            v::boolean,
        );
        if target == LogTarget::Syslog {
            tracing::warn!("For [{section}], {key}=syslog but this is deprecated and will be removed.  Use {stream}_syslog=true to enable syslog instead.");
        }
        if target == LogTarget::Auto && maxbytes == 0 {
            tracing::warn!("[{section}]: AUTO logging used for {key} without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally");
        }
        LogConfig {
            syslog: syslog || target == LogTarget::Syslog,
            target,
            maxbytes,
            backups,
            capture_maxbytes,
            events_enabled,
        }
    }

    fn auth(&mut self, section: &str) -> (Option<String>, Option<String>) {
        let none = Expansions::new();
        let username = self.opt_some(section, "username", &none, |u| Ok(u.to_owned()));
        let password = self.opt_some(section, "password", &none, |p| Ok(p.to_owned()));
        if username.is_some() != password.is_some() {
            self.section_problem(
                section,
                format!("[{section}] contains incomplete authentication: if a username or a password is specified, both must be"),
            );
        }
        (username, password)
    }

    fn unix_http_server(&mut self) -> Option<UnixHttpServer> {
        let sec = "unix_http_server";
        if !self.ini.has_section(sec) {
            return None;
        }
        let none = Expansions::new();
        let file = self.opt_some(sec, "file", &none, |f| {
            Ok(v::normalize_path(Path::new(&v::expanduser(
                f.trim_matches(is_py_space),
            ))))
        });
        let chmod = self.opt(sec, "chmod", &none, 0o700, v::octal);
        let chown = self.opt_some(sec, "chown", &none, |c| {
            v::check_user_group(c).map(|()| c.to_owned())
        });
        let (username, password) = self.auth(sec);
        let Some(file) = file else {
            if self.entry(sec, "file").is_none() {
                self.section_problem(sec, format!("section [{sec}] has no file value"));
            }
            return None;
        };
        Some(UnixHttpServer {
            file,
            chmod,
            chown,
            username,
            password,
        })
    }

    fn inet_http_server(&mut self) -> Option<InetHttpServer> {
        let sec = "inet_http_server";
        if !self.ini.has_section(sec) {
            return None;
        }
        let none = Expansions::new();
        let port = self.opt_some(sec, "port", &none, |p| {
            v::inet_address(p).map(|_| p.to_owned())
        });
        let (username, password) = self.auth(sec);
        let Some(port) = port else {
            if self.entry(sec, "port").is_none() {
                self.section_problem(sec, format!("section [{sec}] has no port value"));
            }
            return None;
        };
        Some(InetHttpServer {
            port,
            username,
            password,
        })
    }

    fn supervisorctl(&mut self) -> SupervisorctlSection {
        let sec = "supervisorctl";
        if !self.ini.has_section(sec) {
            return SupervisorctlSection::default();
        }
        let none = Expansions::new();
        let serverurl = self.opt_some(sec, "serverurl", &none, |u| {
            Ok(match u.strip_prefix("unix://") {
                Some(p) => format!(
                    "unix://{}",
                    v::normalize_path(Path::new(&v::expanduser(p))).display()
                ),
                None => u.to_owned(),
            })
        });
        let username = self.opt_some(sec, "username", &none, |u| Ok(u.to_owned()));
        let password = self.opt_some(sec, "password", &none, |p| Ok(p.to_owned()));
        let prompt = self.opt_some(sec, "prompt", &none, |p| Ok(p.to_owned()));
        SupervisorctlSection {
            serverurl,
            username,
            password,
            prompt,
        }
    }
}
