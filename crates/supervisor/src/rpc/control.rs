//! The supervisor itself: shutdown, restart, reloadConfig, addProcessGroup,
//! removeProcessGroup, getAllConfigInfo.

use gwe_supervisor_client::{FaultCode, Value};

use super::{args, fault, Loader, Reply};
use crate::config::LogTarget;
use crate::state::{Mood, Supervisor};

/// shutdown(): stop everything (reverse priority) and exit.
pub fn shutdown(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    sup.log.warn("received shutdown request via RPC");
    sup.set_mood(Mood::Shutdown);
    Ok(Value::Bool(true))
}

/// restart(): re-read the configuration, stop everything, start again. A
/// configuration that does not load is refused (CANT_REREAD) and nothing stops.
pub fn restart(sup: &mut Supervisor, p: &[Value], loader: &Loader) -> Reply {
    args::arity(p, 0, 0)?;
    match loader() {
        Ok(c) => {
            sup.next_config = Some(c);
            sup.set_mood(Mood::Restarting);
            Ok(Value::Bool(true))
        }
        Err(e) => {
            sup.log.log(
                crate::process::Level::Error,
                &format!("could not reload config, keeping the current one: {e}"),
            );
            Err(fault(FaultCode::CantReread, Some(&e)))
        }
    }
}

/// reloadConfig(): `[[added, changed, removed]]` group names.
pub fn reload_config(sup: &mut Supervisor, p: &[Value], loader: &Loader) -> Reply {
    args::arity(p, 0, 0)?;
    let new = loader().map_err(|e| fault(FaultCode::CantReread, Some(&e)))?;
    sup.config.groups = new.groups;
    let (a, c, r) = sup.diff_to_active();
    let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    Ok(Value::Array(vec![Value::Array(vec![
        names(a),
        names(c),
        names(r),
    ])]))
}

/// addProcessGroup(name): activate a group of the last read configuration.
pub fn add_group(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 1, 1)?;
    let name = args::string(p, 0)?;
    let Some(g) = sup.config.groups.iter().find(|g| g.name == name).cloned() else {
        return Err(fault(FaultCode::BadName, Some(name)));
    };
    if !sup.add_group(g) {
        return Err(fault(FaultCode::AlreadyAdded, Some(name)));
    }
    sup.log.info(&format!("added process group {name}"));
    Ok(Value::Bool(true))
}

/// removeProcessGroup(name): only when all its processes are stopped.
pub fn remove_group(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 1, 1)?;
    let name = args::string(p, 0)?;
    if !sup.groups.contains_key(name) {
        return Err(fault(FaultCode::BadName, Some(name)));
    }
    if !sup.remove_group(name) {
        return Err(fault(FaultCode::StillRunning, Some(name)));
    }
    sup.log.info(&format!("removed process group {name}"));
    Ok(Value::Bool(true))
}

fn log_target(t: &LogTarget) -> Value {
    match t {
        LogTarget::Auto => "auto".into(),
        LogTarget::None => "none".into(),
        LogTarget::Syslog => "syslog".into(),
        LogTarget::File(p) => p.display().to_string().into(),
    }
}

/// getAllConfigInfo(): one struct per configured process, sorted by name.
pub fn all_config_info(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    let mut rows: Vec<(String, Value)> = Vec::new();
    for g in &sup.config.groups {
        let inuse = sup.groups.contains_key(&g.name);
        for c in &g.processes {
            let opt = |s: Option<String>| s.map_or(Value::from("none"), Value::from);
            let v = Value::Struct(vec![
                ("autostart".into(), c.autostart.into()),
                (
                    "directory".into(),
                    opt(c.directory.as_ref().map(|d| d.display().to_string())),
                ),
                ("uid".into(), opt(c.user.clone())),
                ("command".into(), c.command.as_str().into()),
                (
                    "exitcodes".into(),
                    Value::Array(
                        c.exitcodes
                            .iter()
                            .map(|e| Value::Int(i64::from(*e)))
                            .collect(),
                    ),
                ),
                ("group".into(), g.name.as_str().into()),
                ("group_prio".into(), Value::Int(g.priority)),
                ("inuse".into(), inuse.into()),
                ("killasgroup".into(), c.killasgroup.into()),
                ("name".into(), c.name.as_str().into()),
                ("process_prio".into(), Value::Int(c.priority)),
                ("redirect_stderr".into(), c.redirect_stderr.into()),
                ("startretries".into(), Value::Int(i64::from(c.startretries))),
                ("startsecs".into(), Value::Int(c.startsecs as i64)),
                (
                    "stdout_capture_maxbytes".into(),
                    Value::Int(c.stdout.capture_maxbytes as i64),
                ),
                (
                    "stdout_events_enabled".into(),
                    c.stdout.events_enabled.into(),
                ),
                ("stdout_logfile".into(), log_target(&c.stdout.target)),
                (
                    "stdout_logfile_backups".into(),
                    Value::Int(i64::from(c.stdout.backups)),
                ),
                (
                    "stdout_logfile_maxbytes".into(),
                    Value::Int(c.stdout.maxbytes as i64),
                ),
                ("stdout_syslog".into(), c.stdout.syslog.into()),
                ("stopsignal".into(), Value::Int(i64::from(c.stopsignal))),
                ("stopwaitsecs".into(), Value::Int(c.stopwaitsecs as i64)),
                (
                    "stderr_capture_maxbytes".into(),
                    Value::Int(c.stderr.capture_maxbytes as i64),
                ),
                (
                    "stderr_events_enabled".into(),
                    c.stderr.events_enabled.into(),
                ),
                ("stderr_logfile".into(), log_target(&c.stderr.target)),
                (
                    "stderr_logfile_backups".into(),
                    Value::Int(i64::from(c.stderr.backups)),
                ),
                (
                    "stderr_logfile_maxbytes".into(),
                    Value::Int(c.stderr.maxbytes as i64),
                ),
                ("stderr_syslog".into(), c.stderr.syslog.into()),
                (
                    "serverurl".into(),
                    c.serverurl.clone().map_or(Value::from("auto"), Value::from),
                ),
            ]);
            rows.push((c.name.clone(), v));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Array(rows.into_iter().map(|(_, v)| v).collect()))
}
