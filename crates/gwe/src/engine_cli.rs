//! `gwe [FLAGS]`: the engine's own command line. Printing flags print, configuring flags change
//! Gateway.cfg / Engine.config and print the result, and without either the engine runs
//! (`--once`: one cycle). The work is done by the `gwe-engine` library.

mod args;
mod build_tools;
mod download;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gwe_engine::config::{ConfigDir, EngineConfig};
use gwe_engine::identity::NetSys;

use args::Args;

/// Entry point; `args[0]` is the program name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
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

fn run_engine(dir: &ConfigDir, once: bool) -> anyhow::Result<ExitCode> {
    // A broken Engine.config is reported by the engine itself; log at INFO meanwhile.
    let level = dir
        .load_engine()
        .unwrap_or_else(|_| EngineConfig::default())
        .log_level;
    // Our level for everything, but the HTTP stack's per-connection chatter only when it warns.
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{},hyper=warn,hyper_util=warn,rustls=warn,h2=warn",
        level.tracing_level()
    ));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    let options = gwe_engine::runner::RunOptions {
        config_dir: dir.clone(),
        once,
        commands: Some(std::sync::Arc::new(
            gwe_engine::cycle::ota::OtaHandler::new(dir.clone()),
        )),
    };
    gwe_engine::cycle::ota::recover(dir);
    gwe_engine::runner::run_blocking(options)?;
    Ok(ExitCode::SUCCESS)
}

/// `-I/--install-apps TARBALL...`: the OTA install pipeline from the command line (exit 1 when
/// any install failed or was rolled back).
fn install_apps(args: &Args, tarballs: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let dir = ConfigDir::locate(args.config_dir.clone());
    let installer = gwe_engine::cycle::ota::installer(&dir).map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();
    let ok = gwe_ota::cli::install_apps_command(
        &installer,
        tarballs,
        gwe_ota::source::CLI,
        false,
        &mut out,
    )?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
