//! supervisord's configuration: the typed model below, and loading with
//! `[include]`, expansions and validation ([`load`]) on top of the `gwe-ini` parser.
//!
//! The model is what the rest of the supervisor consumes; every option of the
//! spec table has a field here with supervisord's default.

mod expand;
pub mod load;
mod shlex;
mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use load::{load, ConfigError, Problem, MAX_NUMPROCS};

/// A realistic, commented `supervisord.conf` (all paths under `%(here)s`), for users to start from.
pub fn sample() -> &'static str {
    include_str!("sample.conf")
}

/// supervisord's `dict_of_key_value_pairs`: parses an `environment` value
/// (`KEY="val",KEY2=val2`) exactly as supervisord does (non-POSIX shlex tokens).
pub fn parse_environment(value: &str) -> Result<BTreeMap<String, String>, String> {
    values::key_value_pairs(value)
}

/// Python's `shlex.split(command)` (POSIX mode, no comments): how supervisord turns
/// `command` into argv.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    shlex::split(command)
}

impl Config {
    /// What supervisorctl connects to: `[supervisorctl] serverurl`, else `unix://` + the
    /// `[unix_http_server]` socket, else `http://host:port` of `[inet_http_server]`
    /// (`localhost` when it listens on all interfaces); `None` when nothing is configured.
    pub fn server_url(&self) -> Option<String> {
        if let Some(url) = &self.supervisorctl.serverurl {
            return Some(url.clone());
        }
        if let Some(unix) = &self.unix_http_server {
            return Some(format!("unix://{}", unix.file.display()));
        }
        let inet = self.inet_http_server.as_ref()?;
        let (host, port) = values::inet_address(&inet.port).ok()?;
        let host = if host.is_empty() {
            "localhost".to_owned()
        } else {
            host
        };
        Some(format!("http://{host}:{port}"))
    }

    /// A process by supervisorctl name: `group:process`, or a bare `name` (the process of
    /// the homogeneous group `name`, else the first process called `name`).
    pub fn find_process(&self, name: &str) -> Option<&ProcessConfig> {
        let all = || self.groups.iter().flat_map(|g| g.processes.iter());
        if let Some((group, process)) = name.split_once(':') {
            return all().find(|p| p.group == group && p.name == process);
        }
        all()
            .find(|p| p.group == name && p.name == name)
            .or_else(|| all().find(|p| p.name == name))
    }

    /// A group by name.
    pub fn find_group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// A whole, validated configuration file (with its includes resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from (absolute).
    pub path: PathBuf,
    /// `[supervisord]`.
    pub supervisord: SupervisordSection,
    /// `[unix_http_server]`, if present.
    pub unix_http_server: Option<UnixHttpServer>,
    /// `[inet_http_server]`, if present.
    pub inet_http_server: Option<InetHttpServer>,
    /// `[supervisorctl]`.
    pub supervisorctl: SupervisorctlSection,
    /// Process groups, from `[program:x]` (one group each) and `[group:g]`.
    pub groups: Vec<GroupConfig>,
}

/// `[supervisord]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisordSection {
    /// `logfile`, absolute (a relative one is relative to the working directory, as in
    /// supervisord); `None` for `NONE` (no main log file; a gwe extension) and `syslog`.
    pub logfile: Option<PathBuf>,
    /// `logfile=syslog`: the main log goes to syslog instead of a file.
    pub logfile_syslog: bool,
    /// `logfile_maxbytes` (default 50MB; 0 = never rotate).
    pub logfile_maxbytes: u64,
    /// `logfile_backups` (default 10).
    pub logfile_backups: u32,
    /// `loglevel` (default info): critical, error, warn, info, debug, trace, blather.
    pub loglevel: String,
    /// `pidfile`, absolute (default `supervisord.pid` in the working directory, as supervisord).
    pub pidfile: PathBuf,
    /// `nodaemon` (default false).
    pub nodaemon: bool,
    /// `silent` (default false).
    pub silent: bool,
    /// `minfds` (default 1024).
    pub minfds: u64,
    /// `minprocs` (default 200).
    pub minprocs: u64,
    /// `umask` (default 022).
    pub umask: u32,
    /// `user` to switch to, if any.
    pub user: Option<String>,
    /// `identifier` (default `supervisor`).
    pub identifier: String,
    /// `directory` to chdir to when daemonizing.
    pub directory: Option<PathBuf>,
    /// `strip_ansi` (default false).
    pub strip_ansi: bool,
    /// `environment` (KEY="val",...), applied to every child.
    pub environment: BTreeMap<String, String>,
    /// `childlogdir` (default: the system temp dir).
    pub childlogdir: PathBuf,
    /// `nocleanup` (default false).
    pub nocleanup: bool,
}

/// `[unix_http_server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnixHttpServer {
    /// `file`: the socket path.
    pub file: PathBuf,
    /// `chmod` (default 0700).
    pub chmod: u32,
    /// `chown` as `user[:group]`.
    pub chown: Option<String>,
    /// `username` for basic auth.
    pub username: Option<String>,
    /// `password` for basic auth (plain, or `{SHA}hex`).
    pub password: Option<String>,
}

/// `[inet_http_server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct InetHttpServer {
    /// `port` as `host:port` (`*:port` or `:port` for all interfaces).
    pub port: String,
    /// `username` for basic auth.
    pub username: Option<String>,
    /// `password` for basic auth.
    pub password: Option<String>,
}

/// `[supervisorctl]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SupervisorctlSection {
    /// `serverurl` (default `unix:///tmp/supervisor.sock`, or from unix_http_server).
    pub serverurl: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
}

/// A process group: a `[group:x]` or the implicit group of one `[program:x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// Group name.
    pub name: String,
    /// `priority` (default 999).
    pub priority: i64,
    /// Its processes, already expanded for numprocs, in config order.
    pub processes: Vec<ProcessConfig>,
}

/// Where a child's stream goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// AUTO: a file in childlogdir, named when the process is first spawned.
    Auto,
    /// NONE: discarded.
    None,
    /// An explicit path (may be `/dev/stdout` etc.).
    File(PathBuf),
    /// `syslog` (deprecated in supervisord): no file, and the syslog flag set.
    Syslog,
}

/// Per-stream log options.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `*_logfile` (default AUTO).
    pub target: LogTarget,
    /// `*_logfile_maxbytes` (default 50MB; 0 = never rotate).
    pub maxbytes: u64,
    /// `*_logfile_backups` (default 10).
    pub backups: u32,
    /// `*_capture_maxbytes` (default 0).
    pub capture_maxbytes: u64,
    /// `*_events_enabled` (default false).
    pub events_enabled: bool,
    /// `*_syslog` (default false).
    pub syslog: bool,
}

/// `autorestart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    /// Always restart after EXITED.
    True,
    /// Never restart.
    False,
    /// Restart when the exit code is not in `exitcodes` (default).
    Unexpected,
}

/// One process (after numprocs expansion) of a `[program:x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessConfig {
    /// Process name (`process_name` expanded).
    pub name: String,
    /// The program section's name (`x` of `[program:x]`).
    pub program_name: String,
    /// Group it belongs to.
    pub group: String,
    /// `command` as written (expanded).
    pub command: String,
    /// `command` split with shlex: argv[0] and arguments.
    pub argv: Vec<String>,
    /// `priority` (default 999).
    pub priority: i64,
    /// `autostart` (default true).
    pub autostart: bool,
    /// `autorestart` (default unexpected).
    pub autorestart: AutoRestart,
    /// `startsecs` (default 1).
    pub startsecs: u64,
    /// `startretries` (default 3).
    pub startretries: u32,
    /// `exitcodes` (default 0).
    pub exitcodes: Vec<i32>,
    /// `stopsignal` as a signal number (default TERM).
    pub stopsignal: i32,
    /// `stopwaitsecs` (default 10).
    pub stopwaitsecs: u64,
    /// `stopasgroup` (default false).
    pub stopasgroup: bool,
    /// `killasgroup` (default = stopasgroup).
    pub killasgroup: bool,
    /// `user`.
    pub user: Option<String>,
    /// `directory`.
    pub directory: Option<PathBuf>,
    /// `umask`.
    pub umask: Option<u32>,
    /// `environment` of the program (merged over supervisord's at spawn).
    pub environment: BTreeMap<String, String>,
    /// `redirect_stderr` (default false).
    pub redirect_stderr: bool,
    /// stdout log options.
    pub stdout: LogConfig,
    /// stderr log options.
    pub stderr: LogConfig,
    /// `serverurl` (default AUTO = None).
    pub serverurl: Option<String>,
}
