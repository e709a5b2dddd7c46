//! Fetching tarballs from the product's content area, and running whole OTA commands.

use std::path::PathBuf;
use std::time::Instant;

use gwe_device_client::{DeviceClient, DownloadProgress};
use gwe_package::{TarballName, SIGNATURE_SUFFIX};

use crate::command::{FetchStatus, InstallItem, ItemStatus, OtaCommand};
use crate::error::{Failure, FailureKind};
use crate::installer::{source, InstallRequest, Installer};
use crate::report::{InstallReport, InstallResult};

/// Progress callback of downloads: (content id, progress).
pub type FetchProgress = std::sync::Arc<dyn Fn(&str, DownloadProgress) + Send + Sync>;

/// A 64-hex-digit token in a content item's meta (`sha256=<hex>`, `sha256:<hex>` or bare).
pub fn sha256_from_meta(meta: &str) -> Option<String> {
    meta.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '=' | ':'))
        .find(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// Writes straight to a buffered `std::fs::File`: each chunk lands in the page cache in
/// microseconds, so hopping to a blocking thread per chunk (what `tokio::fs` does) would cost
/// more than the write.
struct SyncFile(std::io::BufWriter<std::fs::File>);

impl tokio::io::AsyncWrite for SyncFile {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(std::io::Write::write(&mut self.0, buf))
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(std::io::Write::flush(&mut self.0))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Downloads `id` into `part`, continuing an existing partial file with `Range`; when the
/// server will not resume, starts over. The file is flushed, not fsynced (see below).
async fn download_resumable(
    client: &DeviceClient,
    id: &str,
    part: &std::path::Path,
    mut progress: Option<gwe_device_client::ProgressFn<'_>>,
) -> Result<gwe_device_client::DownloadSummary, Failure> {
    let open = |append: bool| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(part)
            .map_err(|e| Failure::io("open download", part, e))
    };
    let mut first = true;
    loop {
        let file = open(first)?;
        let offset = file
            .metadata()
            .map_err(|e| Failure::io("inspect download", part, e))?
            .len();
        let mut w = SyncFile(std::io::BufWriter::with_capacity(256 * 1024, file));
        // `as_deref_mut` would keep the callback's full lifetime, so the loop could not
        // reborrow it; this closure shortens it.
        #[allow(clippy::option_as_ref_deref)]
        let cb = progress
            .as_mut()
            .map(|p| -> gwe_device_client::ProgressFn<'_> { &mut **p });
        let r = client.download_to(id, &mut w, offset, cb).await;
        let file =
            w.0.into_inner()
                .map_err(|e| Failure::io("write download", part, e.into_error()))?;
        match r {
            // No fsync here: a download torn by a power cut is caught by the gzip CRC (or the
            // digest/signature) and thrown away; the installed files are synced before the
            // switch to the new version instead (one flush, not two).
            Ok(summary) => {
                drop(file);
                return Ok(summary);
            }
            Err(e) if first && offset > 0 && e.status().is_none() => {
                // The server did not resume (no 206): start over from byte 0.
                tracing::info!(id, error = %e, "cannot resume the download; starting over");
                first = false;
            }
            Err(e) => {
                return Err(fetch_err(format!("`{id}`: download failed: {e}")));
            }
        }
    }
}

fn fetch_err(m: String) -> Failure {
    Failure::new(FailureKind::Fetch, m)
}

impl Installer {
    /// Downloads `item` into the cache (resuming a partial download) and its `.sig` when
    /// trusted keys are configured. Returns the tarball and the digest it must have; `Ok(None)`
    /// when the same version and digest are already installed (nothing downloaded).
    pub async fn fetch(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
        progress: Option<FetchProgress>,
    ) -> Result<Option<(PathBuf, Option<String>)>, Failure> {
        let name = TarballName::parse(&item.name)
            .map_err(|e| Failure::new(FailureKind::BadName, format!("`{}`: {e}", item.name)))?;
        let info = client.content_info(&item.name).await.map_err(|e| {
            fetch_err(format!(
                "`{}`: not available in the content area: {e}",
                item.name
            ))
        })?;
        let meta_sha = sha256_from_meta(&info.meta);
        let given = item.sha256.as_ref().map(|s| s.to_ascii_lowercase());
        if let (Some(g), Some(m)) = (&given, &meta_sha) {
            if g != m {
                return Err(Failure::new(
                    FailureKind::Digest,
                    format!(
                        "`{}`: the command says sha256 {g}, the content's meta says {m}",
                        item.name
                    ),
                ));
            }
        }
        let expected = given.or(meta_sha);
        if let Some(want) = &expected {
            let reg = self.registry().map_err(Failure::from)?;
            if let Some(rec) = reg.get(&name.name) {
                if rec.version.as_deref() == Some(name.version.as_str())
                    && rec.sha256.as_deref() == Some(want.as_str())
                    && self.cfg.current_link(&name.name).exists()
                {
                    return Ok(None);
                }
            }
        }
        let cache = self.cfg.cache_dir();
        std::fs::create_dir_all(&cache).map_err(|e| Failure::io("create directory", &cache, e))?;
        let dest = cache.join(&item.name);
        let part = cache.join(format!("{}.part", item.name));
        let mut cb = progress.map(|p| {
            let id = item.name.clone();
            move |d: DownloadProgress| p(&id, d)
        });
        let cb_ref: Option<gwe_device_client::ProgressFn<'_>> = cb
            .as_mut()
            .map(|f| f as &mut (dyn FnMut(DownloadProgress) + Send));
        let summary = download_resumable(client, &item.name, &part, cb_ref).await?;
        if summary.bytes != info.size {
            let _ = std::fs::remove_file(&part);
            return Err(fetch_err(format!(
                "`{}`: downloaded {} bytes, the content area says {}",
                item.name, summary.bytes, info.size
            )));
        }
        std::fs::rename(&part, &dest).map_err(|e| Failure::io("move download", &dest, e))?;
        let sig_id = format!("{}{SIGNATURE_SUFFIX}", item.name);
        let sig = cache.join(&sig_id);
        let _ = std::fs::remove_file(&sig);
        if self.cfg.trusted_keys_dir.is_some() {
            // A missing signature is judged by the verification step (it says "unsigned").
            match client.download_to_file(&sig_id, &sig, false, None).await {
                Ok(_) => {}
                Err(e) => {
                    let _ = std::fs::remove_file(&sig);
                    if e.status() != Some(404) {
                        return Err(fetch_err(format!(
                            "`{sig_id}`: signature download failed: {e}"
                        )));
                    }
                }
            }
        }
        Ok(Some((dest, expected)))
    }

    /// Fetches and installs one item (the engine's OTA path).
    pub async fn fetch_and_install(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
        progress: Option<FetchProgress>,
    ) -> InstallReport {
        let started = Instant::now();
        let mut report = InstallReport::new(&item.name, source::ENGINE_FETCH);
        if let Ok(n) = TarballName::parse(&item.name) {
            report.app = Some(n.name);
            report.version = Some(n.version);
        }
        match self.fetch(client, item, progress).await {
            Err(f) => {
                report.error = Some(f);
                report.duration_ms = started.elapsed().as_millis() as u64;
                report
            }
            Ok(None) => {
                report.result = InstallResult::AlreadyInstalled;
                report.sha256 = item.sha256.clone();
                report.duration_ms = started.elapsed().as_millis() as u64;
                report
            }
            Ok(Some((path, expected))) => {
                let me = self.clone();
                let req = InstallRequest {
                    source: source::ENGINE_FETCH.into(),
                    expected_sha256: expected,
                    owns_tarball: true,
                };
                let mut r = match tokio::task::spawn_blocking(move || me.install(&path, &req)).await
                {
                    Ok(r) => r,
                    Err(e) => {
                        report.error = Some(Failure::new(
                            FailureKind::Io,
                            format!("installer task: {e}"),
                        ));
                        report
                    }
                };
                r.duration_ms = started.elapsed().as_millis() as u64;
                r
            }
        }
    }

    /// Runs a whole OTA command (the raw `engine_fetch` value) and says what happened, item by
    /// item. `client` is the content source (`None`: installs fail with a clear reason).
    pub async fn run_command(&self, text: &str, client: Option<&DeviceClient>) -> FetchStatus {
        let cmd = match OtaCommand::parse(text) {
            Ok(c) => c,
            Err(f) => return FetchStatus::refused(f),
        };
        let mut items = Vec::new();
        for item in &cmd.install {
            let status = match client {
                Some(c) => ItemStatus::from_install(
                    &item.name,
                    self.fetch_and_install(c, item, None).await,
                ),
                None => ItemStatus::simple(
                    "install",
                    &item.name,
                    Err(fetch_err(
                        "no content source (Device API client) available".into(),
                    )),
                    0,
                ),
            };
            items.push(status);
        }
        let ops: [(&str, &Vec<String>); 4] = [
            ("uninstall", &cmd.uninstall),
            ("stop", &cmd.stop),
            ("start", &cmd.start),
            ("restart", &cmd.restart),
        ];
        for (action, apps) in ops {
            for app in apps {
                let started = Instant::now();
                let me = self.clone();
                let (a, n) = (action.to_string(), app.clone());
                let r = tokio::task::spawn_blocking(move || match a.as_str() {
                    "uninstall" => me.uninstall(&n),
                    "stop" => me.stop(&n),
                    "start" => me.start(&n),
                    _ => me.restart(&n),
                })
                .await
                .unwrap_or_else(|e| Err(Failure::new(FailureKind::Io, format!("task: {e}"))));
                items.push(ItemStatus::simple(
                    action,
                    app,
                    r,
                    started.elapsed().as_millis() as u64,
                ));
            }
        }
        FetchStatus {
            ok: items.iter().all(|i| i.error.is_none()),
            error: None,
            items,
            truncated: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_digest_forms() {
        let h = "AB".repeat(32);
        assert_eq!(
            sha256_from_meta(&format!("sha256={h}")),
            Some(h.to_lowercase())
        );
        assert_eq!(
            sha256_from_meta(&format!("v2, sha256:{h}")),
            Some(h.to_lowercase())
        );
        assert_eq!(sha256_from_meta(&h), Some(h.to_lowercase()));
        assert_eq!(sha256_from_meta("v2, signed"), None);
        assert_eq!(sha256_from_meta(&"g".repeat(64)), None);
    }
}
