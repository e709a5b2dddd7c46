//! Gateway Engine: identity, configuration, the check-in cycle and its reports.
//!
//! - [`config`]: `Gateway.cfg` ([`config::GatewayCfg`]) and `Engine.config`
//!   ([`config::EngineConfig`]) in a [`config::ConfigDir`], written atomically.
//! - [`identity`]: the serial number (uuid, else the MAC of `iface`).
//! - [`configure`]: what the `gwe --set-...` flags do, as a library call.
//! - [`daemon`]: the long-running engine (the `gwe-engine` binary, and `gwe` without flags).
#![deny(missing_docs)]

pub mod config;
pub mod configure;
pub mod cycle;
pub mod daemon;
pub mod identity;
pub mod reports;
pub mod runner;

/// The engine's version (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
