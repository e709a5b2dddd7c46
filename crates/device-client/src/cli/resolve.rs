//! Turning flags + the engine's configuration into a client.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use super::Cli;
use crate::audit::{AuditConfig, AUDIT_DB_ENV, DEFAULT_AUDIT_DB};
use crate::gwe_config::{config_dir, GatewaySettings};
use crate::{ClientConfig, DeviceClient, TlsRoots};

/// The engine's settings (for defaults).
pub fn settings(cli: &Cli) -> GatewaySettings {
    GatewaySettings::load(&cli.config_dir.clone().unwrap_or_else(config_dir))
}

/// Audit database: --no-audit, --audit-db, $GWE_AUDIT_DB, Engine.config, default.
pub fn audit_path(cli: &Cli, settings: &GatewaySettings) -> Option<PathBuf> {
    if cli.no_audit {
        return None;
    }
    if let Some(p) = &cli.audit_db {
        return Some(p.clone());
    }
    match std::env::var_os(AUDIT_DB_ENV) {
        Some(p) if !p.is_empty() => return Some(PathBuf::from(p)),
        _ => {}
    }
    Some(
        settings
            .audit_db
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_DB)),
    )
}

/// Agent: --agent, $GDC_AGENT, $SUPERVISOR_PROCESS_NAME (set by supervisord for the
/// app that runs gdc), else `gdc`.
pub fn agent(cli: &Cli) -> String {
    cli.agent
        .clone()
        .or_else(|| std::env::var("GDC_AGENT").ok())
        .or_else(|| std::env::var("SUPERVISOR_PROCESS_NAME").ok())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "gdc".into())
}

/// Builds the client; `positional_cik` comes from `gdc write <CIK> ...`.
pub fn client(cli: &Cli, positional_cik: Option<String>) -> anyhow::Result<DeviceClient> {
    let s = settings(cli);
    let Some(url) = cli.url.clone().or_else(|| s.server()) else {
        bail!(
            "no server: pass --url, or configure the engine (Engine.config [engine] server_url, \
             or Gateway.cfg [device] model) in {}",
            cli.config_dir.clone().unwrap_or_else(config_dir).display()
        );
    };
    if !(cli.timeout.is_finite() && cli.timeout > 0.0 && cli.timeout < 1e6) {
        bail!("--timeout must be a positive number of seconds");
    }
    let mut config = ClientConfig::new(url);
    config.cik = positional_cik
        .or_else(|| cli.cik.clone())
        .or_else(|| s.cik.clone());
    config.vendor = cli.vendor.clone().or_else(|| s.vendor.clone());
    config.model = cli.model.clone().or_else(|| s.model.clone());
    config.sn = cli.sn.clone().or_else(|| s.uuid.clone());
    // Engine.config's user_agent is the engine's own; apps' requests through gdc keep
    // gdc's User-Agent so the cloud can tell them apart.
    config.agent = agent(cli);
    config.request_timeout = Duration::from_secs_f64(cli.timeout);
    config.tls_roots = cli
        .tls_roots
        .as_deref()
        .map(TlsRoots::parse)
        .or_else(|| s.tls_roots.clone())
        .unwrap_or_default();
    config.audit = match audit_path(cli, &s) {
        Some(p) => AuditConfig::at(p),
        None => AuditConfig::disabled(),
    };
    DeviceClient::new(config).context("setting up the client")
}
