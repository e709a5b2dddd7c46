//! The engine release package (packaging/): build it with the real `gwe`, install it into a temp
//! root without root or systemd, re-run it, and roll back a broken engine upgrade under
//! `gwe supervisord`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod child_guard;
use child_guard::StopOnDrop as Supervisor;

const GWE: &str = env!("CARGO_BIN_EXE_gwe");

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn wait(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs packaging/build-release.sh into `out` with `gwe_bin`; returns (release, engine OTA).
fn build_release(out: &Path, gwe_bin: &Path, envs: &[(&str, &Path)]) -> (PathBuf, PathBuf) {
    let mut cmd = Command::new("sh");
    cmd.arg(packaging().join("build-release.sh"))
        .arg(out)
        .env("GWE_BIN", gwe_bin)
        .env("CHECK_GWE", GWE)
        // Deterministic: no gwe-supervisord that may lie beside the test binary.
        .env("SUPERVISORD_BIN", "")
        .env("GZIP_LEVEL", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<PathBuf> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    assert_eq!(lines.len(), 2, "{}", text(&o));
    (lines[0].clone(), lines[1].clone())
}

/// `<dir>/sample.v1.tar.gz`: a long-running app (system tar).
fn sample_app(dir: &Path) -> PathBuf {
    let src = dir.join("sample-src");
    std::fs::create_dir_all(&src).unwrap();
    write_exec(
        &src.join("install.sh"),
        "#!/bin/sh\necho \"installing sample\"\n",
    );
    std::fs::write(
        src.join("supervisor.conf"),
        "[supervisord]\ncommand = /bin/sh -c 'while true; do sleep 5; done'\n",
    )
    .unwrap();
    let apps = dir.join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let out = apps.join("sample.v1.tar.gz");
    let st = Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(&src)
        .args(["install.sh", "supervisor.conf"])
        .status()
        .unwrap();
    assert!(st.success());
    apps
}

/// The env that puts every installed path into `root`.
fn install_env(cmd: &mut Command, root: &Path) {
    cmd.env("PREFIX", root.join("usr"))
        .env("BINDIR", root.join("usr/bin"))
        .env("GWE_CONFIG_DIR", root.join("etc/gwe"))
        .env("GWE_STATE_DIR", root.join("var/lib/gwe"))
        .env("GWE_LOG_DIR", root.join("var/log/gwe"))
        .env("SUPERVISOR_SOCKET", root.join("sv.sock"))
        .env("SYSTEMD_UNIT_DIR", root.join("etc/systemd/system"))
        .env("INITD_DIR", root.join("etc/init.d"))
        .env("ENABLE_SERVICE", "0")
        .env("GWE_OTA_HEALTH_WINDOW", "1")
        .env("GWE_INSTALL_LOG_DIR", root.join("install-logs"))
        .env("MARK", root.join("order"));
}

fn install(pkg_dir: &Path, root: &Path, init: &str) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(pkg_dir.join("gateway-engine/install.sh"))
        .env("INIT_SYSTEM", init);
    install_env(&mut cmd, root);
    cmd.output().unwrap()
}

#[test]
fn release_package_installs_into_a_temp_root_and_rerun_keeps_config() {
    let t = tempfile::tempdir().unwrap();
    let apps = sample_app(t.path());
    let pre = t.path().join("pre.sh");
    std::fs::write(&pre, "#!/bin/sh\necho pre >> \"$MARK\"\n").unwrap();
    let post = t.path().join("post.sh");
    // post runs after the engine is in place.
    std::fs::write(
        &post,
        "#!/bin/sh\n[ -x \"$BINDIR/gwe\" ] && echo post >> \"$MARK\"\n",
    )
    .unwrap();
    let out = t.path().join("out");
    let (release, ota) = build_release(
        &out,
        Path::new(GWE),
        &[
            ("APPS_DIR", &apps),
            ("PRE_INSTALL", &pre),
            ("POST_INSTALL", &post),
        ],
    );
    let version = String::from_utf8(Command::new(GWE).arg("-v").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        release.file_name().unwrap().to_str().unwrap(),
        format!("GatewayEngine.v{version}.tar.gz")
    );
    assert_eq!(
        ota.file_name().unwrap().to_str().unwrap(),
        format!("gwe.v{version}.tar.gz")
    );
    // One top directory holding the installer, the binaries and the apps.
    let list = Command::new("tar")
        .arg("tzf")
        .arg(&release)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.lines().all(|l| l.starts_with("gateway-engine/")),
        "{list}"
    );
    for entry in [
        "gateway-engine/install.sh",
        "gateway-engine/bin/gwe",
        "gateway-engine/bin/gwe-run",
        "gateway-engine/apps_to_install/sample.v1.tar.gz",
        "gateway-engine/pre_install_commands.sh",
        "gateway-engine/post_install_commands.sh",
        "gateway-engine/VERSION",
    ] {
        assert!(list.lines().any(|l| l == entry), "{entry} in\n{list}");
    }
    // The engine's OTA package is a valid app tarball.
    let o = Command::new(GWE).arg("-z").arg(&ota).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let pkg = t.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let st = Command::new("tar")
        .arg("xzf")
        .arg(&release)
        .arg("-C")
        .arg(&pkg)
        .status()
        .unwrap();
    assert!(st.success());
    let root = t.path().join("root");
    let o = install(&pkg, &root, "systemd");
    assert!(o.status.success(), "{}", text(&o));

    // Init setup: the systemd unit runs the supervisor in the foreground with our config.
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/gwe-supervisor.service")).unwrap();
    let conf = root.join("etc/gwe/supervisord.conf");
    assert!(
        unit.contains(&format!(
            "ExecStart={}/usr/bin/gwe supervisord -n -c {}",
            root.display(),
            conf.display()
        )),
        "{unit}"
    );
    let sv = std::fs::read_to_string(&conf).unwrap();
    assert!(sv.contains("[program:gwe]"), "{sv}");
    assert!(
        sv.contains(&format!("command = {}/usr/bin/gwe-run", root.display())),
        "{sv}"
    );
    // The engine, installed and working.
    let bin = root.join("usr/bin/gwe");
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(GWE).unwrap());
    assert!(root.join("usr/bin/gwe-run").is_file());
    let o = Command::new(&bin)
        .arg("-e")
        .env("GWE_CONFIG_DIR", root.join("etc/gwe"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // apps_to_install went through the OTA pipeline.
    let versions = gwe_engine::reports::engine_report::load_versions(&root.join("var/lib/gwe"));
    assert_eq!(
        versions.get("sample").map(String::as_str),
        Some("1"),
        "{versions:?}"
    );
    assert!(root.join("etc/gwe/conf.d/sample.conf").is_file());
    // Hooks in order: pre before, post after the engine.
    assert_eq!(
        std::fs::read_to_string(root.join("order")).unwrap(),
        "pre\npost\n"
    );
    // The summary log.
    let logs: Vec<PathBuf> = std::fs::read_dir(root.join("install-logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let name = logs[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("gwe_install_") && name.ends_with(".log"),
        "{name}"
    );
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.contains("Installation Summary and Self Test"), "{log}");
    assert!(log.contains("RESULT: OK"), "{log}");
    assert!(log.contains("[PASS] apps_to_install: 1 installed"), "{log}");
    assert!(log.contains(&format!("--version = {version}")), "{log}");
    // The supervisor started for the install is gone again.
    let o = Command::new(GWE)
        .args(["ctl", "-s"])
        .arg(format!("unix://{}", root.join("sv.sock").display()))
        .arg("pid")
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));

    // Re-running (here with SysV init) keeps the configuration.
    let gw_cfg = root.join("etc/gwe/Gateway.cfg");
    std::fs::write(
        &gw_cfg,
        "[device]\ncik = keepme\nmodel = m\nvendor = v\nuuid = SN-1\niface = eth0\n",
    )
    .unwrap();
    let engine_before = std::fs::read_to_string(root.join("etc/gwe/Engine.config")).unwrap();
    let o = install(&pkg, &root, "sysv");
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kept existing"));
    assert!(std::fs::read_to_string(&gw_cfg)
        .unwrap()
        .contains("cik = keepme"));
    assert_eq!(
        std::fs::read_to_string(root.join("etc/gwe/Engine.config")).unwrap(),
        engine_before
    );
    let initd = root.join("etc/init.d/gwe-supervisor");
    assert!(std::fs::metadata(&initd).unwrap().permissions().mode() & 0o111 != 0);
    assert!(std::fs::read_to_string(&initd)
        .unwrap()
        .contains("supervisord -n -c"));
    // Same binary again: no probation.
    assert!(!root.join("usr/bin/gwe.prev").exists());
    assert_eq!(
        std::fs::read_dir(root.join("install-logs"))
            .unwrap()
            .count(),
        2,
        "one log per run"
    );
}

fn gwe_state(url: &str) -> Option<String> {
    gwe_supervisor_client::Client::new(url)
        .ok()?
        .get_all_process_info()
        .ok()?
        .into_iter()
        .find(|p| p.name == "gwe")
        .map(|p| p.statename)
}

#[test]
fn engine_ota_package_rolls_back_a_broken_engine() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let d = r.display();
    for sub in ["bin", "etc", "state", "conf.d", "log"] {
        std::fs::create_dir_all(r.join(sub)).unwrap();
    }
    let good = std::fs::read(GWE).unwrap();
    let bin = r.join("bin/gwe");
    std::fs::write(&bin, &good).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(packaging().join("release/gwe-run"), r.join("bin/gwe-run")).unwrap();
    let url = format!("unix://{d}/sv.sock");
    // An engine with nowhere to check in keeps retrying activation: it stays RUNNING.
    std::fs::write(
        r.join("etc/Engine.config"),
        format!(
            "[engine]\nserver_url = http://127.0.0.1:9\nsupervisor_url = {url}\nstate_dir = {d}/state\n\
             supervisor_include_dir = {d}/conf.d\napp_log_dir = {d}/log\nota_health_window = 1\n\
             audit_db = {d}/state/ifaces.db\n"
        ),
    )
    .unwrap();
    std::fs::write(
        r.join("etc/Gateway.cfg"),
        "[device]\ncik = ''\nmodel = m\nvendor = v\nuuid = SN-ROLLBACK\niface = ''\n",
    )
    .unwrap();
    std::fs::write(
        r.join("supervisord.conf"),
        format!(
            "[unix_http_server]\nfile = {d}/sv.sock\n\n[supervisord]\nlogfile = {d}/log/supervisord.log\n\
             pidfile = {d}/sv.pid\nchildlogdir = {d}/log\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [program:gwe]\ncommand = {d}/bin/gwe-run\nautorestart = true\nstartsecs = 1\nstartretries = 20\n\
             redirect_stderr = true\nstdout_logfile = {d}/log/gwe.log\n\
             environment = GWE_CONFIG_DIR=\"{d}/etc\",GWE_BIN=\"{d}/bin/gwe\",GWE_RUN_PROBATION=\"3\",GWE_RUN_MAX_FAILURES=\"2\"\n\n\
             [include]\nfiles = {d}/conf.d/*.conf\n"
        ),
    )
    .unwrap();
    let _sv = Supervisor(
        Command::new(GWE)
            .args(["supervisord", "-n", "-c"])
            .arg(r.join("supervisord.conf"))
            .env_remove("GWE_STATE_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait("the engine RUNNING", 30, || {
        gwe_state(&url).as_deref() == Some("RUNNING")
    });

    // Two broken "new engines": one that cannot even start, one that passes the self test but
    // exits at once. Each comes as gwe.v<V>.tar.gz and goes through `gwe -I`.
    let broken = [
        ("9.0.1", "#!/bin/sh\nexit 1\n"),
        (
            "9.0.2",
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 9.0.2; exit 0; fi\nexit 1\n",
        ),
    ];
    for (version, script) in broken {
        let fake = r.join(format!("fake-gwe-{version}"));
        write_exec(&fake, script);
        let out = r.join(format!("out-{version}"));
        let env_version = PathBuf::from(version);
        let (_, ota) = build_release(&out, &fake, &[("VERSION", &env_version)]);
        let o = Command::new(GWE)
            .arg("-I")
            .arg(&ota)
            .env("GWE_CONFIG_DIR", r.join("etc"))
            .env("GWE_BINDIR", r.join("bin"))
            .env("GWE_NO_RESTART", "1")
            .env_remove("GWE_STATE_DIR")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(std::fs::read(&bin).unwrap(), script.as_bytes());
        assert_eq!(std::fs::read(r.join("bin/gwe.prev")).unwrap(), good);
        // Restart the engine as the package's install.sh would.
        let o = Command::new(GWE)
            .args(["ctl", "-s", &url, "restart", "gwe"])
            .output()
            .unwrap();
        let _ = o;
        wait(&format!("rollback of {version}"), 90, || {
            std::fs::read(&bin).is_ok_and(|b| b == good)
        });
        assert!(!r.join("bin/gwe.prev").exists());
        wait("the restored engine RUNNING", 60, || {
            gwe_state(&url).as_deref() == Some("RUNNING")
        });
        let log = std::fs::read_to_string(r.join("log/gwe.log")).unwrap();
        assert!(log.contains("ROLLED BACK"), "{log}");
    }

    // A good upgrade: its install.sh restarts program gwe itself (detached, after 5 s), and the
    // new engine ends its probation (gwe.prev removed once it ran long enough).
    let pid_before = pid_of_gwe(&url);
    let out = r.join("out-good");
    let env_version = PathBuf::from("9.1.0");
    let (_, ota) = build_release(&out, Path::new(GWE), &[("VERSION", &env_version)]);
    let o = Command::new(GWE)
        .arg("-I")
        .arg(&ota)
        .env("GWE_CONFIG_DIR", r.join("etc"))
        .env("GWE_BINDIR", r.join("bin"))
        .env("GWE_SUPERVISOR_URL", &url)
        .env_remove("GWE_NO_RESTART")
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("restarts in 5 s"),
        "{}",
        text(&o)
    );
    assert!(r.join("bin/gwe.prev").exists());
    let deadline = Instant::now() + Duration::from_secs(60);
    while r.join("bin/gwe.prev").exists() {
        if Instant::now() > deadline {
            let logs: String = std::fs::read_dir(r.join("log"))
                .unwrap()
                .filter_map(|e| {
                    let p = e.ok()?.path();
                    Some(format!(
                        "== {}\n{}\n",
                        p.display(),
                        std::fs::read_to_string(&p).ok()?
                    ))
                })
                .collect();
            panic!("timed out waiting for the restart and the end of the probation\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(gwe_state(&url).as_deref(), Some("RUNNING"));
    assert_ne!(pid_of_gwe(&url), pid_before, "program gwe was restarted");
    assert_eq!(std::fs::read(&bin).unwrap(), good);
}

fn pid_of_gwe(url: &str) -> i64 {
    gwe_supervisor_client::Client::new(url)
        .unwrap()
        .get_all_process_info()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "gwe")
        .map_or(0, |p| p.pid)
}

#[test]
fn staged_install_with_destdir_writes_under_it_and_runs_nothing() {
    let t = tempfile::tempdir().unwrap();
    let apps = sample_app(t.path());
    let (release, _) = build_release(
        &t.path().join("out"),
        Path::new(GWE),
        &[("APPS_DIR", &apps)],
    );
    let pkg = t.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    assert!(Command::new("tar")
        .arg("xzf")
        .arg(&release)
        .arg("-C")
        .arg(&pkg)
        .status()
        .unwrap()
        .success());
    let stage = t.path().join("stage");
    let o = Command::new("sh")
        .arg(pkg.join("gateway-engine/install.sh"))
        .env("DESTDIR", &stage)
        .env("INIT_SYSTEM", "sysv")
        .env("GWE_INSTALL_LOG_DIR", t.path().join("logs"))
        .env_remove("GWE_CONFIG_DIR")
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Files land under DESTDIR, naming the final paths.
    assert!(stage.join("usr/local/bin/gwe").is_file());
    assert!(stage.join("usr/local/bin/gwe-run").is_file());
    let sv = std::fs::read_to_string(stage.join("etc/gwe/supervisord.conf")).unwrap();
    assert!(sv.contains("command = /usr/local/bin/gwe-run"), "{sv}");
    assert!(sv.contains("file = /tmp/supervisord.sock"), "{sv}");
    let initd = std::fs::read_to_string(stage.join("etc/init.d/gwe-supervisor")).unwrap();
    assert!(initd.contains("GWE=/usr/local/bin/gwe"), "{initd}");
    // Nothing ran: apps_to_install is left for the gateway, with a warning in the summary.
    assert!(!stage.join("var/lib/gwe/versions.json").exists());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("[WARN] apps_to_install not installed"),
        "{stdout}"
    );
    assert!(stdout.contains("RESULT: OK"), "{stdout}");
}
