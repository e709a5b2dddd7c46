//! gwe-hub: a self-hosted server for the HTTP Device API.
#![deny(missing_docs)]
