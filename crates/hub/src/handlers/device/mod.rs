//! The HTTP Device API (`onep:v1`, provisioning, timestamp), one file per procedure group.

pub mod activate;
pub mod alias;
pub mod download;
pub mod long_poll;
pub mod record;
pub mod timestamp;
