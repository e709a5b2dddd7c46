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

fn progress_cb(
    id: &str,
    progress: Option<FetchProgress>,
) -> Option<impl FnMut(DownloadProgress) + Send> {
    progress.map(|p| {
        let id = id.to_string();
        move |d: DownloadProgress| p(&id, d)
    })
}

fn fetch_err(m: String) -> Failure {
    Failure::new(FailureKind::Fetch, m)
}

/// What [`Installer::plan`] decided for one item.
struct Plan {
    name: TarballName,
    /// Size announced by the content area.
    size: u64,
    /// The digest the tarball must have.
    expected: Option<String>,
    /// `<cache>/<file>`: the complete download (its signature is beside it, `.sig`).
    dest: PathBuf,
    /// `<cache>/<file>.part`: the download in progress.
    part: PathBuf,
}

impl Installer {
    /// Name, content info, digest, "already installed", and the signature (small, fetched
    /// first so the tarball's stream can be verified as soon as it ends). `Ok(None)`: the same
    /// version and digest are installed.
    async fn plan(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
    ) -> Result<Option<Plan>, Failure> {
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
        Ok(Some(Plan {
            name,
            size: info.size,
            expected,
            dest,
            part,
        }))
    }

    /// Downloads `item` into the cache (resuming a partial download) and its `.sig` when
    /// trusted keys are configured. Returns the tarball and the digest it must have; `Ok(None)`
    /// when the same version and digest are already installed (nothing downloaded).
    pub async fn fetch(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
        progress: Option<FetchProgress>,
    ) -> Result<Option<(PathBuf, Option<String>)>, Failure> {
        let Some(plan) = self.plan(client, item).await? else {
            return Ok(None);
        };
        self.fetch_planned(client, &item.name, &plan, progress)
            .await
            .map(|()| Some((plan.dest, plan.expected)))
    }

    async fn fetch_planned(
        &self,
        client: &DeviceClient,
        id: &str,
        plan: &Plan,
        progress: Option<FetchProgress>,
    ) -> Result<(), Failure> {
        let mut cb = progress_cb(id, progress);
        let cb_ref: Option<gwe_device_client::ProgressFn<'_>> = cb
            .as_mut()
            .map(|f| f as &mut (dyn FnMut(DownloadProgress) + Send));
        let summary = download_resumable(client, id, &plan.part, cb_ref).await?;
        if summary.bytes != plan.size {
            let _ = std::fs::remove_file(&plan.part);
            return Err(fetch_err(format!(
                "`{id}`: downloaded {} bytes, the content area says {}",
                summary.bytes, plan.size
            )));
        }
        std::fs::rename(&plan.part, &plan.dest)
            .map_err(|e| Failure::io("move download", &plan.dest, e))
    }

    /// Fetches and installs one item (the engine's OTA path, and `gwe -I` of a content item).
    ///
    /// The download is extracted while it arrives (see [`crate::pipe`]): one pass over the
    /// bytes, no read back of the cache file. The digest and signature are still checked before
    /// the new version is moved into place, `install.sh` runs or anything is switched. Only when
    /// the same version is installed and no digest is known beforehand (the tarball's digest
    /// decides whether there is anything to do) is it downloaded first.
    pub async fn fetch_and_install(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
        progress: Option<FetchProgress>,
    ) -> InstallReport {
        self.fetch_and_install_as(client, item, progress, source::ENGINE_FETCH)
            .await
    }

    /// [`Installer::fetch_and_install`], recording `source` (see [`source`]) in the registry.
    pub async fn fetch_and_install_as(
        &self,
        client: &DeviceClient,
        item: &InstallItem,
        progress: Option<FetchProgress>,
        source: &str,
    ) -> InstallReport {
        let started = Instant::now();
        let mut report = InstallReport::new(&item.name, source);
        if let Ok(n) = TarballName::parse(&item.name) {
            report.app = Some(n.name);
            report.version = Some(n.version);
        }
        let plan = match self.plan(client, item).await {
            Err(f) => {
                report.error = Some(f);
                report.duration_ms = started.elapsed().as_millis() as u64;
                return report;
            }
            Ok(None) => {
                report.result = InstallResult::AlreadyInstalled;
                report.sha256 = item.sha256.clone();
                report.duration_ms = started.elapsed().as_millis() as u64;
                return report;
            }
            Ok(Some(p)) => p,
        };
        let req = InstallRequest {
            source: source.into(),
            expected_sha256: plan.expected.clone(),
            owns_tarball: true,
        };
        let same_version = self
            .registry()
            .ok()
            .and_then(|r| r.get(&plan.name.name).and_then(|a| a.version.clone()))
            .is_some_and(|v| v == plan.name.version);
        let mut r = if same_version && plan.expected.is_none() {
            match self
                .fetch_planned(client, &item.name, &plan, progress)
                .await
            {
                Ok(()) => {
                    let (me, path) = (self.clone(), plan.dest.clone());
                    self.blocking(move || me.install(&path, &req), report).await
                }
                Err(f) => {
                    report.error = Some(f);
                    report
                }
            }
        } else {
            self.stream_install(client, &item.name, &plan, &req, progress, report)
                .await
        };
        r.duration_ms = started.elapsed().as_millis() as u64;
        r
    }

    async fn blocking(
        &self,
        f: impl FnOnce() -> InstallReport + Send + 'static,
        mut report: InstallReport,
    ) -> InstallReport {
        match tokio::task::spawn_blocking(f).await {
            Ok(r) => r,
            Err(e) => {
                report.error = Some(Failure::new(
                    FailureKind::Io,
                    format!("installer task: {e}"),
                ));
                report
            }
        }
    }

    /// Downloads into the cache file and installs from the same stream. A partial cache file
    /// from an earlier try is resumed (`Range`): its bytes are extracted first, then the rest
    /// as it arrives. When the server will not resume, starts over once from byte 0.
    async fn stream_install(
        &self,
        client: &DeviceClient,
        id: &str,
        plan: &Plan,
        req: &InstallRequest,
        progress: Option<FetchProgress>,
        report: InstallReport,
    ) -> InstallReport {
        let mut first = true;
        loop {
            // on a blocking thread: a resumed prefix is read and hashed first
            let part = plan.part.clone();
            let opened = tokio::task::spawn_blocking(move || {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(first)
                    .write(true)
                    .truncate(!first)
                    .open(&part)?;
                let offset = f.metadata()?.len();
                let (tee, rd) = crate::pipe::pipe(f, part, offset)?;
                Ok::<_, std::io::Error>((offset, tee, rd))
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(format!("installer task: {e}"))));
            let (offset, mut tee, rd) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let mut report = report;
                    report.error = Some(Failure::io("open download", &plan.part, e));
                    return report;
                }
            };
            let (me, dest, req2) = (self.clone(), plan.dest.clone(), req.clone());
            let install =
                tokio::task::spawn_blocking(move || me.install_streamed(&dest, &req2, rd));
            let mut cb = progress_cb(id, progress.clone());
            let cb_ref: Option<gwe_device_client::ProgressFn<'_>> = cb
                .as_mut()
                .map(|f| f as &mut (dyn FnMut(DownloadProgress) + Send));
            let got = client.download_to(id, &mut tee, offset, cb_ref).await;
            let mut restart = false;
            match got {
                Ok(s) if s.bytes == plan.size => {
                    if let Err(e) = tee.finish().await {
                        tracing::debug!(id, error = %e, "the installer stopped reading");
                    }
                }
                Ok(s) => {
                    // Wrong size: not resumable; the installer reports it.
                    let _ = std::fs::remove_file(&plan.part);
                    tee.fail(format!(
                        "downloaded {} bytes, the content area says {}",
                        s.bytes, plan.size
                    ));
                }
                Err(e) => {
                    restart = first && offset > 0 && e.status().is_none();
                    tee.fail(e.to_string());
                }
            }
            let r = match install.await {
                Ok(r) => r,
                Err(e) => {
                    let mut report = report;
                    report.error = Some(Failure::new(
                        FailureKind::Io,
                        format!("installer task: {e}"),
                    ));
                    return report;
                }
            };
            let fetch_failed = r
                .error
                .as_ref()
                .is_some_and(|f| f.kind == FailureKind::Fetch);
            if restart && fetch_failed {
                // The server did not resume (no 206): start over from byte 0.
                tracing::info!(id, "cannot resume the download; starting over");
                first = false;
                continue;
            }
            if !fetch_failed {
                // Installed, or refused for what the tarball holds: nothing to resume.
                let _ = std::fs::remove_file(&plan.part);
            }
            return r;
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
