//! Helpers of the engine's end-to-end tests: a real gwe-hub in-process on 127.0.0.1:0, its
//! operator API, a real python `supervisord` in a temp dir, the engine configured in a temp
//! dir, deadline polling, and a small JSON Schema validator fed from docs/reports.md.
#![allow(dead_code)]

pub mod schema;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gwe_engine::config::ConfigDir;
use gwe_engine::cycle::{shutdown_pair, Engine, EngineOptions, ShutdownHandle};
use gwe_engine::identity::NetSys;
use gwe_hub::HubConfig;

/// Operator token of the test hubs.
pub const OP_TOKEN: &str = "engine-e2e-operator-token-0123456789";
/// Product of the test hubs.
pub const PRODUCT: &str = "default";

/// Polls `check` every 25 ms until it holds or `secs` pass; panics with `what` on timeout.
pub async fn wait_for<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An in-process hub.
pub struct TestHub {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The hub's long-poll registry.
    pub notifier: Arc<gwe_hub::notify::Notifier>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestHub {
    /// Starts a hub on `data_dir`, listening on `addr` (port 0 = any).
    pub async fn start(data_dir: &Path, addr: &str) -> TestHub {
        let mut config = HubConfig::new(data_dir);
        config.operator_token = Some(OP_TOKEN.to_string());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the hub");
        let addr = listener.local_addr().expect("hub address");
        let hub = gwe_hub::Hub::open(config).await.expect("open the hub");
        let notifier = hub.state().notifier.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(hub.run(listener, async {
            let _ = rx.await;
        }));
        TestHub {
            addr,
            data_dir: data_dir.to_path_buf(),
            notifier,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it and waits until the port is free.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }

    /// One operator API call (HTTP/1.1 over a fresh connection): status and body.
    async fn operator(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {OP_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
            .await
            .map_err(|_| std::io::Error::other("operator call timed out"))??;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no end of headers"))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        let mut payload = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            payload = dechunk(&payload);
        }
        Ok((status, payload))
    }

    /// Adds an identity that may activate.
    pub async fn add_device(&self, sn: &str) {
        let (status, body) = self
            .operator(
                "POST",
                &format!("/api/v1/products/{PRODUCT}/devices"),
                Some(serde_json::json!({ "sn": sn })),
            )
            .await
            .expect("add device");
        assert!(
            (200..300).contains(&status),
            "add device: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// Re-enables activation of `sn` (its current CIK stops working).
    pub async fn enable_device(&self, sn: &str) {
        let (status, body) = self
            .operator(
                "POST",
                &format!("/api/v1/products/{PRODUCT}/devices/{sn}/enable"),
                None,
            )
            .await
            .expect("enable device");
        assert!(
            (200..300).contains(&status),
            "enable: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// Writes `value` to `alias` of `sn` as an operator.
    pub async fn write(&self, sn: &str, alias: &str, value: &str) {
        let (status, body) = self
            .operator(
                "POST",
                &format!("/api/v1/products/{PRODUCT}/devices/{sn}/aliases/{alias}"),
                Some(serde_json::json!({ "value": value })),
            )
            .await
            .expect("operator write");
        assert!(
            (200..300).contains(&status),
            "write: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// The newest `limit` values of `alias` of `sn`, newest first (empty when none or the hub
    /// is unreachable).
    pub async fn history(&self, sn: &str, alias: &str, limit: u32) -> Vec<String> {
        let Ok((status, body)) = self
            .operator(
                "GET",
                &format!("/api/v1/products/{PRODUCT}/devices/{sn}/aliases/{alias}?limit={limit}"),
                None,
            )
            .await
        else {
            return Vec::new();
        };
        if status != 200 {
            return Vec::new();
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        v["points"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The latest value of `alias` of `sn`.
    pub async fn latest(&self, sn: &str, alias: &str) -> Option<String> {
        self.history(sn, alias, 1).await.into_iter().next()
    }
}

/// Decodes a chunked HTTP body (enough for the hub's answers).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
}

/// The engine's configuration and state in a temp dir.
pub struct EngineDirs {
    /// Root temp dir.
    pub root: tempfile::TempDir,
    /// Gateway.cfg + Engine.config.
    pub config: ConfigDir,
}

impl EngineDirs {
    /// Identity `sn` of product [`PRODUCT`], talking to `server`, checking in every `interval`
    /// seconds, asking the supervisor at `supervisor_url`.
    pub fn new(sn: &str, server: &str, interval: u64, supervisor_url: &str) -> EngineDirs {
        let root = tempfile::tempdir().expect("temp dir");
        let config = ConfigDir::new(root.path().join("etc"));
        config
            .update_gateway(|g| {
                g.uuid = sn.into();
                g.vendor = PRODUCT.into();
                g.model = PRODUCT.into();
            })
            .expect("write Gateway.cfg");
        let state_dir = root.path().join("state");
        let audit_db = root.path().join("ifaces.db");
        config
            .update_engine(|e| {
                e.server_url = server.into();
                e.update_interval = interval;
                e.activation_retry_interval = 1;
                e.supervisor_url = supervisor_url.into();
                e.state_dir = state_dir;
                e.audit_db = audit_db;
            })
            .expect("write Engine.config");
        EngineDirs { root, config }
    }

    /// The CIK now in Gateway.cfg.
    pub fn cik(&self) -> String {
        self.config
            .load_gateway()
            .map(|g| g.cik)
            .unwrap_or_default()
    }

    /// Starts the engine in-process.
    pub fn start(&self) -> RunningEngine {
        let (handle, shutdown) = shutdown_pair();
        let mut options = EngineOptions::new(self.config.clone());
        options.net = NetSys::at(self.root.path().join("no-sysfs"));
        let engine = Engine::new(options, shutdown).expect("build the engine");
        let task = tokio::spawn(engine.run());
        RunningEngine { handle, task }
    }
}

/// An engine running in a task.
pub struct RunningEngine {
    handle: ShutdownHandle,
    task: tokio::task::JoinHandle<Result<(), gwe_engine::cycle::EngineError>>,
}

impl RunningEngine {
    /// Whether it is still running (it must never stop by itself).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Stops it; it must end cleanly.
    pub async fn stop(self) {
        self.handle.shutdown();
        let result = tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the engine stops within 20 s of shutdown")
            .expect("engine task");
        result.expect("the engine ends without error");
    }
}

/// A real python supervisord with one long-running program, in a temp dir.
pub struct Supervisord {
    child: std::process::Child,
    /// Its temp dir.
    pub dir: tempfile::TempDir,
}

impl Supervisord {
    /// Starts `supervisord -n` with program `sleeper`; `None` when supervisord is not installed.
    pub fn start() -> Option<Supervisord> {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("supervisord.conf");
        let d = dir.path().display();
        std::fs::write(
            &conf,
            format!(
                "[unix_http_server]\nfile = {d}/s.sock\n\n[supervisord]\nlogfile = {d}/supervisord.log\n\
                 pidfile = {d}/supervisord.pid\nchildlogdir = {d}\n\n\
                 [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                 [program:sleeper]\ncommand = /bin/sh -c 'exec sleep 600'\nstartsecs = 0\n"
            ),
        )
        .expect("write supervisord.conf");
        let child = std::process::Command::new("supervisord")
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Supervisord { child, dir })
    }

    /// Its XML-RPC URL.
    pub fn url(&self) -> String {
        format!("unix://{}/s.sock", self.dir.path().display())
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        // SIGTERM lets supervisord stop its program; then reap it.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill on our own child's pid.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
