//! Content blobs: files in the data directory, written to a temporary file, synced and
//! renamed into place, so a blob is either wholly stored or absent.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::error::{HubError, HubResult};

/// The blob directory (`<data-dir>/content`), with `tmp/` for uploads in progress.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::Blob {
        path: path.to_path_buf(),
        source,
    }
}

impl Blobs {
    /// Uses (creating) `dir` and clears leftovers of interrupted uploads.
    pub fn open(dir: PathBuf) -> HubResult<Blobs> {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Blobs { dir })
    }

    /// Path of a stored blob.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Streams `body` into a new blob of at most `max` bytes; returns its file name and size.
    /// Nothing is left behind on failure.
    pub async fn store<S, E>(&self, mut body: S, max: u64) -> HubResult<(String, u64)>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let name = format!("{}.blob", gwe_device_api::token::generate());
        let tmp = self.dir.join("tmp").join(&name);
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(io_err(&tmp))?;
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk =
                    chunk.map_err(|e| HubError::BadRequest(format!("reading upload: {e}")))?;
                size += chunk.len() as u64;
                if size > max {
                    return Err(HubError::PayloadTooLarge(max));
                }
                file.write_all(&chunk).await.map_err(io_err(&tmp))?;
            }
            file.sync_all().await.map_err(io_err(&tmp))?;
            Ok(size)
        }
        .await;
        match result {
            Ok(size) => {
                let dest = self.path(&name);
                tokio::fs::rename(&tmp, &dest)
                    .await
                    .map_err(io_err(&dest))?;
                Ok((name, size))
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Removes a blob; a missing file is not an error (it is what we wanted).
    pub async fn remove(&self, file: &str) {
        let path = self.path(file);
        if let Err(e) = tokio::fs::remove_file(&path).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove blob");
            }
        }
    }

    /// Removes blob files no content refers to (left by a crash between rename and commit).
    pub fn remove_orphans(&self, referenced: &[String]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".blob") && !referenced.iter().any(|r| r == name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
