//! The supervisor's control protocol, both ends' shared half: the XML-RPC
//! wire format ([`xmlrpc`]) used by the daemon's server and by every client,
//! supervisord's vocabulary ([`types`]), and the typed client that `gwe ctl`
//! and the engine use.
//!
//! ```no_run
//! use gwe_supervisor_client::{Client, ProcessState};
//!
//! # fn main() -> Result<(), gwe_supervisor_client::ClientError> {
//! // The same URL forms as supervisorctl: unix:///path or http://host:port.
//! let mut c = Client::new("unix:///var/run/supervisor.sock")?.with_auth("user", "123");
//! for p in c.get_all_process_info()? {
//!     if p.process_state() != Some(ProcessState::Running) {
//!         c.start_process(&p.namespec(), true)?; // returns once RUNNING
//!     }
//! }
//! let changes = c.reload_config()?; // what `supervisorctl reread` shows
//! for g in &changes.added {
//!     c.add_process_group(g)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Server side, the daemon uses [`xmlrpc::parse_call`], [`xmlrpc::encode_response`]
//! and [`xmlrpc::encode_fault`].
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
