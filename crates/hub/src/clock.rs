//! Wall-clock helpers (unix seconds), in one place so every timestamp agrees.

/// The current unix time in whole seconds.
pub fn unix_now() -> i64 {
    i64::try_from(gwe_device_api::time::now_unix()).unwrap_or(i64::MAX)
}
