//! `Request-Timeout` of long polls: milliseconds, at most 300000.

use crate::WireError;
use std::time::Duration;

/// The largest `Request-Timeout` the API allows (300 s).
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 300_000;

/// A validated `Request-Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestTimeout(u64);

impl RequestTimeout {
    /// Milliseconds, rejecting values above [`MAX_REQUEST_TIMEOUT_MS`].
    pub fn from_millis(ms: u64) -> Result<RequestTimeout, WireError> {
        if ms > MAX_REQUEST_TIMEOUT_MS {
            return Err(WireError::RequestTimeoutTooLong(ms));
        }
        Ok(RequestTimeout(ms))
    }

    /// Milliseconds, clamped to [`MAX_REQUEST_TIMEOUT_MS`] (for callers that prefer
    /// waiting the maximum over failing).
    pub fn clamped(ms: u64) -> RequestTimeout {
        RequestTimeout(ms.min(MAX_REQUEST_TIMEOUT_MS))
    }

    /// Parses the header value: decimal milliseconds (surrounding spaces allowed).
    pub fn parse(value: &str) -> Result<RequestTimeout, WireError> {
        let v = value.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WireError::invalid("Request-Timeout", value));
        }
        match v.parse::<u64>() {
            Ok(ms) => RequestTimeout::from_millis(ms),
            Err(_) => Err(WireError::RequestTimeoutTooLong(u64::MAX)),
        }
    }

    /// Milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// As a duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }

    /// Header value.
    pub fn format(self) -> String {
        self.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_within_bounds() {
        assert_eq!(RequestTimeout::parse("30000").unwrap().as_millis(), 30_000);
        assert_eq!(
            RequestTimeout::parse(" 0 ").unwrap().as_duration(),
            Duration::ZERO
        );
        assert_eq!(RequestTimeout::parse("300000").unwrap().format(), "300000");
    }

    #[test]
    fn rejects_too_long_and_malformed() {
        assert_eq!(
            RequestTimeout::parse("300001"),
            Err(WireError::RequestTimeoutTooLong(300_001))
        );
        assert!(matches!(
            RequestTimeout::parse("99999999999999999999999"),
            Err(WireError::RequestTimeoutTooLong(_))
        ));
        for bad in ["", "-1", "1.5", "30s", "0x10", "+5"] {
            assert!(
                matches!(
                    RequestTimeout::parse(bad),
                    Err(WireError::InvalidField { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            RequestTimeout::clamped(10_000_000).as_millis(),
            MAX_REQUEST_TIMEOUT_MS
        );
    }
}
