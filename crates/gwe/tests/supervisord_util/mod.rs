//! Runs the real `gwe supervisord -n` binary in a temp dir for the
//! `supervisord_*` tests, and the real python `supervisorctl` against it.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Default poll timeout.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `f` every 20 ms until Some, panicking after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes an executable shell script.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// The config header: socket, logs, pidfile and supervisorctl all in `dir`.
pub fn header(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "[unix_http_server]\nfile = {d}/supervisor.sock\n\n\
         [supervisord]\nlogfile = {d}/supervisord.log\npidfile = {d}/supervisord.pid\n\
         childlogdir = {d}\nloglevel = debug\n\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl = unix://{d}/supervisor.sock\n\n"
    )
}

/// A `gwe supervisord` child process.
pub struct Sv {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub child: Option<Child>,
}

impl Sv {
    /// Writes header + `programs` (`{dir}` replaced) after `prepare`, starts `gwe supervisord -n`.
    pub fn start(programs: &str, prepare: impl FnOnce(&Path)) -> Sv {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        let conf = dir.path().join("supervisord.conf");
        Sv::write_conf(&conf, dir.path(), programs);
        let mut sv = Sv {
            dir,
            conf,
            child: None,
        };
        sv.spawn();
        sv
    }

    pub fn write_conf(conf: &Path, dir: &Path, programs: &str) {
        let body = format!(
            "{}{}",
            header(dir),
            programs.replace("{dir}", &dir.display().to_string())
        );
        std::fs::write(conf, body).unwrap();
    }

    /// Starts (again) the daemon in the foreground and waits for its socket.
    pub fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_gwe"))
            .args(["supervisord", "-n", "-c"])
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let sock = self.path("supervisor.sock");
        wait_for("the socket", TIMEOUT, || {
            let c = self.child.as_mut()?;
            if let Ok(Some(st)) = c.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("gwe supervisord exited at start ({st}): {err}");
            }
            std::os::unix::net::UnixStream::connect(&sock).ok()
        });
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Runs the real supervisorctl with `args`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        // its own file, so that a broken supervisord.conf does not break supervisorctl
        let ctl_conf = self.path("ctl.conf");
        if !ctl_conf.exists() {
            let sock = self.path("supervisor.sock");
            std::fs::write(
                &ctl_conf,
                format!("[supervisorctl]\nserverurl = unix://{}\n", sock.display()),
            )
            .unwrap();
        }
        Command::new("supervisorctl")
            .arg("-c")
            .arg(&ctl_conf)
            .args(args)
            .output()
            .expect("supervisorctl is installed (pip install supervisor)")
    }

    /// supervisorctl stdout, asserting its exit code.
    pub fn ctl_ok(&self, args: &[&str], code: i32) -> String {
        let o = self.ctl(args);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(
            o.status.code(),
            Some(code),
            "supervisorctl {args:?}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    /// `status` line of one process.
    pub fn status_of(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.ctl(&["status", name]).stdout).into_owned()
    }

    pub fn wait_status(&self, name: &str, state: &str) {
        let end = Instant::now() + TIMEOUT;
        loop {
            let st = self.status_of(name);
            if st.split_whitespace().nth(1) == Some(state) {
                return;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {name} {state}: {st}\n{}",
                self.mainlog()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn mainlog(&self) -> String {
        std::fs::read_to_string(self.path("supervisord.log")).unwrap_or_default()
    }

    pub fn wait_log(&self, needle: &str) {
        wait_for(&format!("log {needle:?}"), TIMEOUT, || {
            self.mainlog().contains(needle).then_some(())
        });
    }

    /// Sends `sig` (e.g. "TERM") to the daemon.
    pub fn kill(&self, sig: &str) {
        send_signal(self.pid(), sig);
    }

    /// Waits for the daemon to exit (killing it after the timeout).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > end {
                let _ = c.kill();
                panic!("supervisord did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sv {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            send_signal(c.id() as i32, "TERM");
            let end = Instant::now() + Duration::from_secs(15);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Pids of running processes whose command line contains `needle`.
pub fn pids_with(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rfind(')')
            .is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z'));
        if cmd.contains(needle) && !zombie {
            out.push(pid);
        }
    }
    out
}

/// `kill -s SIG pid` (the gwe crate has no libc dependency).
pub fn send_signal(pid: i32, sig: &str) {
    let _ = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status();
}
