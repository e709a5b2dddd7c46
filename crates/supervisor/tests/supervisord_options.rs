//! syslog (`*_syslog`, `*_logfile=syslog`, `[supervisord] logfile=syslog`),
//! `strip_ansi` and `[supervisord] user`, against the daemon binary: syslog
//! messages are received on a datagram socket in the temp dir
//! (`GWE_SYSLOG_SOCKET`), and a uid switch must not happen to the test binary.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Instant;

use common::{header_with, lines, s, script, wait_for, ExtDaemon, TIMEOUT};
use gwe_supervisor_client::Value;

/// The standard header with `{dir}` placeholders, plus `extra` in [supervisord].
fn conf(extra: &str, programs: &str) -> String {
    format!("{}{programs}", header_with(Path::new("{dir}"), extra))
}

fn receiver(path: &Path) -> UnixDatagram {
    let rx = UnixDatagram::bind(path).unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    rx
}

/// The text after glibc's framing `<14>Mmm dd hh:mm:ss supervisord: `,
/// checking the framing.
fn body(m: &[u8]) -> String {
    let m = String::from_utf8_lossy(m);
    assert!(m.len() >= 33, "{m:?}");
    assert_eq!(&m[..4], "<14>", "user.info: {m:?}");
    let stamp = m[4..19].as_bytes();
    assert!(
        stamp[0].is_ascii_uppercase()
            && stamp[3] == b' '
            && (stamp[4] == b' ' || stamp[4].is_ascii_digit())
            && stamp[5].is_ascii_digit()
            && stamp[9] == b':'
            && stamp[12] == b':',
        "timestamp: {m:?}"
    );
    assert_eq!(&m[19..33], " supervisord: ", "{m:?}");
    m[33..].to_owned()
}

/// Receives until `done` holds for what came so far.
fn receive_until(rx: &UnixDatagram, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let end = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !done(&got) {
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {got:?}"
        );
        if let Ok(n) = rx.recv(&mut buf) {
            got.push(body(&buf[..n]));
        }
    }
    got
}

/// A shell line that waits (polling) until `file` exists.
fn wait_file(dir: &Path, file: &str) -> String {
    format!(
        "while [ ! -e {}/{file} ]; do sleep 0.02; done",
        dir.display()
    )
}

fn touch(p: impl AsRef<Path>) {
    std::fs::write(p, b"").unwrap();
}

#[test]
fn child_lines_go_to_syslog_as_supervisord_sends_them() {
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "",
            "[program:out]\ncommand = {dir}/out.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/out.log\nstdout_syslog = true\n\
             stderr_logfile = NONE\nstderr_syslog = true\n",
        ),
        |dir| {
            script(
                dir,
                "out.sh",
                &format!(
                    "printf 'one\\ntw'\n{}\nprintf 'o\\n\\nthree\\n'\necho 'to stderr' >&2\n\
                     head -c 20000 /dev/zero | tr '\\0' x\necho\nprintf 'no newline at exit'",
                    wait_file(dir, "go")
                ),
            );
        },
    );
    let rx = receiver(&dir.path().join("log"));
    cmd.env("GWE_SYSLOG_SOCKET", dir.path().join("log"));
    let d = ExtDaemon::start(dir, cmd);
    // the daemon has read "one\ntw": the complete line went out, "tw" waits
    wait_for("the first read", TIMEOUT, || {
        (std::fs::read(d.path("out.log")).ok()? == b"one\ntw").then_some(())
    });
    let first = receive_until(&rx, "the first line", |g| !g.is_empty());
    assert_eq!(first, ["out one"]);
    touch(d.path("go"));
    d.wait_state("out", "EXITED");
    let got = receive_until(&rx, "all lines", |g| g.len() >= 8);
    let x = |n: usize| format!("out {}", "x".repeat(n));
    let (stderr, stdout): (Vec<_>, Vec<_>) = got.iter().partition(|m| *m == "out to stderr");
    assert_eq!(stderr.len(), 1, "{got:?}");
    assert_eq!(
        stdout,
        [
            "out two".to_owned(),
            "out ".to_owned(),
            "out three".to_owned(),
            x(8192),
            x(8192),
            x(20000 - 2 * 8192),
            "out no newline at exit".to_owned(),
        ]
        .iter()
        .collect::<Vec<_>>()
    );
    // the file got every byte, unchanged
    let mut want = b"one\ntwo\n\nthree\n".to_vec();
    want.extend(std::iter::repeat_n(b'x', 20000));
    want.extend(b"\nno newline at exit");
    assert_eq!(std::fs::read(d.path("out.log")).unwrap(), want);
}

#[test]
fn logfile_syslog_for_a_program_and_for_the_main_log() {
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "",
            "[program:dep]\ncommand = {dir}/dep.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = syslog\nredirect_stderr = true\n",
        )
        .replace("logfile = {dir}/supervisord.log", "logfile = syslog"),
        |dir| {
            script(dir, "dep.sh", "echo hi\necho err >&2");
        },
    );
    let rx = receiver(&dir.path().join("log"));
    cmd.env("GWE_SYSLOG_SOCKET", dir.path().join("log"));
    let d = ExtDaemon::start(dir, cmd);
    d.wait_state("dep", "EXITED");
    let pid = d.child.id();
    let started = format!(" INFO supervisord started with pid {pid}\n");
    let got = receive_until(&rx, "main log and program lines", |g| {
        g.iter().any(|m| m == "dep hi")
            && g.iter().any(|m| m == "dep err")
            && g.iter()
                .any(|m| m.ends_with(" INFO exited: dep (exit status 0; expected)\n"))
    });
    let main: Vec<_> = got.iter().filter(|m| !m.starts_with("dep ")).collect();
    // supervisord's main log format, one message per line, newline included
    let line = main.iter().find(|m| m.ends_with(&started)).unwrap();
    let b = line.as_bytes();
    assert!(
        line.len() == 23 + started.len() && b[4] == b'-' && b[10] == b' ' && b[19] == b',',
        "{line:?}"
    );
    assert!(
        main.iter()
            .any(|m| m.contains(" INFO spawned: 'dep' with pid ")),
        "{main:?}"
    );
    // no main log file, no program log file
    assert!(!d.path("supervisord.log").exists());
    let info = d.ok("supervisor.getProcessInfo", &[s("dep")]);
    assert_eq!(info.get("stdout_logfile").and_then(Value::as_str), Some(""));
}

#[test]
fn without_a_syslog_socket_messages_are_dropped_counted_and_logged_once() {
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "",
            "[program:loud]\ncommand = {dir}/loud.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/loud.log\nstdout_syslog = true\n\n\
             [program:quiet]\ncommand = {dir}/quiet.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/quiet.log\n",
        ),
        |dir| {
            script(
                dir,
                "loud.sh",
                &format!(
                    "for i in 1 2 3 4 5; do echo l$i; done\n{}\necho after",
                    wait_file(dir, "go")
                ),
            );
            script(dir, "quiet.sh", "echo fine");
        },
    );
    let sock = dir.path().join("log");
    cmd.env("GWE_SYSLOG_SOCKET", &sock);
    let d = ExtDaemon::start(dir, cmd);
    wait_for("loud's file", TIMEOUT, || {
        (lines(&d.path("loud.log")).len() == 5).then_some(())
    });
    wait_for("quiet's file", TIMEOUT, || {
        (lines(&d.path("quiet.log")) == ["fine"]).then_some(())
    });
    let failed = format!(
        "ERRO cannot send to syslog at {}, dropping syslog messages: ",
        sock.display()
    );
    d.wait_log(&failed);
    assert_eq!(d.mainlog().matches(&failed).count(), 1, "{}", d.mainlog());
    assert_eq!(d.daemon_statename(), "RUNNING");
    assert_eq!(d.statename("loud"), "RUNNING");
    // syslogd comes up: the next line goes out and the drops are reported
    let rx = receiver(&sock);
    touch(d.path("go"));
    let got = receive_until(&rx, "the line after", |g| !g.is_empty());
    assert_eq!(got, ["loud after"]);
    d.wait_log(&format!(
        "WARN syslog at {} reachable again after dropping 5 messages",
        sock.display()
    ));
    assert_eq!(d.mainlog().matches(&failed).count(), 1, "{}", d.mainlog());
    assert_eq!(lines(&d.path("loud.log")).len(), 6);
}

#[test]
fn strip_ansi_strips_escapes_split_across_writes() {
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "strip_ansi = true\n",
            "[program:color]\ncommand = {dir}/color.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/color.log\nstdout_syslog = true\n\n\
             [program:plain]\ncommand = {dir}/plain.sh\nstartsecs = 0\nautorestart = false\n\
             stderr_logfile = {dir}/plain.err\n",
        ),
        |dir| {
            script(
                dir,
                "color.sh",
                &format!(
                    "printf 'a\\033[3'\n{}\nprintf '1mred\\033[0m b\\033'\n{}\nprintf '[1mbold\\033[0m\\n'",
                    wait_file(dir, "go1"),
                    wait_file(dir, "go2")
                ),
            );
            script(
                dir,
                "plain.sh",
                "printf '\\033[32mgreen\\033[0m \\033[2J\\033[1;1Hcleared\\n' >&2",
            );
        },
    );
    let rx = receiver(&dir.path().join("log"));
    cmd.env("GWE_SYSLOG_SOCKET", dir.path().join("log"));
    let d = ExtDaemon::start(dir, cmd);
    let file = |want: &'static [u8]| {
        wait_for(&format!("color.log = {want:?}"), TIMEOUT, || {
            (std::fs::read(d.path("color.log")).ok()? == want).then_some(())
        })
    };
    // the escape was cut after "ESC [3": nothing of it is written
    file(b"a");
    touch(d.path("go1"));
    // cut right after ESC: it is held back until the next byte decides
    file(b"ared b");
    touch(d.path("go2"));
    file(b"ared bbold\n");
    let got = receive_until(&rx, "the stripped line", |g| !g.is_empty());
    assert_eq!(got, ["color ared bbold"]);
    wait_for("plain.err", TIMEOUT, || {
        (std::fs::read(d.path("plain.err")).ok()? == b"green cleared\n").then_some(())
    });
}

fn uid_line(pid: u32, key: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

#[test]
fn user_option_same_user_is_fine() {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid).unwrap().unwrap().name;
    let (dir, cmd) = ExtDaemon::command(
        &conf(
            &format!("user = {name}\n"),
            "[program:who]\ncommand = {dir}/who.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/who.log\n",
        ),
        |dir| {
            script(dir, "who.sh", "id -u");
        },
    );
    let d = ExtDaemon::start(dir, cmd);
    d.wait_log(&format!("INFO Set uid to user {uid} succeeded"));
    assert!(!d.mainlog().contains("Supervisor is running as root"));
    wait_for("who.log", TIMEOUT, || {
        (lines(&d.path("who.log")) == [uid.to_string()]).then_some(())
    });
    assert_eq!(uid_line(d.child.id(), "Uid:")[0], uid.as_raw());
}

#[test]
fn user_option_as_non_root_for_another_user_refuses_to_start() {
    use std::os::unix::process::CommandExt;
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "user = root\n",
            "[program:x]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n",
        ),
        |_| {},
    );
    if nix::unistd::getuid().is_root() {
        // become a non-root user for this start
        cmd.uid(65534).gid(65534);
    }
    let status = cmd.status().unwrap();
    let out = std::fs::read_to_string(dir.path().join("daemon.out")).unwrap();
    assert_eq!(status.code(), Some(2), "{out}");
    // supervisord's usage(): the error, then where help is
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0], "Error: Can't drop privilege as nonroot user");
    assert!(
        lines[1].starts_with("For help, use ") && lines[1].ends_with(" -h"),
        "{out}"
    );
    // refused before anything was opened
    assert!(!dir.path().join("supervisord.log").exists());
    assert!(!dir.path().join("supervisor.sock").exists());
    assert!(!dir.path().join("supervisord.pid").exists());
}

#[test]
fn user_option_as_root_drops_to_nobody_before_opening_anything() {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: needs root to switch users");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let (uid, gid) = (nobody.uid.as_raw(), nobody.gid.as_raw());
    let (dir, cmd) = ExtDaemon::command(
        &conf(
            "user = nobody\n",
            "[program:who]\ncommand = {dir}/who.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/who.log\n",
        ),
        |dir| {
            script(dir, "who.sh", "id -un; id -u");
        },
    );
    let d = ExtDaemon::start(dir, cmd);
    d.wait_log(&format!("INFO Set uid to user {uid} succeeded"));
    assert!(!d.mainlog().contains("Supervisor is running as root"));
    let pid = d.child.id();
    assert_eq!(uid_line(pid, "Uid:"), [uid; 4]);
    assert_eq!(uid_line(pid, "Gid:"), [gid; 4]);
    assert!(uid_line(pid, "Groups:").contains(&gid));
    // logs and the socket were created as nobody (the pidfile is written last,
    // just before this line is logged)
    d.wait_log("supervisord started with pid");
    for f in ["supervisord.log", "supervisor.sock", "supervisord.pid"] {
        assert_eq!(std::fs::metadata(d.path(f)).unwrap().uid(), uid, "{f}");
    }
    wait_for("who.log", TIMEOUT, || {
        (lines(&d.path("who.log")) == ["nobody".to_owned(), uid.to_string()]).then_some(())
    });
}

#[test]
fn as_root_without_user_supervisord_warns_once() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: the warning is for root only");
        return;
    }
    let (dir, cmd) = ExtDaemon::command(&conf("", ""), |_| {});
    let d = ExtDaemon::start(dir, cmd);
    d.wait_log("supervisord started with pid");
    let log = d.mainlog();
    assert_eq!(
        log.matches("CRIT Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message.").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_full_syslog_queue_never_blocks_and_every_line_is_sent_or_counted() {
    const N: usize = 5000;
    let (dir, mut cmd) = ExtDaemon::command(
        &conf(
            "",
            "[program:flood]\ncommand = {dir}/flood.sh\nstartsecs = 0\nautorestart = false\n\
             stdout_logfile = {dir}/flood.log\nstdout_syslog = true\n",
        ),
        |dir| {
            script(
                dir,
                "flood.sh",
                &format!("seq 1 {N}\n{}\necho after", wait_file(dir, "go")),
            );
        },
    );
    let sock = dir.path().join("log");
    // bound but not read: its queue fills up
    let rx = receiver(&sock);
    cmd.env("GWE_SYSLOG_SOCKET", &sock);
    let d = ExtDaemon::start(dir, cmd);
    // the child was never held up: the file has every line
    wait_for("flood.log", TIMEOUT, || {
        (lines(&d.path("flood.log")).len() == N).then_some(())
    });
    d.wait_log(&format!(
        "cannot send to syslog at {}, dropping syslog messages: ",
        sock.display()
    ));
    let mut queued = receive_until(&rx, "the queued lines", |g| !g.is_empty());
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = rx.recv(&mut buf) {
        queued.push(body(&buf[..n]));
    }
    assert!(queued.len() < N, "the queue never filled: {}", queued.len());
    // in order, from the first line, with a gap where they were dropped
    assert_eq!(queued[0], "flood 1");
    touch(d.path("go"));
    let after = receive_until(&rx, "the line after", |g| !g.is_empty());
    assert_eq!(after, ["flood after"]);
    let dropped = N - queued.len();
    d.wait_log(&format!(
        "syslog at {} reachable again after dropping {dropped} messages",
        sock.display()
    ));
}
