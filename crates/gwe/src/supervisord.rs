//! `gwe supervisord`: supervisord's command line. The daemon is the small
//! `gwe-supervisord` binary when it sits beside `gwe` (this execs it with the
//! same arguments, so a long-running supervisor does not keep the engine's,
//! hub's and OTA's code resident); otherwise it runs in this process. Both
//! paths are [`gwe_supervisor::cli::main`].

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The daemon binary looked for beside `gwe`.
const DAEMON_BIN: &str = "gwe-supervisord";

/// `gwe-supervisord` beside the running executable, if it exists.
fn sibling_daemon() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(DAEMON_BIN);
    path.is_file().then_some(path)
}

/// Entry point; `args[0]` is the subcommand name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Some(path) = sibling_daemon() {
        tracing::debug!(path = %path.display(), "supervisord: exec the dedicated daemon binary");
        // exec only returns on failure; then run in-process
        let err = Command::new(&path)
            .arg0(DAEMON_BIN)
            .args(args.iter().skip(1))
            .exec();
        tracing::debug!(path = %path.display(), error = %err, "supervisord: exec failed, running in-process");
    } else {
        tracing::debug!("supervisord: no {DAEMON_BIN} beside gwe, running in-process");
    }
    gwe_supervisor::cli::main(args)
}
