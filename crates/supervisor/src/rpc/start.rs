//! startProcess, startProcessGroup, startAllProcesses.

use std::time::Instant;

use gwe_supervisor_client::{Fault, FaultCode, Value};

use super::{args, fault, group_result, Outcome, Wait};
use crate::process::spawner::{self, SpawnError};
use crate::process::ProcessState;
use crate::state::{make_namespec, Supervisor};

/// startProcess(name, wait=True); `group:*` starts the group.
pub fn process(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    let (spec, wait) = match args::name_and_wait(p) {
        Ok(x) => x,
        Err(f) => return Err(f).into(),
    };
    match args::lookup(sup, &spec) {
        Err(f) => Err(f).into(),
        Ok((g, None)) => start_many(sup, Some(&g), wait),
        Ok((g, Some(n))) => match start_one(sup, &g, &n, &spec, wait) {
            Err(f) => Err(f).into(),
            Ok(None) => Ok(Value::Bool(true)).into(),
            Ok(Some(w)) => Outcome::Wait(w),
        },
    }
}

/// startProcessGroup(name, wait=True).
pub fn group(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    match args::name_and_wait(p) {
        Err(f) => Err(f).into(),
        Ok((g, _)) if !sup.groups.contains_key(&g) => {
            Err(fault(FaultCode::BadName, Some(&g))).into()
        }
        Ok((g, wait)) => start_many(sup, Some(&g), wait),
    }
}

/// startAllProcesses(wait=True).
pub fn all(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    if let Err(f) = args::arity(p, 0, 1) {
        return Err(f).into();
    }
    match args::truthy(p, 0, true) {
        Err(f) => Err(f).into(),
        Ok(wait) => start_many(sup, None, wait),
    }
}

/// Starts every not-running process (of `only` group, or all), in priority order.
fn start_many(sup: &mut Supervisor, only: Option<&str>, wait: bool) -> Outcome {
    let mut items = Vec::new();
    let mut results = Vec::new();
    for (g, n) in sup.ordered() {
        if only.is_some_and(|o| o != g) {
            continue;
        }
        if sup.proc(&g, &n).is_none_or(|p| p.m.state.is_running()) {
            continue;
        }
        let spec = make_namespec(&g, &n);
        match start_one(sup, &g, &n, &spec, wait) {
            Err(f) => results.push(group_result(&g, &n, Err(f))),
            Ok(None) => results.push(group_result(&g, &n, Ok(Value::Bool(true)))),
            Ok(Some(w)) => items.push((g, n, w)),
        }
    }
    Outcome::Wait(Wait::Group { items, results })
}

/// supervisord's startProcess for one process: Ok(None) when done.
fn start_one(
    sup: &mut Supervisor,
    g: &str,
    n: &str,
    spec: &str,
    wait: bool,
) -> Result<Option<Wait>, Fault> {
    let proc = sup
        .proc(g, n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    let argv0 = proc.config.argv.first().cloned().unwrap_or_default();
    match spawner::resolve(&argv0) {
        Ok(_) => {}
        Err(e @ SpawnError::NotFound(_)) => {
            return Err(fault(FaultCode::NoFile, Some(&e.to_string())))
        }
        Err(e) => return Err(fault(FaultCode::NotExecutable, Some(&e.to_string()))),
    }
    if proc.m.state.is_running() {
        return Err(fault(FaultCode::AlreadyStarted, Some(spec)));
    }
    if proc.m.state == ProcessState::Unknown {
        return Err(fault(
            FaultCode::Failed,
            Some(&format!("{spec} is in an unknown process state")),
        ));
    }
    sup.start_process(g, n, Instant::now());
    sup.reap();
    let proc = sup
        .proc(g, n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    if proc.m.spawnerr.is_some() {
        return Err(fault(FaultCode::SpawnError, Some(spec)));
    }
    sup.tick_all(Instant::now());
    let running = sup
        .proc(g, n)
        .is_some_and(|p| p.m.state == ProcessState::Running);
    if wait && !running {
        return Ok(Some(Wait::Running {
            group: g.to_owned(),
            name: n.to_owned(),
            spec: spec.to_owned(),
        }));
    }
    Ok(None)
}
