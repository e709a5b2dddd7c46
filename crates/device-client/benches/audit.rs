//! Audit cost per request. Run: `cargo bench -p gwe-device-client --bench audit`.
//!
//! Measures (1) what a request pays on its own path to audit (building the row and
//! queueing it), (2) what the background writer pays per row to commit it to SQLite
//! (WAL, batched), and (3) the end-to-end difference between audited and unaudited
//! writes against a loopback server. Target: <= 100 us per request.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gwe_device_client::audit::{AuditConfig, AuditLog, AuditRecord};
use gwe_device_client::{ClientConfig, DeviceClient, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROWS: usize = 20_000;
const REQUESTS: usize = 2_000;

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        ts_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        agent: "bench".into(),
        pid: std::process::id(),
        procedure: "write".into(),
        method: "POST".into(),
        path: "/onep:v1/stack/alias".into(),
        status: Some(204),
        bytes_sent: 200 + (i % 7) as u64,
        bytes_received: 120,
        duration_us: 900,
        error: None,
    }
}

fn queue_and_write(dir: &std::path::Path) {
    let db = dir.join("rows.db");
    let log = AuditLog::open(AuditConfig::at(&db));
    // Warm up: create the schema.
    log.record(record(0));
    log.flush(Duration::from_secs(30));
    let mut enqueue = Duration::ZERO;
    let start = Instant::now();
    for chunk in 0..(ROWS / 1000) {
        let t = Instant::now();
        for i in 0..1000 {
            log.record(record(chunk * 1000 + i));
        }
        enqueue += t.elapsed();
        // Keep the queue below its capacity so nothing is dropped.
        log.flush(Duration::from_secs(30));
    }
    let total = start.elapsed();
    let written = log
        .stats()
        .written
        .load(std::sync::atomic::Ordering::SeqCst)
        - 1;
    let dropped = log
        .stats()
        .dropped
        .load(std::sync::atomic::Ordering::SeqCst);
    println!("rows: {ROWS}, written {written}, dropped {dropped}");
    println!(
        "hot path (build row + queue): {:.2} us/row",
        enqueue.as_secs_f64() * 1e6 / ROWS as f64
    );
    println!(
        "writer thread (SQLite WAL, batched, incl. queueing): {:.2} us/row",
        (total - enqueue).as_secs_f64() * 1e6 / ROWS as f64
    );

    // Unbatched worst case: one row per transaction (a process making one request).
    let db1 = dir.join("single.db");
    let log1 = AuditLog::open(AuditConfig::at(&db1));
    log1.record(record(0));
    log1.flush(Duration::from_secs(30));
    let t = Instant::now();
    for i in 0..2000 {
        log1.record(record(i));
        log1.flush(Duration::from_secs(30));
    }
    println!(
        "one row per transaction (flush each): {:.2} us/row",
        t.elapsed().as_secs_f64() * 1e6 / 2000.0
    );
}

async fn server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut have = Vec::new();
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    have.extend_from_slice(&buf[..n]);
                    // Requests are small POSTs: head + Content-Length body.
                    while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&have[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if have.len() < end + 4 + len {
                            break;
                        }
                        have.drain(..end + 4 + len);
                        if sock
                            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn requests(addr: std::net::SocketAddr, audit: AuditConfig) -> Duration {
    let config = ClientConfig::new(format!("http://{addr}"))
        .with_cik("0123456789abcdefghijABCDEFGHIJ0123456789")
        .with_retry(RetryPolicy::none())
        .with_audit(audit);
    let c = DeviceClient::new(config).unwrap();
    for _ in 0..100 {
        c.write(&[("warm", "up")]).await.unwrap();
    }
    let t = Instant::now();
    for i in 0..REQUESTS {
        c.write(&[("a", &i.to_string())]).await.unwrap();
    }
    let elapsed = t.elapsed();
    c.flush_audit(Duration::from_secs(30));
    elapsed
}

fn end_to_end(dir: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = server().await;
        // Alternate to even out noise.
        let mut off = Duration::ZERO;
        let mut on = Duration::ZERO;
        for round in 0..3 {
            off += requests(addr, AuditConfig::disabled()).await;
            on += requests(addr, AuditConfig::at(dir.join(format!("e2e{round}.db")))).await;
        }
        let n = (3 * REQUESTS) as f64;
        let (off_us, on_us) = (off.as_secs_f64() * 1e6 / n, on.as_secs_f64() * 1e6 / n);
        println!("loopback write, audit off: {off_us:.1} us/request");
        println!("loopback write, audit on:  {on_us:.1} us/request");
        println!(
            "audit cost per request (end to end): {:.1} us",
            on_us - off_us
        );
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    queue_and_write(dir.path());
    end_to_end(dir.path());
}
