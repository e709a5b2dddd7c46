//! Reaping: collect every exited child with `waitpid(-1, WNOHANG)`. Called on
//! each SIGCHLD (and each loop wake-up, which costs one syscall), so exits are
//! seen at once. As a child subreaper the supervisor also collects orphaned
//! grandchildren here; their pids are simply unknown to the caller.

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::ExitStatus;

/// Upper bound per call, so a fork bomb cannot keep the loop here forever.
const MAX_PER_CALL: usize = 1000;

/// Every child that has exited since the last call: `(pid, status)`.
pub fn reap() -> Vec<(u32, ExitStatus)> {
    let mut out = Vec::new();
    for _ in 0..MAX_PER_CALL {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                out.push((pid.as_raw() as u32, ExitStatus::Code(code)))
            }
            Ok(WaitStatus::Signaled(pid, sig, core)) => out.push((
                pid.as_raw() as u32,
                ExitStatus::Signal {
                    sig: sig as i32,
                    core,
                },
            )),
            Ok(WaitStatus::StillAlive) => break,
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(_) => break, // ECHILD: no children at all
        }
    }
    out
}
