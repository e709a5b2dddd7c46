//! A small HTTP/1.1 client for the operator API (one connection per request, plain http).

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

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
#[derive(Debug, Clone)]
pub struct Client {
    authority: String,
    token: String,
}

/// Escapes one path segment.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

impl Client {
    /// A client for `remote` (token from `--token` or `<data-dir>/operator-token`).
    pub fn new(remote: &Remote) -> anyhow::Result<Client> {
        let url = remote.url.trim_end_matches('/');
        let Some(authority) = url.strip_prefix("http://") else {
            bail!(
                "--url must be http://HOST:PORT (got {url:?}); https is not supported by the CLI"
            );
        };
        if authority.is_empty() || authority.contains('/') {
            bail!("--url must be http://HOST:PORT without a path (got {url:?})");
        }
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
            authority: authority.to_string(),
            token,
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
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
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

/// Turns a non-2xx answer into an error carrying the server's message.
pub fn check(status: StatusCode, body: &[u8]) -> anyhow::Result<()> {
    if status.is_success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(body);
    bail!("hub answered {status}: {}", msg.trim())
}
