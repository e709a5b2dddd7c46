//! The real `gwe-hub` binary: `serve` on port 0 in a temp dir, then every operator
//! subcommand against it, in text and `--json` form, plus SIGTERM shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gwe-hub");

struct Served {
    child: Child,
    url: String,
    token_line: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Served {
    serve_with(data, &[])
}

/// `gwe-hub serve` on a free port of 127.0.0.1 with `extra` arguments; returns once it
/// printed its URL.
fn serve_with(data: &Path, extra: &[&std::ffi::OsStr]) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gwe-hub serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut token_line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = loop {
        assert!(Instant::now() < deadline, "no URL printed");
        let line = lines.next().expect("a line").expect("utf-8");
        if line.starts_with("operator token") {
            token_line = line;
        } else if let Some(url) = line.strip_prefix("gwe-hub listening on ") {
            break url.to_string();
        }
    };
    Served {
        child,
        url,
        token_line,
    }
}

fn cli(served: &Served, data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--url")
        .arg(&served.url)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run gwe-hub")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn http(url: &str, req: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn serve_and_operate_through_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("hub");
    let served = serve(&data);
    // The token is printed once at first start and stored with 0600 permissions.
    let token = std::fs::read_to_string(data.join("operator-token")).expect("token");
    assert!(
        served.token_line.ends_with(token.trim()),
        "{}",
        served.token_line
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("operator-token"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    assert_eq!(
        ok(&cli(&served, &data, &["product", "create", "p2"])),
        "created product p2\n"
    );
    assert_eq!(
        ok(&cli(&served, &data, &["product", "list"])),
        "default\np2\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&cli(&served, &data, &["product", "list", "--json"])))
            .expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(2));

    ok(&cli(&served, &data, &["device", "add", "gw-1"]));
    let out = cli(&served, &data, &["device", "add", "gw-1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("409"),
        "{out:?}"
    );

    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "resources:\n  - alias: engine_fetch\n    format: string\n",
    )
    .expect("spec");
    assert_eq!(
        ok(&cli(
            &served,
            &data,
            &["spec", "apply", spec.to_str().expect("path")]
        )),
        "applied 1 resources to default\n"
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "resources: [").expect("bad spec");
    let out = cli(
        &served,
        &data,
        &["spec", "apply", bad.to_str().expect("path")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml"));

    // The device activates over the Device API and sees the operator's write.
    let act = http(
        &served.url,
        "POST /provision/activate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 7\r\n\r\nid=gw-1",
    );
    let cik = act.rsplit("\r\n\r\n").next().expect("body").to_string();
    assert_eq!(cik.len(), 40, "{act}");
    ok(&cli(
        &served,
        &data,
        &["write", "gw-1", "engine_fetch", "{\"install\":\"a\"}"],
    ));
    ok(&cli(
        &served,
        &data,
        &["write", "gw-1", "engine_fetch", "second"],
    ));
    assert_eq!(
        ok(&cli(&served, &data, &["read", "gw-1", "engine_fetch"])),
        "second\n"
    );
    let hist = ok(&cli(
        &served,
        &data,
        &["read", "gw-1", "engine_fetch", "--history"],
    ));
    let values: Vec<&str> = hist.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    assert_eq!(values, ["second", "{\"install\":\"a\"}"]);
    let read = http(
        &served.url,
        &format!("GET /onep:v1/stack/alias?engine_fetch HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Exosite-CIK: {cik}\r\n\r\n"),
    );
    assert!(read.ends_with("\r\n\r\nengine_fetch=second"), "{read}");

    let list = ok(&cli(&served, &data, &["device", "list"]));
    assert!(list.contains("gw-1"), "{list}");
    let devices: serde_json::Value =
        serde_json::from_str(&ok(&cli(&served, &data, &["device", "list", "--json"])))
            .expect("json");
    assert_eq!(devices[0]["activated"], true);
    ok(&cli(&served, &data, &["device", "enable", "gw-1"]));

    // Content: upload (streamed), list, delete.
    let file = dir.path().join("app.tar.gz");
    std::fs::write(&file, vec![7u8; 70_000]).expect("file");
    let up = ok(&cli(
        &served,
        &data,
        &[
            "content",
            "upload",
            file.to_str().expect("path"),
            "--type",
            "application/gzip",
            "--meta",
            "v1",
        ],
    ));
    assert_eq!(up, "uploaded app.tar.gz (70000 bytes)\n");
    let list = ok(&cli(&served, &data, &["content", "list"]));
    assert!(
        list.starts_with("app.tar.gz\tapplication/gzip\t70000\t"),
        "{list}"
    );
    assert!(list.trim_end().ends_with("\tv1"), "{list}");
    assert_eq!(
        ok(&cli(&served, &data, &["content", "delete", "app.tar.gz"])),
        "deleted app.tar.gz\n"
    );
    assert_eq!(ok(&cli(&served, &data, &["content", "list"])), "");

    // A wrong token is refused.
    let out = Command::new(BIN)
        .args(["product", "list", "--url", &served.url, "--token", "wrong"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
}

#[test]
fn second_start_keeps_token_and_data_and_sigterm_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("hub");
    let first = serve(&data);
    assert!(!first.token_line.is_empty());
    ok(&cli(&first, &data, &["device", "add", "kept"]));
    drop(first);
    let mut second = serve(&data);
    assert!(second.token_line.is_empty(), "token printed again");
    assert!(ok(&cli(&second, &data, &["device", "list"])).contains("kept"));
    // SIGTERM: a clean, prompt exit.
    let pid = i32::try_from(second.child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = second.child.try_wait().expect("wait") {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cli_errors_are_clear() {
    let out = Command::new(BIN)
        .args(["product", "list", "--url", "http://127.0.0.1:1"])
        .env_remove("GWE_HUB_TOKEN")
        .env_remove("GWE_HUB_DATA_DIR")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token or --data-dir"));
    let out = Command::new(BIN)
        .args([
            "product",
            "list",
            "--url",
            "ftp://127.0.0.1:1",
            "--token",
            "t",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let help = Command::new(BIN).arg("--help").output().expect("run");
    let text = String::from_utf8_lossy(&help.stdout);
    for cmd in [
        "serve", "product", "device", "spec", "write", "read", "content",
    ] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn operates_a_hub_over_https() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (cert, key) = (certs.join("localhost.crt"), certs.join("localhost.key"));
    let mut served = serve_with(
        data_dir.path(),
        &[
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    );
    served.url = served.url.replace("127.0.0.1", "localhost");
    assert!(
        served.url.starts_with("https://localhost:"),
        "{}",
        served.url
    );
    let ca = certs.join("localhost.crt");
    let ca = ca.to_str().expect("utf-8 path");
    // trusted through --tls-roots: the operator API answers
    let out = cli(
        &served,
        data_dir.path(),
        &["product", "list", "--tls-roots", ca],
    );
    let text = ok(&out);
    assert!(text.contains("default"), "{text}");
    // the bundled public roots do not trust a self-signed hub: refused
    let out = cli(&served, data_dir.path(), &["product", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS handshake"), "{err}");
}
