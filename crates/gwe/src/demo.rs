//! `gwe demo [--once] [--step-timeout SECS]`: a whole gateway on this machine, without root.
//!
//! In a temp root it starts an embedded gwe-hub on loopback, `gwe supervisord` (this same
//! binary) running the engine as program `gwe`, builds a sample app tarball, uploads it to the
//! hub's content area, sends the OTA command through `engine_fetch`, and narrates each step
//! until the app is RUNNING and the reports have arrived. Then it keeps running (the hub's URL
//! and operator token printed) until Ctrl-C, or exits with `--once`. Every step has a timeout;
//! a failed step exits non-zero with the reason. Everything is removed at the end.

mod gateway;
mod operator;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

use gateway::Gateway;
use operator::Operator;

/// The demo device's serial number.
const SN: &str = "DEMO-GATEWAY-1";
/// The hub product the demo uses (its default product).
const PRODUCT: &str = "default";
/// The sample app.
const APP: &str = "demo_app";

/// Run a whole Gateway Engine setup locally: hub, supervisor, engine, an OTA install.
#[derive(Debug, Parser)]
#[command(name = "gwe demo")]
struct DemoArgs {
    /// Exit (0) when every step has passed instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// Seconds each step may take before the demo gives up.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    step_timeout: u64,
}

/// Entry point: `args[0]` is `demo`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args: DemoArgs = match crate::parse_or_exit::parse(args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gwe demo: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints numbered steps.
struct Narrator(u32);

impl Narrator {
    fn step(&mut self, text: impl std::fmt::Display) {
        self.0 += 1;
        println!("[{:>2}] {text}", self.0);
    }
}

/// Polls `check` every 50 ms until it yields a value, fails, or `timeout` passes.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {} s waiting for {what}", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.step_timeout.max(1));
    let root = tempfile::Builder::new()
        .prefix("gwe-demo-")
        .tempdir()
        .context("creating the demo's temp root")?;
    let mut say = Narrator(0);
    println!("gwe demo: everything lives in {}", root.path().display());

    // The hub, in-process, on its own runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding the hub to 127.0.0.1")?;
    let addr: SocketAddr = listener.local_addr().context("hub address")?;
    let mut config = gwe_hub::HubConfig::new(root.path().join("hub"));
    config.default_product = PRODUCT.into();
    let hub = rt
        .block_on(gwe_hub::Hub::open(config))
        .context("opening the hub")?;
    let token = hub.operator_token().to_string();
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub_task = rt.spawn(hub.run(listener, async {
        let _ = hub_stopped.await;
    }));
    let url = format!("http://{addr}");
    say.step(format_args!(
        "hub started at {url} (SQLite in {})",
        root.path().join("hub").display()
    ));
    let op = Operator::new(addr, &token, PRODUCT);
    op.add_device(SN)?;
    say.step(format_args!("device {SN} added to product '{PRODUCT}'"));

    let result = gateway_steps(&mut say, root.path(), &url, &op, timeout, args.once, &rt);

    let _ = stop_hub.send(());
    let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), hub_task).await });
    drop(rt);
    let path = root.path().to_path_buf();
    root.close()
        .with_context(|| format!("removing {}", path.display()))?;
    result?;
    println!("gwe demo: stopped; {} removed", path.display());
    Ok(())
}

/// The steps that need the supervisor; it is stopped when this returns (also on failure).
fn gateway_steps(
    say: &mut Narrator,
    root: &Path,
    url: &str,
    op: &Operator,
    timeout: Duration,
    once: bool,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let gw = Gateway::start(root, url, SN, PRODUCT, timeout)?;
    say.step(format_args!(
        "supervisor started: gwe supervisord (pid {}) at {}",
        gw.supervisor_pid(),
        gw.supervisor_url()
    ));
    wait_for("program gwe RUNNING", timeout, || {
        Ok(gw.program_state("gwe").filter(|(s, _)| s == "RUNNING"))
    })?;
    let cik = wait_for("the engine to activate", timeout, || {
        Ok(gw.cik().filter(|c| !c.is_empty()))
    })?;
    say.step(format_args!(
        "engine activated: program gwe RUNNING, CIK {}… stored in Gateway.cfg",
        cik.get(..8).unwrap_or(&cik)
    ));

    let built = gw.build_sample_app(APP, "1")?;
    let name = built.name.file_name();
    say.step(format_args!(
        "app built: {} (sha256 {})",
        built.tarball.display(),
        built.sha256
    ));
    let bytes = std::fs::read(&built.tarball)
        .with_context(|| format!("reading {}", built.tarball.display()))?;
    op.upload(&name, &bytes, "gwe demo sample app")?;
    say.step(format_args!(
        "uploaded {name} ({} bytes) to the hub's content area",
        bytes.len()
    ));

    let command = serde_json::json!({ "install": [{ "name": name }] }).to_string();
    op.write(SN, "engine_fetch", &command)?;
    say.step(format_args!(
        "OTA command written to engine_fetch: {command}"
    ));
    wait_for(
        "the engine to take the command (engine_fetch cleared)",
        timeout,
        || {
            Ok(op
                .latest(SN, "engine_fetch")?
                .filter(|v| v.is_empty())
                .map(drop))
        },
    )?;
    say.step("engine took the command (it cleared engine_fetch)");
    let status = wait_for("fetch_status", timeout, || {
        Ok(op.latest(SN, "fetch_status")?.filter(|v| !v.is_empty()))
    })?;
    let parsed: serde_json::Value = serde_json::from_str(&status)
        .with_context(|| format!("fetch_status is not JSON: {status}"))?;
    let result = parsed["items"][0]["result"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    if parsed["ok"] != true {
        bail!("the install failed; fetch_status: {status}");
    }
    say.step(format_args!("install result from fetch_status: {result}"));
    let (state, pid) = wait_for(&format!("program {APP} RUNNING"), timeout, || {
        Ok(gw.program_state(APP).filter(|(s, _)| s == "RUNNING"))
    })?;
    say.step(format_args!(
        "app {APP} is {state} (pid {pid}), says the supervisor"
    ));
    wait_for(
        "device_info, engine_report and usage_report on the hub",
        timeout,
        || {
            for alias in ["device_info", "usage_report"] {
                if op.latest(SN, alias)?.is_none_or(|v| v.is_empty()) {
                    return Ok(None);
                }
            }
            // The report written after the install lists the app.
            Ok(op
                .latest(SN, "engine_report")?
                .filter(|r| r.contains(APP))
                .map(drop))
        },
    )?;
    say.step(
        "reports arrived on the hub: device_info, engine_report (lists demo_app), usage_report",
    );
    println!("gwe demo: all steps passed");
    if once {
        return Ok(());
    }
    // Handlers first, so a signal right after the message below is never the default action.
    let (mut int, mut term) = {
        use tokio::signal::unix::{signal, SignalKind};
        let _guard = rt.enter();
        (
            signal(SignalKind::interrupt()).context("SIGINT handler")?,
            signal(SignalKind::terminate()).context("SIGTERM handler")?,
        )
    };
    println!(
        "\nThe gateway keeps running. Try:\n  GWE_HUB_TOKEN={} gwe-hub --url {url} read {SN} engine_report\n  \
         gwe ctl -s {} status\nhub URL: {url}\noperator token: {}\nPress Ctrl-C to stop.",
        op.token(),
        gw.supervisor_url(),
        op.token(),
    );
    rt.block_on(async {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    });
    println!("\ngwe demo: stopping");
    Ok(())
}
