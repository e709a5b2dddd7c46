//! The engine's check-in cycle, on tokio.
//!
//! 1. **Activate** when Gateway.cfg has no CIK (`POST /provision/activate` with vendor, model
//!    and serial). 404/409/network failures are logged with the reason and retried every
//!    activation retry interval. A 401 on any later call clears the CIK and activates again.
//! 2. **Check in** every update interval with ONE hybrid write/read: it writes the reports
//!    whose content changed since last delivered (each at least once a day; volatile fields
//!    such as uptimes do not count as change; for `usage_report`, the engine's own successful
//!    requests do not count, see docs/reports.md) plus any `fetch_status` still owed, and
//!    reads `engine_fetch` and `update_interval`.
//! 3. **update_interval**: a whole number of seconds in 1..=30 days is applied, persisted in
//!    Engine.config, and the alias cleared (`""`). Anything else is cleared too and the reason
//!    written to `fetch_status` (and the log).
//! 4. **engine_fetch**: cleared on the hub first (so a command is never taken twice), recorded
//!    in the state file, handed to the [`CommandHandler`], and its answer written to
//!    `fetch_status` (kept and re-sent with the next check-in when the link is down).
//! 5. **Between check-ins** a long poll on `engine_fetch` (Request-Timeout up to 300 s,
//!    `Last-Modified` passed back) sees an operator's command within a second.
//! 6. **Outages**: failed check-ins are retried with exponential back-off (1 s doubling up to
//!    5 minutes, never beyond the update interval); the engine never exits because the link is
//!    down. The usage window starts at the last delivered report, so requests made while
//!    offline are reported when the link returns, and `engine_report.link` says how long the
//!    outage was.
//!
//! The first long poll after a check-in asks for points after the second before the hub's
//! `Date` of the check-in answer, so a command written between the check-in's read and the
//! start of the poll is not missed; the point the check-in already took is recognised (same
//! value, not newer than that `Date`) and skipped. Later polls wait for points written after
//! they start (timestamps have one-second resolution, so chaining them could skip a point),
//! and after a command was handled `engine_fetch` is read once more, so a command written while
//! the previous one was being handled is not left for the next check-in.

pub mod command;
pub mod ota;
pub mod state;
pub mod supervisor;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gwe_device_client::audit::AuditConfig;
use gwe_device_client::wire::{Form, RequestTimeout};
use gwe_device_client::{
    Call, ClientConfig, DeviceClient, Error as ApiError, PollOutcome, RetryPolicy,
};
use tokio::sync::watch;

use crate::config::{
    parse_interval, ConfigDir, ConfigError, EngineConfig, GatewayCfg, MAX_UPDATE_INTERVAL,
};
use crate::identity::{serial_of, IdentityError, NetSys};
use crate::reports::{device_info, digest, engine_report, usage_report};
use command::{CommandHandler, NotYetSupported};
use state::{CommandRecord, Delivered, EngineState};
use supervisor::{SupervisorSource, XmlRpcSupervisor};

/// The aliases written by the engine.
pub const DEVICE_INFO: &str = "device_info";
/// See [`DEVICE_INFO`].
pub const ENGINE_REPORT: &str = "engine_report";
/// See [`DEVICE_INFO`].
pub const USAGE_REPORT: &str = "usage_report";
/// Answers to commands and configuration problems.
pub const FETCH_STATUS: &str = "fetch_status";
/// Commands from the cloud.
pub const ENGINE_FETCH: &str = "engine_fetch";
/// New check-in period from the cloud.
pub const UPDATE_INTERVAL: &str = "update_interval";
/// An unchanged report is still re-sent after this long.
pub const RESEND_AFTER_S: u64 = 24 * 3600;
/// Longest wait between retries of a failed check-in.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest long poll (the Device API's limit).
pub const MAX_POLL: Duration = Duration::from_secs(300);
/// Commands taken back to back after a handled one before waiting again.
const MAX_FOLLOW_UPS: usize = 8;
/// The audit agent name of the engine's own requests.
pub const AGENT: &str = "gwe";

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// There is no usable serial number.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Neither a server URL nor a product id is configured.
    #[error(
        "{path}: no Device API server: set a product id (`gwe --set-product-id ID`) or \
         [engine] server_url in Engine.config"
    )]
    NoServer {
        /// The Engine.config.
        path: std::path::PathBuf,
    },
    /// The device client cannot be built (bad URL, TLS roots...).
    #[error("cannot set up the Device API client: {0}")]
    Client(String),
    /// `--once`: the single attempt failed.
    #[error("check-in failed: {0}")]
    CheckIn(String),
}

/// Tells a running engine to stop.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Asks the engine to stop (it finishes the request in flight, then returns).
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// The engine's side of [`ShutdownHandle`].
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown was asked for (or the handle is gone).
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    /// Whether shutdown was asked for.
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// A connected pair of [`ShutdownHandle`] and [`Shutdown`].
pub fn shutdown_pair() -> (ShutdownHandle, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownHandle(Arc::new(tx)), Shutdown(rx))
}

/// What the engine is built from.
pub struct EngineOptions {
    /// Gateway.cfg and Engine.config.
    pub config_dir: ConfigDir,
    /// Network interfaces (for the serial number).
    pub net: NetSys,
    /// The supervisor; `None` = the one at Engine.config's `supervisor_url`.
    pub supervisor: Option<Arc<dyn SupervisorSource>>,
    /// The `engine_fetch` handler; `None` = [`NotYetSupported`].
    pub commands: Option<Arc<dyn CommandHandler>>,
    /// Run one check-in and return.
    pub once: bool,
}

impl EngineOptions {
    /// Defaults for a configuration directory.
    pub fn new(config_dir: ConfigDir) -> Self {
        Self {
            config_dir,
            net: NetSys::from_env(),
            supervisor: None,
            commands: None,
            once: false,
        }
    }
}

/// Why one check-in failed.
enum CheckInError {
    /// 401: activate again.
    NeedsActivation,
    /// Anything else: back off and retry.
    Failed(String),
}

/// The running engine.
pub struct Engine {
    config_dir: ConfigDir,
    net: NetSys,
    supervisor: Arc<dyn SupervisorSource>,
    commands: Arc<dyn CommandHandler>,
    once: bool,
    shutdown: Shutdown,
    started: Instant,
    state: EngineState,
    client: Option<(ClientKey, DeviceClient)>,
    failed_attempts: u64,
}

/// What a client was built from; a change rebuilds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientKey {
    server: String,
    user_agent: String,
    vendor: String,
    model: String,
    serial: String,
    audit_db: std::path::PathBuf,
    tls_roots: gwe_device_client::TlsRoots,
    /// When the CA file last changed: a renewed private CA is taken at the next cycle.
    tls_roots_changed: Option<std::time::SystemTime>,
}

/// The result of one check-in's reads.
struct Reads {
    engine_fetch: Option<String>,
    update_interval: Option<String>,
    /// The hub's `Date` of the answer, unix seconds.
    server_time: Option<u64>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

impl Engine {
    /// Builds the engine; nothing happens until [`Engine::run`].
    pub fn new(options: EngineOptions, shutdown: Shutdown) -> Result<Engine, EngineError> {
        let engine_cfg = options.config_dir.load_engine()?;
        let supervisor = options
            .supervisor
            .unwrap_or_else(|| Arc::new(XmlRpcSupervisor::new(engine_cfg.supervisor_url.clone())));
        let commands = options
            .commands
            .unwrap_or_else(|| Arc::new(NotYetSupported));
        let state = EngineState::load(&engine_cfg.effective_state_dir());
        Ok(Engine {
            config_dir: options.config_dir,
            net: options.net,
            supervisor,
            commands,
            once: options.once,
            shutdown,
            started: Instant::now(),
            state,
            client: None,
            failed_attempts: 0,
        })
    }

    /// Runs until shutdown (or after one check-in with `once`). Configuration and identity
    /// problems end it with an error; network problems never do (except with `once`).
    pub async fn run(mut self) -> Result<(), EngineError> {
        let mut backoff = Duration::from_secs(1);
        loop {
            if self.shutdown.requested() {
                return Ok(());
            }
            let Some(client) = self.activated_client().await? else {
                return Ok(());
            };
            let engine_cfg = self.config_dir.load_engine()?;
            match self.check_in(&client, &engine_cfg).await {
                Ok(reads) => {
                    backoff = Duration::from_secs(1);
                    self.failed_attempts = 0;
                    if self.once {
                        return Ok(());
                    }
                    let interval =
                        Duration::from_secs(self.config_dir.load_engine()?.update_interval);
                    if self.wait_for_next_check_in(&client, interval, &reads).await {
                        return Ok(());
                    }
                }
                Err(CheckInError::NeedsActivation) => {
                    tracing::warn!("the server refused the CIK (401): activating again");
                    self.forget_cik()?;
                    if self.once {
                        return Err(EngineError::CheckIn("the CIK was refused (401)".into()));
                    }
                }
                Err(CheckInError::Failed(why)) => {
                    self.failed_attempts += 1;
                    if self.state.offline_since.is_none() {
                        self.state.offline_since = Some(unix_now());
                        self.save_state(&engine_cfg);
                    }
                    if self.once {
                        return Err(EngineError::CheckIn(why));
                    }
                    let cap = MAX_BACKOFF
                        .min(Duration::from_secs(engine_cfg.update_interval))
                        .max(Duration::from_secs(1));
                    tracing::warn!(error = %why, retry_in_s = backoff.as_secs(), "check-in failed; retrying");
                    if self.sleep(backoff).await {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(cap);
                }
            }
        }
    }

    /// Sleeps `d` unless shut down first; true = shut down.
    async fn sleep(&mut self, d: Duration) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = shutdown.wait() => true,
            _ = tokio::time::sleep(d) => false,
        }
    }

    fn save_state(&self, engine_cfg: &EngineConfig) {
        let dir = engine_cfg.effective_state_dir();
        if let Err(e) = self.state.save(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot save the engine state");
        }
    }

    fn forget_cik(&mut self) -> Result<(), EngineError> {
        self.config_dir.update_gateway(|g| g.cik.clear())?;
        if let Some((_, client)) = &self.client {
            client.set_cik(None);
        }
        Ok(())
    }

    /// A client for the current configuration, built anew when it changed.
    fn client_for(
        &mut self,
        gw: &GatewayCfg,
        ec: &EngineConfig,
    ) -> Result<DeviceClient, EngineError> {
        let serial = serial_of(&self.config_dir, gw, &self.net)?;
        let server = ec
            .effective_server_url(&gw.model)
            .ok_or_else(|| EngineError::NoServer {
                path: self.config_dir.engine_config_path(),
            })?;
        let key = ClientKey {
            server,
            user_agent: ec.effective_user_agent(),
            vendor: gw.vendor.clone(),
            model: gw.model.clone(),
            serial,
            audit_db: ec.audit_db.clone(),
            tls_roots: ec.tls_roots.clone(),
            tls_roots_changed: match &ec.tls_roots {
                gwe_device_client::TlsRoots::CaFile(path) => {
                    std::fs::metadata(path).and_then(|m| m.modified()).ok()
                }
                _ => None,
            },
        };
        if let Some((k, c)) = &self.client {
            if *k == key {
                return Ok(c.clone());
            }
        }
        let mut config = ClientConfig::new(key.server.clone())
            .with_identity(key.vendor.clone(), key.model.clone(), key.serial.clone())
            .with_agent(AGENT)
            .with_retry(RetryPolicy::none())
            .with_audit(AuditConfig::at(key.audit_db.clone()));
        config.user_agent = key.user_agent.clone();
        config.tls_roots = key.tls_roots.clone();
        let client = DeviceClient::new(config).map_err(|e| EngineError::Client(e.to_string()))?;
        self.client = Some((key, client.clone()));
        Ok(client)
    }

    /// Returns a client holding a valid-looking CIK, activating first when there is none.
    /// `None` = shut down while waiting.
    async fn activated_client(&mut self) -> Result<Option<DeviceClient>, EngineError> {
        loop {
            let gw = self.config_dir.load_gateway()?;
            let ec = self.config_dir.load_engine()?;
            let client = self.client_for(&gw, &ec)?;
            if !gw.cik.is_empty() {
                client.set_cik(Some(gw.cik.clone()));
                return Ok(Some(client));
            }
            client.set_cik(None);
            tracing::info!(server = %client.server(), vendor = %gw.vendor, model = %gw.model, "activating");
            match client.activate_self().await {
                Ok(cik) => {
                    self.config_dir.update_gateway(|g| g.cik = cik.clone())?;
                    tracing::info!("activated; CIK stored in Gateway.cfg");
                    return Ok(Some(client));
                }
                Err(e) => {
                    let hint = match &e {
                        ApiError::UnknownIdentity { .. } => {
                            " (add this serial number to the product so it can activate)"
                        }
                        ApiError::NotEnabled { .. } => {
                            " (re-enable the device for activation on the server)"
                        }
                        _ => "",
                    };
                    if self.once {
                        return Err(EngineError::CheckIn(format!(
                            "activation failed: {e}{hint}"
                        )));
                    }
                    let wait = Duration::from_secs(ec.activation_retry_interval);
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "activation failed{hint}");
                    if self.sleep(wait).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Builds the reports (on the blocking pool: /proc, statvfs, the supervisor's RPC, SQLite).
    async fn build_reports(
        &mut self,
        gw: &GatewayCfg,
        ec: &EngineConfig,
        now: u64,
    ) -> (
        serde_json::Value,
        serde_json::Value,
        Option<(serde_json::Value, usage_report::UsageWindow)>,
    ) {
        let supervisor = self.supervisor.clone();
        let snapshot = tokio::task::spawn_blocking(move || supervisor.snapshot())
            .await
            .unwrap_or_else(|e| engine_report::SupervisorSnapshot {
                state: None,
                processes: Vec::new(),
                error: Some(format!("supervisor query failed: {e}")),
            });
        let restarts = self.state.restarts.observe(&snapshot.processes);
        let state_dir = ec.effective_state_dir();
        let audit_db = ec.audit_db.clone();
        let usage_since = self.state.usage_since;
        let iface = gw.iface.clone();
        let engine_uptime = self.started.elapsed().as_secs();
        let link = engine_report::LinkReport {
            last_checkin: self.state.last_checkin,
            offline_since: self.state.offline_since,
            failed_attempts: self.failed_attempts,
        };
        let built = tokio::task::spawn_blocking(move || {
            let versions = engine_report::load_versions(&state_dir);
            let mut report = engine_report::build(&snapshot, &versions, &restarts, engine_uptime);
            report.link = link;
            let apps: Vec<(String, i64)> =
                snapshot.processes.iter().map(|p| (p.namespec(), p.pid)).collect();
            let info = device_info::collect(&apps, now);
            let usage = match usage_report::UsageWindow::read(&audit_db, usage_since) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(db = %audit_db.display(), error = %e, "cannot read the request log; usage_report skipped");
                    None
                }
            };
            (report, info, usage, usage_report::traffic_interface(&iface))
        })
        .await;
        match built {
            Ok((report, info, usage, traffic_iface)) => {
                let report_json =
                    serde_json::json!({ "fingerprint": report.fingerprint(), "report": report });
                let info_json =
                    serde_json::json!({ "fingerprint": info.fingerprint(), "report": info });
                let usage = usage.map(|w| (w.to_report(&traffic_iface), w));
                (report_json, info_json, usage)
            }
            Err(e) => {
                tracing::error!(error = %e, "building the reports failed");
                (serde_json::Value::Null, serde_json::Value::Null, None)
            }
        }
    }

    /// One check-in: reports out, `engine_fetch` and `update_interval` in, both acted on.
    async fn check_in(
        &mut self,
        client: &DeviceClient,
        ec: &EngineConfig,
    ) -> Result<Reads, CheckInError> {
        let gw = self
            .config_dir
            .load_gateway()
            .map_err(|e| CheckInError::Failed(e.to_string()))?;
        let now = unix_now();
        let (engine_rep, info, usage) = self.build_reports(&gw, ec, now).await;
        let mut writes = Form::new();
        let mut sent: Vec<(&'static str, String)> = Vec::new();
        for (alias, built) in [(ENGINE_REPORT, &engine_rep), (DEVICE_INFO, &info)] {
            if built.is_null() {
                continue;
            }
            let d = digest(&built["fingerprint"]);
            if self.due(alias, &d, now) {
                writes.push(alias, built["report"].to_string());
                sent.push((alias, d));
            }
        }
        let mut usage_until = None;
        if let Some((json, window)) = &usage {
            // The engine's own check-ins would make every window differ: only other agents'
            // requests and the engine's failures make it due; otherwise once a day.
            let d = digest(json);
            if window.has_news(AGENT) || self.due_daily(USAGE_REPORT, now) {
                writes.push(USAGE_REPORT, json.to_string());
                sent.push((USAGE_REPORT, d));
                usage_until = Some(window.until_unix);
            }
        }
        let pending_status = self
            .state
            .commands
            .last()
            .filter(|c| !c.status_delivered)
            .map(|c| c.status.clone());
        if let Some(status) = &pending_status {
            writes.push(FETCH_STATUS, status.clone());
        }
        let response = client
            .call(Call::WriteRead {
                writes,
                reads: vec![ENGINE_FETCH.to_string(), UPDATE_INTERVAL.to_string()],
            })
            .await
            .map_err(api_failure)?;
        match response.status {
            200 | 204 => {}
            401 => return Err(CheckInError::NeedsActivation),
            status => {
                return Err(CheckInError::Failed(format!(
                    "check-in: HTTP {status}: {}",
                    truncate(&response.text(), 200)
                )))
            }
        }
        let form = response
            .form()
            .map_err(|e| CheckInError::Failed(format!("check-in: bad answer: {e}")))?;
        let server_time = response
            .header("date")
            .and_then(|v| gwe_device_client::wire::time::parse_http_time(v).ok());
        // Delivered: remember what was sent.
        for (alias, d) in sent {
            self.state
                .delivered
                .insert(alias.to_string(), Delivered { digest: d, at: now });
        }
        if let Some(until) = usage_until {
            self.state.usage_since = until;
        }
        if pending_status.is_some() {
            if let Some(last) = self.state.commands.last_mut() {
                last.status_delivered = true;
            }
        }
        self.state.last_checkin = Some(now);
        self.state.offline_since = None;
        self.save_state(ec);
        tracing::info!(server = %client.server(), "checked in");
        let reads = Reads {
            engine_fetch: form
                .get(ENGINE_FETCH)
                .map(str::to_string)
                .filter(|v| !v.trim().is_empty()),
            update_interval: form
                .get(UPDATE_INTERVAL)
                .map(str::to_string)
                .filter(|v| !v.trim().is_empty()),
            server_time,
        };
        if let Some(value) = &reads.update_interval {
            self.apply_update_interval(client, value).await;
        }
        if let Some(command) = &reads.engine_fetch {
            self.take_command(client, command, ec).await;
        }
        Ok(reads)
    }

    /// Whether a report with digest `d` must be sent now.
    fn due(&self, alias: &str, d: &str, now: u64) -> bool {
        match self.state.delivered.get(alias) {
            Some(prev) => prev.digest != d || now.saturating_sub(prev.at) >= RESEND_AFTER_S,
            None => true,
        }
    }

    /// Whether a report not sent for its content is due anyway: never delivered, or the last
    /// delivery is [`RESEND_AFTER_S`] old.
    fn due_daily(&self, alias: &str, now: u64) -> bool {
        self.state
            .delivered
            .get(alias)
            .is_none_or(|prev| now.saturating_sub(prev.at) >= RESEND_AFTER_S)
    }

    /// Applies (or refuses) a new update interval and clears the alias.
    async fn apply_update_interval(&mut self, client: &DeviceClient, value: &str) {
        let mut clear = Form::new();
        clear.push(UPDATE_INTERVAL, "");
        match parse_interval(value.trim(), MAX_UPDATE_INTERVAL) {
            Ok(seconds) => match self
                .config_dir
                .update_engine(|e| e.update_interval = seconds)
            {
                Ok(_) => tracing::info!(seconds, "update interval changed from the cloud"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot store the new update interval");
                    clear.push(
                        FETCH_STATUS,
                        format!("update_interval: {value:?} not applied: {e}"),
                    );
                }
            },
            Err(problem) => {
                tracing::warn!(value = %value, %problem, "update_interval from the cloud ignored");
                clear.push(
                    FETCH_STATUS,
                    format!(
                        "update_interval: ignored {:?}: {problem}",
                        truncate(value, 64)
                    ),
                );
            }
        }
        if let Err(e) = client
            .call(Call::Write(clear))
            .await
            .map_err(api_failure)
            .and_then(status_ok)
        {
            tracing::warn!(error = %describe(&e), "cannot clear update_interval; it will be read again");
        }
    }

    /// Takes one command: clear `engine_fetch`, record, handle, answer in `fetch_status`.
    async fn take_command(&mut self, client: &DeviceClient, command: &str, ec: &EngineConfig) {
        let mut clear = Form::new();
        clear.push(ENGINE_FETCH, "");
        if let Err(e) = client
            .call(Call::Write(clear))
            .await
            .map_err(api_failure)
            .and_then(status_ok)
        {
            tracing::warn!(error = %describe(&e), "cannot clear engine_fetch; the command is left for later");
            return;
        }
        tracing::info!(command = %truncate(command, 200), "command taken from engine_fetch");
        let now = unix_now();
        self.state.push_command(CommandRecord {
            at: now,
            command: truncate(command, 4096),
            status: "(being handled)".into(),
            status_delivered: true,
        });
        self.save_state(ec);
        let outcome = self.commands.handle(command).await;
        let mut answer = Form::new();
        answer.push(FETCH_STATUS, outcome.fetch_status.clone());
        let delivered = client
            .call(Call::Write(answer))
            .await
            .map_err(api_failure)
            .and_then(status_ok);
        if let Err(e) = &delivered {
            tracing::warn!(error = %describe(e), "cannot write fetch_status now; it goes with the next check-in");
        }
        if let Some(last) = self.state.commands.last_mut() {
            last.status = outcome.fetch_status.clone();
            last.status_delivered = delivered.is_ok();
        }
        self.save_state(ec);
    }

    /// After a command was handled (which may take long), reads `engine_fetch` once more so a
    /// command written meanwhile is taken now rather than at the next check-in.
    async fn take_commands_written_meanwhile(&mut self, client: &DeviceClient, ec: &EngineConfig) {
        for _ in 0..MAX_FOLLOW_UPS {
            let value = match client.read(&[ENGINE_FETCH]).await {
                Ok(form) => form
                    .get(ENGINE_FETCH)
                    .map(str::to_string)
                    .unwrap_or_default(),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read engine_fetch after a command");
                    return;
                }
            };
            if value.trim().is_empty() {
                return;
            }
            self.take_command(client, &value, ec).await;
        }
    }

    /// Long-polls `engine_fetch` until the next check-in is due. True = shut down.
    async fn wait_for_next_check_in(
        &mut self,
        client: &DeviceClient,
        interval: Duration,
        reads: &Reads,
    ) -> bool {
        let deadline = Instant::now() + interval;
        release_free_heap();
        let taken = reads.engine_fetch.clone();
        let mut since = reads.server_time.map(|t| t.saturating_sub(1));
        let mut backoff = Duration::from_secs(1);
        let ec = match self.config_dir.load_engine() {
            Ok(ec) => ec,
            Err(e) => {
                tracing::error!(error = %e, "Engine.config became unreadable");
                return self.sleep(interval).await;
            }
        };
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_secs(1) {
                return self.sleep(remaining).await;
            }
            let wait = remaining.min(MAX_POLL);
            let timeout = RequestTimeout::clamped(wait.as_millis() as u64);
            let mut shutdown = self.shutdown.clone();
            let outcome = tokio::select! {
                _ = shutdown.wait() => return true,
                r = client.long_poll(ENGINE_FETCH, timeout, since) => r,
            };
            match outcome {
                Ok(PollOutcome::Updated {
                    value,
                    last_modified,
                }) => {
                    backoff = Duration::from_secs(1);
                    let already_taken = taken.as_deref() == Some(value.as_str())
                        && matches!((last_modified, reads.server_time), (Some(lm), Some(st)) if lm <= st);
                    // Timestamps have one-second resolution and the hub returns the first
                    // point after `since`: chaining them could skip a point written in the
                    // same second, so later polls wait for anything after they start.
                    since = None;
                    if !value.trim().is_empty() && !already_taken {
                        self.take_command(client, &value, &ec).await;
                        self.take_commands_written_meanwhile(client, &ec).await;
                    }
                }
                Ok(PollOutcome::NotModified) => backoff = Duration::from_secs(1),
                Err(ApiError::NeedsActivation { .. }) => return false,
                Err(e) => {
                    tracing::debug!(error = %e, "long poll failed; retrying");
                    let pause = backoff.min(deadline.saturating_duration_since(Instant::now()));
                    if self.sleep(pause).await {
                        return true;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Returns the heap a check-in freed (reports, JSON, TLS and HTTP buffers, the blocking
/// threads' arenas) to the kernel before the engine idles; glibc keeps it otherwise.
fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases unused memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn api_failure(e: ApiError) -> CheckInError {
    match e {
        ApiError::NeedsActivation { .. } => CheckInError::NeedsActivation,
        other => CheckInError::Failed(other.to_string()),
    }
}

fn status_ok(resp: gwe_device_client::Response) -> Result<(), CheckInError> {
    match resp.status {
        200..=299 => Ok(()),
        401 => Err(CheckInError::NeedsActivation),
        s => Err(CheckInError::Failed(format!(
            "HTTP {s}: {}",
            truncate(&resp.text(), 200)
        ))),
    }
}

fn describe(e: &CheckInError) -> String {
    match e {
        CheckInError::NeedsActivation => "the CIK was refused (401)".into(),
        CheckInError::Failed(s) => s.clone(),
    }
}
