//! `fg name`: attach to a process: its stdout/stderr stream to the terminal
//! and every line typed goes to its stdin, until EOF or the process dies.

use std::io::{BufRead, Read, Write};

use gwe_supervisor_client::{Channel, ClientError, FaultCode, LogStream, ProcessState};

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
    for channel in [Channel::Stdout, Channel::Stderr] {
        // A stream that cannot be opened just stays silent, as in supervisorctl.
        if let Ok(stream) = ctl.client.logtail(name, channel) {
            std::thread::spawn(move || copy_to_stdout(stream));
        }
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        // raw_input() drops the line end; supervisorctl then adds "\n".
        let text = format!("{}\n", line.trim_end_matches(['\n', '\r']));
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

fn copy_to_stdout(mut stream: LogStream) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut out = std::io::stdout().lock();
                if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                    return;
                }
            }
        }
    }
}
