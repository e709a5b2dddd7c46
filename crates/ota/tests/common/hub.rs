//! The project's own hub in process on 127.0.0.1:0, driven through its operator API, and
//! activated device clients: what the end-to-end OTA tests start from.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use gwe_device_client::audit::AuditConfig;
use gwe_device_client::wire::ActivateRequest;
use gwe_device_client::{ClientConfig, DeviceClient, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Operator token the test hubs are started with.
pub const OP_TOKEN: &str = "ota-test-operator-token-0123456789";

/// A running hub; stops when dropped.
pub struct Hub {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a hub keeping its data in `data`.
pub async fn start_hub(data: &Path) -> Hub {
    let mut config = gwe_hub::HubConfig::new(data);
    config.operator_token = Some(OP_TOKEN.into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hub = gwe_hub::Hub::open(config).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(hub.run(listener, async {
        let _ = rx.await;
    }));
    Hub { addr, _stop: tx }
}

/// An operator call; returns the status.
pub async fn op(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {OP_TOKEN}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Uploads the file at `path` to the content area under its file name, with `meta`.
pub async fn upload(hub: &Hub, path: &Path, meta: &str) {
    let name = path.file_name().unwrap().to_string_lossy();
    let status = op(
        hub.addr,
        "PUT",
        &format!("/api/v1/products/default/content/{name}?meta={meta}"),
        &std::fs::read(path).unwrap(),
    )
    .await;
    assert!(status == 200 || status == 201, "upload {name}: {status}");
}

/// Adds device `sn` to the hub and returns a client activated as it, talking to `via` (the hub
/// itself, or a relay in front of it) with up to `attempts` tries per request.
pub async fn device(hub: &Hub, via: SocketAddr, sn: &str, attempts: u32) -> DeviceClient {
    let status = op(
        hub.addr,
        "POST",
        "/api/v1/products/default/devices",
        format!("{{\"sn\":\"{sn}\"}}").as_bytes(),
    )
    .await;
    assert_eq!(status, 201);
    let config = ClientConfig::new(format!("http://{via}"))
        .with_audit(AuditConfig::disabled())
        .with_agent("gwe")
        .with_retry(RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
    let c = DeviceClient::new(config).unwrap();
    c.activate(&ActivateRequest::murano(sn)).await.unwrap();
    c
}
