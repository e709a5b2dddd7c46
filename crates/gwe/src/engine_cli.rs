//! `gwe [FLAGS]`: the engine's own command line. Printing flags print, configuring flags change
//! Gateway.cfg / Engine.config and print the result, and without either the engine runs
//! (`--once`: one cycle). The work is done by the `gwe-engine` library.

mod args;
mod build_tools;
mod download;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use gwe_engine::config::ConfigDir;
use gwe_engine::identity::NetSys;

use args::Args;

/// Entry point; `args[0]` is the program name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args: Args = match crate::parse_or_exit::parse(args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gwe: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let Some(tarballs) = &args.install_apps {
        return install_apps(args, tarballs);
    }
    if let Some(result) = build_tools::run(args) {
        return result;
    }
    if let Some(area) = &args.download_latest {
        return download::download_latest(args, area);
    }
    let dir = ConfigDir::locate(args.config_dir.clone());
    let net = NetSys::from_env();
    let request = args.configure_request();
    let mut out = std::io::stdout().lock();
    if args.version {
        writeln!(out, "{}", gwe_engine::VERSION)?;
    }
    if args.path {
        let exe = std::env::current_exe()?;
        let dir = exe.parent().unwrap_or(&exe);
        writeln!(out, "{}", dir.display())?;
    }
    if let Some(iface) = &args.mac_address {
        match net.mac_address(iface) {
            Ok(mac) => writeln!(out, "{mac}")?,
            Err(problem) => anyhow::bail!("interface '{iface}': {problem}"),
        }
    }
    if !request.is_empty() {
        let outcome = gwe_engine::configure::apply(&dir, &net, &request)?;
        for warning in &outcome.warnings {
            eprintln!("{warning}");
        }
        for note in &outcome.notes {
            writeln!(out, "{note}")?;
        }
        if let Some(g) = &outcome.gateway {
            write!(out, "{}", g.display())?;
        }
        if let Some(e) = &outcome.engine {
            write!(out, "{}", e.display())?;
        }
    }
    if args.engine_conf {
        write!(out, "{}", dir.load_engine()?.display())?;
    }
    if args.gateway_cfg {
        write!(out, "{}", dir.load_gateway()?.display())?;
    }
    if args.gateway_cik {
        let cik = dir.load_gateway()?.cik;
        writeln!(out, "{}", if cik.is_empty() { "''" } else { cik.as_str() })?;
    }
    out.flush()?;
    drop(out);
    if (args.prints() || !request.is_empty()) && !args.once {
        return Ok(ExitCode::SUCCESS);
    }
    run_engine(&dir, args.once)
}

/// The engine as `gwe` alone starts it ([`gwe_engine::daemon::run`]), but in this process: the
/// hand-over to `gwe-engine` is for the flag-less long-running mode only, and a run after
/// configuring or printing flags stays in `gwe`.
fn run_engine(dir: &ConfigDir, once: bool) -> anyhow::Result<ExitCode> {
    gwe_engine::daemon::run(gwe_engine::daemon::DaemonArgs {
        config_dir: Some(dir.path().to_path_buf()),
        once,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One argument of `-I`: a tarball on disk, or (when no such file exists and it is a bare
/// `<NAME>.v<VERSION>.tar.gz`) an item of the product's content area.
#[derive(Debug, Clone, PartialEq, Eq)]
enum InstallArg {
    File(PathBuf),
    Remote(String),
}

fn install_arg(arg: &Path) -> InstallArg {
    let bare = arg.components().count() == 1 && !arg.as_os_str().is_empty();
    match arg.to_str() {
        Some(name) if bare && !arg.exists() && gwe_package::TarballName::parse(name).is_ok() => {
            InstallArg::Remote(name.to_string())
        }
        _ => InstallArg::File(arg.to_path_buf()),
    }
}

/// `-I/--install-apps TARBALL...`: the OTA install pipeline from the command line (exit 1 when
/// any install failed or was rolled back). A content item is downloaded with the gateway's
/// identity (Gateway.cfg) and installed from the stream, with a progress bar on a terminal;
/// `--json` prints one JSON array of the install reports instead of the text.
fn install_apps(args: &Args, tarballs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let dir = ConfigDir::locate(args.config_dir.clone());
    let installer = gwe_engine::cycle::ota::installer(&dir).map_err(anyhow::Error::msg)?;
    let items: Vec<InstallArg> = tarballs.iter().map(|t| install_arg(t)).collect();
    let remote = items.iter().any(|i| matches!(i, InstallArg::Remote(_)));
    let (rt, client) = if remote {
        let settings = gwe_device_client::gwe_config::GatewaySettings::load(dir.path());
        let mut config = settings.client_config().context(
            "cannot download from the content area: no server in Gateway.cfg/Engine.config",
        )?;
        config = config.with_agent("gwe");
        if let Some(ua) = settings.user_agent.clone() {
            config.user_agent = ua;
        }
        let client = gwe_device_client::DeviceClient::new(config).context("device client")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        (Some(rt), Some(client))
    } else {
        (None, None)
    };
    let mut out = std::io::stdout().lock();
    let mut reports = Vec::new();
    for item in &items {
        let report = match (item, &rt, &client) {
            (InstallArg::Remote(name), Some(rt), Some(client)) => {
                let bar = download::progress_bar(!args.json, name);
                let shown = bar.clone();
                let progress: gwe_ota::FetchProgress =
                    std::sync::Arc::new(move |_, p| download::show_progress(&shown, p));
                let item = gwe_ota::InstallItem {
                    name: name.clone(),
                    sha256: None,
                };
                let r = rt.block_on(installer.fetch_and_install_as(
                    client,
                    &item,
                    Some(progress),
                    gwe_ota::source::CLI,
                ));
                bar.finish_and_clear();
                r
            }
            _ => {
                let path = match item {
                    InstallArg::File(p) => p.clone(),
                    InstallArg::Remote(n) => PathBuf::from(n),
                };
                installer.install_file(&path, gwe_ota::source::CLI)
            }
        };
        if !args.json {
            gwe_ota::cli::print_report(&report, &mut out)?;
        }
        reports.push(report);
    }
    if args.json {
        gwe_ota::cli::print_json(&reports, &mut out)?;
    }
    Ok(if reports.iter().all(gwe_ota::InstallReport::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_args_local_or_remote() {
        let d = tempfile::tempdir().unwrap();
        let local = d.path().join("a.v1.tar.gz");
        std::fs::write(&local, b"x").unwrap();
        assert_eq!(install_arg(&local), InstallArg::File(local.clone()));
        assert_eq!(
            install_arg(Path::new("app.v2.tar.gz")),
            InstallArg::Remote("app.v2.tar.gz".into())
        );
        for file in [
            "dir/app.v2.tar.gz",
            "./app.v2.tar.gz",
            "notes.txt",
            "app.tar.gz",
        ] {
            assert_eq!(
                install_arg(Path::new(file)),
                InstallArg::File(PathBuf::from(file)),
                "{file}"
            );
        }
    }
}
