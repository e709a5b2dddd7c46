//! `system.*`: listMethods, methodHelp, methodSignature, multicall.

use gwe_supervisor_client::{Fault, FaultCode, Value};

use super::{args, dispatch, fault, Loader, Outcome, Part, Reply, Wait, METHODS};
use crate::state::Supervisor;

/// system.listMethods().
pub fn list_methods(p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    Ok(Value::Array(
        METHODS.iter().map(|m| Value::from(*m)).collect(),
    ))
}

fn known(p: &[Value]) -> Result<&'static str, Fault> {
    args::arity(p, 1, 1)?;
    let name = args::string(p, 0)?;
    METHODS
        .iter()
        .copied()
        .find(|m| *m == name)
        .ok_or_else(|| fault(FaultCode::SignatureUnsupported, None))
}

/// system.methodHelp(name): a one-line description.
pub fn method_help(p: &[Value]) -> Reply {
    let m = known(p)?;
    Ok(format!("{m}: see supervisord's XML-RPC API documentation").into())
}

/// system.methodSignature(name): `[return type, param types...]`.
pub fn method_signature(p: &[Value]) -> Reply {
    let m = known(p)?;
    let sig: &[&str] = match m.rsplit('.').next().unwrap_or("") {
        "getAPIVersion" | "getVersion" | "getSupervisorVersion" | "getIdentification" => {
            &["string"]
        }
        "getState" => &["struct"],
        "getPID" => &["int"],
        "readLog" | "readMainLog" => &["string", "int", "int"],
        "clearLog" | "shutdown" | "restart" => &["boolean"],
        "reloadConfig"
        | "getAllProcessInfo"
        | "getAllConfigInfo"
        | "clearAllProcessLogs"
        | "listMethods" => &["array"],
        "addProcessGroup" | "removeProcessGroup" | "clearProcessLogs" | "clearProcessLog" => {
            &["boolean", "string"]
        }
        "getProcessInfo" => &["struct", "string"],
        "startProcess" | "stopProcess" => &["boolean", "string", "boolean"],
        "startProcessGroup" | "stopProcessGroup" => &["array", "string", "boolean"],
        "startAllProcesses" | "stopAllProcesses" => &["array", "boolean"],
        "signalProcess" => &["boolean", "string", "string"],
        "signalProcessGroup" => &["array", "string", "string"],
        "signalAllProcesses" => &["array", "string"],
        "sendProcessStdin" | "sendRemoteCommEvent" => &["boolean", "string", "string"],
        "readProcessStdoutLog" | "readProcessStderrLog" | "readProcessLog" => {
            &["string", "string", "int", "int"]
        }
        "tailProcessStdoutLog" | "tailProcessStderrLog" | "tailProcessLog" => {
            &["array", "string", "int", "int"]
        }
        "methodHelp" => &["string", "string"],
        "methodSignature" => &["array", "string"],
        "multicall" => &["array", "array"],
        _ => &["undef"],
    };
    Ok(Value::Array(vec![Value::Array(
        sig.iter().map(|s| Value::from(*s)).collect(),
    )]))
}

/// One multicall answer: `[value]` or `{faultCode, faultString}`.
pub fn multicall_entry(r: Reply) -> Value {
    match r {
        Ok(v) => Value::Array(vec![v]),
        Err(f) => Value::Struct(vec![
            ("faultCode".into(), Value::Int(f.code)),
            ("faultString".into(), Value::String(f.message)),
        ]),
    }
}

/// system.multicall([{methodName, params}, ...]).
pub fn multicall(sup: &mut Supervisor, p: &[Value], loader: &Loader) -> Outcome {
    let calls = match (args::arity(p, 1, 1), p.first()) {
        (Ok(()), Some(Value::Array(calls))) => calls.clone(),
        _ => return Err(args::bad_params()).into(),
    };
    let mut parts = Vec::with_capacity(calls.len());
    for c in &calls {
        let name = c.get("methodName").and_then(Value::as_str);
        let params = c.get("params").and_then(Value::as_array).unwrap_or(&[]);
        let part = match name {
            None => Part::Done(multicall_entry(Err(args::bad_params()))),
            Some("system.multicall") => Part::Done(multicall_entry(Err(fault(
                FaultCode::IncorrectParameters,
                Some("Recursive system.multicall forbidden"),
            )))),
            Some(m) => match dispatch(sup, m, params, loader) {
                Outcome::Done(r) => Part::Done(multicall_entry(r)),
                Outcome::Wait(w) => Part::Waiting(w),
            },
        };
        parts.push(part);
    }
    Outcome::Wait(Wait::Multi(parts))
}
