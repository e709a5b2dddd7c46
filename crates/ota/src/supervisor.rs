//! Talking to the supervisor (supervisord or `gwe supervisord`) through gwe-supervisor-client:
//! applying the include directory like `supervisorctl update`, and watching a health window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gwe_supervisor_client::{Client, ClientError, ProcessState};
use serde::{Deserialize, Serialize};

use crate::error::{Failure, FailureKind};

/// What `update` changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSummary {
    /// Groups added.
    pub added: Vec<String>,
    /// Groups restarted with a changed config.
    pub changed: Vec<String>,
    /// Groups removed.
    pub removed: Vec<String>,
}

fn sup_err(what: &str, e: ClientError) -> Failure {
    Failure::new(FailureKind::Supervisor, format!("supervisor: {what}: {e}"))
}

/// Opens a client with a timeout suited to stop/start waits.
pub(crate) fn connect(url: &str) -> Result<Client, Failure> {
    Client::new(url)
        .map(|c| c.with_timeout(Some(Duration::from_secs(120))))
        .map_err(|e| sup_err("bad URL", e))
}

/// `supervisorctl update`: reloadConfig, then remove/re-add only the groups that changed.
pub(crate) fn update(c: &mut Client) -> Result<UpdateSummary, Failure> {
    let changes = c.reload_config().map_err(|e| sup_err("reloadConfig", e))?;
    for g in changes.removed.iter().chain(&changes.changed) {
        // A group whose processes are already stopped answers with a fault; that is fine.
        let _ = c.stop_process_group(g, true);
        c.remove_process_group(g)
            .map_err(|e| sup_err(&format!("removeProcessGroup({g})"), e))?;
    }
    for g in changes.changed.iter().chain(&changes.added) {
        c.add_process_group(g)
            .map_err(|e| sup_err(&format!("addProcessGroup({g})"), e))?;
    }
    Ok(UpdateSummary {
        added: changes.added,
        changed: changes.changed,
        removed: changes.removed,
    })
}

/// How a program looked at the end of a watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramHealth {
    /// `group:name`.
    pub name: String,
    /// State name at the end.
    pub state: String,
    /// Pid at the end.
    pub pid: i64,
    /// The supervisor's spawn error, if any.
    pub spawnerr: String,
    /// The tail of its log, when it failed.
    pub log_tail: String,
}

/// Watches group `group` for `window`: every process must reach RUNNING and stay there with the
/// same pid. Returns the final view, or why it failed (with the view inside the message).
pub(crate) fn watch(
    c: &mut Client,
    group: &str,
    window: Duration,
) -> Result<Vec<ProgramHealth>, (Failure, Vec<ProgramHealth>)> {
    let deadline = Instant::now() + window;
    let mut running_pid: HashMap<String, i64> = HashMap::new();
    loop {
        let all = match c.get_all_process_info() {
            Ok(all) => all,
            Err(e) => return Err((sup_err("getAllProcessInfo", e), vec![])),
        };
        let mine: Vec<_> = all.into_iter().filter(|p| p.group == group).collect();
        let view = |c: &mut Client, failing: bool| -> Vec<ProgramHealth> {
            mine.iter()
                .map(|p| ProgramHealth {
                    name: p.namespec(),
                    state: p.statename.clone(),
                    pid: p.pid,
                    spawnerr: p.spawnerr.clone(),
                    log_tail: if failing {
                        c.tail_process_stdout_log(&p.namespec(), 0, 2048)
                            .map(|t| t.bytes)
                            .unwrap_or_default()
                    } else {
                        String::new()
                    },
                })
                .collect()
        };
        if mine.is_empty() {
            return Err((
                Failure::new(
                    FailureKind::Unhealthy,
                    format!("the supervisor has no program of group `{group}` after the update"),
                ),
                vec![],
            ));
        }
        let mut problem = None;
        for p in &mine {
            let state = p.process_state();
            match state {
                Some(ProcessState::Running) => {
                    let first = *running_pid.entry(p.namespec()).or_insert(p.pid);
                    if first != p.pid {
                        problem = Some(format!(
                            "{} restarted during the health window (pid {first} -> {})",
                            p.namespec(),
                            p.pid
                        ));
                    }
                }
                Some(ProcessState::Starting) | Some(ProcessState::Backoff)
                    if !running_pid.contains_key(&p.namespec()) => {}
                _ => {
                    let was = if running_pid.contains_key(&p.namespec()) {
                        "left RUNNING"
                    } else {
                        "did not reach RUNNING"
                    };
                    problem = Some(format!(
                        "{} {was}: {}{}",
                        p.namespec(),
                        p.statename,
                        if p.spawnerr.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", p.spawnerr)
                        }
                    ));
                }
            }
            if problem.is_some() {
                break;
            }
        }
        if let Some(problem) = problem {
            let v = view(c, true);
            return Err((Failure::new(FailureKind::Unhealthy, problem), v));
        }
        if Instant::now() >= deadline {
            let all_running = mine
                .iter()
                .all(|p| p.process_state() == Some(ProcessState::Running));
            if all_running {
                return Ok(view(c, false));
            }
            let v = view(c, true);
            let states = v
                .iter()
                .map(|h| format!("{} {}", h.name, h.state))
                .collect::<Vec<_>>()
                .join(", ");
            return Err((
                Failure::new(
                    FailureKind::Unhealthy,
                    format!(
                        "not RUNNING after the {} s health window: {states}",
                        window.as_secs_f32()
                    ),
                ),
                v,
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits up to `limit` for group `group` to be all RUNNING; returns the states seen last.
pub(crate) fn wait_running(c: &mut Client, group: &str, limit: Duration) -> Vec<ProgramHealth> {
    let deadline = Instant::now() + limit;
    loop {
        let mine: Vec<_> = c
            .get_all_process_info()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.group == group)
            .collect();
        let done = !mine.is_empty()
            && mine.iter().all(|p| {
                matches!(
                    p.process_state(),
                    Some(ProcessState::Running) | Some(ProcessState::Fatal)
                )
            });
        if done || Instant::now() >= deadline {
            return mine
                .iter()
                .map(|p| ProgramHealth {
                    name: p.namespec(),
                    state: p.statename.clone(),
                    pid: p.pid,
                    spawnerr: p.spawnerr.clone(),
                    log_tail: String::new(),
                })
                .collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
