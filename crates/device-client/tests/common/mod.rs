//! A scriptable, misbehaving HTTP/1.1 server on 127.0.0.1:0 for the client tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub connection: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does, step by step, for one request.
#[derive(Debug, Clone)]
pub enum Action {
    Send(Vec<u8>),
    Sleep(Duration),
    /// Close the connection (FIN).
    Close,
    /// Close with RST (SO_LINGER 0).
    Reset,
    /// Never answer (until the client gives up).
    Hang,
}

pub type Handler = Arc<dyn Fn(&Seen, usize) -> Vec<Action> + Send + Sync>;

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub bytes_in: Arc<AtomicU64>,
    pub bytes_out: Arc<AtomicU64>,
    pub connections: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub async fn start(
        handler: impl Fn(&Seen, usize) -> Vec<Action> + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bytes_in = Arc::new(AtomicU64::new(0));
        let bytes_out = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let server = TestServer {
            addr,
            seen: seen.clone(),
            bytes_in: bytes_in.clone(),
            bytes_out: bytes_out.clone(),
            connections: connections.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let conn_no = connections.fetch_add(1, Ordering::SeqCst);
                let (h, s, bi, bo) = (
                    handler.clone(),
                    seen.clone(),
                    bytes_in.clone(),
                    bytes_out.clone(),
                );
                tokio::spawn(serve_conn(sock, conn_no, h, s, bi, bo));
            }
        });
        server
    }
}

async fn serve_conn(
    mut sock: TcpStream,
    conn_no: usize,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
    bytes_in: Arc<AtomicU64>,
    bytes_out: Arc<AtomicU64>,
) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Read one request head.
        let (head_len, method, path, headers) = loop {
            let mut hdrs = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut hdrs);
            if let Ok(httparse::Status::Complete(n)) = req.parse(&buf) {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                break (
                    n,
                    req.method.unwrap_or("").to_string(),
                    req.path.unwrap_or("").to_string(),
                    headers,
                );
            }
            let mut chunk = [0u8; 8192];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    bytes_in.fetch_add(n as u64, Ordering::SeqCst);
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        };
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_len + len {
            let mut chunk = [0u8; 8192];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    bytes_in.fetch_add(n as u64, Ordering::SeqCst);
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        let body = buf[head_len..head_len + len].to_vec();
        buf.drain(..head_len + len);
        let request = Seen {
            method,
            path,
            headers,
            body,
            connection: conn_no,
        };
        let index = {
            let mut s = seen.lock().unwrap();
            s.push(request.clone());
            s.len() - 1
        };
        for action in handler(&request, index) {
            match action {
                Action::Send(bytes) => {
                    if sock.write_all(&bytes).await.is_err() {
                        return;
                    }
                    bytes_out.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                }
                Action::Sleep(d) => tokio::time::sleep(d).await,
                Action::Close => {
                    let _ = sock.shutdown().await;
                    return;
                }
                Action::Reset => {
                    let _ = sock.set_zero_linger();
                    drop(sock);
                    return;
                }
                Action::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
            }
        }
    }
}

/// A complete response with Content-Length.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "Whatever",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if status != 204 && status != 304 {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

pub fn ok(status: u16, body: &str) -> Vec<Action> {
    vec![Action::Send(response(status, &[], body.as_bytes()))]
}

/// Polls `cond` every 20 ms for up to 20 s.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub const CIK: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";
