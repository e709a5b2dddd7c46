//! gwe-hub: a self-hosted server for the HTTP Device API, with an operator API.
//!
//! - [`serve`] / [`Hub`]: open a data directory and serve a listener (plain or TLS).
//! - [`HubConfig`]: data directory, default product, history bound, body limits.
//! - [`router::router`]: every route; handlers in [`handlers::device`] (the Device API, wire
//!   types from `gwe-device-api`) and [`handlers::operator`] (JSON under `/api/v1`).
//! - [`store::Store`]: the storage trait; [`store::SqliteStore`] the embedded default.
//! - [`notify::Notifier`]: in-memory wake-ups for long polls.
//! - [`cli`]: the `gwe-hub` command line (server and operator client).
#![deny(missing_docs)]

pub mod auth;
pub mod blobs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod handlers;
pub mod http1;
pub mod limits;
pub mod notify;
pub mod operator_token;
pub mod router;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;

pub use config::{HubConfig, TlsFiles};
pub use error::HubError;
pub use server::{serve, Hub, StartError};
