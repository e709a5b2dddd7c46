//! The supervisor's control protocol, both ends' shared half: the XML-RPC
//! wire format ([`xmlrpc`]) used by the daemon's server and by every client,
//! supervisord's vocabulary ([`types`]), and the typed client that `gwe ctl`
//! and the engine use.
#![deny(missing_docs)]

pub mod types;
pub mod xmlrpc;

pub use types::{FaultCode, GroupResult, ProcessInfo, ProcessState, ShapeError, SupervisorState};
pub use xmlrpc::{Fault, MethodCall, Value, XmlRpcError};
