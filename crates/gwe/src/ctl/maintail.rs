//! `maintail [-f|-N]`: the end of supervisord's own log, or follow it.

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.len() > 1 {
        ctl.line("Error: too many arguments");
        ctl.exit = exit::GENERIC;
        super::help::maintail(ctl);
        return Ok(());
    }
    let mut bytes: i64 = 1600;
    if let Some(a) = args.first() {
        let Some(what) = a.strip_prefix('-') else {
            ctl.line(format!("Error: bad argument {a}"));
            ctl.exit = exit::GENERIC;
            return Ok(());
        };
        if what == "f" {
            let stream = ctl.client.mainlogtail();
            return super::tail::follow(ctl, "/mainlogtail", stream);
        }
        match super::tail::parse_py_int(what) {
            Some(n) => bytes = n,
            None => {
                ctl.line(format!("Error: bad argument {a}"));
                ctl.exit = exit::GENERIC;
                return Ok(());
            }
        }
    }
    match ctl.client.read_log(-bytes, 0) {
        Ok(text) => {
            if ctl.json {
                ctl.set_json(serde_json::json!({"text": text}));
            }
            ctl.info(text);
        }
        Err(ClientError::Fault(f)) => {
            ctl.exit = exit::GENERIC;
            let why = match FaultCode::from_code(f.code) {
                Some(FaultCode::NoFile) => "no log file",
                Some(FaultCode::Failed) => "unknown error reading log",
                _ => return Err(ClientError::Fault(f).into()),
            };
            ctl.line(format!("supervisord: ERROR ({why})"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
