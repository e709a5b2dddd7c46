//! `status [name|group:*|all ...]`: getAllProcessInfo, filtered client-side.

use gwe_supervisor_client::{ProcessInfo, ProcessState};

use super::{exit, make_namespec, split_namespec, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        // supervisorctl overrides whatever upcheck set: status exits 4.
        ctl.exit = exit::STATUS_UNKNOWN;
        return Ok(());
    }
    let all = ctl.client.get_all_process_info()?;
    let matching: Vec<&ProcessInfo> = if args.is_empty() || args.iter().any(|a| a == "all") {
        all.iter().collect()
    } else {
        let mut m = Vec::new();
        for name in args {
            let (group, process) = split_namespec(name);
            let before = m.len();
            m.extend(
                all.iter()
                    .filter(|i| i.group == group && process.is_none_or(|p| i.name == p)),
            );
            if m.len() == before {
                match process {
                    None => ctl.line(format!("{group}: ERROR (no such group)")),
                    Some(_) => ctl.line(format!("{name}: ERROR (no such process)")),
                }
                ctl.exit = exit::STATUS_UNKNOWN;
            }
        }
        m
    };
    show(ctl, &matching);
    if matching
        .iter()
        .any(|i| ProcessState::from_code(i.state).is_none_or(ProcessState::is_stopped))
    {
        ctl.exit = exit::STATUS_NOT_RUNNING;
    }
    Ok(())
}

/// `_show_statuses`: the name column is at least 30 wide, plus 3 spaces.
fn show(ctl: &mut Ctl, infos: &[&ProcessInfo]) {
    if ctl.json {
        let list: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                serde_json::json!({
                    "namespec": make_namespec(&i.group, &i.name),
                    "name": i.name, "group": i.group,
                    "state": i.state, "statename": i.statename,
                    "description": i.description, "pid": i.pid,
                    "start": i.start, "stop": i.stop, "now": i.now,
                    "exitstatus": i.exitstatus, "spawnerr": i.spawnerr,
                    "stdout_logfile": i.stdout_logfile, "stderr_logfile": i.stderr_logfile,
                })
            })
            .collect();
        ctl.set_json(serde_json::Value::Array(list));
        return;
    }
    let specs: Vec<String> = infos
        .iter()
        .map(|i| make_namespec(&i.group, &i.name))
        .collect();
    let width = specs
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(30)
        + 3;
    let mut line = String::with_capacity(128);
    for (spec, info) in specs.iter().zip(infos) {
        line.clear();
        line.push_str(&format!(
            "{spec:<width$}{:<10}{}",
            info.statename, info.description
        ));
        ctl.info(&line);
    }
}
