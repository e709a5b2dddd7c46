//! `stop name|group:*|all ...` and the shared `_signalresult` messages.

use gwe_supervisor_client::{ClientError, FaultCode, GroupResult};

use super::{exit, result_from_fault, result_json, split_namespec, CmdResult, Ctl, Failure};

/// `_signalresult` (`success` is `signalled` or `stopped`).
pub(crate) fn message(r: &GroupResult, success: &str) -> Result<String, Failure> {
    let name = r.namespec();
    let err = |why: &str| Ok(format!("{name}: ERROR ({why})"));
    match FaultCode::from_code(r.status) {
        Some(FaultCode::BadName) => err("no such process"),
        Some(FaultCode::BadSignal) => err("bad signal name"),
        Some(FaultCode::NotRunning) => err("not running"),
        Some(FaultCode::Success) => Ok(format!("{name}: {success}")),
        Some(FaultCode::Failed) => Ok(r.description.clone()),
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
    let mut json = Vec::new();
    let res = run_inner(ctl, args, &mut json);
    if ctl.json {
        ctl.set_json(serde_json::Value::Array(json));
    }
    res
}

/// Stops; also used by `restart`.
pub(crate) fn run_inner(
    ctl: &mut Ctl,
    args: &[String],
    json: &mut Vec<serde_json::Value>,
) -> CmdResult {
    if args.is_empty() {
        ctl.line("Error: stop requires a process name");
        ctl.exit = exit::GENERIC;
        super::help::stop(ctl);
        return Ok(());
    }
    let ignored = Some(FaultCode::NotRunning);
    let mut emit = |ctl: &mut Ctl, r: &GroupResult| -> CmdResult {
        let m = message(r, "stopped")?;
        json.push(result_json(r, &m));
        ctl.info(m);
        ctl.exit_from_fault(r.status, ignored);
        Ok(())
    };
    if args.iter().any(|a| a == "all") {
        for r in ctl.client.stop_all_processes(true)? {
            emit(ctl, &r)?;
        }
        return Ok(());
    }
    for name in args {
        let (group, process) = split_namespec(name);
        match process {
            None => match ctl.client.stop_process_group(group, true) {
                Ok(results) => {
                    for r in results {
                        emit(ctl, &r)?;
                    }
                }
                Err(e) => {
                    ctl.exit = exit::GENERIC;
                    match e {
                        ClientError::Fault(f) if f.code == FaultCode::BadName.code() => {
                            ctl.line(format!("{group}: ERROR (no such group)"));
                        }
                        e => return Err(e.into()),
                    }
                }
            },
            Some(_) => match ctl.client.stop_process(name, true) {
                Ok(_) => emit(
                    ctl,
                    &result_from_fault(name, FaultCode::Success.code(), "OK"),
                )?,
                Err(ClientError::Fault(f)) => {
                    emit(ctl, &result_from_fault(name, f.code, &f.message))?
                }
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}
