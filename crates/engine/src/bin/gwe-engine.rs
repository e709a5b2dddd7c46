//! `gwe-engine`: the long-running engine on its own, without the supervisor, hub, build tools
//! and command line of `gwe`, so that its resident memory stays small. `gwe` without other
//! flags than `--config-dir` and `--once` execs this binary when it sits beside `gwe`.

use std::process::ExitCode;

fn main() -> ExitCode {
    gwe_engine::daemon::main(std::env::args_os().collect())
}
