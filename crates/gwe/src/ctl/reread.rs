//! `reread`: reloadConfig() and report what changed, without applying it.

use gwe_supervisor_client::{ClientError, ConfigChanges, FaultCode};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !args.is_empty() {
        ctl.line("Error: reread accepts no arguments");
        ctl.exit = exit::GENERIC;
        super::help::reread(ctl);
        return Ok(());
    }
    match ctl.client.reload_config() {
        Ok(changes) => {
            format_changes(ctl, &changes);
            ctl.set_json(serde_json::json!({
                "added": changes.added, "changed": changes.changed, "removed": changes.removed,
            }));
        }
        Err(ClientError::Fault(f)) => {
            ctl.exit = exit::GENERIC;
            match FaultCode::from_code(f.code) {
                Some(FaultCode::ShutdownState) => ctl.line("ERROR: supervisor shutting down"),
                Some(FaultCode::CantReread) => ctl.line(format!("ERROR: {}", f.message)),
                _ => return Err(ClientError::Fault(f).into()),
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// `_formatChanges`: sorted names; a later kind wins for a name listed twice.
fn format_changes(ctl: &mut Ctl, c: &ConfigChanges) {
    let mut all: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for (names, kind) in [
        (&c.added, "available"),
        (&c.changed, "changed"),
        (&c.removed, "disappeared"),
    ] {
        for n in names {
            all.insert(n, kind);
        }
    }
    if all.is_empty() {
        ctl.info("No config updates to processes");
    }
    for (name, kind) in all {
        ctl.info(format!("{name}: {kind}"));
    }
}
