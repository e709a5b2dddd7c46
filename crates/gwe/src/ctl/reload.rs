//! `reload`: restart the daemon (supervisor.restart()).

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !args.is_empty() {
        ctl.line("Error: reload accepts no arguments");
        ctl.exit = exit::GENERIC;
        super::help::reload(ctl);
        return Ok(());
    }
    if !super::confirm(ctl, "Really restart the remote supervisord process y/N? ") {
        return Ok(());
    }
    match ctl.client.restart() {
        Ok(_) => ctl.line("Restarted supervisord"),
        Err(ClientError::Fault(f)) => {
            ctl.exit = exit::GENERIC;
            if f.code == FaultCode::ShutdownState.code() {
                ctl.line("ERROR: already shutting down");
            } else {
                return Err(ClientError::Fault(f).into());
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
