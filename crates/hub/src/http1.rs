//! A small HTTP/1.1 connection loop in front of the axum router.
//!
//! Why not hyper's server: hyper allocates two 8 KiB buffers per connection (read buffer and
//! response-head buffer) and keeps them for the connection's life, which alone exceeds the
//! hub's budget of 16 KiB per idle long poll. This loop keeps one buffer that starts empty,
//! grows only as far as a request head needs (bounded) and is released between requests.
//!
//! Supported: keep-alive and `Connection: close`, HTTP/1.0 clients, `Content-Length` and
//! chunked request bodies (streamed to the handler), `Expect: 100-continue`, pipelined
//! requests, streamed responses (`Content-Length` when known, else chunked), HEAD. A client
//! that goes away while its long poll waits is noticed and the poll is dropped.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::Service;

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// Most header lines in a request.
const MAX_HEADERS: usize = 64;
/// Time a client has to send a complete request head, and the keep-alive idle time.
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest pause allowed while a request body is being received.
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest body piece handed to a handler at once.
const BODY_CHUNK: usize = 16 * 1024;
/// Responses smaller than this are sent with their head in one write.
const COALESCE: usize = 16 * 1024;

/// How a request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A request head, parsed.
struct Head {
    request: Request<()>,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

/// Why a head could not be used; answered with the status, then the connection closes.
struct Reject(StatusCode, &'static str);

/// Serves requests on one connection until it closes, fails, or `stop` is cancelled.
pub async fn serve_connection<S>(mut io: S, app: Router, stop: CancellationToken) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = BytesMut::new();
    loop {
        let head = match read_head(&mut io, &mut buf, &stop).await? {
            Some(Ok(h)) => h,
            Some(Err(Reject(status, why))) => {
                write_simple(&mut io, status, why).await?;
                return Ok(());
            }
            None => return Ok(()),
        };
        let keep_alive = serve_one(&mut io, &mut buf, &app, head).await?;
        if !keep_alive || stop.is_cancelled() {
            let _ = io.shutdown().await;
            return Ok(());
        }
        if buf.is_empty() {
            // Release the head buffer while the connection idles.
            buf = BytesMut::new();
        }
    }
}

/// Reads until a full head is buffered. `None`: the connection ended cleanly (or idled out,
/// or the hub is stopping) before a new request began.
async fn read_head<S>(
    io: &mut S,
    buf: &mut BytesMut,
    stop: &CancellationToken,
) -> io::Result<Option<Result<Head, Reject>>>
where
    S: AsyncRead + Unpin,
{
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    loop {
        if !buf.is_empty() {
            match parse_head(buf) {
                Ok(Some(head)) => return Ok(Some(Ok(head))),
                Ok(None) => {}
                Err(reject) => return Ok(Some(Err(reject))),
            }
            if buf.len() >= MAX_HEAD {
                return Ok(Some(Err(Reject(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request head too large",
                ))));
            }
        }
        let n = tokio::select! {
            r = read_some(io, buf) => r?,
            _ = tokio::time::sleep_until(deadline) => return Ok(None),
            _ = stop.cancelled(), if buf.is_empty() => return Ok(None),
        };
        if n == 0 {
            return Ok(None);
        }
    }
}

/// Reads what is available into `buf`'s spare room (grown by 512 bytes when full). Reading
/// into the buffer rather than a stack array keeps every connection task's future small.
async fn read_some<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> io::Result<usize> {
    if buf.capacity() == buf.len() {
        buf.reserve(512);
    }
    io.read_buf(buf).await
}

fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, Reject> {
    let bad = |why| Reject(StatusCode::BAD_REQUEST, why);
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many headers",
            ))
        }
        Err(_) => return Err(bad("malformed request head")),
    };
    let method =
        Method::from_bytes(req.method.unwrap_or("").as_bytes()).map_err(|_| bad("bad method"))?;
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(req.path.unwrap_or("/"))
        .version(version);
    let mut framing = Framing::None;
    let mut has_length = false;
    let mut chunked = false;
    let mut keep_alive = version == Version::HTTP_11;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad("bad header name"))?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| bad("bad header value"))?;
        if name == header::CONTENT_LENGTH {
            let n: u64 = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad("bad Content-Length"))?;
            if has_length && framing != Framing::Length(n) {
                return Err(bad("conflicting Content-Length"));
            }
            has_length = true;
            framing = Framing::Length(n);
        } else if name == header::TRANSFER_ENCODING {
            let v = std::str::from_utf8(h.value).unwrap_or("").trim();
            if !v.eq_ignore_ascii_case("chunked") {
                return Err(Reject(
                    StatusCode::NOT_IMPLEMENTED,
                    "only chunked transfer-coding is supported",
                ));
            }
            chunked = true;
        } else if name == header::CONNECTION {
            let v = std::str::from_utf8(h.value).unwrap_or("");
            for token in v.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name == header::EXPECT {
            expect_continue = h.value.eq_ignore_ascii_case(b"100-continue");
        }
        builder = builder.header(name, value);
    }
    if chunked {
        if has_length {
            return Err(bad("both Content-Length and Transfer-Encoding"));
        }
        framing = Framing::Chunked;
    }
    if matches!(framing, Framing::Length(0)) {
        framing = Framing::None;
    }
    let request = builder.body(()).map_err(|_| bad("bad request target"))?;
    buf.advance(len);
    Ok(Some(Head {
        request,
        framing,
        keep_alive,
        expect_continue,
    }))
}

/// Runs one request through the router and writes its response. Returns whether the
/// connection may carry another request.
async fn serve_one<S>(io: &mut S, buf: &mut BytesMut, app: &Router, head: Head) -> io::Result<bool>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Head {
        request,
        framing,
        mut keep_alive,
        expect_continue,
    } = head;
    let is_head = request.method() == Method::HEAD;
    let version = request.version();
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(2);
    let body = if framing == Framing::None {
        Body::empty()
    } else {
        if expect_continue {
            io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    };
    let (parts, ()) = request.into_parts();
    let mut router = app.clone();
    let response = router.call(Request::from_parts(parts, body));
    tokio::pin!(response);

    // Phase 1: run the handler and feed it the body from the connection at the same time.
    let mut early = None;
    if framing != Framing::None {
        let pump = pump_body(io, buf, framing, tx);
        tokio::pin!(pump);
        tokio::select! {
            r = &mut response => {
                early = Some(r);
                // The handler answered before the body was read to its end: the rest of the
                // body is still on the wire, so this connection cannot carry another request.
                keep_alive = false;
            }
            p = &mut pump => {
                if p.is_err() {
                    keep_alive = false;
                }
            }
        }
    } else {
        drop(tx);
    }
    // Phase 2: wait for the answer, noticing a client that goes away (e.g. during a long poll).
    let response = match early {
        Some(r) => r,
        None => match wait_response(io, buf, &mut response).await? {
            Some(r) => r,
            None => return Ok(false),
        },
    };
    let Ok(response) = response;
    write_response(io, response, is_head, keep_alive, version).await
}

/// Awaits the handler while watching the connection: `None` when the client closed it.
async fn wait_response<S, F, T>(
    io: &mut S,
    buf: &mut BytesMut,
    response: &mut std::pin::Pin<&mut F>,
) -> io::Result<Option<T>>
where
    S: AsyncRead + Unpin,
    F: std::future::Future<Output = T>,
{
    let mut watching = true;
    loop {
        tokio::select! {
            r = response.as_mut() => return Ok(Some(r)),
            n = read_some(io, buf), if watching => {
                match n {
                    Ok(0) | Err(_) => return Ok(None),
                    // A pipelined request: keep it for later, stop reading once a head's worth waits.
                    Ok(_) => watching = buf.len() < MAX_HEAD,
                }
            }
        }
    }
}

/// Reads more body bytes, failing when the client pauses longer than [`BODY_IDLE_TIMEOUT`].
async fn read_body_bytes<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    match tokio::time::timeout(BODY_IDLE_TIMEOUT, read_some(io, buf)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "request body stalled",
        )),
    }
}

/// Streams a request body from the connection into the handler's channel.
async fn pump_body<S>(
    io: &mut S,
    buf: &mut BytesMut,
    framing: Framing,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
) -> io::Result<()>
where
    S: AsyncRead + Unpin,
{
    let result = match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => pump_exact(io, buf, n, &tx).await,
        Framing::Chunked => pump_chunked(io, buf, &tx).await,
    };
    if let Err(e) = &result {
        let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string()))).await;
    }
    result
}

async fn pump_exact<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    mut left: u64,
    tx: &mpsc::Sender<Result<Bytes, io::Error>>,
) -> io::Result<()> {
    while left > 0 {
        if buf.is_empty() && read_body_bytes(io, buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
        let take = (buf.len() as u64).min(left).min(BODY_CHUNK as u64) as usize;
        let chunk = buf.split_to(take).freeze();
        left -= take as u64;
        if tx.send(Ok(chunk)).await.is_err() {
            return Err(io::Error::other("handler stopped reading the body"));
        }
    }
    Ok(())
}

async fn pump_chunked<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    tx: &mpsc::Sender<Result<Bytes, io::Error>>,
) -> io::Result<()> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    loop {
        let line = read_line(io, buf).await?;
        let size_text = std::str::from_utf8(&line)
            .map_err(|_| bad("bad chunk size"))?
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if size_text.is_empty() || size_text.len() > 16 {
            return Err(bad("bad chunk size"));
        }
        let size = u64::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(io, buf).await?.is_empty() {}
            return Ok(());
        }
        pump_exact(io, buf, size, tx).await?;
        if !read_line(io, buf).await?.is_empty() {
            return Err(bad("missing CRLF after chunk"));
        }
    }
}

/// One CRLF-terminated line of at most 1 KiB (without the CRLF).
async fn read_line<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> io::Result<Bytes> {
    loop {
        if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.split_to(pos).freeze();
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk line too long",
            ));
        }
        if read_body_bytes(io, buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
    }
}

/// Writes a response; returns whether the connection may go on.
async fn write_response<S>(
    io: &mut S,
    response: Response<Body>,
    is_head: bool,
    mut keep_alive: bool,
    version: Version,
) -> io::Result<bool>
where
    S: AsyncWrite + Unpin,
{
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let length = if bodiless {
        Some(0)
    } else {
        declared.or_else(|| http_body::Body::size_hint(&body).exact())
    };
    let chunked = length.is_none() && version == Version::HTTP_11;
    if length.is_none() && !chunked {
        keep_alive = false;
    }

    let mut out: Vec<u8> = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        push_header(&mut out, name.as_str(), value.as_bytes());
    }
    if !bodiless {
        match length {
            Some(n) => push_header(&mut out, "content-length", n.to_string().as_bytes()),
            None if chunked => push_header(&mut out, "transfer-encoding", b"chunked"),
            None => {}
        }
    }
    if !parts.headers.contains_key(header::DATE) {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        push_header(&mut out, "date", date.as_bytes());
    }
    if !keep_alive {
        push_header(&mut out, "connection", b"close");
    }
    out.extend_from_slice(b"\r\n");

    if bodiless || is_head {
        io.write_all(&out).await?;
        io.flush().await?;
        return Ok(keep_alive);
    }
    let mut sent: u64 = 0;
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let data = frame.map_err(io::Error::other)?;
        sent += data.len() as u64;
        if chunked {
            if data.is_empty() {
                continue;
            }
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        }
        if out.len() + data.len() <= COALESCE {
            out.extend_from_slice(&data);
        } else {
            io.write_all(&out).await?;
            out.clear();
            io.write_all(&data).await?;
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    io.write_all(&out).await?;
    io.flush().await?;
    // A body shorter than its Content-Length leaves the client waiting: close instead.
    if length.is_some_and(|n| n != sent) {
        return Ok(false);
    }
    Ok(keep_alive)
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Answers a request the loop itself rejects, then the connection closes.
async fn write_simple<S: AsyncWrite + Unpin>(
    io: &mut S,
    status: StatusCode,
    why: &str,
) -> io::Result<()> {
    let body = format!("{why}\n");
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         date: {}\r\nconnection: close\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("Error"),
        body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body.as_bytes()).await?;
    io.flush().await?;
    let _ = io.shutdown().await;
    Ok(())
}
