//! `gwe ctl`: supervisorctl's command line, same output text and exit codes
//! (supervisor 4.3's supervisorctl.py), over [`gwe_supervisor_client::Client`].
//! Works against supervisord itself and against `gwe supervisord`.
//!
//! One module per command; [`Ctl`] carries the client, the output and the
//! exit status the way supervisorctl's `Controller` does.

mod add;
mod avail;
mod clear;
mod config;
mod fg;
mod help;
mod input;
mod interrupt;
mod maintail;
mod open;
mod pid;
mod reload;
mod remove;
mod reread;
mod restart;
mod shell;
mod shutdown;
mod signal;
mod start;
mod status;
mod stop;
mod tail;
mod update;
mod version;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use gwe_supervisor_client::{Client, ClientError, FaultCode, GroupResult};

/// supervisorctl's `LSBInitExitStatuses`.
pub(crate) mod exit {
    pub const GENERIC: u8 = 1;
    pub const INVALID_ARGS: u8 = 2;
    pub const UNIMPLEMENTED_FEATURE: u8 = 3;
    pub const INSUFFICIENT_PRIVILEGES: u8 = 4;
    pub const NOT_INSTALLED: u8 = 5;
    pub const NOT_RUNNING: u8 = 7;
    /// `LSBStatusExitStatuses` (status only).
    pub const STATUS_NOT_RUNNING: u8 = 3;
    pub const STATUS_UNKNOWN: u8 = 4;
}

/// The API version supervisorctl insists on.
const API_VERSION: &str = "3.0";

/// State shared by the commands: the connection, where output goes, the exit status.
pub(crate) struct Ctl {
    pub client: Client,
    pub serverurl: String,
    /// `--json`: commands that support it print one JSON document on stdout
    /// and send their human-readable lines to stderr.
    pub json: bool,
    /// In the shell: `shutdown`/`reload` ask first, as supervisorctl's interactive mode.
    pub interactive: bool,
    pub exit: u8,
    out: String,
    err: String,
    json_out: Option<serde_json::Value>,
}

/// A command's outcome; `Err` is an unexpected failure that supervisorctl
/// would print as `error: ...` (exit 1).
pub(crate) type CmdResult = Result<(), Failure>;

/// An unexpected failure inside a command.
#[derive(Debug)]
pub(crate) enum Failure {
    Client(ClientError),
    /// A result code supervisorctl does not know (its `ValueError`).
    Other(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

impl Ctl {
    /// One line of human output (supervisorctl's `ctl.output`).
    pub fn line(&mut self, s: impl AsRef<str>) {
        let buf = if self.json {
            &mut self.err
        } else {
            &mut self.out
        };
        buf.push_str(s.as_ref());
        buf.push('\n');
    }

    /// A line of normal output that the `--json` document already carries
    /// (dropped in JSON mode).
    pub fn info(&mut self, s: impl AsRef<str>) {
        if !self.json {
            self.out.push_str(s.as_ref());
            self.out.push('\n');
        }
    }

    /// Sets the JSON document printed in `--json` mode.
    pub fn set_json(&mut self, v: serde_json::Value) {
        if self.json {
            self.json_out = Some(v);
        }
    }

    /// Writes buffered output now (before a long-running stream).
    pub fn flush(&mut self) {
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(self.out.as_bytes());
        let _ = so.flush();
        self.out.clear();
        let mut se = std::io::stderr().lock();
        let _ = se.write_all(self.err.as_bytes());
        self.err.clear();
    }

    /// supervisorctl's `upcheck()`: `getVersion()` must answer `3.0`.
    /// Returns false (after printing why and setting the exit code) if not.
    pub fn upcheck(&mut self) -> Result<bool, Failure> {
        match self.client.get_version() {
            Ok(v) if v == API_VERSION => Ok(true),
            Ok(v) => {
                self.line(format!(
                    "Sorry, this version of supervisorctl expects to talk to a server with API version {API_VERSION}, but the remote version is {v}."
                ));
                self.exit = exit::NOT_INSTALLED;
                Ok(false)
            }
            Err(ClientError::Fault(f)) if f.code == FaultCode::UnknownMethod.code() => {
                self.line("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                self.exit = exit::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Err(ClientError::Refused { url }) => {
                self.line(format!("{url} refused connection"));
                self.exit = exit::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(ClientError::NoSuchFile { url }) => {
                self.line(format!("{url} no such file"));
                self.exit = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => {
                self.exit = exit::GENERIC;
                Err(e.into())
            }
        }
    }

    /// `set_exitstatus_from_xmlrpc_fault`.
    pub fn exit_from_fault(&mut self, code: i64, ignored: Option<FaultCode>) {
        if Some(code) == ignored.map(FaultCode::code) || code == FaultCode::Success.code() {
            return;
        }
        let dead = [
            FaultCode::SpawnError,
            FaultCode::AbnormalTermination,
            FaultCode::NotRunning,
        ];
        self.exit = if dead.iter().any(|f| f.code() == code) {
            exit::NOT_RUNNING
        } else {
            exit::GENERIC
        };
    }
}

/// `make_namespec`.
pub(crate) fn make_namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_owned()
    } else {
        format!("{group}:{name}")
    }
}

/// `split_namespec`: `g:*` and `g:` give `(g, None)`, a bare name `(n, Some(n))`.
pub(crate) fn split_namespec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (spec, Some(spec)),
    }
}

/// A group-call result built from a fault on a single-process call
/// (supervisorctl does the same to share its message tables).
pub(crate) fn result_from_fault(spec: &str, code: i64, message: &str) -> GroupResult {
    let (group, name) = split_namespec(spec);
    GroupResult {
        name: name.unwrap_or("None").to_owned(),
        group: group.to_owned(),
        status: code,
        description: message.to_owned(),
    }
}

/// A group result as JSON for `--json`.
pub(crate) fn result_json(r: &GroupResult, text: &str) -> serde_json::Value {
    serde_json::json!({
        "name": r.namespec(),
        "group": r.group,
        "status": r.status,
        "ok": r.status == FaultCode::Success.code(),
        "description": r.description,
        "message": text,
    })
}

/// Entry point; `args[0]` is the subcommand name (`ctl`).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let opts = match config::Options::parse(&args) {
        Ok(config::Parsed::Run(o)) => o,
        Ok(config::Parsed::Help) => {
            print!("{}", help::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            eprintln!("For help, use gwe ctl -h");
            return ExitCode::from(exit::INVALID_ARGS);
        }
    };
    let mut client = match Client::new(&opts.serverurl) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            eprintln!("For help, use gwe ctl -h");
            return ExitCode::from(exit::INVALID_ARGS);
        }
    };
    if let (Some(u), Some(p)) = (&opts.username, &opts.password) {
        client = client.with_auth(u, p);
    }
    let mut ctl = Ctl {
        client,
        serverurl: opts.serverurl.clone(),
        json: opts.json,
        interactive: opts.command.is_empty(),
        exit: 0,
        out: String::new(),
        err: String::new(),
        json_out: None,
    };
    if ctl.interactive {
        shell::run(&mut ctl, &format!("{}> ", opts.prompt));
        // supervisorctl: "exitstatus always 0 for interactive mode".
        return ExitCode::SUCCESS;
    }
    // supervisorctl joins the words and parses them as one shell line.
    onecmd(&mut ctl, &opts.command.join(" "));
    ExitCode::from(ctl.exit)
}

/// What `onecmd` asks of the shell loop.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    /// `exit`, `quit`, `EOF`.
    Quit,
}

/// `cmd.Cmd.parseline` + supervisorctl's `onecmd`: runs one command line,
/// prints its output and records the exit status.
pub(crate) fn onecmd(ctl: &mut Ctl, line: &str) -> Next {
    let next = match parseline(line) {
        // `emptyline()`: a blank line repeats nothing.
        Parsed::Empty => Next::Continue,
        Parsed::Unknown(line) => {
            unknown(ctl, &line);
            Next::Continue
        }
        Parsed::Command(cmd, arg) => {
            let args: Vec<String> = arg.split_whitespace().map(str::to_owned).collect();
            match cmd.as_str() {
                "exit" | "quit" | "EOF" => {
                    ctl.line("");
                    Next::Quit
                }
                _ => match dispatch(ctl, &cmd, &args, line.trim()) {
                    // supervisorctl's onecmd in the shell: ask for a user
                    // name and password, then run the same line again
                    Err(Failure::Client(ClientError::Unauthorized)) if ctl.interactive => {
                        if ask_credentials(ctl) {
                            return onecmd(ctl, line);
                        }
                        // raw_input's EOFError, caught by onecmd's catch-all
                        ctl.exit = exit::GENERIC;
                        ctl.line("error: <class 'EOFError'>, EOF when reading a line");
                        Next::Continue
                    }
                    Err(f) => {
                        report_failure(ctl, f);
                        Next::Continue
                    }
                    Ok(()) => Next::Continue,
                },
            }
        }
    };
    if let Some(j) = ctl.json_out.take() {
        ctl.out.push_str(&j.to_string());
        ctl.out.push('\n');
    }
    ctl.flush();
    next
}

/// A command line split as `cmd.Cmd.parseline` does.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Empty,
    /// No command word (e.g. `!ls`, `-x`): `default(line)`.
    Unknown(String),
    /// The command word (identifier characters) and the rest, stripped.
    Command(String, String),
}

fn parseline(line: &str) -> Parsed {
    let line = line.trim();
    if line.is_empty() {
        return Parsed::Empty;
    }
    let line = match line.strip_prefix('?') {
        Some(rest) => format!("help {rest}"),
        None => line.to_owned(),
    };
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    if end == 0 {
        return Parsed::Unknown(line);
    }
    Parsed::Command(line[..end].to_owned(), line[end..].trim().to_owned())
}

/// `default(line)`.
fn unknown(ctl: &mut Ctl, line: &str) {
    ctl.line(format!("*** Unknown syntax: {line}"));
    ctl.exit = exit::GENERIC;
}

fn dispatch(ctl: &mut Ctl, cmd: &str, args: &[String], line: &str) -> CmdResult {
    match cmd {
        "status" => status::run(ctl, args),
        "start" => start::run(ctl, args),
        "stop" => stop::run(ctl, args),
        "restart" => restart::run(ctl, args),
        "signal" => signal::run(ctl, args),
        "tail" => tail::run(ctl, args),
        "maintail" => maintail::run(ctl, args),
        "pid" => pid::run(ctl, args),
        "clear" => clear::run(ctl, args),
        "reread" => reread::run(ctl, args),
        "update" => update::run(ctl, args),
        "avail" => avail::run(ctl, args),
        "add" => add::run(ctl, args),
        "remove" => remove::run(ctl, args),
        "reload" => reload::run(ctl, args),
        "shutdown" => shutdown::run(ctl, args),
        "version" => version::run(ctl, args),
        "fg" => fg::run(ctl, args),
        "open" => open::run(ctl, args),
        "help" => {
            help::run(ctl, args);
            Ok(())
        }
        _ => {
            unknown(ctl, line);
            Ok(())
        }
    }
}

/// In the shell, asks `question` (supervisorctl's `raw_input` y/N);
/// true when the answer starts with `y`. One-shot mode never asks.
pub(crate) fn confirm(ctl: &mut Ctl, question: &str) -> bool {
    if !ctl.interactive {
        return true;
    }
    ctl.flush();
    let guard = interrupt::catch_sigint();
    match input::read_line(question, &guard) {
        input::Input::Line(answer) => answer.to_lowercase().starts_with('y'),
        input::Input::Eof | input::Input::Interrupted => {
            ctl.line("");
            false
        }
    }
}

/// The shell's answer to a 401: `Server requires authentication`, then
/// `Username:` and `Password:` (not echoed on a terminal). Returns false
/// when the input ends or Ctrl-C is pressed instead.
fn ask_credentials(ctl: &mut Ctl) -> bool {
    ctl.line("Server requires authentication");
    ctl.flush();
    let guard = interrupt::catch_sigint();
    let input::Input::Line(username) = input::read_line("Username:", &guard) else {
        ctl.line("");
        return false;
    };
    let input::Input::Line(password) = input::read_secret("Password:", &guard) else {
        ctl.line("");
        return false;
    };
    ctl.line("");
    match Client::new(&ctl.serverurl) {
        Ok(c) => {
            ctl.client = c.with_auth(&username, &password);
            true
        }
        Err(_) => false,
    }
}

/// supervisorctl's catch-all in `onecmd`: authentication message or
/// `error: ...`, exit 1.
fn report_failure(ctl: &mut Ctl, f: Failure) {
    ctl.exit = exit::GENERIC;
    let msg = match f {
        // supervisorctl prints this, then runs the command again (a quirk of
        // its onecmd), which fails the same way and prints the error.
        Failure::Client(ClientError::Unauthorized) => "Server requires authentication\nerror: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>".to_owned(),
        Failure::Client(ClientError::NoSuchFile { .. }) => {
            "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory".to_owned()
        }
        Failure::Client(ClientError::Refused { .. }) => {
            "error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused".to_owned()
        }
        Failure::Client(ClientError::Fault(f)) => {
            format!("error: <class 'xmlrpc.client.Fault'>, {f}")
        }
        Failure::Client(e) => format!("error: {e}"),
        Failure::Other(m) => format!("error: <class 'ValueError'>, {m}"),
    };
    ctl.line(msg);
}

#[cfg(test)]
mod tests {
    use super::{parseline, Parsed};

    fn cmd(c: &str, a: &str) -> Parsed {
        Parsed::Command(c.to_owned(), a.to_owned())
    }

    #[test]
    fn parseline_like_cmd_module() {
        assert_eq!(parseline(""), Parsed::Empty);
        assert_eq!(parseline(" \t "), Parsed::Empty);
        assert_eq!(parseline("  stop   a  b "), cmd("stop", "a  b"));
        assert_eq!(parseline("?"), cmd("help", ""));
        assert_eq!(parseline("?stop"), cmd("help", "stop"));
        assert_eq!(parseline("status-x"), cmd("status", "-x"));
        assert_eq!(parseline("EOF"), cmd("EOF", ""));
        // No command word: supervisorctl's default() prints the line.
        assert_eq!(parseline("!ls"), Parsed::Unknown("!ls".to_owned()));
        assert_eq!(parseline("-x y"), Parsed::Unknown("-x y".to_owned()));
        assert_eq!(
            parseline("\u{e9}t\u{e9}"),
            Parsed::Unknown("\u{e9}t\u{e9}".to_owned())
        );
    }
}
