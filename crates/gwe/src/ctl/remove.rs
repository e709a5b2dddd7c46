//! `remove group ...`: deactivate stopped groups.

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    for name in args {
        match ctl.client.remove_process_group(name) {
            Ok(_) => ctl.line(format!("{name}: removed process group")),
            Err(ClientError::Fault(f)) => {
                ctl.exit = exit::GENERIC;
                match FaultCode::from_code(f.code) {
                    Some(FaultCode::StillRunning) => {
                        ctl.line(format!("ERROR: process/group still running: {name}"))
                    }
                    Some(FaultCode::BadName) => {
                        ctl.line(format!("ERROR: no such process/group: {name}"))
                    }
                    _ => return Err(ClientError::Fault(f).into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
