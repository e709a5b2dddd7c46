//! The supervisord-compatible process supervisor behind `gwe supervisord`.
//!
//! - [`config`]: the configuration model and loader.
//! - [`process`]: process states, the per-process state machine, spawner, reaper.
//! - [`logs`]: rotating log files, child output capture, the main log.
//! - [`state`]: [`state::Supervisor`], the one owner of all runtime state
//!   (its module doc states the ownership rule).
//! - [`rpc`]: the XML-RPC/HTTP control interface supervisorctl talks to.
//! - [`orphans`]: recovery after the supervisor itself was SIGKILLed.
//! - [`daemon`]: [`daemon::run`], the daemon itself.
//! - [`cli`]: [`cli::main`], supervisord's command line over `daemon::run`.
//!
//! # Binaries
//!
//! The daemon ships as its own small binary, `gwe-supervisord` (this crate's
//! `src/bin`), which is only `cli::main`. `gwe supervisord ARGS` execs
//! (`execv`, same ARGS) the `gwe-supervisord` found beside its own executable
//! and falls back to running `cli::main` in-process when there is none; both
//! paths are the one implementation in [`cli`]. Why: a supervisor runs for
//! months, and its resident memory is mostly the code pages it touches; in the
//! big `gwe` binary (engine, hub, OTA) those pages are scattered, and the
//! kernel's fault-around maps 64 KiB around each one. The small binary keeps
//! the daemon's RSS at roughly half (see docs/benchmarks.md).
//!
//! # Deliberate differences from supervisord 4.3
//!
//! - Event-driven: the loop sleeps until a child exits, a signal or request
//!   arrives, or a process deadline is due. Timed transitions happen on time
//!   (a crashed program restarts at once, not ~1 s later) and an idle
//!   supervisor never wakes up.
//! - Children are reaped as soon as SIGCHLD arrives, so supervisord's
//!   "late-reap" miscount (a quick exit taken for a successful start, which
//!   resets the back-off counter) never happens: `1 + startretries` attempts.
//! - The supervisor is a child subreaper: grandchildren that daemonize are
//!   reaped too (logged as `reaped unknown pid`).
//! - Started pids are recorded beside the pidfile; after a `kill -9` of the
//!   supervisor, the next start kills what is still running from the last run.
//! - SIGHUP or `supervisor.restart` with a configuration that does not load
//!   keeps the current one running (supervisord would exit); the RPC answers
//!   CANT_REREAD.
//! - syslog (`*_syslog`, `*_logfile=syslog`, `[supervisord] logfile=syslog`)
//!   sends what supervisord sends (`<14>... supervisord: name line`, one
//!   message per line) but never blocks: a message that cannot be sent at once
//!   is dropped and counted (logged once, and again when syslog is back).
//!   Lines split across reads are reassembled (supervisord sends each read's
//!   pieces) up to 8 KiB; longer lines go out in pieces. Undecodable UTF-8 is
//!   sent as is (supervisord loses such a line). See [`logs::syslog`].
//! - `strip_ansi` also strips an escape sequence that one read cut in two
//!   (supervisord strips each read alone). See [`logs::ansi`].
//! - `[supervisord] user` is switched to before the fork, limits, logs and
//!   sockets, with supervisord's messages; a start refused for it prints
//!   `Error: ...` and supervisord's `For help, use PROG -h` line, and exits 2.
//! - Not supported: event listeners and events (`*_events_enabled`,
//!   `*_capture_maxbytes`), `sendRemoteCommEvent` (accepted, no effect).
//!
//! # Environment
//!
//! - `GWE_SYSLOG_SOCKET`: the syslog socket (default `/dev/log`), e.g. for
//!   tests or a syslogd listening elsewhere.
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod daemon;
mod files;
pub mod logs;
pub mod orphans;
pub mod process;
pub mod rpc;
mod sha1;
pub mod state;

pub use daemon::{run, DaemonError, Options};
