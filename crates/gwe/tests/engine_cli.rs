//! The `gwe` engine command line, run as the real binary with temp configuration directories:
//! every flag of the original, argparse-style prefixes, printed formats, configuration
//! mistakes, `--once` against a real in-process gwe-hub, and the hand-over of the long-running
//! engine to a `gwe-engine` installed beside `gwe`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod child_guard;
mod local_hub;
use child_guard::StopOnDrop;
use local_hub::LocalHub;

const GWE: &str = env!("CARGO_BIN_EXE_gwe");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A temp config dir plus a fake `/sys/class/net` with `eth0` and `wlan0`.
struct Gw {
    root: tempfile::TempDir,
}

impl Gw {
    fn new() -> Gw {
        let root = tempfile::tempdir().unwrap();
        for (iface, mac) in [
            ("eth0", "02:1a:2b:3c:4d:5e"),
            ("wlan0", "02:AA:BB:CC:DD:EE"),
        ] {
            let dir = root.path().join("net").join(iface);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
        }
        Gw { root }
    }

    fn etc(&self) -> PathBuf {
        self.root.path().join("etc")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_of(Path::new(GWE), args)
    }

    /// `program` (a copy of gwe) with this gateway's environment.
    fn cmd_of(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env("GWE_CONFIG_DIR", self.etc())
            .env("GWE_SYS_CLASS_NET", self.root.path().join("net"))
            .env("GWE_STATE_DIR", self.root.path().join("state"))
            .env_remove("RUST_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run gwe")
    }

    /// Runs, expects exit code `code`, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.expect(args, 0)
    }

    fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "gwe {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn stderr(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "gwe {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Writes Engine.config: the engine talks to `server`, audits into the temp dir, plus
    /// `extra` lines.
    fn engine_config(&self, server: &str, extra: &str) {
        std::fs::create_dir_all(self.etc()).unwrap();
        std::fs::write(
            self.etc().join("Engine.config"),
            format!(
                "[engine]\nserver_url = {server}\naudit_db = {}\n{extra}",
                self.root.path().join("ifaces.db").display()
            ),
        )
        .unwrap();
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.etc().join(name)).unwrap_or_default()
    }
}

fn device(cik: &str, model: &str, vendor: &str, uuid: &str, iface: &str) -> String {
    let q = |v: &str| {
        if v.is_empty() {
            "''".to_string()
        } else {
            v.to_string()
        }
    };
    format!(
        "[device]\ncik = {}\nmodel = {}\nvendor = {}\nuuid = {}\niface = {}\n",
        q(cik),
        q(model),
        q(vendor),
        q(uuid),
        q(iface)
    )
}

#[test]
fn version_path_and_help() {
    let gw = Gw::new();
    assert_eq!(gw.ok(&["-v"]), format!("{VERSION}\n"));
    assert_eq!(gw.ok(&["--version"]), format!("{VERSION}\n"));
    assert_eq!(
        gw.ok(&["--vers"]),
        format!("{VERSION}\n"),
        "prefix of --version"
    );
    let path = gw.ok(&["-p"]);
    assert_eq!(PathBuf::from(path.trim()), Path::new(GWE).parent().unwrap());
    assert_eq!(gw.ok(&["--path"]), path);
    let help = gw.ok(&["-h"]);
    for flag in [
        "--version",
        "--path",
        "--engine-conf",
        "--gateway-cfg",
        "--gateway-cik",
        "--once",
        "--create-buildfile",
        "--build-app-tarball",
        "--check-buildfile",
        "--check-tarball",
        "--install-apps",
        "--set-cik",
        "--set-model",
        "--set-vendor",
        "--set-product-id",
        "--set-uuid",
        "--set-iface",
        "--set-act-retry-interval",
        "--set-debug-level",
        "--set-update-interval",
        "--set-user-agent",
        "--app-name",
        "--app-version",
        "--download-latest",
        "--mac-address",
        "--config-dir",
    ] {
        assert!(help.contains(flag), "help lacks {flag}:\n{help}");
    }
    for short in [
        "-v,", "-p,", "-e,", "-g,", "-C,", "-o,", "-x,", "-y,", "-w,", "-z,", "-I,", "-c,", "-m,",
        "-r,", "-P,", "-u,", "-i,", "-l,", "-d,", "-t,", "-a,", "-n,", "-s,",
    ] {
        assert!(help.contains(short), "help lacks {short}");
    }
    let long_help = gw.ok(&["--help"]);
    assert!(long_help.contains("--set-product-id") && long_help.contains("[alias: --product-id]"));
}

#[test]
fn gateway_cik_prints_the_bare_value() {
    let gw = Gw::new();
    assert_eq!(gw.ok(&["-C"]), "''\n");
    let printed = gw.ok(&["--set-cik", "0123456789abcdef0123456789abcdef01234567"]);
    assert_eq!(
        printed,
        device("0123456789abcdef0123456789abcdef01234567", "", "", "", "")
    );
    assert_eq!(
        gw.ok(&["--gateway-cik"]),
        "0123456789abcdef0123456789abcdef01234567\n"
    );
    assert_eq!(
        gw.ok(&["--gateway-ci"]),
        "0123456789abcdef0123456789abcdef01234567\n"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(gw.etc().join("Gateway.cfg"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "Gateway.cfg holds the CIK");
}

#[test]
fn configuring_flags_combine_and_print_the_result() {
    let gw = Gw::new();
    // The getting-started example: product id and interface in one call.
    let out = gw.ok(&["--product-id", "dubhxzv0r4e1m7vj", "--set-iface", "eth0"]);
    assert_eq!(
        out,
        format!(
            "Found interface 'eth0' with MAC address (serial/uuid): 02:1A:2B:3C:4D:5E\n{}",
            device("", "dubhxzv0r4e1m7vj", "dubhxzv0r4e1m7vj", "", "eth0")
        )
    );
    assert_eq!(
        gw.ok(&["-g"]),
        device("", "dubhxzv0r4e1m7vj", "dubhxzv0r4e1m7vj", "", "eth0")
    );
    assert_eq!(gw.ok(&["--gateway-cfg"]), gw.ok(&["-g"]));
    // -m and -r after -P override one side; -u sets and '' clears.
    assert_eq!(
        gw.ok(&["-P", "p1", "-m", "m2"]),
        device("", "m2", "p1", "", "eth0")
    );
    assert_eq!(
        gw.ok(&["-r", "v3", "-u", "SERIAL-9"]),
        device("", "m2", "v3", "SERIAL-9", "eth0")
    );
    assert_eq!(
        gw.ok(&["--set-uuid", ""]),
        device("", "m2", "v3", "", "eth0")
    );
    assert_eq!(
        gw.ok(&["--set-model", "m", "--set-vendor", "v"]),
        device("", "m", "v", "", "eth0")
    );
    // --mac-address prints an interface's MAC.
    assert_eq!(gw.ok(&["--mac-address", "wlan0"]), "02:AA:BB:CC:DD:EE\n");
    assert!(gw.stderr(&["--mac-address", "ppp9"], 1).contains("ppp9"));
    // The written file is INI that reads back.
    assert!(gw.file("Gateway.cfg").contains("[device]"));
}

#[test]
fn an_unknown_interface_is_set_with_a_warning() {
    let gw = Gw::new();
    let out = gw.run(&["-i", "ppp0"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("ppp0"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        device("", "", "", "", "ppp0")
    );
}

#[test]
fn engine_settings_print_and_combine() {
    let gw = Gw::new();
    let defaults = gw.ok(&["-e"]);
    assert!(
        defaults
            .starts_with("[engine]\nupdate_interval = 14400\nlog_level = INFO\nuser_agent = ''\n"),
        "{defaults}"
    );
    assert!(defaults.contains("activation_retry_interval = "));
    let out = gw.ok(&["-t", "60", "-l", "5", "-d", "debug", "-a", "MyAgent/2"]);
    assert!(out.contains("update_interval = 60\n"), "{out}");
    assert!(out.contains("activation_retry_interval = 5\n"));
    assert!(out.contains("log_level = DEBUG\n"));
    assert!(out.contains("user_agent = MyAgent/2\n"));
    assert_eq!(gw.ok(&["--engine-conf"]), out);
    // Long names and prefixes.
    assert!(gw
        .ok(&["--set-update-interval", "120"])
        .contains("update_interval = 120\n"));
    assert!(gw
        .ok(&["--set-up", "30"])
        .contains("update_interval = 30\n"));
    assert!(gw
        .ok(&["--set-act", "7"])
        .contains("activation_retry_interval = 7\n"));
    assert!(gw
        .ok(&["--set-debug-level", "ERROR"])
        .contains("log_level = ERROR\n"));
    // '' restores the default User-Agent.
    assert!(gw
        .ok(&["--set-user-agent", ""])
        .contains("user_agent = ''\n"));
    assert!(!gw.file("Engine.config").contains("MyAgent"));
    // Device and engine flags together print both.
    let both = gw.ok(&["-u", "S1", "-t", "90"]);
    assert!(
        both.starts_with("[device]\n") && both.contains("[engine]\nupdate_interval = 90\n"),
        "{both}"
    );
}

#[test]
fn bad_values_are_refused_and_nothing_is_written() {
    let gw = Gw::new();
    gw.ok(&["-u", "KEEP"]);
    for (args, needle) in [
        (vec!["-t", "0"], "--set-update-interval"),
        (vec!["-t", "soon"], "whole number"),
        (vec!["-t", "99999999999"], "out of range"),
        (vec!["-l", "-1"], "--set-act-retry-interval"),
        (vec!["-c", "has space"], "--set-cik"),
        (vec!["-i", "../../etc"], "--set-iface"),
        (vec!["-u", "NEW", "-t", "0"], "--set-update-interval"),
        (vec!["-a", "agent ;comment"], "--set-user-agent"),
    ] {
        let err = gw.stderr(&args, 1);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(
        gw.ok(&["-g"]).contains("uuid = KEEP\n"),
        "a refused call changed Gateway.cfg"
    );
    assert!(gw.ok(&["-e"]).contains("update_interval = 14400\n"));
    // argparse-style usage errors exit 2.
    assert!(gw.stderr(&["-d", "LOUD"], 2).contains("LOUD"));
    assert!(
        gw.stderr(&["--set-u", "5"], 2).contains("--set-u"),
        "ambiguous prefix"
    );
    assert!(gw.stderr(&["--no-such-flag"], 2).contains("--no-such-flag"));
}

#[test]
fn hand_written_mistakes_name_file_key_and_problem() {
    let gw = Gw::new();
    std::fs::create_dir_all(gw.etc()).unwrap();
    std::fs::write(
        gw.etc().join("Engine.config"),
        "[engine]\nupdate_interval = often\n",
    )
    .unwrap();
    let err = gw.stderr(&["-e"], 1);
    assert!(
        err.contains("Engine.config")
            && err.contains("update_interval")
            && err.contains("whole number"),
        "{err}"
    );
    std::fs::write(gw.etc().join("Engine.config"), "update_interval = 5\n").unwrap();
    let err = gw.stderr(&["-e"], 1);
    assert!(err.contains("Engine.config:1"), "{err}");
    std::fs::write(gw.etc().join("Gateway.cfg"), "[device]\ncik = two words\n").unwrap();
    let err = gw.stderr(&["-C"], 1);
    assert!(err.contains("Gateway.cfg") && err.contains("cik"), "{err}");
    std::fs::write(gw.etc().join("Gateway.cfg"), "[dev]\ncik = x\n").unwrap();
    let err = gw.stderr(&["-g"], 1);
    assert!(
        err.contains("Gateway.cfg") && err.contains("[device]"),
        "{err}"
    );
    std::fs::write(gw.etc().join("Gateway.cfg"), [0xffu8, 0xfe, b'\n']).unwrap();
    assert!(gw.stderr(&["-g"], 1).contains("Gateway.cfg"));
    // Files written by the original engine (empty values as '') still read.
    std::fs::write(
        gw.etc().join("Gateway.cfg"),
        "[device]\ncik = ''\nmodel = m\nvendor = v\nuuid = ''\niface = eth0\n",
    )
    .unwrap();
    assert_eq!(gw.ok(&["-g"]), device("", "m", "v", "", "eth0"));
    assert_eq!(gw.ok(&["-C"]), "''\n");
}

#[test]
fn app_name_and_version_alone_are_refused() {
    // The build tools themselves are tested in tests/build_tools.rs.
    let gw = Gw::new();
    for args in [vec!["-n", "x"], vec!["-s", "1"]] {
        let err = gw.stderr(&args, 1);
        assert!(err.contains("--create-buildfile"), "{args:?}: {err}");
    }
    assert!(!gw.etc().exists(), "nothing may be written");
}

#[test]
fn the_engine_refuses_to_run_without_a_serial_number() {
    let gw = Gw::new();
    gw.ok(&["-P", "pid"]);
    let err = gw.stderr(&["-o"], 1);
    assert!(
        err.contains("--set-uuid") && err.contains("--set-iface"),
        "{err}"
    );
    gw.ok(&["-i", "ppp7"]);
    let err = gw.stderr(&["--once"], 1);
    assert!(err.contains("ppp7"), "{err}");
}

#[test]
fn config_dir_flag_moves_the_files() {
    let gw = Gw::new();
    let other = gw.root.path().join("elsewhere");
    let other_s = other.to_str().unwrap();
    gw.ok(&["--config-dir", other_s, "-u", "X1"]);
    assert!(other.join("Gateway.cfg").exists());
    assert!(!gw.etc().join("Gateway.cfg").exists());
    assert!(gw
        .ok(&["--config-dir", other_s, "-g"])
        .contains("uuid = X1\n"));
}

/// Polls `check` every 25 ms for up to `secs`.
fn wait(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn once_activates_and_checks_in_against_a_real_hub() {
    let gw = Gw::new();
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = LocalHub::start(hub_dir.path(), "cli-test-token-0123456789");
    let addr = hub.addr;
    let server = format!("http://{addr}");
    // Point the engine at the hub; an identity the hub does not know fails activation.
    gw.engine_config(&server, "");
    gw.ok(&["-P", "default", "-i", "eth0"]);
    let err = gw.stderr(&["-o"], 1);
    assert!(
        err.contains("activation failed") && err.contains("404"),
        "{err}"
    );
    // The serial was taken from eth0's MAC and written back.
    assert!(gw.ok(&["-g"]).contains("uuid = 02:1A:2B:3C:4D:5E\n"));

    // The operator adds the identity: one cycle activates and reports, then gwe exits 0.
    let body = r#"{"sn": "02:1A:2B:3C:4D:5E"}"#;
    let add = format!(
        "POST /api/v1/products/default/devices HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer cli-test-token-0123456789\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = hub.rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(add.as_bytes()).await.unwrap();
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut out))
            .await
            .expect("the hub answers")
            .unwrap();
        out
    });
    assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
    gw.ok(&["-o"]);
    let cik = gw.ok(&["-C"]);
    assert_eq!(cik.trim().len(), 40, "{cik}");
    // A second --once reuses the CIK.
    gw.ok(&["--once"]);
    assert_eq!(gw.ok(&["-C"]), cik);

    // With the hub gone, --once fails (non-zero) instead of retrying forever.
    hub.stop();
    let err = gw.stderr(&["-o"], 1);
    assert!(err.contains("check-in failed"), "{err}");
}

/// A self-signed certificate for `localhost` / 127.0.0.1 and its key (the hub's test data).
fn hub_test_cert(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../hub/tests/data")
        .join(name)
}

/// An in-process hub serving https with the test certificate.
struct TlsHub {
    hub: LocalHub,
    /// The hub's certificate (what a gateway trusts to reach it).
    cert: PathBuf,
    /// `https://127.0.0.1:PORT`.
    server: String,
    _data: tempfile::TempDir,
}

impl TlsHub {
    const TOKEN: &'static str = "cli-tls-token-0123456789";

    fn start() -> TlsHub {
        let data = tempfile::tempdir().unwrap();
        let cert = hub_test_cert("localhost.crt");
        let hub = LocalHub::start_tls(
            data.path(),
            Self::TOKEN,
            gwe_hub::TlsFiles {
                cert: cert.clone(),
                key: hub_test_cert("localhost.key"),
            },
        );
        let server = format!("https://{}", hub.addr);
        TlsHub {
            hub,
            cert,
            server,
            _data: data,
        }
    }

    /// The operator adds identity `sn` through gwe-hub's own CLI, over https as well.
    fn add_device(&self, sn: &str) {
        use clap::Parser;
        let add = gwe_hub::cli::Cli::try_parse_from([
            "gwe-hub",
            "device",
            "add",
            sn,
            "--url",
            &self.server,
            "--tls-roots",
            &self.cert.display().to_string(),
            "--token",
            Self::TOKEN,
        ])
        .unwrap();
        self.hub
            .rt
            .block_on(gwe_hub::cli::run(add))
            .expect("device add over https");
    }
}

#[test]
fn a_private_hub_over_https_is_trusted_through_tls_roots() {
    let gw = Gw::new();
    let hub = TlsHub::start();
    let (server, cert) = (&hub.server, &hub.cert);
    gw.engine_config(server, "");
    gw.ok(&["-P", "default", "-i", "eth0"]);
    hub.add_device("02:1A:2B:3C:4D:5E");

    // The bundled web PKI does not know a self-signed certificate: refused, and said why.
    let err = gw.stderr(&["-o"], 1);
    assert!(err.contains("certificate"), "{err}");
    assert_eq!(gw.ok(&["-C"]), "''\n");

    // A CA file that is not there: the engine stops with the path in the message.
    let missing = gw.root.path().join("missing-ca.pem");
    gw.engine_config(server, &format!("tls_roots = {}\n", missing.display()));
    let err = gw.stderr(&["-o"], 1);
    assert!(err.contains(&missing.display().to_string()), "{err}");

    // Trusting the hub's certificate: one cycle activates and reports over https.
    gw.engine_config(server, &format!("tls_roots = {}\n", cert.display()));
    assert!(gw
        .ok(&["--engine-conf"])
        .contains(&format!("tls_roots = {}\n", cert.display())));
    gw.ok(&["-o"]);
    let cik = gw.ok(&["-C"]);
    assert_eq!(cik.trim().len(), 40, "{cik}");
    // The release download takes the same roots: it reaches the hub's content area (nothing
    // is published there, so the link is missing) instead of failing the handshake.
    let cwd = gw.root.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = gw
        .cmd(&["--download-latest", "stable"])
        .current_dir(&cwd)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("stable/latest.lnk") && !err.contains("certificate"),
        "{err}"
    );
    hub.hub.stop();
}

#[test]
fn a_renewed_ca_file_is_taken_without_a_restart() {
    let gw = Gw::new();
    let hub = TlsHub::start();
    // The gateway trusts another CA (a certificate that did not sign the hub's).
    let ca = gw.root.path().join("hub-ca.pem");
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("../device-client/tests/data/ca.pem");
    std::fs::copy(&other, &ca).unwrap();
    gw.engine_config(
        &hub.server,
        &format!(
            "activation_retry_interval = 1\ntls_roots = {}\n",
            ca.display()
        ),
    );
    gw.ok(&["-P", "default", "-u", "RENEW-1"]);
    hub.add_device("RENEW-1");
    let log_path = gw.root.path().join("gwe.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let _engine = StopOnDrop(gw.cmd(&[]).stderr(log).spawn().unwrap());
    wait("two refused handshakes in the log", 20, || {
        std::fs::read_to_string(&log_path)
            .is_ok_and(|t| t.matches("activation failed").count() >= 2 && t.contains("certificate"))
    });
    // The CA file is renewed in place: the running engine takes it at its next attempt.
    std::fs::copy(&hub.cert, &ca).unwrap();
    wait("activation with the renewed CA", 20, || {
        gw.ok(&["-C"]).trim().len() == 40
    });
}

#[test]
fn the_engine_loop_stops_cleanly_on_sigterm() {
    let gw = Gw::new();
    std::fs::create_dir_all(gw.etc()).unwrap();
    // A server nobody listens on: the engine keeps retrying and must not exit by itself.
    std::fs::write(
        gw.etc().join("Engine.config"),
        "[engine]\nserver_url = http://127.0.0.1:9\nactivation_retry_interval = 1\n",
    )
    .unwrap();
    gw.ok(&["-u", "LOOP-1"]);
    let log_path = gw.root.path().join("gwe.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = gw.cmd(&[]).stderr(log).spawn().unwrap();
    wait("two failed activation attempts in the log", 20, || {
        std::fs::read_to_string(&log_path)
            .is_ok_and(|t| t.matches("activation failed").count() >= 2)
    });
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "the engine exited while the server was down"
    );
    // SAFETY: signalling our own child.
    unsafe {
        libc_kill(child.id() as i32, 15);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "gwe did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(25));
    };
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("termination signal"), "{text}");
    assert!(
        !text.contains("\u{1b}["),
        "no terminal colours in a log file"
    );
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// `gwe` linked (or copied) into a temp dir, with `gwe-engine` beside it a script that records
/// how it was called in `record` and exits 7.
struct WithSibling {
    dir: tempfile::TempDir,
}

impl WithSibling {
    fn new(engine_script: &str) -> WithSibling {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let gwe = dir.path().join("gwe");
        if std::fs::hard_link(GWE, &gwe).is_err() {
            std::fs::copy(GWE, &gwe).unwrap();
        }
        let script = dir.path().join("gwe-engine");
        std::fs::write(&script, engine_script).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        WithSibling { dir }
    }

    fn gwe(&self) -> PathBuf {
        self.dir.path().join("gwe")
    }

    fn record(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("record")).unwrap_or_default()
    }
}

#[test]
fn the_long_running_engine_is_the_sibling_gwe_engine_when_installed() {
    let gw = Gw::new();
    let sib = WithSibling::new(
        "#!/bin/sh\nd=$(dirname \"$0\")\n{ echo \"argv0=$(basename \"$0\") args=$*\"; \
         echo \"config=$GWE_CONFIG_DIR\"; echo \"expect=$GWE_ENGINE_EXPECT_BUILD\"; \
         echo \"fallback=$GWE_ENGINE_FALLBACK\"; } >> \"$d/record\"\nexit 7\n",
    );
    let run = |args: &[&str]| {
        let out = gw
            .cmd_of(&sib.gwe(), args)
            .env_remove("GWE_ENGINE_IN_PROCESS")
            .output()
            .unwrap();
        out.status.code()
    };
    // gwe alone, --once and --config-dir: exec'd, same arguments and environment.
    assert_eq!(run(&[]), Some(7));
    assert_eq!(run(&["--config-dir", "/c d", "--once"]), Some(7));
    assert_eq!(run(&["-o", "--config-dir=/e"]), Some(7));
    let record = sib.record();
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(lines.len(), 12, "{record}");
    assert_eq!(lines[0], "argv0=gwe-engine args=");
    assert_eq!(lines[4], "argv0=gwe-engine args=--config-dir /c d --once");
    assert_eq!(lines[8], "argv0=gwe-engine args=-o --config-dir=/e");
    assert_eq!(lines[1], format!("config={}", gw.etc().display()));
    let expect = lines[2].strip_prefix("expect=").unwrap();
    assert!(expect.starts_with(&format!("{VERSION}+")), "{expect}");
    assert_eq!(lines[3], format!("fallback={}", sib.gwe().display()));

    // Every other engine flag stays in gwe: nothing more exec'd.
    gw.ok(&["-u", "SIB-1"]);
    for args in [
        &["-v"][..],
        &["-g"],
        &["-u", "SIB-2", "--once"],
        &["--conf", "x", "-g"],
    ] {
        let code = run(args);
        assert_ne!(code, Some(7), "{args:?} went to gwe-engine");
    }
    assert_eq!(
        sib.record(),
        record,
        "only the long-running mode is handed over"
    );
}

#[test]
fn a_sibling_of_another_build_hands_the_engine_back() {
    let gw = Gw::new();
    gw.ok(&["-P", "pid"]);
    // Does what gwe-engine does when built from other sources: exec gwe back, in-process.
    let sib = WithSibling::new(
        "#!/bin/sh\nd=$(dirname \"$0\")\necho \"handed back: $*\" >> \"$d/record\"\n\
         GWE_ENGINE_IN_PROCESS=1 exec \"$GWE_ENGINE_FALLBACK\" \"$@\"\n",
    );
    let out = gw
        .cmd_of(&sib.gwe(), &["--once"])
        .env_remove("GWE_ENGINE_IN_PROCESS")
        .output()
        .unwrap();
    // gwe ran the engine itself once (no serial number: its own error), no exec loop.
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--set-uuid"), "{err}");
    assert!(err.contains("another build"), "{err}");
    assert_eq!(sib.record(), "handed back: --once\n");
}
