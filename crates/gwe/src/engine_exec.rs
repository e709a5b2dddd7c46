//! `gwe` with no other flags than `--config-dir` and `--once`: the long-running engine. It is
//! the small `gwe-engine` binary when that sits beside `gwe` (this execs it with the same
//! arguments, so the engine does not keep the supervisor's, hub's and build tools' code
//! resident); otherwise it runs in this process. Both paths are [`gwe_engine::daemon::main`].
//! Any other engine flag goes to the full command line (`engine_cli`).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use gwe_engine::daemon::{DaemonArgs, BIN, BUILD_ID, ENV_EXPECT, ENV_FALLBACK, ENV_IN_PROCESS};

/// `gwe-engine` beside the running executable, if it exists, and the executable.
fn sibling_engine() -> Option<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(BIN);
    path.is_file().then_some((path, exe))
}

/// The long-running engine when `args` (`args[0]` the program name) are only its flags,
/// `None` otherwise.
pub fn main(args: &[OsString]) -> Option<ExitCode> {
    DaemonArgs::parse(args.get(1..).unwrap_or_default())?;
    // Set by a gwe-engine of another build that handed the engine back to this gwe.
    let in_process = std::env::var_os(ENV_IN_PROCESS).is_some();
    std::env::remove_var(ENV_IN_PROCESS);
    match sibling_engine() {
        Some((path, exe)) if !in_process => {
            // exec only returns on failure; then run in-process
            let err = Command::new(&path)
                .arg0(BIN)
                .args(args.iter().skip(1))
                .env(ENV_EXPECT, BUILD_ID)
                .env(ENV_FALLBACK, exe)
                .exec();
            eprintln!(
                "gwe: cannot exec {}: {err}; running the engine in-process",
                path.display()
            );
        }
        Some((path, _)) => eprintln!(
            "gwe: {} is another build than this gwe ({BUILD_ID}); running the engine in-process",
            path.display()
        ),
        None => {}
    }
    Some(gwe_engine::daemon::main(args.to_vec()))
}
