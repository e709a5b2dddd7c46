//! `restart ...`: stop, then start (client side; there is no restart RPC).

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.is_empty() {
        ctl.line("Error: restart requires a process name");
        ctl.exit = exit::GENERIC;
        super::help::restart(ctl);
        return Ok(());
    }
    let mut json = Vec::new();
    // supervisorctl runs do_stop and do_start, each with its own upcheck.
    let res = (|| {
        if ctl.upcheck()? {
            super::stop::run_inner(ctl, args, &mut json)?;
        }
        if ctl.upcheck()? {
            super::start::run_inner(ctl, args, &mut json)?;
        }
        Ok(())
    })();
    if ctl.json {
        ctl.set_json(serde_json::Value::Array(json));
    }
    res
}
