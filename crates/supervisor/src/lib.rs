//! The supervisord-compatible process supervisor.
//!
//! - [`config`]: the configuration model and loader.
//! - [`process`]: process states, the per-process state machine, spawner, reaper.
//! - [`logs`]: rotating log files, child output capture, the main log.
//! - [`state`]: [`state::Supervisor`], the one owner of all runtime state.
//! - [`rpc`]: the XML-RPC/HTTP control interface supervisorctl talks to.
//! - [`daemon`]: [`daemon::run`], the entry point `gwe supervisord` calls.
#![deny(missing_docs)]

pub mod config;
pub mod daemon;
pub mod logs;
pub mod orphans;
pub mod process;
pub mod rpc;
mod sha1;
pub mod state;

pub use daemon::{run, DaemonError, Options};
