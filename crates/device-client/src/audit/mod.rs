//! Interface auditing: every request made through the client becomes one row in an
//! SQLite database, which `gdc usage` and the engine's `usage_report` read.
//!
//! # Where the database lives
//! Default [`DEFAULT_AUDIT_DB`] = `/var/lib/gwe/ifaces.db`, overridden by the
//! environment variable [`AUDIT_DB_ENV`] (`GWE_AUDIT_DB`) or by configuration. The
//! original used `/tmp/ifaces.db`, but `/tmp` is a tmpfs on most gateways: a reboot
//! (power cut, OTA) would erase the bandwidth history that `usage_report` is meant to
//! cover, exactly when it is interesting. `/var/lib` is where FHS puts persistent
//! state. Flash wear is kept low with WAL, `synchronous=NORMAL` (no fsync per row)
//! and batched inserts. Installers should make `/var/lib/gwe` writable by every user
//! that runs apps (e.g. a shared group); a process that cannot write only loses its
//! audit rows (warning + counter), never its requests.
//!
//! # Concurrency and bounds
//! Many processes write at once: WAL journal, `busy_timeout`, one short `BEGIN
//! IMMEDIATE` transaction per batch. Rows are written by a background thread fed
//! through a bounded queue, so a request only pays for building a record and a
//! `try_send` (a full queue drops the row and counts it). The table is bounded by
//! [`AuditConfig::max_rows`] and [`AuditConfig::max_age`], pruned through the primary
//! key and the time index every [`PRUNE_EVERY`] rows a process writes.

mod store;
mod usage;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

pub use store::AuditError;
pub use usage::{AgentUsage, AuditDb, UsageReport, UsageStats};

/// The default database path (see the module docs for why not `/tmp`).
pub const DEFAULT_AUDIT_DB: &str = "/var/lib/gwe/ifaces.db";
/// Environment variable overriding the database path.
pub const AUDIT_DB_ENV: &str = "GWE_AUDIT_DB";
/// A process prunes old rows after writing this many.
pub const PRUNE_EVERY: u64 = 256;
/// How long the writer waits for more rows before committing a batch.
pub const BATCH_LINGER: Duration = Duration::from_millis(5);
/// Rows waiting for the writer thread before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 4096;

/// Where and how much to audit.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Database file; `None` disables auditing. Default: [`default_db_path`].
    pub path: Option<PathBuf>,
    /// Rows kept (oldest pruned first). Default 50 000 (about 5 MB).
    pub max_rows: u64,
    /// Rows older than this are pruned. Default 31 days.
    pub max_age: Duration,
    /// How long a writer waits for another process's lock. Default 5 s.
    pub busy_timeout: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: Some(default_db_path()),
            max_rows: 50_000,
            max_age: Duration::from_secs(31 * 24 * 3600),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl AuditConfig {
    /// No auditing.
    pub fn disabled() -> Self {
        AuditConfig {
            path: None,
            ..AuditConfig::default()
        }
    }

    /// Auditing into `path` with default bounds.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        AuditConfig {
            path: Some(path.into()),
            ..AuditConfig::default()
        }
    }
}

/// `$GWE_AUDIT_DB` when set and non-empty, else [`DEFAULT_AUDIT_DB`].
pub fn default_db_path() -> PathBuf {
    match std::env::var_os(AUDIT_DB_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_AUDIT_DB),
    }
}

/// One request as the audit log stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Start of the request, unix milliseconds.
    pub ts_ms: i64,
    /// Program that made it (settable; default the executable's name).
    pub agent: String,
    /// Process id.
    pub pid: u32,
    /// Procedure name ([`gwe_device_api::Procedure::name`]).
    pub procedure: String,
    /// HTTP method.
    pub method: String,
    /// Path and query, without secrets ([`sanitize_path`]).
    pub path: String,
    /// HTTP status; `None` when no response arrived.
    pub status: Option<u16>,
    /// Bytes written to the connection for this request (headers, body, TLS).
    pub bytes_sent: u64,
    /// Bytes read from the connection for this response.
    pub bytes_received: u64,
    /// Wall time until the body was read or the request failed, microseconds.
    pub duration_us: u64,
    /// Failure description, if the request failed.
    pub error: Option<String>,
}

/// Counters of the audit writer, readable at any time.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Rows committed.
    pub written: AtomicU64,
    /// Rows dropped because the queue was full or the writer gone.
    pub dropped: AtomicU64,
    /// Rows lost to database errors (unwritable, corrupt, locked too long...).
    pub failed: AtomicU64,
}

enum Msg {
    Row(Box<AuditRecord>),
    Flush(std::sync::mpsc::Sender<()>),
}

/// The writing side: cheap to share (`Arc`), never blocks the caller, never fails it.
pub struct AuditLog {
    tx: Option<SyncSender<Msg>>,
    stats: Arc<AuditStats>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the writer thread (the database is opened there, lazily, so a broken
    /// path costs the caller nothing). A disabled config gives a log that discards.
    pub fn open(config: AuditConfig) -> AuditLog {
        let stats = Arc::new(AuditStats::default());
        let Some(path) = config.path.clone() else {
            return AuditLog {
                tx: None,
                stats,
                path: None,
            };
        };
        let (tx, rx) = sync_channel(QUEUE_CAPACITY);
        let thread_stats = stats.clone();
        let spawned = std::thread::Builder::new()
            .name("gwe-audit".into())
            .spawn(move || writer_loop(config, rx, thread_stats));
        match spawned {
            Ok(_) => AuditLog {
                tx: Some(tx),
                stats,
                path: Some(path),
            },
            Err(e) => {
                tracing::warn!("audit log disabled: cannot start its writer thread: {e}");
                AuditLog {
                    tx: None,
                    stats,
                    path: Some(path),
                }
            }
        }
    }

    /// The database path, if auditing is on.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Queues a row; never blocks. A full queue drops the row (counted in
    /// [`AuditStats::dropped`]).
    pub fn record(&self, record: AuditRecord) {
        let Some(tx) = &self.tx else {
            if self.path.is_some() {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
            return;
        };
        match tx.try_send(Msg::Row(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                if n == 0 || n % 1000 == 0 {
                    tracing::warn!("audit queue full: {} row(s) dropped so far", n + 1);
                }
            }
        }
    }

    /// Waits until every row queued before this call was written (or failed), at
    /// most `timeout`. Returns false on timeout. Call before a short-lived process
    /// exits; it blocks the calling thread.
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else { return true };
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let deadline = std::time::Instant::now() + timeout;
        let mut msg = Msg::Flush(done_tx);
        // The queue may be full: retry until the deadline rather than block forever.
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(TrySendError::Disconnected(_)) => return true,
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        done_rx.recv_timeout(left).is_ok()
    }

    /// Writer counters.
    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Rows of a process that exits right after its request must not be lost.
        if self.tx.is_some() {
            self.flush(Duration::from_secs(3));
        }
    }
}

fn writer_loop(config: AuditConfig, rx: Receiver<Msg>, stats: Arc<AuditStats>) {
    let mut writer = store::Writer::new(config);
    let mut batch: Vec<Box<AuditRecord>> = Vec::with_capacity(64);
    let mut flushes = Vec::new();
    while let Ok(first) = rx.recv() {
        let push = |m: Msg, batch: &mut Vec<Box<AuditRecord>>, flushes: &mut Vec<_>| match m {
            Msg::Row(r) => batch.push(r),
            Msg::Flush(t) => flushes.push(t),
        };
        push(first, &mut batch, &mut flushes);
        // Linger briefly for more rows so a busy client commits one transaction per
        // burst instead of one per request; a flush request commits at once.
        let linger_until = std::time::Instant::now() + BATCH_LINGER;
        while batch.len() < 512 && flushes.is_empty() {
            let left = linger_until.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(m) => push(m, &mut batch, &mut flushes),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            match writer.write(&batch) {
                Ok(()) => {
                    stats.written.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    let before = stats.failed.fetch_add(n, Ordering::Relaxed);
                    if before == 0 || before / 100 != (before + n) / 100 {
                        tracing::warn!("audit log: {e} ({} row(s) lost so far)", before + n);
                    }
                }
            }
            batch.clear();
        }
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

/// The path and query of a request as the audit log keeps it: values of parameters
/// that identify or authorise a device (`cik`, `token`, `sn`, and on activation `id`)
/// are replaced by `***`, so the log never holds a secret.
pub fn sanitize_path(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let activation = path == gwe_device_api::paths::ACTIVATE;
    let mut out = String::with_capacity(path_and_query.len());
    out.push_str(path);
    out.push('?');
    for (i, seg) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let name = seg.split('=').next().unwrap_or("");
        let secret = matches!(
            name.to_ascii_lowercase().as_str(),
            "cik" | "token" | "sn" | "vms"
        ) || (activation && name == "id");
        if secret && seg.contains('=') {
            out.push_str(name);
            out.push_str("=***");
        } else {
            out.push_str(seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_secrets_only() {
        assert_eq!(
            sanitize_path("/onep:v1/stack/alias?a&b"),
            "/onep:v1/stack/alias?a&b"
        );
        assert_eq!(
            sanitize_path("/provision/download?vendor=v&model=m&id=app.tar.gz"),
            "/provision/download?vendor=v&model=m&id=app.tar.gz"
        );
        assert_eq!(
            sanitize_path("/provision/activate?sn=123&id=9&x=1"),
            "/provision/activate?sn=***&id=***&x=1"
        );
        assert_eq!(sanitize_path("/x?CIK=abc&token=t"), "/x?CIK=***&token=***");
        assert_eq!(sanitize_path("/timestamp"), "/timestamp");
    }
}
