//! One streaming pass over a `.tar.gz`: hashes the compressed bytes, counts the decompressed
//! bytes against the limits, judges every entry with the [`Policy`], and hands the entry data to
//! a callback. Used by both the checker and the extractor, so both refuse the same things.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use flate2::bufread::GzDecoder;

use crate::digest::HashingReader;
use crate::error::ExtractError;
use crate::limits::Limits;
use crate::safety::{Admitted, Policy, UnsafeEntry};

/// Counts decompressed bytes and fails once the limit is passed (the bomb defence).
struct Limited<R> {
    inner: R,
    count: u64,
    limit: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for at most one byte past the limit so the overflow is seen without decoding more.
        let room = (self.limit - self.count.min(self.limit)).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.count += n as u64;
        if self.count > self.limit {
            self.tripped.set(true);
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        Ok(n)
    }
}

/// One entry as handed to the callback.
pub(crate) struct EntryEvent<'a> {
    /// The path as stored in the archive.
    pub raw_path: &'a [u8],
    /// The policy's verdict.
    pub verdict: Result<Admitted, UnsafeEntry>,
    /// The entry's data (only meaningful for regular files).
    pub data: &'a mut dyn Read,
}

/// What a complete pass saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    /// SHA-256 (hex) of the whole compressed input, unless the caller hashes it.
    pub sha256: Option<String>,
    /// Size of the compressed input.
    pub compressed_bytes: u64,
    /// Size of the decompressed tar stream.
    pub uncompressed_bytes: u64,
    /// Number of entries (metadata headers excluded).
    pub entries: u64,
}

/// Maps a read error of the pipeline to the typed error.
pub(crate) fn classify(e: io::Error, tripped: bool, limits: &Limits) -> ExtractError {
    if tripped {
        ExtractError::TooLarge {
            limit: limits.max_uncompressed_bytes,
        }
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        ExtractError::Truncated
    } else {
        ExtractError::Corrupt(e.to_string())
    }
}

/// Reads the whole tarball once, calling `on_entry` for each entry; an `Err` from the callback
/// stops the pass. Limits on entries and decompressed bytes are enforced here. With `hash`
/// false the SHA-256 is left to the caller (who saw the same bytes elsewhere).
pub(crate) fn for_each_entry<R: Read>(
    reader: R,
    limits: &Limits,
    hash: bool,
    mut on_entry: impl FnMut(EntryEvent<'_>) -> Result<(), ExtractError>,
) -> Result<Summary, ExtractError> {
    let mut hashing = if hash {
        HashingReader::new(reader)
    } else {
        HashingReader::counting(reader)
    };
    let mut buffered = BufReader::with_capacity(64 * 1024, &mut hashing);
    let head = buffered
        .fill_buf()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    if head.len() < 2 || head[..2] != [0x1f, 0x8b] {
        return Err(ExtractError::NotGzip);
    }
    let tripped = Rc::new(Cell::new(false));
    let limited = Limited {
        inner: GzDecoder::new(buffered),
        count: 0,
        limit: limits.max_uncompressed_bytes,
        tripped: tripped.clone(),
    };
    let err = |e: io::Error| classify(e, tripped.get(), limits);
    let mut archive = tar::Archive::new(limited);
    let mut entries = 0u64;
    let mut declared = 0u64;
    let mut policy = Policy::default();
    for entry in archive.entries().map_err(err)? {
        let mut entry = entry.map_err(err)?;
        let header = entry.header();
        let entry_type = header.entry_type();
        if entry_type.is_pax_global_extensions() {
            continue;
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(ExtractError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let mode = header.mode().map_err(err)?;
        let size = entry.size();
        // Refuse a declared size over the limit at once instead of decompressing up to it.
        declared = declared.saturating_add(size);
        if declared > limits.max_uncompressed_bytes {
            return Err(ExtractError::TooLarge {
                limit: limits.max_uncompressed_bytes,
            });
        }
        let raw_path = entry.path_bytes().into_owned();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let verdict = policy.admit(&raw_path, entry_type, mode, size, link.as_deref(), limits);
        on_entry(EntryEvent {
            raw_path: &raw_path,
            verdict,
            data: &mut entry,
        })
        .map_err(|e| match e {
            // A read error inside the callback is a pipeline error: classify it here.
            ExtractError::Corrupt(_) | ExtractError::Truncated if tripped.get() => {
                ExtractError::TooLarge {
                    limit: limits.max_uncompressed_bytes,
                }
            }
            other => other,
        })?;
    }
    // Decode to the end of the gzip member so its CRC and length are verified.
    let mut limited = archive.into_inner();
    io::copy(&mut limited, &mut io::sink()).map_err(err)?;
    let uncompressed_bytes = limited.count;
    drop(limited);
    let (sha256, compressed_bytes) = hashing
        .finish_maybe()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    Ok(Summary {
        sha256,
        compressed_bytes,
        uncompressed_bytes,
        entries,
    })
}
