//! Processes: the state table ([`state`]), the per-process decisions
//! ([`handler`]), and the system-call edges: [`spawner`] (fork/exec) and
//! [`reaper`] (waitpid). Split like Horust's `supervisor/`: decisions return
//! effects, syscalls stay at the edges.

pub mod handler;
pub mod reaper;
pub mod spawner;
pub mod state;

use std::collections::BTreeMap;

use crate::config::{AutoRestart, LogConfig, LogTarget, ProcessConfig};

pub use handler::{Effect, ExitStatus, Level, Machine};
pub use state::ProcessState;

/// A `[program:name]` with supervisord's defaults and `command`, split on
/// whitespace: handy for tests and for programmatic configuration.
pub fn program_config(name: &str, command: &str) -> ProcessConfig {
    let log = LogConfig {
        target: LogTarget::Auto,
        maxbytes: 50 * 1024 * 1024,
        backups: 10,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
    };
    ProcessConfig {
        name: name.to_owned(),
        program_name: name.to_owned(),
        group: name.to_owned(),
        command: command.to_owned(),
        argv: command.split_whitespace().map(str::to_owned).collect(),
        priority: 999,
        autostart: true,
        autorestart: AutoRestart::Unexpected,
        startsecs: 1,
        startretries: 3,
        exitcodes: vec![0],
        stopsignal: libc::SIGTERM,
        stopwaitsecs: 10,
        stopasgroup: false,
        killasgroup: false,
        user: None,
        directory: None,
        umask: None,
        environment: BTreeMap::new(),
        redirect_stderr: false,
        stdout: log.clone(),
        stderr: log,
        serverurl: None,
    }
}
