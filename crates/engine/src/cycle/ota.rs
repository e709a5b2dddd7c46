//! The over-the-air `engine_fetch` handler: gwe-ota's installer behind the [`CommandHandler`]
//! seam. Each command reads the current Engine.config (paths, trusted keys, health window:
//! see `gwe_ota::ENGINE_CONFIG_KEYS`) and Gateway.cfg (server, CIK) so configuration changes
//! apply without a restart. The registry it writes is `<state dir>/versions.json`, which
//! `engine_report` reads.

use gwe_device_client::gwe_config::GatewaySettings;
use gwe_device_client::DeviceClient;
use gwe_ota::{Failure, FailureKind, FetchStatus, Installer, OtaConfig};

use super::command::{CommandFuture, CommandHandler, CommandOutcome};
use crate::config::ConfigDir;

/// The installer as Engine.config in `config_dir` configures it.
pub fn installer(config_dir: &ConfigDir) -> Result<Installer, String> {
    let ec = config_dir.load_engine().map_err(|e| e.to_string())?;
    OtaConfig::from_engine(
        &ec.effective_state_dir(),
        config_dir.path(),
        &ec.supervisor_url,
        &ec.extra,
    )
    .map(Installer::new)
}

/// Finishes or rolls back an install interrupted by a crash or power cut (call at start,
/// before the runtime; it may wait through a health window).
pub fn recover(config_dir: &ConfigDir) {
    match installer(config_dir) {
        Ok(i) => {
            if let Some(r) = i.recover() {
                tracing::warn!(summary = %r.summary(), "interrupted install recovered");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot check for an interrupted install"),
    }
}

/// Handles `engine_fetch` with the OTA installer.
#[derive(Debug, Clone)]
pub struct OtaHandler {
    config_dir: ConfigDir,
}

impl OtaHandler {
    /// A handler reading its configuration from `config_dir`.
    pub fn new(config_dir: ConfigDir) -> Self {
        Self { config_dir }
    }
}

impl CommandHandler for OtaHandler {
    fn handle<'a>(&'a self, command: &'a str) -> CommandFuture<'a> {
        Box::pin(async move {
            let status = match installer(&self.config_dir) {
                Ok(inst) => {
                    let settings = GatewaySettings::load(self.config_dir.path());
                    let client = settings.client_config().and_then(|mut c| {
                        c = c.with_agent(super::AGENT);
                        c.user_agent = settings
                            .user_agent
                            .clone()
                            .unwrap_or_else(crate::config::EngineConfig::default_user_agent);
                        DeviceClient::new(c).ok()
                    });
                    inst.run_command(command, client.as_ref()).await
                }
                Err(e) => FetchStatus::refused(Failure::new(
                    FailureKind::Io,
                    format!("the installer is not configured: {e}"),
                )),
            };
            CommandOutcome {
                fetch_status: status.to_json(),
                acted: status.items.iter().any(|i| i.error.is_none()),
            }
        })
    }
}
