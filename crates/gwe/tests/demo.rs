//! `gwe demo`: the real binary runs the whole gateway (embedded hub, `gwe supervisord`, the
//! engine, an OTA install of a sample app) in a temp root and narrates each step.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GWE: &str = env!("CARGO_BIN_EXE_gwe");

const STEPS: [&str; 11] = [
    "hub started at http://127.0.0.1:",
    "device DEMO-GATEWAY-1 added",
    "supervisor started",
    "engine activated",
    "app built:",
    "uploaded demo_app.v1.tar.gz",
    "OTA command written to engine_fetch",
    "engine took the command",
    "install result from fetch_status: installed",
    "app demo_app is RUNNING",
    "reports arrived on the hub",
];

fn temp_root_of(stdout: &str) -> std::path::PathBuf {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("gwe demo: everything lives in "))
        .unwrap_or_else(|| panic!("no temp root line in {stdout}"));
    line.trim_start_matches("gwe demo: everything lives in ")
        .into()
}

#[test]
fn demo_once_narrates_every_step_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(GWE)
        .args(["demo", "--once", "--step-timeout", "60"])
        .env("TMPDIR", tmp.path())
        .env_remove("GWE_CONFIG_DIR")
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let mut lines = stdout.lines().filter(|l| l.starts_with('['));
    for (i, step) in STEPS.iter().enumerate() {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("step {step} missing:\n{stdout}"));
        assert!(
            line.starts_with(&format!("[{:>2}] ", i + 1)) && line.contains(step),
            "step {} should be {step:?}, got {line:?}\n{stdout}",
            i + 1
        );
    }
    let sha = stdout
        .lines()
        .find(|l| l.contains("app built:"))
        .and_then(|l| l.split("sha256 ").nth(1))
        .map(|s| s.trim_end_matches(')'))
        .unwrap();
    assert_eq!(sha.len(), 64, "{stdout}");
    assert!(stdout.contains("all steps passed"));
    let root = temp_root_of(&stdout);
    assert!(root.starts_with(tmp.path()), "{root:?}");
    assert!(!root.exists(), "the temp root is removed");
}

#[test]
fn demo_runs_until_sigterm_then_stops_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(GWE)
        .args(["demo", "--step-timeout", "60"])
        .env("TMPDIR", tmp.path())
        .env_remove("GWE_CONFIG_DIR")
        .env_remove("GWE_STATE_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    // Read until the demo says it keeps running (the read returns at EOF if it failed).
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("demo ended early:\n{seen}");
        }
        seen.push_str(&line);
        if line.starts_with("Press Ctrl-C") {
            break;
        }
        assert!(Instant::now() < deadline, "{seen}");
    }
    assert!(seen.contains("operator token: "), "{seen}");
    assert!(seen.contains("hub URL: http://127.0.0.1:"), "{seen}");
    let root = temp_root_of(&seen);
    assert!(root.join("sv/supervisor.sock").exists());
    // SAFETY: SIGTERM to our own child.
    unsafe {
        libc_kill(child.id() as i32, 15);
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "demo did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(25));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert!(rest.contains("stopping"), "{rest}");
    assert!(!root.exists(), "the temp root is removed");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn demo_fails_with_the_reason_when_a_step_cannot_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(GWE)
        .args(["demo", "--once"])
        .env("TMPDIR", tmp.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("FAILED") && stderr.contains("temp root"),
        "{stderr}"
    );
    let out = Command::new(GWE)
        .args(["demo", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
