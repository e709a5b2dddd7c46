//! The supervisor's control protocol, both ends' shared half: the XML-RPC
//! wire format ([`xmlrpc`]) used by the daemon's server and by every client,
//! and the typed client ([`Client`]) that `gwe ctl` and the engine use.
#![deny(missing_docs)]

pub mod xmlrpc;
