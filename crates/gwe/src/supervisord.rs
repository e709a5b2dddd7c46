//! `gwe supervisord`: supervisord's command line over
//! [`gwe_supervisor::daemon::run`]. Flags as supervisord's: `-c FILE`, `-n`,
//! `-e LEVEL`, `-l FILE`, `-j FILE`, `-d DIR` (and their long forms).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gwe_supervisor::daemon::{self, Options};

/// supervisord-compatible process supervisor.
#[derive(Debug, Parser)]
#[command(
    name = "gwe supervisord",
    about = "Run the supervisord-compatible process supervisor",
    long_about = "Run the supervisord-compatible process supervisor. It reads a supervisord.conf, \
starts the [program:x] processes and serves supervisorctl on the configured sockets. Without -n \
(and without nodaemon=true in the file) it forks into the background like supervisord."
)]
struct Args {
    /// Configuration file (default: supervisord.conf, etc/supervisord.conf, /etc/supervisord.conf,
    /// /etc/supervisor/supervisord.conf, the first that exists).
    #[arg(short = 'c', long = "configuration", value_name = "FILE")]
    configuration: Option<PathBuf>,
    /// Stay in the foreground.
    #[arg(short = 'n', long = "nodaemon")]
    nodaemon: bool,
    /// Log level (critical, error, warn, info, debug, trace, blather).
    #[arg(short = 'e', long = "loglevel", value_name = "LEVEL")]
    loglevel: Option<String>,
    /// Main log file.
    #[arg(short = 'l', long = "logfile", value_name = "FILE")]
    logfile: Option<PathBuf>,
    /// pid file.
    #[arg(short = 'j', long = "pidfile", value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Directory to chdir to when daemonizing.
    #[arg(short = 'd', long = "directory", value_name = "DIR")]
    directory: Option<PathBuf>,
}

fn default_config() -> Option<PathBuf> {
    [
        "supervisord.conf",
        "etc/supervisord.conf",
        "/etc/supervisord.conf",
        "/etc/supervisor/supervisord.conf",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Entry point; `args[0]` is the subcommand name (or the program name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let Some(config) = args.configuration.or_else(default_config) else {
        eprintln!("Error: No config file found at default paths; use the -c option to specify a config file at a different path");
        return ExitCode::from(2);
    };
    let opts = Options {
        config,
        nodaemon: args.nodaemon,
        loglevel: args.loglevel,
        logfile: args.logfile,
        pidfile: args.pidfile,
        directory: args.directory,
    };
    match daemon::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
    }
}
