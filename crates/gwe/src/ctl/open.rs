//! `open <url>`: switch the shell to another daemon, then show its status.

use gwe_supervisor_client::Client;

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    let url = args.join(" ");
    let scheme_ok = url
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme == "unix" || scheme == "http");
    let client = match Client::new(&url) {
        Ok(c) if scheme_ok => c,
        _ => {
            ctl.line("ERROR: url must be http:// or unix://");
            ctl.exit = exit::GENERIC;
            return Ok(());
        }
    };
    ctl.client = client;
    ctl.serverurl = url;
    let old = ctl.exit;
    let result = super::status::run(ctl, &[]);
    ctl.exit = old;
    result
}
