//! `gwe-supervisord`: the supervisor daemon on its own, without the engine,
//! hub and OTA code of `gwe`, so that its resident memory stays small.
//! `gwe supervisord ...` execs this binary when it sits beside `gwe`.

use std::process::ExitCode;

fn main() -> ExitCode {
    gwe_supervisor::cli::main(std::env::args_os().collect())
}
