//! Logs: the size-rotating file writer shared by child logs and the main log
//! ([`rotating`]), the capture of child pipes into it ([`capture`]), the
//! supervisor's own log in supervisord's line format ([`main_log`]), syslog
//! ([`syslog`]) and `strip_ansi` ([`ansi`]).

pub mod ansi;
pub mod capture;
pub mod main_log;
pub mod rotating;
pub mod syslog;

pub use main_log::MainLog;
pub use rotating::RotatingFile;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Why a log read failed, in supervisord's fault vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Negative offset with a length, or a negative length.
    BadArguments,
    /// The file could not be read.
    Failed,
}

/// supervisord's `readFile`: `length` bytes from `offset`; a negative offset
/// reads that many bytes from the end (then `length` must be 0).
pub fn read_file(path: &Path, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
    if offset < 0 && length != 0 || length < 0 {
        return Err(ReadError::BadArguments);
    }
    let mut f = std::fs::File::open(path).map_err(|_| ReadError::Failed)?;
    let size = f.metadata().map_err(|_| ReadError::Failed)?.len();
    let (start, want) = if offset < 0 {
        let back = offset.unsigned_abs();
        (size.saturating_sub(back), back)
    } else if length == 0 {
        (offset as u64, u64::MAX)
    } else {
        (offset as u64, length as u64)
    };
    f.seek(SeekFrom::Start(start))
        .map_err(|_| ReadError::Failed)?;
    let mut out = Vec::new();
    // Bounded: never more than what the file holds (and 64 MiB per call).
    f.take(want.min(64 << 20))
        .read_to_end(&mut out)
        .map_err(|_| ReadError::Failed)?;
    Ok(out)
}

/// supervisord's `tailFile`: `(bytes, new offset, overflow)`.
pub fn tail_file(path: &Path, offset: i64, length: i64) -> (Vec<u8>, i64, bool) {
    let Ok(mut f) = std::fs::File::open(path) else {
        return (Vec::new(), offset, false);
    };
    let Ok(meta) = f.metadata() else {
        return (Vec::new(), offset, false);
    };
    let sz = meta.len() as i64;
    let (mut offset, mut length) = (offset, length.min(64 << 20));
    let mut overflow = false;
    if sz > offset.saturating_add(length) {
        overflow = true;
        offset = sz - 1;
    }
    if offset.saturating_add(length) > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let mut data = Vec::new();
    if length > 0 && f.seek(SeekFrom::Start(offset as u64)).is_ok() {
        let _ = f.take(length as u64).read_to_end(&mut data);
    }
    (data, sz, overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_file_like_supervisord() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_file(&p, -4, 0).unwrap(), b"6789");
        assert_eq!(read_file(&p, -400, 0).unwrap(), b"0123456789");
        assert_eq!(read_file(&p, 2, 3).unwrap(), b"234");
        assert_eq!(read_file(&p, 2, 0).unwrap(), b"23456789");
        assert_eq!(read_file(&p, 100, 0).unwrap(), b"");
        assert_eq!(read_file(&p, -4, 2), Err(ReadError::BadArguments));
        assert_eq!(read_file(&p, 0, -2), Err(ReadError::BadArguments));
        assert_eq!(
            read_file(&dir.path().join("x"), 0, 0),
            Err(ReadError::Failed)
        );
    }

    #[test]
    fn tail_file_like_supervisord() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(tail_file(&p, 0, 4), (b"6789".to_vec(), 10, true));
        assert_eq!(tail_file(&p, 8, 4), (b"6789".to_vec(), 10, false));
        assert_eq!(tail_file(&p, 10, 4), (b"".to_vec(), 10, false));
        assert_eq!(tail_file(&p, 0, 100), (b"0123456789".to_vec(), 10, false));
        assert_eq!(tail_file(&dir.path().join("x"), 5, 4), (vec![], 5, false));
    }
}
