//! Running the engine: checks the configuration and identity, then runs the check-in cycle on
//! a tokio runtime (forever, or once).

use crate::config::{ConfigDir, ConfigError};
use crate::identity::{ensure_serial, IdentityError, NetSys};

/// How to run the engine.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where Gateway.cfg and Engine.config are.
    pub config_dir: ConfigDir,
    /// Run one cycle and return.
    pub once: bool,
}

/// Why the engine cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration files cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// There is no usable serial number.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Not built yet.
    #[error("the check-in cycle is not built in this version yet")]
    NotBuilt,
}

/// Runs the engine on a new tokio runtime until it is done (`once`) or forever.
pub fn run_blocking(options: RunOptions) -> Result<(), RunError> {
    options.config_dir.load_engine()?;
    ensure_serial(&options.config_dir, &NetSys::from_env())?;
    Err(RunError::NotBuilt)
}
