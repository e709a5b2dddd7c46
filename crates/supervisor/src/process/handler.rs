//! The per-process state machine, free of system calls: every method takes the
//! current time, changes the [`Machine`] and returns [`Effect`]s for the caller
//! (the state owner) to carry out. This is supervisord's `Subprocess`
//! (`transition`, `finish`, `kill`, `give_up`) rewritten so that restart and
//! back-off logic is testable without processes.
//!
//! Timed transitions do not wait for a once-a-second tick: [`Machine::deadline`]
//! says when the next one is due and the run loop sleeps exactly until then.
//! Because children are reaped as soon as SIGCHLD arrives, the exit of a process
//! is always seen before its STARTING -> RUNNING deadline is evaluated, so
//! supervisord's "late-reap" miscount (a quick exit logged as `success:` and
//! resetting the back-off counter) cannot happen here: a program that never stays
//! up gets exactly `1 + startretries` attempts.

use std::time::{Duration, Instant};

use super::state::ProcessState::{self, *};
use crate::config::{AutoRestart, ProcessConfig};

/// Severity of a main-log line (supervisord's level names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// BLAT
    Blather,
    /// TRAC
    Trace,
    /// DEBG
    Debug,
    /// INFO
    Info,
    /// WARN
    Warn,
    /// ERRO
    Error,
    /// CRIT
    Critical,
}

/// Something the state owner must do for the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write a line to the main log.
    Log(Level, String),
    /// Start the process now: call [`Machine::begin_spawn`], then
    /// [`Machine::spawned`] or [`Machine::spawn_failed`].
    Spawn,
    /// Send `sig` to the pid (`group`: to its process group).
    Signal {
        /// Signal number.
        sig: i32,
        /// Signal `-pid` instead of `pid`.
        group: bool,
    },
}

/// How a child ended, from waitpid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal {
        /// Signal number.
        sig: i32,
        /// A core was dumped.
        core: bool,
    },
}

impl ExitStatus {
    /// supervisord's `decode_wait_status`: the exit code (-1 for a signal,
    /// which is never "expected") and the text for the log.
    pub fn decode(self) -> (i32, String) {
        match self {
            ExitStatus::Code(c) => (c, format!("exit status {c}")),
            ExitStatus::Signal { sig, core } => {
                let core = if core { " (core dumped)" } else { "" };
                (-1, format!("terminated by {}{core}", signame(sig)))
            }
        }
    }
}

/// `SIGTERM`-style name of a signal number (`signal 99` when unknown).
pub fn signame(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_owned(),
        Err(_) => format!("signal {sig}"),
    }
}

/// Runtime state of one process: what supervisord keeps on `Subprocess`.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Current state.
    pub state: ProcessState,
    /// Pid while a child exists (0 otherwise).
    pub pid: u32,
    /// When the last spawn attempt began (None: never started).
    pub laststart: Option<Instant>,
    /// Number of consecutive failed starts.
    pub backoff: u32,
    /// BACKOFF: when to retry. STOPPING: when to send SIGKILL.
    pub delay: Option<Instant>,
    /// A stop/kill signal was sent and the exit is expected.
    pub killing: bool,
    /// Exit code of the last exit (-1: signal).
    pub exitstatus: Option<i32>,
    /// Why the last start failed.
    pub spawnerr: Option<String>,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Machine {
    /// Move to `to` if the transition table allows it; an illegal move is a bug:
    /// it is logged and ignored, the state stays as it was.
    fn go(&mut self, name: &str, to: ProcessState, now: Instant, fx: &mut Vec<Effect>) {
        if !self.state.can_go(to) {
            fx.push(Effect::Log(
                Level::Error,
                format!(
                    "illegal transition of {name}: {} -> {} ignored",
                    self.state.name(),
                    to.name()
                ),
            ));
            return;
        }
        if to == Backoff {
            self.backoff += 1;
            self.delay = Some(now + secs(u64::from(self.backoff)));
        }
        self.state = to;
    }

    /// When [`Machine::tick`] next has something to do on its own (None: only
    /// an outside event can change this process).
    pub fn deadline(&self, cfg: &ProcessConfig) -> Option<Instant> {
        match self.state {
            // "more than startsecs": one millisecond past.
            Starting => self
                .laststart
                .map(|t| t + secs(cfg.startsecs) + Duration::from_millis(1)),
            Backoff | Stopping => self.delay,
            _ => None,
        }
    }

    /// supervisord's `transition()`: the timed and automatic moves. `may_start`
    /// is false while the supervisor shuts down or restarts.
    pub fn tick(&mut self, cfg: &ProcessConfig, now: Instant, may_start: bool) -> Vec<Effect> {
        let mut fx = Vec::new();
        let name = cfg.name.as_str();
        match self.state {
            Starting => {
                let up = self.laststart.map(|t| now.saturating_duration_since(t));
                if up.is_some_and(|u| u > secs(cfg.startsecs)) {
                    self.delay = None;
                    self.backoff = 0;
                    self.go(name, Running, now, &mut fx);
                    fx.push(Effect::Log(
                        Level::Info,
                        format!(
                            "success: {name} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
                            cfg.startsecs
                        ),
                    ));
                }
            }
            Backoff if self.backoff > cfg.startretries => {
                self.give_up(name, now, &mut fx);
                fx.push(Effect::Log(
                    Level::Info,
                    format!(
                        "gave up: {name} entered FATAL state, too many start retries too quickly"
                    ),
                ));
            }
            Backoff if may_start && self.delay.is_none_or(|d| now >= d) => fx.push(Effect::Spawn),
            Stopping if self.delay.is_some_and(|d| now >= d) && self.pid != 0 => {
                fx.push(Effect::Log(
                    Level::Warn,
                    format!("killing '{name}' ({}) with SIGKILL", self.pid),
                ));
                fx.extend(self.kill(cfg, libc::SIGKILL, now));
            }
            Exited if may_start => {
                let restart = match cfg.autorestart {
                    AutoRestart::True => true,
                    AutoRestart::False => false,
                    AutoRestart::Unexpected => self
                        .exitstatus
                        .is_none_or(|es| !cfg.exitcodes.contains(&es)),
                };
                if restart {
                    fx.push(Effect::Spawn);
                }
            }
            Stopped if may_start && self.laststart.is_none() && cfg.autostart => {
                fx.push(Effect::Spawn)
            }
            _ => {}
        }
        fx
    }

    /// A spawn attempt begins (STARTING, `laststart = now`).
    pub fn begin_spawn(&mut self, name: &str, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.killing = false;
        self.spawnerr = None;
        self.exitstatus = None;
        self.laststart = Some(now);
        self.go(name, Starting, now, &mut fx);
        fx
    }

    /// The child exists with `pid`.
    pub fn spawned(&mut self, name: &str, pid: u32) -> Vec<Effect> {
        self.pid = pid;
        vec![Effect::Log(
            Level::Info,
            format!("spawned: '{name}' with pid {pid}"),
        )]
    }

    /// The spawn attempt failed before a child ran (STARTING -> BACKOFF).
    pub fn spawn_failed(&mut self, name: &str, msg: String, now: Instant) -> Vec<Effect> {
        let mut fx = vec![Effect::Log(Level::Info, format!("spawnerr: {msg}"))];
        self.spawnerr = Some(msg);
        self.pid = 0;
        self.go(name, Backoff, now, &mut fx);
        fx
    }

    /// supervisord's `finish()`: the child was reaped.
    pub fn exited(&mut self, cfg: &ProcessConfig, status: ExitStatus, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        let name = cfg.name.as_str();
        let (es, msg) = status.decode();
        self.pid = 0;
        let too_quickly = self
            .laststart
            .is_some_and(|t| now.saturating_duration_since(t) < secs(cfg.startsecs));
        let expected = cfg.exitcodes.contains(&es);
        if self.killing || self.state == Stopping {
            self.killing = false;
            self.delay = None;
            self.exitstatus = Some(es);
            let level = if expected { Level::Info } else { Level::Warn };
            fx.push(Effect::Log(level, format!("stopped: {name} ({msg})")));
            self.go(name, Stopped, now, &mut fx);
        } else if too_quickly && self.state == Starting {
            self.exitstatus = None;
            self.spawnerr = Some("Exited too quickly (process log may have details)".into());
            fx.push(Effect::Log(
                Level::Warn,
                format!("exited: {name} ({msg}; not expected)"),
            ));
            self.go(name, Backoff, now, &mut fx);
        } else if self.state == Unknown {
            self.exitstatus = Some(es);
            self.go(name, Stopped, now, &mut fx);
        } else {
            self.delay = None;
            self.backoff = 0;
            self.exitstatus = Some(es);
            if self.state == Starting {
                self.go(name, Running, now, &mut fx);
            }
            if expected {
                fx.push(Effect::Log(
                    Level::Info,
                    format!("exited: {name} ({msg}; expected)"),
                ));
            } else {
                self.spawnerr = Some(format!("Bad exit code {es}"));
                fx.push(Effect::Log(
                    Level::Warn,
                    format!("exited: {name} ({msg}; not expected)"),
                ));
            }
            self.go(name, Exited, now, &mut fx);
        }
        fx
    }

    /// Administrative stop: send `stopsignal` (supervisord's `stop()`).
    pub fn stop(&mut self, cfg: &ProcessConfig, now: Instant) -> Result<Vec<Effect>, String> {
        if self.state != Backoff && self.pid == 0 {
            return Err(format!(
                "attempted to kill {} with sig {} but it wasn't running",
                cfg.name,
                signame(cfg.stopsignal)
            ));
        }
        Ok(self.kill(cfg, cfg.stopsignal, now))
    }

    /// supervisord's `kill(sig)`: BACKOFF -> STOPPED, else -> STOPPING with the
    /// SIGKILL deadline set.
    fn kill(&mut self, cfg: &ProcessConfig, sig: i32, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        let name = cfg.name.as_str();
        if self.state == Backoff {
            self.delay = None;
            self.go(name, Stopped, now, &mut fx);
            return fx;
        }
        if self.pid == 0 {
            return fx;
        }
        let group = if self.state == Stopping {
            cfg.killasgroup
        } else {
            cfg.stopasgroup
        };
        fx.push(Effect::Log(
            Level::Debug,
            format!(
                "killing {name} (pid {}) {}with signal {}",
                self.pid,
                if group { "process group " } else { "" },
                signame(sig)
            ),
        ));
        self.killing = true;
        self.delay = Some(now + secs(cfg.stopwaitsecs));
        if self.state != Stopping {
            self.go(name, Stopping, now, &mut fx);
        }
        fx.push(Effect::Signal { sig, group });
        fx
    }

    /// Sending a stop/kill signal failed unexpectedly: -> UNKNOWN.
    pub fn kill_failed(&mut self, name: &str, msg: &str, now: Instant) -> Vec<Effect> {
        let mut fx = vec![Effect::Log(
            Level::Critical,
            format!("unknown problem killing {name} ({}):{msg}", self.pid),
        )];
        self.killing = false;
        self.delay = None;
        self.go(name, Unknown, now, &mut fx);
        fx
    }

    /// Shutdown of a BACKOFF process, or too many retries: -> FATAL.
    fn give_up(&mut self, name: &str, now: Instant, fx: &mut Vec<Effect>) {
        self.delay = None;
        self.backoff = 0;
        self.go(name, Fatal, now, fx);
    }

    /// supervisord's group `stop_all()` for one process: STARTING/RUNNING are
    /// stopped, BACKOFF gives up (-> FATAL).
    pub fn stop_for_shutdown(&mut self, cfg: &ProcessConfig, now: Instant) -> Vec<Effect> {
        match self.state {
            Running | Starting => self.kill(cfg, cfg.stopsignal, now),
            Backoff => {
                let mut fx = Vec::new();
                self.give_up(&cfg.name, now, &mut fx);
                fx
            }
            _ => Vec::new(),
        }
    }

    /// A signal for `signalProcess` (not a stop): needs a live pid.
    pub fn signal(&self, name: &str, sig: i32) -> Result<Vec<Effect>, String> {
        if self.pid == 0 {
            return Err(format!(
                "attempted to send {name} sig {} but it wasn't running",
                signame(sig)
            ));
        }
        Ok(vec![Effect::Signal { sig, group: false }])
    }
}

#[cfg(test)]
mod tests;
