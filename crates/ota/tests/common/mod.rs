//! Helpers of gwe-ota's integration tests: tarballs built entry by entry (hostile ones too), a
//! real python `supervisord` including the installer's include directory, an installer whose
//! every path is in a temp dir, and deadline polling.
#![allow(dead_code)]

pub mod hub;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gwe_ota::{Installer, OtaConfig};

/// Polls `check` every 20 ms until it holds or `secs` pass; panics with `what` on timeout.
pub fn wait_for(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One entry of a test tarball.
pub enum Entry {
    /// A regular file with a mode.
    File(&'static str, u32, Vec<u8>),
    /// A directory.
    Dir(&'static str),
    /// A symlink and its target.
    Symlink(&'static str, &'static str),
    /// A hard link and its target.
    Hardlink(&'static str, &'static str),
    /// A character device.
    CharDevice(&'static str),
    /// A fifo.
    Fifo(&'static str),
    /// A file whose path is written raw into the header (absolute, `..`).
    RawPath(&'static [u8], Vec<u8>),
}

/// Writes `<dir>/<file_name>` as a gzip tarball of `entries`.
pub fn tarball(dir: &Path, file_name: &str, entries: Vec<Entry>) -> PathBuf {
    let path = dir.join(file_name);
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).expect("create tarball"),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::File(p, mode, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, data.as_slice())
                    .expect("append file");
            }
            Entry::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, std::io::empty())
                    .expect("append dir");
            }
            Entry::Symlink(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, t).expect("append symlink");
            }
            Entry::Hardlink(p, t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_link(&mut h, p, t).expect("append hardlink");
            }
            Entry::CharDevice(p) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o644);
                h.set_size(0);
                h.set_device_major(1).expect("major");
                h.set_device_minor(3).expect("minor");
                b.append_data(&mut h, p, std::io::empty())
                    .expect("append char");
            }
            Entry::Fifo(p) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_data(&mut h, p, std::io::empty())
                    .expect("append fifo");
            }
            Entry::RawPath(raw, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                let name = &mut h.as_old_mut().name;
                name[..raw.len()].copy_from_slice(raw);
                h.set_cksum();
                b.append(&h, data.as_slice()).expect("append raw");
            }
        }
    }
    b.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip")
        .flush()
        .expect("flush");
    path
}

/// An executable `install.sh` with `body` after the shebang.
pub fn install_sh(body: &str) -> Entry {
    Entry::File(
        "install.sh",
        0o755,
        format!("#!/bin/sh\n{body}\n").into_bytes(),
    )
}

/// A `supervisor.conf` in the original's form running `command`.
pub fn supervisor_conf(command: &str) -> Entry {
    Entry::File(
        "supervisor.conf",
        0o644,
        format!("[supervisord]\ncommand = {command}\nstartsecs = 0\n").into_bytes(),
    )
}

/// A long-running app whose program is `sleep <seconds>` (the seconds tell versions apart in
/// the process's command line) and whose install.sh records its environment.
pub fn sleeper_app(dir: &Path, app: &str, version: &str, seconds: u32) -> PathBuf {
    tarball(
        dir,
        &format!("{app}.v{version}.tar.gz"),
        vec![
            install_sh("echo installing $APP_NAME $APP_VERSION\nenv > installed.env"),
            supervisor_conf(&format!("/bin/sh -c 'exec sleep {seconds}'")),
        ],
    )
}

/// A real python supervisord whose `[include]` reads `<root>/conf.d/*.conf`.
pub struct Supervisord {
    child: std::process::Child,
    /// Where its socket and logs are.
    pub dir: PathBuf,
}

impl Supervisord {
    /// Starts `supervisord -n` for the installer root `root`; waits until it answers.
    pub fn start(root: &Path) -> Supervisord {
        let dir = root.join("supervisor");
        std::fs::create_dir_all(&dir).expect("mkdir supervisor");
        std::fs::create_dir_all(root.join("conf.d")).expect("mkdir conf.d");
        let conf = dir.join("supervisord.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "[unix_http_server]\nfile = {d}/s.sock\n\n[supervisord]\nlogfile = {d}/supervisord.log\n\
                 pidfile = {d}/supervisord.pid\nchildlogdir = {d}\n\n\
                 [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                 [include]\nfiles = {}/conf.d/*.conf\n",
                root.display()
            ),
        )
        .expect("write supervisord.conf");
        let child = std::process::Command::new("supervisord")
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("supervisord must be installed (pip install supervisor)");
        let s = Supervisord { child, dir };
        let url = s.url();
        wait_for("supervisord answers", 20, || {
            gwe_supervisor_client::Client::new(&url)
                .ok()
                .and_then(|mut c| c.get_state().ok())
                .is_some_and(|st| st.statename == "RUNNING")
        });
        s
    }

    /// Its XML-RPC URL.
    pub fn url(&self) -> String {
        format!("unix://{}/s.sock", self.dir.display())
    }

    /// A client.
    pub fn client(&self) -> gwe_supervisor_client::Client {
        gwe_supervisor_client::Client::new(&self.url()).expect("client")
    }

    /// `(state, pid)` of program `app`, `None` when the supervisor does not know it.
    pub fn program(&self, app: &str) -> Option<(String, i64)> {
        self.client()
            .get_all_process_info()
            .ok()?
            .into_iter()
            .find(|p| p.group == app)
            .map(|p| (p.statename, p.pid))
    }

    /// The command line of the running program `app` (from /proc).
    pub fn cmdline(&self, app: &str) -> Option<String> {
        let (_, pid) = self.program(app)?;
        if pid <= 0 {
            return None;
        }
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: SIGTERM to our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The installer config for tests: every path under `root`, a short health window.
pub fn config(root: &Path, supervisor: Option<&Supervisord>) -> OtaConfig {
    let mut c = OtaConfig::under(root);
    c.supervisor_url = supervisor.map(Supervisord::url);
    c.health_window = Duration::from_millis(1200);
    c.script_timeout = Duration::from_secs(20);
    c
}

/// An installer on `root`.
pub fn installer(root: &Path, supervisor: Option<&Supervisord>) -> Installer {
    Installer::new(config(root, supervisor))
}

/// The target of `<root>/apps/<app>/current`.
pub fn current(root: &Path, app: &str) -> Option<String> {
    std::fs::read_link(root.join("apps").join(app).join("current"))
        .ok()
        .map(|p| p.display().to_string())
}

/// The installed version per the registry.
pub fn registry_version(root: &Path, app: &str) -> Option<String> {
    let text = std::fs::read_to_string(root.join("versions.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v[app]["version"].as_str().map(str::to_string)
}

/// The raw registry entry.
pub fn registry_entry(root: &Path, app: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root.join("versions.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v[app].clone()
}
