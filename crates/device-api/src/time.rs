//! `If-Modified-Since` and `Last-Modified`: unix seconds or HTTP-date.
//!
//! The API has one-second resolution: clients may send integer unix seconds, servers
//! answer `Last-Modified` as an HTTP-date (`Fri, 15 Jun 2018 19:04:13 GMT`).

use crate::WireError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an `If-Modified-Since` / `Last-Modified` value: integer unix seconds
/// (a fractional part is truncated), or any HTTP-date form (IMF-fixdate, RFC 850,
/// asctime). Returns unix seconds.
pub fn parse_http_time(value: &str) -> Result<u64, WireError> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        let int = match v.split_once('.') {
            Some((i, f)) if f.bytes().all(|b| b.is_ascii_digit()) => i,
            _ => v,
        };
        if int.bytes().all(|b| b.is_ascii_digit()) {
            return int
                .parse::<u64>()
                .map_err(|_| WireError::invalid("If-Modified-Since", value));
        }
    }
    let t =
        httpdate::parse_http_date(v).map_err(|_| WireError::invalid("If-Modified-Since", value))?;
    Ok(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// Formats unix seconds as an IMF-fixdate (`Fri, 15 Jun 2018 19:04:13 GMT`).
pub fn format_http_date(unix_secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs))
}

/// The current unix time in seconds.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_seconds_and_http_dates() {
        assert_eq!(parse_http_time("1408088308").unwrap(), 1_408_088_308);
        assert_eq!(parse_http_time(" 1408088308.9 ").unwrap(), 1_408_088_308);
        assert_eq!(
            parse_http_time("Fri, 15 Jun 2018 19:04:13 GMT").unwrap(),
            1_529_089_453
        );
        assert_eq!(
            parse_http_time("Friday, 15-Jun-18 19:04:13 GMT").unwrap(),
            1_529_089_453
        );
        assert_eq!(
            parse_http_time("Fri Jun 15 19:04:13 2018").unwrap(),
            1_529_089_453
        );
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(
            format_http_date(1_529_089_453),
            "Fri, 15 Jun 2018 19:04:13 GMT"
        );
        let now = now_unix();
        assert_eq!(parse_http_time(&format_http_date(now)).unwrap(), now);
        assert_eq!(parse_http_time(&now.to_string()).unwrap(), now);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "yesterday",
            "-5",
            "12abc",
            "1.2.3",
            "Fri, 32 Jun 2018 19:04:13 GMT",
            "99999999999999999999999",
            "Fri, 15 Jun 2018 19:04:13 PST",
        ] {
            assert!(parse_http_time(bad).is_err(), "{bad}");
        }
        assert!(parse_http_time(&"9".repeat(10_000)).is_err());
    }
}
