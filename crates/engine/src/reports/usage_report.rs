//! `usage_report`: bandwidth and requests per agent and procedure, from the device client's
//! audit log, since the last delivered report.
//!
//! Legacy layout read by existing cloud apps:
//! `{"<interface>": {"top_consumer": "<agent>", "<agent>": {"<procedure>": {"tot_rx", "max_rx",
//! "tot_tx", "max_tx", "num"}}}}` (rx = bytes received, tx = bytes sent). The interface is the
//! network interface of the default route (the one the requests went out on). Richer data is
//! added where those apps' parsers ignore it: numbers beside `top_consumer` (`since`, `until`,
//! `requests`, `errors`) and more keys inside each procedure (`errors`, `p50_ms`, `p95_ms`).

use std::collections::BTreeMap;
use std::path::Path;

/// Statistics of one procedure of one agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcedureUsage {
    /// Requests made.
    pub requests: u64,
    /// Requests that failed (no response, or status >= 400).
    pub errors: u64,
    /// Bytes sent, total.
    pub bytes_sent: u64,
    /// Bytes received, total.
    pub bytes_received: u64,
    /// Largest single request sent.
    pub max_sent: u64,
    /// Largest single response received.
    pub max_received: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
}

/// Usage over a window, as read from the audit log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageWindow {
    /// Window start, unix seconds.
    pub since_unix: u64,
    /// Window end, unix seconds.
    pub until_unix: u64,
    /// Per agent, per procedure.
    pub agents: BTreeMap<String, BTreeMap<String, ProcedureUsage>>,
}

impl UsageWindow {
    /// Reads the audit database at `db` for requests at or after `since_unix`. A missing
    /// database means no requests were made.
    pub fn read(db: &Path, since_unix: u64) -> Result<UsageWindow, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if !db.exists() {
            return Ok(UsageWindow {
                since_unix,
                until_unix: now,
                agents: BTreeMap::new(),
            });
        }
        // `create` makes sure the schema exists (the writer creates it lazily); a log the
        // engine may not write to is still read.
        let audit = gwe_device_client::audit::AuditDb::create(db)
            .or_else(|_| gwe_device_client::audit::AuditDb::open(db))
            .map_err(|e| e.to_string())?;
        let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs(since_unix);
        let report = audit.usage_since(since).map_err(|e| e.to_string())?;
        let agents = report
            .agents
            .iter()
            .map(|(agent, usage)| {
                let procs = usage
                    .procedures
                    .iter()
                    .map(|(name, s)| {
                        let u = ProcedureUsage {
                            requests: s.requests,
                            errors: s.errors,
                            bytes_sent: s.bytes_sent,
                            bytes_received: s.bytes_received,
                            max_sent: s.max_sent,
                            max_received: s.max_received,
                            p50_ms: s.p50_ms,
                            p95_ms: s.p95_ms,
                        };
                        (name.clone(), u)
                    })
                    .collect();
                (agent.clone(), procs)
            })
            .collect();
        Ok(UsageWindow {
            since_unix,
            until_unix: report.until_unix.max(since_unix),
            agents,
        })
    }

    /// The agent with the most bytes both ways, `""` when there were no requests.
    pub fn top_consumer(&self) -> String {
        self.agents
            .iter()
            .map(|(a, p)| {
                (
                    a,
                    p.values()
                        .map(|s| s.bytes_sent + s.bytes_received)
                        .sum::<u64>(),
                )
            })
            .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(x.0)))
            .map(|(a, _)| a.clone())
            .unwrap_or_default()
    }

    /// The report JSON under `interface`.
    pub fn to_report(&self, interface: &str) -> serde_json::Value {
        let mut inner = serde_json::Map::new();
        inner.insert("top_consumer".into(), self.top_consumer().into());
        let (mut requests, mut errors) = (0u64, 0u64);
        for (agent, procs) in &self.agents {
            let mut per = serde_json::Map::new();
            for (name, s) in procs {
                requests += s.requests;
                errors += s.errors;
                per.insert(
                    name.clone(),
                    serde_json::json!({
                        "tot_rx": s.bytes_received, "max_rx": s.max_received,
                        "tot_tx": s.bytes_sent, "max_tx": s.max_sent, "num": s.requests,
                        "errors": s.errors, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms,
                    }),
                );
            }
            inner.insert(agent.clone(), serde_json::Value::Object(per));
        }
        inner.insert("since".into(), self.since_unix.into());
        inner.insert("until".into(), self.until_unix.into());
        inner.insert("requests".into(), requests.into());
        inner.insert("errors".into(), errors.into());
        let mut outer = serde_json::Map::new();
        outer.insert(interface.to_string(), serde_json::Value::Object(inner));
        serde_json::Value::Object(outer)
    }

    /// Whether the window holds news worth a message: a request of an agent other than
    /// `own_agent` (the engine), or a failed request of the engine itself (an outage, a
    /// refused CIK). The engine's routine check-ins and long polls alone are not news: they
    /// are still counted, in the next report sent for another reason or the daily one.
    pub fn has_news(&self, own_agent: &str) -> bool {
        self.agents.iter().any(|(agent, procs)| {
            procs.values().any(|s| {
                if agent == own_agent {
                    s.errors > 0
                } else {
                    s.requests > 0
                }
            })
        })
    }

    /// Whether the window holds any request.
    pub fn is_empty(&self) -> bool {
        self.agents
            .values()
            .all(|p| p.values().all(|s| s.requests == 0))
    }
}

/// The interface of the default route in `/proc/net/route` text.
pub fn parse_default_route(text: &str) -> Option<String> {
    text.lines().skip(1).find_map(|line| {
        let mut it = line.split_whitespace();
        let iface = it.next()?;
        let dest = it.next()?;
        (dest == "00000000").then(|| iface.to_string())
    })
}

/// The network interface requests go out on: the default route's, else `fallback`, else
/// `"default"`.
pub fn traffic_interface(fallback: &str) -> String {
    super::system::read_small(Path::new("/proc/net/route"))
        .and_then(|t| parse_default_route(&t))
        .or_else(|| Some(fallback.to_string()).filter(|f| !f.is_empty()))
        .unwrap_or_else(|| "default".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> UsageWindow {
        let s = |req, sent, recv| ProcedureUsage {
            requests: req,
            errors: 1,
            bytes_sent: sent,
            bytes_received: recv,
            max_sent: sent,
            max_received: recv,
            p50_ms: 2.0,
            p95_ms: 9.0,
        };
        UsageWindow {
            since_unix: 100,
            until_unix: 200,
            agents: BTreeMap::from([
                (
                    "gwe".to_string(),
                    BTreeMap::from([("write_read".to_string(), s(3, 900, 100))]),
                ),
                (
                    "app".to_string(),
                    BTreeMap::from([("write".to_string(), s(1, 10, 10))]),
                ),
            ]),
        }
    }

    #[test]
    fn legacy_layout_with_extras_where_old_parsers_ignore_them() {
        let json = window().to_report("eth0");
        let eth0 = &json["eth0"];
        assert_eq!(eth0["top_consumer"], "gwe");
        let wr = &eth0["gwe"]["write_read"];
        assert_eq!(
            (
                wr["tot_rx"].as_u64(),
                wr["tot_tx"].as_u64(),
                wr["num"].as_u64()
            ),
            (Some(100), Some(900), Some(3))
        );
        assert_eq!(wr["max_rx"], 100);
        assert_eq!(eth0["requests"], 4);
        assert!(eth0["since"].is_number() && eth0["until"].is_number());
    }

    #[test]
    fn empty_window_has_empty_top_consumer() {
        let w = UsageWindow {
            since_unix: 1,
            until_unix: 2,
            agents: BTreeMap::new(),
        };
        assert!(w.is_empty());
        assert_eq!(w.to_report("eth0")["eth0"]["top_consumer"], "");
    }

    #[test]
    fn only_other_agents_or_own_failures_are_news() {
        let stats = |requests, errors| ProcedureUsage {
            requests,
            errors,
            ..ProcedureUsage::default()
        };
        let with = |agents: Vec<(&str, ProcedureUsage)>| UsageWindow {
            since_unix: 1,
            until_unix: 2,
            agents: agents
                .into_iter()
                .map(|(a, s)| (a.to_string(), BTreeMap::from([("write".to_string(), s)])))
                .collect(),
        };
        assert!(!with(vec![]).has_news("gwe"));
        assert!(!with(vec![("gwe", stats(500, 0))]).has_news("gwe"));
        assert!(with(vec![("gwe", stats(5, 1))]).has_news("gwe"));
        assert!(with(vec![("gwe", stats(5, 0)), ("app", stats(1, 0))]).has_news("gwe"));
        // An agent listed with no requests (not produced by the log, but harmless) is no news.
        assert!(!with(vec![("app", stats(0, 0))]).has_news("gwe"));
        // The rule is about the engine's own agent name, not any name.
        assert!(with(vec![("gwe", stats(5, 0))]).has_news("other"));
    }

    #[test]
    fn default_route_parsing() {
        let text = "Iface\tDestination\tGateway \tFlags\n\
                    eth0\t0000A8C0\t00000000\t0001\n\
                    wwan0\t00000000\t0101A8C0\t0003\n";
        assert_eq!(parse_default_route(text).as_deref(), Some("wwan0"));
        assert_eq!(parse_default_route("Iface\n"), None);
        assert_eq!(parse_default_route(""), None);
    }

    #[test]
    fn reads_a_real_audit_database() {
        let t = tempfile::tempdir().unwrap();
        let missing = UsageWindow::read(&t.path().join("none.db"), 0).unwrap();
        assert!(missing.is_empty());
        let path = t.path().join("ifaces.db");
        gwe_device_client::audit::AuditDb::create(&path).unwrap();
        let empty = UsageWindow::read(&path, 0).unwrap();
        assert!(empty.is_empty());
        std::fs::write(t.path().join("garbage.db"), vec![7u8; 4096]).unwrap();
        assert!(UsageWindow::read(&t.path().join("garbage.db"), 0).is_err());
    }
}
