//! `gwe --download-latest AREA` against a real in-process gwe-hub: the content item
//! `<AREA>/latest.lnk` names the package, `<AREA>/<name>` is downloaded into the current dir.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

mod local_hub;
use local_hub::LocalHub;

const GWE: &str = env!("CARGO_BIN_EXE_gwe");
const OP: &str = "download-latest-test-token-0123456789";
const SN: &str = "DL-GW-1";

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One HTTP/1.0 request to the hub: status and body.
fn http(rt: &tokio::runtime::Runtime, addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
            .await
            .expect("the hub answers")
            .unwrap();
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(out.len(), |p| p + 4);
        let status = String::from_utf8_lossy(&out[..split])
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out[split..].to_vec())
    })
}

fn upload(rt: &tokio::runtime::Runtime, addr: SocketAddr, id: &str, bytes: &[u8]) {
    let id = id.replace('/', "%2F");
    let head = format!(
        "PUT /api/v1/products/default/content/{id} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {OP}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    );
    let (status, body) = http(rt, addr, &head, bytes);
    assert!(
        (200..300).contains(&status),
        "{status} {}",
        String::from_utf8_lossy(&body)
    );
}

fn gwe(dir: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(GWE)
        .args(args)
        .current_dir(cwd)
        .env("GWE_CONFIG_DIR", dir.join("etc"))
        .env_remove("GWE_STATE_DIR")
        .output()
        .unwrap()
}

#[test]
fn download_latest_from_a_release_area_of_gwe_hub() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let hub = LocalHub::start(&d.join("hub"), OP);
    let (rt, addr) = (&hub.rt, hub.addr);

    // The gateway: identity in Gateway.cfg, the hub as the engine's server URL (the default
    // base URL of the release areas).
    std::fs::create_dir_all(d.join("etc")).unwrap();
    std::fs::write(
        d.join("etc/Engine.config"),
        format!(
            "[engine]\nserver_url = http://{addr}\naudit_db = {}/ifaces.db\n",
            d.display()
        ),
    )
    .unwrap();
    let cwd = d.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    assert!(gwe(d, &cwd, &["-P", "default", "-u", SN]).status.success());
    // No CIK yet: a clear refusal.
    let o = gwe(d, &cwd, &["--download-latest", "stable"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CIK"),
        "{}",
        text(&o)
    );

    // Whitelist and activate the device; store its CIK.
    let body = format!("{{\"sn\": \"{SN}\"}}");
    let head = format!(
        "POST /api/v1/products/default/devices HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {OP}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    assert!((200..300).contains(&http(rt, addr, &head, body.as_bytes()).0));
    let form = format!("vendor=default&model=default&sn={SN}");
    let head = format!(
        "POST /provision/activate HTTP/1.0\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    let (status, cik) = http(rt, addr, &head, form.as_bytes());
    assert_eq!(status, 200);
    let cik = String::from_utf8(cik).unwrap();
    assert!(gwe(d, &cwd, &["-c", cik.trim()]).status.success());

    // Nothing published yet: fails naming the link.
    let o = gwe(d, &cwd, &["--download-latest", "stable"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("stable/latest.lnk"),
        "{}",
        text(&o)
    );

    // Publish two releases; latest.lnk points at the second.
    let old: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let new: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    upload(rt, addr, "stable/GatewayEngine.v1.0.0.tar.gz", &old);
    upload(rt, addr, "stable/GatewayEngine.v1.1.0.tar.gz", &new);
    upload(
        rt,
        addr,
        "stable/latest.lnk",
        b"GatewayEngine.v1.1.0.tar.gz\n",
    );
    upload(rt, addr, "dev/latest.lnk", b"GatewayEngine.v2.0.0.tar.gz\n");

    let o = gwe(d, &cwd, &["--download-latest", "stable"]);
    assert!(o.status.success(), "{}", text(&o));
    let path = cwd.join("GatewayEngine.v1.1.0.tar.gz");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        path.display().to_string()
    );
    assert_eq!(std::fs::read(&path).unwrap(), new);
    assert!(!cwd.join("GatewayEngine.v1.1.0.tar.gz.part").exists());

    // A prefix of the flag works (argparse), and the link names a missing package: error.
    let o = gwe(d, &cwd, &["--download", "dev"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("dev/GatewayEngine.v2.0.0.tar.gz"),
        "{}",
        text(&o)
    );

    // --release-url overrides the engine's server URL.
    std::fs::write(
        d.join("etc/Engine.config"),
        "[engine]\nserver_url = http://127.0.0.1:9\n",
    )
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    let url = format!("http://{addr}/");
    let o = gwe(
        d,
        &cwd,
        &["--download-latest", "stable", "--release-url", &url],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&path).unwrap(), new);

    // Hostile links and areas are refused; nothing is written outside the current dir.
    upload(rt, addr, "evil/latest.lnk", b"../escape.v1.tar.gz\n");
    upload(rt, addr, "evil2/latest.lnk", &vec![b'a'; 100_000]);
    for area in ["evil", "evil2"] {
        let o = gwe(d, &cwd, &["--download-latest", area, "--release-url", &url]);
        assert_eq!(o.status.code(), Some(1), "{area}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("latest.lnk"),
            "{}",
            text(&o)
        );
    }
    assert!(!d.join("escape.v1.tar.gz").exists());
    for area in ["../x", "a/b", ""] {
        let o = gwe(d, &cwd, &["--download-latest", area, "--release-url", &url]);
        assert_eq!(o.status.code(), Some(1), "{area}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("release area"),
            "{}",
            text(&o)
        );
    }
}
