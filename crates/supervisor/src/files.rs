//! Files the daemon puts in place whole: the pidfile, the record of started
//! children, the control socket. Each is made under a name beside its own and
//! renamed over it, so a reader never finds it half-made.

use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its file name (`s.pid` -> `s.pid.tmp`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `contents` to `path` through `<path>.tmp` and a rename; the
/// temporary file is removed if that fails.
pub(crate) fn write_replacing(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = sibling(path, ".tmp");
    let written = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
