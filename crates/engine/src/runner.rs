//! Running the engine from the command line: checks the configuration and identity, then runs
//! the check-in cycle on a single-threaded tokio runtime (small gateways) until SIGTERM/SIGINT,
//! or for one check-in.

use crate::config::{ConfigDir, ConfigError};
use crate::cycle::{shutdown_pair, Engine, EngineError, EngineOptions};
use crate::identity::{ensure_serial, IdentityError, NetSys};

/// Threads for blocking work (the supervisor's synchronous XML-RPC client, /proc and SQLite
/// reads, DNS): the cycle needs at most two at once, and each thread costs stack and a malloc
/// arena on a 64 MB gateway (tokio's default allows 512).
pub const MAX_BLOCKING_THREADS: usize = 2;
/// An idle blocking thread exits after this long, so between check-ins the engine is down to
/// its main thread and the audit log's writer.
pub const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

/// How to run the engine.
#[derive(Clone)]
pub struct RunOptions {
    /// Where Gateway.cfg and Engine.config are.
    pub config_dir: ConfigDir,
    /// Run one check-in and return.
    pub once: bool,
    /// The `engine_fetch` handler (the OTA installer plugs in here); `None` answers that
    /// commands are not yet supported.
    pub commands: Option<std::sync::Arc<dyn crate::cycle::command::CommandHandler>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("config_dir", &self.config_dir)
            .field("once", &self.once)
            .field("commands", &self.commands.is_some())
            .finish()
    }
}

/// Why the engine cannot run (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration files cannot be used.
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// There is no usable serial number.
    #[error(transparent)]
    Identity(Box<IdentityError>),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The engine stopped with an error.
    #[error(transparent)]
    Engine(Box<EngineError>),
}

impl From<ConfigError> for RunError {
    fn from(e: ConfigError) -> Self {
        RunError::Config(Box::new(e))
    }
}

impl From<IdentityError> for RunError {
    fn from(e: IdentityError) -> Self {
        RunError::Identity(Box::new(e))
    }
}

impl From<EngineError> for RunError {
    fn from(e: EngineError) -> Self {
        RunError::Engine(Box::new(e))
    }
}

/// Runs the engine until it is done (`once`) or a termination signal arrives.
pub fn run_blocking(options: RunOptions) -> Result<(), RunError> {
    options.config_dir.load_engine()?;
    let net = NetSys::from_env();
    let gateway = ensure_serial(&options.config_dir, &net)?;
    tracing::info!(version = crate::VERSION, serial = %gateway.uuid, config = %options.config_dir.path().display(), "Gateway Engine starting");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(async move {
        let (handle, shutdown) = shutdown_pair();
        let engine_options = EngineOptions {
            net,
            once: options.once,
            commands: options.commands,
            ..EngineOptions::new(options.config_dir)
        };
        let engine = Engine::new(engine_options, shutdown)?;
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("termination signal: stopping");
            handle.shutdown();
        });
        engine.run().await?;
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
