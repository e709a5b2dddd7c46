//! The entry policy shared by the checker and the extractor: which tar entries are safe to
//! materialize under a staging directory, decided from the headers alone (lexically), before
//! anything touches the disk.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::limits::Limits;

/// Why one tar entry is refused. Every variant names the entry as stored in the archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeEntry {
    /// The path is empty.
    #[error("entry with an empty path")]
    EmptyPath,
    /// The path is longer than the limit.
    #[error("entry `{entry}`: path longer than {max} bytes")]
    PathTooLong {
        /// Entry path as stored.
        entry: String,
        /// The limit.
        max: usize,
    },
    /// The path is absolute.
    #[error("entry `{entry}`: absolute path")]
    AbsolutePath {
        /// Entry path as stored.
        entry: String,
    },
    /// The path contains `..`.
    #[error("entry `{entry}`: `..` in the path could climb out of the app directory")]
    ParentDir {
        /// Entry path as stored.
        entry: String,
    },
    /// A symlink with an absolute target.
    #[error("entry `{entry}`: symlink to absolute path `{target}` points outside the app")]
    SymlinkAbsolute {
        /// Entry path as stored.
        entry: String,
        /// Link target as stored.
        target: String,
    },
    /// A symlink whose relative target climbs out of the archive root.
    #[error("entry `{entry}`: symlink to `{target}` escapes the app directory")]
    SymlinkEscapes {
        /// Entry path as stored.
        entry: String,
        /// Link target as stored.
        target: String,
    },
    /// A hard link whose target is not an earlier regular file of the same archive.
    #[error(
        "entry `{entry}`: hard link to `{target}`, which is not an earlier file of this archive"
    )]
    HardlinkOutside {
        /// Entry path as stored.
        entry: String,
        /// Link target as stored.
        target: String,
    },
    /// A character or block device.
    #[error("entry `{entry}`: {kind} device files are not allowed")]
    DeviceFile {
        /// Entry path as stored.
        entry: String,
        /// `character` or `block`.
        kind: &'static str,
    },
    /// A named pipe.
    #[error("entry `{entry}`: fifos are not allowed")]
    Fifo {
        /// Entry path as stored.
        entry: String,
    },
    /// Setuid or setgid bit set.
    #[error("entry `{entry}`: setuid/setgid bits are not allowed (mode {mode:o})")]
    SetuidSetgid {
        /// Entry path as stored.
        entry: String,
        /// The entry's mode.
        mode: u32,
    },
    /// The entry would be written through (or over) an earlier symlink entry.
    #[error("entry `{entry}`: would be written through the symlink `{symlink}`")]
    ThroughSymlink {
        /// Entry path as stored.
        entry: String,
        /// The earlier symlink entry.
        symlink: String,
    },
    /// A directory where an earlier entry is not one, or the reverse.
    #[error("entry `{entry}`: replaces an earlier entry of another type (file/directory/link)")]
    TypeConflict {
        /// Entry path as stored.
        entry: String,
    },
    /// Another entry type (sparse files, contiguous, vendor types...).
    #[error("entry `{entry}`: unsupported tar entry type {type_byte:?}")]
    Unsupported {
        /// Entry path as stored.
        entry: String,
        /// The header's type flag.
        type_byte: char,
    },
}

/// What an admitted entry is, with its normalized relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// A directory (the archive root itself, `./`, yields `Skip`).
    Dir(PathBuf),
    /// A regular file with its mode (setuid/setgid already refused).
    File { path: PathBuf, mode: u32, size: u64 },
    /// A symlink whose target stays inside the archive root.
    Symlink { path: PathBuf, target: PathBuf },
    /// A hard link to an earlier regular file (target normalized).
    Hardlink { path: PathBuf, target: PathBuf },
    /// Metadata entries (pax global headers) and the root directory itself.
    Skip,
}

/// Display form of raw path bytes.
pub(crate) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Normalizes an archive path: drops `.` and empty components, refuses absolute paths and `..`.
/// `Ok(None)` means the archive root itself (`./`).
pub(crate) fn normalize(raw: &[u8], limits: &Limits) -> Result<Option<PathBuf>, UnsafeEntry> {
    use std::os::unix::ffi::OsStrExt;
    if raw.is_empty() {
        return Err(UnsafeEntry::EmptyPath);
    }
    if raw.len() > limits.max_path_len {
        return Err(UnsafeEntry::PathTooLong {
            entry: show(&raw[..64.min(raw.len())]) + "...",
            max: limits.max_path_len,
        });
    }
    let entry = || show(raw);
    if raw[0] == b'/' {
        return Err(UnsafeEntry::AbsolutePath { entry: entry() });
    }
    let mut out = PathBuf::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(UnsafeEntry::ParentDir { entry: entry() }),
            p => out.push(std::ffi::OsStr::from_bytes(p)),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

/// Resolves a relative symlink target against the link's directory, lexically; `None` when it
/// climbs above the root, or when a `..` follows a normal component: that component may itself
/// be a symlink (`s -> .` makes `s/..` the root's parent), so only leading `..` components, which
/// walk up the link's own real directories, are exact.
fn resolve_link(link: &Path, target: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut parts: Vec<&std::ffi::OsStr> = link
        .parent()
        .into_iter()
        .flat_map(|p| p.components())
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    let mut descended = false;
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if descended => return None,
            b".." => {
                parts.pop()?;
            }
            p => {
                descended = true;
                parts.push(std::ffi::OsStr::from_bytes(p));
            }
        }
    }
    Some(parts.iter().collect())
}

/// Tracks what earlier entries created, to judge later ones (links, writes through symlinks).
#[derive(Debug, Default)]
pub(crate) struct Policy {
    symlinks: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
    /// Directories: directory entries and every ancestor of an admitted entry.
    dirs: HashSet<PathBuf>,
}

impl Policy {
    /// The earlier symlink `path` (or one of its ancestors) would be written through.
    fn through_symlink(&self, path: &Path) -> Option<&PathBuf> {
        path.ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .find_map(|a| self.symlinks.get(a))
    }

    /// Judges one entry from its header fields.
    pub(crate) fn admit(
        &mut self,
        raw_path: &[u8],
        entry_type: tar::EntryType,
        mode: u32,
        size: u64,
        link_name: Option<&[u8]>,
        limits: &Limits,
    ) -> Result<Admitted, UnsafeEntry> {
        use tar::EntryType as T;
        if matches!(
            entry_type,
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink
        ) {
            return Ok(Admitted::Skip);
        }
        let entry = || show(raw_path);
        let path = normalize(raw_path, limits)?;
        match entry_type {
            T::Char => {
                return Err(UnsafeEntry::DeviceFile {
                    entry: entry(),
                    kind: "character",
                })
            }
            T::Block => {
                return Err(UnsafeEntry::DeviceFile {
                    entry: entry(),
                    kind: "block",
                })
            }
            T::Fifo => return Err(UnsafeEntry::Fifo { entry: entry() }),
            _ => {}
        }
        if mode & 0o6000 != 0 {
            return Err(UnsafeEntry::SetuidSetgid {
                entry: entry(),
                mode,
            });
        }
        let Some(path) = path else {
            // `./` itself: only meaningful as a directory.
            return match entry_type {
                T::Directory => Ok(Admitted::Skip),
                _ => Err(UnsafeEntry::EmptyPath),
            };
        };
        if let Some(link) = self.through_symlink(&path) {
            return Err(UnsafeEntry::ThroughSymlink {
                entry: entry(),
                symlink: link.display().to_string(),
            });
        }
        let is_dir = entry_type == T::Directory;
        let known_dir = self.dirs.contains(&path);
        let known_other = self.files.contains(&path) || self.symlinks.contains(&path);
        if (is_dir && known_other) || (!is_dir && known_dir) {
            return Err(UnsafeEntry::TypeConflict { entry: entry() });
        }
        for ancestor in path.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() {
                break;
            }
            if self.files.contains(ancestor) {
                return Err(UnsafeEntry::TypeConflict { entry: entry() });
            }
            self.dirs.insert(ancestor.to_path_buf());
        }
        match entry_type {
            T::Directory => {
                self.dirs.insert(path.clone());
                Ok(Admitted::Dir(path))
            }
            T::Regular | T::Continuous => {
                self.files.insert(path.clone());
                Ok(Admitted::File { path, mode, size })
            }
            T::Symlink => {
                let target = link_name.unwrap_or_default();
                let bad = |absolute: bool| {
                    let (entry, target) = (entry(), show(target));
                    if absolute {
                        UnsafeEntry::SymlinkAbsolute { entry, target }
                    } else {
                        UnsafeEntry::SymlinkEscapes { entry, target }
                    }
                };
                // Remember even a refused symlink, so entries written through it are named too.
                self.files.remove(&path);
                self.symlinks.insert(path.clone());
                if target.first() == Some(&b'/') {
                    return Err(bad(true));
                }
                if target.is_empty() || resolve_link(&path, target).is_none() {
                    return Err(bad(false));
                }
                use std::os::unix::ffi::OsStrExt;
                Ok(Admitted::Symlink {
                    path,
                    target: PathBuf::from(std::ffi::OsStr::from_bytes(target)),
                })
            }
            T::Link => {
                let raw_target = link_name.unwrap_or_default();
                let outside = || UnsafeEntry::HardlinkOutside {
                    entry: entry(),
                    target: show(raw_target),
                };
                let target = normalize(raw_target, limits)
                    .ok()
                    .flatten()
                    .ok_or_else(outside)?;
                if !self.files.contains(&target) || self.through_symlink(&target).is_some() {
                    return Err(outside());
                }
                self.files.insert(path.clone());
                Ok(Admitted::Hardlink { path, target })
            }
            other => Err(UnsafeEntry::Unsupported {
                entry: entry(),
                type_byte: other.as_byte() as char,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::EntryType as T;

    fn admit(
        p: &mut Policy,
        path: &str,
        t: T,
        mode: u32,
        link: Option<&str>,
    ) -> Result<Admitted, UnsafeEntry> {
        p.admit(
            path.as_bytes(),
            t,
            mode,
            0,
            link.map(str::as_bytes),
            &Limits::default(),
        )
    }

    #[test]
    fn normalize_table() {
        let l = Limits::default();
        let cases: &[(&str, Result<Option<&str>, &str>)] = &[
            ("install.sh", Ok(Some("install.sh"))),
            ("./install.sh", Ok(Some("install.sh"))),
            ("a//b/./c", Ok(Some("a/b/c"))),
            ("./", Ok(None)),
            ("/etc/passwd", Err("absolute")),
            ("../x", Err("parent")),
            ("a/../../x", Err("parent")),
            ("a/..", Err("parent")),
            ("", Err("empty")),
        ];
        for (raw, want) in cases {
            let got = normalize(raw.as_bytes(), &l);
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(g.as_deref(), w.map(Path::new), "{raw}"),
                (Err("absolute"), Err(UnsafeEntry::AbsolutePath { .. }))
                | (Err("parent"), Err(UnsafeEntry::ParentDir { .. }))
                | (Err("empty"), Err(UnsafeEntry::EmptyPath)) => {}
                (w, g) => panic!("{raw:?}: want {w:?}, got {g:?}"),
            }
        }
        let long = "a/".repeat(600);
        assert!(matches!(
            normalize(long.as_bytes(), &l),
            Err(UnsafeEntry::PathTooLong { .. })
        ));
    }

    #[test]
    fn links_inside_are_admitted_and_escapes_refused() {
        let mut p = Policy::default();
        assert!(admit(&mut p, "lib/a.so.1", T::Regular, 0o644, None).is_ok());
        assert!(admit(&mut p, "lib/a.so", T::Symlink, 0o777, Some("a.so.1")).is_ok());
        assert!(admit(&mut p, "bin/tool", T::Symlink, 0o777, Some("../lib/a.so")).is_ok());
        assert!(matches!(
            admit(&mut p, "dot", T::Symlink, 0o777, Some("lib/..")),
            Err(UnsafeEntry::SymlinkEscapes { .. })
        ));
        assert!(admit(&mut p, "lib/self", T::Symlink, 0o777, Some("..")).is_ok());
        assert!(matches!(
            admit(&mut p, "lib", T::Regular, 0o644, None),
            Err(UnsafeEntry::TypeConflict { .. })
        ));
        assert!(matches!(
            admit(&mut p, "lib/a.so.1/x", T::Regular, 0o644, None),
            Err(UnsafeEntry::TypeConflict { .. })
        ));
        assert!(matches!(
            admit(&mut p, "up", T::Symlink, 0o777, Some("../x")),
            Err(UnsafeEntry::SymlinkEscapes { .. })
        ));
        assert!(matches!(
            admit(&mut p, "etc", T::Symlink, 0o777, Some("/etc")),
            Err(UnsafeEntry::SymlinkAbsolute { .. })
        ));
        assert!(matches!(
            admit(&mut p, "lib/a.so/x", T::Regular, 0o644, None),
            Err(UnsafeEntry::ThroughSymlink { .. })
        ));
        assert!(matches!(
            admit(&mut p, "lib/a.so", T::Regular, 0o644, None),
            Err(UnsafeEntry::ThroughSymlink { .. })
        ));
        assert!(admit(&mut p, "hl", T::Link, 0o644, Some("lib/a.so.1")).is_ok());
        for target in ["/etc/shadow", "../x", "lib/a.so", "missing"] {
            assert!(
                matches!(
                    admit(&mut p, "hl2", T::Link, 0o644, Some(target)),
                    Err(UnsafeEntry::HardlinkOutside { .. })
                ),
                "{target}"
            );
        }
    }

    #[test]
    fn special_files_and_modes() {
        let mut p = Policy::default();
        assert!(matches!(
            admit(&mut p, "c", T::Char, 0o644, None),
            Err(UnsafeEntry::DeviceFile {
                kind: "character",
                ..
            })
        ));
        assert!(matches!(
            admit(&mut p, "b", T::Block, 0o644, None),
            Err(UnsafeEntry::DeviceFile { kind: "block", .. })
        ));
        assert!(matches!(
            admit(&mut p, "f", T::Fifo, 0o644, None),
            Err(UnsafeEntry::Fifo { .. })
        ));
        assert!(matches!(
            admit(&mut p, "s", T::Regular, 0o4755, None),
            Err(UnsafeEntry::SetuidSetgid { .. })
        ));
        assert!(matches!(
            admit(&mut p, "g", T::Directory, 0o2755, None),
            Err(UnsafeEntry::SetuidSetgid { .. })
        ));
        assert!(matches!(
            admit(&mut p, "sp", T::GNUSparse, 0o644, None),
            Err(UnsafeEntry::Unsupported { .. })
        ));
        assert_eq!(
            admit(&mut p, "./", T::Directory, 0o755, None),
            Ok(Admitted::Skip)
        );
        assert_eq!(
            admit(&mut p, "x", T::XGlobalHeader, 0, None),
            Ok(Admitted::Skip)
        );
    }
}
