//! End to end: the device client against the project's own hub (in process, on
//! 127.0.0.1:0, in a temp dir).

use std::net::SocketAddr;
use std::time::Duration;

use gwe_device_api::{ActivateRequest, RecordBody, RecordSeries, RequestTimeout};
use gwe_device_client::audit::{AuditConfig, AuditDb};
use gwe_device_client::{ClientConfig, DeviceClient, Error, PollOutcome, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OP_TOKEN: &str = "e2e-operator-token-0123456789";

struct Hub {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start_hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gwe_hub::HubConfig::new(dir.path().join("data"));
    config.operator_token = Some(OP_TOKEN.into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hub = gwe_hub::Hub::open(config).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(hub.run(listener, async {
        let _ = rx.await;
    }));
    Hub {
        addr,
        _dir: dir,
        _stop: tx,
    }
}

/// An operator API call (raw HTTP/1.1, Connection: close); returns (status, body).
async fn op(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {OP_TOKEN}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn add_device(addr: SocketAddr, sn: &str) {
    let (status, body) = op(
        addr,
        "POST",
        "/api/v1/products/default/devices",
        "application/json",
        format!("{{\"sn\":\"{sn}\"}}").as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "add device: {body}");
}

fn client(addr: SocketAddr, audit: AuditConfig) -> DeviceClient {
    let config = ClientConfig::new(format!("http://{addr}"))
        .with_audit(audit)
        .with_agent("e2e")
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
    DeviceClient::new(config).unwrap()
}

async fn activated(hub: &Hub, sn: &str, audit: AuditConfig) -> DeviceClient {
    add_device(hub.addr, sn).await;
    let c = client(hub.addr, audit);
    let cik = c.activate(&ActivateRequest::murano(sn)).await.unwrap();
    assert_eq!(cik.len(), 40);
    c
}

#[tokio::test]
async fn activation_write_read_and_errors() {
    let hub = start_hub().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let c = activated(&hub, "gw-1", AuditConfig::at(&db)).await;
    // Second activation of the same identity: 409.
    let again = client(hub.addr, AuditConfig::disabled());
    assert!(matches!(
        again.activate(&ActivateRequest::murano("gw-1")).await,
        Err(Error::NotEnabled { .. })
    ));
    assert!(matches!(
        again.activate(&ActivateRequest::murano("nobody")).await,
        Err(Error::UnknownIdentity { .. })
    ));

    let json = r#"{"install": [{"name": "app.v1.tar.gz"}], "x": "a&b=c%d+e"}"#;
    c.write(&[("engine_fetch", json), ("note", "line1\nline2 ✓")])
        .await
        .unwrap();
    let form = c
        .read(&["engine_fetch", "note", "never_written"])
        .await
        .unwrap();
    assert_eq!(form.get("engine_fetch"), Some(json));
    assert_eq!(form.get("note"), Some("line1\nline2 ✓"));
    assert_eq!(form.get("never_written"), None);
    assert!(c.read(&["never_written"]).await.unwrap().is_empty());
    let form = c
        .write_read(&[("update_interval", "60")], &["update_interval"])
        .await
        .unwrap();
    assert_eq!(form.get("update_interval"), Some("60"));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t = c.timestamp().await.unwrap();
    assert!(t.abs_diff(now) < 60, "hub time {t} vs {now}");

    c.set_cik(Some("x".repeat(40)));
    assert!(matches!(
        c.write(&[("a", "1")]).await,
        Err(Error::NeedsActivation { .. })
    ));

    assert!(c.flush_audit(Duration::from_secs(10)));
    let usage = AuditDb::open(&db)
        .unwrap()
        .usage(Duration::from_secs(3600))
        .unwrap();
    let e2e = &usage.agents["e2e"];
    for p in ["activate", "write", "read", "write_read", "timestamp"] {
        let s = &e2e.procedures[p];
        assert!(
            s.requests >= 1 && s.bytes_sent > 0 && s.bytes_received > 0,
            "{p}: {s:?}"
        );
    }
    assert_eq!(
        e2e.procedures["write"].errors, 1,
        "the 401 counts as an error"
    );
}

#[tokio::test]
async fn long_poll_wakes_on_write_and_round_trips_last_modified() {
    let hub = start_hub().await;
    let c = activated(&hub, "gw-poll", AuditConfig::disabled()).await;
    let writer = c.clone();
    let poller = tokio::spawn({
        let c = c.clone();
        async move {
            c.long_poll(
                "engine_fetch",
                RequestTimeout::from_millis(20_000).unwrap(),
                None,
            )
            .await
        }
    });
    // The poll must be waiting before the write; keep writing until it answers.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !poller.is_finished() {
        assert!(std::time::Instant::now() < deadline, "long poll never woke");
        writer.write(&[("engine_fetch", "go")]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = poller.await.unwrap().unwrap();
    let PollOutcome::Updated {
        value,
        last_modified,
    } = outcome
    else {
        panic!("expected a value, got {outcome:?}")
    };
    assert_eq!(value, "go");
    let lm = last_modified.expect("Last-Modified header");
    // Nothing newer than the last point: 304 at the (short) timeout.
    let quiet = c
        .long_poll(
            "other_alias",
            RequestTimeout::from_millis(300).unwrap(),
            Some(lm),
        )
        .await
        .unwrap();
    assert_eq!(quiet, PollOutcome::NotModified);
}

#[tokio::test]
async fn record_and_conflicts() {
    let hub = start_hub().await;
    let c = activated(&hub, "gw-rec", AuditConfig::disabled()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = RecordBody {
        series: vec![RecordSeries {
            alias: "temp".into(),
            points: vec![(now - 20, "20.5".into()), (now - 10, "21".into())],
        }],
    };
    c.record(&body).await.unwrap();
    c.record_legacy("hum", &[(now - 30, "40".into()), (now - 5, "41".into())])
        .await
        .unwrap();
    let dup = RecordBody {
        series: vec![RecordSeries {
            alias: "temp".into(),
            points: vec![(now - 100, "1".into()), (now - 100, "2".into())],
        }],
    };
    match c.record(&dup).await {
        Err(Error::RecordConflict { conflicts }) => {
            assert_eq!(conflicts.len(), 1);
            assert_eq!(
                (conflicts[0].alias.as_str(), conflicts[0].timestamp),
                ("temp", now - 100)
            );
        }
        other => panic!("expected 409, got {other:?}"),
    }
    let form = c.read(&["temp", "hum"]).await.unwrap();
    assert_eq!(form.get("temp"), Some("21"));
    assert_eq!(form.get("hum"), Some("41"));
}

#[tokio::test]
async fn content_list_info_download_and_resume() {
    let hub = start_hub().await;
    let c = activated(&hub, "gw-content", AuditConfig::disabled()).await;
    assert!(c.list_content().await.unwrap().is_empty());
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let (status, body) = op(
        hub.addr,
        "PUT",
        "/api/v1/products/default/content/app.v2.tar.gz?meta=v2,%20signed",
        "application/x-gzip",
        &blob,
    )
    .await;
    assert!(status == 201 || status == 200, "upload: {status} {body}");
    assert_eq!(c.list_content().await.unwrap(), vec!["app.v2.tar.gz"]);
    let info = c.content_info("app.v2.tar.gz").await.unwrap();
    assert_eq!(info.size, blob.len() as u64);
    assert_eq!(info.content_type, "application/x-gzip");
    assert_eq!(info.meta, "v2, signed");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar.gz");
    let mut last = 0;
    let mut cb = |p: gwe_device_client::DownloadProgress| last = p.downloaded;
    let s = c
        .download_to_file("app.v2.tar.gz", &path, false, Some(&mut cb))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), blob);
    assert_eq!(
        (s.bytes, s.total, s.resumed),
        (blob.len() as u64, Some(blob.len() as u64), false)
    );
    assert_eq!(last, blob.len() as u64);

    // Resume a partial file: the hub answers 206 from where the file ends.
    std::fs::write(&path, &blob[..123_456]).unwrap();
    let s = c
        .download_to_file("app.v2.tar.gz", &path, true, None)
        .await
        .unwrap();
    assert!(s.resumed);
    assert_eq!(std::fs::read(&path).unwrap(), blob);
    // Resume of a complete file: 416 with the same total means done.
    let s = c
        .download_to_file("app.v2.tar.gz", &path, true, None)
        .await
        .unwrap();
    assert_eq!(s.bytes, blob.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), blob);

    let missing = c
        .download_to_file("nope.tar.gz", &dir.path().join("x"), false, None)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
}
