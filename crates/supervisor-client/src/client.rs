//! The typed, synchronous supervisor client: one keep-alive connection,
//! every RPC `gwe ctl` and the engine use, and the streaming log tails.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read};
use std::time::Duration;

use crate::http::{self, ChunkedReader, Conn, Framing, HttpError, Stream};
use crate::types::{GroupResult, ProcessInfo, ShapeError};
use crate::url::{BadUrl, ServerUrl};
use crate::xmlrpc::{self, Fault, Value, XmlRpcError};

/// Default cap on one response body (a `readProcessStdoutLog` of a big range is the largest).
pub const DEFAULT_MAX_RESPONSE: usize = 32 * 1024 * 1024;

/// Everything a call can fail with. The `Display` texts for connection
/// failures are supervisorctl's (`unix:///x.sock no such file`).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not `unix://` or `http://`.
    #[error(transparent)]
    BadUrl(#[from] BadUrl),
    /// The unix socket does not exist (supervisord not running).
    #[error("{url} no such file")]
    NoSuchFile {
        /// The server URL.
        url: String,
    },
    /// Nothing listens there.
    #[error("{url} refused connection")]
    Refused {
        /// The server URL.
        url: String,
    },
    /// Another I/O failure (timeout, reset, permission ...).
    #[error("{url}: {what}: {source}")]
    Io {
        /// The server URL.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// HTTP 401: wrong or missing username/password.
    #[error("Server requires authentication")]
    Unauthorized,
    /// Any other non-200 status.
    #[error("{url}: HTTP {status} {reason}")]
    Status {
        /// The server URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The HTTP response could not be read (malformed or over the size limit).
    #[error("{url}: {message}")]
    Protocol {
        /// The server URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// The body is not a valid XML-RPC response.
    #[error("{url}: bad XML-RPC response: {source}")]
    Xml {
        /// The server URL.
        url: String,
        /// The decoding error.
        source: XmlRpcError,
    },
    /// The server answered with a fault.
    #[error(transparent)]
    Fault(#[from] Fault),
    /// A value of an unexpected type for the method called.
    #[error("{method}: {source}")]
    Shape {
        /// The method called.
        method: String,
        /// What was wrong.
        source: ShapeError,
    },
}

impl ClientError {
    /// The fault, if the server answered with one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            ClientError::Fault(f) => Some(f),
            _ => None,
        }
    }

    /// True for "cannot reach the server at all" errors (no socket file,
    /// refused), which supervisorctl reports without a traceback.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::NoSuchFile { .. } | ClientError::Refused { .. }
        )
    }
}

/// `reloadConfig()`'s answer: group names per kind of change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// Groups in the new config that are not running.
    pub added: Vec<String>,
    /// Groups whose config changed.
    pub changed: Vec<String>,
    /// Groups no longer in the config.
    pub removed: Vec<String>,
}

/// One entry of `getAllConfigInfo()` (the fields supervisorctl uses; all in `raw`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigInfo {
    /// Process name.
    pub name: String,
    /// Group name.
    pub group: String,
    /// Whether the group is active in the running daemon.
    pub inuse: bool,
    /// `autostart`.
    pub autostart: bool,
    /// Group priority.
    pub group_prio: i64,
    /// Process priority.
    pub process_prio: i64,
    /// The whole struct as sent.
    pub raw: Value,
}

/// `getState()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonState {
    /// See [`crate::SupervisorState`].
    pub statecode: i64,
    /// e.g. `RUNNING`.
    pub statename: String,
}

/// `tailProcessStdoutLog()`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// The text read.
    pub bytes: String,
    /// Offset to pass next time.
    pub offset: i64,
    /// True if the log grew by more than `length` since `offset`.
    pub overflow: bool,
}

/// Which output channel of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

impl Channel {
    /// `stdout` / `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
        }
    }
}

/// A synchronous client of one supervisor daemon (supervisord or ours).
///
/// Calls reuse one connection (HTTP keep-alive) and reconnect transparently
/// when the server closed it while idle. Not thread-safe by design: give
/// each thread its own `Client`.
#[derive(Debug)]
pub struct Client {
    url: ServerUrl,
    url_text: String,
    auth: Option<String>,
    connect_timeout: Duration,
    io_timeout: Option<Duration>,
    max_response: usize,
    conn: Option<Conn>,
    req: String,
    payload: String,
    body: Vec<u8>,
}

impl Client {
    /// A client for `url` (`unix:///path` or `http://host:port`); connects lazily.
    pub fn new(url: &str) -> Result<Client, ClientError> {
        let parsed = ServerUrl::parse(url)?;
        Ok(Client {
            url: parsed,
            url_text: url.to_owned(),
            auth: None,
            connect_timeout: Duration::from_secs(10),
            io_timeout: Some(Duration::from_secs(300)),
            max_response: DEFAULT_MAX_RESPONSE,
            conn: None,
            req: String::with_capacity(1024),
            payload: String::with_capacity(512),
            body: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends HTTP basic auth with every request.
    pub fn with_auth(mut self, username: &str, password: &str) -> Client {
        let mut token = String::new();
        base64_into(&mut token, format!("{username}:{password}").as_bytes());
        self.auth = Some(token);
        self
    }

    /// Read/write timeout per socket operation (default 300 s; `start` with
    /// wait blocks until the process is RUNNING). `None` waits forever.
    pub fn with_timeout(mut self, t: Option<Duration>) -> Client {
        self.io_timeout = t;
        self.conn = None;
        self
    }

    /// Connect timeout for TCP (default 10 s).
    pub fn with_connect_timeout(mut self, t: Duration) -> Client {
        self.connect_timeout = t;
        self
    }

    /// Largest response body accepted (default [`DEFAULT_MAX_RESPONSE`]).
    pub fn with_max_response(mut self, bytes: usize) -> Client {
        self.max_response = bytes;
        self
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url_text
    }

    /// Drops the connection (the next call reconnects).
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    fn io_err(&self, what: &'static str, e: io::Error) -> ClientError {
        let url = self.url_text.clone();
        match e.kind() {
            io::ErrorKind::NotFound if matches!(self.url, ServerUrl::Unix(_)) => {
                ClientError::NoSuchFile { url }
            }
            io::ErrorKind::ConnectionRefused => ClientError::Refused { url },
            _ => ClientError::Io {
                url,
                what,
                source: e,
            },
        }
    }

    fn connect(&self) -> Result<Conn, ClientError> {
        Stream::connect(&self.url, self.connect_timeout, self.io_timeout)
            .map(Conn::new)
            .map_err(|e| self.io_err("connecting", e))
    }

    fn http_err(&self, e: HttpError, what: &'static str) -> ClientError {
        match e {
            HttpError::Io(e) => self.io_err(what, e),
            other => ClientError::Protocol {
                url: self.url_text.clone(),
                message: other.to_string(),
            },
        }
    }

    /// Calls `method` with `params`; a fault is `Err(ClientError::Fault)`.
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        self.req.clear();
        self.req.push_str("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: gwe-ctl\r\nContent-Type: text/xml\r\nAccept: text/xml\r\n");
        if let Some(a) = &self.auth {
            let _ = write!(self.req, "Authorization: Basic {a}\r\n");
        }
        self.payload.clear();
        xmlrpc::encode_call_into(&mut self.payload, method, params);
        let _ = write!(self.req, "Content-Length: {}\r\n\r\n", self.payload.len());
        self.req.push_str(&self.payload);

        // A kept-alive connection may have been closed by the server while
        // idle: then retry once on a fresh one (nothing was processed).
        let reused = self.conn.is_some();
        let mut outcome = self.exchange();
        if reused && matches!(outcome, Err(Attempt::Stale)) {
            self.conn = None;
            outcome = self.exchange();
        }
        match outcome {
            Ok(()) => {}
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Stale) => {
                return Err(self.io_err(
                    "reading the response",
                    io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"),
                ))
            }
        }
        match xmlrpc::parse_response(&self.body) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(ClientError::Fault(f)),
            Err(source) => Err(ClientError::Xml {
                url: self.url_text.clone(),
                source,
            }),
        }
    }

    /// One request/response on the current (or a new) connection; the body
    /// lands in `self.body`.
    fn exchange(&mut self) -> Result<(), Attempt> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.connect().map_err(Attempt::Failed)?,
        };
        if let Err(e) = conn.write_all(self.req.as_bytes()) {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Attempt::Stale,
                _ => Attempt::Failed(self.io_err("sending the request", e)),
            });
        }
        // Nothing at all back (EOF or reset before the first byte) on a
        // reused connection means the server had closed it while idle.
        match conn.reader.fill_buf() {
            Ok([]) => return Err(Attempt::Stale),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Err(Attempt::Stale),
            Err(e) => return Err(Attempt::Failed(self.io_err("reading the response", e))),
        }
        let head = http::read_head(&mut conn.reader)
            .map_err(|e| Attempt::Failed(self.http_err(e, "reading the response")))?;
        let mut body = std::mem::take(&mut self.body);
        let res = http::read_body(&mut conn.reader, head.framing, &mut body, self.max_response);
        self.body = body;
        res.map_err(|e| Attempt::Failed(self.http_err(e, "reading the response body")))?;
        if !head.close {
            self.conn = Some(conn);
        }
        match head.status {
            200 => Ok(()),
            401 => Err(Attempt::Failed(ClientError::Unauthorized)),
            status => Err(Attempt::Failed(ClientError::Status {
                url: self.url_text.clone(),
                status,
                reason: head.reason,
            })),
        }
    }

    fn shape(method: &str, what: String) -> ClientError {
        ClientError::Shape {
            method: method.to_owned(),
            source: ShapeError(what),
        }
    }

    fn call_string(&mut self, method: &str, params: &[Value]) -> Result<String, ClientError> {
        match self.call(method, params)? {
            Value::String(s) => Ok(s),
            other => Err(Self::shape(
                method,
                format!("expected a string, got {}", other.type_name()),
            )),
        }
    }

    fn call_bool(&mut self, method: &str, params: &[Value]) -> Result<bool, ClientError> {
        let v = self.call(method, params)?;
        v.as_bool().ok_or_else(|| {
            Self::shape(method, format!("expected a boolean, got {}", v.type_name()))
        })
    }

    fn call_results(
        &mut self,
        method: &str,
        params: &[Value],
    ) -> Result<Vec<GroupResult>, ClientError> {
        let v = self.call(method, params)?;
        let items = v.as_array().ok_or_else(|| {
            Self::shape(method, format!("expected an array, got {}", v.type_name()))
        })?;
        items
            .iter()
            .map(|i| {
                GroupResult::from_value(i).map_err(|source| ClientError::Shape {
                    method: method.to_owned(),
                    source,
                })
            })
            .collect()
    }

    // ---------------------------------------------------------- supervisor.*

    /// `supervisor.getAPIVersion()`: `"3.0"` for supervisord 3.x/4.x.
    pub fn get_api_version(&mut self) -> Result<String, ClientError> {
        self.call_string("supervisor.getAPIVersion", &[])
    }

    /// `supervisor.getVersion()`: the deprecated alias supervisorctl's upcheck uses.
    pub fn get_version(&mut self) -> Result<String, ClientError> {
        self.call_string("supervisor.getVersion", &[])
    }

    /// `supervisor.getSupervisorVersion()`, e.g. `"4.3.0"`.
    pub fn get_supervisor_version(&mut self) -> Result<String, ClientError> {
        self.call_string("supervisor.getSupervisorVersion", &[])
    }

    /// `supervisor.getIdentification()`: the `identifier` setting.
    pub fn get_identification(&mut self) -> Result<String, ClientError> {
        self.call_string("supervisor.getIdentification", &[])
    }

    /// `supervisor.getState()`.
    pub fn get_state(&mut self) -> Result<DaemonState, ClientError> {
        let m = "supervisor.getState";
        let v = self.call(m, &[])?;
        let statecode = v
            .get("statecode")
            .and_then(Value::as_int)
            .ok_or_else(|| Self::shape(m, "no int statecode".into()))?;
        let statename = v
            .get("statename")
            .and_then(Value::as_str)
            .ok_or_else(|| Self::shape(m, "no string statename".into()))?
            .to_owned();
        Ok(DaemonState {
            statecode,
            statename,
        })
    }

    /// `supervisor.getPID()`: the daemon's PID.
    pub fn get_pid(&mut self) -> Result<i64, ClientError> {
        let v = self.call("supervisor.getPID", &[])?;
        v.as_int().ok_or_else(|| {
            Self::shape(
                "supervisor.getPID",
                format!("expected an int, got {}", v.type_name()),
            )
        })
    }

    /// `supervisor.readLog(offset, length)`: the main log; a negative offset
    /// reads from the end (`readLog(-1600, 0)` = last 1600 bytes).
    pub fn read_log(&mut self, offset: i64, length: i64) -> Result<String, ClientError> {
        self.call_string("supervisor.readLog", &[offset.into(), length.into()])
    }

    /// `supervisor.clearLog()`.
    pub fn clear_log(&mut self) -> Result<bool, ClientError> {
        self.call_bool("supervisor.clearLog", &[])
    }

    /// `supervisor.shutdown()`.
    pub fn shutdown(&mut self) -> Result<bool, ClientError> {
        self.call_bool("supervisor.shutdown", &[])
    }

    /// `supervisor.restart()` (what `supervisorctl reload` calls).
    pub fn restart(&mut self) -> Result<bool, ClientError> {
        self.call_bool("supervisor.restart", &[])
    }

    /// `supervisor.reloadConfig()`: re-reads the config, changes nothing.
    pub fn reload_config(&mut self) -> Result<ConfigChanges, ClientError> {
        let m = "supervisor.reloadConfig";
        let v = self.call(m, &[])?;
        let lists = v
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_array)
            .filter(|l| l.len() == 3)
            .ok_or_else(|| Self::shape(m, "expected [[added, changed, removed]]".into()))?;
        let names = |v: &Value| -> Result<Vec<String>, ClientError> {
            v.as_array()
                .ok_or_else(|| Self::shape(m, "group list is not an array".into()))?
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Self::shape(m, "group name is not a string".into()))
                })
                .collect()
        };
        Ok(ConfigChanges {
            added: names(&lists[0])?,
            changed: names(&lists[1])?,
            removed: names(&lists[2])?,
        })
    }

    /// `supervisor.addProcessGroup(name)`.
    pub fn add_process_group(&mut self, name: &str) -> Result<bool, ClientError> {
        self.call_bool("supervisor.addProcessGroup", &[name.into()])
    }

    /// `supervisor.removeProcessGroup(name)`.
    pub fn remove_process_group(&mut self, name: &str) -> Result<bool, ClientError> {
        self.call_bool("supervisor.removeProcessGroup", &[name.into()])
    }

    /// `supervisor.getAllConfigInfo()`.
    pub fn get_all_config_info(&mut self) -> Result<Vec<ConfigInfo>, ClientError> {
        let m = "supervisor.getAllConfigInfo";
        let v = self.call(m, &[])?;
        let Value::Array(items) = v else {
            return Err(Self::shape(
                m,
                format!("expected an array, got {}", v.type_name()),
            ));
        };
        items
            .into_iter()
            .map(|raw| {
                let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
                Ok(ConfigInfo {
                    name: s("name").ok_or_else(|| Self::shape(m, "no name".into()))?,
                    group: s("group").ok_or_else(|| Self::shape(m, "no group".into()))?,
                    inuse: raw.get("inuse").and_then(Value::as_bool).unwrap_or(false),
                    autostart: raw
                        .get("autostart")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    group_prio: raw.get("group_prio").and_then(Value::as_int).unwrap_or(0),
                    process_prio: raw.get("process_prio").and_then(Value::as_int).unwrap_or(0),
                    raw,
                })
            })
            .collect()
    }

    /// `supervisor.getProcessInfo(name)` (`name` or `group:name`).
    pub fn get_process_info(&mut self, name: &str) -> Result<ProcessInfo, ClientError> {
        let m = "supervisor.getProcessInfo";
        let v = self.call(m, &[name.into()])?;
        ProcessInfo::from_value(&v).map_err(|source| ClientError::Shape {
            method: m.to_owned(),
            source,
        })
    }

    /// `supervisor.getAllProcessInfo()`, sorted by group then name by the server.
    pub fn get_all_process_info(&mut self) -> Result<Vec<ProcessInfo>, ClientError> {
        let m = "supervisor.getAllProcessInfo";
        let v = self.call(m, &[])?;
        let items = v
            .as_array()
            .ok_or_else(|| Self::shape(m, format!("expected an array, got {}", v.type_name())))?;
        items
            .iter()
            .map(|i| {
                ProcessInfo::from_value(i).map_err(|source| ClientError::Shape {
                    method: m.to_owned(),
                    source,
                })
            })
            .collect()
    }

    /// `supervisor.startProcess(name, wait)`; with `wait` it returns once RUNNING.
    pub fn start_process(&mut self, name: &str, wait: bool) -> Result<bool, ClientError> {
        self.call_bool("supervisor.startProcess", &[name.into(), wait.into()])
    }

    /// `supervisor.startProcessGroup(name, wait)`.
    pub fn start_process_group(
        &mut self,
        name: &str,
        wait: bool,
    ) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.startProcessGroup", &[name.into(), wait.into()])
    }

    /// `supervisor.startAllProcesses(wait)`.
    pub fn start_all_processes(&mut self, wait: bool) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.startAllProcesses", &[wait.into()])
    }

    /// `supervisor.stopProcess(name, wait)`.
    pub fn stop_process(&mut self, name: &str, wait: bool) -> Result<bool, ClientError> {
        self.call_bool("supervisor.stopProcess", &[name.into(), wait.into()])
    }

    /// `supervisor.stopProcessGroup(name, wait)`.
    pub fn stop_process_group(
        &mut self,
        name: &str,
        wait: bool,
    ) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.stopProcessGroup", &[name.into(), wait.into()])
    }

    /// `supervisor.stopAllProcesses(wait)`.
    pub fn stop_all_processes(&mut self, wait: bool) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.stopAllProcesses", &[wait.into()])
    }

    /// `supervisor.signalProcess(name, signal)`; `signal` is a name (`HUP`) or number.
    pub fn signal_process(&mut self, name: &str, signal: &str) -> Result<bool, ClientError> {
        self.call_bool("supervisor.signalProcess", &[name.into(), signal.into()])
    }

    /// `supervisor.signalProcessGroup(name, signal)`.
    pub fn signal_process_group(
        &mut self,
        name: &str,
        signal: &str,
    ) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results(
            "supervisor.signalProcessGroup",
            &[name.into(), signal.into()],
        )
    }

    /// `supervisor.signalAllProcesses(signal)`.
    pub fn signal_all_processes(&mut self, signal: &str) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.signalAllProcesses", &[signal.into()])
    }

    /// `supervisor.readProcessStdoutLog(name, offset, length)` (negative offset: from the end).
    pub fn read_process_stdout_log(
        &mut self,
        name: &str,
        offset: i64,
        length: i64,
    ) -> Result<String, ClientError> {
        self.call_string(
            "supervisor.readProcessStdoutLog",
            &[name.into(), offset.into(), length.into()],
        )
    }

    /// `supervisor.readProcessStderrLog(name, offset, length)`.
    pub fn read_process_stderr_log(
        &mut self,
        name: &str,
        offset: i64,
        length: i64,
    ) -> Result<String, ClientError> {
        self.call_string(
            "supervisor.readProcessStderrLog",
            &[name.into(), offset.into(), length.into()],
        )
    }

    /// `readProcessStdoutLog` or `readProcessStderrLog` by channel.
    pub fn read_process_log(
        &mut self,
        name: &str,
        channel: Channel,
        offset: i64,
        length: i64,
    ) -> Result<String, ClientError> {
        match channel {
            Channel::Stdout => self.read_process_stdout_log(name, offset, length),
            Channel::Stderr => self.read_process_stderr_log(name, offset, length),
        }
    }

    fn tail(
        &mut self,
        m: &str,
        name: &str,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, ClientError> {
        let v = self.call(m, &[name.into(), offset.into(), length.into()])?;
        match v.as_array() {
            Some([Value::String(bytes), off, over]) => Ok(LogTail {
                bytes: bytes.clone(),
                offset: off
                    .as_int()
                    .ok_or_else(|| Self::shape(m, "offset not an int".into()))?,
                overflow: over
                    .as_bool()
                    .ok_or_else(|| Self::shape(m, "overflow not a boolean".into()))?,
            }),
            _ => Err(Self::shape(m, "expected [string, int, boolean]".into())),
        }
    }

    /// `supervisor.tailProcessStdoutLog(name, offset, length)`.
    pub fn tail_process_stdout_log(
        &mut self,
        name: &str,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, ClientError> {
        self.tail("supervisor.tailProcessStdoutLog", name, offset, length)
    }

    /// `supervisor.tailProcessStderrLog(name, offset, length)`.
    pub fn tail_process_stderr_log(
        &mut self,
        name: &str,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, ClientError> {
        self.tail("supervisor.tailProcessStderrLog", name, offset, length)
    }

    /// `supervisor.clearProcessLogs(name)`.
    pub fn clear_process_logs(&mut self, name: &str) -> Result<bool, ClientError> {
        self.call_bool("supervisor.clearProcessLogs", &[name.into()])
    }

    /// `supervisor.clearAllProcessLogs()`.
    pub fn clear_all_process_logs(&mut self) -> Result<Vec<GroupResult>, ClientError> {
        self.call_results("supervisor.clearAllProcessLogs", &[])
    }

    /// `supervisor.sendProcessStdin(name, chars)`.
    pub fn send_process_stdin(&mut self, name: &str, chars: &str) -> Result<bool, ClientError> {
        self.call_bool("supervisor.sendProcessStdin", &[name.into(), chars.into()])
    }

    // -------------------------------------------------------------- system.*

    /// `system.listMethods()`.
    pub fn list_methods(&mut self) -> Result<Vec<String>, ClientError> {
        let m = "system.listMethods";
        let v = self.call(m, &[])?;
        v.as_array()
            .ok_or_else(|| Self::shape(m, "expected an array".into()))?
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Self::shape(m, "method name not a string".into()))
            })
            .collect()
    }

    /// `system.multicall([...])`: one round trip; each call's own result or fault
    /// (supervisord's result layout: plain values, faults as structs).
    pub fn multicall(
        &mut self,
        calls: &[(&str, Vec<Value>)],
    ) -> Result<Vec<Result<Value, Fault>>, ClientError> {
        let m = "system.multicall";
        let arg = Value::Array(
            calls
                .iter()
                .map(|(name, params)| {
                    Value::Struct(vec![
                        ("methodName".into(), Value::String((*name).to_owned())),
                        ("params".into(), Value::Array(params.clone())),
                    ])
                })
                .collect(),
        );
        let v = self.call(m, &[arg])?;
        let Value::Array(items) = v else {
            return Err(Self::shape(m, "expected an array".into()));
        };
        items
            .into_iter()
            .map(|item| {
                // supervisord returns each result as is (not wrapped in a
                // one-element array as the multicall spec has it) and each
                // fault as a {faultCode, faultString} struct.
                let code = item.get("faultCode").and_then(Value::as_int);
                let msg = item.get("faultString").and_then(Value::as_str);
                match (code, msg) {
                    (Some(code), Some(msg)) => Ok(Err(Fault {
                        code,
                        message: msg.to_owned(),
                    })),
                    _ => Ok(Ok(item)),
                }
            })
            .collect()
    }

    // --------------------------------------------------------- streaming tails

    /// `GET /logtail/<name>/<channel>`: follows a process log (`tail -f`).
    /// The stream starts with the log's recent tail and then blocks for new
    /// output; it has no read timeout. Uses its own connection.
    pub fn logtail(&self, name: &str, channel: Channel) -> Result<LogStream, ClientError> {
        self.stream_get(&format!("/logtail/{name}/{}", channel.as_str()))
    }

    /// `GET /mainlogtail`: follows the daemon's main log (`maintail -f`).
    pub fn mainlogtail(&self) -> Result<LogStream, ClientError> {
        self.stream_get("/mainlogtail")
    }

    fn stream_get(&self, path: &str) -> Result<LogStream, ClientError> {
        let stream = Stream::connect(&self.url, self.connect_timeout, self.io_timeout)
            .map_err(|e| self.io_err("connecting", e))?;
        let mut conn = Conn::new(stream);
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: gwe-ctl\r\nAccept: */*\r\n"
        );
        if let Some(a) = &self.auth {
            let _ = write!(req, "Authorization: Basic {a}\r\n");
        }
        req.push_str("\r\n");
        conn.write_all(req.as_bytes())
            .map_err(|e| self.io_err("sending the request", e))?;
        let head = http::read_head(&mut conn.reader)
            .map_err(|e| self.http_err(e, "reading the response"))?;
        match head.status {
            200 => {}
            401 => return Err(ClientError::Unauthorized),
            status => {
                return Err(ClientError::Status {
                    url: self.url_text.clone(),
                    status,
                    reason: head.reason,
                })
            }
        }
        // Following waits for output as long as it takes.
        conn.reader
            .get_ref()
            .set_timeouts(None)
            .map_err(|e| self.io_err("configuring the socket", e))?;
        let inner = match head.framing {
            Framing::Chunked => StreamBody::Chunked(ChunkedReader::new(conn.reader)),
            Framing::Length(n) => StreamBody::Plain(conn.reader.take(n)),
            Framing::UntilClose => StreamBody::Plain(conn.reader.take(u64::MAX)),
        };
        Ok(LogStream { inner })
    }
}

/// Outcome of one exchange attempt.
enum Attempt {
    /// The kept-alive connection was closed before any response: retry.
    Stale,
    Failed(ClientError),
}

/// The body of a streaming log tail; read it until EOF (daemon gone) or drop it.
#[derive(Debug)]
pub struct LogStream {
    inner: StreamBody,
}

#[derive(Debug)]
enum StreamBody {
    Chunked(ChunkedReader<BufReader<Stream>>),
    Plain(io::Take<BufReader<Stream>>),
}

impl Read for LogStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            StreamBody::Chunked(r) => r.read(buf),
            StreamBody::Plain(r) => r.read(buf),
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_into(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_token() {
        let mut s = String::new();
        base64_into(&mut s, b"user:123");
        assert_eq!(s, "dXNlcjoxMjM=");
        s.clear();
        base64_into(&mut s, b"Aladdin:open sesame");
        assert_eq!(s, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn unreachable_errors_read_like_supervisorctl() {
        let dir = std::env::temp_dir().join(format!("gwe-sc-test-{}", std::process::id()));
        let url = format!("unix://{}/missing.sock", dir.display());
        let mut c = Client::new(&url).unwrap();
        let e = c.get_version().unwrap_err();
        assert_eq!(e.to_string(), format!("{url} no such file"));
        assert!(e.is_unreachable());

        // A port that was just free: connection refused.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = format!("http://127.0.0.1:{port}");
        let mut c = Client::new(&url).unwrap();
        assert_eq!(
            c.get_version().unwrap_err().to_string(),
            format!("{url} refused connection")
        );
        assert!(Client::new("https://x").is_err());
    }
}
