//! Shared helpers of the `gwe ctl` integration tests: start "the daemon
//! under test" in a temp dir, run `gwe ctl` and the reference `supervisorctl`
//! against it, and mask what legitimately differs (pids, uptimes).
#![allow(dead_code)] // Each test file uses a different subset.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gwe_supervisor_client::{Client, ProcessState};

/// Which daemon the tests drive. Python supervisord is the reference; set
/// `GWE_TEST_DAEMON=gwe` to run the same tests against `gwe supervisord`.
pub fn daemon_command(conf: &Path) -> Command {
    if std::env::var("GWE_TEST_DAEMON").as_deref() == Ok("gwe") {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gwe"));
        c.arg("supervisord").arg("-n").arg("-c").arg(conf);
        c
    } else {
        let mut c = Command::new("supervisord");
        c.arg("-n").arg("-c").arg(conf);
        c
    }
}

/// A running daemon in its own temp dir; shut down (and its children with
/// it) when dropped.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub url: String,
    child: Option<Child>,
}

/// The `[supervisord]`, socket and `[supervisorctl]` sections; `programs` is appended.
pub fn config_text(dir: &Path, programs: &str) -> String {
    let d = dir.display();
    format!(
        "[unix_http_server]\nfile={d}/s.sock\n\n\
[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\nnodaemon=true\nloglevel=info\n\n\
[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
[supervisorctl]\nserverurl=unix://{d}/s.sock\n\n{programs}"
    )
}

/// The programs most tests use: a running one with output on both
/// channels that echoes its stdin, a manual one, and a two-process group.
pub const PROGRAMS: &str = "\
[program:cat]
command=sh -c 'echo hello-out; echo hello-err >&2; exec cat'
startsecs=0

[program:manual]
command=sleep 1000
autostart=false
startsecs=0

[program:failing]
command=sh -c 'exit 3'
autostart=false
startsecs=1
startretries=0

[group:grp]
programs=g1,g2

[program:g1]
command=sleep 1000
startsecs=0

[program:g2]
command=sleep 1000
startsecs=0
";

impl Daemon {
    /// Starts the daemon with `programs` and waits until every autostart
    /// process is RUNNING.
    pub fn start(programs: &str) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("gwe-ctl")
            .tempdir()
            .expect("tempdir");
        let conf = dir.path().join("supervisord.conf");
        std::fs::write(&conf, config_text(dir.path(), programs)).expect("write config");
        Daemon::start_with(dir, conf)
    }

    /// The daemon with `programs`, reached over TCP (`inet_http_server` on a free port of
    /// 127.0.0.1) with basic auth `user` / `s3cret`; `[supervisorctl] serverurl` points there.
    pub fn start_http_auth(programs: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        // Reserve a free port, then let the daemon bind it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = config_text(dir.path(), programs).replace(
            &format!(
                "[supervisorctl]\nserverurl=unix://{}/s.sock",
                dir.path().display()
            ),
            &format!("[supervisorctl]\nserverurl=http://127.0.0.1:{port}"),
        ) + &format!(
            "\n[inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=s3cret\n"
        );
        let conf = dir.path().join("supervisord.conf");
        std::fs::write(&conf, text).unwrap();
        Daemon::start_with(dir, conf)
    }

    /// Starts the daemon on an existing config.
    pub fn start_with(dir: tempfile::TempDir, conf: PathBuf) -> Daemon {
        let url = format!("unix://{}/s.sock", dir.path().display());
        let child = daemon_command(&conf)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon under test (is supervisord installed?)");
        let d = Daemon {
            dir,
            conf,
            url,
            child: Some(child),
        };
        d.wait_ready();
        d
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url).expect("client")
    }

    /// Polls until the daemon answers and no autostart process is STARTING.
    pub fn wait_ready(&self) {
        let mut last = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.client().get_all_process_info() {
                Ok(infos)
                    if infos
                        .iter()
                        .all(|i| i.process_state() != Some(ProcessState::Starting)) =>
                {
                    return
                }
                Ok(infos) => last = format!("{infos:?}"),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log =
            std::fs::read_to_string(self.dir.path().join("supervisord.log")).unwrap_or_default();
        let tail = &log[log.len().saturating_sub(3000)..];
        panic!("daemon not ready after 20 s; last: {last}\nsupervisord.log ends:\n{tail}");
    }

    /// True once the daemon process has exited.
    pub fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => true,
        }
    }

    /// `gwe ctl -c <conf> args...`.
    pub fn gwe(&self, args: &str) -> Run {
        run(
            Command::new(env!("CARGO_BIN_EXE_gwe"))
                .arg("ctl")
                .arg("-c")
                .arg(&self.conf),
            args,
        )
    }

    /// `supervisorctl -c <conf> args...` (the reference).
    pub fn reference(&self, args: &str) -> Run {
        run(
            Command::new("supervisorctl").arg("-c").arg(&self.conf),
            args,
        )
    }

    fn setup(&self, cmds: &[&str]) {
        for c in cmds {
            self.reference(c);
        }
        if !cmds.is_empty() {
            self.wait_ready();
        }
    }

    /// Runs `setup` with supervisorctl, then `cmd` with supervisorctl; runs
    /// `setup` again, then `cmd` with gwe ctl; asserts equal (masked) output
    /// and exit codes. `sort` compares lines as sets (group results come
    /// back in completion order).
    pub fn compare(&self, setup: &[&str], cmd: &str, sort: bool) -> Run {
        self.setup(setup);
        let want = self.reference(cmd);
        self.setup(setup);
        let got = self.gwe(cmd);
        let (mut w, mut g) = (mask(&want.stdout), mask(&got.stdout));
        if sort {
            w = sorted_lines(&w);
            g = sorted_lines(&g);
        }
        assert_eq!(g, w, "stdout of `{cmd}` differs from supervisorctl's");
        assert_eq!(
            got.code, want.code,
            "exit code of `{cmd}` differs from supervisorctl's (output {g:?})"
        );
        got
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.client().shutdown();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Output of one command.
#[derive(Debug, Clone)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn run(cmd: &mut Command, args: &str) -> Run {
    cmd.args(args.split_whitespace()).stdin(Stdio::null());
    // The shared target dir may be relinking the binary right now
    // (ETXTBSY / ENOENT): retry for a while.
    let deadline = Instant::now() + Duration::from_secs(20);
    let out: Output = loop {
        match cmd.output() {
            Ok(o) => break o,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("running {cmd:?}: {e}"),
        }
    };
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Replaces pids, uptimes and Python's "file: ... line: N" traceback tail.
pub fn mask(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split_inclusive('\n') {
        let mut l = line.to_owned();
        if let Some(pos) = l.find(": file: ") {
            let nl = if l.ends_with('\n') { "\n" } else { "" };
            l.truncate(pos);
            l.push_str(nl);
        }
        out.push_str(&mask_numbers(&l));
    }
    out
}

/// `pid 123` -> `pid N`, `uptime 0:00:05` -> `uptime T`, a line that is
/// only digits -> `N`.
fn mask_numbers(l: &str) -> String {
    let trimmed = l.trim_end_matches('\n');
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return l.replace(trimmed, "N");
    }
    let mut s = l.to_owned();
    for (key, repl) in [("pid ", "pid N"), ("uptime ", "uptime T")] {
        let mut from = 0;
        while let Some(i) = s[from..].find(key) {
            let start = from + i;
            let vstart = start + key.len();
            let vend = s[vstart..]
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .map_or(s.len(), |e| vstart + e);
            if vend == vstart {
                from = vstart;
                continue;
            }
            s.replace_range(start..vend, repl);
            from = start + repl.len();
        }
    }
    s
}

pub fn sorted_lines(s: &str) -> String {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v.join("\n")
}

/// Polls `cond` every 20 ms for up to 20 s.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}
