//! `gwe`: the Gateway Engine command line. The first argument picks the part:
//! `gwe supervisord ...` runs the supervisor daemon, `gwe ctl ...` its control
//! client, anything else is the engine's own (argparse-compatible) flags.

mod ctl;
mod demo;
mod engine_cli;
mod supervisord;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let sub = args.get(1).and_then(|a| a.to_str()).map(str::to_owned);
    match sub.as_deref() {
        Some("supervisord") => supervisord::main(args.split_off(1)),
        Some("ctl") => ctl::main(args.split_off(1)),
        Some("demo") => demo::main(args.split_off(1)),
        _ => engine_cli::main(args),
    }
}
