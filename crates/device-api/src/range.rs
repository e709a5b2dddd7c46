//! `Range: bytes=X-Y | X- | -Y` and `Content-Range: bytes first-last/total`.
//!
//! Positions are 0-based and inclusive. Only single ranges are served: a multi-range
//! request is reported as [`WireError::MultipleRanges`] and a server answers it, like
//! a syntactically invalid `Range`, with the whole content (200), as RFC 9110 allows.

use crate::WireError;

/// A parsed `Range` header, before the content size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRangeSpec {
    /// `X-Y`.
    FromTo(u64, u64),
    /// `X-`: from X to the end.
    From(u64),
    /// `-Y`: the last Y bytes.
    Suffix(u64),
}

/// A range resolved against a content of `total` bytes: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedRange {
    /// First byte position.
    pub first: u64,
    /// Last byte position (inclusive).
    pub last: u64,
    /// Size of the whole content.
    pub total: u64,
}

impl ResolvedRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true (a resolved range has at least one byte); for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The matching `Content-Range` header value.
    pub fn content_range(&self) -> ContentRange {
        ContentRange {
            first: self.first,
            last: self.last,
            total: Some(self.total),
        }
    }
}

impl ByteRangeSpec {
    /// Parses a `Range` header value (`bytes=...`, unit case-insensitive, spaces
    /// around numbers tolerated).
    pub fn parse(value: &str) -> Result<ByteRangeSpec, WireError> {
        let bad = || WireError::BadRange(value.chars().take(64).collect());
        let (unit, set) = value.trim().split_once('=').ok_or_else(bad)?;
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return Err(bad());
        }
        if set.contains(',') {
            return Err(WireError::MultipleRanges);
        }
        let (a, b) = set.trim().split_once('-').ok_or_else(bad)?;
        let num = |s: &str| -> Result<Option<u64>, WireError> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse::<u64>().map(Some).map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        match (num(a)?, num(b)?) {
            (Some(x), Some(y)) if x <= y => Ok(ByteRangeSpec::FromTo(x, y)),
            (Some(x), None) => Ok(ByteRangeSpec::From(x)),
            (None, Some(y)) => Ok(ByteRangeSpec::Suffix(y)),
            _ => Err(bad()),
        }
    }

    /// Resolves against a content of `total` bytes. Unsatisfiable (first byte past
    /// the end, empty content, `-0`) is [`WireError::RangeNotSatisfiable`]: answer 416
    /// with `Content-Range: bytes */total` ([`ContentRange::unsatisfied`]).
    pub fn resolve(self, total: u64) -> Result<ResolvedRange, WireError> {
        let unsat = WireError::RangeNotSatisfiable { total };
        let (first, last) = match self {
            ByteRangeSpec::FromTo(x, y) => (x, y.min(total.saturating_sub(1))),
            ByteRangeSpec::From(x) => (x, total.saturating_sub(1)),
            ByteRangeSpec::Suffix(0) => return Err(unsat),
            ByteRangeSpec::Suffix(n) => (total.saturating_sub(n), total.saturating_sub(1)),
        };
        if total == 0 || first >= total {
            return Err(unsat);
        }
        Ok(ResolvedRange { first, last, total })
    }

    /// The header value (`bytes=X-Y`).
    pub fn format(&self) -> String {
        match self {
            ByteRangeSpec::FromTo(x, y) => format!("bytes={x}-{y}"),
            ByteRangeSpec::From(x) => format!("bytes={x}-"),
            ByteRangeSpec::Suffix(y) => format!("bytes=-{y}"),
        }
    }
}

/// A `Content-Range` header: `bytes first-last/total` (`total` may be `*`, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte position.
    pub first: u64,
    /// Last byte position (inclusive).
    pub last: u64,
    /// Complete length, `None` for `*`.
    pub total: Option<u64>,
}

impl ContentRange {
    /// The value of a 416 answer: `bytes */total`.
    pub fn unsatisfied(total: u64) -> String {
        format!("bytes */{total}")
    }

    /// The header value.
    pub fn format(&self) -> String {
        match self.total {
            Some(t) => format!("bytes {}-{}/{t}", self.first, self.last),
            None => format!("bytes {}-{}/*", self.first, self.last),
        }
    }

    /// Parses a satisfied `Content-Range` (`bytes */N` is rejected: it carries no
    /// range). Checks `first <= last < total`.
    pub fn parse(value: &str) -> Result<ContentRange, WireError> {
        let bad = || WireError::invalid("Content-Range", value);
        let rest = value.trim();
        let (unit, rest) = rest.split_once(' ').ok_or_else(bad)?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return Err(bad());
        }
        let (range, total) = rest.trim().split_once('/').ok_or_else(bad)?;
        let (first, last) = range.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str| -> Result<u64, WireError> {
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let first = digits(first)?;
        let last = digits(last)?;
        let total = if total == "*" {
            None
        } else {
            Some(digits(total)?)
        };
        if first > last || total.is_some_and(|t| last >= t) {
            return Err(bad());
        }
        Ok(ContentRange { first, last, total })
    }

    /// Number of bytes the range covers.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true; for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ByteRangeSpec::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(ByteRangeSpec::parse("bytes=0-99").unwrap(), FromTo(0, 99));
        assert_eq!(ByteRangeSpec::parse("bytes=100-").unwrap(), From(100));
        assert_eq!(ByteRangeSpec::parse("bytes=-5").unwrap(), Suffix(5));
        assert_eq!(
            ByteRangeSpec::parse(" Bytes = 1 - 2 ").unwrap(),
            FromTo(1, 2)
        );
        for spec in [FromTo(3, 4), From(7), Suffix(9)] {
            assert_eq!(ByteRangeSpec::parse(&spec.format()).unwrap(), spec);
        }
    }

    #[test]
    fn rejects_malformed_and_hostile() {
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=0x1-2",
            "bytes=1-2-3",
            "bytes=99999999999999999999999-",
            "bytes=--1",
        ] {
            assert!(
                matches!(ByteRangeSpec::parse(bad), Err(WireError::BadRange(_))),
                "{bad}"
            );
        }
        assert_eq!(
            ByteRangeSpec::parse("bytes=0-1,5-6"),
            Err(WireError::MultipleRanges)
        );
        let long = format!("bytes={}", "1".repeat(100_000));
        assert!(ByteRangeSpec::parse(&long).is_err());
    }

    #[test]
    fn resolves_and_clamps() {
        let r = FromTo(0, 99).resolve(1000).unwrap();
        assert_eq!((r.first, r.last, r.len()), (0, 99, 100));
        assert_eq!(FromTo(990, 5000).resolve(1000).unwrap().last, 999);
        assert_eq!(From(10).resolve(11).unwrap().len(), 1);
        let s = Suffix(100).resolve(1000).unwrap();
        assert_eq!((s.first, s.last), (900, 999));
        assert_eq!(Suffix(5000).resolve(1000).unwrap().first, 0);
        assert_eq!(r.content_range().format(), "bytes 0-99/1000");
    }

    #[test]
    fn unsatisfiable_ranges() {
        let e = WireError::RangeNotSatisfiable { total: 1000 };
        assert_eq!(From(1000).resolve(1000), Err(e.clone()));
        assert_eq!(FromTo(1000, 2000).resolve(1000), Err(e.clone()));
        assert_eq!(Suffix(0).resolve(1000), Err(e));
        assert!(From(0).resolve(0).is_err());
        assert!(Suffix(5).resolve(0).is_err());
        assert_eq!(ContentRange::unsatisfied(1000), "bytes */1000");
    }

    #[test]
    fn content_range_round_trip_and_validation() {
        let cr = ContentRange {
            first: 5,
            last: 9,
            total: Some(10),
        };
        assert_eq!(ContentRange::parse(&cr.format()).unwrap(), cr);
        assert_eq!(ContentRange::parse("bytes 0-0/*").unwrap().total, None);
        for bad in [
            "",
            "bytes */10",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bits 0-1/2",
            "bytes 0-1",
            "bytes a-1/2",
            "bytes -1-2/3",
            "bytes 0-1/-",
            "bytes 0-1/99999999999999999999999",
        ] {
            assert!(ContentRange::parse(bad).is_err(), "{bad}");
        }
    }
}
