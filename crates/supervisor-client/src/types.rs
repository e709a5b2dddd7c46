//! supervisord's RPC vocabulary: fault codes, process states and the
//! `getProcessInfo` struct, with conversions to and from [`Value`].

use crate::xmlrpc::Value;

/// Fault codes of supervisord's `xmlrpc.Faults` (also used as the `status`
/// of group-call results, where `SUCCESS` = 80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
#[allow(missing_docs)] // The names are supervisord's; the doc would repeat them.
pub enum FaultCode {
    UnknownMethod = 1,
    IncorrectParameters = 2,
    BadArguments = 3,
    SignatureUnsupported = 4,
    ShutdownState = 6,
    BadName = 10,
    BadSignal = 11,
    NoFile = 20,
    NotExecutable = 21,
    Failed = 30,
    AbnormalTermination = 40,
    SpawnError = 50,
    AlreadyStarted = 60,
    NotRunning = 70,
    Success = 80,
    AlreadyAdded = 90,
    StillRunning = 91,
    CantReread = 92,
}

impl FaultCode {
    /// Every code, in numeric order.
    pub const ALL: [FaultCode; 18] = [
        FaultCode::UnknownMethod,
        FaultCode::IncorrectParameters,
        FaultCode::BadArguments,
        FaultCode::SignatureUnsupported,
        FaultCode::ShutdownState,
        FaultCode::BadName,
        FaultCode::BadSignal,
        FaultCode::NoFile,
        FaultCode::NotExecutable,
        FaultCode::Failed,
        FaultCode::AbnormalTermination,
        FaultCode::SpawnError,
        FaultCode::AlreadyStarted,
        FaultCode::NotRunning,
        FaultCode::Success,
        FaultCode::AlreadyAdded,
        FaultCode::StillRunning,
        FaultCode::CantReread,
    ];

    /// The numeric code on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The code for a number, if supervisord defines it.
    pub fn from_code(code: i64) -> Option<FaultCode> {
        Self::ALL.iter().copied().find(|f| f.code() == code)
    }

    /// supervisord's name, e.g. `BAD_NAME`: the start of a fault string
    /// (`"BAD_NAME: foo"`, built by `RPCError`).
    pub fn name(self) -> &'static str {
        match self {
            FaultCode::UnknownMethod => "UNKNOWN_METHOD",
            FaultCode::IncorrectParameters => "INCORRECT_PARAMETERS",
            FaultCode::BadArguments => "BAD_ARGUMENTS",
            FaultCode::SignatureUnsupported => "SIGNATURE_UNSUPPORTED",
            FaultCode::ShutdownState => "SHUTDOWN_STATE",
            FaultCode::BadName => "BAD_NAME",
            FaultCode::BadSignal => "BAD_SIGNAL",
            FaultCode::NoFile => "NO_FILE",
            FaultCode::NotExecutable => "NOT_EXECUTABLE",
            FaultCode::Failed => "FAILED",
            FaultCode::AbnormalTermination => "ABNORMAL_TERMINATION",
            FaultCode::SpawnError => "SPAWN_ERROR",
            FaultCode::AlreadyStarted => "ALREADY_STARTED",
            FaultCode::NotRunning => "NOT_RUNNING",
            FaultCode::Success => "SUCCESS",
            FaultCode::AlreadyAdded => "ALREADY_ADDED",
            FaultCode::StillRunning => "STILL_RUNNING",
            FaultCode::CantReread => "CANT_REREAD",
        }
    }

    /// The fault string supervisord sends: the name, then `: extra` if any.
    pub fn message(self, extra: Option<&str>) -> String {
        match extra {
            Some(e) => format!("{}: {e}", self.name()),
            None => self.name().to_owned(),
        }
    }
}

/// Process states (`supervisor.states.ProcessStates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i64)]
#[allow(missing_docs)] // supervisord's names.
pub enum ProcessState {
    Stopped = 0,
    Starting = 10,
    Running = 20,
    Backoff = 30,
    Stopping = 40,
    Exited = 100,
    Fatal = 200,
    Unknown = 1000,
}

impl ProcessState {
    /// Every state, in numeric order.
    pub const ALL: [ProcessState; 8] = [
        ProcessState::Stopped,
        ProcessState::Starting,
        ProcessState::Running,
        ProcessState::Backoff,
        ProcessState::Stopping,
        ProcessState::Exited,
        ProcessState::Fatal,
        ProcessState::Unknown,
    ];

    /// The numeric code on the wire (`state`).
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The state for a code, if defined.
    pub fn from_code(code: i64) -> Option<ProcessState> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The upper-case name (`statename`), e.g. `RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            ProcessState::Stopped => "STOPPED",
            ProcessState::Starting => "STARTING",
            ProcessState::Running => "RUNNING",
            ProcessState::Backoff => "BACKOFF",
            ProcessState::Stopping => "STOPPING",
            ProcessState::Exited => "EXITED",
            ProcessState::Fatal => "FATAL",
            ProcessState::Unknown => "UNKNOWN",
        }
    }

    /// The state for a name (`statename`).
    pub fn from_name(name: &str) -> Option<ProcessState> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// `STOPPED_STATES`: STOPPED, EXITED, FATAL, UNKNOWN (status exits 3 on these).
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ProcessState::Stopped
                | ProcessState::Exited
                | ProcessState::Fatal
                | ProcessState::Unknown
        )
    }

    /// `RUNNING_STATES`: RUNNING, BACKOFF, STARTING.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ProcessState::Running | ProcessState::Backoff | ProcessState::Starting
        )
    }
}

impl std::fmt::Display for ProcessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Supervisor daemon states (`getState`): `statecode`/`statename`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
#[allow(missing_docs)] // supervisord's names.
pub enum SupervisorState {
    Fatal = 2,
    Running = 1,
    Restarting = 0,
    Shutdown = -1,
}

impl SupervisorState {
    /// The numeric code on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The upper-case name, e.g. `RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            SupervisorState::Fatal => "FATAL",
            SupervisorState::Running => "RUNNING",
            SupervisorState::Restarting => "RESTARTING",
            SupervisorState::Shutdown => "SHUTDOWN",
        }
    }

    /// The state for a code, if defined.
    pub fn from_code(code: i64) -> Option<SupervisorState> {
        [Self::Fatal, Self::Running, Self::Restarting, Self::Shutdown]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// A value of an unexpected shape in a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected response shape: {0}")]
pub struct ShapeError(pub String);

fn field<'v>(v: &'v Value, name: &str) -> Result<&'v Value, ShapeError> {
    v.get(name)
        .ok_or_else(|| ShapeError(format!("struct member {name:?} missing")))
}

fn int_field(v: &Value, name: &str) -> Result<i64, ShapeError> {
    field(v, name)?
        .as_int()
        .ok_or_else(|| ShapeError(format!("struct member {name:?} is not an int")))
}

fn str_field(v: &Value, name: &str) -> Result<String, ShapeError> {
    match field(v, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(ShapeError(format!(
            "struct member {name:?} is {}, not a string",
            other.type_name()
        ))),
    }
}

/// One process as `getProcessInfo` / `getAllProcessInfo` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process name (`program` or `program_00`).
    pub name: String,
    /// Group name (the program name unless in a `[group:x]`).
    pub group: String,
    /// Human description, e.g. `pid 123, uptime 0:00:05`.
    pub description: String,
    /// Epoch seconds of the last start (0 if never).
    pub start: i64,
    /// Epoch seconds of the last stop (0 if never).
    pub stop: i64,
    /// The server's clock when this was produced.
    pub now: i64,
    /// State code (see [`ProcessState`]); kept numeric so unknown codes survive.
    pub state: i64,
    /// State name, e.g. `RUNNING`.
    pub statename: String,
    /// Spawn error text, empty if none.
    pub spawnerr: String,
    /// Last exit status.
    pub exitstatus: i64,
    /// Deprecated alias of `stdout_logfile`.
    pub logfile: String,
    /// stdout log path, empty if none.
    pub stdout_logfile: String,
    /// stderr log path, empty if none.
    pub stderr_logfile: String,
    /// PID, 0 if not running.
    pub pid: i64,
}

impl ProcessInfo {
    /// The typed state, if the code is known.
    pub fn process_state(&self) -> Option<ProcessState> {
        ProcessState::from_code(self.state)
    }

    /// `group:name`, or just `name` when they are equal (supervisorctl's
    /// `make_namespec`).
    pub fn namespec(&self) -> String {
        if self.name == self.group {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }

    /// The struct in supervisord's member order (rpcinterface `getProcessInfo`).
    pub fn to_value(&self) -> Value {
        let s = |x: &str| Value::String(x.to_owned());
        Value::Struct(vec![
            ("name".into(), s(&self.name)),
            ("group".into(), s(&self.group)),
            ("start".into(), Value::Int(self.start)),
            ("stop".into(), Value::Int(self.stop)),
            ("now".into(), Value::Int(self.now)),
            ("state".into(), Value::Int(self.state)),
            ("statename".into(), s(&self.statename)),
            ("spawnerr".into(), s(&self.spawnerr)),
            ("exitstatus".into(), Value::Int(self.exitstatus)),
            ("logfile".into(), s(&self.logfile)),
            ("stdout_logfile".into(), s(&self.stdout_logfile)),
            ("stderr_logfile".into(), s(&self.stderr_logfile)),
            ("pid".into(), Value::Int(self.pid)),
            ("description".into(), s(&self.description)),
        ])
    }

    /// Reads the struct; member order does not matter, extra members are ignored.
    pub fn from_value(v: &Value) -> Result<ProcessInfo, ShapeError> {
        if v.as_struct().is_none() {
            return Err(ShapeError(format!(
                "process info is {}, not a struct",
                v.type_name()
            )));
        }
        let opt_str = |name: &str| match v.get(name) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let stdout_logfile = opt_str("stdout_logfile");
        Ok(ProcessInfo {
            name: str_field(v, "name")?,
            group: str_field(v, "group")?,
            description: opt_str("description"),
            start: int_field(v, "start")?,
            stop: int_field(v, "stop")?,
            now: int_field(v, "now")?,
            state: int_field(v, "state")?,
            statename: str_field(v, "statename")?,
            spawnerr: opt_str("spawnerr"),
            exitstatus: v.get("exitstatus").and_then(Value::as_int).unwrap_or(0),
            logfile: match v.get("logfile") {
                Some(Value::String(s)) => s.clone(),
                _ => stdout_logfile.clone(),
            },
            stdout_logfile,
            stderr_logfile: opt_str("stderr_logfile"),
            pid: v.get("pid").and_then(Value::as_int).unwrap_or(0),
        })
    }
}

/// One entry of a group call's result (`startProcessGroup`, `stopAllProcesses`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResult {
    /// Process name.
    pub name: String,
    /// Group name.
    pub group: String,
    /// A [`FaultCode`] number; `SUCCESS` (80) when it worked.
    pub status: i64,
    /// Text such as `OK` or the fault's description.
    pub description: String,
}

impl GroupResult {
    /// The struct as supervisord sends it.
    pub fn to_value(&self) -> Value {
        Value::Struct(vec![
            ("name".into(), Value::String(self.name.clone())),
            ("group".into(), Value::String(self.group.clone())),
            ("status".into(), Value::Int(self.status)),
            (
                "description".into(),
                Value::String(self.description.clone()),
            ),
        ])
    }

    /// Reads the struct.
    pub fn from_value(v: &Value) -> Result<GroupResult, ShapeError> {
        Ok(GroupResult {
            name: str_field(v, "name")?,
            group: str_field(v, "group")?,
            status: int_field(v, "status")?,
            description: match v.get("description") {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            },
        })
    }

    /// `group:name`, or `name` when equal.
    pub fn namespec(&self) -> String {
        if self.name == self.group {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_codes_and_names() {
        assert_eq!(FaultCode::from_code(10), Some(FaultCode::BadName));
        assert_eq!(FaultCode::from_code(92), Some(FaultCode::CantReread));
        assert_eq!(FaultCode::from_code(5), None);
        assert_eq!(FaultCode::Success.code(), 80);
        assert_eq!(FaultCode::BadName.message(Some("foo")), "BAD_NAME: foo");
        assert_eq!(FaultCode::ShutdownState.message(None), "SHUTDOWN_STATE");
        for f in FaultCode::ALL {
            assert_eq!(FaultCode::from_code(f.code()), Some(f));
        }
    }

    #[test]
    fn process_states() {
        for s in ProcessState::ALL {
            assert_eq!(ProcessState::from_code(s.code()), Some(s));
            assert_eq!(ProcessState::from_name(s.name()), Some(s));
            assert_ne!(
                s.is_stopped(),
                s.is_running() || s == ProcessState::Stopping
            );
        }
        assert_eq!(ProcessState::Unknown.code(), 1000);
        assert!(ProcessState::Exited.is_stopped());
        assert!(ProcessState::Backoff.is_running());
        assert!(!ProcessState::Stopping.is_stopped() && !ProcessState::Stopping.is_running());
        assert_eq!(
            SupervisorState::from_code(-1),
            Some(SupervisorState::Shutdown)
        );
    }

    fn sample() -> ProcessInfo {
        ProcessInfo {
            name: "web_00".into(),
            group: "web".into(),
            description: "pid 42, uptime 0:01:00".into(),
            start: 100,
            stop: 0,
            now: 160,
            state: 20,
            statename: "RUNNING".into(),
            spawnerr: String::new(),
            exitstatus: 0,
            logfile: "/l/out".into(),
            stdout_logfile: "/l/out".into(),
            stderr_logfile: "/l/err".into(),
            pid: 42,
        }
    }

    #[test]
    fn process_info_round_trip_and_order() {
        let p = sample();
        let v = p.to_value();
        let keys: Vec<&str> = v
            .as_struct()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "group",
                "start",
                "stop",
                "now",
                "state",
                "statename",
                "spawnerr",
                "exitstatus",
                "logfile",
                "stdout_logfile",
                "stderr_logfile",
                "pid",
                "description"
            ]
        );
        assert_eq!(ProcessInfo::from_value(&v), Ok(p.clone()));
        assert_eq!(p.namespec(), "web:web_00");
        assert_eq!(p.process_state(), Some(ProcessState::Running));
    }

    #[test]
    fn process_info_shape_errors() {
        assert!(ProcessInfo::from_value(&Value::Int(1)).is_err());
        let mut v = sample().to_value();
        if let Value::Struct(m) = &mut v {
            m.retain(|(k, _)| k != "state");
        }
        assert!(ProcessInfo::from_value(&v).unwrap_err().0.contains("state"));
        let mut v = sample().to_value();
        if let Value::Struct(m) = &mut v {
            m[0].1 = Value::Int(3);
        }
        assert!(ProcessInfo::from_value(&v).is_err());
        let g = GroupResult {
            name: "a".into(),
            group: "a".into(),
            status: 80,
            description: "OK".into(),
        };
        assert_eq!(GroupResult::from_value(&g.to_value()), Ok(g.clone()));
        assert_eq!(g.namespec(), "a");
        assert!(GroupResult::from_value(&Value::Nil).is_err());
    }
}
