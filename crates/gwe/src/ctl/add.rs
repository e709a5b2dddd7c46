//! `add group ...`: activate groups that `reread` found.

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    for name in args {
        match ctl.client.add_process_group(name) {
            Ok(_) => ctl.line(format!("{name}: added process group")),
            Err(ClientError::Fault(f)) => match FaultCode::from_code(f.code) {
                Some(FaultCode::ShutdownState) => {
                    ctl.line("ERROR: shutting down");
                    ctl.exit = exit::GENERIC;
                }
                Some(FaultCode::AlreadyAdded) => ctl.line("ERROR: process group already active"),
                Some(FaultCode::BadName) => {
                    ctl.line(format!("ERROR: no such process/group: {name}"));
                    ctl.exit = exit::GENERIC;
                }
                _ => {
                    ctl.exit = exit::GENERIC;
                    return Err(ClientError::Fault(f).into());
                }
            },
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
