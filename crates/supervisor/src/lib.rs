//! The supervisord-compatible process supervisor.
#![deny(missing_docs)]

pub mod config;
