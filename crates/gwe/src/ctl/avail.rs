//! `avail`: every configured process, in use or not (getAllConfigInfo).

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, make_namespec, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !args.is_empty() {
        ctl.line("Error: avail accepts no arguments");
        ctl.exit = exit::GENERIC;
        super::help::avail(ctl);
        return Ok(());
    }
    let infos = match ctl.client.get_all_config_info() {
        Ok(i) => i,
        Err(ClientError::Fault(f)) if f.code == FaultCode::ShutdownState.code() => {
            ctl.exit = exit::GENERIC;
            ctl.line("ERROR: supervisor shutting down");
            return Ok(());
        }
        Err(e) => {
            ctl.exit = exit::GENERIC;
            return Err(e.into());
        }
    };
    let mut json = Vec::new();
    for i in &infos {
        let name = make_namespec(&i.group, &i.name);
        let inuse = if i.inuse { "in use" } else { "avail" };
        let auto = if i.autostart { "auto" } else { "manual" };
        let prio = format!("{}:{}", i.group_prio, i.process_prio);
        json.push(serde_json::json!({
            "name": name, "group": i.group, "inuse": i.inuse, "autostart": i.autostart,
            "group_prio": i.group_prio, "process_prio": i.process_prio,
        }));
        ctl.info(format!("{name:<32} {inuse:<9} {auto:<9} {prio}"));
    }
    ctl.set_json(serde_json::Value::Array(json));
    Ok(())
}
