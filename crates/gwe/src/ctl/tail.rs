//! `tail [-f|-N] name [stdout|stderr]`: the end of a process log, or follow it
//! over the streaming `/logtail/<name>/<channel>` endpoint.

use gwe_supervisor_client::{Channel, ClientError, FaultCode, LogStream};

use super::{exit, CmdResult, Ctl};

pub(crate) fn run(ctl: &mut Ctl, args: &[String]) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if args.is_empty() {
        ctl.line("Error: too few arguments");
        ctl.exit = exit::GENERIC;
        super::help::tail(ctl);
        return Ok(());
    }
    if args.len() > 3 {
        ctl.line("Error: too many arguments");
        ctl.exit = exit::GENERIC;
        super::help::tail(ctl);
        return Ok(());
    }
    let mut args = args.to_vec();
    let modifier = if args[0].starts_with('-') {
        Some(args.remove(0))
    } else {
        None
    };
    let (name, channel) = if args.len() == 1 {
        (args[0].clone(), Channel::Stdout)
    } else if let (Some(first), Some(last)) = (args.first(), args.last()) {
        let ch = match last.to_lowercase().as_str() {
            "stdout" => Channel::Stdout,
            "stderr" => Channel::Stderr,
            other => {
                ctl.line(format!("Error: bad channel '{other}'"));
                ctl.exit = exit::GENERIC;
                return Ok(());
            }
        };
        (first.clone(), ch)
    } else {
        ctl.line("Error: tail requires process name");
        ctl.exit = exit::GENERIC;
        return Ok(());
    };
    let mut bytes: i64 = 1600;
    if let Some(m) = &modifier {
        let what = &m[1..];
        if what == "f" {
            let stream = ctl.client.logtail(&name, channel);
            let path = format!("/logtail/{name}/{}", channel.as_str());
            return follow(ctl, &path, stream);
        }
        match parse_py_int(what) {
            Some(n) => bytes = n,
            None => {
                ctl.line(format!("Error: bad argument {m}"));
                ctl.exit = exit::GENERIC;
                return Ok(());
            }
        }
    }
    match ctl.client.read_process_log(&name, channel, -bytes, 0) {
        Ok(text) => {
            if ctl.json {
                ctl.set_json(
                    serde_json::json!({"name": name, "channel": channel.as_str(), "text": text}),
                );
            }
            ctl.info(text);
        }
        Err(ClientError::Fault(f)) => {
            ctl.exit = exit::GENERIC;
            let why = match FaultCode::from_code(f.code) {
                Some(FaultCode::NoFile) => "no log file",
                Some(FaultCode::Failed) => "unknown error reading log",
                Some(FaultCode::BadName) => "no such process name",
                _ => return Err(ClientError::Fault(f).into()),
            };
            ctl.line(format!("{name}: ERROR ({why})"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Python's `int()` for what users type: optional sign, digits.
pub(crate) fn parse_py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// `_tailf`: prints the banner, then copies the stream to stdout until EOF
/// or Ctrl-C (which prints an empty line and returns, exit status untouched).
pub(crate) fn follow(
    ctl: &mut Ctl,
    path: &str,
    stream: Result<LogStream, ClientError>,
) -> CmdResult {
    ctl.line("==> Press Ctrl-C to exit <==");
    ctl.flush();
    let guard = super::interrupt::catch_sigint();
    let stream = match stream {
        Ok(s) => s,
        Err(ClientError::Status { url, status, .. }) => {
            // supervisorctl's HTTP listener reports errors on stderr.
            eprintln!("{url}{path} Cannot read, status code {status}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let pump = super::interrupt::Pump::spawn(stream);
    match pump.wait(&guard) {
        None => ctl.line(""),
        Some(Ok(())) => {}
        Some(Err(e)) => {
            eprintln!("{}: {e}", ctl.serverurl);
            ctl.exit = exit::GENERIC;
        }
    }
    Ok(())
}
