//! In-process daemon for integration tests: writes a supervisord.conf into a
//! temp dir, runs `gwe_supervisor::run` on a thread, talks XML-RPC to it over
//! its unix socket, and shuts it down on drop.
//!
//! The daemon reaps with `waitpid(-1)`, which is process-wide, so tests in one
//! binary take [`serial`] to run one daemon at a time and never spawn other
//! children of their own while a daemon runs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gwe_supervisor_client::xmlrpc::{self, Value};
use gwe_supervisor_client::Fault;

static SERIAL: Mutex<()> = Mutex::new(());

/// One daemon at a time per test binary.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Default timeout for polls.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `f` every 20 ms until it returns Some, or panics after `timeout`.
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

/// A running in-process daemon.
pub struct Daemon {
    ctl: Control,
    pub conf: PathBuf,
    thread: Option<JoinHandle<Result<(), String>>>,
    _guard: MutexGuard<'static, ()>,
}

/// The `[unix_http_server]` + `[supervisord]` header for `dir`.
pub fn header(dir: &Path) -> String {
    header_with(dir, "")
}

/// [`header`] with `supervisord` (whole lines) added to its [supervisord] section.
pub fn header_with(dir: &Path, supervisord: &str) -> String {
    let d = dir.display();
    format!(
        "[unix_http_server]\nfile = {d}/supervisor.sock\n\n\
         [supervisord]\nlogfile = {d}/supervisord.log\npidfile = {d}/supervisord.pid\n\
         childlogdir = {d}\nnodaemon = true\nsilent = true\nloglevel = debug\n{supervisord}\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
    )
}

impl Daemon {
    /// Starts a daemon whose config is the standard header plus `programs`,
    /// where `{dir}` is replaced by the temp dir. `prepare` may write scripts first.
    pub fn start(programs: &str, prepare: impl FnOnce(&Path)) -> Daemon {
        let guard = serial();
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        let conf = dir.path().join("supervisord.conf");
        let body = format!(
            "{}{}",
            header(dir.path()),
            programs.replace("{dir}", &dir.path().display().to_string())
        );
        std::fs::write(&conf, body).unwrap();
        let sock = dir.path().join("supervisor.sock");
        let opts = gwe_supervisor::Options {
            config: conf.clone(),
            nodaemon: true,
            ..Default::default()
        };
        let thread =
            std::thread::spawn(move || gwe_supervisor::run(opts).map_err(|e| e.to_string()));
        let mut d = Daemon {
            ctl: Control { dir, sock },
            conf,
            thread: Some(thread),
            _guard: guard,
        };
        wait_for("the socket", TIMEOUT, || {
            if d.thread.as_ref().is_some_and(|t| t.is_finished()) {
                let r = d.thread.take().unwrap().join().unwrap();
                panic!("daemon exited at start: {r:?}");
            }
            UnixStream::connect(&d.sock).ok()
        });
        d
    }

    /// Stops the daemon through RPC and waits for the thread.
    pub fn shutdown(&mut self) -> Result<(), String> {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> Result<(), String> {
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        let _ = self.call("supervisor.shutdown", &[]);
        wait_for("the daemon to exit", Duration::from_secs(30), || {
            t.is_finished().then_some(())
        });
        t.join().unwrap()
    }
}

/// What the handles of both kinds of daemon share: the temp dir it runs in
/// and its control socket.
pub struct Control {
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
}

impl Control {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// One XML-RPC call on a new connection.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, Fault> {
        rpc_call(&self.sock, method, params)
    }

    /// A call that must succeed.
    pub fn ok(&self, method: &str, params: &[Value]) -> Value {
        self.call(method, params)
            .unwrap_or_else(|f| panic!("{method}: {f}"))
    }

    /// getProcessInfo(name) as a Value.
    pub fn info(&self, name: &str) -> Value {
        self.ok("supervisor.getProcessInfo", &[s(name)])
    }

    pub fn statename(&self, name: &str) -> String {
        self.info(name)
            .get("statename")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    }

    pub fn pid_of(&self, name: &str) -> i64 {
        self.info(name)
            .get("pid")
            .and_then(Value::as_int)
            .unwrap_or(0)
    }

    /// Waits until `name` is in `state`.
    pub fn wait_state(&self, name: &str, state: &str) {
        wait_for(&format!("{name} to be {state}"), TIMEOUT, || {
            (self.statename(name) == state).then_some(())
        });
    }

    /// The main log's text.
    pub fn mainlog(&self) -> String {
        std::fs::read_to_string(self.path("supervisord.log")).unwrap_or_default()
    }

    /// Waits until the main log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        wait_for(&format!("main log line {needle:?}"), TIMEOUT, || {
            self.mainlog().contains(needle).then_some(())
        });
    }

    /// The daemon's own state name (`getState`).
    pub fn daemon_statename(&self) -> String {
        self.ok("supervisor.getState", &[])
            .get("statename")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    }
}

impl std::ops::Deref for Daemon {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.ctl
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.thread.is_some() && UnixStream::connect(&self.sock).is_ok() {
            let _ = self.stop_thread();
        }
    }
}

pub fn s(x: &str) -> Value {
    Value::String(x.to_owned())
}

/// Sends raw bytes, returns everything the server sends until it closes.
pub fn http(sock: &Path, raw: &str) -> Vec<u8> {
    http_bytes(sock, raw.as_bytes())
}

pub fn http_bytes(sock: &Path, raw: &[u8]) -> Vec<u8> {
    let mut c = UnixStream::connect(sock).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    let _ = c.write_all(raw);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    out
}

/// (status code, body) of a Content-Length response.
pub fn split_response(resp: &[u8]) -> (u16, &[u8]) {
    let text = String::from_utf8_lossy(resp);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |i| i + 4);
    (status, &resp[at..])
}

/// Lines of a file (empty if missing).
pub fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether a pid is alive (and not a zombie).
pub fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rfind(')')
            .is_some_and(|i| !s[i + 1..].trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// One XML-RPC call to the daemon listening on `sock`.
pub fn rpc_call(sock: &Path, method: &str, params: &[Value]) -> Result<Value, Fault> {
    let body = xmlrpc::encode_call(method, params);
    let resp = http(sock, &format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let (status, body) = split_response(&resp);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    xmlrpc::parse_response(body).expect("valid XML-RPC response")
}

/// The daemon as its own process (the `gwe-supervisord` binary): for what
/// changes the whole process (its uid, its environment), which an in-process
/// daemon would do to the test binary. Its stdout/stderr go to `daemon.out`
/// in the temp dir.
pub struct ExtDaemon {
    ctl: Control,
    pub child: std::process::Child,
    /// One daemon at a time here too: an in-process daemon reaps every child
    /// of the test binary (it is a subreaper), this one's included.
    _guard: MutexGuard<'static, ()>,
}

impl ExtDaemon {
    /// A `gwe-supervisord -c CONF` command for `conf` (`{dir}` replaced by the
    /// temp dir, which is world-writable so that a dropped uid can use it).
    pub fn command(
        conf: &str,
        prepare: impl FnOnce(&Path),
    ) -> (tempfile::TempDir, std::process::Command) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        prepare(dir.path());
        let path = dir.path().join("supervisord.conf");
        std::fs::write(
            &path,
            conf.replace("{dir}", &dir.path().display().to_string()),
        )
        .unwrap();
        let out = std::fs::File::create(dir.path().join("daemon.out")).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gwe-supervisord"));
        cmd.arg("-c")
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        (dir, cmd)
    }

    /// Starts `cmd` and waits for its socket.
    pub fn start(dir: tempfile::TempDir, mut cmd: std::process::Command) -> ExtDaemon {
        let guard = serial();
        let sock = dir.path().join("supervisor.sock");
        let mut child = cmd.spawn().unwrap();
        wait_for("the socket", TIMEOUT, || {
            if let Ok(Some(st)) = child.try_wait() {
                let out = std::fs::read_to_string(dir.path().join("daemon.out"));
                panic!("daemon exited at start: {st}: {out:?}");
            }
            UnixStream::connect(&sock).ok()
        });
        ExtDaemon {
            ctl: Control { dir, sock },
            child,
            _guard: guard,
        }
    }
}

impl std::ops::Deref for ExtDaemon {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.ctl
    }
}

impl Drop for ExtDaemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) && UnixStream::connect(&self.sock).is_ok() {
            let _ = rpc_call(&self.sock, "supervisor.shutdown", &[]);
        }
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            // an error: already reaped (by whoever reaps this binary's children)
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
