//! The supervisor's control protocol, both ends' shared half: the XML-RPC
//! wire format ([`xmlrpc`]) used by the daemon's server and by every client,
//! supervisord's vocabulary ([`types`]), and the typed client that `gwe ctl`
//! and the engine use.
#![deny(missing_docs)]

mod client;
mod http;
pub mod types;
pub mod url;
pub mod xmlrpc;

pub use client::{
    Channel, Client, ClientError, ConfigChanges, ConfigInfo, DaemonState, LogStream, LogTail,
    DEFAULT_MAX_RESPONSE,
};
pub use url::{BadUrl, ServerUrl};

pub use types::{FaultCode, GroupResult, ProcessInfo, ProcessState, ShapeError, SupervisorState};
pub use xmlrpc::{Fault, MethodCall, Value, XmlRpcError};
