//! Buildfile create/check/build round trip, reproducibility, build commands, globs.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::*;
use gwe_package::{
    build_app_tarball, check_buildfile, create_buildfile, creation_summary, extract_tarball,
    prompt_buildfile_answers, AppKind, BuildError, BuildOptions, Buildfile, BuildfileAnswers,
    BuildfileError, Limits, Status,
};

fn put(dir: &Path, rel: &str, data: &[u8], mode: u32) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// The app of the original docs: install.sh, supervisor.conf, example.sh.
fn example_app(dir: &Path, includes: &[&str], excludes: &[&str]) -> PathBuf {
    put(dir, "install.sh", INSTALL, 0o755);
    put(dir, "supervisor.conf", CONF, 0o644);
    put(
        dir,
        "example.sh",
        b"#!/bin/sh\nwhile true; do sleep 1; done\n",
        0o644,
    );
    let mut b = Buildfile::new("my_gwe_hosted_app", "1");
    b.includes = includes.iter().map(|s| s.to_string()).collect();
    b.excludes = excludes.iter().map(|s| s.to_string()).collect();
    put(dir, "gwe-buildfile.json", b.to_json().as_bytes(), 0o644)
}

/// (path, mode, uid, gid, mtime, uname) of every entry, in archive order.
fn listing(tarball: &Path) -> Vec<(String, u32, u64, u64, u64, String)> {
    let f = fs::File::open(tarball).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                h.username().unwrap().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn names(tarball: &Path) -> Vec<String> {
    listing(tarball).into_iter().map(|l| l.0).collect()
}

#[test]
fn create_check_build_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let answers = BuildfileAnswers {
        file_name: "gwe-buildfile.json".into(),
        name: "my_gwe_hosted_app".into(),
        version: "1".into(),
    };
    let path = create_buildfile(dir, &answers).unwrap();
    assert_eq!(path, dir.join("gwe-buildfile.json"));
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"name": "my_gwe_hosted_app", "version": "1", "includes": ["install.sh"],
            "excludes": [], "pre_build_cmds": [], "post_build_cmds": []})
    );
    let summary = creation_summary(&path, &Buildfile::load(&path).unwrap());
    assert!(
        summary.contains("Build file created") && summary.contains(&path.display().to_string())
    );

    // Without install.sh on disk the check fails and says so.
    let report = check_buildfile(&path);
    assert!(!report.passed);
    assert!(
        report.render().contains("[FAIL] install.sh:"),
        "{}",
        report.render()
    );

    // Add the app's files, as the docs do, then check and build.
    example_app(dir, &["install.sh", "supervisor.conf", "example.sh"], &[]);
    let report = check_buildfile(&path);
    let text = report.render();
    assert!(report.passed, "{text}");
    assert!(text.ends_with("\n[PASS]\n"), "{text}");
    assert!(
        text.contains("[PASS] tarball name: builds `my_gwe_hosted_app.v1.tar.gz`"),
        "{text}"
    );
    assert!(
        text.contains("[PASS] install.sh: shebang `#!/bin/sh`"),
        "{text}"
    );
    assert!(
        text.contains("[PASS] supervisor.conf: parses; section [supervisord]"),
        "{text}"
    );
    assert_eq!(
        report.files,
        vec!["example.sh", "install.sh", "supervisor.conf"]
    );

    let out = build_app_tarball(&path, &BuildOptions::default()).unwrap();
    assert_eq!(
        out.tarball,
        fs::canonicalize(dir)
            .unwrap()
            .join("my_gwe_hosted_app.v1.tar.gz")
    );
    assert_eq!(out.name.name, "my_gwe_hosted_app");
    assert!(out.report.passed, "{}", out.report.render());
    assert_eq!(out.report.kind, Some(AppKind::LongRunning));
    assert_eq!(out.report.sha256.as_deref(), Some(out.sha256.as_str()));
    let l = listing(&out.tarball);
    assert_eq!(
        l.iter().map(|e| (e.0.as_str(), e.1)).collect::<Vec<_>>(),
        vec![
            ("example.sh", 0o644),
            ("install.sh", 0o755),
            ("supervisor.conf", 0o644)
        ]
    );
    for e in &l {
        assert_eq!((e.2, e.3, e.4, e.5.as_str()), (0, 0, 0, "root"), "{}", e.0);
    }
    // GNU tar reads it: owner root/root, epoch mtime.
    let listed = std::process::Command::new("tar")
        .arg("-tzvf")
        .arg(&out.tarball)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.contains("root/root") && l.contains("1970-01-01"))
            .count(),
        3,
        "{listed}"
    );
    // And it extracts back to the same files.
    let staged = extract_tarball(&out.tarball, &dir.join("stage"), &Limits::default()).unwrap();
    assert_eq!(
        fs::read(staged.staging.join("install.sh")).unwrap(),
        INSTALL
    );
    assert_eq!(staged.sha256, out.sha256);
}

#[test]
fn prompt_asks_the_three_questions_with_defaults() {
    let mut out = Vec::new();
    let a = prompt_buildfile_answers(&mut &b"gwe-buildfile.json\n\n2\n"[..], &mut out, None, None)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Provide build file name (my_app.json): Provide app name (my_app): Provide app version (1): "
    );
    assert_eq!(
        (a.file_name.as_str(), a.name.as_str(), a.version.as_str()),
        ("gwe-buildfile.json", "my_app", "2")
    );

    // -n answers the name question: it is not asked.
    let mut out = Vec::new();
    let a = prompt_buildfile_answers(&mut &b"\n\n"[..], &mut out, Some("gmq"), None).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Provide build file name (my_app.json): Provide app version (1): "
    );
    assert_eq!(
        a,
        BuildfileAnswers {
            file_name: "my_app.json".into(),
            name: "gmq".into(),
            version: "1".into()
        }
    );

    // End of input takes every default.
    let a = prompt_buildfile_answers(&mut &b""[..], &mut Vec::new(), None, None).unwrap();
    assert_eq!(a, BuildfileAnswers::default());
    assert_eq!(
        BuildfileAnswers::from_flags(Some("x"), Some("9")).version,
        "9"
    );
}

#[test]
fn create_refuses_overwrite_and_bad_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let a = BuildfileAnswers::default();
    create_buildfile(tmp.path(), &a).unwrap();
    assert!(matches!(
        create_buildfile(tmp.path(), &a),
        Err(BuildfileError::Exists(_))
    ));
    let bad_name = BuildfileAnswers {
        name: "my app".into(),
        file_name: "b.json".into(),
        ..a.clone()
    };
    assert!(matches!(
        create_buildfile(tmp.path(), &bad_name),
        Err(BuildfileError::BadAnswer(_))
    ));
    let bad_file = BuildfileAnswers {
        file_name: "../b.json".into(),
        ..a
    };
    assert!(matches!(
        create_buildfile(tmp.path(), &bad_file),
        Err(BuildfileError::BadFileName(_))
    ));
    assert!(!tmp.path().join("b.json").exists());
}

fn sha_of_build(buildfile: &Path, opts: &BuildOptions) -> String {
    build_app_tarball(buildfile, opts).unwrap().sha256
}

#[test]
fn builds_are_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let bf = example_app(&a, &["*"], &["*.json"]);
    put(&a, "lib/data/table.csv", b"1,2,3\n", 0o600);
    std::os::unix::fs::symlink("data/table.csv", a.join("lib/current.csv")).unwrap();
    let opts = BuildOptions {
        mtime: Some(0),
        ..Default::default()
    };
    let first = build_app_tarball(&bf, &opts).unwrap();
    assert_eq!(
        names(&first.tarball),
        vec![
            "example.sh",
            "install.sh",
            "lib/",
            "lib/current.csv",
            "lib/data/",
            "lib/data/table.csv",
            "supervisor.conf"
        ],
        "sorted, the tarball itself and the excluded buildfile left out"
    );
    let bytes = fs::read(&first.tarball).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x1f, 0x8b, 8, 0],
        "gzip: deflate, no FNAME flag"
    );
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip header mtime is 0");

    // Same inputs again (the old tarball sits in the directory and matches `*`): same sha256.
    assert_eq!(sha_of_build(&bf, &opts), first.sha256);

    // Different mtimes, permission bits other than x, and another directory: same sha256.
    let b = tmp.path().join("elsewhere/b");
    let bf_b = example_app(&b, &["*"], &["*.json"]);
    put(&b, "lib/data/table.csv", b"1,2,3\n", 0o664);
    std::os::unix::fs::symlink("data/table.csv", b.join("lib/current.csv")).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for f in ["install.sh", "example.sh", "lib/data/table.csv"] {
        fs::File::options()
            .write(true)
            .open(b.join(f))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    fs::set_permissions(b.join("install.sh"), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(sha_of_build(&bf_b, &opts), first.sha256);

    // SOURCE_DATE_EPOCH-style mtime: deterministic, and different from mtime 0.
    let at = BuildOptions {
        mtime: Some(1_700_000_000),
        ..Default::default()
    };
    let s1 = sha_of_build(&bf, &at);
    assert_eq!(s1, sha_of_build(&bf, &at));
    assert_ne!(s1, first.sha256);
    assert!(listing(&a.join("my_gwe_hosted_app.v1.tar.gz"))
        .iter()
        .all(|e| e.4 == 1_700_000_000));

    // Changing the x bit or one byte changes the sha256.
    fs::set_permissions(b.join("example.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    let x = sha_of_build(&bf_b, &opts);
    assert_ne!(x, first.sha256);
    put(
        &b,
        "example.sh",
        b"#!/bin/sh\nwhile true; do sleep 2; done\n",
        0o644,
    );
    assert_ne!(sha_of_build(&bf_b, &opts), x);
}

#[test]
fn pre_and_post_build_commands_run_in_the_buildfile_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    example_app(dir, &[], &[]);
    let mut b = Buildfile::new("cmd_app", "2.0");
    b.includes = vec!["install.sh".into(), "generated.txt".into()];
    b.pre_build_cmds = vec!["echo \"$GWE_APP_NAME $GWE_APP_VERSION\" > generated.txt".into()];
    b.post_build_cmds = vec!["rm generated.txt".into(), "touch post-ran".into()];
    let bf = put(dir, "build.json", b.to_json().as_bytes(), 0o644);
    // Run from another working directory: commands still run in the buildfile's directory.
    let check = check_buildfile(&bf);
    assert!(check.passed, "{}", check.render());
    assert!(
        check
            .render()
            .contains("[WARN] files: include `generated.txt` matches no file (yet"),
        "{}",
        check.render()
    );
    let out = build_app_tarball(&bf, &BuildOptions::default()).unwrap();
    assert_eq!(names(&out.tarball), vec!["generated.txt", "install.sh"]);
    assert_eq!(out.report.kind, Some(AppKind::OneOff));
    assert!(!dir.join("generated.txt").exists() && dir.join("post-ran").exists());
    let mut content = String::new();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(
        fs::File::open(&out.tarball).unwrap(),
    ));
    a.entries()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .read_to_string(&mut content)
        .unwrap();
    assert_eq!(content, "cmd_app 2.0\n");

    b.pre_build_cmds = vec!["exit 3".into()];
    put(dir, "build.json", b.to_json().as_bytes(), 0o644);
    match build_app_tarball(&bf, &BuildOptions::default()) {
        Err(BuildError::Command {
            phase: "pre_build_cmds",
            command,
            status,
        }) => {
            assert_eq!(command, "exit 3");
            assert!(status.contains('3'), "{status}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn includes_globs_directories_and_excludes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    example_app(dir, &[], &[]);
    put(dir, "pkg/mod.py", b"x", 0o644);
    put(dir, "pkg/mod.pyc", b"x", 0o644);
    put(dir, "pkg/tmp/junk", b"x", 0o644);
    put(dir, "conf/a.conf", b"x", 0o644);
    put(dir, "conf/b.txt", b"x", 0o644);
    put(dir, ".hidden.sh", b"x", 0o755);
    let mut b = Buildfile::new("globs", "1");
    b.includes = vec!["*.sh".into(), "pkg".into(), "conf/*.conf".into()];
    b.excludes = vec!["*.pyc".into(), "pkg/tmp".into()];
    let bf = put(dir, "b.json", b.to_json().as_bytes(), 0o644);
    let out = build_app_tarball(&bf, &BuildOptions::default()).unwrap();
    assert_eq!(
        names(&out.tarball),
        vec![
            "conf/a.conf",
            "example.sh",
            "install.sh",
            "pkg/",
            "pkg/mod.py"
        ],
        "`*` skips dot files like Python's glob; excludes prune files and directories"
    );

    // Patterns that reach outside, and includes that match nothing, are refused.
    for (pattern, want_bad_pattern) in [
        ("../secret", true),
        ("/etc/passwd", true),
        ("nothing-*", false),
    ] {
        b.includes = vec!["install.sh".into(), pattern.into()];
        put(dir, "b.json", b.to_json().as_bytes(), 0o644);
        let r = build_app_tarball(&bf, &BuildOptions::default());
        if want_bad_pattern {
            assert!(
                matches!(r, Err(BuildError::BadPattern { .. })),
                "{pattern}: {r:?}"
            );
        } else {
            assert!(
                matches!(r, Err(BuildError::IncludeMatchesNothing { .. })),
                "{pattern}: {r:?}"
            );
        }
        assert!(!check_buildfile(&bf).passed, "{pattern}");
    }
}

#[test]
fn escaping_symlinks_and_fifos_in_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bf = example_app(dir, &["*"], &[]);
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    let r = build_app_tarball(&bf, &BuildOptions::default());
    assert!(
        matches!(&r, Err(BuildError::UnsafeInput { path, .. }) if path.ends_with("passwd")),
        "{r:?}"
    );
    assert!(!dir.join("my_gwe_hosted_app.v1.tar.gz").exists());
    let report = check_buildfile(&bf);
    assert!(
        !report.passed && report.render().contains("points outside the app"),
        "{}",
        report.render()
    );

    fs::remove_file(dir.join("passwd")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let r = build_app_tarball(&bf, &BuildOptions::default());
    assert!(
        matches!(&r, Err(BuildError::UnsafeInput { path, reason }) if path.ends_with("pipe") && reason.contains("fifos")),
        "{r:?}"
    );
}

#[test]
fn check_buildfile_lists_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bf = put(
        dir,
        "b.json",
        br#"{"name": "my app", "version": 1, "includes": "install.sh", "excludes": [1], "pre_build_cmds": [], "colour": "red"}"#,
        0o644,
    );
    let r = check_buildfile(&bf);
    let fails: Vec<&str> = r
        .checks
        .0
        .iter()
        .filter(|l| l.status == Status::Fail)
        .map(|l| l.check.as_str())
        .collect();
    let warns: Vec<&str> = r
        .checks
        .0
        .iter()
        .filter(|l| l.status == Status::Warn)
        .map(|l| l.check.as_str())
        .collect();
    assert_eq!(
        fails,
        vec!["includes", "excludes", "tarball name"],
        "{}",
        r.render()
    );
    assert_eq!(
        warns,
        vec!["version", "post_build_cmds", "colour"],
        "{}",
        r.render()
    );
    assert!(r.render().ends_with("[FAIL] 3 problems\n"));

    // Valid JSON, but the files have every content problem at once.
    put(dir, "install.sh", b"echo no shebang\n", 0o644);
    put(dir, "supervisor.conf", b"command = x\n", 0o644);
    let mut b = Buildfile::new("app", "1");
    b.includes = vec![
        "install.sh".into(),
        "supervisor.conf".into(),
        "missing.txt".into(),
    ];
    put(dir, "b.json", b.to_json().as_bytes(), 0o644);
    let text = check_buildfile(&bf).render();
    for needle in [
        "[FAIL] files: include `missing.txt` matches no file",
        "[FAIL] install.sh: not executable",
        "[FAIL] install.sh: first line is not a shebang",
        "[FAIL] supervisor.conf: does not parse as INI",
        "[FAIL] 4 problems",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }

    for (bytes, needle) in [
        (&b"{not json"[..], "[FAIL] json: not valid JSON"),
        (b"[1, 2]", "[FAIL] json: the top level must be an object"),
        (b"{}", "[FAIL] name: missing"),
    ] {
        put(dir, "b.json", bytes, 0o644);
        let text = check_buildfile(&bf).render();
        assert!(text.contains(needle), "{needle}: {text}");
        assert!(matches!(
            Buildfile::load(&bf),
            Err(BuildfileError::Invalid { .. })
        ));
    }
    let text = check_buildfile(&dir.join("absent.json")).render();
    assert!(text.contains("[FAIL] buildfile: cannot read"), "{text}");
    let json = serde_json::to_value(check_buildfile(&bf)).unwrap();
    assert_eq!(json["passed"], false);
}
