//! Long polls: immediate wake on write, 304 at the timeout, If-Modified-Since semantics
//! (unix seconds and HTTP-date), Last-Modified round trips, and rejected forms.

mod common;

use std::time::{Duration, Instant};

use common::{RawResponse, TestHub};

async fn poll(
    hub: &TestHub,
    cik: &str,
    alias: &str,
    timeout_ms: u64,
    ims: Option<&str>,
) -> RawResponse {
    let t = timeout_ms.to_string();
    let mut headers = vec![
        ("X-Exosite-CIK", cik),
        ("Accept", "application/x-www-form-urlencoded; charset=utf-8"),
        ("Request-Timeout", t.as_str()),
    ];
    if let Some(v) = ims {
        headers.push(("If-Modified-Since", v));
    }
    hub.get(&format!("/onep:v1/stack/alias?{alias}"), &headers)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_wakes_the_poll_immediately() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let started = Instant::now();
    let poller = {
        let addr = hub.addr;
        let cik = cik.clone();
        tokio::spawn(async move {
            let req = format!(
                "GET /onep:v1/stack/alias?engine_fetch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 X-Exosite-CIK: {cik}\r\nRequest-Timeout: 30000\r\n\r\n"
            );
            common::raw(addr, req.as_bytes()).await
        })
    };
    hub.wait_for_waiters(1).await;
    let w = hub
        .post_form("/onep:v1/stack/alias", &cik, "engine_fetch=cmd1")
        .await;
    assert_eq!(w.status, 204);
    let r = poller.await.expect("poller");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.text(), "engine_fetch=cmd1");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    let lm = r.header("last-modified").expect("Last-Modified");
    assert!(lm.ends_with(" GMT"), "{lm}");
    httpdate::parse_http_date(lm).expect("HTTP-date");
    // Woken long before the 30 s timeout.
    assert!(started.elapsed() < Duration::from_secs(25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_means_304_at_the_timeout() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = poll(&hub, &cik, "quiet", 300, None).await;
    assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified");
    assert!(r.body.is_empty());
    assert_eq!(r.header("last-modified"), None);
    // An old point does not answer a poll without If-Modified-Since ("now").
    hub.post_form("/onep:v1/stack/alias", &cik, "quiet=old")
        .await;
    let r = poll(&hub, &cik, "quiet", 200, None).await;
    assert_eq!(r.status, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_modified_since_in_the_past_answers_existing_points_at_once() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    hub.post_form(
        "/onep:v1/stack/record",
        &cik,
        "alias=c&1500000000=first&1500000100=second",
    )
    .await;
    // Unix seconds: the oldest point after the given time.
    let r = poll(&hub, &cik, "c", 60_000, Some("1400000000")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "c=first");
    let lm = r
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    assert_eq!(lm, "Fri, 14 Jul 2017 02:40:00 GMT");
    // Passing Last-Modified back (HTTP-date) walks to the next point.
    let r = poll(&hub, &cik, "c", 60_000, Some(&lm)).await;
    assert_eq!(r.text(), "c=second");
    let lm2 = r
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    assert_eq!(
        httpdate::parse_http_date(&lm2).expect("date"),
        std::time::UNIX_EPOCH + Duration::from_secs(1_500_000_100)
    );
    // Nothing after the last one: 304 at the timeout.
    let r = poll(&hub, &cik, "c", 200, Some(&lm2)).await;
    assert_eq!(r.status, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_modified_since_in_the_future_waits_for_a_later_point() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let far = "4000000000";
    hub.post_form("/onep:v1/stack/alias", &cik, "f=now").await;
    let r = poll(&hub, &cik, "f", 200, Some(far)).await;
    assert_eq!(r.status, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_without_ims_is_woken_by_a_write_in_the_same_second() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    // Writes just before the poll, possibly in the same second as the wake-up write.
    hub.post_form("/onep:v1/stack/alias", &cik, "s=before")
        .await;
    let poller = {
        let addr = hub.addr;
        let cik = cik.clone();
        tokio::spawn(async move {
            let req = format!(
                "GET /onep:v1/stack/alias?s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 X-Exosite-CIK: {cik}\r\nRequest-Timeout: 20000\r\n\r\n"
            );
            common::raw(addr, req.as_bytes()).await
        })
    };
    hub.wait_for_waiters(1).await;
    hub.post_form("/onep:v1/stack/alias", &cik, "s=after").await;
    let r = poller.await.expect("poller");
    assert_eq!(r.status, 200);
    // The write after the poll, never the point that existed before it.
    assert_eq!(r.text(), "s=after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_write_wakes_the_device() {
    let hub = TestHub::start().await;
    let cik = hub.device("gw").await;
    let poller = {
        let addr = hub.addr;
        let cik = cik.clone();
        tokio::spawn(async move {
            let req = format!(
                "GET /onep:v1/stack/alias?engine_fetch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 X-Exosite-CIK: {cik}\r\nRequest-Timeout: 20000\r\nIf-Modified-Since: 1000\r\n\r\n"
            );
            common::raw(addr, req.as_bytes()).await
        })
    };
    hub.wait_for_waiters(1).await;
    let r = hub
        .op(
            "POST",
            "/api/v1/products/default/devices/gw/aliases/engine_fetch",
            Some(r#"{"value":"{\"install\":\"app.tgz\"}"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = poller.await.expect("poller");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "engine_fetch=%7B%22install%22%3A%22app.tgz%22%7D");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_long_polls_are_400() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    // Two aliases.
    let r = poll(&hub, &cik, "a&b", 1000, None).await;
    assert_eq!(r.status_line, "HTTP/1.1 400 Bad Request");
    // Over 300000 ms, or not a number.
    assert_eq!(poll(&hub, &cik, "a", 300_001, None).await.status, 400);
    let r = hub
        .get(
            "/onep:v1/stack/alias?a",
            &[("X-Exosite-CIK", &cik), ("Request-Timeout", "soon")],
        )
        .await;
    assert_eq!(r.status, 400);
    // Malformed If-Modified-Since.
    assert_eq!(
        poll(&hub, &cik, "a", 1000, Some("yesterday")).await.status,
        400
    );
    // Zero aliases.
    let r = hub
        .get(
            "/onep:v1/stack/alias",
            &[("X-Exosite-CIK", &cik), ("Request-Timeout", "100")],
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_pending_polls() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let poller = {
        let addr = hub.addr;
        let cik = cik.clone();
        tokio::spawn(async move {
            let req = format!(
                "GET /onep:v1/stack/alias?x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 X-Exosite-CIK: {cik}\r\nRequest-Timeout: 300000\r\n\r\n"
            );
            common::raw(addr, req.as_bytes()).await
        })
    };
    hub.wait_for_waiters(1).await;
    let started = Instant::now();
    let _dir = hub.stop().await;
    let r = poller.await.expect("poller");
    assert_eq!(r.status, 304);
    assert!(started.elapsed() < Duration::from_secs(20));
}
