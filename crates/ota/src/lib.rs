//! Over-the-air app management: one install pipeline for `gwe -I`, `engine_fetch` commands and
//! `apps_to_install/`: fetch, verify, extract, run `install.sh`, apply the program config, watch
//! the health window, roll back, and record versions, crash-consistently.
//!
//! - [`Installer`]: [`Installer::install_file`] / [`Installer::install`] (a tarball on disk),
//!   [`Installer::fetch_and_install`] and [`Installer::run_command`] (the content area and
//!   `engine_fetch`), [`Installer::recover`] (call at start), [`Installer::uninstall`],
//!   [`Installer::start`], [`Installer::stop`], [`Installer::restart`];
//! - [`OtaConfig`]: every path and limit, with gateway defaults;
//! - [`journal`]: the state machine and its crash journal; [`Registry`]: installed versions
//!   (`versions.json`, read by `engine_report`);
//! - [`OtaCommand`] / [`FetchStatus`]: the command JSON and the `fetch_status` answer.
#![deny(missing_docs)]

pub mod cli;
mod command;
mod config;
mod error;
mod fetch;
mod fsutil;
mod installer;
pub mod journal;
mod manage;
mod pipe;
mod program;
mod registry;
mod report;
mod script;
mod supervisor;

pub use command::{
    FetchStatus, InstallItem, ItemResult, ItemStatus, OtaCommand, MAX_COMMAND_BYTES,
    MAX_FETCH_STATUS, MAX_ITEMS,
};
pub use config::{
    OtaConfig, DEFAULT_APPS_ROOT, DEFAULT_HEALTH_WINDOW, DEFAULT_INCLUDE_DIR, DEFAULT_LOG_DIR,
    DEFAULT_OTA_STATE_DIR, DEFAULT_OUTPUT_CAP, DEFAULT_REGISTRY, DEFAULT_SCRIPT_TIMEOUT,
    ENGINE_CONFIG_KEYS,
};
pub use error::{Failure, FailureKind, OtaError};
pub use fetch::{sha256_from_meta, FetchProgress};
pub use installer::{source, Checkpoint, InstallRequest, Installer, Observer};
pub use program::{program_conf, ProgramConf, MAX_CONF_BYTES};
pub use registry::{AppRecord, Attempt, Registry};
pub use report::{InstallReport, InstallResult, RollbackInfo};
pub use script::ScriptOutcome;
pub use supervisor::{ProgramHealth, UpdateSummary};
