//! The client against a real (misbehaving) HTTP server on loopback.

mod common;

use std::time::Duration;

use common::{ok, response, Action, TestServer, CIK};
use gwe_device_api::{ActivateRequest, Form, RecordBody, RecordSeries, RequestTimeout};
use gwe_device_client::audit::{AuditConfig, AuditDb};
use gwe_device_client::{ClientConfig, DeviceClient, Error, PollOutcome, RetryPolicy};

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn client(server: &TestServer) -> DeviceClient {
    let config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled())
        .with_retry(fast_retry())
        .with_request_timeout(Duration::from_secs(10));
    DeviceClient::new(config).unwrap()
}

#[tokio::test]
async fn write_sends_form_body_cik_and_content_type() {
    let server = TestServer::start(|_, _| ok(204, "")).await;
    let c = client(&server);
    let json = r#"{"install": [{"name": "a b&c=d%.tar.gz"}]}"#;
    c.write(&[("engine_fetch", json), ("note", "line1\nline2 ünï +")])
        .await
        .unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/onep:v1/stack/alias")
    );
    assert_eq!(r.header("x-exosite-cik"), Some(CIK));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    let form = Form::decode_bytes(&r.body).unwrap();
    assert_eq!(form.get("engine_fetch"), Some(json));
    assert_eq!(form.get("note"), Some("line1\nline2 ünï +"));
    assert!(r
        .header("user-agent")
        .unwrap()
        .starts_with("gwe-device-client/"));
}

#[tokio::test]
async fn read_hybrid_and_empty_answers() {
    let server = TestServer::start(|req, _| {
        if req.path.contains("empty") {
            ok(204, "")
        } else {
            ok(200, "a=1&b=x+y%26z")
        }
    })
    .await;
    let c = client(&server);
    let form = c.read(&["a", "b"]).await.unwrap();
    assert_eq!(form.get("b"), Some("x y&z"));
    assert!(c.read(&["empty"]).await.unwrap().is_empty());
    let none: [&str; 0] = [];
    assert!(matches!(c.read(&none).await, Err(Error::InvalidRequest(_))));
    assert!(matches!(c.write(&[]).await, Err(Error::InvalidRequest(_))));
    let form = c.write_read(&[("w", "1")], &["a"]).await.unwrap();
    assert_eq!(form.get("a"), Some("1"));
    let seen = server.requests();
    assert_eq!(seen[0].path, "/onep:v1/stack/alias?a&b");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].header("accept"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(seen[2].method, "POST");
    assert_eq!(seen[2].path, "/onep:v1/stack/alias?a");
    assert_eq!(seen[2].body, b"w=1");
}

#[tokio::test]
async fn activation_outcomes() {
    let server = TestServer::start(|req, _| {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        if body.contains("sn=good") {
            ok(200, &format!("{CIK}\r\n"))
        } else if body.contains("sn=unknown") {
            ok(404, "")
        } else if body.contains("id=used") {
            ok(409, "")
        } else {
            ok(200, "short-token")
        }
    })
    .await;
    let config = ClientConfig::new(server.url()).with_audit(AuditConfig::disabled());
    let c = DeviceClient::new(config).unwrap();
    assert_eq!(c.cik(), None);
    assert!(matches!(
        c.write(&[("a", "1")]).await,
        Err(Error::NoCik { .. })
    ));
    assert_eq!(
        c.activate(&ActivateRequest::new("v", "m", "good"))
            .await
            .unwrap(),
        CIK
    );
    assert_eq!(c.cik().as_deref(), Some(CIK));
    assert!(
        matches!(c.activate(&ActivateRequest::new("v", "m", "unknown")).await, Err(Error::UnknownIdentity { sn }) if sn == "unknown")
    );
    assert!(matches!(
        c.activate(&ActivateRequest::murano("used")).await,
        Err(Error::NotEnabled { .. })
    ));
    assert!(matches!(
        c.activate(&ActivateRequest::new("v", "m", "bad")).await,
        Err(Error::BadResponse { .. })
    ));
    let seen = server.requests();
    assert_eq!(seen[0].path, "/provision/activate");
    assert_eq!(seen[0].body, b"vendor=v&model=m&sn=good");
    assert_eq!(
        seen[0].header("x-exosite-cik"),
        None,
        "activation carries no CIK"
    );
    assert_eq!(seen[2].body, b"id=used");
}

#[tokio::test]
async fn unauthorized_means_needs_activation() {
    let server = TestServer::start(|_, _| ok(401, "")).await;
    let c = client(&server);
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    assert!(matches!(err, Error::NeedsActivation { .. }), "{err}");
    assert!(matches!(
        c.read(&["a"]).await,
        Err(Error::NeedsActivation { .. })
    ));
    // 401 is not retried, even for GET.
    assert_eq!(server.requests().len(), 2);
    // The raw call returns the handler with success == false.
    let resp = c
        .call(gwe_device_client::Call::Read(vec!["a".into()]))
        .await
        .unwrap();
    assert!(!resp.success());
    assert_eq!(resp.status, 401);
}

#[tokio::test]
async fn slow_server_gives_timeout() {
    let server = TestServer::start(|_, _| vec![Action::Hang]).await;
    let config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled())
        .with_retry(RetryPolicy::none())
        .with_request_timeout(Duration::from_millis(300));
    let c = DeviceClient::new(config).unwrap();
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn server_errors_are_retried_for_get_only() {
    let server = TestServer::start(|req, i| {
        if req.method == "GET" && i >= 2 {
            ok(200, "a=ok")
        } else {
            ok(500, "boom")
        }
    })
    .await;
    let c = client(&server);
    let form = c.read(&["a"]).await.unwrap();
    assert_eq!(form.get("a"), Some("ok"));
    assert_eq!(server.requests().len(), 3, "two 500s then success");
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    assert!(
        matches!(err, Error::Status { status: 500, ref body, .. } if body == "boom"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 4, "a write is sent once");
}

#[tokio::test]
async fn connection_reset_retries_reads_not_writes() {
    let server = TestServer::start(|req, _| {
        if req.body == b"a=ok" || req.path.ends_with("?ok") {
            ok(200, "ok=1")
        } else {
            vec![Action::Reset]
        }
    })
    .await;
    let c = client(&server);
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                not_sent: false,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the write went out: never re-sent"
    );
    let err = c.read(&["x"]).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    assert_eq!(server.requests().len(), 4, "a read is tried 3 times");
    assert_eq!(c.read(&["ok"]).await.unwrap().get("ok"), Some("1"));
}

#[tokio::test]
async fn refused_connection_is_not_sent_so_even_writes_retry() {
    // Bind then drop to get a port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ClientConfig::new(format!("http://127.0.0.1:{port}"))
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled())
        .with_retry(fast_retry());
    let c = DeviceClient::new(config).unwrap();
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    assert!(
        matches!(err, Error::Network { not_sent: true, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_body_is_an_error() {
    let server = TestServer::start(|_, _| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na=12".to_vec();
        r.truncate(r.len());
        vec![Action::Send(r), Action::Close]
    })
    .await;
    let c = client(&server);
    let err = c.read(&["a"]).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_bad_responses() {
    let server = TestServer::start(|req, _| {
        if req.path.contains("big") {
            vec![Action::Send(response(200, &[], &vec![b'a'; 4096]))]
        } else if req.path.contains("ts") || req.path == "/timestamp" {
            ok(200, "not-a-number")
        } else {
            ok(200, "a=%zz")
        }
    })
    .await;
    let mut config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled());
    config.max_body = 1024;
    let c = DeviceClient::new(config).unwrap();
    assert!(matches!(
        c.read(&["big"]).await,
        Err(Error::BadResponse { .. })
    ));
    assert!(matches!(
        c.read(&["bad"]).await,
        Err(Error::BadResponse { .. })
    ));
    assert!(matches!(
        c.timestamp().await,
        Err(Error::BadResponse { .. })
    ));
}

#[tokio::test]
async fn long_poll_round_trips_last_modified() {
    let server = TestServer::start(|req, _| {
        if req.header("if-modified-since") == Some("1529089454") {
            vec![Action::Send(response(304, &[], b""))]
        } else {
            vec![Action::Send(response(
                200,
                &[("Last-Modified", "Fri, 15 Jun 2018 19:04:13 GMT")],
                b"cmd=go+now",
            ))]
        }
    })
    .await;
    let c = client(&server);
    let t = RequestTimeout::from_millis(5000).unwrap();
    let first = c.long_poll("cmd", t, None).await.unwrap();
    assert_eq!(
        first,
        PollOutcome::Updated {
            value: "go now".into(),
            last_modified: Some(1_529_089_453)
        }
    );
    let second = c.long_poll("cmd", t, Some(1_529_089_454)).await.unwrap();
    assert_eq!(second, PollOutcome::NotModified);
    let seen = server.requests();
    assert_eq!(seen[0].path, "/onep:v1/stack/alias?cmd");
    assert_eq!(seen[0].header("request-timeout"), Some("5000"));
    assert_eq!(seen[0].header("if-modified-since"), None);
}

/// The keepalive timer of the established client sockets connected to `port`
/// on 127.0.0.1, from /proc/net/tcp: seconds until the next probe, or None
/// while no keepalive timer runs.
fn keepalive_timers(port: u16) -> Vec<Option<u64>> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let remote = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // remote address, state 01 (ESTABLISHED), "timer:when"
            (f.get(2) == Some(&remote.as_str()) && f.get(3) == Some(&"01")).then(|| {
                let (timer, when) = f[5].split_once(':')?;
                // timer 2 is keepalive (or a delayed ACK, some milliseconds);
                // `when` counts USER_HZ ticks, 100 per second on Linux
                let when = u64::from_str_radix(when, 16).ok()?;
                (timer == "02").then_some(when / 100)
            })
        })
        .collect()
}

#[tokio::test]
async fn connections_probe_a_silent_peer_with_tcp_keepalive() {
    // a long poll the server never answers: the connection stays silent
    let server = TestServer::start(|_, _| vec![Action::Hang]).await;
    let c = client(&server);
    let poll = tokio::spawn(async move {
        let t = RequestTimeout::from_millis(60_000).unwrap();
        c.long_poll("cmd", t, None).await
    });
    common::wait_for("the long poll to arrive", || server.requests().len() == 1).await;
    // once the request is acknowledged, the retransmit timer gives way to
    // the keepalive timer
    let mut timers = Vec::new();
    common::wait_for("a keepalive timer on the client's socket", || {
        timers = keepalive_timers(server.addr.port());
        timers.iter().any(Option::is_some)
    })
    .await;
    assert_eq!(timers.len(), 1, "one client connection: {timers:?}");
    let secs = timers[0].unwrap();
    assert!(
        (45..=60).contains(&secs),
        "first probe after 60 s idle, due in {secs} s"
    );
    poll.abort();
}

#[tokio::test]
async fn record_and_conflicts() {
    let server = TestServer::start(|req, _| {
        if req.path == "/onep:v1/stack/record" && String::from_utf8_lossy(&req.body).contains("dup")
        {
            ok(409, "dup=100")
        } else {
            ok(204, "")
        }
    })
    .await;
    let c = client(&server);
    let body = RecordBody {
        series: vec![RecordSeries {
            alias: "t".into(),
            points: vec![(100, "1".into()), (101, "2 3".into())],
        }],
    };
    c.record(&body).await.unwrap();
    let dup = RecordBody {
        series: vec![RecordSeries {
            alias: "dup".into(),
            points: vec![(100, "1".into()), (100, "2".into())],
        }],
    };
    match c.record(&dup).await {
        Err(Error::RecordConflict { conflicts }) => assert_eq!(conflicts[0].timestamp, 100),
        other => panic!("expected a conflict, got {other:?}"),
    }
    c.record_legacy("temp out", &[(5, "x".into())])
        .await
        .unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].body, b"alias=t&100=1&101=2+3");
    assert_eq!(seen[2].path, "/onep:v1/stack/alias/temp%20out");
    assert_eq!(seen[2].body, b"5=x");
}

#[tokio::test]
async fn content_list_info_and_timestamp() {
    let server = TestServer::start(|req, _| {
        if req.path == "/timestamp" {
            ok(200, "1500000000\n")
        } else if req.path.contains("info=true") {
            ok(200, "application/x-gzip,42,1500000000,meta, with comma")
        } else {
            ok(200, "a.tar.gz\r\nb.tar.gz\n")
        }
    })
    .await;
    let mut config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled());
    config.vendor = Some("p1".into());
    config.model = Some("p1".into());
    let c = DeviceClient::new(config).unwrap();
    assert_eq!(
        c.list_content().await.unwrap(),
        vec!["a.tar.gz", "b.tar.gz"]
    );
    let info = c.content_info("a.tar.gz").await.unwrap();
    assert_eq!((info.size, info.meta.as_str()), (42, "meta, with comma"));
    assert_eq!(c.timestamp().await.unwrap(), 1_500_000_000);
    let seen = server.requests();
    assert_eq!(seen[0].path, "/provision/download?vendor=p1&model=p1");
    assert_eq!(
        seen[1].path,
        "/provision/download?vendor=p1&model=p1&id=a.tar.gz&info=true"
    );
    assert_eq!(
        seen[2].header("x-exosite-cik"),
        None,
        "timestamp carries no CIK"
    );
}

fn blob() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// Serves `blob()`: the first full request is cut in the middle; Range requests work.
fn flaky_download_server(
    ignore_range: bool,
) -> impl Fn(&common::Seen, usize) -> Vec<Action> + Send + Sync {
    move |req, _| {
        let data = blob();
        let total = data.len();
        match req.header("range").filter(|_| !ignore_range) {
            Some(r) => {
                let start: usize = r
                    .trim_start_matches("bytes=")
                    .trim_end_matches('-')
                    .parse()
                    .unwrap();
                let cr = format!("bytes {start}-{}/{total}", total - 1);
                vec![Action::Send(response(
                    206,
                    &[("Content-Range", &cr), ("Accept-Ranges", "bytes")],
                    &data[start..],
                ))]
            }
            None if req.connection == 0 => {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nAccept-Ranges: bytes\r\n\r\n"
                )
                .into_bytes();
                r.extend_from_slice(&data[..total / 2]);
                vec![Action::Send(r), Action::Close]
            }
            None => vec![Action::Send(response(
                200,
                &[("Accept-Ranges", "bytes")],
                &data,
            ))],
        }
    }
}

#[tokio::test]
async fn download_resumes_with_range_after_interruption() {
    let server = TestServer::start(flaky_download_server(false)).await;
    let c = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar.gz");
    let mut seen_progress = Vec::new();
    let mut cb = |p: gwe_device_client::DownloadProgress| seen_progress.push(p.downloaded);
    let summary = c
        .download_to_file("app.tar.gz", &path, false, Some(&mut cb))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), blob());
    assert_eq!(summary.bytes, 200_000);
    assert_eq!(summary.total, Some(200_000));
    assert!(summary.resumed);
    assert_eq!(summary.requests, 2);
    assert!(
        seen_progress.windows(2).all(|w| w[0] <= w[1]),
        "progress is monotonic"
    );
    assert_eq!(seen_progress.last(), Some(&200_000));
    let seen = server.requests();
    assert_eq!(seen[1].header("range"), Some("bytes=100000-"));
}

#[tokio::test]
async fn download_restarts_a_file_when_range_is_ignored_but_not_a_stream() {
    let server = TestServer::start(flaky_download_server(true)).await;
    let c = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    c.download_to_file("blob", &path, false, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), blob());
    // A plain writer cannot be rewound: resuming into it with an ignored Range fails.
    let mut out: Vec<u8> = Vec::new();
    let err = c.download_to("blob", &mut out, 10, None).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
}

#[tokio::test]
async fn download_resume_of_a_partial_file_and_of_a_complete_one() {
    let data = blob();
    let server = TestServer::start(move |req, _| {
        let total = data.len();
        match req.header("range") {
            Some(r) => {
                let start: usize = r
                    .trim_start_matches("bytes=")
                    .trim_end_matches('-')
                    .parse()
                    .unwrap();
                if start >= total {
                    return vec![Action::Send(response(
                        416,
                        &[("Content-Range", &format!("bytes */{total}"))],
                        b"",
                    ))];
                }
                let cr = format!("bytes {start}-{}/{total}", total - 1);
                vec![Action::Send(response(
                    206,
                    &[("Content-Range", &cr)],
                    &data[start..],
                ))]
            }
            None => vec![Action::Send(response(200, &[], &data))],
        }
    })
    .await;
    let c = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part");
    std::fs::write(&path, &blob()[..1234]).unwrap();
    let s = c.download_to_file("x", &path, true, None).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), blob());
    assert!(s.resumed);
    // Already complete: the server's 416 with the same total means done.
    let s = c.download_to_file("x", &path, true, None).await.unwrap();
    assert_eq!(s.bytes, 200_000);
    assert_eq!(std::fs::read(&path).unwrap(), blob());
    assert_eq!(server.requests()[0].header("range"), Some("bytes=1234-"));
}

#[tokio::test]
async fn download_rejects_a_mismatched_content_range() {
    let server = TestServer::start(|_, _| {
        vec![Action::Send(response(
            206,
            &[("Content-Range", "bytes 0-9/10")],
            b"0123456789",
        ))]
    })
    .await;
    let c = client(&server);
    let mut out = Vec::new();
    let err = c.download_to("x", &mut out, 5, None).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
    assert!(out.is_empty());
}

#[tokio::test]
async fn audit_rows_carry_exact_wire_bytes() {
    let server = TestServer::start(|req, _| {
        if req.method == "POST" {
            ok(204, "")
        } else {
            ok(200, "a=1&b=hello+world")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_agent("wire-test")
        .with_audit(AuditConfig::at(&db));
    let c = DeviceClient::new(config).unwrap();
    for i in 0..5 {
        c.write(&[("a", &i.to_string())]).await.unwrap();
        c.read(&["a", "b"]).await.unwrap();
    }
    assert!(c.flush_audit(Duration::from_secs(10)));
    assert_eq!(
        server.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "keep-alive reused one connection"
    );
    let rows = AuditDb::open(&db).unwrap().recent(100).unwrap();
    assert_eq!(rows.len(), 10);
    let sent: u64 = rows.iter().map(|r| r.bytes_sent).sum();
    let received: u64 = rows.iter().map(|r| r.bytes_received).sum();
    assert_eq!(
        sent,
        server.bytes_in.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(
        received,
        server.bytes_out.load(std::sync::atomic::Ordering::SeqCst)
    );
    for r in &rows {
        assert_eq!(r.agent, "wire-test");
        assert_eq!(r.pid, std::process::id());
        assert!(r.bytes_sent > 0 && r.bytes_received > 0);
        assert!(!r.path.contains(CIK));
    }
    // Every write row has the same size; so has every read.
    let writes: Vec<_> = rows.iter().filter(|r| r.procedure == "write").collect();
    assert!(writes
        .iter()
        .all(|r| r.bytes_received == writes[0].bytes_received));
    let usage = AuditDb::open(&db)
        .unwrap()
        .usage(Duration::from_secs(3600))
        .unwrap();
    assert_eq!(usage.total.requests, 10);
    assert_eq!(usage.total.bytes_sent, sent);
    assert_eq!(usage.agents["wire-test"].procedures["read"].requests, 5);
    assert_eq!(usage.top_consumer.as_deref(), Some("wire-test"));
}

#[tokio::test]
async fn audit_records_failures_and_activation_without_identity() {
    let server = TestServer::start(|req, _| {
        if req.path == "/provision/activate" {
            ok(200, CIK)
        } else {
            ok(500, "")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/dir/ifaces.db");
    let config = ClientConfig::new(server.url())
        .with_audit(AuditConfig::at(&db))
        .with_retry(fast_retry());
    let c = DeviceClient::new(config).unwrap();
    c.activate(&ActivateRequest::new("vendorX", "modelY", "SECRET-SN-123"))
        .await
        .unwrap();
    let _ = c.read(&["a"]).await;
    assert!(c.flush_audit(Duration::from_secs(10)));
    let rows = AuditDb::open(&db).unwrap().recent(100).unwrap();
    assert_eq!(rows.len(), 4, "activation + 3 read attempts");
    let text = format!("{rows:?}");
    assert!(
        !text.contains("SECRET-SN-123") && !text.contains(CIK),
        "no identity or CIK in the log: {text}"
    );
    assert_eq!(rows.iter().filter(|r| r.status == Some(500)).count(), 3);
    let usage = AuditDb::open(&db)
        .unwrap()
        .usage(Duration::from_secs(3600))
        .unwrap();
    assert_eq!(usage.total.errors, 3);
}

async fn assert_requests_survive_broken_db(db: std::path::PathBuf) {
    let server = TestServer::start(|_, _| ok(204, "")).await;
    let config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::at(&db));
    let c = DeviceClient::new(config).unwrap();
    for _ in 0..3 {
        c.write(&[("a", "1")]).await.unwrap();
    }
    c.flush_audit(Duration::from_secs(10));
    assert_eq!(server.requests().len(), 3);
    let stats = c.audit_stats();
    assert_eq!(stats.written.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        stats.failed.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "failures are counted"
    );
}

#[tokio::test]
async fn broken_audit_db_directory_at_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    std::fs::create_dir(&db).unwrap();
    assert_requests_survive_broken_db(db).await;
}

#[tokio::test]
async fn broken_audit_db_garbage_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    std::fs::write(&db, vec![0x5au8; 8192]).unwrap();
    assert_requests_survive_broken_db(db).await;
}

#[tokio::test]
async fn broken_audit_db_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    drop(AuditDb::create(&db).unwrap());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits; then use a location that defeats root too: a
    // database path below a regular file.
    let target = if running_as_root() {
        db.join("inside.db")
    } else {
        db
    };
    assert_requests_survive_broken_db(target).await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_a_pool_keep_exact_byte_counts() {
    let server = TestServer::start(|req, i| {
        // Varying sizes so a misattributed exchange would show.
        let body = "v".repeat(10 + (i * 37) % 500);
        if req.method == "POST" {
            ok(204, "")
        } else {
            vec![
                Action::Sleep(Duration::from_millis((i % 5) as u64)),
                Action::Send(response(200, &[], format!("a={body}").as_bytes())),
            ]
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let config = ClientConfig::new(server.url())
        .with_cik(CIK)
        .with_audit(AuditConfig::at(&db));
    let c = DeviceClient::new(config).unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                for j in 0..5 {
                    if (i + j) % 3 == 0 {
                        c.write(&[("w", &"x".repeat(i * 13 + j))]).await.unwrap();
                    } else {
                        c.read(&["a"]).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(c.flush_audit(Duration::from_secs(10)));
    let rows = AuditDb::open(&db).unwrap().recent(1000).unwrap();
    assert_eq!(rows.len(), 200);
    let sent: u64 = rows.iter().map(|r| r.bytes_sent).sum();
    let received: u64 = rows.iter().map(|r| r.bytes_received).sum();
    assert_eq!(
        sent,
        server.bytes_in.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(
        received,
        server.bytes_out.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(
        rows.iter()
            .all(|r| r.bytes_sent > 0 && r.bytes_received > 0),
        "every row got its own bytes"
    );
    assert!(
        server.connections.load(std::sync::atomic::Ordering::SeqCst) > 1,
        "the pool used several connections"
    );
}

#[tokio::test]
async fn connect_timeout_when_the_server_never_accepts() {
    // A listener with a tiny backlog that never accepts: once its queue is full the
    // kernel drops further SYNs, so a new connect hangs until our timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    let mut config = ClientConfig::new(format!("http://{addr}"))
        .with_cik(CIK)
        .with_audit(AuditConfig::disabled())
        .with_retry(RetryPolicy::none());
    config.connect_timeout = Duration::from_millis(300);
    let c = DeviceClient::new(config).unwrap();
    let err = c.timestamp().await.unwrap_err();
    match &err {
        Error::Network {
            not_sent, message, ..
        } => {
            assert!(*not_sent);
            // Our connect timeout, not the kernel's (minutes later).
            assert!(
                message.contains("connect timed out after 300ms"),
                "{message}"
            );
        }
        other => panic!("expected a connect timeout, got {other}"),
    }
    drop(listener);
}
