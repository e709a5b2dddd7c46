//! The install pipeline against a real supervisord: upgrades, idempotency, every hostile
//! package refused with its own reason while the running version stays untouched, install.sh
//! failures and timeouts, rollback, signatures, the setup.py kind, and the app commands.

mod common;

use std::path::Path;

use common::*;
use gwe_ota::{FailureKind, InstallResult, Installer};

/// Installs v1 of `app` (sleep 1001) and checks it runs.
fn install_v1(dir: &Path, root: &Path, sup: &Supervisord, app: &str) -> (String, i64) {
    let inst = installer(root, Some(sup));
    let r = inst.install_file(&sleeper_app(dir, app, "1", 1001), "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    let (state, pid) = sup.program(app).expect("program known");
    assert_eq!(state, "RUNNING");
    (current(root, app).expect("current link"), pid)
}

/// The running version is v1, untouched: same link, same registry, same pid, same config.
fn assert_v1_untouched(
    root: &Path,
    sup: &Supervisord,
    app: &str,
    link: &str,
    pid: i64,
    conf: &str,
) {
    assert_eq!(current(root, app).as_deref(), Some(link));
    assert_eq!(registry_version(root, app).as_deref(), Some("1"));
    assert_eq!(sup.program(app), Some(("RUNNING".into(), pid)));
    assert_eq!(
        std::fs::read_to_string(root.join("conf.d").join(format!("{app}.conf"))).unwrap(),
        conf
    );
    assert!(
        !root.join("ota/journal.json").exists(),
        "journal left behind"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("apps").join(app))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "current" && n != link)
        .collect();
    assert!(leftovers.is_empty(), "new files left behind: {leftovers:?}");
}

#[test]
fn install_upgrade_and_already_installed() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let (link1, pid1) = install_v1(&dir, &root, &sup, "app");
    assert!(link1.starts_with("1-"));
    assert!(sup.cmdline("app").unwrap().contains("sleep 1001"));
    // install.sh ran in the versioned directory with the documented environment.
    let env =
        std::fs::read_to_string(root.join("apps/app").join(&link1).join("installed.env")).unwrap();
    assert!(
        env.contains("APP_NAME=app\n") && env.contains("APP_VERSION=1\n"),
        "{env}"
    );
    assert!(env.contains(&format!(
        "GWE_APP_DIR={}",
        root.join("apps/app").join(&link1).display()
    )));
    // The program config: renamed section, imposed defaults.
    let conf = std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap();
    assert!(conf.contains("[program:app]"), "{conf}");
    assert!(
        conf.contains("redirect_stderr = true") && conf.contains("stdout_logfile_maxbytes = 200KB")
    );
    assert!(conf.contains(&format!(
        "stdout_logfile = {}",
        root.join("log/app.log").display()
    )));
    // Upgrade.
    let inst = installer(&root, Some(&sup));
    let r = inst.install_file(&sleeper_app(&dir, "app", "2", 1002), "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert_eq!(r.previous_version.as_deref(), Some("1"));
    assert_eq!(r.script.as_ref().unwrap().stdout, "installing app 2\n");
    assert!(r.signature.as_deref().unwrap().contains("not checked"));
    let (state, pid2) = sup.program("app").unwrap();
    assert_eq!(state, "RUNNING");
    assert_ne!(pid1, pid2);
    assert!(sup.cmdline("app").unwrap().contains("sleep 1002"));
    let e = registry_entry(&root, "app");
    assert_eq!(e["version"], "2");
    assert_eq!(e["previous_version"], "1");
    assert_eq!(e["source"], "cli");
    assert_eq!(e["sha256"].as_str(), r.sha256.as_deref());
    // The previous version is kept (one), older ones go.
    assert!(root.join("apps/app").join(&link1).is_dir());
    // Same version and digest again: nothing runs, nothing restarts.
    let again = inst.install_file(&dir.join("app.v2.tar.gz"), "cli");
    assert_eq!(again.result, InstallResult::AlreadyInstalled, "{again:#?}");
    assert!(again.script.is_none());
    assert_eq!(sup.program("app").unwrap().1, pid2);
    // v3 removes v1's directory (only the live and the previous one are kept).
    let r3 = inst.install_file(&sleeper_app(&dir, "app", "3", 1003), "cli");
    assert_eq!(r3.result, InstallResult::Installed);
    assert!(!root.join("apps/app").join(&link1).exists());
}

#[test]
fn hostile_packages_are_refused_and_the_running_version_is_untouched() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let (link, pid) = install_v1(&dir, &root, &sup, "app");
    let conf = std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap();
    let ok_sh = || install_sh("echo ok");
    let ok_conf = || supervisor_conf("/bin/sh -c 'exec sleep 1002'");
    let outside = t.path().join("outside");
    // (tarball name, entries, kind, words of the message)
    let cases: Vec<(&str, Vec<Entry>, FailureKind, &str)> = vec![
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::RawPath(b"/etc/evil", b"x".to_vec())],
            FailureKind::Archive,
            "absolute",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::RawPath(b"../evil", b"x".to_vec())],
            FailureKind::Archive,
            "..",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::RawPath(b"a/../../evil", b"x".to_vec())],
            FailureKind::Archive,
            "..",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::Symlink("esc", "../../../../outside")],
            FailureKind::Archive,
            "esc",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::Symlink("abs", "/etc/passwd")],
            FailureKind::Archive,
            "abs",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::Symlink("d", "."),
                Entry::File("d/x", 0o644, b"x".to_vec()),
            ],
            FailureKind::Archive,
            "d/x",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::Hardlink("h", "/etc/passwd")],
            FailureKind::Archive,
            "h",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::CharDevice("null")],
            FailureKind::Archive,
            "null",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::Fifo("pipe")],
            FailureKind::Archive,
            "pipe",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::File("suid", 0o4755, b"x".to_vec())],
            FailureKind::Archive,
            "suid",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_sh(), Entry::File("sgid", 0o2755, b"x".to_vec())],
            FailureKind::Archive,
            "sgid",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::File("bomb", 0o644, vec![0u8; 3 * 1024 * 1024]),
            ],
            FailureKind::Archive,
            "larger than",
        ),
        (
            "app.v2.tar.gz",
            vec![
                Entry::File("install.sh", 0o644, b"#!/bin/sh\necho\n".to_vec()),
                ok_conf(),
            ],
            FailureKind::Content,
            "executable",
        ),
        (
            "app.v2.tar.gz",
            vec![
                Entry::File("install.sh", 0o755, b"echo no shebang\n".to_vec()),
                ok_conf(),
            ],
            FailureKind::Content,
            "shebang",
        ),
        (
            "app.v2.tar.gz",
            vec![ok_conf()],
            FailureKind::Content,
            "install.sh",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::File(
                    "supervisor.conf",
                    0o644,
                    b"[program:other]\ncommand = x\n".to_vec(),
                ),
            ],
            FailureKind::Content,
            "other",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::File(
                    "supervisor.conf",
                    0o644,
                    b"[supervisord]\nstartsecs = 0\n".to_vec(),
                ),
            ],
            FailureKind::Content,
            "command",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::File(
                    "supervisor.conf",
                    0o644,
                    b"[supervisord]\ncommand = x\n[inet_http_server]\nport = 9001\n".to_vec(),
                ),
            ],
            FailureKind::ProgramConfig,
            "exactly one section",
        ),
        (
            "app.v2.tar.gz",
            vec![
                ok_sh(),
                Entry::File(
                    "supervisor.conf",
                    0o644,
                    b"[DEFAULT]\nuser = root\n[supervisord]\ncommand = x\n".to_vec(),
                ),
            ],
            FailureKind::ProgramConfig,
            "[DEFAULT]",
        ),
        (
            "app-2.tar.gz",
            vec![ok_sh(), ok_conf()],
            FailureKind::BadName,
            "app-2.tar.gz",
        ),
        (
            "app.v2+x.tar.gz",
            vec![ok_sh(), ok_conf()],
            FailureKind::BadName,
            "version",
        ),
    ];
    let mut cfg = config(&root, Some(&sup));
    cfg.limits = cfg.limits.with_max_uncompressed_bytes(2 * 1024 * 1024);
    let inst = Installer::new(cfg.clone());
    for (i, (name, entries, kind, words)) in cases.into_iter().enumerate() {
        let case_dir = dir.join(format!("case{i}"));
        std::fs::create_dir_all(&case_dir).unwrap();
        let path = tarball(&case_dir, name, entries);
        let r = inst.install_file(&path, "engine_fetch");
        assert_eq!(r.result, InstallResult::Failed, "case {i} {name}: {r:#?}");
        let err = r.error.as_ref().expect("error");
        assert_eq!(err.kind, kind, "case {i}: {}", err.message);
        assert!(
            err.message.contains(words),
            "case {i}: {:?} lacks {words:?}",
            err.message
        );
        assert!(r.script.is_none(), "case {i}: install.sh ran");
        assert_v1_untouched(&root, &sup, "app", &link, pid, &conf);
        assert!(!outside.exists());
    }
    // Not gzip, truncated, too many entries, wrong digest.
    let junk = dir.join("junk/app.v2.tar.gz");
    std::fs::create_dir_all(junk.parent().unwrap()).unwrap();
    std::fs::write(&junk, b"this is not a tarball").unwrap();
    let r = inst.install_file(&junk, "cli");
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Archive);
    assert!(r.error.as_ref().unwrap().message.contains("gzip"));
    let good = sleeper_app(&dir, "app", "2", 1002);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut/app.v2.tar.gz");
    std::fs::create_dir_all(cut.parent().unwrap()).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let r = inst.install_file(&cut, "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::Archive,
        "{r:#?}"
    );
    let mut few = cfg.clone();
    few.limits = few.limits.with_max_entries(1);
    let r = Installer::new(few).install_file(&good, "cli");
    assert!(
        r.error.as_ref().unwrap().message.contains("entries"),
        "{r:#?}"
    );
    let r = inst.install(
        &good,
        &gwe_ota::InstallRequest {
            source: "engine_fetch".into(),
            expected_sha256: Some("0".repeat(64)),
            owns_tarball: false,
        },
    );
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Digest);
    assert!(r.error.as_ref().unwrap().message.contains(&"0".repeat(64)));
    assert_v1_untouched(&root, &sup, "app", &link, pid, &conf);
    // The failures are recorded as the last attempt.
    assert_eq!(
        registry_entry(&root, "app")["last_attempt"]["result"],
        "failed"
    );
}

#[test]
fn install_script_failure_and_timeout_leave_v1_running() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let (link, pid) = install_v1(&dir, &root, &sup, "app");
    let conf = std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap();
    let failing = tarball(
        &dir,
        "app.v2.tar.gz",
        vec![
            install_sh("echo step one\necho broken >&2\nexit 7"),
            supervisor_conf("sleep 1002"),
        ],
    );
    let r = installer(&root, Some(&sup)).install_file(&failing, "cli");
    assert_eq!(r.result, InstallResult::Failed);
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Script);
    let s = r.script.as_ref().unwrap();
    assert_eq!(s.exit_code, Some(7));
    assert_eq!(s.stdout, "step one\n");
    assert_eq!(s.stderr, "broken\n");
    assert_v1_untouched(&root, &sup, "app", &link, pid, &conf);
    let slow_dir = dir.join("slow");
    std::fs::create_dir_all(&slow_dir).unwrap();
    let slow = tarball(
        &slow_dir,
        "app.v2.tar.gz",
        vec![
            install_sh("echo start\nsleep 30"),
            supervisor_conf("sleep 1002"),
        ],
    );
    let mut cfg = config(&root, Some(&sup));
    cfg.script_timeout = std::time::Duration::from_millis(500);
    let r = Installer::new(cfg).install_file(&slow, "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::ScriptTimeout,
        "{r:#?}"
    );
    assert!(r.script.as_ref().unwrap().timed_out);
    assert_eq!(r.script.as_ref().unwrap().stdout, "start\n");
    assert_v1_untouched(&root, &sup, "app", &link, pid, &conf);
}

#[test]
fn a_new_version_that_does_not_stay_up_is_rolled_back() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    let (link, _) = install_v1(&dir, &root, &sup, "app");
    let conf = std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap();
    // v2 exits after half a second: RUNNING (startsecs = 0), then gone.
    let crashing = tarball(
        &dir,
        "app.v2.tar.gz",
        vec![
            install_sh("echo v2"),
            supervisor_conf("/bin/sh -c 'echo v2 dying; sleep 0.3; exit 3'"),
        ],
    );
    let r = installer(&root, Some(&sup)).install_file(&crashing, "engine_fetch");
    assert_eq!(r.result, InstallResult::RolledBack, "{r:#?}");
    assert_eq!(r.error.as_ref().unwrap().kind, FailureKind::Unhealthy);
    let rb = r.rollback.as_ref().unwrap();
    assert_eq!(rb.restored_version.as_deref(), Some("1"));
    assert_eq!(rb.programs[0].state, "RUNNING");
    assert!(!rb.failed_programs.is_empty());
    assert!(
        rb.failed_programs[0].log_tail.contains("v2 dying"),
        "{rb:#?}"
    );
    // v1 is back: link, config, registry, process.
    assert_eq!(current(&root, "app").as_deref(), Some(link.as_str()));
    assert_eq!(
        std::fs::read_to_string(root.join("conf.d/app.conf")).unwrap(),
        conf
    );
    assert_eq!(registry_version(&root, "app").as_deref(), Some("1"));
    assert_eq!(
        registry_entry(&root, "app")["last_attempt"]["result"],
        "rolled_back"
    );
    wait_for("v1 running again", 10, || {
        sup.program("app").is_some_and(|p| p.0 == "RUNNING")
    });
    assert!(sup.cmdline("app").unwrap().contains("sleep 1001"));
    // A first install that never comes up leaves nothing behind.
    let never = tarball(
        &dir,
        "other.v1.tar.gz",
        vec![install_sh("true"), supervisor_conf("/nonexistent/binary")],
    );
    let r = installer(&root, Some(&sup)).install_file(&never, "cli");
    assert_eq!(r.result, InstallResult::RolledBack, "{r:#?}");
    assert!(r.rollback.as_ref().unwrap().restored_version.is_none());
    assert!(!root.join("conf.d/other.conf").exists());
    assert!(!root.join("apps/other").exists());
    assert!(sup.program("other").is_none());
    assert!(registry_version(&root, "other").is_none());
}

#[test]
fn signatures_when_keys_are_configured() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root, keys, other) = (
        t.path().join("pkgs"),
        t.path().join("gw"),
        t.path().join("trusted"),
        t.path().join("other"),
    );
    for d in [&dir, &keys, &other] {
        std::fs::create_dir_all(d).unwrap();
    }
    // The signer keeps its private key; the gateway trusts only the public one.
    let release = gwe_package::generate_keypair(&other, "release").unwrap();
    std::fs::copy(&release.public_key, keys.join("release.pub")).unwrap();
    let good_priv = release.private_key;
    let bad_key = gwe_package::generate_keypair(&other, "attacker").unwrap();
    let mut cfg = config(&root, None);
    cfg.trusted_keys_dir = Some(keys.clone());
    let inst = Installer::new(cfg);
    let pkg = |sub: &str, version: &str| {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        tarball(
            &d,
            &format!("lib.v{version}.tar.gz"),
            vec![install_sh("echo lib")],
        )
    };
    // Unsigned.
    let r = inst.install_file(&pkg("unsigned", "1"), "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::Signature,
        "{r:#?}"
    );
    assert!(r.error.as_ref().unwrap().message.contains("unsigned"));
    // Signed by a key that is not trusted.
    let p = pkg("foreign", "1");
    gwe_package::sign_tarball(&p, &bad_key.private_key).unwrap();
    let r = inst.install_file(&p, "cli");
    assert!(
        r.error.as_ref().unwrap().message.contains("unknown key"),
        "{r:#?}"
    );
    // Tampered after signing.
    let p = pkg("tampered", "1");
    gwe_package::sign_tarball(&p, &good_priv).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(b"\0\0");
    std::fs::write(&p, bytes).unwrap();
    let r = inst.install_file(&p, "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::Signature,
        "{r:#?}"
    );
    // Signature of another file renamed to this one.
    let p1 = pkg("renamed", "1");
    gwe_package::sign_tarball(&p1, &good_priv).unwrap();
    let p2 = p1.with_file_name("lib.v2.tar.gz");
    std::fs::rename(&p1, &p2).unwrap();
    std::fs::rename(
        gwe_package::signature_path(&p1),
        gwe_package::signature_path(&p2),
    )
    .unwrap();
    let r = inst.install_file(&p2, "cli");
    assert!(
        r.error
            .as_ref()
            .unwrap()
            .message
            .contains("signature is for"),
        "{r:#?}"
    );
    assert!(registry_version(&root, "lib").is_none());
    // Good.
    let p = pkg("good", "3");
    gwe_package::sign_tarball(&p, &good_priv).unwrap();
    let r = inst.install_file(&p, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert!(r.signature.as_deref().unwrap().starts_with("verified"));
    assert_eq!(registry_version(&root, "lib").as_deref(), Some("3"));
    // A malformed key file fails closed.
    std::fs::write(keys.join("broken.pub"), "garbage\n").unwrap();
    let r = inst.install_file(&pkg("closed", "4"), "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::Signature,
        "{r:#?}"
    );
    assert_eq!(registry_version(&root, "lib").as_deref(), Some("3"));
}

#[test]
fn python_setup_py_package() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = t.path().join("setup-ran");
    let setup = format!(
        "import sys\nassert sys.argv[1:] == ['install'], sys.argv\nopen({:?}, 'w').write('ok')\nprint('installed pylib')\n",
        marker.display().to_string()
    );
    let pkg = tarball(
        &dir,
        "pylib.v126-20050316.tar.gz",
        vec![
            Entry::File("setup.py", 0o644, setup.into_bytes()),
            Entry::Dir("pylib"),
            Entry::File("pylib/__init__.py", 0o644, vec![]),
        ],
    );
    let mut no_py = config(&root, None);
    no_py.python = vec![t.path().join("no/python3")];
    let r = Installer::new(no_py).install_file(&pkg, "cli");
    assert_eq!(
        r.error.as_ref().unwrap().kind,
        FailureKind::NoPython,
        "{r:#?}"
    );
    assert!(r
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("Python interpreter"));
    assert!(!marker.exists());
    let r = installer(&root, None).install_file(&pkg, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert_eq!(r.kind.as_deref(), Some("python_library"));
    assert!(r
        .script
        .as_ref()
        .unwrap()
        .command
        .ends_with("setup.py install"));
    assert_eq!(r.script.as_ref().unwrap().stdout, "installed pylib\n");
    assert!(marker.exists());
    assert_eq!(
        registry_version(&root, "pylib").as_deref(),
        Some("126-20050316")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_commands_and_malformed_commands() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = tokio::task::block_in_place(|| Supervisord::start(&root));
    tokio::task::block_in_place(|| install_v1(&dir, &root, &sup, "app"));
    let inst = installer(&root, Some(&sup));
    let s = inst.run_command(r#"{"stop": ["app"]}"#, None).await;
    assert!(s.ok, "{s:#?}");
    assert_eq!(sup.program("app").unwrap().0, "STOPPED");
    let s = inst
        .run_command(
            r#"{"start": [{"name": "app"}], "restart": ["ghost"]}"#,
            None,
        )
        .await;
    assert!(!s.ok);
    assert_eq!(s.items[0].action, "start");
    assert_eq!(s.items[0].result, gwe_ota::ItemResult::Done);
    assert_eq!(
        s.items[1].error.as_ref().unwrap().kind,
        FailureKind::NotInstalled
    );
    assert_eq!(sup.program("app").unwrap().0, "RUNNING");
    let pid = sup.program("app").unwrap().1;
    let s = inst.run_command(r#"{"restart": ["app"]}"#, None).await;
    assert!(s.ok);
    assert_ne!(sup.program("app").unwrap().1, pid);
    // Installs need a content source; the other items still run.
    let s = inst
        .run_command(
            r#"{"install": [{"name": "x.v1.tar.gz"}], "uninstall": ["app", "../etc"]}"#,
            None,
        )
        .await;
    assert_eq!(s.items.len(), 3);
    assert_eq!(s.items[0].result, gwe_ota::ItemResult::Failed);
    assert_eq!(
        s.items[1].result,
        gwe_ota::ItemResult::Uninstalled,
        "{s:#?}"
    );
    assert_eq!(s.items[2].result, gwe_ota::ItemResult::Failed);
    assert!(sup.program("app").is_none());
    assert!(!root.join("apps/app").exists() && !root.join("conf.d/app.conf").exists());
    assert!(registry_entry(&root, "app").is_null());
    for bad in [
        "{",
        r#"{"install": [{"name": "a.v1.tar.gz", "bogus": 1}]}"#,
        r#"{"reboot": true}"#,
    ] {
        let s = inst.run_command(bad, None).await;
        assert!(!s.ok && s.items.is_empty());
        let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(json["error"]["kind"], "command", "{bad}");
    }
}

#[test]
fn kind_changes_and_autostart_false() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root) = (t.path().join("pkgs"), t.path().join("gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let sup = Supervisord::start(&root);
    install_v1(&dir, &root, &sup, "app");
    let inst = installer(&root, Some(&sup));
    // v2 has no supervisor.conf any more: its program goes.
    let v2 = tarball(
        &dir,
        "app.v2.tar.gz",
        vec![install_sh("echo now a one-off")],
    );
    let r = inst.install_file(&v2, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert_eq!(r.kind.as_deref(), Some("one_off"));
    assert!(!root.join("conf.d/app.conf").exists());
    assert!(sup.program("app").is_none());
    assert_eq!(r.supervisor.as_ref().unwrap().removed, vec!["app"]);
    // v3 is supervised again but not started automatically: no health window, not started.
    let v3 = tarball(
        &dir,
        "app.v3.tar.gz",
        vec![
            install_sh("true"),
            Entry::File(
                "supervisor.conf",
                0o644,
                b"[program:app]\ncommand = sleep 1003\nautostart = false\n".to_vec(),
            ),
        ],
    );
    let r = inst.install_file(&v3, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert!(
        r.programs.is_empty(),
        "no health window for autostart=false"
    );
    assert_eq!(sup.program("app").unwrap().0, "STOPPED");
    assert_eq!(registry_entry(&root, "app")["previous_version"], "2");
    // Same file, other digest under the same version: installed again, not "already".
    let v3b_dir = dir.join("b");
    std::fs::create_dir_all(&v3b_dir).unwrap();
    let v3b = tarball(&v3b_dir, "app.v3.tar.gz", vec![install_sh("echo rebuilt")]);
    let r = inst.install_file(&v3b, "cli");
    assert_eq!(r.result, InstallResult::Installed, "{r:#?}");
    assert_eq!(r.script.as_ref().unwrap().stdout, "rebuilt\n");
}
