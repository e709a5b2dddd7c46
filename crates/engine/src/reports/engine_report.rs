//! `engine_report`: the hosted apps and the engine itself.
//!
//! Legacy layout read by existing cloud apps: `{"apps": [{"<name>": {"exitstatus", "status",
//! "uptime", "version", "pid"}}, ...], "version": "<engine version>"}`; richer data sits
//! beside it (`engine`, `supervisor`, `programs`; schema: docs/reports.md).

use std::collections::BTreeMap;
use std::path::Path;

use gwe_supervisor_client::ProcessInfo;
use serde::{Deserialize, Serialize};

/// What the supervisor said this cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupervisorSnapshot {
    /// Its state name (`RUNNING`...), `None` when it could not be asked.
    pub state: Option<String>,
    /// Every process it manages.
    pub processes: Vec<ProcessInfo>,
    /// Why it could not be asked.
    pub error: Option<String>,
}

/// One app in the legacy layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyApp {
    /// Last exit status.
    pub exitstatus: i64,
    /// Supervisor state name (`RUNNING`, `FATAL`...).
    pub status: String,
    /// Seconds since it started (0 when not running).
    pub uptime: i64,
    /// Installed version, `null` when unknown.
    pub version: Option<String>,
    /// Process id (0 when not running).
    pub pid: i64,
}

/// One program, richly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramReport {
    /// Program (process) name.
    pub name: String,
    /// Group name.
    pub group: String,
    /// Supervisor state name.
    pub state: String,
    /// Process id (0 when not running).
    pub pid: i64,
    /// Seconds since it started (0 when not running).
    pub uptime_s: i64,
    /// Last exit status.
    pub exitstatus: i64,
    /// Restarts the engine has seen (a new start time of a program it saw started before).
    pub restarts: u64,
    /// Installed version, `null` when unknown.
    pub version: Option<String>,
    /// Supervisor's spawn error, `null` when none.
    pub spawnerr: Option<String>,
    /// Supervisor's one-line description.
    pub description: String,
}

/// The engine itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineSelf {
    /// Version.
    pub version: String,
    /// Seconds since this engine process started.
    pub uptime_s: u64,
    /// Its pid.
    pub pid: u32,
}

/// The supervisor, as seen from the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupervisorReport {
    /// Whether it answered.
    pub reachable: bool,
    /// Its state name, `null` when unreachable.
    pub state: Option<String>,
    /// Why it did not answer.
    pub error: Option<String>,
}

/// The link to the cloud, as the engine saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// Last successful check-in before this one, unix seconds.
    pub last_checkin: Option<u64>,
    /// When the outage that just ended began, unix seconds (`null`: there was none).
    pub offline_since: Option<u64>,
    /// Failed attempts during that outage.
    pub failed_attempts: u64,
}

/// The `engine_report` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineReport {
    /// Legacy: one `{name: {...}}` object per app.
    pub apps: Vec<BTreeMap<String, LegacyApp>>,
    /// Legacy: the engine's version.
    pub version: String,
    /// The engine.
    pub engine: EngineSelf,
    /// The supervisor.
    pub supervisor: SupervisorReport,
    /// Every program, richly.
    pub programs: Vec<ProgramReport>,
    /// The link to the cloud (filled in by the check-in).
    pub link: LinkReport,
}

/// Restart counts kept across cycles (the supervisor does not expose them): a program whose
/// start time changed since the last look has restarted. Restarts between two looks count once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartTracker {
    /// Per program: last start time seen and restarts counted.
    pub seen: BTreeMap<String, (i64, u64)>,
}

impl RestartTracker {
    /// Updates the counts from `processes` and returns each program's count.
    pub fn observe(&mut self, processes: &[ProcessInfo]) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for p in processes {
            let key = p.namespec();
            let entry = self.seen.entry(key.clone()).or_insert((p.start, 0));
            if p.start != entry.0 {
                if entry.0 != 0 && p.start != 0 {
                    entry.1 += 1;
                }
                entry.0 = p.start;
            }
            out.insert(key, entry.1);
        }
        // Forget programs that are gone so the state does not grow forever.
        self.seen.retain(|k, _| out.contains_key(k));
        out
    }
}

/// Installed versions per app from `<state dir>/versions.json`: `{"app": "1.2"}` or
/// `{"app": {"version": "1.2", ...}}`. Missing or unreadable: empty (versions are `null`).
pub fn load_versions(state_dir: &Path) -> BTreeMap<String, String> {
    let path = state_dir.join("versions.json");
    let Some(text) = super::system::read_small(&path) else {
        return BTreeMap::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        tracing::warn!(path = %path.display(), "versions.json is not a JSON object; versions reported as null");
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(k, v)| {
            let version = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Object(o) => o.get("version")?.as_str()?.to_string(),
                _ => return None,
            };
            Some((k, version))
        })
        .collect()
}

/// Builds the report. `now` is unix seconds (the supervisor's `now` is preferred per process).
pub fn build(
    snapshot: &SupervisorSnapshot,
    versions: &BTreeMap<String, String>,
    restarts: &BTreeMap<String, u64>,
    engine_uptime_s: u64,
) -> EngineReport {
    let mut apps = Vec::new();
    let mut programs = Vec::new();
    for p in &snapshot.processes {
        let running = p.pid > 0 && p.start > 0;
        let uptime = if running { (p.now - p.start).max(0) } else { 0 };
        let version = versions
            .get(&p.name)
            .or_else(|| versions.get(&p.group))
            .cloned();
        let name = p.namespec();
        let mut one = BTreeMap::new();
        one.insert(
            name.clone(),
            LegacyApp {
                exitstatus: p.exitstatus,
                status: p.statename.clone(),
                uptime,
                version: version.clone(),
                pid: p.pid,
            },
        );
        apps.push(one);
        programs.push(ProgramReport {
            name: p.name.clone(),
            group: p.group.clone(),
            state: p.statename.clone(),
            pid: p.pid,
            uptime_s: uptime,
            exitstatus: p.exitstatus,
            restarts: restarts.get(&name).copied().unwrap_or(0),
            version,
            spawnerr: Some(p.spawnerr.clone()).filter(|s| !s.is_empty()),
            description: p.description.clone(),
        });
    }
    EngineReport {
        apps,
        version: crate::VERSION.to_string(),
        engine: EngineSelf {
            version: crate::VERSION.to_string(),
            uptime_s: engine_uptime_s,
            pid: std::process::id(),
        },
        supervisor: SupervisorReport {
            reachable: snapshot.error.is_none(),
            state: snapshot.state.clone(),
            error: snapshot.error.clone(),
        },
        programs,
        link: LinkReport::default(),
    }
}

impl EngineReport {
    /// Everything but uptimes and descriptions (which hold the uptime): a change of state,
    /// pid, exit status, version or restart count makes the report new.
    pub fn fingerprint(&self) -> serde_json::Value {
        let programs: Vec<_> = self
            .programs
            .iter()
            .map(|p| {
                (
                    &p.name,
                    &p.group,
                    &p.state,
                    p.pid,
                    p.exitstatus,
                    p.restarts,
                    &p.version,
                    &p.spawnerr,
                )
            })
            .collect();
        serde_json::json!({
            "version": self.version,
            "supervisor": self.supervisor,
            "programs": programs,
            "offline_since": self.link.offline_since,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(name: &str, state: &str, pid: i64, start: i64, now: i64) -> ProcessInfo {
        ProcessInfo {
            name: name.into(),
            group: name.into(),
            description: format!("pid {pid}"),
            start,
            stop: 0,
            now,
            state: 20,
            statename: state.into(),
            spawnerr: String::new(),
            exitstatus: 0,
            logfile: String::new(),
            stdout_logfile: String::new(),
            stderr_logfile: String::new(),
            pid,
        }
    }

    #[test]
    fn legacy_layout_and_rich_programs() {
        let snap = SupervisorSnapshot {
            state: Some("RUNNING".into()),
            processes: vec![
                proc("gwe", "RUNNING", 10, 100, 160),
                proc("app", "FATAL", 0, 0, 160),
            ],
            error: None,
        };
        let versions = BTreeMap::from([("app".to_string(), "3".to_string())]);
        let report = build(&snap, &versions, &BTreeMap::new(), 5);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["apps"][0]["gwe"]["status"], "RUNNING");
        assert_eq!(json["apps"][0]["gwe"]["uptime"], 60);
        assert_eq!(json["apps"][0]["gwe"]["pid"], 10);
        assert!(json["apps"][0]["gwe"]["version"].is_null());
        assert_eq!(json["apps"][1]["app"]["version"], "3");
        assert_eq!(json["apps"][1]["app"]["uptime"], 0);
        assert_eq!(json["version"], crate::VERSION);
        assert_eq!(json["supervisor"]["reachable"], true);
        assert_eq!(json["programs"][1]["state"], "FATAL");
    }

    #[test]
    fn restarts_are_counted_across_cycles() {
        let mut t = RestartTracker::default();
        assert_eq!(t.observe(&[proc("a", "RUNNING", 5, 100, 100)])["a"], 0);
        assert_eq!(t.observe(&[proc("a", "RUNNING", 5, 100, 200)])["a"], 0);
        assert_eq!(t.observe(&[proc("a", "RUNNING", 6, 150, 200)])["a"], 1);
        assert_eq!(t.observe(&[proc("a", "BACKOFF", 0, 150, 300)])["a"], 1);
        assert_eq!(t.observe(&[proc("a", "RUNNING", 7, 310, 320)])["a"], 2);
        t.observe(&[]);
        assert!(t.seen.is_empty());
    }

    #[test]
    fn versions_file_forms_and_garbage() {
        let t = tempfile::tempdir().unwrap();
        assert!(load_versions(t.path()).is_empty());
        std::fs::write(
            t.path().join("versions.json"),
            r#"{"a":"1","b":{"version":"2"},"c":3}"#,
        )
        .unwrap();
        let v = load_versions(t.path());
        assert_eq!(v.len(), 2);
        assert_eq!(v["b"], "2");
        std::fs::write(t.path().join("versions.json"), "[not an object").unwrap();
        assert!(load_versions(t.path()).is_empty());
    }

    #[test]
    fn fingerprint_ignores_uptime_only() {
        let snap = |now, pid| SupervisorSnapshot {
            state: Some("RUNNING".into()),
            processes: vec![proc("a", "RUNNING", pid, 100, now)],
            error: None,
        };
        let (v, r) = (BTreeMap::new(), BTreeMap::new());
        let a = build(&snap(200, 5), &v, &r, 1).fingerprint();
        assert_eq!(a, build(&snap(900, 5), &v, &r, 99).fingerprint());
        assert_ne!(a, build(&snap(200, 6), &v, &r, 1).fingerprint());
    }
}
