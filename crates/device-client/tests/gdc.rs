//! The `gdc` binary against a loopback server.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{ok, response, Action, TestServer, CIK};
use gwe_device_client::audit::AuditDb;

async fn gdc(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_gdc"));
    cmd.args(args)
        .env_remove("GWE_AUDIT_DB")
        .env_remove("GWE_CONFIG_DIR")
        .env_remove("SUPERVISOR_PROCESS_NAME");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("gdc hung")
        .unwrap();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn version_and_path() {
    let o = gdc(&["-v"], &[]).await;
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), env!("CARGO_PKG_VERSION"));
    let o = gdc(&["--path"], &[]).await;
    assert!(o.status.success());
    assert!(stdout(&o).trim().ends_with("gdc"));
    let o = gdc(&["--help"], &[]).await;
    assert!(stdout(&o).contains("write"));
}

#[tokio::test]
async fn original_script_form_takes_server_from_engine_config() {
    let server = TestServer::start(|req, _| {
        if req.method == "POST" {
            ok(204, "")
        } else {
            ok(200, "status=all+good")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("etc");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(
        cfg.join("Engine.config"),
        format!("[engine]\nserver_url = {}\n", server.url()),
    )
    .unwrap();
    std::fs::write(
        cfg.join("Gateway.cfg"),
        format!("[device]\ncik = {CIK}\nmodel = p1\nvendor = p1\nuuid = 00:11\n"),
    )
    .unwrap();
    let db = dir.path().join("ifaces.db");
    let env = [
        ("GWE_CONFIG_DIR", cfg.as_path()),
        ("GWE_AUDIT_DB", db.as_path()),
    ];
    let other = "B".repeat(40);
    let o = gdc(&["write", &other, "fetch_status", "done: ok & fine"], &env).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = server.requests();
    assert_eq!(
        seen[0].header("x-exosite-cik"),
        Some(other.as_str()),
        "the positional CIK wins"
    );
    assert_eq!(seen[0].body, b"fetch_status=done%3A+ok+%26+fine");
    // No CIK given: Gateway.cfg's; a single alias prints the bare value.
    let o = gdc(&["read", "status"], &env).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o), "all good\n");
    assert_eq!(server.requests()[1].header("x-exosite-cik"), Some(CIK));
    // Both requests are in the audit log, agent `gdc`.
    let rows = AuditDb::open(&db).unwrap().recent(10).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.agent == "gdc"));
    let o = gdc(&["usage", "--json", "--since", "1h"], &env).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["total"]["requests"], 2);
    let o = gdc(&["usage", "--engine-report", "eth0"], &env).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["eth0"]["top_consumer"], "gdc");
    assert_eq!(v["eth0"]["gdc"]["write"]["num"], 1);
    assert!(v["eth0"]["gdc"]["read"]["tot_rx"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn murano_client_form_and_exit_codes() {
    let server = TestServer::start(|req, _| {
        if req.header("x-exosite-cik") == Some(CIK) {
            ok(204, "")
        } else {
            ok(401, "")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("GWE_CONFIG_DIR", dir.path())];
    let url = server.url();
    let o = gdc(
        &[
            "-H",
            &url,
            "-k",
            CIK,
            "--no-audit",
            "http",
            "write",
            "a=1",
            "b=x=y",
        ],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(server.requests()[0].body, b"a=1&b=x%3Dy");
    let o = gdc(
        &["-H", &url, "-k", "wrong", "--no-audit", "write", "a", "1"],
        &env,
    )
    .await;
    assert_eq!(o.status.code(), Some(3), "401 exits 3");
    // No server anywhere: a clear usage error.
    let o = gdc(&["--no-audit", "write", "a", "1"], &env).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no server"));
    // Nothing listening: network failure exits 4.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = gdc(
        &[
            "-H",
            &format!("http://127.0.0.1:{port}"),
            "-k",
            CIK,
            "--no-audit",
            "timestamp",
        ],
        &env,
    )
    .await;
    assert_eq!(o.status.code(), Some(4));
}

#[tokio::test]
async fn concurrent_gdc_processes_all_audited() {
    let server = TestServer::start(|_, _| ok(204, "")).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let url = server.url();
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let (url, db) = (url.clone(), db.clone());
            tokio::spawn(async move {
                let agent = format!("app{i}");
                gdc(
                    &[
                        "--url", &url, "--cik", CIK, "--agent", &agent, "write", "a", "1",
                    ],
                    &[("GWE_AUDIT_DB", db.as_path())],
                )
                .await
            })
        })
        .collect();
    for r in runs {
        let o = r.await.unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let usage = AuditDb::open(&db)
        .unwrap()
        .usage(Duration::from_secs(3600))
        .unwrap();
    assert_eq!(usage.total.requests, 8);
    assert_eq!(usage.agents.len(), 8);
    let in_bytes = server.bytes_in.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        usage.total.bytes_sent, in_bytes,
        "wire bytes match what the server read"
    );
}

#[tokio::test]
async fn poll_record_content_and_download() {
    let blob: Vec<u8> = (0..50_000u32).map(|i| (i % 256) as u8).collect();
    let b2 = blob.clone();
    let server = TestServer::start(move |req, _| {
        if req.path.starts_with("/onep:v1/stack/alias?cmd") {
            vec![Action::Send(response(
                200,
                &[("Last-Modified", "Fri, 15 Jun 2018 19:04:13 GMT")],
                b"cmd=go",
            ))]
        } else if req.path.starts_with("/onep:v1/stack/record") {
            ok(204, "")
        } else if req.path.contains("info=true") {
            ok(200, "application/octet-stream,50000,1500000000,m")
        } else if req.path.contains("id=") {
            vec![Action::Send(response(200, &[], &b2))]
        } else if req.path.starts_with("/provision/download") {
            ok(200, "a.bin\r\nb.bin")
        } else {
            ok(404, "")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let base = ["--url", url.as_str(), "--cik", CIK, "--no-audit"];
    let run = |extra: &[&str]| {
        let args: Vec<String> = base
            .iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect();
        let dirp = dir.path().to_path_buf();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            gdc(&refs, &[("GWE_CONFIG_DIR", dirp.as_path())]).await
        }
    };
    let o = run(&["poll", "cmd", "--wait-ms", "1000", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["value"], "go");
    assert_eq!(v["last_modified"], 1_529_089_453u64);
    let o = run(&["record", "temp", "100=1", "200=2"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["content", "list"]).await;
    assert_eq!(stdout(&o), "a.bin\nb.bin\n");
    let o = run(&["content", "info", "a.bin", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["size"], 50000);
    let out = dir.path().join("a.bin");
    let o = run(&[
        "content",
        "download",
        "a.bin",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ])
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), blob);
    let o = run(&["poll", "cmd", "--wait-ms", "300001"]).await;
    assert!(
        !o.status.success(),
        "Request-Timeout above the maximum is refused"
    );
}
