//! The `gdc` command line: one file per command group, one dispatch `match`.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error, 3 the CIK was refused (401:
//! activate again), 4 network failure or timeout.

mod args;
mod content;
mod data;
mod resolve;
mod usage;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Command, HttpCommand};

/// Runs gdc with the process arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    if cli.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if cli.path {
        match std::env::current_exe() {
            Ok(p) => {
                println!("{}", p.display());
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("gdc: cannot find my own path: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(command) = cli.command.clone() else {
        eprintln!("gdc: no command given (try `gdc --help`)");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gdc: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gdc: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GDC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<crate::Error>() {
        Some(crate::Error::NeedsActivation { .. }) => 3,
        Some(crate::Error::Network { .. } | crate::Error::Timeout { .. }) => 4,
        _ => 1,
    }
}

async fn run(cli: &Cli, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Usage(a) => usage::run(cli, &a),
        Command::Activate => data::activate(cli).await,
        Command::Write { args } => data::write(cli, &args).await,
        Command::Read { args } => data::read(cli, &args).await,
        Command::Poll(a) => data::poll(cli, &a).await,
        Command::Record(a) => data::record(cli, &a).await,
        Command::Timestamp => data::timestamp(cli).await,
        Command::Content { command } => content::run(cli, command).await,
        Command::Http { command } => match command {
            HttpCommand::Write { args } => data::write(cli, &data::split_assignments(&args)).await,
            HttpCommand::Read { args } => data::read(cli, &args).await,
            HttpCommand::Poll(a) => data::poll(cli, &a).await,
            HttpCommand::Activate => data::activate(cli).await,
            HttpCommand::Timestamp => data::timestamp(cli).await,
        },
    }
}
