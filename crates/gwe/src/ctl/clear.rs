//! `clear name|all ...`: clear process log files.

use gwe_supervisor_client::{ClientError, FaultCode, GroupResult};

use super::{exit, result_from_fault, result_json, CmdResult, Ctl, Failure};

/// `_clearresult`.
fn message(r: &GroupResult) -> Result<String, Failure> {
    let name = r.namespec();
    match FaultCode::from_code(r.status) {
        Some(FaultCode::BadName) => Ok(format!("{name}: ERROR (no such process)")),
        Some(FaultCode::Failed) => Ok(format!("{name}: ERROR (failed)")),
        Some(FaultCode::Success) => Ok(format!("{name}: cleared")),
        _ => Err(Failure::Other(format!(
            "Unknown result code {} for {name}",
            r.status
        ))),
    }
}

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.is_empty() {
        ctl.line("Error: clear requires a process name");
        ctl.exit = exit::GENERIC;
        super::help::clear(ctl);
        return Ok(());
    }
    let mut json = Vec::new();
    let res = run_inner(ctl, args, &mut json);
    if ctl.json {
        ctl.set_json(serde_json::Value::Array(json));
    }
    res
}

fn run_inner(ctl: &mut Ctl, args: &[String], json: &mut Vec<serde_json::Value>) -> CmdResult {
    let mut emit = |ctl: &mut Ctl, r: &GroupResult| -> CmdResult {
        let m = message(r)?;
        json.push(result_json(r, &m));
        ctl.info(m);
        ctl.exit_from_fault(r.status, None);
        Ok(())
    };
    if args.iter().any(|a| a == "all") {
        for r in ctl.client.clear_all_process_logs()? {
            emit(ctl, &r)?;
        }
        return Ok(());
    }
    for name in args {
        match ctl.client.clear_process_logs(name) {
            Ok(_) => emit(
                ctl,
                &result_from_fault(name, FaultCode::Success.code(), "OK"),
            )?,
            Err(ClientError::Fault(f)) => emit(ctl, &result_from_fault(name, f.code, &f.message))?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
