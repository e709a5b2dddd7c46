//! `gwe`: the Gateway Engine command line. The first argument picks the part:
//! `gwe supervisord ...` runs the supervisor daemon, `gwe ctl ...` its control
//! client, anything else is the engine's own (argparse-compatible) flags; without any but
//! `--config-dir`/`--once`, the long-running engine (`gwe-engine` beside `gwe` when installed).
//! Installed under supervisord's own names (a symlink `supervisorctl` or
//! `supervisord` pointing at `gwe`), it acts as that program, so scripts that
//! call them keep working unchanged.

mod ctl;
mod demo;
mod engine_cli;
mod engine_exec;
mod parse_or_exit;
mod supervisord;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let called_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    match called_as.as_deref() {
        Some("supervisorctl") => return ctl::main(args),
        Some("supervisord") => return supervisord::main(args),
        _ => {}
    }
    let sub = args.get(1).and_then(|a| a.to_str()).map(str::to_owned);
    match sub.as_deref() {
        Some("supervisord") => supervisord::main(args.split_off(1)),
        Some("ctl") => ctl::main(args.split_off(1)),
        Some("demo") => demo::main(args.split_off(1)),
        _ => engine_exec::main(&args).unwrap_or_else(|| engine_cli::main(args)),
    }
}
