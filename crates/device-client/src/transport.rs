//! The connector: TCP (+ rustls) with a byte counter under TLS, so the audit log sees
//! the bytes that really crossed the wire (headers, TLS records and handshakes included).
//!
//! Each connection gets a [`WireCounter`], handed to hyper-util through
//! `Connected::extra`, which puts it into every response's extensions. HTTP/1.1 runs one
//! request at a time on a connection, so the bytes between two requests belong to one
//! exchange: a write that follows the reads of a response starts a new exchange (that is
//! when the next request goes out), and the client closes its exchange when it has read
//! the body. What arrives while no request is out (TLS 1.3 session tickets right after
//! the handshake, a key update on an idle pooled connection) stays with the next request:
//! no exchange is left that nobody reports.
//! Exchanges are numbered so a request whose connection was already reused by another
//! request (the pool hands it out the moment the body ends) still finds its own counts.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Completed exchanges kept per connection for late readers.
const RING: usize = 8;

/// TCP keepalive on every connection. A long poll waits up to five minutes
/// without a byte either way, and an idle pooled connection longer: a
/// cellular NAT may drop such a mapping silently, after which the call would
/// only end at its deadline and a reused connection would fail on its next
/// request. A probe after 60 s of silence (then every 15 s, 4 unanswered end
/// the connection) keeps the mapping and finds a peer that is gone. It costs
/// one empty segment and its ACK per idle minute, which the audit log does
/// not see (the kernel sends them).
const KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(Duration::from_secs(60))
    .with_interval(Duration::from_secs(15))
    .with_retries(4);

#[derive(Debug, Default)]
struct CounterState {
    seq: u64,
    /// True during a TLS handshake: its round trips must not split exchanges.
    handshaking: bool,
    /// A request went out in the current exchange (after any handshake).
    request_out: bool,
    /// Its response is being read: the next write is the next request.
    reading: bool,
    sent: u64,
    received: u64,
    done: [(u64, u64, u64); RING],
}

/// Bytes sent and received on one connection, split into request/response exchanges.
#[derive(Debug, Default)]
pub(crate) struct WireCounter {
    state: Mutex<CounterState>,
}

/// Wire bytes of one exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireBytes {
    pub sent: u64,
    pub received: u64,
}

impl WireCounter {
    fn lock(&self) -> std::sync::MutexGuard<'_, CounterState> {
        // A poisoned lock only means another thread panicked mid-update of plain
        // integers; the counts are still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close_current(s: &mut CounterState) {
        let slot = (s.seq as usize) % RING;
        s.done[slot] = (s.seq, s.sent, s.received);
        s.seq += 1;
        s.sent = 0;
        s.received = 0;
        s.request_out = false;
        s.reading = false;
    }

    fn on_write(&self, n: usize) {
        let mut s = self.lock();
        if s.reading {
            Self::close_current(&mut s);
        }
        s.sent += n as u64;
        if !s.handshaking {
            s.request_out = true;
        }
    }

    fn on_read(&self, n: usize) {
        if n > 0 {
            let mut s = self.lock();
            s.received += n as u64;
            s.reading = s.request_out;
        }
    }

    /// A counter for a connection that starts with a TLS handshake.
    fn for_tls() -> Self {
        let c = WireCounter::default();
        c.lock().handshaking = true;
        c
    }

    /// After a TLS handshake: its bytes stay with the first request.
    fn handshake_done(&self) {
        self.lock().handshaking = false;
    }

    /// Number of the exchange in progress (call when the response head arrived).
    pub(crate) fn current(&self) -> u64 {
        self.lock().seq
    }

    /// Closes exchange `seq` if it is still current and returns its bytes.
    pub(crate) fn finish(&self, seq: u64) -> WireBytes {
        let mut s = self.lock();
        if s.seq == seq {
            let b = WireBytes {
                sent: s.sent,
                received: s.received,
            };
            Self::close_current(&mut s);
            return b;
        }
        let (q, sent, received) = s.done[(seq as usize) % RING];
        if q == seq {
            WireBytes { sent, received }
        } else {
            WireBytes::default()
        }
    }
}

/// What `Connected::extra` carries into response extensions: the connection's
/// counter and the number of the exchange in progress.
///
/// The number is taken when the handle is *cloned*: hyper-util clones the extra into
/// the response's extensions right after the response head arrived and before it
/// returns the connection to the pool, i.e. while the exchange is still ours. Reading
/// it later (when our task runs) could already see the next request's exchange.
#[derive(Debug)]
pub(crate) struct CounterHandle {
    pub counter: Arc<WireCounter>,
    pub seq: u64,
}

impl Clone for CounterHandle {
    fn clone(&self) -> Self {
        CounterHandle {
            counter: self.counter.clone(),
            seq: self.counter.current(),
        }
    }
}

impl CounterHandle {
    /// Closes this handle's exchange and returns its bytes.
    pub(crate) fn finish(&self) -> WireBytes {
        self.counter.finish(self.seq)
    }
}

/// A stream that counts what passes through it.
pub(crate) struct Counting<S> {
    inner: S,
    counter: Arc<WireCounter>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            self.counter.on_read(buf.filled().len() - before);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            self.counter.on_write(n);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.counter.on_write(n);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

enum Transport {
    Plain(Counting<TcpStream>),
    Tls(Box<TlsStream<Counting<TcpStream>>>),
}

/// One connection as hyper sees it.
pub(crate) struct Conn {
    transport: Transport,
    counter: Arc<WireCounter>,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new().extra(CounterHandle {
            counter: self.counter.clone(),
            seq: 0,
        })
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.transport {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.transport {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, data),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.transport {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.transport {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.transport {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.transport {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Opens plain or TLS connections with a connect timeout (TCP + handshake).
#[derive(Clone)]
pub(crate) struct Connector {
    pub tls: Option<TlsConnector>,
    pub connect_timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Conn>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let timeout = this.connect_timeout;
            match tokio::time::timeout(timeout, this.connect(uri)).await {
                Ok(r) => r,
                Err(_) => Err(Box::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect timed out after {timeout:?}"),
                )) as BoxError),
            }
        })
    }
}

impl Connector {
    async fn connect(self, uri: Uri) -> Result<TokioIo<Conn>, BoxError> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(format!("unsupported scheme {other:?}").into()),
        };
        let host = uri.host().ok_or("URL has no host")?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .collect();
        let mut last_err: Option<io::Error> = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let tcp = match tcp {
            Some(t) => t,
            None => {
                return Err(last_err
                    .map(|e| Box::new(e) as BoxError)
                    .unwrap_or_else(|| format!("{host}: no address").into()))
            }
        };
        tcp.set_nodelay(true)?;
        socket2::SockRef::from(&tcp).set_tcp_keepalive(&KEEPALIVE)?;
        let counter = Arc::new(if https {
            WireCounter::for_tls()
        } else {
            WireCounter::default()
        });
        let counting = Counting {
            inner: tcp,
            counter: counter.clone(),
        };
        let transport = if https {
            let tls = self.tls.as_ref().ok_or("TLS is not configured")?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| format!("bad TLS server name {host:?}: {e}"))?;
            let stream = tls.connect(name, counting).await?;
            counter.handshake_done();
            Transport::Tls(Box::new(stream))
        } else {
            Transport::Plain(counting)
        };
        Ok(TokioIo::new(Conn { transport, counter }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_split_on_write_after_read() {
        let c = WireCounter::default();
        c.on_write(100);
        c.on_write(20);
        c.on_read(50);
        let first = c.current();
        c.on_read(7);
        // Next request goes out before the first one asked for its bytes.
        c.on_write(30);
        let second = c.current();
        c.on_read(5);
        assert_eq!(
            c.finish(first),
            WireBytes {
                sent: 120,
                received: 57
            }
        );
        assert_eq!(
            c.finish(second),
            WireBytes {
                sent: 30,
                received: 5
            }
        );
        // Finishing twice or unknown exchanges give the recorded value or zero.
        assert_eq!(
            c.finish(second),
            WireBytes {
                sent: 30,
                received: 5
            }
        );
        assert_eq!(c.finish(999), WireBytes::default());
    }

    #[test]
    fn handshake_bytes_stay_with_the_first_request() {
        let c = WireCounter::for_tls();
        c.on_write(300);
        c.on_read(3000);
        c.on_write(64);
        c.handshake_done();
        c.on_write(100);
        c.on_read(200);
        let seq = c.current();
        assert_eq!(seq, 0, "the handshake's round trips do not split");
        assert_eq!(
            c.finish(seq),
            WireBytes {
                sent: 464,
                received: 3200
            }
        );
        c.on_write(10);
        assert_eq!(
            c.finish(c.current()),
            WireBytes {
                sent: 10,
                received: 0
            }
        );
    }

    #[test]
    fn bytes_that_arrive_while_no_request_is_out_go_with_the_next_one() {
        // TLS 1.3: the server's session tickets can be read (hyper polls an idle
        // connection) after the handshake and before the first request is written.
        let c = WireCounter::for_tls();
        c.on_write(500);
        c.on_read(1000);
        c.on_write(80);
        c.handshake_done();
        c.on_read(250);
        c.on_write(200);
        c.on_read(150);
        let first = c.current();
        assert_eq!(
            c.finish(first),
            WireBytes {
                sent: 780,
                received: 1400
            }
        );
        // A pooled connection: a record arrives while it idles, then the next request.
        c.on_read(40);
        c.on_write(120);
        c.on_read(60);
        let second = c.current();
        assert_eq!(second, first + 1);
        assert_eq!(
            c.finish(second),
            WireBytes {
                sent: 120,
                received: 100
            }
        );
        // Every byte is in one exchange or the other.
        c.on_write(1);
        assert_eq!(c.current(), second + 1);
    }
}
