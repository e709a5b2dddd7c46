//! `gwe ctl`'s interactive shell and Ctrl-C in `tail -f`, `maintail -f` and
//! `fg`, compared with the real supervisorctl against a real daemon.

mod ctl_support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ctl_support::{config_text, mask, wait_for, Daemon, Run, PROGRAMS};

fn gwe_ctl(conf: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gwe"));
    c.arg("ctl").arg("-c").arg(conf);
    c
}

fn supervisorctl(conf: &Path) -> Command {
    let mut c = Command::new("supervisorctl");
    c.arg("-c").arg(conf);
    c
}

/// Feeds `input` on stdin (then EOF) and collects the output.
fn piped(mut cmd: Command, input: &str) -> Run {
    let mut child = spawn(&mut cmd);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The shared target dir may be relinking the binary right now: retry.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match cmd.spawn() {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("spawning {cmd:?}: {e}"),
        }
    }
}

/// A running client whose stdout is collected as it comes.
struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Live {
    fn start(mut cmd: Command) -> Live {
        let mut child = spawn(&mut cmd);
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Live { child, stdin, out }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().expect("lock")).into_owned()
    }

    fn wait_text(&self, what: &str) {
        wait_for(&format!("{what:?} in the output"), || {
            self.text().contains(what)
        });
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    fn sigint(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: signals our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    }

    /// Waits (with a deadline) for the exit code and the whole stdout.
    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("client still running; output so far {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread gets EOF right after the exit.
        let out = Arc::clone(&self.out);
        drop(self.stdin.take());
        let code = status.code().unwrap_or(-1);
        let mut last = 0;
        wait_for("stdout to settle", || {
            let n = out.lock().expect("lock").len();
            let settled = n == last;
            last = n;
            settled
        });
        (code, self.text())
    }
}

#[test]
fn shell_session_matches_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    let input = "status\nstop cat\n\nstart cat\nhelp\nhelp stop\nhelp exit\nhelp nope\n\
                 bogus cmd\n?\nstatus nosuch\nstart\nexit\nstatus\n";
    let want = piped(supervisorctl(&d.conf), input);
    let got = piped(gwe_ctl(&d.conf), input);
    assert_eq!(mask(&got.stdout), mask(&want.stdout));
    assert_eq!((got.code, want.code), (0, 0));
    // What it should contain, independently of the reference.
    assert!(
        got.stdout.starts_with("cat "),
        "status first: {:?}",
        got.stdout
    );
    assert!(got.stdout.contains("supervisor> cat: stopped\n"));
    assert!(got
        .stdout
        .contains("supervisor> supervisor> cat: started\n"));
    assert!(got
        .stdout
        .contains("supervisor> *** Unknown syntax: bogus cmd\n"));
    assert!(
        got.stdout.ends_with("supervisor> \n"),
        "exit prints an empty line"
    );
    assert_eq!(
        got.stdout.matches("nosuch").count(),
        1,
        "nothing after exit runs"
    );
}

#[test]
fn shell_eof_and_configured_prompt() {
    let dir = tempfile::Builder::new()
        .prefix("gwe-ctl-shell")
        .tempdir()
        .expect("tempdir");
    let conf = dir.path().join("supervisord.conf");
    let text = config_text(dir.path(), PROGRAMS)
        .replace("[supervisorctl]\n", "[supervisorctl]\nprompt = gateway\n");
    std::fs::write(&conf, text).expect("write config");
    let d = Daemon::start_with(dir, conf);
    // No exit: EOF ends the shell; a failing command does not.
    let input = "stop nosuch\nversion\npid cat";
    let want = piped(supervisorctl(&d.conf), input);
    let got = piped(gwe_ctl(&d.conf), input);
    assert_eq!(mask(&got.stdout), mask(&want.stdout));
    assert_eq!((got.code, want.code), (0, 0));
    assert!(got
        .stdout
        .contains("gateway> nosuch: ERROR (no such process)\n"));
    assert!(got.stdout.ends_with("gateway> \n"), "{:?}", got.stdout);
}

/// Runs `args` until `marker` shows, sends SIGINT, returns exit code and output.
fn interrupt(cmd: Command, marker: &str) -> (i32, String) {
    let live = Live::start(cmd);
    live.wait_text(marker);
    live.sigint();
    live.finish()
}

#[test]
fn tail_f_and_maintail_f_end_on_ctrl_c_like_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    for (args, marker) in [
        (&["tail", "-f", "cat"][..], "hello-out\n"),
        (&["tail", "-f", "cat", "stderr"][..], "hello-err\n"),
        (&["maintail", "-f"][..], "entered RUNNING state"),
    ] {
        let mut g = gwe_ctl(&d.conf);
        g.args(args);
        let mut r = supervisorctl(&d.conf);
        r.args(args);
        let (gcode, gout) = interrupt(g, marker);
        let (rcode, rout) = interrupt(r, marker);
        assert_eq!((gcode, rcode), (0, 0), "{args:?}: {gout:?}");
        assert!(
            gout.starts_with("==> Press Ctrl-C to exit <==\n"),
            "{gout:?}"
        );
        assert!(
            gout.ends_with("\n\n"),
            "{args:?}: empty line after Ctrl-C: {gout:?}"
        );
        assert!(rout.ends_with("\n\n"), "{args:?}: reference: {rout:?}");
    }
}

/// `fg cat`, a typed line echoed back, then Ctrl-C.
fn fg_session(d: &Daemon, mut cmd: Command, reference: bool) -> (i32, String) {
    cmd.args(["fg", "cat"]);
    let mut live = Live::start(cmd);
    live.wait_text("==> Press Ctrl-C to exit <==\n");
    // Typed lines reach the process; `cat` echoes them back.
    live.send("ping-from-fg\n");
    live.wait_text("ping-from-fg\n");
    live.sigint();
    live.wait_text("Exiting foreground\n");
    if reference {
        // supervisorctl's output thread only notices it was killed on its
        // next event: make the process print something.
        d.client()
            .send_process_stdin("cat", "wake-up\n")
            .expect("sendProcessStdin");
    }
    live.finish()
}

#[test]
fn fg_ends_on_ctrl_c_like_supervisorctl() {
    let d = Daemon::start(PROGRAMS);
    let (code, out) = fg_session(&d, gwe_ctl(&d.conf), false);
    assert_eq!(code, 0, "{out:?}");
    assert!(out.ends_with("Exiting foreground\n"), "{out:?}");
    assert!(out.contains("\nping-from-fg\n"), "{out:?}");
    let (rcode, rout) = fg_session(&d, supervisorctl(&d.conf), true);
    assert_eq!(rcode, 0, "{rout:?}");
    assert!(rout.contains("Exiting foreground\n"), "{rout:?}");
    // The process is still running afterwards.
    let info = d.client().get_process_info("cat").expect("info");
    assert_eq!(info.statename, "RUNNING");
}

#[test]
fn ctrl_c_in_shell_tail_returns_to_prompt_and_at_prompt_leaves() {
    let d = Daemon::start(PROGRAMS);
    let mut live = Live::start(gwe_ctl(&d.conf));
    live.wait_text("supervisor> ");
    live.send("tail -f cat\n");
    live.wait_text("hello-out\n");
    live.sigint();
    // Back at the prompt after the empty line; the shell still works.
    live.wait_text("hello-out\n\nsupervisor> ");
    live.send("status cat\n");
    wait_for("status after the interrupted tail", || {
        live.text()
            .matches("cat                              RUNNING")
            .count()
            == 2
    });
    // Ctrl-C at the prompt leaves the shell with an empty line, exit 0.
    live.wait_text("RUNNING");
    wait_for("the next prompt", || live.text().ends_with("supervisor> "));
    live.sigint();
    let (code, out) = live.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(out.ends_with("supervisor> \n"), "{out:?}");
}

#[test]
fn one_shot_exit_and_empty_command() {
    let d = Daemon::start(PROGRAMS);
    for args in ["exit", "quit", "EOF"] {
        let got = d.gwe(args);
        let want = d.reference(args);
        assert_eq!((got.stdout.as_str(), got.code), ("\n", 0), "{args}");
        assert_eq!((want.stdout.as_str(), want.code), ("\n", 0), "{args}");
    }
    // `-i` with a command runs just the command (supervisorctl's main()).
    let got = d.gwe("-i version");
    let want = d.reference("-i version");
    assert_eq!((got.stdout.clone(), got.code), (want.stdout, want.code));
    assert!(!got.stdout.contains("supervisor>"));
}

#[test]
fn shell_survives_hostile_lines() {
    let d = Daemon::start(PROGRAMS);
    let long = "x".repeat(200_000);
    let input = format!("{long}\n\u{1}\u{7f}\n\u{e9}t\u{e9}\nstatus cat\n");
    let mut child = spawn(&mut gwe_ctl(&d.conf));
    let mut stdin = child.stdin.take().expect("stdin");
    let mut bytes = input.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe garbage\n");
    bytes.extend_from_slice(b"status cat\n");
    // Write from a thread: the shell answers while we write.
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("write stdin");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text:?}");
    assert_eq!(text.matches("*** Unknown syntax: ").count(), 4, "{text:?}");
    assert_eq!(
        text.matches("cat                              RUNNING")
            .count(),
        3
    );
    assert!(text.ends_with("supervisor> \n"));
}

#[test]
fn shell_asks_for_credentials_when_the_server_requires_them() {
    let d = Daemon::start_http_auth(PROGRAMS);
    // the first answer is wrong, so it asks again; then `status` runs
    let r = piped(gwe_ctl(&d.conf), "user\nwrong\nuser\ns3cret\n");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.matches("Server requires authentication").count(),
        2,
        "{r:?}"
    );
    assert_eq!(r.stdout.matches("Username:").count(), 2, "{r:?}");
    assert_eq!(r.stdout.matches("Password:").count(), 2, "{r:?}");
    assert!(
        !r.stdout.contains("s3cret"),
        "the password is not echoed: {r:?}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("cat ") && l.contains("RUNNING")),
        "{r:?}"
    );
    // input ending at the prompt leaves the shell without a loop
    let r = piped(gwe_ctl(&d.conf), "");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.matches("Server requires authentication").count(),
        1,
        "{r:?}"
    );
}
