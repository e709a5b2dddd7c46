//! clap parsing for the parts' entry points, which return an [`ExitCode`] rather than exit.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// `P` from `args` (`args[0]` the program name), or, once clap has printed the help, version or
/// usage error, the code clap's `parse` would exit with (0, or 2 for an error). Returned, not
/// exited, so the caller's `main` ends normally.
pub fn parse<P: Parser>(args: Vec<OsString>) -> Result<P, ExitCode> {
    P::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}
