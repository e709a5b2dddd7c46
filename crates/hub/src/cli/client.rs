//! A small HTTP/1.1 client for the operator API (one connection per request,
//! http or https; trust comes from the device client's [`TlsRoots`]).

use anyhow::{bail, Context};
use bytes::Bytes;
use gwe_device_client::TlsRoots;
use http::{header, Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Remote;

/// Largest answer the CLI reads.
const MAX_ANSWER: usize = 64 << 20;

/// Characters escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Request body type of the client.
pub type ClientBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// Talks to one hub with one operator token.
#[derive(Clone)]
pub struct Client {
    authority: String,
    token: String,
    /// For https: the connector and the name the certificate must carry.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("authority", &self.authority)
            .field("https", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// A connection to the hub, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Escapes one path segment.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

impl Client {
    /// A client for `remote` (token from `--token` or `<data-dir>/operator-token`).
    pub fn new(remote: &Remote) -> anyhow::Result<Client> {
        let url = remote.url.trim_end_matches('/');
        let (authority, https) = if let Some(a) = url.strip_prefix("http://") {
            (a, false)
        } else if let Some(a) = url.strip_prefix("https://") {
            (a, true)
        } else {
            bail!("--url must be http://HOST:PORT or https://HOST:PORT (got {url:?})");
        };
        if authority.is_empty() || authority.contains('/') {
            bail!("--url must be http(s)://HOST:PORT without a path (got {url:?})");
        }
        // https defaults to port 443, http to 80, like any URL
        let authority = if has_port(authority) {
            authority.to_string()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        let tls = if https {
            let roots = remote
                .tls_roots
                .as_deref()
                .map(TlsRoots::parse)
                .unwrap_or_default();
            let config =
                gwe_device_client::tls_client_config(&roots).map_err(|e| anyhow::anyhow!("{e}"))?;
            let host = host_of(&authority);
            let name = ServerName::try_from(host.to_string())
                .with_context(|| format!("{host:?} is not a valid TLS server name"))?;
            Some((tokio_rustls::TlsConnector::from(config), name))
        } else {
            None
        };
        let token = match (&remote.token, &remote.data_dir) {
            (Some(t), _) => t.clone(),
            (None, Some(dir)) => {
                let path = dir.join(crate::config::OPERATOR_TOKEN_FILE);
                crate::operator_token::read(&path)
                    .with_context(|| format!("cannot read the operator token {}", path.display()))?
            }
            (None, None) => bail!("give --token or --data-dir (to read the operator token)"),
        };
        Ok(Client {
            authority,
            token,
            tls,
        })
    }

    /// Sends a JSON body (or none) and returns the status and body.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let (ct, bytes) = match body {
            Some(v) => ("application/json", Bytes::from(serde_json::to_vec(&v)?)),
            None => ("application/json", Bytes::new()),
        };
        let body = Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync();
        self.send(method, path, ct, None, body).await
    }

    /// Sends any body; `len` sets `Content-Length` when known.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        len: Option<u64>,
        body: ClientBody,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
        let stream: Box<dyn Stream> = match &self.tls {
            Some((connector, name)) => Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .with_context(|| format!("TLS handshake with {}", self.authority))?,
            ),
            None => Box::new(tcp),
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, content_type);
        if let Some(n) = len {
            req = req.header(header::CONTENT_LENGTH, n);
        }
        let resp = sender
            .send_request(req.body(body)?)
            .await
            .with_context(|| format!("request to {path}"))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    }
}

/// Whether `authority` ends in `:PORT` (an IPv6 literal is bracketed).
fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']') && authority[i + 1..].parse::<u16>().is_ok(),
        None => false,
    }
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed).
fn host_of(authority: &str) -> &str {
    let host = match authority.rfind(':') {
        Some(i) => &authority[..i],
        None => authority,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Turns a non-2xx answer into an error carrying the server's message.
pub fn check(status: StatusCode, body: &[u8]) -> anyhow::Result<()> {
    if status.is_success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(body);
    bail!("hub answered {status}: {}", msg.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert!(has_port("h:8080"));
        assert!(!has_port("h"));
        assert!(!has_port("[::1]"));
        assert!(has_port("[::1]:443"));
        assert!(!has_port("h:99999"));
        assert_eq!(host_of("localhost:8443"), "localhost");
        assert_eq!(host_of("[::1]:443"), "::1");
    }
}
