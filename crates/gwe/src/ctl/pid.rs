//! `pid [all|name ...]`: supervisord's PID or its children's.

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, make_namespec, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.is_empty() {
        let pid = ctl.client.get_pid()?;
        ctl.set_json(serde_json::json!({"pid": pid}));
        ctl.info(pid.to_string());
        return Ok(());
    }
    let mut json = Vec::new();
    if args.iter().any(|a| a == "all") {
        for info in ctl.client.get_all_process_info()? {
            json.push(serde_json::json!({"name": make_namespec(&info.group, &info.name), "pid": info.pid}));
            ctl.info(info.pid.to_string());
        }
    } else {
        for name in args {
            match ctl.client.get_process_info(name) {
                Ok(info) => {
                    json.push(serde_json::json!({"name": name, "pid": info.pid}));
                    ctl.info(info.pid.to_string());
                    if info.pid == 0 {
                        ctl.exit = exit::NOT_RUNNING;
                    }
                }
                Err(ClientError::Fault(f)) if f.code == FaultCode::BadName.code() => {
                    ctl.exit = exit::GENERIC;
                    json.push(
                        serde_json::json!({"name": name, "pid": null, "error": "no such process"}),
                    );
                    ctl.line(format!("No such process {name}"));
                }
                Err(e) => {
                    ctl.exit = exit::GENERIC;
                    return Err(e.into());
                }
            }
        }
    }
    ctl.set_json(serde_json::Value::Array(json));
    Ok(())
}
