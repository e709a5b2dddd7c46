//! Content download: streamed to a writer or file, resumed with `Range` after an
//! interruption, never held in memory as a whole.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gwe_device_api::{ByteRangeSpec, ContentRange, Procedure};
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::Method;
use http_body_util::BodyExt;
use tokio::io::{AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use crate::client::{may_resend, now_ms_pub, DeviceClient};
use crate::error::{chain, Error};
use crate::transport::WireBytes;

/// Progress of a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes of the content written so far (including a resumed prefix).
    pub downloaded: u64,
    /// Size of the content, when the server said.
    pub total: Option<u64>,
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadSummary {
    /// Size of the content written.
    pub bytes: u64,
    /// Size the server announced.
    pub total: Option<u64>,
    /// `Content-Type` of the blob.
    pub content_type: Option<String>,
    /// Requests made (more than one after interruptions).
    pub requests: u32,
    /// True when some bytes came from a `Range` request.
    pub resumed: bool,
}

/// Progress callback type.
pub type ProgressFn<'a> = &'a mut (dyn FnMut(DownloadProgress) + Send);

/// Where downloaded bytes go.
trait Sink: Send {
    fn writer(&mut self) -> &mut (dyn AsyncWrite + Unpin + Send);
    /// For error messages: the file, or `<writer>`.
    fn path(&self) -> PathBuf;
    /// Start over from byte 0 (the server ignored our Range). False if impossible.
    async fn restart(&mut self) -> std::io::Result<bool>;
}

struct WriterSink<'a, W>(&'a mut W);

impl<W: AsyncWrite + Unpin + Send> Sink for WriterSink<'_, W> {
    fn writer(&mut self) -> &mut (dyn AsyncWrite + Unpin + Send) {
        self.0
    }
    fn path(&self) -> PathBuf {
        PathBuf::from("<writer>")
    }
    async fn restart(&mut self) -> std::io::Result<bool> {
        Ok(false)
    }
}

struct FileSink(tokio::fs::File, PathBuf);

impl Sink for FileSink {
    fn writer(&mut self) -> &mut (dyn AsyncWrite + Unpin + Send) {
        &mut self.0
    }
    fn path(&self) -> PathBuf {
        self.1.clone()
    }
    async fn restart(&mut self) -> std::io::Result<bool> {
        self.0.flush().await?;
        self.0.set_len(0).await?;
        self.0.seek(std::io::SeekFrom::Start(0)).await?;
        Ok(true)
    }
}

enum AttemptEnd {
    Done,
    /// Interrupted after the head; bytes written in this attempt.
    Broken(Error, u64),
}

impl DeviceClient {
    /// Streams content `id` into `writer`. `offset` > 0 asks for the rest of a
    /// partially downloaded item (`Range: bytes=offset-`); the server must then
    /// answer 206 with a matching `Content-Range` (a writer cannot be rewound).
    /// Interruptions are resumed with `Range` as the retry policy allows.
    pub async fn download_to<W: AsyncWrite + Unpin + Send>(
        &self,
        id: &str,
        writer: &mut W,
        offset: u64,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<DownloadSummary, Error> {
        self.download_inner(id, &mut WriterSink(writer), offset, progress)
            .await
    }

    /// Downloads content `id` into the file `path`. With `resume`, an existing
    /// file is taken as the already downloaded prefix; otherwise it is truncated.
    /// The file is flushed and synced before returning.
    pub async fn download_to_file(
        &self,
        id: &str,
        path: &Path,
        resume: bool,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<DownloadSummary, Error> {
        let io_err = |what| {
            move |source| Error::Io {
                what,
                path: path.to_path_buf(),
                source,
            }
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!resume)
            .open(path)
            .await
            .map_err(io_err("opening"))?;
        let offset = if resume {
            file.seek(std::io::SeekFrom::End(0))
                .await
                .map_err(io_err("seeking"))?
        } else {
            0
        };
        let mut sink = FileSink(file, path.to_path_buf());
        let summary = self.download_inner(id, &mut sink, offset, progress).await?;
        sink.0.sync_all().await.map_err(io_err("syncing"))?;
        Ok(summary)
    }

    async fn download_inner<S: Sink>(
        &self,
        id: &str,
        sink: &mut S,
        offset: u64,
        mut progress: Option<ProgressFn<'_>>,
    ) -> Result<DownloadSummary, Error> {
        let p = Procedure::Download;
        let retry = self.config().retry.clone();
        let mut written = offset;
        let mut summary = DownloadSummary {
            bytes: 0,
            total: None,
            content_type: None,
            requests: 0,
            resumed: false,
        };
        let mut failures = 0u32;
        loop {
            summary.requests += 1;
            let started = Instant::now();
            let ts_ms = now_ms_pub();
            let mut spec = self.spec(p, Method::GET, self.download_query(Some(id), false), None);
            if written > 0 {
                let range = ByteRangeSpec::From(written).format();
                spec.headers.push((
                    RANGE,
                    HeaderValue::from_str(&range).map_err(|e| Error::Config(e.to_string()))?,
                ));
            }
            let deadline = tokio::time::Instant::now() + spec.timeout;
            let head = self.send_head(&spec, deadline).await;
            let (parts, mut body, counter) = match head {
                Ok(x) => x,
                Err((e, wire)) => {
                    self.audit(&spec, ts_ms, started, e.status(), wire, Some(e.to_string()));
                    failures += 1;
                    if failures < retry.max_attempts && may_resend(&e, p) {
                        tokio::time::sleep(retry.delay(failures)).await;
                        continue;
                    }
                    return Err(e);
                }
            };
            let status = parts.status.as_u16();
            let finish_wire = |counter: &Option<crate::transport::CounterHandle>| {
                counter.as_ref().map(|c| c.finish()).unwrap_or_default()
            };
            // Decide what the answer means before reading its body.
            let decided: Result<(), Error> = match status {
                200 => {
                    let len = header_u64(&parts.headers, CONTENT_LENGTH.as_str());
                    if written > 0 {
                        match sink.restart().await {
                            Ok(true) => {
                                written = 0;
                                summary.resumed = false;
                                Ok(())
                            }
                            Ok(false) => Err(Error::BadResponse { procedure: p, reason: "the server ignored Range and sent the whole content; the output cannot be rewound".into() }),
                            Err(source) => Err(Error::Io { what: "restarting download", path: sink.path(), source }),
                        }
                    } else {
                        Ok(())
                    }
                    .inspect(|_| summary.total = len.or(summary.total))
                }
                206 => match parts
                    .headers
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .map(ContentRange::parse)
                {
                    Some(Ok(cr))
                        if cr.first == written
                            && (summary.total.is_none()
                                || cr.total.is_none()
                                || cr.total == summary.total) =>
                    {
                        summary.total = cr.total.or(summary.total);
                        summary.resumed = true;
                        Ok(())
                    }
                    Some(Ok(cr)) => Err(Error::BadResponse {
                        procedure: p,
                        reason: format!(
                            "asked for bytes from {written}, got Content-Range {}",
                            cr.format()
                        ),
                    }),
                    _ => Err(Error::BadResponse {
                        procedure: p,
                        reason: "206 without a valid Content-Range".into(),
                    }),
                },
                416 if written > 0 => {
                    // Already complete? `bytes */N` with N == what we have.
                    let total = parts
                        .headers
                        .get(CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("bytes */"))
                        .and_then(|n| n.trim().parse::<u64>().ok());
                    if total == Some(written) {
                        drop(body);
                        let wire = finish_wire(&counter);
                        self.audit(&spec, ts_ms, started, Some(status), wire, None);
                        summary.total = total;
                        summary.bytes = written;
                        return Ok(summary);
                    }
                    Err(Error::BadResponse {
                        procedure: p,
                        reason: format!("416: the content is not {written}+ bytes long any more"),
                    })
                }
                _ => {
                    let mut text = Vec::new();
                    while let Ok(Some(Ok(f))) =
                        tokio::time::timeout_at(deadline, body.frame()).await
                    {
                        if let Ok(d) = f.into_data() {
                            if text.len() < 512 {
                                text.extend_from_slice(&d);
                            }
                        }
                    }
                    let resp = crate::Response {
                        procedure: p,
                        status,
                        headers: parts.headers.clone(),
                        body: text.into(),
                    };
                    Err(crate::client::status_error(&resp))
                }
            };
            if let Err(e) = decided {
                drop(body);
                let wire = finish_wire(&counter);
                self.audit(
                    &spec,
                    ts_ms,
                    started,
                    Some(status),
                    wire,
                    Some(e.to_string()),
                );
                failures += 1;
                if e.status().is_some_and(|s| s >= 500) && failures < retry.max_attempts {
                    tokio::time::sleep(retry.delay(failures)).await;
                    continue;
                }
                return Err(e);
            }
            if summary.content_type.is_none() {
                summary.content_type = parts
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
            }
            if let Some(cb) = progress.as_deref_mut() {
                cb(DownloadProgress {
                    downloaded: written,
                    total: summary.total,
                });
            }
            // Stream the body; each chunk must come within the request timeout.
            let chunk_timeout = spec.timeout;
            let mut this_attempt = 0u64;
            let end = loop {
                match tokio::time::timeout(chunk_timeout, body.frame()).await {
                    Err(_) => {
                        break AttemptEnd::Broken(
                            Error::Timeout {
                                procedure: p,
                                after: chunk_timeout,
                            },
                            this_attempt,
                        )
                    }
                    Ok(None) => break AttemptEnd::Done,
                    Ok(Some(Err(e))) => {
                        let err = Error::Network {
                            procedure: p,
                            server: self.server().to_string(),
                            message: format!("reading the content: {}", chain(&e)),
                            not_sent: false,
                        };
                        break AttemptEnd::Broken(err, this_attempt);
                    }
                    Ok(Some(Ok(frame))) => {
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        if let Err(source) = sink.writer().write_all(&data).await {
                            drop(body);
                            let wire = finish_wire(&counter);
                            let e = Error::Io {
                                what: "writing the download",
                                path: sink.path(),
                                source,
                            };
                            self.audit(
                                &spec,
                                ts_ms,
                                started,
                                Some(status),
                                wire,
                                Some(e.to_string()),
                            );
                            return Err(e);
                        }
                        written += data.len() as u64;
                        this_attempt += data.len() as u64;
                        if let Some(cb) = progress.as_deref_mut() {
                            cb(DownloadProgress {
                                downloaded: written,
                                total: summary.total,
                            });
                        }
                    }
                }
            };
            drop(body);
            let wire: WireBytes = finish_wire(&counter);
            match end {
                AttemptEnd::Done => {
                    if let Some(total) = summary.total {
                        if written != total {
                            let e = Error::BadResponse {
                                procedure: p,
                                reason: format!("got {written} of {total} bytes"),
                            };
                            self.audit(
                                &spec,
                                ts_ms,
                                started,
                                Some(status),
                                wire,
                                Some(e.to_string()),
                            );
                            return Err(e);
                        }
                    }
                    self.audit(&spec, ts_ms, started, Some(status), wire, None);
                    sink.writer().flush().await.map_err(|source| Error::Io {
                        what: "flushing the download",
                        path: sink.path(),
                        source,
                    })?;
                    summary.bytes = written;
                    return Ok(summary);
                }
                AttemptEnd::Broken(e, got) => {
                    self.audit(
                        &spec,
                        ts_ms,
                        started,
                        Some(status),
                        wire,
                        Some(e.to_string()),
                    );
                    // An attempt that made progress does not use up the retry budget,
                    // but a hard cap keeps a trickling server from looping forever.
                    if got == 0 {
                        failures += 1;
                    }
                    if failures >= retry.max_attempts
                        || summary.requests >= retry.max_attempts.saturating_mul(20)
                    {
                        return Err(e);
                    }
                    tracing::info!("download {id}: {e}; resuming at byte {written}");
                    tokio::time::sleep(retry.delay(failures.max(1))).await;
                }
            }
        }
    }
}

fn header_u64(headers: &http::HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
