//! Hostile and malformed input: broken request heads, oversized heads and bodies, bad
//! framing, bad encodings, pipelining and keep-alive edge cases. The hub must answer with the
//! right 4xx (or close) and keep serving.

mod common;

use std::time::Duration;

use common::TestHub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn still_serving(hub: &TestHub) {
    assert_eq!(hub.get("/timestamp", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_broken_heads_are_400() {
    let hub = TestHub::start().await;
    for req in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"POST /onep:v1/stack/alias HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /onep:v1/stack/alias HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /onep:v1/stack/alias HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let r = hub.raw(req).await;
        assert_eq!(r.status, 400, "{:?} -> {}", String::from_utf8_lossy(req), r.status_line);
        assert_eq!(r.header("connection"), Some("close"));
    }
    let r = hub
        .raw(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        .await;
    assert_eq!(r.status, 501);
    still_serving(&hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_are_431() {
    let hub = TestHub::start().await;
    let long = format!(
        "GET /timestamp?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(40_000)
    );
    let r = hub.raw(long.as_bytes()).await;
    assert_eq!(
        r.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let mut many = String::from("GET /timestamp HTTP/1.1\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(hub.raw(many.as_bytes()).await.status, 431);
    still_serving(&hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_device_bodies_are_413_and_store_nothing() {
    let hub = TestHub::start_with(|c| c.max_body_bytes = 1024).await;
    let cik = hub.device("sn").await;
    let body = format!("a={}", "x".repeat(5000));
    let r = hub.post_form("/onep:v1/stack/alias", &cik, &body).await;
    assert_eq!(r.status_line, "HTTP/1.1 413 Payload Too Large");
    // Chunked, no declared length.
    let mut req = format!(
        "POST /onep:v1/stack/record HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Exosite-CIK: {cik}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    req.extend_from_slice(b"9\r\nalias=big\r\n");
    for _ in 0..4 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[b'1'; 512]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(hub.raw(&req).await.status, 413);
    assert_eq!(hub.read(&cik, "a&big").await.status, 204);
    still_serving(&hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_forms_are_400() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn").await;
    for body in ["a=%", "a=%zz", "=novalue", "a=%FF%FE"] {
        let r = hub.post_form("/onep:v1/stack/alias", &cik, body).await;
        assert_eq!(r.status, 400, "{body}");
    }
    let r = hub.read(&cik, "a%zz").await;
    assert_eq!(r.status, 400);
    let r = hub
        .get("/provision/download?id=%", &[("X-Exosite-CIK", &cik)])
        .await;
    assert_eq!(r.status, 400);
    // Nothing was stored by the refused writes.
    assert_eq!(hub.read(&cik, "a").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_are_decoded() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn").await;
    let req = format!(
        "POST /onep:v1/stack/alias HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Exosite-CIK: {cik}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         3;ext=1\r\na=1\r\n4\r\n&b=2\r\n0\r\nTrailer: x\r\n\r\n"
    );
    assert_eq!(hub.raw(req.as_bytes()).await.status, 204);
    assert_eq!(hub.read(&cik, "a&b").await.text(), "a=1&b=2");
    // Broken chunk sizes.
    for chunks in ["zz\r\na=1\r\n0\r\n\r\n", "3\r\na=1XX0\r\n\r\n"] {
        let req = format!(
            "POST /onep:v1/stack/alias HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Exosite-CIK: {cik}\r\n\
             Transfer-Encoding: chunked\r\n\r\n{chunks}"
        );
        let r = hub.raw(req.as_bytes()).await;
        assert_eq!(r.status, 400, "{chunks:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_and_pipelining_work() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn").await;
    let mut s = TcpStream::connect(hub.addr).await.expect("connect");
    let one = format!(
        "POST /onep:v1/stack/alias HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {cik}\r\nContent-Length: 3\r\n\r\nk=1"
    );
    let two = format!(
        "GET /onep:v1/stack/alias?k HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {cik}\r\nConnection: close\r\n\r\n"
    );
    // Both requests in one write: the second is pipelined behind the first.
    s.write_all(format!("{one}{two}").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
    let second = text.find("HTTP/1.1 200 OK\r\n").expect("second answer");
    assert!(text[second..].ends_with("\r\n\r\nk=1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_and_head_requests() {
    let hub = TestHub::start().await;
    let r = hub.raw(b"GET /timestamp HTTP/1.0\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    let r = hub
        .raw(b"HEAD /timestamp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    // HEAD is not a route of the Device API; whatever the status, no body follows.
    assert!(r.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_vanishing_during_a_long_poll_is_cleaned_up() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn").await;
    let mut s = TcpStream::connect(hub.addr).await.expect("connect");
    let req = format!(
        "GET /onep:v1/stack/alias?x HTTP/1.1\r\nHost: x\r\nX-Exosite-CIK: {cik}\r\nRequest-Timeout: 300000\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    hub.wait_for_waiters(1).await;
    drop(s);
    let notifier = hub.notifier.clone();
    common::wait_until(|| {
        let n = notifier.clone();
        async move { n.waiters() == 0 && n.channels() == 0 }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods() {
    let hub = TestHub::start().await;
    assert_eq!(hub.get("/nope", &[]).await.status, 404);
    let r = hub.request("DELETE", "/timestamp", &[], b"").await;
    assert_eq!(r.status, 405);
    let r = hub
        .request("PUT", "/onep:v1/stack/alias", &[], b"a=1")
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_round_trip_exactly() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn").await;
    let value = "{\"a\":[1,2],\"b\":\"x&y=z\"}\nline2 ünïcødé 🚀 %41 +";
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("v", value)
        .finish();
    assert_eq!(
        hub.post_form("/onep:v1/stack/alias", &cik, &body)
            .await
            .status,
        204
    );
    let r = hub.read(&cik, "v").await;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&r.body).into_owned().collect();
    assert_eq!(pairs, vec![("v".to_string(), value.to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_sending_nothing_does_not_block_others() {
    let hub = TestHub::start().await;
    let _idle: Vec<TcpStream> = {
        let mut v = Vec::new();
        for _ in 0..50 {
            v.push(TcpStream::connect(hub.addr).await.expect("connect"));
        }
        v
    };
    let mut half = TcpStream::connect(hub.addr).await.expect("connect");
    half.write_all(b"GET /timest").await.expect("write");
    still_serving(&hub).await;
}
