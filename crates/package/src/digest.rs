//! Streaming SHA-256: tarballs are hashed while they are read, never held in memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// A reader that hashes (SHA-256) and counts every byte that passes through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    /// None: only counting (the caller hashes the same bytes elsewhere).
    hasher: Option<Sha256>,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Some(Sha256::new()),
            bytes: 0,
        }
    }

    /// Wraps `inner`, counting only.
    pub(crate) fn counting(inner: R) -> Self {
        Self {
            inner,
            hasher: None,
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Reads the rest of the stream (so the digest covers all of it) and returns
    /// the lowercase hex digest and the total byte count.
    pub fn finish(self) -> io::Result<(String, u64)> {
        let (hex, bytes) = self.finish_maybe()?;
        Ok((hex.unwrap_or_default(), bytes))
    }

    /// As [`HashingReader::finish`]; no digest when only counting.
    pub(crate) fn finish_maybe(mut self) -> io::Result<(Option<String>, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.map(|h| hex::encode(h.finalize())), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// SHA-256 of bytes handed over piece by piece (e.g. as a download writes them), for callers
/// that hash where the bytes are produced rather than through a reader.
#[derive(Debug, Clone, Default)]
pub struct StreamDigest(Sha256);

impl StreamDigest {
    /// A digest of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The lowercase hex SHA-256 of everything added.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Writing adds the bytes, so `io::copy` can hash a reader into it.
impl io::Write for StreamDigest {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// SHA-256 (lowercase hex) and length of everything `reader` yields.
pub fn sha256_reader<R: Read>(reader: R) -> io::Result<(String, u64)> {
    HashingReader::new(reader).finish()
}

/// SHA-256 (lowercase hex) of a file, read in a streaming fashion.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    Ok(sha256_reader(File::open(path)?)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_digest_matches_the_reader() {
        let mut d = StreamDigest::new();
        d.update(b"a");
        io::copy(&mut &b"bc"[..], &mut d).unwrap();
        assert_eq!(d.finish(), sha256_reader(&b"abc"[..]).unwrap().0);
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            sha256_reader(&b""[..]).unwrap().0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (hex, n) = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(n, 3);
    }

    #[test]
    fn finish_hashes_the_unread_rest() {
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut one = [0u8; 1];
        r.read_exact(&mut one).unwrap();
        assert_eq!(r.bytes_read(), 1);
        assert_eq!(r.finish().unwrap(), sha256_reader(&b"abc"[..]).unwrap());
    }
}
