//! signalProcess, signalProcessGroup, signalAllProcesses.

use std::time::Instant;

use gwe_supervisor_client::{Fault, FaultCode, Value};

use super::{args, fault, group_result, Reply};
use crate::state::{make_namespec, Supervisor};

/// signalProcess(name, signal); `group:*` signals the group.
pub fn process(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 2, 2)?;
    let spec = args::string(p, 0)?.to_owned();
    match args::lookup(sup, &spec)? {
        (g, None) => many(sup, Some(&g), &p[1]),
        (g, Some(n)) => one(sup, &g, &n, &spec, &p[1]).map(|()| Value::Bool(true)),
    }
}

/// signalProcessGroup(name, signal).
pub fn group(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 2, 2)?;
    let g = args::string(p, 0)?.to_owned();
    if !sup.groups.contains_key(&g) {
        return Err(fault(FaultCode::BadName, Some(&g)));
    }
    many(sup, Some(&g), &p[1])
}

/// signalAllProcesses(signal).
pub fn all(sup: &mut Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 1, 1)?;
    many(sup, None, &p[0])
}

fn many(sup: &mut Supervisor, only: Option<&str>, sig: &Value) -> Reply {
    let mut out = Vec::new();
    for (g, n) in sup.ordered() {
        if only.is_some_and(|o| o != g)
            || sup.proc(&g, &n).is_none_or(|p| !p.m.state.is_signallable())
        {
            continue;
        }
        let spec = make_namespec(&g, &n);
        let r = one(sup, &g, &n, &spec, sig).map(|()| Value::Bool(true));
        out.push(group_result(&g, &n, r));
    }
    Ok(Value::Array(out))
}

fn one(sup: &mut Supervisor, g: &str, n: &str, spec: &str, sig: &Value) -> Result<(), Fault> {
    let signo = args::signal_number(sig).ok_or_else(|| {
        let shown = match sig {
            Value::String(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            other => other.type_name().to_owned(),
        };
        fault(FaultCode::BadSignal, Some(&shown))
    })?;
    let proc = sup
        .proc(g, n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    if !proc.m.state.is_signallable() {
        return Err(fault(FaultCode::NotRunning, Some(spec)));
    }
    sup.signal_process(g, n, signo, Instant::now())
        .map_err(|m| fault(FaultCode::Failed, Some(&m)))
}
