//! Shared test helpers: an in-process hub on 127.0.0.1:0 in a temp dir, raw HTTP over
//! TcpStream (so status lines and headers are checked exactly as sent), deadline polling.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use gwe_hub::HubConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Operator token every in-process test hub uses.
pub const OP_TOKEN: &str = "test-operator-token-0123456789";

/// A running in-process hub; dropping it stops it.
pub struct TestHub {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    /// The hub's long-poll registry (to wait until a poll is registered).
    pub notifier: std::sync::Arc<gwe_hub::notify::Notifier>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestHub {
    /// Starts a hub with default settings.
    pub async fn start() -> TestHub {
        TestHub::start_with(|_| {}).await
    }

    /// Starts a hub after `tweak` adjusted its configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut HubConfig)) -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        TestHub::start_in(dir, tweak).await
    }

    /// Starts a hub on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut HubConfig)) -> TestHub {
        let mut config = HubConfig::new(dir.path().join("data"));
        config.operator_token = Some(OP_TOKEN.to_string());
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let opened = gwe_hub::Hub::open(config).await.expect("open hub");
        let notifier = opened.state().notifier.clone();
        let task = tokio::spawn(opened.run(listener, async {
            let _ = rx.await;
        }));
        TestHub {
            addr,
            dir,
            notifier,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the hub and waits for it to finish; returns the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("hub stops in time")
                .expect("hub task")
                .expect("hub result");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Waits until at least `n` (device, alias) pairs have long polls waiting.
    pub async fn wait_for_waiters(&self, n: usize) {
        let notifier = self.notifier.clone();
        wait_until(|| {
            let notifier = notifier.clone();
            async move { notifier.channels() >= n }
        })
        .await;
    }

    /// Sends raw bytes and reads the whole answer (the request should say `Connection: close`).
    pub async fn raw(&self, request: &[u8]) -> RawResponse {
        raw(self.addr, request).await
    }

    /// A GET with extra header lines.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        self.request("GET", path, headers, b"").await
    }

    /// Any request with a body (Content-Length added).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes).await
    }

    /// A form POST with a CIK.
    pub async fn post_form(&self, path: &str, cik: &str, body: &str) -> RawResponse {
        self.request(
            "POST",
            path,
            &[
                ("X-Exosite-CIK", cik),
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
            ],
            body.as_bytes(),
        )
        .await
    }

    /// A Device API read with a CIK.
    pub async fn read(&self, cik: &str, query: &str) -> RawResponse {
        self.get(
            &format!("/onep:v1/stack/alias?{query}"),
            &[
                ("X-Exosite-CIK", cik),
                ("Accept", "application/x-www-form-urlencoded; charset=utf-8"),
            ],
        )
        .await
    }

    /// An operator API call with a JSON body.
    pub async fn op(&self, method: &str, path: &str, json: Option<&str>) -> RawResponse {
        let auth = format!("Bearer {OP_TOKEN}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if json.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.request(method, path, &headers, json.unwrap_or("").as_bytes())
            .await
    }

    /// Adds `sn` to the default product and activates it; returns its CIK.
    pub async fn device(&self, sn: &str) -> String {
        let r = self
            .op(
                "POST",
                "/api/v1/products/default/devices",
                Some(&format!("{{\"sn\":\"{sn}\"}}")),
            )
            .await;
        assert_eq!(r.status, 201, "add device: {}", r.text());
        let r = self
            .request(
                "POST",
                "/provision/activate",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                format!("id={sn}").as_bytes(),
            )
            .await;
        assert_eq!(r.status, 200, "activate: {}", r.text());
        r.text()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status line without CRLF, e.g. `HTTP/1.1 204 No Content`.
    pub status_line: String,
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends raw bytes to `addr` and parses the answer (read until the server closes).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    parse_response(&buf)
}

/// Sends raw bytes and returns whatever comes back until the server closes (or 10 s pass).
pub async fn raw_bytes(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(request).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    buf
}

/// Parses one HTTP/1.1 response (Content-Length or read-to-close bodies).
pub fn parse_response(buf: &[u8]) -> RawResponse {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("").to_string();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    RawResponse {
        status_line,
        status,
        headers,
        body,
    }
}

/// Polls `cond` every 20 ms until it holds, failing after 20 s.
pub async fn wait_until<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if cond().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
