//! HTTP Device API client with request auditing.
#![deny(missing_docs)]
