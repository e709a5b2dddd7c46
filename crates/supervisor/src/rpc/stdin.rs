//! sendProcessStdin and sendRemoteCommEvent.

use gwe_supervisor_client::{FaultCode, Value};

use super::{args, fault, Reply};
use crate::state::Supervisor;

/// sendProcessStdin(name, chars).
pub fn send(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 2, 2)?;
    let spec = args::string(p, 0)?;
    let data = match &p[1] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Base64(b) => b.clone(),
        _ => return Err(fault(FaultCode::IncorrectParameters, None)),
    };
    let (g, n) = args::lookup_process(sup, spec)?;
    let proc = sup
        .proc(&g, &n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    if proc.m.pid == 0 || proc.m.killing {
        return Err(fault(FaultCode::NotRunning, Some(spec)));
    }
    match &proc.stdin {
        Some(tx) if tx.send(data).is_ok() => Ok(Value::Bool(true)),
        _ => Err(fault(FaultCode::NoFile, Some(spec))),
    }
}

/// sendRemoteCommEvent(type, data): accepted; there are no event listeners.
pub fn remote_comm_event(p: &[Value]) -> Reply {
    args::arity(p, 2, 2)?;
    Ok(Value::Bool(true))
}
