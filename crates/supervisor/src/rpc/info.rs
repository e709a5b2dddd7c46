//! Identity and state: getAPIVersion/getVersion, getSupervisorVersion,
//! getIdentification, getState, getPID.

use gwe_supervisor_client::Value;

use super::{args, Reply};
use crate::state::Supervisor;

/// supervisord's `rpcinterface.API_VERSION`; supervisorctl refuses anything else.
pub const API_VERSION: &str = "3.0";
/// The supervisor package version we are compatible with.
pub const SUPERVISOR_VERSION: &str = "4.3.0";

/// getAPIVersion / getVersion.
pub fn api_version(p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    Ok(API_VERSION.into())
}

/// getSupervisorVersion.
pub fn supervisor_version(p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    Ok(SUPERVISOR_VERSION.into())
}

/// getIdentification: the `identifier` option.
pub fn identification(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    Ok(sup.config.supervisord.identifier.as_str().into())
}

/// getState: `{statecode, statename}`.
pub fn state(sup: &Supervisor, p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    let (code, name) = sup.mood.code_name();
    Ok(Value::Struct(vec![
        ("statecode".into(), Value::Int(code)),
        ("statename".into(), name.into()),
    ]))
}

/// getPID.
pub fn pid(p: &[Value]) -> Reply {
    args::arity(p, 0, 0)?;
    Ok(Value::Int(i64::from(std::process::id())))
}
