//! Wire types of the HTTP Device API (`onep:v1`), shared by the device client and the hub.
#![deny(missing_docs)]
