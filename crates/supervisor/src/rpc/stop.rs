//! stopProcess, stopProcessGroup, stopAllProcesses.

use std::time::Instant;

use gwe_supervisor_client::{Fault, FaultCode, Value};

use super::{args, fault, group_result, Outcome, Wait};
use crate::state::{make_namespec, Supervisor};

/// stopProcess(name, wait=True); `group:*` stops the group.
pub fn process(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    let (spec, wait) = match args::name_and_wait(p) {
        Ok(x) => x,
        Err(f) => return Err(f).into(),
    };
    match args::lookup(sup, &spec) {
        Err(f) => Err(f).into(),
        Ok((g, None)) => stop_many(sup, Some(&g), wait),
        Ok((g, Some(n))) => match stop_one(sup, &g, &n, &spec, wait) {
            Err(f) => Err(f).into(),
            Ok(None) => Ok(Value::Bool(true)).into(),
            Ok(Some(w)) => Outcome::Wait(w),
        },
    }
}

/// stopProcessGroup(name, wait=True).
pub fn group(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    match args::name_and_wait(p) {
        Err(f) => Err(f).into(),
        Ok((g, _)) if !sup.groups.contains_key(&g) => {
            Err(fault(FaultCode::BadName, Some(&g))).into()
        }
        Ok((g, wait)) => stop_many(sup, Some(&g), wait),
    }
}

/// stopAllProcesses(wait=True).
pub fn all(sup: &mut Supervisor, p: &[Value]) -> Outcome {
    if let Err(f) = args::arity(p, 0, 1) {
        return Err(f).into();
    }
    match args::truthy(p, 0, true) {
        Err(f) => Err(f).into(),
        Ok(wait) => stop_many(sup, None, wait),
    }
}

/// Stops every running process (of `only`, or all). supervisord walks the
/// priority order here (the ordered stop is only for shutdown).
fn stop_many(sup: &mut Supervisor, only: Option<&str>, wait: bool) -> Outcome {
    let mut items = Vec::new();
    let mut results = Vec::new();
    for (g, n) in sup.ordered() {
        if only.is_some_and(|o| o != g) || sup.proc(&g, &n).is_none_or(|p| !p.m.state.is_running())
        {
            continue;
        }
        let spec = make_namespec(&g, &n);
        match stop_one(sup, &g, &n, &spec, wait) {
            Err(f) => results.push(group_result(&g, &n, Err(f))),
            Ok(None) => results.push(group_result(&g, &n, Ok(Value::Bool(true)))),
            Ok(Some(w)) => items.push((g, n, w)),
        }
    }
    Outcome::Wait(Wait::Group { items, results })
}

fn stop_one(
    sup: &mut Supervisor,
    g: &str,
    n: &str,
    spec: &str,
    wait: bool,
) -> Result<Option<Wait>, Fault> {
    let proc = sup
        .proc(g, n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    if !proc.m.state.is_running() {
        return Err(fault(FaultCode::NotRunning, Some(spec)));
    }
    sup.stop_process(g, n, Instant::now())
        .map_err(|m| fault(FaultCode::Failed, Some(&m)))?;
    sup.reap();
    let stopped = sup.proc(g, n).is_none_or(|p| p.m.state.is_stopped());
    if wait && !stopped {
        return Ok(Some(Wait::Stopped {
            group: g.to_owned(),
            name: n.to_owned(),
        }));
    }
    Ok(None)
}
