//! The streamed OTA path: the download is teed into the cache file (so a cut download can be
//! resumed with `Range`) and, at the same time, handed to the installer's extraction through a
//! bounded channel, so the tarball is extracted into the staging directory while it arrives.
//!
//! Extracting before the digest is known is safe because the staging directory is not the live
//! version: the digest and signature are checked when the stream ends, before the staging
//! directory becomes a versioned app directory, before `install.sh` runs and before anything
//! is switched (see [`crate::installer`]).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// Size of one batch handed from the download to the extraction.
const BATCH: usize = 256 * 1024;
/// Batches in flight: bounds the memory between a fast download and a slow disk.
const IN_FLIGHT: usize = 4;

enum Msg {
    Data(Vec<u8>),
    /// The download completed and has the announced size: EOF is genuine.
    End,
}

/// What the download side tells the extraction side when it stops early.
#[derive(Default)]
struct Shared {
    /// Why the download failed (the extraction reports this instead of "truncated").
    failure: Mutex<Option<String>>,
}

/// Writing half (async, on the runtime): appends to the cache file and forwards batches.
pub(crate) struct Tee {
    file: File,
    part: PathBuf,
    buf: Vec<u8>,
    tx: PollSender<Msg>,
    /// Emptied batches coming back from the reader (no allocation per batch).
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    /// A full batch waiting for room in the channel.
    pending: Option<Vec<u8>>,
    shared: Arc<Shared>,
}

/// Reading half (blocking, in the installer's thread): the cache file's existing prefix (a
/// resumed download), then the batches of the download as they come.
pub(crate) struct StreamIn {
    prefix: Option<io::Take<File>>,
    rx: mpsc::Receiver<Msg>,
    cur: Vec<u8>,
    pos: usize,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    ended: bool,
    shared: Arc<Shared>,
    /// The cache file the download is teed into.
    pub(crate) part: PathBuf,
}

/// A pipe for a download into `part`, whose first `offset` bytes are already there (they are
/// read back from the file and extracted first). `file` is `part` opened for appending.
pub(crate) fn pipe(file: File, part: PathBuf, offset: u64) -> io::Result<(Tee, StreamIn)> {
    let prefix = if offset > 0 {
        Some(File::open(&part)?.take(offset))
    } else {
        None
    };
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let (back, spare) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::default());
    Ok((
        Tee {
            file,
            part: part.clone(),
            buf: Vec::with_capacity(BATCH),
            tx: PollSender::new(tx),
            spare,
            pending: None,
            shared: shared.clone(),
        },
        StreamIn {
            prefix,
            rx,
            cur: Vec::new(),
            pos: 0,
            back,
            ended: false,
            shared,
            part,
        },
    ))
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the installer stopped reading the download",
    )
}

impl Tee {
    /// Sends the pending batch when the channel has room.
    fn poll_push(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_some() {
            ready!(self.tx.poll_reserve(cx)).map_err(|_| gone())?;
            if let Some(b) = self.pending.take() {
                self.tx.send_item(Msg::Data(b)).map_err(|_| gone())?;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Moves the current batch to `pending` (written to the cache file first).
    fn seal(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.buf)?;
        let next = match self.spare.try_recv() {
            Ok(mut v) => {
                v.clear();
                v
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        self.pending = Some(std::mem::replace(&mut self.buf, next));
        Ok(())
    }

    /// The download completed with the expected size: flushes the last batch and tells the
    /// reader that the end of the stream is genuine.
    pub(crate) async fn finish(mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        std::future::poll_fn(|cx| self.tx.poll_reserve(cx))
            .await
            .map_err(|_| gone())?;
        self.tx.send_item(Msg::End).map_err(|_| gone())
    }

    /// The download failed: what arrived is kept in the cache file for a resume, and the reader
    /// reports `why` instead of a truncated archive.
    pub(crate) fn fail(mut self, why: String) {
        let _ = self.file.write_all(&self.buf);
        if let Ok(mut f) = self.shared.failure.lock() {
            *f = Some(why);
        }
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_push(cx))?;
        if !self.buf.is_empty() {
            self.seal()?;
            ready!(self.poll_push(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Tee {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        ready!(me.poll_push(cx)).map_err(|e| with_part(e, &me.part))?;
        let n = data.len().min(BATCH - me.buf.len());
        me.buf.extend_from_slice(&data[..n]);
        if me.buf.len() == BATCH {
            me.seal().map_err(|e| with_part(e, &me.part))?;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_inner(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

fn with_part(e: io::Error, part: &std::path::Path) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        e
    } else {
        io::Error::new(e.kind(), format!("`{}`: {e}", part.display()))
    }
}

impl StreamIn {
    /// Why the download failed, when it did (set before the stream is closed).
    pub(crate) fn download_failure(&self) -> Option<String> {
        self.shared.failure.lock().ok().and_then(|f| f.clone())
    }
}

impl Read for StreamIn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(p) = &mut self.prefix {
            let n = p.read(out)?;
            if n > 0 {
                return Ok(n);
            }
            if p.limit() > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the partial download shrank while it was read back",
                ));
            }
            self.prefix = None;
        }
        while self.pos == self.cur.len() {
            if self.ended {
                return Ok(0);
            }
            if self.cur.capacity() > 0 {
                let _ = self.back.send(std::mem::take(&mut self.cur));
            }
            self.pos = 0;
            match self.rx.blocking_recv() {
                Some(Msg::Data(b)) => self.cur = b,
                Some(Msg::End) => self.ended = true,
                None => {
                    let why = self
                        .download_failure()
                        .unwrap_or_else(|| "the download stopped".into());
                    return Err(io::Error::other(format!("download failed: {why}")));
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn run(data: Vec<u8>, prefix: &[u8], finish: bool) -> (io::Result<Vec<u8>>, Vec<u8>) {
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("x.part");
        std::fs::write(&part, prefix).unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&part)
            .unwrap();
        let (mut tee, mut rd) = pipe(file, part.clone(), prefix.len() as u64).unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            rd.read_to_end(&mut v).map(|_| v)
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            for c in data.chunks(100_000) {
                tee.write_all(c).await.unwrap();
            }
            if finish {
                tee.finish().await.unwrap();
            } else {
                tee.fail("cut".into());
            }
        });
        (reader.join().unwrap(), std::fs::read(&part).unwrap())
    }

    #[test]
    fn tees_into_the_file_and_the_reader() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
        let (got, file) = run(data.clone(), b"head-", true);
        let mut want = b"head-".to_vec();
        want.extend_from_slice(&data);
        assert_eq!(got.unwrap(), want);
        assert_eq!(file, want);
    }

    #[test]
    fn a_failed_download_is_an_error_not_an_eof() {
        let (got, file) = run(vec![1; 1000], b"", false);
        let e = got.unwrap_err();
        assert!(e.to_string().contains("download failed: cut"), "{e}");
        assert_eq!(file.len(), 1000, "what arrived stays for a resume");
    }
}
