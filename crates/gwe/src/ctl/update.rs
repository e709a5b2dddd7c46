//! `update [all|group ...]`: reloadConfig, then stop/remove/add groups to match.

use std::collections::BTreeSet;

use gwe_supervisor_client::{ClientError, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    let mut actions = Vec::new();
    let res = run_inner(ctl, args, &mut actions);
    ctl.set_json(serde_json::Value::Array(actions));
    res
}

fn run_inner(ctl: &mut Ctl, args: &[String], actions: &mut Vec<serde_json::Value>) -> CmdResult {
    let mut log = |ctl: &mut Ctl, name: &str, msg: &str| {
        actions.push(serde_json::json!({"group": name, "action": msg}));
        ctl.info(format!("{name}: {msg}"));
    };
    let changes = match ctl.client.reload_config() {
        Ok(c) => c,
        Err(ClientError::Fault(f)) if f.code == FaultCode::ShutdownState.code() => {
            ctl.exit = exit::GENERIC;
            ctl.line("ERROR: already shutting down");
            return Ok(());
        }
        Err(e) => {
            ctl.exit = exit::GENERIC;
            return Err(e.into());
        }
    };
    let mut wanted: BTreeSet<&str> = args.iter().map(String::as_str).collect();
    if wanted.contains("all") {
        wanted.clear();
    }
    if !wanted.is_empty() {
        let mut groups: BTreeSet<String> = ctl
            .client
            .get_all_process_info()?
            .into_iter()
            .map(|i| i.group)
            .collect();
        groups.extend(changes.added.iter().cloned());
        // supervisorctl iterates a Python set here; sorted is the stable choice.
        for g in &wanted {
            if !groups.contains(*g) {
                ctl.line(format!("ERROR: no such group: {g}"));
                ctl.exit = exit::GENERIC;
            }
        }
    }
    let selected = |g: &str| wanted.is_empty() || wanted.contains(g);
    for g in changes.removed.iter().filter(|g| selected(g)) {
        let results = ctl.client.stop_process_group(g, true)?;
        log(ctl, g, "stopped");
        if results.iter().any(|r| r.status == FaultCode::Failed.code()) {
            log(ctl, g, "has problems; not removing");
            ctl.exit = exit::GENERIC;
            continue;
        }
        ctl.client.remove_process_group(g)?;
        log(ctl, g, "removed process group");
    }
    for g in changes.changed.iter().filter(|g| selected(g)) {
        ctl.client.stop_process_group(g, true)?;
        log(ctl, g, "stopped");
        ctl.client.remove_process_group(g)?;
        ctl.client.add_process_group(g)?;
        log(ctl, g, "updated process group");
    }
    for g in changes.added.iter().filter(|g| selected(g)) {
        ctl.client.add_process_group(g)?;
        log(ctl, g, "added process group");
    }
    Ok(())
}
