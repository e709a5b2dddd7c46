//! `signal SIG name|group:*|all ...`.

use gwe_supervisor_client::{ClientError, FaultCode, GroupResult};

use super::{exit, result_from_fault, result_json, split_namespec, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.len() < 2 {
        ctl.line("Error: signal requires a signal name and a process name");
        super::help::signal(ctl);
        ctl.exit = exit::GENERIC;
        return Ok(());
    }
    let mut json = Vec::new();
    let res = run_inner(ctl, &args[0], &args[1..], &mut json);
    if ctl.json {
        ctl.set_json(serde_json::Value::Array(json));
    }
    res
}

fn run_inner(
    ctl: &mut Ctl,
    sig: &str,
    names: &[String],
    json: &mut Vec<serde_json::Value>,
) -> CmdResult {
    let mut emit = |ctl: &mut Ctl, r: &GroupResult| -> CmdResult {
        let m = super::stop::message(r, "signalled")?;
        json.push(result_json(r, &m));
        ctl.info(m);
        ctl.exit_from_fault(r.status, None);
        Ok(())
    };
    if names.iter().any(|a| a == "all") {
        for r in ctl.client.signal_all_processes(sig)? {
            emit(ctl, &r)?;
        }
        return Ok(());
    }
    for name in names {
        let (group, process) = split_namespec(name);
        match process {
            None => match ctl.client.signal_process_group(group, sig) {
                Ok(results) => {
                    for r in results {
                        emit(ctl, &r)?;
                    }
                }
                Err(ClientError::Fault(f)) if f.code == FaultCode::BadName.code() => {
                    ctl.line(format!("{group}: ERROR (no such group)"));
                    ctl.exit = exit::GENERIC;
                }
                Err(e) => return Err(e.into()),
            },
            Some(_) => match ctl.client.signal_process(name, sig) {
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
