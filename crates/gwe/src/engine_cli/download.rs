//! `gwe --download-latest AREA [--release-url URL]`: downloads the newest engine release package
//! of a release area from the content area of the gateway's product, with the device client.
//!
//! Naming (the original read `<release-area-url>/<AREA>/latest.lnk`): the content item
//! `<AREA>/latest.lnk` holds one line, the package's file name (e.g.
//! `GatewayEngine.v1.2.3.tar.gz`); the package itself is the content item `<AREA>/<FILE NAME>`.
//! A release is published by uploading the package, then replacing `latest.lnk`, so a gateway
//! never sees a link to a package that is not there yet. The file lands in the current
//! directory under its own name (via `<name>.part`, resumed when a previous try was cut off).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use gwe_device_client::{ClientConfig, DeviceClient, DownloadProgress};
use gwe_engine::config::ConfigDir;

use super::args::Args;

/// Largest accepted `latest.lnk` (one file name).
const MAX_LINK_BYTES: usize = 1024;

/// The content id of a release area's link file.
pub fn link_id(area: &str) -> String {
    format!("{area}/latest.lnk")
}

/// A release area name: letters, digits, `.`, `_`, `-`, not starting with `.`.
fn check_area(area: &str) -> anyhow::Result<()> {
    let ok = !area.is_empty()
        && area.len() <= 64
        && !area.starts_with('.')
        && area
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("release area {area:?}: use 1-64 letters, digits, '.', '_' or '-' (not starting with '.')");
    }
    Ok(())
}

/// The package file name a `latest.lnk` holds: one valid `<NAME>.v<VERSION>.tar.gz`.
pub fn parse_link(bytes: &[u8]) -> anyhow::Result<String> {
    if bytes.len() > MAX_LINK_BYTES {
        bail!(
            "latest.lnk is {} bytes; a link holds one file name",
            bytes.len()
        );
    }
    let text = std::str::from_utf8(bytes).context("latest.lnk is not UTF-8")?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let name = lines.next().context("latest.lnk is empty")?;
    if lines.next().is_some() {
        bail!("latest.lnk holds more than one line");
    }
    gwe_package::TarballName::parse(name)
        .with_context(|| format!("latest.lnk names {name:?}, not a release package"))?;
    Ok(name.to_string())
}

/// Entry point of the flag.
pub fn download_latest(args: &Args, area: &str) -> anyhow::Result<ExitCode> {
    check_area(area)?;
    let dir = ConfigDir::locate(args.config_dir.clone());
    let gw = dir.load_gateway()?;
    let ec = dir.load_engine()?;
    let base = match &args.release_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => ec.effective_server_url(&gw.model).context(
            "no server: set server_url in Engine.config, a product id, or --release-url",
        )?,
    };
    if gw.cik.is_empty() {
        bail!(
            "the gateway has no CIK yet (run the engine once to activate, or set it with --set-cik)"
        );
    }
    let mut config = ClientConfig::new(base.clone())
        .with_identity(gw.vendor.clone(), gw.model.clone(), gw.uuid.clone())
        .with_cik(gw.cik.clone())
        .with_audit(gwe_device_client::audit::AuditConfig::at(
            ec.audit_db.clone(),
        ))
        .with_agent("gwe");
    config.user_agent = ec.effective_user_agent();
    config.tls_roots = ec.tls_roots.clone();
    let client = DeviceClient::new(config).context("device client")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let cwd = std::env::current_dir().context("current directory")?;
    let path = rt.block_on(fetch(&client, area, &cwd, !args.json))?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The download progress bar of the command line (on stderr, only when it is a terminal and
/// `show`): `<msg> bytes/total bar rate eta`.
pub fn progress_bar(show: bool, msg: &str) -> indicatif::ProgressBar {
    let bar = if show && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(msg.to_string());
    bar
}

/// Moves `bar` to where the download `p` is.
pub fn show_progress(bar: &indicatif::ProgressBar, p: DownloadProgress) {
    if let Some(t) = p.total {
        bar.set_length(t);
    }
    bar.set_position(p.downloaded);
}

/// Reads the area's link and downloads the package it names into `dest_dir`.
pub async fn fetch(
    client: &DeviceClient,
    area: &str,
    dest_dir: &Path,
    progress: bool,
) -> anyhow::Result<PathBuf> {
    let link_id = link_id(area);
    let mut link = Vec::new();
    client
        .download_to(&link_id, &mut link, 0, None)
        .await
        .with_context(|| format!("reading {link_id} from {}", client.server()))?;
    let name = parse_link(&link)?;
    let id = format!("{area}/{name}");
    let dest = dest_dir.join(&name);
    let part = dest_dir.join(format!("{name}.part"));
    let bar = progress_bar(progress, &name);
    let mut on_progress = |p: DownloadProgress| show_progress(&bar, p);
    let resume = part.exists();
    let summary = client
        .download_to_file(&id, &part, resume, Some(&mut on_progress))
        .await
        .with_context(|| format!("downloading {id} from {}", client.server()))?;
    bar.finish_and_clear();
    if let Some(total) = summary.total {
        if total != summary.bytes {
            bail!("{id}: got {} of {total} bytes", summary.bytes);
        }
    }
    std::fs::rename(&part, &dest)
        .with_context(|| format!("renaming {} to {}", part.display(), dest.display()))?;
    if progress {
        eprintln!("{name}: {} bytes from {}", summary.bytes, client.server());
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            parse_link(b"GatewayEngine.v1.2.3.tar.gz\n").unwrap(),
            "GatewayEngine.v1.2.3.tar.gz"
        );
        assert_eq!(
            parse_link(b"\n  GatewayEngine.v2.tar.gz  \r\n").unwrap(),
            "GatewayEngine.v2.tar.gz"
        );
        for bad in [
            &b""[..],
            b"\n\n",
            b"../../etc/passwd",
            b"a/GatewayEngine.v1.tar.gz",
            b"GatewayEngine.tar.gz",
            b"a.v1.tar.gz\nb.v2.tar.gz",
            b"\xff\xfe",
        ] {
            assert!(parse_link(bad).is_err(), "{bad:?}");
        }
        assert!(parse_link(&vec![b'a'; 5000]).is_err());
    }

    #[test]
    fn areas() {
        for good in ["stable", "dev", "baseline-master", "gmq.dev_2"] {
            assert!(check_area(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", ".hidden", &"x".repeat(65)] {
            assert!(check_area(bad).is_err(), "{bad}");
        }
    }
}
