//! Downloads with `Range`: `X-Y`, `X-`, `-Y`, clamping, 416 with `Content-Range: bytes */N`,
//! invalid and multi-range headers (whole blob), and a blob larger than one stream chunk.

mod common;

use common::{TestHub, OP_TOKEN};

async fn hub_with_blob(data: &[u8]) -> (TestHub, String) {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let auth = format!("Bearer {OP_TOKEN}");
    let r = hub
        .request(
            "PUT",
            "/api/v1/products/default/content/blob.bin",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/octet-stream"),
            ],
            data,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    (hub, cik)
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

async fn ranged(hub: &TestHub, cik: &str, range: &str) -> common::RawResponse {
    hub.get(
        "/provision/download?id=blob.bin",
        &[("X-Exosite-CIK", cik), ("Range", range)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn satisfiable_ranges_are_206_with_content_range() {
    let d = data(1000);
    let (hub, cik) = hub_with_blob(&d).await;
    for (range, first, last) in [
        ("bytes=0-99", 0usize, 99usize),
        ("bytes=10-10", 10, 10),
        ("bytes=900-", 900, 999),
        ("bytes=-100", 900, 999),
        ("bytes=990-5000", 990, 999),
        ("bytes=-5000", 0, 999),
        ("BYTES = 5 - 6", 5, 6),
    ] {
        let r = ranged(&hub, &cik, range).await;
        assert_eq!(r.status_line, "HTTP/1.1 206 Partial Content", "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {first}-{last}/1000").as_str()),
            "{range}"
        );
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
        assert_eq!(
            r.header("content-length"),
            Some((last - first + 1).to_string().as_str())
        );
        assert_eq!(r.body, &d[first..=last], "{range}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsatisfiable_ranges_are_416() {
    let (hub, cik) = hub_with_blob(&data(1000)).await;
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let r = ranged(&hub, &cik, range).await;
        assert_eq!(
            r.status_line, "HTTP/1.1 416 Range Not Satisfiable",
            "{range}"
        );
        assert_eq!(r.header("content-range"), Some("bytes */1000"), "{range}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_or_multiple_ranges_send_the_whole_blob() {
    let d = data(300);
    let (hub, cik) = hub_with_blob(&d).await;
    for range in [
        "bytes=a-b",
        "items=0-1",
        "bytes=5-1",
        "bytes=0-1,5-6",
        "bytes=-",
        "garbage",
    ] {
        let r = ranged(&hub, &cik, range).await;
        assert_eq!(r.status_line, "HTTP/1.1 200 OK", "{range}");
        assert_eq!(r.header("content-range"), None);
        assert_eq!(r.body, d, "{range}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_blobs_stream_whole_and_in_pieces() {
    let d = data(300_000);
    let (hub, cik) = hub_with_blob(&d).await;
    let r = hub
        .get(
            "/provision/download?id=blob.bin",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), d.len());
    assert!(r.body == d);
    // Resume as a client would: fixed-size chunks until the end.
    let mut got = Vec::new();
    while got.len() < d.len() {
        let end = (got.len() + 65_536).min(d.len()) - 1;
        let r = ranged(&hub, &cik, &format!("bytes={}-{end}", got.len())).await;
        assert_eq!(r.status, 206);
        got.extend_from_slice(&r.body);
    }
    assert!(got == d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_blob_is_200_and_any_range_416() {
    let (hub, cik) = hub_with_blob(b"").await;
    let r = hub
        .get(
            "/provision/download?id=blob.bin",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    let r = ranged(&hub, &cik, "bytes=0-").await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */0"));
}
