//! https with a private CA (a hub's own certificate), and wire bytes counted under TLS.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use gwe_device_client::audit::{AuditConfig, AuditDb};
use gwe_device_client::{ClientConfig, DeviceClient, Error, RetryPolicy, TlsRoots};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CIK: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Counts raw TCP bytes on the server side (below TLS).
struct Counted<S> {
    inner: S,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.read
            .fetch_add((buf.filled().len() - before) as u64, Ordering::SeqCst);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, b);
        if let Poll::Ready(Ok(n)) = r {
            self.written.fetch_add(n as u64, Ordering::SeqCst);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct TlsServer {
    port: u16,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

async fn tls_server() -> TlsServer {
    let certs = rustls_pemfile::certs(&mut std::fs::read(data("server.pem")).unwrap().as_slice())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key =
        rustls_pemfile::private_key(&mut std::fs::read(data("server.key")).unwrap().as_slice())
            .unwrap()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let read = Arc::new(AtomicU64::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let (r, w) = (read.clone(), written.clone());
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let counted = Counted {
                inner: sock,
                read: r.clone(),
                written: w.clone(),
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(counted).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(
                        http::Response::builder()
                            .status(200)
                            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                b"a=secure",
                            )))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    TlsServer {
        port,
        read,
        written,
    }
}

fn client(url: String, roots: TlsRoots, audit: AuditConfig) -> DeviceClient {
    let mut config = ClientConfig::new(url)
        .with_cik(CIK)
        .with_audit(audit)
        .with_retry(RetryPolicy::none());
    config.tls_roots = roots;
    DeviceClient::new(config).unwrap()
}

#[tokio::test]
async fn https_with_private_ca_and_exact_wire_bytes() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let c = client(
        format!("https://127.0.0.1:{}", server.port),
        TlsRoots::CaFile(data("ca.pem")),
        AuditConfig::at(&db),
    );
    for _ in 0..3 {
        assert_eq!(c.read(&["a"]).await.unwrap().get("a"), Some("secure"));
    }
    let (server_read, server_written) = (
        server.read.load(Ordering::SeqCst),
        server.written.load(Ordering::SeqCst),
    );
    assert!(c.flush_audit(Duration::from_secs(10)));
    let rows = AuditDb::open(&db).unwrap().recent(10).unwrap();
    assert_eq!(rows.len(), 3);
    let sent: u64 = rows.iter().map(|r| r.bytes_sent).sum();
    let received: u64 = rows.iter().map(|r| r.bytes_received).sum();
    assert_eq!(
        sent, server_read,
        "client-sent bytes (incl. TLS handshake) = server-read bytes"
    );
    assert_eq!(received, server_written);
    // The first request carries the handshake: it is the largest.
    let oldest = rows.last().unwrap();
    assert!(rows
        .iter()
        .all(|r| r.bytes_received <= oldest.bytes_received));

    // The DNS name in the certificate works too.
    let by_name = client(
        format!("https://localhost:{}", server.port),
        TlsRoots::CaFile(data("ca.pem")),
        AuditConfig::disabled(),
    );
    assert!(by_name.read(&["a"]).await.is_ok());
}

#[tokio::test]
async fn untrusted_certificate_is_a_network_error_before_sending() {
    let server = tls_server().await;
    let c = client(
        format!("https://127.0.0.1:{}", server.port),
        TlsRoots::Bundled,
        AuditConfig::disabled(),
    );
    let err = c.write(&[("a", "1")]).await.unwrap_err();
    match &err {
        Error::Network {
            not_sent, message, ..
        } => {
            assert!(*not_sent, "the handshake failed: nothing was sent");
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        other => panic!("expected a network error, got {other}"),
    }
}

// Two workers: the server answers while the test thread waits for gdc.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdc_on_the_gateway_trusts_the_engines_tls_roots() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let engine_config = |extra: &str| {
        std::fs::write(
            dir.path().join("Engine.config"),
            format!(
                "[engine]\nserver_url = https://127.0.0.1:{}\n{extra}",
                server.port
            ),
        )
        .unwrap();
    };
    std::fs::write(
        dir.path().join("Gateway.cfg"),
        format!("[device]\ncik = {CIK}\nmodel = p1\nvendor = p1\nuuid = 00:11\n"),
    )
    .unwrap();
    let gdc = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gdc"))
            .args(args)
            .args(["--no-audit", "--timeout", "20"])
            .env("GWE_CONFIG_DIR", dir.path())
            .output()
            .unwrap()
    };
    // Without tls_roots: the bundled roots, which do not know the private CA.
    engine_config("");
    let out = gdc(&["read", "a"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The engine's tls_roots: trusted, as the engine itself trusts it.
    engine_config(&format!("tls_roots = {}\n", data("ca.pem").display()));
    let out = gdc(&["read", "a"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secure\n");
    // --tls-roots on the command line wins over the configuration.
    let out = gdc(&["read", "a", "--tls-roots", "bundled"]);
    assert!(!out.status.success());
}
