//! getProcessInfo and getAllProcessInfo.

use gwe_supervisor_client::Value;

use super::{args, Reply};
use crate::state::Supervisor;

/// getProcessInfo(name).
pub fn one(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 1, 1)?;
    let (g, n) = args::lookup_process(sup, args::string(p, 0)?)?;
    let proc = sup.proc(&g, &n).ok_or_else(args::bad_params)?;
    Ok(proc.info(&g).to_value())
}

/// getAllProcessInfo(): sorted by group name, then process name.
pub fn all(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    // BTreeMaps iterate in lexical order already
    Ok(Value::Array(
        sup.groups
            .iter()
            .flat_map(|(g, grp)| grp.procs.values().map(move |proc| proc.info(g).to_value()))
            .collect(),
    ))
}
