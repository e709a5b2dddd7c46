//! The `gwe-hub` command line: `serve` runs the hub; every other command is a thin client of
//! the operator API (`--url`, `--token` or the token file in `--data-dir`, `--json`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod client;
mod commands;
mod serve;

pub use client::Client;

/// Default address of `gwe-hub serve` and of the client commands.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Self-hosted hub for the HTTP Device API (Exosite/Murano `onep:v1`).
#[derive(Debug, Parser)]
#[command(name = "gwe-hub", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the operator commands find the hub and its token.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Base URL of the hub: http://HOST:PORT or https://HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "GWE_HUB_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// Trusted CAs for an https URL: `bundled` (default), `system`, or a PEM
    /// file (a private hub's own certificate or CA).
    #[arg(long, global = true, env = "GWE_HUB_TLS_ROOTS", value_name = "ROOTS")]
    pub tls_roots: Option<String>,
    /// Operator token; default: read from `<data-dir>/operator-token`.
    #[arg(long, global = true, env = "GWE_HUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Data directory of the hub (to read the operator token from).
    #[arg(long, global = true, env = "GWE_HUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Product to act on.
    #[arg(long, global = true, default_value = "default")]
    pub product: String,
    /// Print the server's JSON answer instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: creates DIR (SQLite database, content blobs, operator token) and serves.
    Serve(serve::ServeArgs),
    /// Products: create, list.
    Product {
        /// Product action.
        #[command(subcommand)]
        action: commands::ProductAction,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
    /// Device identities: add, list, enable (re-enable activation).
    Device {
        /// Device action.
        #[command(subcommand)]
        action: commands::DeviceAction,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
    /// Resource specs: apply a YAML `resources: [{alias, format}]` to the product.
    Spec {
        /// Spec action.
        #[command(subcommand)]
        action: commands::SpecAction,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
    /// Write a value to a device's alias (e.g. `engine_fetch`); wakes its long polls.
    Write {
        /// Serial number of the device.
        sn: String,
        /// Alias to write.
        alias: String,
        /// Value to write.
        value: String,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
    /// Read a device's alias (latest value, or its history).
    Read {
        /// Serial number of the device.
        sn: String,
        /// Alias to read.
        alias: String,
        /// Show stored history, newest first.
        #[arg(long)]
        history: bool,
        /// Most points shown with --history.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
    /// The product's content area: upload, list, delete.
    Content {
        /// Content action.
        #[command(subcommand)]
        action: commands::ContentAction,
        /// Connection options.
        #[command(flatten)]
        remote: Remote,
    },
}

/// Parses arguments, runs the command and maps errors to exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gwe-hub: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gwe-hub: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GWE_HUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Product { action, remote } => commands::product(&remote, action).await,
        Command::Device { action, remote } => commands::device(&remote, action).await,
        Command::Spec { action, remote } => commands::spec(&remote, action).await,
        Command::Write {
            sn,
            alias,
            value,
            remote,
        } => commands::write(&remote, &sn, &alias, &value).await,
        Command::Read {
            sn,
            alias,
            history,
            limit,
            remote,
        } => commands::read(&remote, &sn, &alias, history.then_some(limit)).await,
        Command::Content { action, remote } => commands::content(&remote, action).await,
    }
}
