//! Helpers that write tarballs byte by byte, so hostile entries (which the tar crate's safe
//! setters refuse to create) can be generated inside the tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// One entry of a hand-made archive.
pub struct Raw<'a> {
    pub path: &'a str,
    pub kind: EntryType,
    pub mode: u32,
    pub link: Option<&'a str>,
    pub data: &'a [u8],
}

pub fn file<'a>(path: &'a str, mode: u32, data: &'a [u8]) -> Raw<'a> {
    Raw {
        path,
        kind: EntryType::Regular,
        mode,
        link: None,
        data,
    }
}

pub fn dir(path: &str) -> Raw<'_> {
    Raw {
        path,
        kind: EntryType::Directory,
        mode: 0o755,
        link: None,
        data: b"",
    }
}

pub fn symlink<'a>(path: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        path,
        kind: EntryType::Symlink,
        mode: 0o777,
        link: Some(target),
        data: b"",
    }
}

pub fn hardlink<'a>(path: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        path,
        kind: EntryType::Link,
        mode: 0o644,
        link: Some(target),
        data: b"",
    }
}

pub fn special(path: &str, kind: EntryType) -> Raw<'_> {
    Raw {
        path,
        kind,
        mode: 0o644,
        link: None,
        data: b"",
    }
}

/// A header whose name and link name are copied raw (no validation).
pub fn raw_header(path: &str, kind: EntryType, mode: u32, link: Option<&str>, size: u64) -> Header {
    let mut h = Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h
}

/// Uncompressed tar bytes of the entries.
pub fn tar_bytes(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let h = raw_header(e.path, e.kind, e.mode, e.link, e.data.len() as u64);
        b.append(&h, e.data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn targz(entries: &[Raw<'_>]) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub const INSTALL: &[u8] = b"#!/bin/sh\necho installing\n";
pub const CONF: &[u8] = b"[supervisord]\ncommand = /bin/sh /usr/local/bin/example.sh\n";

/// A valid gzip file holding a tar whose single entry `zeros.bin` is `size` bytes of zeros.
/// Built from one compressed 1 MiB block repeated, so it is made in milliseconds and is ~1000x
/// smaller than its content, like a real gzip bomb; the CRC and length trailer are exact.
pub fn zero_bomb(size: u64) -> Vec<u8> {
    use flate2::{Compress, Crc, FlushCompress};
    const CHUNK: usize = 1024 * 1024;
    assert_eq!(size % CHUNK as u64, 0);
    let deflate = |data: &[u8], flush: FlushCompress| -> Vec<u8> {
        let mut c = Compress::new(flate2::Compression::best(), false);
        let mut out = Vec::with_capacity(data.len() / 100 + 1024);
        loop {
            let before_in = c.total_in() as usize;
            out.reserve(64 * 1024);
            c.compress_vec(&data[before_in..], &mut out, flush).unwrap();
            if c.total_in() as usize == data.len() && out.len() < out.capacity() {
                return out;
            }
        }
    };
    let header = raw_header("zeros.bin", EntryType::Regular, 0o644, None, size);
    let zeros = vec![0u8; CHUNK];
    // After the data: tar padding is 0 (size is a multiple of 512) plus two zero end blocks.
    let tail = vec![0u8; 1024];
    let mut crc = Crc::new();
    crc.update(header.as_bytes());
    let mut chunk_crc = Crc::new();
    chunk_crc.update(&zeros);
    let mut tail_crc = Crc::new();
    tail_crc.update(&tail);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend(deflate(header.as_bytes(), FlushCompress::Full));
    let chunk = deflate(&zeros, FlushCompress::Full);
    for _ in 0..size / CHUNK as u64 {
        out.extend_from_slice(&chunk);
        crc.combine(&chunk_crc);
    }
    out.extend(deflate(&tail, FlushCompress::Finish));
    crc.combine(&tail_crc);
    out.extend(crc.sum().to_le_bytes());
    out.extend(((512 + size + 1024) as u32).to_le_bytes());
    out
}

/// Every path under `dir` (for "nothing left behind" assertions).
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
