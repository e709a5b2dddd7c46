//! The `gwe-engine` binary as a real process: a check-in against a real gwe-hub on loopback,
//! the idle loop stopped by SIGTERM, its command line, and the hand-over check (a `gwe-engine`
//! of another build goes back to the `gwe` that exec'd it).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{wait_for, EngineDirs, TestHub};
use gwe_engine::daemon::{BUILD_ID, ENV_EXPECT, ENV_FALLBACK, ENV_IN_PROCESS};

const BIN: &str = env!("CARGO_BIN_EXE_gwe-engine");
const NO_SUPERVISOR: &str = "unix:///nonexistent/gwe-engine-bin.sock";

fn engine(dirs: &EngineDirs) -> Command {
    let mut c = Command::new(BIN);
    c.env("GWE_CONFIG_DIR", dirs.config.path())
        .env("GWE_SYS_CLASS_NET", dirs.root.path().join("no-sysfs"))
        .env_remove(ENV_EXPECT)
        .env_remove(ENV_FALLBACK)
        .env_remove("RUST_LOG");
    c
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_activates_and_checks_in_against_a_real_hub() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    hub.add_device("BIN-ONCE").await;
    let dirs = EngineDirs::new("BIN-ONCE", &hub.url(), 3600, NO_SUPERVISOR);
    let config_dir = dirs.config.path().to_str().unwrap().to_string();
    // --config-dir instead of the environment; the hand-over check of this very build passes.
    let mut cmd = engine(&dirs);
    cmd.env_remove("GWE_CONFIG_DIR")
        .args(["--config-dir", &config_dir, "--once"])
        .env(ENV_EXPECT, BUILD_ID)
        .env(ENV_FALLBACK, "/nonexistent/gwe");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("activated"), "{stderr}");
    assert_eq!(dirs.cik().len(), 40);
    let info = hub.latest("BIN-ONCE", "device_info").await;
    assert!(
        info.is_some_and(|v| v.contains("uname")),
        "device_info reported"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_loop_long_polls_and_stops_on_sigterm() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    hub.add_device("BIN-LOOP").await;
    let dirs = EngineDirs::new("BIN-LOOP", &hub.url(), 3600, NO_SUPERVISOR);
    let log_path = dirs.root.path().join("engine.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = engine(&dirs)
        .stderr(log)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first check-in", 30, || async {
        hub.latest("BIN-LOOP", "engine_report").await.is_some()
    })
    .await;
    // An operator command arrives through the long poll and is answered.
    hub.write("BIN-LOOP", "engine_fetch", "bogus-command").await;
    wait_for("fetch_status answered", 30, || async {
        hub.latest("BIN-LOOP", "fetch_status").await.is_some()
    })
    .await;
    assert!(matches!(child.try_wait(), Ok(None)), "the engine exited");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "gwe-engine did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{status:?}: {text}");
    assert!(text.contains("termination signal"), "{text}");
    hub.stop().await;
}

#[test]
fn other_flags_are_refused_with_usage() {
    for args in [&["-v"][..], &["--set-uuid", "x"], &["--once", "--once"]] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove(ENV_EXPECT)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: gwe-engine"), "{err}");
    }
}

#[test]
fn configuration_problems_fail_with_the_message() {
    let dirs = EngineDirs::new("", "http://127.0.0.1:9", 3600, NO_SUPERVISOR);
    let out = engine(&dirs).arg("--once").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("gwe: "), "{err}");
    assert!(err.contains("--set-uuid"), "{err}");
}

#[test]
fn another_build_hands_the_engine_back_to_gwe() {
    let t = tempfile::tempdir().unwrap();
    let record = t.path().join("record");
    let fake_gwe = t.path().join("gwe");
    write_script(
        &fake_gwe,
        &format!(
            "#!/bin/sh\necho \"args=$*\" > '{r}'\necho \"in_process=${ENV_IN_PROCESS}\" >> '{r}'\n\
             echo \"expect=${{{ENV_EXPECT}:-unset}} fallback=${{{ENV_FALLBACK}:-unset}}\" >> '{r}'\nexit 7\n",
            r = record.display()
        ),
    );
    let out = Command::new(BIN)
        .args(["--config-dir", "/some dir", "-o"])
        .env(ENV_EXPECT, "0.0.0+0000000000000000")
        .env(ENV_FALLBACK, &fake_gwe)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        text,
        "args=--config-dir /some dir -o\nin_process=1\nexpect=unset fallback=unset\n"
    );
}

#[test]
fn https_servers_get_a_tls_handshake() {
    // The small binary keeps the TLS stack: an https server_url opens with a ClientHello.
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut hello = [0u8; 6];
        conn.read_exact(&mut hello).unwrap();
        hello
    });
    let dirs = EngineDirs::new(
        "BIN-TLS",
        &format!("https://127.0.0.1:{port}"),
        3600,
        NO_SUPERVISOR,
    );
    let out = engine(&dirs).arg("--once").output().unwrap();
    let hello = server.join().unwrap();
    // TLS record type 22 (handshake), version 3.x, message type 1 (ClientHello).
    assert_eq!((hello[0], hello[1], hello[5]), (22, 3, 1), "{hello:?}");
    assert_eq!(out.status.code(), Some(1));
}
