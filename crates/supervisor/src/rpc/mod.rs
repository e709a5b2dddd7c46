//! The XML-RPC interface: [`server`] speaks HTTP on the sockets and hands
//! each call to the run loop as a [`Request`]; [`dispatch`] is the one `match`
//! from method name to handler, one file per method group. A call that must
//! wait (startProcess with wait, stop, group calls) becomes a [`Pending`] that
//! the loop re-checks after every event, not on a timer.

pub mod args;
pub mod control;
pub mod info;
pub mod process_info;
pub mod process_log;
pub mod server;
pub mod signal;
pub mod start;
pub mod stdin;
pub mod stop;
pub mod system;

use std::path::PathBuf;
use std::sync::Arc;

use gwe_supervisor_client::{Fault, FaultCode, GroupResult, MethodCall, Value};
use tokio::sync::oneshot;

use crate::config::Config;
use crate::state::{Mood, Supervisor};

/// The result of one call.
pub type Reply = Result<Value, Fault>;

/// Re-reads the configuration file (reloadConfig, restart, SIGHUP).
pub type Loader = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// What connections ask of the run loop.
#[derive(Debug)]
pub enum Request {
    /// An XML-RPC call.
    Call {
        /// The parsed call.
        call: MethodCall,
        /// Where the answer goes.
        reply: oneshot::Sender<Reply>,
    },
    /// The log file behind `/logtail/<name>/<channel>` (`name` None: `/mainlogtail`).
    LogPath {
        /// Process namespec, or None for the main log.
        name: Option<String>,
        /// `stdout` or `stderr`.
        channel: String,
        /// The path, if there is one.
        reply: oneshot::Sender<Option<PathBuf>>,
    },
}

/// A fault with supervisord's text (`NAME` or `NAME: extra`).
pub fn fault(code: FaultCode, extra: Option<&str>) -> Fault {
    Fault {
        code: code.code(),
        message: code.message(extra),
    }
}

/// What a handler produced.
#[derive(Debug)]
pub enum Outcome {
    /// The answer.
    Done(Reply),
    /// Answer later, when the condition holds.
    Wait(Wait),
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Self {
        Outcome::Done(r)
    }
}

/// A deferred answer (supervisord's `NOT_DONE_YET` callbacks).
#[derive(Debug)]
pub enum Wait {
    /// startProcess(wait=True): until RUNNING.
    Running {
        /// Group.
        group: String,
        /// Process.
        name: String,
        /// The namespec as the caller gave it (for fault texts).
        spec: String,
    },
    /// stopProcess(wait=True): until a stopped state.
    Stopped {
        /// Group.
        group: String,
        /// Process.
        name: String,
    },
    /// A group call: per-process waits, then the array of results.
    Group {
        /// Still waiting: (group, name, what).
        items: Vec<(String, String, Wait)>,
        /// Results so far.
        results: Vec<Value>,
    },
    /// system.multicall with deferred parts.
    Multi(Vec<Part>),
}

/// One multicall entry.
#[derive(Debug)]
pub enum Part {
    /// Answered.
    Done(Value),
    /// Still waiting.
    Waiting(Wait),
}

impl Wait {
    /// Checks the condition; Some(answer) when done.
    pub fn poll(&mut self, sup: &Supervisor) -> Option<Reply> {
        match self {
            Wait::Running { group, name, spec } => {
                let Some(p) = sup.proc(group, name) else {
                    return Some(Err(fault(FaultCode::BadName, Some(spec))));
                };
                if p.m.spawnerr.is_some() {
                    return Some(Err(fault(FaultCode::SpawnError, Some(spec))));
                }
                use crate::process::ProcessState as S;
                match p.m.state {
                    S::Running => Some(Ok(Value::Bool(true))),
                    S::Starting => None,
                    _ => Some(Err(fault(FaultCode::AbnormalTermination, Some(spec)))),
                }
            }
            Wait::Stopped { group, name } => match sup.proc(group, name) {
                Some(p) if !p.m.state.is_stopped() => None,
                _ => Some(Ok(Value::Bool(true))),
            },
            Wait::Group { items, results } => {
                items.retain_mut(|(g, n, w)| match w.poll(sup) {
                    None => true,
                    Some(r) => {
                        results.push(group_result(g, n, r));
                        false
                    }
                });
                items
                    .is_empty()
                    .then(|| Ok(Value::Array(std::mem::take(results))))
            }
            Wait::Multi(parts) => {
                let mut all = true;
                for part in parts.iter_mut() {
                    if let Part::Waiting(w) = part {
                        match w.poll(sup) {
                            Some(r) => *part = Part::Done(system::multicall_entry(r)),
                            None => all = false,
                        }
                    }
                }
                all.then(|| {
                    Ok(Value::Array(
                        parts
                            .iter_mut()
                            .map(|p| match p {
                                Part::Done(v) => std::mem::replace(v, Value::Nil),
                                Part::Waiting(_) => Value::Nil,
                            })
                            .collect(),
                    ))
                })
            }
        }
    }
}

/// `{name, group, status, description}` for one process of a group call.
pub fn group_result(group: &str, name: &str, r: Reply) -> Value {
    let (status, description) = match r {
        Ok(_) => (FaultCode::Success.code(), "OK".to_owned()),
        Err(f) => (f.code, f.message),
    };
    GroupResult {
        name: name.to_owned(),
        group: group.to_owned(),
        status,
        description,
    }
    .to_value()
}

/// A waiting call and where its answer goes.
#[derive(Debug)]
pub struct Pending {
    wait: Wait,
    reply: oneshot::Sender<Reply>,
}

/// Answers every pending call whose condition now holds.
pub fn poll_pending(sup: &Supervisor, pending: &mut Vec<Pending>) {
    pending.retain_mut(|p| {
        if p.reply.is_closed() {
            return false;
        }
        match p.wait.poll(sup) {
            Some(r) => {
                let (tx, _) = oneshot::channel();
                let _ = std::mem::replace(&mut p.reply, tx).send(r);
                false
            }
            None => true,
        }
    });
}

/// Answers every pending call with SHUTDOWN_STATE (shutdown or restart).
pub fn fail_pending(pending: &mut Vec<Pending>) {
    for p in pending.drain(..) {
        let _ = p.reply.send(Err(fault(FaultCode::ShutdownState, None)));
    }
}

/// Handles one request from a connection.
pub fn handle(sup: &mut Supervisor, req: Request, pending: &mut Vec<Pending>, loader: &Loader) {
    match req {
        Request::Call { call, reply } => match dispatch(sup, &call.method, &call.params, loader) {
            Outcome::Done(r) => {
                let _ = reply.send(r);
            }
            Outcome::Wait(mut wait) => match wait.poll(sup) {
                Some(r) => {
                    let _ = reply.send(r);
                }
                None => pending.push(Pending { wait, reply }),
            },
        },
        Request::LogPath {
            name,
            channel,
            reply,
        } => {
            let path = match name {
                None => sup.log.path(),
                Some(spec) => {
                    let (g, n) = crate::state::split_namespec(&spec);
                    n.and_then(|n| sup.proc(g, n))
                        .and_then(|p| p.log_path(&channel))
                }
            };
            let _ = reply.send(path);
        }
    }
}

/// Every method this server answers (system.listMethods).
pub const METHODS: &[&str] = &[
    "supervisor.addProcessGroup",
    "supervisor.clearAllProcessLogs",
    "supervisor.clearLog",
    "supervisor.clearProcessLog",
    "supervisor.clearProcessLogs",
    "supervisor.getAPIVersion",
    "supervisor.getAllConfigInfo",
    "supervisor.getAllProcessInfo",
    "supervisor.getIdentification",
    "supervisor.getPID",
    "supervisor.getProcessInfo",
    "supervisor.getState",
    "supervisor.getSupervisorVersion",
    "supervisor.getVersion",
    "supervisor.readLog",
    "supervisor.readMainLog",
    "supervisor.readProcessLog",
    "supervisor.readProcessStderrLog",
    "supervisor.readProcessStdoutLog",
    "supervisor.reloadConfig",
    "supervisor.removeProcessGroup",
    "supervisor.restart",
    "supervisor.sendProcessStdin",
    "supervisor.sendRemoteCommEvent",
    "supervisor.shutdown",
    "supervisor.signalAllProcesses",
    "supervisor.signalProcess",
    "supervisor.signalProcessGroup",
    "supervisor.startAllProcesses",
    "supervisor.startProcess",
    "supervisor.startProcessGroup",
    "supervisor.stopAllProcesses",
    "supervisor.stopProcess",
    "supervisor.stopProcessGroup",
    "supervisor.tailProcessLog",
    "supervisor.tailProcessStderrLog",
    "supervisor.tailProcessStdoutLog",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
    "system.multicall",
];

/// The one dispatch `match`: method name -> handler.
pub fn dispatch(sup: &mut Supervisor, method: &str, params: &[Value], loader: &Loader) -> Outcome {
    if method.starts_with("supervisor.") && sup.mood != Mood::Running {
        return Err(fault(FaultCode::ShutdownState, None)).into();
    }
    let p = params;
    match method {
        "supervisor.getAPIVersion" | "supervisor.getVersion" => info::api_version(p).into(),
        "supervisor.getSupervisorVersion" => info::supervisor_version(p).into(),
        "supervisor.getIdentification" => info::identification(sup, p).into(),
        "supervisor.getState" => info::state(sup, p).into(),
        "supervisor.getPID" => info::pid(p).into(),
        "supervisor.readLog" | "supervisor.readMainLog" => process_log::read_main(sup, p).into(),
        "supervisor.clearLog" => process_log::clear_main(sup, p).into(),
        "supervisor.shutdown" => control::shutdown(sup, p).into(),
        "supervisor.restart" => control::restart(sup, p, loader).into(),
        "supervisor.reloadConfig" => control::reload_config(sup, p, loader).into(),
        "supervisor.addProcessGroup" => control::add_group(sup, p).into(),
        "supervisor.removeProcessGroup" => control::remove_group(sup, p).into(),
        "supervisor.getAllConfigInfo" => control::all_config_info(sup, p).into(),
        "supervisor.getProcessInfo" => process_info::one(sup, p).into(),
        "supervisor.getAllProcessInfo" => process_info::all(sup, p).into(),
        "supervisor.startProcess" => start::process(sup, p),
        "supervisor.startProcessGroup" => start::group(sup, p),
        "supervisor.startAllProcesses" => start::all(sup, p),
        "supervisor.stopProcess" => stop::process(sup, p),
        "supervisor.stopProcessGroup" => stop::group(sup, p),
        "supervisor.stopAllProcesses" => stop::all(sup, p),
        "supervisor.signalProcess" => signal::process(sup, p).into(),
        "supervisor.signalProcessGroup" => signal::group(sup, p).into(),
        "supervisor.signalAllProcesses" => signal::all(sup, p).into(),
        "supervisor.sendProcessStdin" => stdin::send(sup, p).into(),
        "supervisor.sendRemoteCommEvent" => stdin::remote_comm_event(p).into(),
        "supervisor.readProcessStdoutLog" | "supervisor.readProcessLog" => {
            process_log::read(sup, p, "stdout").into()
        }
        "supervisor.readProcessStderrLog" => process_log::read(sup, p, "stderr").into(),
        "supervisor.tailProcessStdoutLog" | "supervisor.tailProcessLog" => {
            process_log::tail(sup, p, "stdout").into()
        }
        "supervisor.tailProcessStderrLog" => process_log::tail(sup, p, "stderr").into(),
        "supervisor.clearProcessLogs" | "supervisor.clearProcessLog" => {
            process_log::clear(sup, p).into()
        }
        "supervisor.clearAllProcessLogs" => process_log::clear_all(sup, p).into(),
        "system.listMethods" => system::list_methods(p).into(),
        "system.methodHelp" => system::method_help(p).into(),
        "system.methodSignature" => system::method_signature(p).into(),
        "system.multicall" => system::multicall(sup, p, loader),
        _ => Err(fault(FaultCode::UnknownMethod, None)).into(),
    }
}
