//! Crash consistency: the installer runs in a child process that is SIGKILLed at each point of
//! the pipeline (journal steps, link swap, config write, supervisor update, registry write, and
//! the same points of a rollback); `recover()` then must leave the old or the new version fully
//! in place (link, program config, running process, registry all agreeing), finish or roll back
//! the install, and leave nothing half-done behind.
//!
//! The child is this test binary itself, re-run with `installer_child_process` selected and
//! `GWE_OTA_CRASH_*` variables set; it kills itself with SIGKILL from the installer's observer
//! (the production code has no crash hook).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use common::*;
use gwe_ota::{Checkpoint, InstallResult, Installer, OtaConfig};

const CHILD: &str = "GWE_OTA_CRASH_CHILD";

fn crash_config(root: &Path, url: Option<String>) -> OtaConfig {
    let mut c = OtaConfig::under(root);
    c.supervisor_url = url;
    c.health_window = Duration::from_millis(800);
    c.script_timeout = Duration::from_secs(30);
    c
}

/// The child side: install the tarball, SIGKILL ourselves at the named checkpoint.
fn child() {
    let var = |k: &str| std::env::var(format!("{CHILD}_{k}")).expect("child variable");
    let root = std::path::PathBuf::from(var("ROOT"));
    let kill_at = var("KILL_AT");
    let seen = std::sync::Mutex::new(std::collections::HashMap::<String, u32>::new());
    let observer: gwe_ota::Observer = std::sync::Arc::new(move |c: Checkpoint| {
        let label = format!("{c:?}");
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.entry(label.clone()).or_insert(0);
        *n += 1;
        if kill_at == label || kill_at == format!("{label}#{n}") {
            // SAFETY: kill -9 of our own process: the crash under test.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    });
    let inst = Installer::new(crash_config(&root, Some(var("URL")))).with_observer(observer);
    let r = inst.install_file(Path::new(&var("TARBALL")), "engine_fetch");
    panic!(
        "the kill point was not reached; the install ended: {}",
        r.summary()
    );
}

/// Outside a crash run this is an ordinary test: a one-off app without a supervisor.
#[test]
fn installer_child_process() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
    let t = tempfile::tempdir().unwrap();
    let p = tarball(t.path(), "once.v1.tar.gz", vec![install_sh("echo once")]);
    let r = Installer::new(crash_config(&t.path().join("gw"), None)).install_file(&p, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert_eq!(
        registry_version(&t.path().join("gw"), "once").as_deref(),
        Some("1")
    );
}

#[derive(Clone, Copy, PartialEq)]
enum V2 {
    /// v2 comes up fine.
    Good,
    /// v2 exits soon after starting: the health window fails and it is rolled back.
    Crashing,
}

/// The whole check: v1 running, v2 installed by a child killed at `point`, recovery, then
/// everything must agree on `expect` (1 or 2).
fn crash_case(v2: V2, point: &str, expect: u32) {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let inst = Installer::new(crash_config(&root, Some(sup.url())));
    let r = inst.install_file(&sleeper_app(&dir, "app", "1", 1001), "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    let v2_path = match v2 {
        V2::Good => sleeper_app(&dir, "app", "2", 1002),
        V2::Crashing => tarball(
            &dir,
            "app.v2.tar.gz",
            vec![
                install_sh("echo v2"),
                supervisor_conf("/bin/sh -c 'sleep 0.2; exit 3; sleep 1002'"),
            ],
        ),
    };
    let v2_sha = gwe_package::sha256_file(&v2_path).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "installer_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(format!("{CHILD}_ROOT"), &root)
        .env(format!("{CHILD}_URL"), sup.url())
        .env(format!("{CHILD}_TARBALL"), &v2_path)
        .env(format!("{CHILD}_KILL_AT"), point)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the child installer");
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "child was not killed at {point}: {status:?}"
    );
    assert!(
        root.join("ota/journal.json").exists(),
        "{point}: the journal must survive the crash"
    );
    // The restart.
    let rec = inst.recover().expect("an interrupted install to recover");
    assert!(
        !root.join("ota/journal.json").exists(),
        "{point}: journal left after recovery"
    );
    assert!(inst.recover().is_none(), "{point}: recovery is done once");
    let want_result = match (v2, expect) {
        (_, 2) => InstallResult::Installed,
        (V2::Good, _) => InstallResult::Failed,
        (V2::Crashing, _) => InstallResult::RolledBack,
    };
    assert_eq!(rec.result, want_result, "{point}: {rec:#?}");
    // Registry, link, config, process: all say `expect`.
    assert_eq!(
        registry_version(&root, "app"),
        Some(expect.to_string()),
        "{point}: registry"
    );
    let link = current(&root, "app").expect("current link");
    assert!(
        link.starts_with(&format!("{expect}-")),
        "{point}: link {link}"
    );
    assert!(root
        .join("apps/app")
        .join(&link)
        .join("install.sh")
        .is_file());
    let conf = std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap();
    assert!(
        conf.contains(&format!("sleep 100{expect}")),
        "{point}: conf {conf}"
    );
    wait_for(&format!("{point}: v{expect} running"), 15, || {
        sup.program("app").is_some_and(|p| p.0 == "RUNNING")
            && sup
                .cmdline("app")
                .is_some_and(|c| c.contains(&format!("sleep 100{expect}")))
    });
    if expect == 2 {
        assert_eq!(registry_entry(&root, "app")["sha256"], v2_sha.as_str());
        assert_eq!(registry_entry(&root, "app")["previous_version"], "1");
    } else {
        assert!(
            !registry_entry(&root, "app")["last_attempt"].is_null(),
            "{point}: attempt recorded"
        );
    }
    // Nothing half-done is left: no staging directory, at most the live and one other version.
    let names: Vec<String> = std::fs::read_dir(root.join("apps/app"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with(".staging") || n.contains(".new.")),
        "{point}: {names:?}"
    );
    assert!(names.len() <= 3, "{point}: {names:?}");
    if expect == 1 {
        assert_eq!(
            names.len(),
            2,
            "{point}: the new version's directory must go: {names:?}"
        );
    }
    // A retry after recovery works normally (or is already installed).
    let again = inst.install_file(&v2_path, "engine_fetch");
    match (v2, expect) {
        (V2::Good, 2) => assert_eq!(again.result, InstallResult::AlreadyInstalled, "{again:#?}"),
        (V2::Good, _) => assert_eq!(again.result, InstallResult::Installed, "{again:#?}"),
        (V2::Crashing, _) => assert_eq!(again.result, InstallResult::RolledBack, "{again:#?}"),
    }
}

macro_rules! crash {
    ($($name:ident: $v2:expr, $point:expr => $expect:expr;)*) => {$(
        #[test]
        fn $name() {
            crash_case($v2, $point, $expect);
        }
    )*};
}

crash! {
    kill_after_started: V2::Good, "Journal(Started)" => 1;
    kill_after_fetched: V2::Good, "Journal(Fetched)" => 1;
    kill_after_extracted: V2::Good, "Journal(Extracted)" => 1;
    kill_after_verified: V2::Good, "Journal(Verified)" => 1;
    kill_after_installed: V2::Good, "Journal(Installed)" => 2;
    kill_after_link_swapped: V2::Good, "LinkSwapped" => 2;
    kill_after_conf_written: V2::Good, "ConfWritten" => 2;
    kill_after_supervisor_updated: V2::Good, "SupervisorUpdated" => 2;
    kill_after_applied: V2::Good, "Journal(Applied)" => 2;
    kill_after_healthy: V2::Good, "Journal(Healthy)" => 2;
    kill_after_registry_written: V2::Good, "RegistryWritten" => 2;
    kill_after_committed: V2::Good, "Journal(Committed)" => 2;
    kill_crashing_after_applied: V2::Crashing, "Journal(Applied)" => 1;
    kill_after_rolling_back: V2::Crashing, "Journal(RollingBack)" => 1;
    kill_after_link_restored: V2::Crashing, "LinkRestored" => 1;
    kill_after_conf_restored: V2::Crashing, "ConfRestored" => 1;
    kill_after_rollback_supervisor_update: V2::Crashing, "SupervisorUpdated#2" => 1;
    kill_after_rolled_back: V2::Crashing, "Journal(RolledBack)" => 1;
}

/// Killed while install.sh runs (its own process group survives the engine and is cleaned up
/// here): recovery removes the new version; v1 stays.
#[test]
fn kill_during_install_script() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let inst = Installer::new(crash_config(&root, Some(sup.url())));
    assert!(inst
        .install_file(&sleeper_app(&dir, "app", "1", 1001), "cli")
        .ok());
    let pidfile = t.path().join("script.pid");
    let v2 = tarball(
        &dir,
        "app.v2.tar.gz",
        vec![
            install_sh(&format!("echo $$ > {}\nexec sleep 60", pidfile.display())),
            supervisor_conf("sleep 1002"),
        ],
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "installer_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(format!("{CHILD}_ROOT"), &root)
        .env(format!("{CHILD}_URL"), sup.url())
        .env(format!("{CHILD}_TARBALL"), &v2)
        .env(format!("{CHILD}_KILL_AT"), "never")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("install.sh running", 20, || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    });
    child.kill().unwrap();
    let _ = child.wait();
    let script_pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: the orphaned script (we know its pid) is ended so the test leaves nothing behind.
    unsafe {
        libc::kill(script_pid, libc::SIGKILL);
    }
    let rec = inst.recover().expect("recovery");
    assert_eq!(rec.result, InstallResult::Failed, "{rec:#?}");
    assert_eq!(
        rec.error.as_ref().unwrap().kind,
        gwe_ota::FailureKind::Interrupted
    );
    assert_eq!(registry_version(&root, "app").as_deref(), Some("1"));
    assert!(current(&root, "app").unwrap().starts_with("1-"));
    assert!(sup.cmdline("app").unwrap().contains("sleep 1001"));
    assert_eq!(std::fs::read_dir(root.join("apps/app")).unwrap().count(), 2);
}
