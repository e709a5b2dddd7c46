//! `version`: the daemon's supervisor version.

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !args.is_empty() {
        ctl.line("Error: version accepts no arguments");
        ctl.exit = exit::GENERIC;
        super::help::version(ctl);
        return Ok(());
    }
    if !ctl.upcheck()? {
        return Ok(());
    }
    let v = ctl.client.get_supervisor_version()?;
    ctl.set_json(serde_json::json!({"version": v}));
    ctl.info(v);
    Ok(())
}
