//! Request paths of the HTTP Device API.

/// Write, read, hybrid write/read and long poll.
pub const STACK_ALIAS: &str = "/onep:v1/stack/alias";
/// Prefix of the legacy (One Platform) record path `/onep:v1/stack/alias/<alias>`.
pub const STACK_ALIAS_PREFIX: &str = "/onep:v1/stack/alias/";
/// Historical record.
pub const STACK_RECORD: &str = "/onep:v1/stack/record";
/// Activation.
pub const ACTIVATE: &str = "/provision/activate";
/// Content list, content info and download.
pub const DOWNLOAD: &str = "/provision/download";
/// Server time.
pub const TIMESTAMP: &str = "/timestamp";
