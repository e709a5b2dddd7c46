//! HTTP Device API client with request auditing, and the `gdc` command line.
//!
//! - [`DeviceClient`]: every procedure of the API (activate, write, read, hybrid
//!   write/read, long poll, record, content list / info / download, timestamp) over
//!   hyper with a keep-alive pool and rustls, with retries where they are safe.
//! - [`Response`]: the raw answer of [`DeviceClient::call`] (`success`, status, body).
//! - [`Error`]: typed failures (`NeedsActivation`, `UnknownIdentity`, `NotEnabled`...).
//! - [`audit`]: the SQLite request log ([`audit::AuditLog`] writes,
//!   [`audit::AuditDb`] reads usage statistics).
//! - [`gwe_config`]: server and identity from the engine's configuration files.
#![deny(missing_docs)]

pub mod audit;
pub mod cli;
mod client;
mod config;
mod download;
mod error;
pub mod gwe_config;
mod response;
mod tls;
mod transport;

pub use client::{Call, DeviceClient, PollOutcome};
pub use config::{default_agent, default_user_agent, ClientConfig, RetryPolicy};
pub use download::{DownloadProgress, DownloadSummary, ProgressFn};
pub use error::Error;
pub use gwe_device_api as wire;
pub use response::Response;
pub use tls::{client_config as tls_client_config, TlsRoots};
