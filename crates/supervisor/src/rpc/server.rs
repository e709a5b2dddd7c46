//! A small, bounded HTTP/1.1 server for the control sockets (unix socket from
//! `[unix_http_server]`, TCP from `[inet_http_server]`): `POST /RPC2`
//! (XML-RPC), `GET /logtail/<name>[/<channel>]` and `GET /mainlogtail`
//! (streaming tails for `supervisorctl tail -f` / `maintail -f`).
//!
//! Limits: 16 KiB of request head, 2 MiB of body (413 beyond), 64
//! connections, 60 s idle timeout on keep-alive connections. Any malformed
//! request gets an HTTP error and the connection is closed; nothing a client
//! sends can stop the server.

use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use gwe_supervisor_client::xmlrpc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::Request;
use crate::config::Config;
use crate::daemon::DaemonError;

/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (413 beyond).
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// Concurrent connections per server.
const MAX_CONNS: usize = 64;
/// How long a connection may sit idle between requests.
const IDLE: Duration = Duration::from_secs(60);
/// How often a streaming tail looks at its file.
const TAIL_EVERY: Duration = Duration::from_millis(100);

/// Basic-auth credentials (`password` plain or `{SHA}` + hex SHA-1).
#[derive(Debug, Clone)]
struct Auth {
    user: String,
    password: String,
}

impl Auth {
    fn new(user: &Option<String>, password: &Option<String>) -> Option<Auth> {
        Some(Auth {
            user: user.clone()?,
            password: password.clone().unwrap_or_default(),
        })
    }

    fn allows(&self, header: Option<&str>) -> bool {
        let Some(h) = header else { return false };
        let Some(b64) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let raw = String::from_utf8_lossy(&raw);
        let Some((u, p)) = raw.split_once(':') else {
            return false;
        };
        if u != self.user {
            return false;
        }
        match self.password.strip_prefix("{SHA}") {
            Some(hexdigest) => crate::sha1::hex(p.as_bytes()).eq_ignore_ascii_case(hexdigest),
            None => p == self.password,
        }
    }
}

struct Ctx {
    tx: mpsc::Sender<Request>,
    auth: Option<Auth>,
    inflight: Arc<AtomicUsize>,
}

/// Counts an XML-RPC call from hand-over to the loop until its answer is written.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(n: &Arc<AtomicUsize>) -> InFlight {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The running servers (kept by the daemon for a clean exit).
#[derive(Debug)]
pub struct Servers {
    sockets: Vec<PathBuf>,
    inflight: Arc<AtomicUsize>,
}

impl Servers {
    /// Waits (up to `max`) until answers already handed to connections are written.
    pub async fn drain(&self, max: Duration) {
        let end = Instant::now() + max;
        tokio::task::yield_now().await;
        while self.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Removes the unix socket files.
    pub fn remove_sockets(&self) {
        for s in &self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> DaemonError + 'a {
    move |source| DaemonError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Binds the configured sockets and starts serving them.
pub async fn start(config: &Config, tx: mpsc::Sender<Request>) -> Result<Servers, DaemonError> {
    let inflight = Arc::new(AtomicUsize::new(0));
    let mut sockets = Vec::new();
    if let Some(u) = &config.unix_http_server {
        let path = &u.file;
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(DaemonError::AddressInUse(path.display().to_string()));
            }
            std::fs::remove_file(path).map_err(io_err("cannot remove stale socket", path))?;
        }
        let l = bind_unix(path, u.chmod, u.chown.as_deref())?;
        sockets.push(path.clone());
        let ctx = Arc::new(Ctx {
            tx: tx.clone(),
            auth: Auth::new(&u.username, &u.password),
            inflight: inflight.clone(),
        });
        tokio::spawn(accept_unix(l, ctx));
    }
    if let Some(inet) = &config.inet_http_server {
        let (host, port) = inet
            .port
            .rsplit_once(':')
            .unwrap_or(("", inet.port.as_str()));
        let host = if host.is_empty() || host == "*" {
            "0.0.0.0"
        } else {
            host
        };
        let port: u16 = port
            .parse()
            .map_err(|_| DaemonError::AddressInUse(inet.port.clone()))?;
        let l = tokio::net::TcpListener::bind((host, port))
            .await
            .map_err(|_| DaemonError::AddressInUse(inet.port.clone()))?;
        let ctx = Arc::new(Ctx {
            tx,
            auth: Auth::new(&inet.username, &inet.password),
            inflight: inflight.clone(),
        });
        tokio::spawn(accept_tcp(l, ctx));
    }
    Ok(Servers { sockets, inflight })
}

/// Binds the socket under a temporary name beside `path` and renames it into place once
/// its mode and owner are set, as supervisord does: no client ever finds it with the
/// umask's permissions.
fn bind_unix(
    path: &Path,
    mode: u32,
    owner: Option<&str>,
) -> Result<tokio::net::UnixListener, DaemonError> {
    let tmp = crate::files::sibling(path, &format!(".{}", std::process::id()));
    // left by an earlier daemon that had this pid and was killed while binding
    let _ = std::fs::remove_file(&tmp);
    let l = tokio::net::UnixListener::bind(&tmp).map_err(io_err("cannot bind socket", path))?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot chmod socket", path))
        .and_then(|()| owner.map_or(Ok(()), |o| chown(&tmp, path, o)))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err("cannot bind socket", path)));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(l)
}

/// Hands `file` to `owner` (`user[:group]`); errors name `path`, the configured name.
fn chown(file: &Path, path: &Path, owner: &str) -> Result<(), DaemonError> {
    let (user, group) = owner
        .split_once(':')
        .map_or((owner, None), |(u, g)| (u, Some(g)));
    let bad = |what: &str| DaemonError::Io {
        what: "cannot chown socket",
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("unknown {what} in chown={owner}")),
    };
    let u = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .ok_or_else(|| bad("user"))?;
    let gid = match group {
        Some(g) => {
            nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| bad("group"))?
                .gid
        }
        None => u.gid,
    };
    nix::unistd::chown(file, Some(u.uid), Some(gid)).map_err(|e| DaemonError::Io {
        what: "cannot chown socket",
        path: path.to_path_buf(),
        source: e.into(),
    })
}

async fn accept_unix(l: tokio::net::UnixListener, ctx: Arc<Ctx>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        match l.accept().await {
            Ok((s, _)) => {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    connection(s, ctx).await;
                    drop(permit);
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn accept_tcp(l: tokio::net::TcpListener, ctx: Arc<Ctx>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    connection(s, ctx).await;
                    drop(permit);
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The parts of a request head we use.
#[derive(Debug)]
struct Head {
    method: String,
    path: String,
    http11: bool,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    authorization: Option<String>,
    len: usize,
}

enum Parsed {
    Head(Head),
    Partial,
    Bad(u16),
}

fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Bad(431),
        Err(_) => return Parsed::Bad(400),
    };
    let mut head = Head {
        method: req.method.unwrap_or("").to_owned(),
        path: req.path.unwrap_or("").to_owned(),
        http11: req.version == Some(1),
        content_length: None,
        chunked: false,
        close: false,
        keep_alive: false,
        expect_continue: false,
        authorization: None,
        len,
    };
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(h.value);
        let v = v.trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            match v.parse::<usize>() {
                Ok(n) if head.content_length.is_none_or(|c| c == n) => {
                    head.content_length = Some(n)
                }
                _ => return Parsed::Bad(400),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = v.to_ascii_lowercase();
            head.close |= v.contains("close");
            head.keep_alive |= v.contains("keep-alive");
        } else if h.name.eq_ignore_ascii_case("expect") {
            head.expect_continue = v.eq_ignore_ascii_case("100-continue");
        } else if h.name.eq_ignore_ascii_case("authorization") {
            head.authorization = Some(v.to_owned());
        }
    }
    Parsed::Head(head)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Error",
    }
}

async fn send<W: AsyncWrite + Unpin>(
    w: &mut W,
    code: u16,
    ctype: &str,
    body: &[u8],
    close: bool,
    extra: &str,
) -> bool {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nServer: gwe-supervisord\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}{}\r\n",
        reason(code),
        body.len(),
        if close { "Connection: close\r\n" } else { "" },
    );
    w.write_all(head.as_bytes()).await.is_ok()
        && w.write_all(body).await.is_ok()
        && w.flush().await.is_ok()
}

async fn error<W: AsyncWrite + Unpin>(w: &mut W, code: u16) {
    let body = format!("<html><body>{code} {}</body></html>", reason(code));
    send(w, code, "text/html", body.as_bytes(), true, "").await;
}

/// Reads more bytes into `buf`; false on EOF, error or idle timeout.
async fn fill<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 8192];
    match tokio::time::timeout(IDLE, r.read(&mut tmp)).await {
        Ok(Ok(n)) if n > 0 => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
        _ => false,
    }
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(stream: S, ctx: Arc<Ctx>) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head = loop {
            match parse_head(&buf) {
                Parsed::Head(h) => break h,
                Parsed::Bad(code) => return error(&mut wr, code).await,
                Parsed::Partial if buf.len() > MAX_HEAD => return error(&mut wr, 431).await,
                Parsed::Partial => {
                    if !fill(&mut rd, &mut buf).await {
                        return;
                    }
                }
            }
        };
        buf.drain(..head.len);
        if head.chunked {
            return error(&mut wr, 501).await;
        }
        let body_len = head.content_length.unwrap_or(0);
        if body_len > MAX_BODY {
            return error(&mut wr, 413).await;
        }
        if head.expect_continue
            && buf.len() < body_len
            && wr
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .is_err()
        {
            return;
        }
        while buf.len() < body_len {
            if !fill(&mut rd, &mut buf).await {
                return;
            }
        }
        let body: Vec<u8> = buf.drain(..body_len).collect();
        if let Some(auth) = &ctx.auth {
            if !auth.allows(head.authorization.as_deref()) {
                send(
                    &mut wr,
                    401,
                    "text/html",
                    b"<html><body>401 Unauthorized</body></html>",
                    true,
                    "WWW-Authenticate: Basic realm=\"default\"\r\n",
                )
                .await;
                return;
            }
        }
        let close = head.close || (!head.http11 && !head.keep_alive);
        let path = head.path.split('?').next().unwrap_or("").to_owned();
        match (head.method.as_str(), path.as_str()) {
            ("POST", "/RPC2") => {
                if head.content_length.is_none() {
                    return error(&mut wr, 411).await;
                }
                if !rpc_call(&ctx, &body, &mut wr, close).await || close {
                    return;
                }
            }
            ("GET", "/mainlogtail") => {
                return tail(&ctx, None, "stdout".into(), head.http11, &mut rd, &mut wr).await
            }
            ("GET", p) if p.starts_with("/logtail/") => {
                let rest = percent_decode(&p["/logtail/".len()..]);
                let (name, channel) = match rest.split_once('/') {
                    Some((n, c)) => (n.to_owned(), c.to_owned()),
                    None => (rest.clone(), "stdout".to_owned()),
                };
                return tail(&ctx, Some(name), channel, head.http11, &mut rd, &mut wr).await;
            }
            (_, "/RPC2") => return error(&mut wr, 405).await,
            _ => return error(&mut wr, 404).await,
        }
    }
}

/// One XML-RPC call: parse, hand to the loop, write the answer. False if
/// the connection must close.
async fn rpc_call<W: AsyncWrite + Unpin>(ctx: &Ctx, body: &[u8], wr: &mut W, close: bool) -> bool {
    let call = match xmlrpc::parse_call(body) {
        Ok(c) => c,
        Err(_) => {
            error(wr, 400).await;
            return false;
        }
    };
    let _inflight = InFlight::new(&ctx.inflight);
    let (reply, rx) = oneshot::channel();
    if ctx.tx.send(Request::Call { call, reply }).await.is_err() {
        error(wr, 500).await;
        return false;
    }
    let Ok(answer) = rx.await else {
        error(wr, 500).await;
        return false;
    };
    let mut out = String::new();
    match &answer {
        Ok(v) => xmlrpc::encode_response(&mut out, v),
        Err(f) => xmlrpc::encode_fault(&mut out, f.code, &f.message),
    }
    let sent = send(wr, 200, "text/xml", out.as_bytes(), close, "").await;
    // a large answer (getAllProcessInfo: 65 KB for 50 programs) leaves its
    // buffers on the heap, which glibc keeps; hand them back once sent
    let large = out.len() >= TRIM_AFTER;
    drop(out);
    drop(answer);
    if large {
        crate::daemon::release_free_heap();
    }
    sent
}

/// Answers at least this large release the freed heap after they are sent.
const TRIM_AFTER: usize = 32 * 1024;

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hexval = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Streams a log file like supervisord's `tail_f_producer`: the last 1 KiB,
/// then whatever is appended, following rotation, until the client goes away.
async fn tail<R, W>(
    ctx: &Ctx,
    name: Option<String>,
    channel: String,
    http11: bool,
    rd: &mut R,
    wr: &mut W,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (reply, rx) = oneshot::channel();
    if ctx
        .tx
        .send(Request::LogPath {
            name,
            channel,
            reply,
        })
        .await
        .is_err()
    {
        return error(wr, 500).await;
    }
    let path = match rx.await {
        Ok(Some(p)) if p.exists() => p,
        _ => return error(wr, 404).await,
    };
    let Ok(mut file) = std::fs::File::open(&path) else {
        return error(wr, 404).await;
    };
    let te = if http11 {
        "Transfer-Encoding: chunked\r\n"
    } else {
        "Connection: close\r\n"
    };
    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain;charset=utf-8\r\nX-Accel-Buffering: no\r\n{te}\r\n");
    if wr.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
    let mut sz = file.metadata().map(|m| m.len()).unwrap_or(0);
    sz = sz.saturating_sub(1024);
    let mut probe = [0u8; 64];
    loop {
        // follow rotation: a new inode at the path
        if let Ok(m) = std::fs::metadata(&path) {
            if m.ino() != ino {
                if let Ok(f) = std::fs::File::open(&path) {
                    file = f;
                    ino = m.ino();
                    sz = 0;
                }
            }
        }
        let newsz = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut chunk = Vec::new();
        if newsz < sz {
            sz = 0;
            chunk.extend_from_slice(b"==> File truncated <==\n");
        } else if newsz > sz {
            let want = (newsz - sz).min(1 << 20);
            if file.seek(SeekFrom::Start(sz)).is_ok() {
                use std::io::Read;
                let _ = (&mut file).take(want).read_to_end(&mut chunk);
            }
            sz += chunk.len() as u64;
        }
        if !chunk.is_empty() {
            let ok = if http11 {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                wr.write_all(&framed).await.is_ok()
            } else {
                wr.write_all(&chunk).await.is_ok()
            };
            if !ok || wr.flush().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            r = rd.read(&mut probe) => if !matches!(r, Ok(n) if n > 0) { return },
            _ = tokio::time::sleep(TAIL_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let Parsed::Head(h) = parse_head(
            b"POST /RPC2 HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        ) else {
            panic!()
        };
        assert_eq!(
            (
                h.method.as_str(),
                h.path.as_str(),
                h.content_length,
                h.close,
                h.len
            ),
            ("POST", "/RPC2", Some(5), true, 61)
        );
        assert!(matches!(
            parse_head(b"POST /RPC2 HTTP/1.1\r\nContent-Le"),
            Parsed::Partial
        ));
        assert!(matches!(
            parse_head(b"\x00\x01garbage\r\n\r\n"),
            Parsed::Bad(400)
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Parsed::Bad(400)
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Parsed::Bad(400)
        ));
        let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(matches!(
            parse_head(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Parsed::Bad(431)
        ));
    }

    #[test]
    fn basic_auth() {
        let a = Auth {
            user: "u".into(),
            password: "p".into(),
        };
        let hdr = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(a.allows(Some(&hdr("u:p"))));
        assert!(!a.allows(Some(&hdr("u:q"))));
        assert!(!a.allows(Some(&hdr("up"))));
        assert!(!a.allows(Some("Basic !!!")));
        assert!(!a.allows(None));
        // {SHA} form: sha1("p") = 516b9783fca517eecbd1d064da2d165310b19759
        let s = Auth {
            user: "u".into(),
            password: "{SHA}516b9783fca517eecbd1d064da2d165310b19759".into(),
        };
        assert!(s.allows(Some(&hdr("u:p"))));
        assert!(!s.allows(Some(&hdr("u:x"))));
    }

    #[test]
    fn decode() {
        assert_eq!(percent_decode("g%3Ax/stdout"), "g:x/stdout");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
