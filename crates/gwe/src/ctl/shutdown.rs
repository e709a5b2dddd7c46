//! `shutdown`: stop the daemon and all its processes.

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !args.is_empty() {
        ctl.line("Error: shutdown accepts no arguments");
        ctl.exit = exit::GENERIC;
        super::help::shutdown(ctl);
        return Ok(());
    }
    if !super::confirm(ctl, "Really shut the remote supervisord process down y/N? ") {
        return Ok(());
    }
    match ctl.client.shutdown() {
        Ok(_) => ctl.line("Shut down"),
        Err(ClientError::Fault(f)) if f.code == FaultCode::ShutdownState.code() => {
            // supervisorctl leaves the exit status at 0 here.
            ctl.line("ERROR: already shutting down");
        }
        Err(ClientError::Refused { url }) => {
            ctl.exit = exit::GENERIC;
            ctl.line(format!(
                "ERROR: {url} refused connection (already shut down?)"
            ));
        }
        Err(ClientError::NoSuchFile { url }) => {
            ctl.exit = exit::GENERIC;
            ctl.line(format!("ERROR: {url} no such file (already shut down?)"));
        }
        Err(e) => {
            ctl.exit = exit::GENERIC;
            return Err(e.into());
        }
    }
    Ok(())
}
