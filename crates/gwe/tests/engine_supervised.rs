//! The shipped examples/gateway/supervisord.conf: `gwe supervisord` runs the engine as the
//! program `gwe`, and `gwe ctl status` shows it `RUNNING`. Paths of the example are moved
//! into a temp dir; everything else is the file as shipped.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod child_guard;
use child_guard::StopOnDrop as Daemon;

const GWE: &str = env!("CARGO_BIN_EXE_gwe");

fn wait(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The example with its gateway paths moved under `dir`.
fn example_in(dir: &Path) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/gateway/supervisord.conf"
    ))
    .expect("examples/gateway/supervisord.conf");
    let d = dir.display().to_string();
    example
        .replace("/tmp/supervisord.sock", &format!("{d}/supervisord.sock"))
        .replace("/var/log", &format!("{d}/log"))
        .replace("/var/run", &d)
        .replace("/usr/local/bin/gwe", GWE)
        .replace("/etc/gwe", &format!("{d}/etc"))
        .replace("/etc/supervisor/conf.d", &format!("{d}/conf.d"))
}

#[test]
fn the_example_runs_the_engine_under_gwe_supervisord() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    for sub in ["log", "etc", "conf.d", "state"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // A configured gateway whose server is down: the engine must stay up, retrying.
    std::fs::write(
        dir.join("etc/Engine.config"),
        format!(
            "[engine]\nserver_url = http://127.0.0.1:9\nactivation_retry_interval = 1\nstate_dir = {}\naudit_db = {}\n",
            dir.join("state").display(),
            dir.join("ifaces.db").display()
        ),
    )
    .unwrap();
    let configured = Command::new(GWE)
        .args(["--set-product-id", "pid", "--set-uuid", "SUPERVISED-1"])
        .env("GWE_CONFIG_DIR", dir.join("etc"))
        .output()
        .unwrap();
    assert!(configured.status.success());
    let conf = dir.join("supervisord.conf");
    std::fs::write(&conf, example_in(dir)).unwrap();
    let conf_s = conf.to_str().unwrap().to_string();
    let _daemon = Daemon(
        Command::new(GWE)
            .args(["supervisord", "-n", "-c", &conf_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let status = || {
        Command::new(GWE)
            .args(["ctl", "-c", &conf_s, "status", "gwe"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    // startsecs = 5: RUNNING means the engine stayed up that long.
    wait("gwe RUNNING in `gwe ctl status`", 40, || {
        let s = status();
        s.starts_with("gwe ") && s.contains("RUNNING")
    });
    let log = std::fs::read_to_string(dir.join("log/gwe.log")).unwrap_or_default();
    assert!(log.contains("Gateway Engine starting"), "{log}");
}
