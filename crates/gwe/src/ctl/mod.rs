//! (placeholder: being written)
use std::ffi::OsString;
use std::process::ExitCode;

/// Entry point; `args[0]` is the subcommand name (or the program name).
pub fn main(_args: Vec<OsString>) -> ExitCode {
    eprintln!("gwe: not built yet");
    ExitCode::from(2)
}
