//! The tarball checker: `[PASS]`/`[FAIL]` lines, every problem at once, kinds, `--json` shape.

mod common;

use std::path::Path;

use common::*;
use gwe_package::{check_tarball, AppKind, Limits, Status, TarballReport};
use tar::EntryType;

fn check(name: &str, bytes: &[u8]) -> TarballReport {
    let tmp = tempfile::tempdir().unwrap();
    check_tarball(&write(tmp.path(), name, bytes), &Limits::default())
}

fn fails(r: &TarballReport) -> Vec<String> {
    r.checks
        .0
        .iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| format!("{}: {}", l.check, l.message))
        .collect()
}

#[test]
fn good_long_running_app_passes_with_pass_lines() {
    let r = check(
        "test_app.v1.tar.gz",
        &targz(&[
            file("install.sh", 0o755, INSTALL),
            file("supervisor.conf", 0o644, CONF),
            file("test_app.py", 0o644, b""),
        ]),
    );
    let text = r.render();
    assert!(r.passed, "{text}");
    assert_eq!(r.kind, Some(AppKind::LongRunning));
    assert_eq!(r.name.as_ref().map(|n| n.version.as_str()), Some("1"));
    assert_eq!(r.entries, Some(3));
    for line in [
        "[PASS] name: `test_app.v1.tar.gz` is <NAME>.v<VERSION>.tar.gz (name `test_app`, version `1`)",
        "[PASS] safety: no absolute paths",
        "[PASS] install.sh: present at the top level",
        "[PASS] install.sh: executable (mode 755)",
        "[PASS] install.sh: shebang `#!/bin/sh`",
        "[PASS] supervisor.conf: parses; section [supervisord]",
        "[PASS] supervisor.conf: command = /bin/sh /usr/local/bin/example.sh",
        "[PASS] kind: long-running app",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.ends_with("\n[PASS]\n"));
}

#[test]
fn kinds_one_off_python_library_and_program_section() {
    let r = check(
        "send_some_logs.v1.tar.gz",
        &targz(&[file("./install.sh", 0o755, INSTALL)]),
    );
    assert_eq!(
        (r.passed, r.kind),
        (true, Some(AppKind::OneOff)),
        "{}",
        r.render()
    );

    let r = check(
        "modbus_lib.v38.tar.gz",
        &targz(&[
            file("setup.py", 0o644, b""),
            file("modbus_lib/__init__.py", 0o644, b""),
        ]),
    );
    assert_eq!(
        (r.passed, r.kind),
        (true, Some(AppKind::PythonLibrary)),
        "{}",
        r.render()
    );

    let conf = b"[program:gmq]\ncommand = /usr/bin/gmq\n";
    let r = check(
        "gmq.v10_0ca92e7.tar.gz",
        &targz(&[
            file("install.sh", 0o755, INSTALL),
            file("supervisor.conf", 0o644, conf),
        ]),
    );
    assert!(r.passed, "{}", r.render());
    assert!(r.render().contains("section [program:gmq]"));
}

#[test]
fn every_problem_is_listed_at_once() {
    let r = check(
        "my app-1.tar.gz",
        &targz(&[
            file("install.sh", 0o644, b"echo no shebang\n"),
            file(
                "supervisor.conf",
                0o644,
                b"[program:other]\ncommand = x\n[extra]\na = b\n",
            ),
            file("/etc/cron.d/evil", 0o644, b"x"),
            special("dev/null", EntryType::Char),
            file("bin/su", 0o4755, b"x"),
            symlink("etc", "/etc"),
            file("etc/passwd", 0o644, b"x"),
        ]),
    );
    let f = fails(&r);
    let text = r.render();
    let expect = [
        "name: `my app-1.tar.gz`: no `.v`",
        "safety: entry `/etc/cron.d/evil`: absolute path",
        "safety: entry `dev/null`: character device",
        "safety: entry `bin/su`: setuid/setgid",
        "safety: entry `etc`: symlink to absolute path `/etc`",
        "safety: entry `etc/passwd`: would be written through the symlink `etc`",
        "install.sh: not executable",
        "install.sh: first line is not a shebang",
        "supervisor.conf: section [program:other] names program `other`",
        "supervisor.conf: no [supervisord] section",
    ];
    for e in expect {
        assert!(
            f.iter().any(|l| l.starts_with(e)),
            "missing {e:?} in\n{text}"
        );
    }
    assert_eq!(f.len(), expect.len(), "{text}");
    assert!(
        text.contains("[WARN] supervisor.conf: section [extra] is ignored at install"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("[FAIL] {} problems\n", expect.len())),
        "{text}"
    );
    assert!(!r.passed);
    assert_eq!(r.kind, None);
}

#[test]
fn supervisor_conf_problems() {
    let cases: &[(&[u8], &str)] = &[
        (b"command = x\n", "does not parse as INI"),
        (b"[supervisord\ncommand = x\n", "does not parse as INI"),
        (
            b"[supervisord]\nredirect_stderr = true\n",
            "has no `command`",
        ),
        (b"[supervisord]\ncommand = command\n", "has no `command`"),
        (
            b"[supervisord]\ncommand = a\n[program:app]\ncommand = b\n",
            "both [supervisord] and [program:<NAME>]",
        ),
        (
            b"[other]\nx = y\n",
            "no [supervisord] section (or [program:app])",
        ),
        (&[0xff, 0xfe, b'\n'], "not valid UTF-8"),
    ];
    for (conf, needle) in cases {
        let r = check(
            "app.v1.tar.gz",
            &targz(&[
                file("install.sh", 0o755, INSTALL),
                file("supervisor.conf", 0o644, conf),
            ]),
        );
        assert!(
            fails(&r).iter().any(|l| l.contains(needle)),
            "{needle}: {}",
            r.render()
        );
    }
    let big = vec![b'#'; 70 * 1024];
    let r = check(
        "app.v1.tar.gz",
        &targz(&[
            file("install.sh", 0o755, INSTALL),
            file("supervisor.conf", 0o644, &big),
        ]),
    );
    assert!(
        fails(&r).iter().any(|l| l.contains("larger than")),
        "{}",
        r.render()
    );
}

#[test]
fn missing_install_script_and_nested_hint() {
    let r = check(
        "app.v1.tar.gz",
        &targz(&[dir("app"), file("app/install.sh", 0o755, INSTALL)]),
    );
    let f = fails(&r);
    assert_eq!(f.len(), 1, "{}", r.render());
    assert!(
        f[0].contains("missing at the top level") && f[0].contains("found `app/install.sh`"),
        "{}",
        f[0]
    );

    let r = check(
        "app.v1.tar.gz",
        &targz(&[
            symlink("install.sh", "real.sh"),
            file("real.sh", 0o755, INSTALL),
        ]),
    );
    assert!(
        fails(&r).iter().any(|l| l.contains("not a regular file")),
        "{}",
        r.render()
    );

    let r = check(
        "app.v1.tar.gz",
        &targz(&[
            file("install.sh", 0o755, INSTALL),
            file("real.conf", 0o644, CONF),
            symlink("supervisor.conf", "real.conf"),
        ]),
    );
    assert!(
        fails(&r)
            .iter()
            .any(|l| l == "supervisor.conf: present but not a regular file (a link or directory)"),
        "{}",
        r.render()
    );
}

#[test]
fn unreadable_archives_fail_the_archive_check() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"plain text".to_vec(), "not a gzip file"),
        (
            {
                let t = targz(&[
                    file("install.sh", 0o755, INSTALL),
                    file("x", 0o644, &[1u8; 50_000]),
                ]);
                t[..t.len() / 2].to_vec()
            },
            "truncated",
        ),
        (zero_bomb(64 << 20), "larger than"),
    ];
    for (bytes, needle) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "app.v1.tar.gz", &bytes);
        let r = check_tarball(&p, &Limits::default().with_max_uncompressed_bytes(16 << 20));
        assert!(
            fails(&r)
                .iter()
                .any(|l| l.starts_with("archive:") && l.contains(needle)),
            "{needle}: {}",
            r.render()
        );
        assert_eq!(r.sha256, None);
        // A problem cut the pass short: no misleading "missing install.sh" on top.
        assert!(
            !r.render().contains("missing at the top level"),
            "{}",
            r.render()
        );
    }
    let r = check_tarball(Path::new("/nonexistent/app.v1.tar.gz"), &Limits::default());
    assert!(fails(&r).iter().any(|l| l.contains("cannot open")));
}

#[test]
fn json_report_shape() {
    let r = check(
        "app.v1.tar.gz",
        &targz(&[file("install.sh", 0o755, b"no shebang\n")]),
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["name"],
        serde_json::json!({"name": "app", "version": "1"})
    );
    assert_eq!(v["kind"], serde_json::Value::Null);
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
    let checks = v["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["status"] == "fail" && c["check"] == "install.sh"),
        "{v}"
    );
    assert!(checks
        .iter()
        .all(|c| ["pass", "fail", "warn"].contains(&c["status"].as_str().unwrap())));
}
