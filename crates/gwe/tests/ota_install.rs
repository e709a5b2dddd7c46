//! `gwe -I/--install-apps` end to end with the real binaries: `gwe supervisord` including the
//! OTA include directory, tarballs made with the system `tar`, the registry read back the way
//! `engine_report` reads it, a rollback, a hostile package, and an OTA command taken from
//! `engine_fetch` on an in-process gwe-hub by `gwe --once`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod child_guard;
use child_guard::StopOnDrop as Daemon;
mod local_hub;
use local_hub::LocalHub;

const GWE: &str = env!("CARGO_BIN_EXE_gwe");

fn wait(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A gateway in a temp dir: config dir, state dir, include dir, logs, `gwe supervisord`.
struct Gateway {
    dir: PathBuf,
    _daemon: Daemon,
}

impl Gateway {
    fn start(dir: &Path, extra_engine: &str) -> Gateway {
        for sub in ["etc", "state", "conf.d", "log", "sv"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let d = dir.display();
        std::fs::write(
            dir.join("sv/supervisord.conf"),
            format!(
                "[unix_http_server]\nfile = {d}/sv/s.sock\n\n[supervisord]\nlogfile = {d}/sv/supervisord.log\n\
                 pidfile = {d}/sv/supervisord.pid\nchildlogdir = {d}/sv\n\n\
                 [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                 [include]\nfiles = {d}/conf.d/*.conf\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("etc/Engine.config"),
            format!(
                "[engine]\nsupervisor_url = unix://{d}/sv/s.sock\nstate_dir = {d}/state\n\
                 supervisor_include_dir = {d}/conf.d\napp_log_dir = {d}/log\nota_health_window = 1\n\
                 audit_db = {d}/ifaces.db\n{extra_engine}"
            ),
        )
        .unwrap();
        let child = Command::new(GWE)
            .args(["supervisord", "-n", "-c"])
            .arg(dir.join("sv/supervisord.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let gw = Gateway {
            dir: dir.to_path_buf(),
            _daemon: Daemon(child),
        };
        wait("gwe supervisord answers", 20, || {
            gw.client().get_state().is_ok()
        });
        gw
    }

    fn client(&self) -> gwe_supervisor_client::Client {
        gwe_supervisor_client::Client::new(&format!("unix://{}/sv/s.sock", self.dir.display()))
            .unwrap()
    }

    fn program(&self, app: &str) -> Option<(String, i64)> {
        self.client()
            .get_all_process_info()
            .ok()?
            .into_iter()
            .find(|p| p.group == app)
            .map(|p| (p.statename, p.pid))
    }

    fn gwe(&self, args: &[&str]) -> Output {
        Command::new(GWE)
            .args(args)
            .env("GWE_CONFIG_DIR", self.dir.join("etc"))
            .env_remove("GWE_STATE_DIR")
            .output()
            .unwrap()
    }

    fn versions(&self) -> std::collections::BTreeMap<String, String> {
        gwe_engine::reports::engine_report::load_versions(&self.dir.join("state"))
    }
}

/// `<dir>/<app>.v<version>.tar.gz` made with the system tar from `files` (name, mode, text).
fn tarball(dir: &Path, app: &str, version: &str, files: &[(&str, u32, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let src = dir.join(format!("src-{app}-{version}"));
    std::fs::create_dir_all(&src).unwrap();
    for (name, mode, text) in files {
        let p = src.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    let out = dir.join(format!("{app}.v{version}.tar.gz"));
    let names: Vec<&str> = files.iter().map(|f| f.0).collect();
    let st = Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(&src)
        .args(&names)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn sleeper(dir: &Path, app: &str, version: &str, command: &str) -> PathBuf {
    tarball(
        dir,
        app,
        version,
        &[
            (
                "install.sh",
                0o755,
                "#!/bin/sh\necho installing $APP_NAME $APP_VERSION in $GWE_APP_DIR\n",
            ),
            (
                "supervisor.conf",
                0o644,
                &format!("[supervisord]\ncommand = {command}\nstartsecs = 0\n"),
            ),
        ],
    )
}

#[test]
fn install_apps_flag_with_gwe_supervisord() {
    let t = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&t.path().join("gw"), "");
    let pkgs = t.path().join("pkgs");
    std::fs::create_dir_all(&pkgs).unwrap();
    let v1 = sleeper(&pkgs, "app", "1", "/bin/sh -c 'exec sleep 1001'");
    let once = tarball(
        &pkgs,
        "hello",
        "1",
        &[(
            "install.sh",
            0o755,
            "#!/bin/sh\necho hello from install.sh\n",
        )],
    );
    let out = gw.gwe(&["-I", v1.to_str().unwrap(), once.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("app 1: installed"), "{stdout}");
    assert!(stdout.contains("installing app 1 in"), "{stdout}");
    assert!(
        stdout.contains("hello 1: installed") && stdout.contains("hello from install.sh"),
        "{stdout}"
    );
    assert_eq!(gw.program("app").unwrap().0, "RUNNING");
    let versions = gw.versions();
    assert_eq!(versions.get("app").map(String::as_str), Some("1"));
    assert_eq!(versions.get("hello").map(String::as_str), Some("1"));
    let pid = gw.program("app").unwrap().1;

    // A v2 that dies: rolled back, exit 1, v1 still the one running.
    let v2 = sleeper(&pkgs, "app", "2", "/bin/sh -c 'sleep 0.2; exit 4'");
    let out = gw.gwe(&["--install-apps", v2.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("app 2: rolled back to 1"), "{stdout}");
    wait("v1 back", 10, || {
        gw.program("app").is_some_and(|p| p.0 == "RUNNING")
    });
    assert_eq!(gw.versions().get("app").map(String::as_str), Some("1"));
    let _ = pid;

    // A hostile package (absolute path, made with tar -P): refused with the reason.
    let evil_src = t.path().join("evil-src");
    std::fs::create_dir_all(&evil_src).unwrap();
    let evil_file = evil_src.join("install.sh");
    std::fs::write(&evil_file, "#!/bin/sh\n").unwrap();
    let evil = pkgs.join("app.v3.tar.gz");
    assert!(Command::new("tar")
        .arg("czPf")
        .arg(&evil)
        .arg(&evil_file)
        .status()
        .unwrap()
        .success());
    let out = gw.gwe(&["-I", evil.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("app 3: failed") && stdout.contains("absolute"),
        "{stdout}"
    );
    assert_eq!(gw.versions().get("app").map(String::as_str), Some("1"));
    // The same refusal for scripts: --json prints one JSON array of the reports, nothing else.
    let out = gw.gwe(&[
        "-I",
        evil.to_str().unwrap(),
        once.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v[0]["file"], "app.v3.tar.gz", "{v}");
    assert_eq!(v[0]["result"], "failed", "{v}");
    assert_eq!(v[0]["error"]["kind"], "archive", "{v}");
    assert!(
        v[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("absolute"),
        "{v}"
    );
    assert_eq!(v[1]["app"], "hello", "{v}");
    assert_eq!(v[1]["result"], "already_installed", "{v}");
    // A missing file.
    let out = gw.gwe(&["-I", "/nonexistent/x.v1.tar.gz"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no such file"));
}

/// One operator call over HTTP/1.0 (no chunking): status and body.
fn operator(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String) {
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {OP}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
            .await
            .expect("the hub answers")
            .unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
}

const OP: &str = "ota-cli-test-token-0123456789";

fn latest(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    sn: &str,
    alias: &str,
) -> String {
    let (status, body) = operator(
        rt,
        addr,
        "GET",
        &format!("/api/v1/products/default/devices/{sn}/aliases/{alias}?limit=1"),
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["points"][0]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ota_command_from_engine_fetch_with_gwe_once() {
    let t = tempfile::tempdir().unwrap();
    let hub = LocalHub::start(&t.path().join("hub"), OP);
    let (rt, addr) = (&hub.rt, hub.addr);
    let gw = Gateway::start(
        &t.path().join("gw"),
        &format!("server_url = http://{addr}\n"),
    );
    let sn = "OTA-GW-1";
    let out = gw.gwe(&["-P", "default", "-u", sn]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = operator(
        rt,
        addr,
        "POST",
        "/api/v1/products/default/devices",
        format!("{{\"sn\": \"{sn}\"}}").as_bytes(),
    );
    assert!((200..300).contains(&status), "{body}");
    let pkgs = t.path().join("pkgs");
    std::fs::create_dir_all(&pkgs).unwrap();
    let v1 = sleeper(&pkgs, "app", "1", "/bin/sh -c 'exec sleep 1001'");
    let (status, body) = operator(
        rt,
        addr,
        "PUT",
        "/api/v1/products/default/content/app.v1.tar.gz",
        &std::fs::read(&v1).unwrap(),
    );
    assert!((200..300).contains(&status), "{body}");
    let command = r#"{"install": [{"name": "app.v1.tar.gz"}]}"#;
    let write = |value: &str| {
        let body = serde_json::json!({ "value": value }).to_string();
        let (status, text) = operator(
            rt,
            addr,
            "POST",
            &format!("/api/v1/products/default/devices/{sn}/aliases/engine_fetch"),
            body.as_bytes(),
        );
        assert!((200..300).contains(&status), "{text}");
    };
    write(command);
    let out = gw.gwe(&["--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value =
        serde_json::from_str(&latest(rt, addr, sn, "fetch_status")).unwrap();
    assert_eq!(status["ok"], true, "{status}");
    assert_eq!(status["items"][0]["result"], "installed", "{status}");
    assert!(status["items"][0]["stdout"]
        .as_str()
        .unwrap()
        .contains("installing app 1"));
    assert_eq!(
        latest(rt, addr, sn, "engine_fetch"),
        "",
        "the command is cleared"
    );
    assert_eq!(gw.program("app").unwrap().0, "RUNNING");
    assert_eq!(gw.versions().get("app").map(String::as_str), Some("1"));

    // Taken once: the same command again answers "already installed"; the report shows v1.
    write(command);
    let out = gw.gwe(&["--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value =
        serde_json::from_str(&latest(rt, addr, sn, "fetch_status")).unwrap();
    assert_eq!(
        status["items"][0]["result"], "already_installed",
        "{status}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&latest(rt, addr, sn, "engine_report")).unwrap();
    let app = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|a| a.get("app"))
        .unwrap_or_else(|| panic!("app in {report}"));
    assert_eq!(app["version"], "1", "{report}");
    assert_eq!(app["status"], "RUNNING", "{report}");

    // `gwe -I NAME` of a content item: downloaded with the gateway's identity and installed
    // from the stream; --json gives the report (no progress bar: stderr is not a terminal).
    let v2 = sleeper(&pkgs, "app", "2", "/bin/sh -c 'exec sleep 1002'");
    let (status, body) = operator(
        rt,
        addr,
        "PUT",
        "/api/v1/products/default/content/app.v2.tar.gz",
        &std::fs::read(&v2).unwrap(),
    );
    assert!((200..300).contains(&status), "{body}");
    std::fs::remove_file(&v2).unwrap();
    let out = Command::new(GWE)
        .args(["-I", "app.v2.tar.gz", "--json"])
        .current_dir(&pkgs)
        .env("GWE_CONFIG_DIR", gw.dir.join("etc"))
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "{v}");
    assert_eq!(v[0]["result"], "installed", "{v}");
    assert_eq!(v[0]["source"], "cli", "{v}");
    assert_eq!(v[0]["version"], "2", "{v}");
    assert_eq!(v[0]["sha256"].as_str().map(str::len), Some(64), "{v}");
    assert!(
        v[0]["script"]["stdout"]
            .as_str()
            .unwrap()
            .contains("installing app 2"),
        "{v}"
    );
    assert_eq!(gw.versions().get("app").map(String::as_str), Some("2"));
    wait("v2 running", 10, || {
        gw.program("app").is_some_and(|p| p.0 == "RUNNING")
    });
    // A name the content area does not have: a fetch failure, in JSON too.
    let out = Command::new(GWE)
        .args(["-I", "ghost.v1.tar.gz", "--json"])
        .current_dir(&pkgs)
        .env("GWE_CONFIG_DIR", gw.dir.join("etc"))
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["error"]["kind"], "fetch", "{v}");

    // A malformed command is answered with the reason.
    write(r#"{"install": [{"name": "app.v1.tar.gz", "force": true}]}"#);
    assert!(gw.gwe(&["--once"]).status.success());
    let status: serde_json::Value =
        serde_json::from_str(&latest(rt, addr, sn, "fetch_status")).unwrap();
    assert_eq!(status["error"]["kind"], "command", "{status}");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("force"),
        "{status}"
    );
    hub.stop();
}
