//! The app build tools of the real `gwe` binary: `-x` (with `-n`/`-s`), `-w`, `-y`/`--build-app`,
//! `-z`/`--check-tarfile`, and the signing flags, in temp dirs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const GWE: &str = env!("CARGO_BIN_EXE_gwe");

fn gwe(dir: &Path, args: &[&str]) -> Output {
    Command::new(GWE)
        .args(args)
        .current_dir(dir)
        .env("GWE_CONFIG_DIR", dir.join("no-config"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An app directory with an executable install.sh and a supervisor.conf.
fn app_files(dir: &Path) {
    std::fs::write(dir.join("install.sh"), "#!/bin/sh\necho installing\n").unwrap();
    std::fs::set_permissions(
        dir.join("install.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        dir.join("supervisor.conf"),
        "[supervisord]\ncommand = /bin/sh -c 'sleep 100'\n",
    )
    .unwrap();
}

#[test]
fn create_check_build_and_check_tarball() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // -x with -n/-s and no terminal: the buildfile takes the default file name.
    let o = gwe(d, &["-x", "-n", "my_app", "-s", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let buildfile = d.join("my_app.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&buildfile).unwrap()).unwrap();
    assert_eq!(json["name"], "my_app");
    assert_eq!(json["version"], "2");
    // A second -x refuses to overwrite.
    let o = gwe(d, &["--create-buildfile", "-n", "my_app", "-s", "2"]);
    assert!(!o.status.success(), "{}", text(&o));

    // -w before the files exist: a failure naming install.sh.
    let o = gwe(d, &["-w", "my_app.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("[FAIL]"), "{}", text(&o));
    assert!(stdout(&o).contains("install.sh"), "{}", text(&o));

    app_files(d);
    std::fs::write(
        &buildfile,
        r#"{"name": "my_app", "version": "2", "includes": ["install.sh", "supervisor.conf"],
            "excludes": [], "pre_build_cmds": [], "post_build_cmds": []}"#,
    )
    .unwrap();
    let o = gwe(d, &["--check-buildfile", "my_app.json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).lines().any(|l| l == "[PASS]"), "{}", text(&o));

    // The docs' spelling: a prefix of --build-app-tarball with the buildfile.
    let o = gwe(d, &["--build-app", "my_app.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let tarball = d.join("my_app.v2.tar.gz");
    assert_eq!(
        Path::new(stdout(&o).trim()).canonicalize().unwrap(),
        tarball.canonicalize().unwrap()
    );
    let first = std::fs::read(&tarball).unwrap();
    // Reproducible: building again gives the same bytes.
    let o = gwe(d, &["-y", "my_app.json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&tarball).unwrap(), first);

    let o = gwe(d, &["-z", "my_app.v2.tar.gz"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("[PASS]"), "{}", text(&o));
    let o = gwe(d, &["--check-tarfile", "my_app.v2.tar.gz", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
}

#[test]
fn build_app_without_argument_uses_the_default_buildfile() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    app_files(d);
    std::fs::write(
        d.join("gwe-buildfile.json"),
        r#"{"name": "dflt", "version": "1.0.3", "includes": ["*"], "excludes": ["*.json"],
            "pre_build_cmds": [], "post_build_cmds": []}"#,
    )
    .unwrap();
    let o = gwe(d, &["-y"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.join("dflt.v1.0.3.tar.gz").is_file(), "{}", text(&o));
}

#[test]
fn hostile_and_broken_inputs_fail_with_reasons() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // Not gzip, wrong name.
    std::fs::write(d.join("junk.v1.tar.gz"), b"not a tarball at all").unwrap();
    let o = gwe(d, &["-z", "junk.v1.tar.gz"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains("[FAIL]"), "{}", text(&o));
    std::fs::write(d.join("badname.tgz"), b"x").unwrap();
    let o = gwe(d, &["-z", "badname.tgz"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A tarball with an entry climbing out with `..`, made with python's tarfile.
    let st = Command::new("python3")
        .current_dir(d)
        .args([
            "-c",
            "import tarfile,io\n\
             t=tarfile.open('evil.v1.tar.gz','w:gz')\n\
             for n,m in (('install.sh',0o755),('../escape.sh',0o644)):\n\
             \x20 i=tarfile.TarInfo(n); d=b'#!/bin/sh\\n'; i.size=len(d); i.mode=m; t.addfile(i,io.BytesIO(d))\n\
             t.close()",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let o = gwe(d, &["-z", "evil.v1.tar.gz"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).contains(".."), "{}", text(&o));
    // Malformed buildfile JSON.
    std::fs::write(d.join("b.json"), "{\"name\": ").unwrap();
    let o = gwe(d, &["-w", "b.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Missing files are errors, not panics.
    let o = gwe(d, &["-y", "missing.json"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    // -n alone is not a build.
    let o = gwe(d, &["-n", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn signing_flags_round_trip_and_refuse_tampering() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    app_files(d);
    std::fs::write(
        d.join("gwe-buildfile.json"),
        r#"{"name": "signed", "version": "1", "includes": ["install.sh"], "excludes": [],
            "pre_build_cmds": [], "post_build_cmds": []}"#,
    )
    .unwrap();
    assert!(gwe(d, &["-y"]).status.success());
    let o = gwe(d, &["--gen-signing-key", "release"]);
    assert!(o.status.success(), "{}", text(&o));
    let key = d.join("release.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(d.join("release.pub").is_file());
    // Never overwrites a key.
    assert!(!gwe(d, &["--gen-signing-key", "release"]).status.success());
    // --sign-tarball needs --key.
    let o = gwe(d, &["--sign-tarball", "signed.v1.tar.gz"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--key"));
    let o = gwe(
        d,
        &["--sign-tarball", "signed.v1.tar.gz", "--key", "release.key"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.join("signed.v1.tar.gz.sig").is_file());
    let o = gwe(
        d,
        &[
            "--check-signature",
            "signed.v1.tar.gz",
            "--key",
            "release.pub",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).starts_with("[PASS]"), "{}", text(&o));
    // A directory of trusted keys works too.
    let keys = d.join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::copy(d.join("release.pub"), keys.join("release.pub")).unwrap();
    let o = gwe(
        d,
        &["--check-signature", "signed.v1.tar.gz", "--key", "keys"],
    );
    assert!(o.status.success(), "{}", text(&o));
    // Tampered tarball: refused.
    let mut bytes = std::fs::read(d.join("signed.v1.tar.gz")).unwrap();
    bytes.push(0);
    std::fs::write(d.join("signed.v1.tar.gz"), bytes).unwrap();
    let o = gwe(
        d,
        &[
            "--check-signature",
            "signed.v1.tar.gz",
            "--key",
            "release.pub",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stdout(&o).starts_with("[FAIL]"), "{}", text(&o));
    // Another key does not verify it.
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    assert!(gwe(&other, &["--gen-signing-key", "x"]).status.success());
    std::fs::remove_file(other.join("x.key")).unwrap();
    assert!(gwe(d, &["-y"]).status.success());
    assert!(gwe(
        d,
        &["--sign-tarball", "signed.v1.tar.gz", "--key", "release.key"]
    )
    .status
    .success());
    let o = gwe(
        d,
        &[
            "--check-signature",
            "signed.v1.tar.gz",
            "--key",
            "other/x.pub",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
