//! Log access: readLog/clearLog (main log), readProcessStdoutLog/StderrLog,
//! tailProcessStdoutLog/StderrLog, clearProcessLogs, clearAllProcessLogs.

use gwe_supervisor_client::{FaultCode, Value};

use super::{args, fault, group_result, Reply};
use crate::logs::{read_file, tail_file, ReadError};
use crate::state::{make_namespec, Supervisor};

fn text(bytes: Vec<u8>) -> Value {
    // XML cannot carry every byte; supervisord decodes as UTF-8 too
    Value::String(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_err(e: ReadError) -> gwe_supervisor_client::Fault {
    match e {
        ReadError::BadArguments => fault(FaultCode::BadArguments, None),
        ReadError::Failed => fault(FaultCode::Failed, None),
    }
}

/// readLog(offset, length): the main log.
pub fn read_main(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 2, 2)?;
    let (offset, length) = (args::int(p, 0)?, args::int(p, 1)?);
    let path = sup.log.path().filter(|p| p.exists());
    let Some(path) = path else {
        return Err(fault(
            FaultCode::NoFile,
            sup.log.path().map(|p| p.display().to_string()).as_deref(),
        ));
    };
    read_file(&path, offset, length).map(text).map_err(read_err)
}

/// clearLog(): removes and reopens the main log.
pub fn clear_main(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    if !sup.log.exists() {
        return Err(fault(FaultCode::NoFile, None));
    }
    sup.log
        .clear()
        .map_err(|_| fault(FaultCode::Failed, None))?;
    sup.log.info("reopening log file");
    Ok(Value::Bool(true))
}

/// readProcessStdoutLog / readProcessStderrLog(name, offset, length).
pub fn read(sup: &Supervisor, p: &[Value], channel: &str) -> Reply {
    args::arity(p, 3, 3)?;
    let spec = args::string(p, 0)?;
    let (offset, length) = (args::int(p, 1)?, args::int(p, 2)?);
    let (g, n) = args::lookup_process(sup, spec)?;
    let path = sup.proc(&g, &n).and_then(|pr| pr.log_path(channel));
    match path {
        Some(path) if path.exists() => read_file(&path, offset, length).map(text).map_err(read_err),
        Some(path) => Err(fault(FaultCode::NoFile, Some(&path.display().to_string()))),
        None => Err(fault(FaultCode::NoFile, Some("None"))),
    }
}

/// tailProcessStdoutLog / tailProcessStderrLog(name, offset, length):
/// `[bytes, offset, overflow]`.
pub fn tail(sup: &Supervisor, p: &[Value], channel: &str) -> Reply {
    args::arity(p, 3, 3)?;
    let spec = args::string(p, 0)?;
    let (offset, length) = (args::int(p, 1)?, args::int(p, 2)?);
    let (g, n) = args::lookup_process(sup, spec)?;
    let Some(path) = sup.proc(&g, &n).and_then(|pr| pr.log_path(channel)) else {
        return Ok(Value::Array(vec![
            "".into(),
            Value::Int(0),
            Value::Bool(false),
        ]));
    };
    let (data, off, overflow) = tail_file(&path, offset, length);
    Ok(Value::Array(vec![
        text(data),
        Value::Int(off),
        Value::Bool(overflow),
    ]))
}

fn clear_one(sup: &Supervisor, g: &str, n: &str, spec: &str) -> Reply {
    let proc = sup
        .proc(g, n)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    for l in [&proc.stdout_log, &proc.stderr_log].into_iter().flatten() {
        l.lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear()
            .map_err(|_| fault(FaultCode::Failed, Some(spec)))?;
    }
    Ok(Value::Bool(true))
}

/// clearProcessLogs(name).
pub fn clear(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 1, 1)?;
    let spec = args::string(p, 0)?;
    let (g, n) = args::lookup_process(sup, spec)?;
    clear_one(sup, &g, &n, spec)
}

/// clearAllProcessLogs(): one result per process.
pub fn clear_all(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    let out = sup
        .ordered()
        .into_iter()
        .map(|(g, n)| {
            let r = clear_one(sup, &g, &n, &make_namespec(&g, &n));
            group_result(&g, &n, r)
        })
        .collect();
    Ok(Value::Array(out))
}
