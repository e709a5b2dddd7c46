//! `fg name`: attach to a process: its stdout/stderr stream to the terminal
//! and every line typed goes to its stdin, until EOF or the process dies.

use gwe_supervisor_client::{Channel, ClientError, FaultCode, ProcessState};

use super::input::{read_line, Input};
use super::interrupt::Pump;
use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let name = match args {
        [] => {
            ctl.line("ERROR: no process name supplied");
            ctl.exit = exit::GENERIC;
            super::help::fg(ctl);
            return Ok(());
        }
        [name] => name.as_str(),
        _ => {
            ctl.line("ERROR: too many process names supplied");
            ctl.exit = exit::GENERIC;
            return Ok(());
        }
    };
    match ctl.client.get_process_info(name) {
        Ok(info) if info.process_state() == Some(ProcessState::Running) => {}
        Ok(_) => {
            ctl.line("ERROR: process not running");
            ctl.exit = exit::GENERIC;
            return Ok(());
        }
        Err(ClientError::Fault(f)) if f.code == FaultCode::BadName.code() => {
            ctl.line("ERROR: bad process name supplied");
            ctl.exit = exit::GENERIC;
            return Ok(());
        }
        Err(ClientError::Fault(f)) => {
            ctl.line(format!("ERROR: {f}"));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    ctl.line("==> Press Ctrl-C to exit <==");
    ctl.flush();
    let guard = super::interrupt::catch_sigint();
    // The pumps stop writing when dropped, on every way out.
    let _pumps: Vec<Pump> = [Channel::Stdout, Channel::Stderr]
        .into_iter()
        // A stream that cannot be opened just stays silent, as in supervisorctl.
        .filter_map(|channel| ctl.client.logtail(name, channel).ok())
        .map(Pump::spawn)
        .collect();
    // Ends on EOF or Ctrl-C: supervisorctl's `except (KeyboardInterrupt, EOFError)`.
    while let Input::Line(line) = read_line("", &guard) {
        // raw_input() drops the line end; supervisorctl then adds "\n".
        let text = format!("{}\n", line.trim_end_matches('\r'));
        match ctl.client.send_process_stdin(name, &text) {
            Ok(_) => {}
            Err(ClientError::Fault(f)) => {
                if f.code == FaultCode::NotRunning.code() {
                    ctl.line("Process got killed");
                } else {
                    ctl.line(format!("ERROR: {f}"));
                }
                ctl.line("Exiting foreground");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let info = ctl.client.get_process_info(name)?;
        if info.process_state() != Some(ProcessState::Running) {
            ctl.line("Process got killed");
            ctl.line("Exiting foreground");
            return Ok(());
        }
    }
    ctl.line("Exiting foreground");
    Ok(())
}
