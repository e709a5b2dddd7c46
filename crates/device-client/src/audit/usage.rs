//! Reading the audit log: usage statistics per agent and per procedure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::store::{sql_err, AuditError};
use super::AuditRecord;

/// Statistics of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageStats {
    /// Requests made.
    pub requests: u64,
    /// Requests that failed (no response, or status >= 400).
    pub errors: u64,
    /// Bytes sent on the wire, total.
    pub bytes_sent: u64,
    /// Bytes received on the wire, total.
    pub bytes_received: u64,
    /// Largest single request, bytes sent.
    pub max_sent: u64,
    /// Largest single response, bytes received.
    pub max_received: u64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: f64,
    #[serde(skip)]
    durations_us: Vec<u64>,
}

impl UsageStats {
    fn add(&mut self, sent: u64, received: u64, duration_us: u64, error: bool) {
        self.requests += 1;
        self.errors += u64::from(error);
        self.bytes_sent += sent;
        self.bytes_received += received;
        self.max_sent = self.max_sent.max(sent);
        self.max_received = self.max_received.max(received);
        self.durations_us.push(duration_us);
    }

    fn finish(&mut self) {
        self.durations_us.sort_unstable();
        self.p50_ms = percentile(&self.durations_us, 50.0);
        self.p95_ms = percentile(&self.durations_us, 95.0);
        self.durations_us = Vec::new();
    }

    /// Bytes both ways.
    pub fn bytes_total(&self) -> u64 {
        self.bytes_sent + self.bytes_received
    }
}

/// Nearest-rank percentile of sorted microsecond values, in milliseconds.
fn percentile(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// Usage of one agent (program).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentUsage {
    /// All its requests.
    pub total: UsageStats,
    /// Per procedure name.
    pub procedures: BTreeMap<String, UsageStats>,
}

/// Usage over a time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageReport {
    /// Window start, unix seconds.
    pub since_unix: u64,
    /// When the report was made, unix seconds.
    pub until_unix: u64,
    /// Every request in the window.
    pub total: UsageStats,
    /// Per agent.
    pub agents: BTreeMap<String, AgentUsage>,
    /// Agent with the most bytes (both ways); `None` when there were no requests.
    pub top_consumer: Option<String>,
}

impl UsageReport {
    /// The original engine's `usage_report` layout, under `key` (e.g. the network
    /// interface or `"gdc"`): `{key: {"top_consumer": agent, agent: {procedure:
    /// {"tot_rx", "max_rx", "tot_tx", "max_tx", "num"}}}}` (rx = received, tx = sent).
    pub fn to_engine_json(&self, key: &str) -> serde_json::Value {
        let mut inner = serde_json::Map::new();
        inner.insert(
            "top_consumer".into(),
            serde_json::Value::from(self.top_consumer.clone().unwrap_or_default()),
        );
        for (agent, usage) in &self.agents {
            let mut procs = serde_json::Map::new();
            for (name, s) in &usage.procedures {
                procs.insert(
                    name.clone(),
                    serde_json::json!({
                        "tot_rx": s.bytes_received, "max_rx": s.max_received,
                        "tot_tx": s.bytes_sent, "max_tx": s.max_sent, "num": s.requests,
                    }),
                );
            }
            inner.insert(agent.clone(), serde_json::Value::Object(procs));
        }
        let mut outer = serde_json::Map::new();
        outer.insert(key.to_string(), serde_json::Value::Object(inner));
        serde_json::Value::Object(outer)
    }
}

/// The reading side of the audit database.
pub struct AuditDb {
    conn: Connection,
    path: PathBuf,
}

impl AuditDb {
    /// Opens an existing database (read-write so WAL readers work without write
    /// access to the directory when possible, falling back to read-only).
    pub fn open(path: &Path) -> Result<AuditDb, AuditError> {
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, rw)
            .or_else(|_| Connection::open_with_flags(path, ro))
            .map_err(sql_err(path, "opening"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql_err(path, "setting busy_timeout"))?;
        Ok(AuditDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens (creating if needed) a database with the audit schema; mostly for tests
    /// and tools that want an empty log to exist.
    pub fn create(path: &Path) -> Result<AuditDb, AuditError> {
        let conn = super::store::open_rw(path, Duration::from_secs(5))?;
        Ok(AuditDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Number of rows.
    pub fn count(&self) -> Result<u64, AuditError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(sql_err(&self.path, "counting"))
    }

    /// The newest `limit` rows, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<AuditRecord>, AuditError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ts_ms, agent, pid, procedure, method, path, status, bytes_sent, bytes_received, \
                 duration_us, error FROM requests ORDER BY id DESC LIMIT ?1",
            )
            .map_err(sql_err(&self.path, "querying"))?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditRecord {
                    ts_ms: r.get(0)?,
                    agent: r.get(1)?,
                    pid: r.get(2)?,
                    procedure: r.get(3)?,
                    method: r.get(4)?,
                    path: r.get(5)?,
                    status: r.get(6)?,
                    bytes_sent: r.get::<_, i64>(7)? as u64,
                    bytes_received: r.get::<_, i64>(8)? as u64,
                    duration_us: r.get::<_, i64>(9)? as u64,
                    error: r.get(10)?,
                })
            })
            .map_err(sql_err(&self.path, "querying"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sql_err(&self.path, "reading rows"))
    }

    /// Usage of the requests that started within the last `window`.
    pub fn usage(&self, window: Duration) -> Result<UsageReport, AuditError> {
        let since = SystemTime::now().checked_sub(window).unwrap_or(UNIX_EPOCH);
        self.usage_since(since)
    }

    /// Usage of the requests that started at or after `since`.
    pub fn usage_since(&self, since: SystemTime) -> Result<UsageReport, AuditError> {
        let since_ms = since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT agent, procedure, status, bytes_sent, bytes_received, duration_us, error IS NOT NULL \
                 FROM requests WHERE ts_ms >= ?1",
            )
            .map_err(sql_err(&self.path, "querying usage"))?;
        let mut rows = stmt
            .query([since_ms])
            .map_err(sql_err(&self.path, "querying usage"))?;
        let mut report = UsageReport {
            since_unix: (since_ms / 1000).max(0) as u64,
            until_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            ..UsageReport::default()
        };
        while let Some(row) = rows.next().map_err(sql_err(&self.path, "reading usage"))? {
            let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, i64>(3)?.max(0) as u64,
                    row.get::<_, i64>(4)?.max(0) as u64,
                    row.get::<_, i64>(5)?.max(0) as u64,
                    row.get::<_, bool>(6)?,
                ))
            };
            let (agent, procedure, status, sent, received, dur, has_error) =
                read(row).map_err(sql_err(&self.path, "reading usage"))?;
            let failed = has_error || status.is_none_or(|s| s >= 400);
            report.total.add(sent, received, dur, failed);
            let a = report.agents.entry(agent).or_default();
            a.total.add(sent, received, dur, failed);
            a.procedures
                .entry(procedure)
                .or_default()
                .add(sent, received, dur, failed);
        }
        report.total.finish();
        for a in report.agents.values_mut() {
            a.total.finish();
            a.procedures.values_mut().for_each(UsageStats::finish);
        }
        report.top_consumer = report
            .agents
            .iter()
            .max_by(|(an, a), (bn, b)| {
                a.total
                    .bytes_total()
                    .cmp(&b.total.bytes_total())
                    .then(bn.cmp(an))
            })
            .map(|(name, _)| name.clone());
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        assert_eq!(percentile(&[], 50.0), 0.0);
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&[7000], 95.0), 7.0);
    }
}
