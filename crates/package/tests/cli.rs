//! The ready-made flag bodies the engine CLI calls for -x, -w, -y and -z.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::*;
use gwe_package::cli::{
    build_app_command, check_buildfile_command, check_tarball_command, create_buildfile_command,
};
use gwe_package::{BuildOptions, Buildfile, Limits};

#[test]
fn create_then_check_then_build_then_check_tarball() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // -x on a terminal: the three questions, then the summary.
    let mut out = Vec::new();
    let path = create_buildfile_command(
        dir,
        None,
        None,
        true,
        false,
        &mut &b"gwe-buildfile.json\nhello\n3\n"[..],
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Provide build file name (my_app.json): Provide app name (my_app): Provide app version (1): "), "{text}");
    assert!(
        text.contains("Build file created") && text.contains("\"name\": \"hello\""),
        "{text}"
    );
    assert_eq!(Buildfile::load(&path).unwrap().version, "3");

    // -x -n -s without a terminal: no questions, default file name; --json prints the buildfile.
    let mut out = Vec::new();
    let p2 = create_buildfile_command(
        dir,
        Some("other"),
        Some("7"),
        false,
        true,
        &mut &b""[..],
        &mut out,
    )
    .unwrap();
    assert_eq!(p2, dir.join("my_app.json"));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["version"].as_str()),
        (Some("other"), Some("7"))
    );

    // -w: fails until install.sh exists.
    let mut out = Vec::new();
    assert!(!check_buildfile_command(&path, false, &mut out).unwrap());
    fs::write(dir.join("install.sh"), INSTALL).unwrap();
    fs::set_permissions(dir.join("install.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut out = Vec::new();
    assert!(check_buildfile_command(&path, false, &mut out).unwrap());
    assert!(String::from_utf8(out).unwrap().ends_with("\n[PASS]\n"));
    let mut out = Vec::new();
    assert!(check_buildfile_command(&path, true, &mut out).unwrap());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()["passed"],
        true
    );

    // -y: stdout is exactly the tarball path; checks go to stderr only when asked.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert!(build_app_command(
        &path,
        &BuildOptions::default(),
        false,
        false,
        &mut out,
        &mut err
    )
    .unwrap());
    let tarball = fs::canonicalize(dir).unwrap().join("hello.v3.tar.gz");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n", tarball.display())
    );
    assert!(err.is_empty());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    build_app_command(
        &path,
        &BuildOptions::default(),
        true,
        true,
        &mut out,
        &mut err,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["report"]["kind"], "one_off");
    assert!(String::from_utf8(err)
        .unwrap()
        .contains("[PASS] install.sh: present"));

    // -z on the result, text and JSON.
    let mut out = Vec::new();
    assert!(check_tarball_command(&tarball, &Limits::default(), false, &mut out).unwrap());
    assert!(String::from_utf8(out).unwrap().ends_with("\n[PASS]\n"));
    let mut out = Vec::new();
    let bad = write(dir, "bad.tar.gz", b"not gzip");
    assert!(!check_tarball_command(&bad, &Limits::default(), true, &mut out).unwrap());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()["passed"],
        false
    );
}
