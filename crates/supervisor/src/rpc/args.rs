//! Parameter checks shared by the handlers. Python raises TypeError for a
//! wrong number of arguments, which supervisord turns into
//! INCORRECT_PARAMETERS; we do the same for wrong types.

use gwe_supervisor_client::{Fault, FaultCode, Value};

use super::fault;
use crate::state::{split_namespec, Supervisor};

/// INCORRECT_PARAMETERS.
pub fn bad_params() -> Fault {
    fault(FaultCode::IncorrectParameters, None)
}

/// Checks `min <= params.len() <= max`.
pub fn arity(p: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if p.len() < min || p.len() > max {
        return Err(bad_params());
    }
    Ok(())
}

/// String parameter `i`.
pub fn string(p: &[Value], i: usize) -> Result<&str, Fault> {
    match p.get(i) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(bad_params()),
    }
}

/// Integer parameter `i` (Python's `int()` also takes a numeric string).
pub fn int(p: &[Value], i: usize) -> Result<i64, Fault> {
    match p.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| fault(FaultCode::BadArguments, None)),
        _ => Err(bad_params()),
    }
}

/// Truthiness of optional parameter `i` (default when absent).
pub fn truthy(p: &[Value], i: usize, default: bool) -> Result<bool, Fault> {
    Ok(match p.get(i) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::Int(n)) => *n != 0,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Double(d)) => *d != 0.0,
        Some(Value::Nil) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Struct(s)) => !s.is_empty(),
        Some(Value::Base64(b)) => !b.is_empty(),
    })
}

/// `(name, wait=True)`: the parameters of the start and stop calls.
pub fn name_and_wait(p: &[Value]) -> Result<(String, bool), Fault> {
    arity(p, 1, 2)?;
    Ok((string(p, 0)?.to_owned(), truthy(p, 1, true)?))
}

/// supervisord's `_getGroupAndProcess`: `(group, Some(process))`, or
/// `(group, None)` for `group:*`; BAD_NAME if either is unknown.
pub fn lookup(sup: &Supervisor, spec: &str) -> Result<(String, Option<String>), Fault> {
    let (g, n) = split_namespec(spec);
    let group = sup
        .groups
        .get(g)
        .ok_or_else(|| fault(FaultCode::BadName, Some(spec)))?;
    match n {
        None => Ok((g.to_owned(), None)),
        Some(n) if group.procs.contains_key(n) => Ok((g.to_owned(), Some(n.to_owned()))),
        Some(_) => Err(fault(FaultCode::BadName, Some(spec))),
    }
}

/// Like [`lookup`] but a whole group is BAD_NAME too.
pub fn lookup_process(sup: &Supervisor, spec: &str) -> Result<(String, String), Fault> {
    match lookup(sup, spec)? {
        (g, Some(n)) => Ok((g, n)),
        (_, None) => Err(fault(FaultCode::BadName, Some(spec))),
    }
}

/// Signal from a name (`HUP`, `SIGHUP`) or a number (`1`), like `signal_number`.
pub fn signal_number(v: &Value) -> Option<i32> {
    let s = match v {
        Value::Int(n) => {
            return i32::try_from(*n)
                .ok()
                .filter(|n| nix::sys::signal::Signal::try_from(*n).is_ok())
        }
        Value::String(s) => s.trim(),
        _ => return None,
    };
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).ok().map(|s| s as i32);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(
            signal_number(&Value::String("HUP".into())),
            Some(libc::SIGHUP)
        );
        assert_eq!(
            signal_number(&Value::String("sigusr1".into())),
            Some(libc::SIGUSR1)
        );
        assert_eq!(signal_number(&Value::String("9".into())), Some(9));
        assert_eq!(signal_number(&Value::Int(15)), Some(15));
        assert_eq!(signal_number(&Value::String("BOGUS".into())), None);
        assert_eq!(signal_number(&Value::String("999".into())), None);
        assert_eq!(signal_number(&Value::Bool(true)), None);
    }

    #[test]
    fn params() {
        let p = [Value::String("x".into()), Value::Int(3)];
        assert!(arity(&p, 1, 2).is_ok());
        assert_eq!(arity(&p, 3, 3).unwrap_err().code, 2);
        assert_eq!(string(&p, 1).unwrap_err().code, 2);
        assert_eq!(int(&p, 1).unwrap(), 3);
        assert_eq!(int(&p, 0).unwrap_err().code, 3);
        assert!(truthy(&p, 5, true).unwrap());
    }
}
