//! The streamed OTA path: the download is written to the cache file (so a cut download can be
//! resumed with `Range`) and the installer's extraction follows that file as it grows (from the
//! page cache), so the tarball is extracted into the staging directory while it arrives. The
//! download never waits for the extraction, and no download buffer is held in memory.
//!
//! The cache file goes to disk as it arrives (writeback started every 8 MiB), as a resume
//! after a power cut needs, and the pages the extraction has read are dropped from the page
//! cache once written: a 100 MB download then occupies a few MiB of page cache, not 100 MB (a
//! gateway has 64 MB of RAM), and its pages are reused for the extracted files.
//!
//! The download side also computes the SHA-256 (of the resumed prefix first, then of every batch
//! it writes), so hashing and extraction run on two cores instead of one after the other.
//!
//! Extracting before the digest is known is safe because the staging directory is not the live
//! version: the digest and signature are checked when the stream ends, before the staging
//! directory becomes a versioned app directory, before `install.sh` runs and before anything
//! is switched (see [`crate::installer`]).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};

use gwe_package::StreamDigest;

use crate::fsutil;

/// Bytes gathered before one write to the cache file (and one wake-up of the reader).
const BATCH: usize = 256 * 1024;
/// The cache file's writeback is started every this many bytes, and the reader lets go of
/// the pages it has read, this far behind it.
const WRITEBACK_EVERY: u64 = 8 << 20;
const DROP_BEHIND: u64 = 16 << 20;

/// What the two halves share: how far the cache file is written, and how the download ended.
#[derive(Default)]
struct State {
    /// Bytes of the cache file the reader may read.
    written: u64,
    /// `Some(Ok)`: complete with the announced size; `Some(Err)`: why the download stopped.
    end: Option<Result<(), String>>,
    /// The reader is gone (the installer refused the tarball or stopped): stop downloading.
    reader_gone: bool,
    /// SHA-256 (hex) of the whole cache file, set when the download completed.
    sha256: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    more: Condvar,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut st) = self.state.lock() {
            f(&mut st);
        }
        self.more.notify_all();
    }
}

/// Writing half (async, on the runtime): appends to the cache file, then tells the reader how
/// far it may read. It never waits for the reader, so a slow disk or a busy CPU on the
/// extraction side does not stall the connection; the bytes wait in the page cache.
pub(crate) struct Tee {
    file: File,
    part: PathBuf,
    buf: Vec<u8>,
    written: u64,
    /// Where the last writeback started (bytes before it are under way or on disk).
    flushed: u64,
    hasher: StreamDigest,
    shared: Arc<Shared>,
}

/// Reading half (blocking, in the installer's thread): the cache file from byte 0 (a resumed
/// download's prefix first), following the download as it is written.
pub(crate) struct StreamIn {
    file: File,
    pos: u64,
    /// Up to here the page cache has been let go of.
    dropped: u64,
    shared: Arc<Shared>,
    /// The cache file the download is teed into.
    pub(crate) part: PathBuf,
}

/// A pipe for a download into `part`, whose first `offset` bytes are already there (they are
/// hashed now and extracted first). `file` is `part` opened for appending. Blocking: it reads
/// the prefix.
pub(crate) fn pipe(file: File, part: PathBuf, offset: u64) -> io::Result<(Tee, StreamIn)> {
    let mut reader = File::open(&part)?;
    let mut hasher = StreamDigest::new();
    if io::copy(&mut (&mut reader).take(offset), &mut hasher)? < offset {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("`{}` is shorter than its resumed part", part.display()),
        ));
    }
    let shared = Arc::new(Shared::default());
    shared.update(|st| st.written = offset);
    Ok((
        Tee {
            file,
            part: part.clone(),
            buf: Vec::with_capacity(BATCH),
            written: offset,
            flushed: offset,
            hasher,
            shared: shared.clone(),
        },
        StreamIn {
            file: reader,
            pos: 0,
            dropped: 0,
            shared,
            part,
        },
    ))
}

/// Reads the SHA-256 that the download side computed (see [`StreamIn::digest`]).
pub(crate) struct DigestOf(Arc<Shared>);

impl DigestOf {
    /// The digest of the complete download; an error before it completed.
    pub(crate) fn get(&self) -> io::Result<String> {
        let st = self
            .0
            .state
            .lock()
            .map_err(|_| io::Error::other("download state poisoned"))?;
        st.sha256
            .clone()
            .ok_or_else(|| io::Error::other("the download did not complete"))
    }
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the installer stopped reading the download",
    )
}

impl Tee {
    /// Writes the gathered bytes to the cache file and lets the reader at them.
    fn push(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buf)
            .map_err(|e| io::Error::new(e.kind(), format!("`{}`: {e}", self.part.display())))?;
        self.hasher.update(&self.buf);
        self.written += self.buf.len() as u64;
        if self.written - self.flushed >= WRITEBACK_EVERY {
            // best effort: without it the kernel writes the file back later
            let _ = fsutil::start_writeback(&self.file, self.flushed, self.written);
            self.flushed = self.written;
        }
        self.buf.clear();
        let written = self.written;
        self.shared.update(|st| st.written = written);
        Ok(())
    }

    fn reader_gone(&self) -> bool {
        self.shared.state.lock().map_or(true, |st| st.reader_gone)
    }

    /// The download completed with the expected size: the reader may read to the end.
    pub(crate) async fn finish(mut self) -> io::Result<()> {
        self.push()?;
        let sha = std::mem::take(&mut self.hasher).finish();
        self.shared.update(|st| {
            st.sha256 = Some(sha);
            st.end = Some(Ok(()));
        });
        Ok(())
    }

    /// The download failed: what arrived is kept in the cache file for a resume, and the reader
    /// reports `why` instead of a truncated archive.
    pub(crate) fn fail(mut self, why: String) {
        let _ = self.push();
        self.shared.update(|st| st.end = Some(Err(why)));
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Neither finished nor failed (the task was dropped): the reader must not wait forever.
        self.shared.update(|st| {
            if st.end.is_none() {
                st.end = Some(Err("the download stopped".into()));
            }
        });
    }
}

impl tokio::io::AsyncWrite for Tee {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        if me.reader_gone() {
            return Poll::Ready(Err(gone()));
        }
        let n = data.len().min(BATCH - me.buf.len());
        me.buf.extend_from_slice(&data[..n]);
        if me.buf.len() == BATCH {
            me.push()?;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.push())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl StreamIn {
    /// Where to read the download's SHA-256 once the stream has ended.
    pub(crate) fn digest(&self) -> DigestOf {
        DigestOf(self.shared.clone())
    }

    /// Why the download failed, when it did.
    pub(crate) fn download_failure(&self) -> Option<String> {
        self.shared
            .state
            .lock()
            .ok()
            .and_then(|st| st.end.clone())
            .and_then(Result::err)
    }
}

impl Drop for StreamIn {
    fn drop(&mut self) {
        self.shared.update(|st| st.reader_gone = true);
    }
}

impl Read for StreamIn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let avail = {
            let mut st = self
                .shared
                .state
                .lock()
                .map_err(|_| io::Error::other("download state poisoned"))?;
            loop {
                if st.written > self.pos {
                    break st.written - self.pos;
                }
                match &st.end {
                    Some(Ok(())) => return Ok(0),
                    Some(Err(why)) => {
                        return Err(io::Error::other(format!("download failed: {why}")))
                    }
                    None => {}
                }
                st = self
                    .shared
                    .more
                    .wait(st)
                    .map_err(|_| io::Error::other("download state poisoned"))?;
            }
        };
        let want = out.len().min(usize::try_from(avail).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut out[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{}` is shorter than what was written", self.part.display()),
            ));
        }
        self.pos += n as u64;
        if self.pos >= self.dropped + DROP_BEHIND + WRITEBACK_EVERY {
            // only clean pages go (written back by now, else kept): the file stays whole on
            // disk for a resume
            let upto = self.pos - DROP_BEHIND;
            fsutil::drop_cached(&self.file, self.dropped, upto);
            self.dropped = upto;
        }
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
        let digest = rd.digest();
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
        let got = reader.join().unwrap();
        let file = std::fs::read(&part).unwrap();
        match digest.get() {
            Ok(sha) => {
                assert!(finish, "a digest only for a complete download");
                let want = gwe_package::sha256_reader(&file[..]).unwrap().0;
                assert_eq!(sha, want, "digest of the whole file");
            }
            Err(e) => assert!(!finish, "complete download without a digest: {e}"),
        }
        (got, file)
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
    fn a_gone_reader_stops_the_download() {
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("x.part");
        let file = std::fs::File::create(&part).unwrap();
        let (mut tee, rd) = pipe(file, part, 0).unwrap();
        drop(rd);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(tee.write_all(b"abc")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_failed_download_is_an_error_not_an_eof() {
        let (got, file) = run(vec![1; 1000], b"", false);
        let e = got.unwrap_err();
        assert!(e.to_string().contains("download failed: cut"), "{e}");
        assert_eq!(file.len(), 1000, "what arrived stays for a resume");
    }
}
