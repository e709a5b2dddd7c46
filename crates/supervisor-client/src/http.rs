//! The minimal HTTP/1.1 client the RPC needs: one keep-alive connection over
//! a unix socket or TCP, `POST /RPC2` with Content-Length, responses framed
//! by Content-Length, chunked coding or connection close, all size-bounded.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::url::ServerUrl;

/// Largest status line + headers accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// A connected byte stream to the server.
#[derive(Debug)]
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    /// Connects; `connect_timeout` applies to TCP, `io_timeout` to every read/write.
    pub(crate) fn connect(
        url: &ServerUrl,
        connect_timeout: Duration,
        io_timeout: Option<Duration>,
    ) -> io::Result<Stream> {
        let s = match url {
            ServerUrl::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            ServerUrl::Http { host, port } => {
                let mut last =
                    io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
                let mut found = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, connect_timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = found.ok_or(last)?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
        };
        s.set_timeouts(io_timeout)?;
        Ok(s)
    }

    pub(crate) fn set_timeouts(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// What went wrong at the HTTP level.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    #[error("HTTP response larger than {0} bytes")]
    TooLarge(usize),
}

/// Status line and the headers this client acts on.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub status: u16,
    pub reason: String,
    pub framing: Framing,
    /// The server will close the connection after this response.
    pub close: bool,
}

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one line ending in LF (CR stripped), at most `limit` bytes.
fn read_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, limit: usize) -> Result<(), HttpError> {
    buf.clear();
    let n = r.by_ref().take(limit as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Err(HttpError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection",
        )));
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > limit {
            return Err(HttpError::TooLarge(limit));
        }
        return Err(HttpError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed inside an HTTP line",
        )));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(())
}

/// Reads the status line and headers.
pub(crate) fn read_head<R: BufRead>(r: &mut R) -> Result<Head, HttpError> {
    let mut line = Vec::with_capacity(128);
    let mut budget = MAX_HEAD;
    read_line(r, &mut line, budget)?;
    budget = budget.saturating_sub(line.len());
    let status_line = String::from_utf8_lossy(&line).into_owned();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!(
            "status line {:?}",
            trunc(&status_line)
        )));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| HttpError::Malformed(format!("status line {:?}", trunc(&status_line))))?;
    let reason = parts.next().unwrap_or("").to_owned();
    let mut close = version == "HTTP/1.0";
    let mut length = None;
    let mut chunked = false;
    loop {
        read_line(r, &mut line, budget)?;
        if line.is_empty() {
            break;
        }
        budget = budget
            .checked_sub(line.len())
            .ok_or(HttpError::TooLarge(MAX_HEAD))?;
        let text = String::from_utf8_lossy(&line);
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| HttpError::Malformed(format!("header line {:?}", trunc(&text))))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value
                .parse()
                .map_err(|_| HttpError::Malformed(format!("Content-Length {value:?}")))?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::Malformed(
                    "conflicting Content-Length headers".into(),
                ));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for tok in value.split(',') {
                let tok = tok.trim();
                if tok.eq_ignore_ascii_case("close") {
                    close = true;
                } else if tok.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        close = true;
        Framing::UntilClose
    };
    Ok(Head {
        status,
        reason,
        framing,
        close,
    })
}

fn trunc(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Reads a whole body into `out` (cleared first), refusing more than `limit` bytes.
pub(crate) fn read_body<R: BufRead>(
    r: &mut R,
    framing: Framing,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), HttpError> {
    out.clear();
    match framing {
        Framing::Length(n) => {
            if n > limit as u64 {
                return Err(HttpError::TooLarge(limit));
            }
            out.reserve(n as usize);
            let got = r.by_ref().take(n).read_to_end(out)?;
            if (got as u64) < n {
                return Err(HttpError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("response body truncated ({got} of {n} bytes)"),
                )));
            }
        }
        Framing::UntilClose => {
            r.by_ref().take(limit as u64 + 1).read_to_end(out)?;
            if out.len() > limit {
                return Err(HttpError::TooLarge(limit));
            }
        }
        Framing::Chunked => {
            let mut dec = ChunkedReader::new(r);
            dec.by_ref().take(limit as u64 + 1).read_to_end(out)?;
            if out.len() > limit {
                return Err(HttpError::TooLarge(limit));
            }
        }
    }
    Ok(())
}

/// Decodes `Transfer-Encoding: chunked` from an inner reader.
#[derive(Debug)]
pub(crate) struct ChunkedReader<R> {
    inner: R,
    /// Bytes left in the current chunk.
    remaining: u64,
    done: bool,
    line: Vec<u8>,
}

impl<R: BufRead> ChunkedReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        ChunkedReader {
            inner,
            remaining: 0,
            done: false,
            line: Vec::new(),
        }
    }

    fn invalid(msg: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
    }

    /// Reads the next chunk-size line; 0 means the last chunk (trailers consumed).
    fn next_chunk(&mut self) -> io::Result<()> {
        read_line(&mut self.inner, &mut self.line, MAX_CHUNK_LINE).map_err(to_io)?;
        let text =
            std::str::from_utf8(&self.line).map_err(|_| Self::invalid("chunk size not ASCII"))?;
        let hex = text.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(hex, 16).map_err(|_| Self::invalid("bad chunk size"))?;
        if size == 0 {
            // Trailer section up to the empty line.
            loop {
                read_line(&mut self.inner, &mut self.line, MAX_CHUNK_LINE).map_err(to_io)?;
                if self.line.is_empty() {
                    break;
                }
            }
            self.done = true;
        }
        self.remaining = size;
        Ok(())
    }
}

fn to_io(e: HttpError) -> io::Error {
    match e {
        HttpError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

impl<R: BufRead> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.done && self.remaining == 0 {
            self.next_chunk()?;
        }
        if self.done {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunk",
            ));
        }
        self.remaining -= n as u64;
        if self.remaining == 0 {
            read_line(&mut self.inner, &mut self.line, 2).map_err(to_io)?;
            if !self.line.is_empty() {
                return Err(Self::invalid("chunk not followed by CRLF"));
            }
        }
        Ok(n)
    }
}

/// A connection with its read buffer.
#[derive(Debug)]
pub(crate) struct Conn {
    pub reader: BufReader<Stream>,
}

impl Conn {
    pub(crate) fn new(s: Stream) -> Conn {
        Conn {
            reader: BufReader::with_capacity(16 * 1024, s),
        }
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let s = self.reader.get_mut();
        s.write_all(bytes)?;
        s.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Head, HttpError> {
        read_head(&mut io::Cursor::new(s.as_bytes()))
    }

    #[test]
    fn heads() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/xml\r\n\r\n")
            .unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (200, Framing::Length(12), false)
        );
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").unwrap();
        assert!(h.close);
        let h = head("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nConnection: close\n\n").unwrap();
        assert_eq!((h.framing, h.close), (Framing::Chunked, true));
        let h = head("HTTP/1.1 401 Unauthorized\r\n\r\n").unwrap();
        assert_eq!(
            (h.status, h.reason.as_str(), h.framing),
            (401, "Unauthorized", Framing::UntilClose)
        );
    }

    #[test]
    fn bad_heads() {
        for s in [
            "",
            "HTTP/1.1 200 OK\r\n",
            "garbage\r\n\r\n",
            "HTTP/1.1 abc OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        ] {
            assert!(head(s).is_err(), "{s:?} accepted");
        }
        let huge = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD + 10)
        );
        assert!(matches!(head(&huge), Err(HttpError::TooLarge(_))));
        let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(20_000));
        assert!(matches!(head(&many), Err(HttpError::TooLarge(_))));
    }

    #[test]
    fn chunked_bodies() {
        let mut out = Vec::new();
        let body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut r = io::Cursor::new(body.as_bytes());
        read_body(&mut r, Framing::Chunked, &mut out, 100).unwrap();
        assert_eq!(out, b"hello world");
        // The connection is positioned at the next response.
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "NEXT");
        for bad in [
            "zz\r\nhello\r\n0\r\n\r\n",
            "5\r\nhelloXX0\r\n\r\n",
            "5\r\nhel",
            "ffffffffffffffffffff\r\n",
        ] {
            let mut r = io::Cursor::new(bad.as_bytes());
            assert!(
                read_body(&mut r, Framing::Chunked, &mut out, 100).is_err(),
                "{bad:?}"
            );
        }
        let big = "10\r\n0123456789abcdef\r\n".repeat(10) + "0\r\n\r\n";
        let mut r = io::Cursor::new(big.as_bytes());
        assert!(matches!(
            read_body(&mut r, Framing::Chunked, &mut out, 100),
            Err(HttpError::TooLarge(100))
        ));
    }

    #[test]
    fn length_bodies() {
        let mut out = Vec::new();
        let mut r = io::Cursor::new(&b"abcdef"[..]);
        read_body(&mut r, Framing::Length(3), &mut out, 10).unwrap();
        assert_eq!(out, b"abc");
        let mut r = io::Cursor::new(&b"ab"[..]);
        assert!(read_body(&mut r, Framing::Length(3), &mut out, 10).is_err());
        let mut r = io::Cursor::new(&b""[..]);
        assert!(matches!(
            read_body(&mut r, Framing::Length(11), &mut out, 10),
            Err(HttpError::TooLarge(10))
        ));
        let mut r = io::Cursor::new(&b"0123456789X"[..]);
        assert!(matches!(
            read_body(&mut r, Framing::UntilClose, &mut out, 10),
            Err(HttpError::TooLarge(10))
        ));
    }
}
