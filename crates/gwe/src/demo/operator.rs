//! A tiny client of gwe-hub's operator API (HTTP/1.0 on loopback, bearer token): just what the
//! demo needs (add a device, upload content, write and read an alias).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};

/// Largest operator answer the demo reads.
const MAX_ANSWER: u64 = 4 << 20;

/// The operator side of a hub.
pub struct Operator {
    addr: SocketAddr,
    token: String,
    product: String,
}

impl Operator {
    /// Talks to the hub at `addr` with the operator `token`, about `product`.
    pub fn new(addr: SocketAddr, token: &str, product: &str) -> Operator {
        Operator {
            addr,
            token: token.to_string(),
            product: product.to_string(),
        }
    }

    /// The operator token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// One request: status and body (the connection closes after the answer).
    fn call(
        &self,
        method: &str,
        path: &str,
        ctype: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        let what = || format!("{method} {path} on the hub at {}", self.addr);
        let mut s =
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).with_context(what)?;
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .with_context(what)?;
        let head = format!(
            "{method} /api/v1/products/{}{path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            self.product,
            self.addr,
            self.token,
            body.len()
        );
        s.write_all(head.as_bytes()).with_context(what)?;
        s.write_all(body).with_context(what)?;
        let mut out = Vec::new();
        s.take(MAX_ANSWER)
            .read_to_end(&mut out)
            .with_context(what)?;
        let text = String::from_utf8_lossy(&out);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .with_context(|| format!("{}: no HTTP status in the answer", what()))?;
        Ok((status, body.to_string()))
    }

    fn expect_2xx(
        &self,
        method: &str,
        path: &str,
        ctype: &str,
        body: &[u8],
    ) -> anyhow::Result<String> {
        let (status, text) = self.call(method, path, ctype, body)?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: hub answered {status}: {}", text.trim());
        }
        Ok(text)
    }

    /// Adds (whitelists) a device so it may activate.
    pub fn add_device(&self, sn: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({ "sn": sn }).to_string();
        self.expect_2xx("POST", "/devices", "application/json", body.as_bytes())
            .map(drop)
    }

    /// Uploads a content item (replacing one of the same id).
    pub fn upload(&self, id: &str, bytes: &[u8], meta: &str) -> anyhow::Result<()> {
        let path = format!("/content/{}?meta={}", seg(id), seg(meta));
        self.expect_2xx("PUT", &path, "application/gzip", bytes)
            .map(drop)
    }

    /// Writes a value to a device's alias.
    pub fn write(&self, sn: &str, alias: &str, value: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({ "value": value }).to_string();
        let path = format!("/devices/{}/aliases/{}", seg(sn), seg(alias));
        self.expect_2xx("POST", &path, "application/json", body.as_bytes())
            .map(drop)
    }

    /// The latest value of a device's alias (`None`: never written).
    pub fn latest(&self, sn: &str, alias: &str) -> anyhow::Result<Option<String>> {
        let path = format!("/devices/{}/aliases/{}?limit=1", seg(sn), seg(alias));
        let (status, text) = self.call("GET", &path, "application/json", b"")?;
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            bail!("GET {path}: hub answered {status}: {}", text.trim());
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("GET {path}: not JSON"))?;
        Ok(v["points"][0]["value"].as_str().map(str::to_string))
    }
}

/// Percent-encodes one path segment or query value.
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
