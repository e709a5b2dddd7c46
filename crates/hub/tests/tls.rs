//! `--tls-cert/--tls-key`: the hub serves the Device API over TLS (rustls). The certificate
//! in `tests/data` is a self-signed test certificate for `localhost` / 127.0.0.1.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::TestHub;
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_given_certificate() {
    let hub = TestHub::start_with(|c| {
        c.tls = Some(gwe_hub::TlsFiles {
            cert: data("localhost.crt"),
            key: data("localhost.key"),
        })
    })
    .await;
    let mut roots = rustls::RootCertStore::empty();
    let cert = CertificateDer::from_pem_file(data("localhost.crt")).expect("cert");
    roots.add(cert).expect("trust the test cert");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(hub.addr)
        .await
        .expect("connect");
    let mut tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    tls.write_all(b"GET /timestamp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    let r = common::parse_response(&buf);
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert!(r.text().parse::<u64>().is_ok());
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = common::raw_bytes(hub.addr, b"GET /timestamp HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(!plain.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_file_fails_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = gwe_hub::HubConfig::new(dir.path().join("d"));
    config.tls = Some(gwe_hub::TlsFiles {
        cert: data("localhost.crt"),
        key: data("localhost.crt"),
    });
    let err = match gwe_hub::Hub::open(config).await {
        Ok(_) => panic!("started with a certificate as key"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("TLS") && err.contains("localhost.crt"),
        "{err}"
    );
}
