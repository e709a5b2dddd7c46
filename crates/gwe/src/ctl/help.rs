//! `gwe ctl --help` and the per-command help texts (supervisorctl's `help_*`,
//! printed after argument errors exactly as supervisorctl prints them).

use super::Ctl;

/// `gwe ctl -h`.
pub(crate) const USAGE: &str = "\
gwe ctl -- control the processes of a supervisor daemon (supervisorctl-compatible).

Usage: gwe ctl [options] [COMMAND [ARGS...]]

Without a COMMAND, an interactive shell starts (as supervisorctl's): it shows
the status, then reads commands line by line from the terminal or a pipe
(prompt `supervisor> `, or `[supervisorctl] prompt`); `exit`, `quit`, ^D or
Ctrl-C leave it, and its exit status is always 0.

Talks XML-RPC to `gwe supervisord` or Python supervisord 3.x/4.x. Output text and
exit codes are those of supervisorctl 4.3, so scripts written for it keep working.

Options:
  -c/--configuration FILE  config file; its [supervisorctl] section gives serverurl,
                           username, password (default search: ./supervisord.conf,
                           ./etc/supervisord.conf, /etc/supervisord.conf,
                           /etc/supervisor/supervisord.conf). Without a serverurl there,
                           the [unix_http_server] file of the same config is used.
  -s/--serverurl URL       unix:///path/to/supervisor.sock or http://host:port
                           (default http://localhost:9001)
  -u/--username USER       user for HTTP basic auth
  -p/--password PASS       password for HTTP basic auth
  -j/--json                machine-readable JSON on stdout (status, pid, avail, version,
                           reread, update, start, stop, restart, signal, clear, tail,
                           maintail); human messages then go to stderr
  -i/--interactive         accepted; the shell starts when no COMMAND is given
  -h/--help                this text

Commands (NAME is a process name, group:name, or group:* for a whole group):
  status [NAME...|all]      state of processes (exit 3 if any is stopped, 4 on a bad name)
  start NAME...|all         start processes, waiting until they are RUNNING
  stop NAME...|all          stop processes
  restart NAME...|all       stop, then start (does not reread the config)
  signal SIG NAME...|all    send a signal (HUP, USR1, 15, ...) to processes
  tail [-f|-BYTES] NAME [stdout|stderr]
                            last 1600 (or BYTES) bytes of a process log; -f follows it
  maintail [-f|-BYTES]      the same for the daemon's own log
  clear NAME...|all         empty process log files
  pid [all|NAME...]         PID of the daemon, of every process, or of the named ones
  reread                    reload the config files and report changes, apply nothing
  update [all|GROUP...]     reread, then stop/remove/add groups to match the config
  add GROUP... / remove GROUP...
                            activate / deactivate single groups after reread
  avail                     all configured processes, in use or not
  reload                    restart the daemon (rereads its config)
  shutdown                  stop all processes and the daemon
  version                   the daemon's supervisor version
  fg NAME                   attach to a process: its output here, typed lines to its stdin
  open URL                  (shell) switch to another daemon and show its status
  exit / quit               leave the shell
  help [COMMAND]            help on one command

Exit codes: 0 ok, 1 error, 2 bad arguments, 3 not running (status) / unimplemented,
4 bad name (status) / connection refused, 5 API version mismatch, 7 not running / no socket.
";

/// The commands `help` lists, sorted as supervisorctl lists its plugin's
/// `do_*` methods (`help` and `EOF` are the shell's own and not listed).
const COMMANDS: [&str; 21] = [
    "add", "avail", "clear", "exit", "fg", "maintail", "open", "pid", "quit", "reload", "remove",
    "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail", "update",
    "version",
];

/// `help` / `help COMMAND`.
pub(crate) fn run(ctl: &mut Ctl, args: &[String]) {
    // supervisorctl looks up `help_<whole argument>`.
    let topic = args.join(" ");
    match (!topic.is_empty()).then_some(topic.as_str()) {
        None => {
            ctl.line("");
            ctl.line("default commands (type help <topic>):");
            ctl.line("=====================================");
            // cmd.Cmd's columnize: 3 rows, column-major, each column padded
            // to its widest entry, two spaces between columns.
            let rows = 3;
            let cols = COMMANDS.len().div_ceil(rows);
            let widths: Vec<usize> = (0..cols)
                .map(|c| {
                    COMMANDS[c * rows..(c * rows + rows).min(COMMANDS.len())]
                        .iter()
                        .map(|s| s.len())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in 0..rows {
                let cells: Vec<String> = (0..cols)
                    .filter_map(|c| {
                        COMMANDS
                            .get(c * rows + r)
                            .map(|s| format!("{s:<w$}", w = widths[c]))
                    })
                    .collect();
                ctl.line(cells.join("  "));
            }
            ctl.line("");
        }
        Some("help") => {
            ctl.line("help\t\tPrint a list of available actions");
            ctl.line("help <action>\tPrint help for <action>");
        }
        Some("status") => status(ctl),
        Some("start") => start(ctl),
        Some("stop") => stop(ctl),
        Some("restart") => restart(ctl),
        Some("signal") => signal(ctl),
        Some("tail") => tail(ctl),
        Some("maintail") => maintail(ctl),
        Some("clear") => clear(ctl),
        Some("pid") => {
            ctl.line("pid\t\t\tGet the PID of supervisord.");
            ctl.line("pid <name>\t\tGet the PID of a single child process by name.");
            ctl.line("pid all\t\t\tGet the PID of every child process, one per line.");
        }
        Some("reread") => reread(ctl),
        Some("update") => {
            ctl.line("update\t\t\tReload config and add/remove as necessary, and will restart affected programs");
            ctl.line("update all\t\tReload config and add/remove as necessary, and will restart affected programs");
            ctl.line("update <gname> [...]\tUpdate specific groups");
        }
        Some("add") => {
            ctl.line("add <name> [...]\tActivates any updates in config for process/group")
        }
        Some("remove") => ctl.line("remove <name> [...]\tRemoves process/group from active config"),
        Some("avail") => avail(ctl),
        Some("reload") => reload(ctl),
        Some("shutdown") => shutdown(ctl),
        Some("version") => version(ctl),
        Some("fg") => fg(ctl),
        Some("exit") => ctl.line("exit\tExit the supervisor shell."),
        Some("quit") => ctl.line("quit\tExit the supervisor shell."),
        Some("EOF") => ctl.line("To quit, type ^D or use the quit command"),
        Some("open") => {
            ctl.line("open <url>\tConnect to a remote supervisord process.");
            ctl.line("\t\t(for UNIX domain socket, use unix:///socket/path)");
        }
        Some(other) => ctl.line(format!("*** No help on {other}")),
    }
}

pub(crate) fn status(ctl: &mut Ctl) {
    ctl.line("status <name>\t\tGet status for a single process");
    ctl.line("status <gname>:*\tGet status for all processes in a group");
    ctl.line("status <name> <name>\tGet status for multiple named processes");
    ctl.line("status\t\t\tGet all process status info");
}

pub(crate) fn start(ctl: &mut Ctl) {
    ctl.line("start <name>\t\tStart a process");
    ctl.line("start <gname>:*\t\tStart all processes in a group");
    ctl.line("start <name> <name>\tStart multiple processes or groups");
    ctl.line("start all\t\tStart all processes");
}

pub(crate) fn stop(ctl: &mut Ctl) {
    ctl.line("stop <name>\t\tStop a process");
    ctl.line("stop <gname>:*\t\tStop all processes in a group");
    ctl.line("stop <name> <name>\tStop multiple processes or groups");
    ctl.line("stop all\t\tStop all processes");
}

pub(crate) fn restart(ctl: &mut Ctl) {
    ctl.line("restart <name>\t\tRestart a process");
    ctl.line("restart <gname>:*\tRestart all processes in a group");
    ctl.line("restart <name> <name>\tRestart multiple processes or groups");
    ctl.line("restart all\t\tRestart all processes");
    ctl.line("Note: restart does not reread config files. For that, see reread and update.");
}

pub(crate) fn signal(ctl: &mut Ctl) {
    ctl.line("signal <signal name> <name>\t\tSignal a process");
    ctl.line("signal <signal name> <gname>:*\t\tSignal all processes in a group");
    ctl.line("signal <signal name> <name> <name>\tSignal multiple processes or groups");
    ctl.line("signal <signal name> all\t\tSignal all processes");
}

pub(crate) fn tail(ctl: &mut Ctl) {
    ctl.line(
        "tail [-f] <name> [stdout|stderr] (default stdout)\n\
Ex:\n\
tail -f <name>\t\tContinuous tail of named process stdout\n\
\t\t\tCtrl-C to exit.\n\
tail -100 <name>\tlast 100 *bytes* of process stdout\n\
tail <name> stderr\tlast 1600 *bytes* of process stderr",
    );
}

pub(crate) fn maintail(ctl: &mut Ctl) {
    ctl.line(
        "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\n\
maintail -100\tlast 100 *bytes* of supervisord main log file\n\
maintail\tlast 1600 *bytes* of supervisor main log file\n",
    );
}

pub(crate) fn clear(ctl: &mut Ctl) {
    ctl.line("clear <name>\t\tClear a process' log files.");
    ctl.line("clear <name> <name>\tClear multiple process' log files");
    ctl.line("clear all\t\tClear all process' log files");
}

pub(crate) fn reread(ctl: &mut Ctl) {
    ctl.line("reread \t\t\tReload the daemon's configuration files without add/remove");
}

pub(crate) fn avail(ctl: &mut Ctl) {
    ctl.line("avail\t\t\tDisplay all configured processes");
}

pub(crate) fn reload(ctl: &mut Ctl) {
    ctl.line("reload \t\tRestart the remote supervisord.");
}

pub(crate) fn shutdown(ctl: &mut Ctl) {
    ctl.line("shutdown \tShut the remote supervisord down.");
}

pub(crate) fn version(ctl: &mut Ctl) {
    ctl.line("version\t\t\tShow the version of the remote supervisord process");
}

pub(crate) fn fg(ctl: &mut Ctl) {
    ctl.line("fg <process>\tConnect to a process in foreground mode");
    ctl.line("\t\tCtrl-C to exit");
}
