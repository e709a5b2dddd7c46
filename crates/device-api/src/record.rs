//! Historical record bodies and the 1-second conflict rule.
//!
//! `POST /onep:v1/stack/record` takes `alias=a1&<ts1>=<v1>&<ts2>=<v2>&alias=a2&...`;
//! the legacy `POST /onep:v1/stack/alias/<alias>` takes `<ts1>=<v1>&<ts2>=<v2>`.
//! Timestamps are integer unix seconds (the API has one-second resolution; anything
//! else is a 400). Two points of one alias less than one second apart (with integer
//! seconds: the same second, also across separate `alias=` groups of one body) make
//! the whole call a 409 whose body names them: `<alias>=<timestamp>&...`, one pair
//! per conflicting timestamp, as in One Platform's documentation.

use crate::{Form, WireError};

/// The points of one alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSeries {
    /// Alias written to.
    pub alias: String,
    /// `(unix seconds, value)` in body order.
    pub points: Vec<(i64, String)>,
}

/// A parsed record body: series in body order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordBody {
    /// The series, in body order (one alias may appear in several).
    pub series: Vec<RecordSeries>,
}

/// One conflicting point: its alias and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordConflict {
    /// Alias.
    pub alias: String,
    /// Timestamp that collides with another point of the same alias.
    pub timestamp: i64,
}

impl RecordBody {
    /// Parses the `record` body. Points before the first `alias=` or an empty alias
    /// are errors, as are malformed timestamps and form encoding errors.
    pub fn parse(body: &[u8]) -> Result<RecordBody, WireError> {
        let form = Form::decode_bytes(body)?;
        let mut series: Vec<RecordSeries> = Vec::new();
        for (name, value) in form.iter() {
            if name == "alias" {
                if value.is_empty() {
                    return Err(WireError::MissingField("alias"));
                }
                series.push(RecordSeries {
                    alias: value.to_string(),
                    points: Vec::new(),
                });
            } else {
                let ts = parse_timestamp(name)?;
                let current = series.last_mut().ok_or(WireError::MissingField("alias"))?;
                current.points.push((ts, value.to_string()));
            }
        }
        Ok(RecordBody { series })
    }

    /// Parses the legacy body for `alias` (taken from the path).
    pub fn parse_legacy(alias: &str, body: &[u8]) -> Result<RecordBody, WireError> {
        if alias.is_empty() {
            return Err(WireError::MissingField("alias"));
        }
        let form = Form::decode_bytes(body)?;
        let points = form
            .iter()
            .map(|(ts, v)| Ok((parse_timestamp(ts)?, v.to_string())))
            .collect::<Result<Vec<_>, WireError>>()?;
        Ok(RecordBody {
            series: vec![RecordSeries {
                alias: alias.to_string(),
                points,
            }],
        })
    }

    /// Encodes the `record` body.
    pub fn format(&self) -> String {
        let mut form = Form::new();
        for s in &self.series {
            form.push("alias", s.alias.as_str());
            for (ts, v) in &s.points {
                form.push(ts.to_string(), v.as_str());
            }
        }
        form.encode()
    }

    /// Encodes the points of every series as a legacy body (the caller sends one
    /// request per alias; see [`legacy_path`]).
    pub fn format_legacy_points(points: &[(i64, String)]) -> String {
        let mut form = Form::new();
        for (ts, v) in points {
            form.push(ts.to_string(), v.as_str());
        }
        form.encode()
    }

    /// Total number of points.
    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    /// Points of one alias closer than one second to another point of that alias,
    /// each reported once, in order of alias first appearance then timestamp.
    pub fn conflicts(&self) -> Vec<RecordConflict> {
        let mut aliases: Vec<&str> = Vec::new();
        for s in &self.series {
            if !aliases.contains(&s.alias.as_str()) {
                aliases.push(&s.alias);
            }
        }
        let mut out = Vec::new();
        for alias in aliases {
            let mut ts: Vec<i64> = self
                .series
                .iter()
                .filter(|s| s.alias == alias)
                .flat_map(|s| s.points.iter().map(|(t, _)| *t))
                .collect();
            ts.sort_unstable();
            for w in ts.windows(2) {
                // Integer seconds: "under one second apart" means the same second.
                if w[1] - w[0] < 1
                    && out.last()
                        != Some(&RecordConflict {
                            alias: alias.to_string(),
                            timestamp: w[0],
                        })
                {
                    out.push(RecordConflict {
                        alias: alias.to_string(),
                        timestamp: w[0],
                    });
                }
            }
        }
        out
    }
}

/// The 409 body: `<alias>=<timestamp>&...`.
pub fn format_conflicts(conflicts: &[RecordConflict]) -> String {
    let mut form = Form::new();
    for c in conflicts {
        form.push(c.alias.as_str(), c.timestamp.to_string());
    }
    form.encode()
}

/// Parses a 409 body back into conflicts.
pub fn parse_conflicts(body: &str) -> Result<Vec<RecordConflict>, WireError> {
    Form::decode(body)?
        .iter()
        .map(|(a, t)| {
            Ok(RecordConflict {
                alias: a.to_string(),
                timestamp: parse_timestamp(t)?,
            })
        })
        .collect()
}

/// The legacy record path for `alias`: `/onep:v1/stack/alias/<percent-encoded alias>`.
pub fn legacy_path(alias: &str) -> String {
    let mut out = String::from(crate::paths::STACK_ALIAS_PREFIX);
    for b in alias.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The alias of a legacy record path (strict percent-decoding, `+` stays `+`).
/// `None` when `path` is not a legacy record path; errors for malformed escapes.
pub fn alias_from_legacy_path(path: &str) -> Option<Result<String, WireError>> {
    let raw = path.strip_prefix(crate::paths::STACK_ALIAS_PREFIX)?;
    if raw.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                    out.push(b)
                }
                _ => return Some(Err(WireError::BadPercentEscape { offset: i })),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8(out).map_err(|_| WireError::BadUtf8 { what: "alias" }))
}

fn parse_timestamp(s: &str) -> Result<i64, WireError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireError::invalid("timestamp", s));
    }
    s.parse::<i64>()
        .map_err(|_| WireError::invalid("timestamp", s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(series: &[(&str, &[(i64, &str)])]) -> RecordBody {
        RecordBody {
            series: series
                .iter()
                .map(|(a, pts)| RecordSeries {
                    alias: a.to_string(),
                    points: pts.iter().map(|(t, v)| (*t, v.to_string())).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn parses_the_documented_body() {
        let b = RecordBody::parse(
            b"alias=temp&1500000000=20.5&1500000001=21&alias=hum&1500000000=40%25",
        )
        .unwrap();
        assert_eq!(
            b,
            body(&[
                ("temp", &[(1_500_000_000, "20.5"), (1_500_000_001, "21")]),
                ("hum", &[(1_500_000_000, "40%")])
            ])
        );
        assert_eq!(b.point_count(), 3);
        assert!(b.conflicts().is_empty());
        assert_eq!(RecordBody::parse(b.format().as_bytes()).unwrap(), b);
    }

    #[test]
    fn legacy_body_round_trip() {
        let b = RecordBody::parse_legacy("temp", b"1500000000=a+b&1500000005=%26").unwrap();
        assert_eq!(
            b,
            body(&[("temp", &[(1_500_000_000, "a b"), (1_500_000_005, "&")])])
        );
        let encoded = RecordBody::format_legacy_points(&b.series[0].points);
        assert_eq!(
            RecordBody::parse_legacy("temp", encoded.as_bytes()).unwrap(),
            b
        );
        assert!(RecordBody::parse_legacy("", b"1=2").is_err());
        assert!(RecordBody::parse_legacy("a", b"x=2").is_err());
    }

    #[test]
    fn conflicts_within_one_second_and_across_groups() {
        let b = body(&[
            ("a", &[(10, "x"), (10, "y"), (20, "z")]),
            ("b", &[(5, "1"), (6, "2")]),
            ("a", &[(20, "w")]),
        ]);
        let c = b.conflicts();
        assert_eq!(
            c,
            vec![
                RecordConflict {
                    alias: "a".into(),
                    timestamp: 10
                },
                RecordConflict {
                    alias: "a".into(),
                    timestamp: 20
                }
            ]
        );
        assert_eq!(format_conflicts(&c), "a=10&a=20");
        assert_eq!(parse_conflicts("a=10&a=20").unwrap(), c);
        // Three points in the same second are reported once.
        assert_eq!(
            body(&[("t", &[(1, "a"), (1, "b"), (1, "c")])])
                .conflicts()
                .len(),
            1
        );
    }

    #[test]
    fn rejects_malformed_bodies() {
        for bad in [
            &b"1500000000=1"[..],
            b"alias=&1=2",
            b"alias=a&x=1",
            b"alias=a&1.5=1",
            b"alias=a&99999999999999999999=1",
            b"alias=a&%zz=1",
            b"alias=%ff",
            b"alias=a&-=1",
        ] {
            assert!(
                RecordBody::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(RecordBody::parse(b"").unwrap().series.is_empty());
        assert!(parse_conflicts("a=x").is_err());
    }

    #[test]
    fn legacy_paths() {
        assert_eq!(
            legacy_path("temp out/1"),
            "/onep:v1/stack/alias/temp%20out%2F1"
        );
        assert_eq!(
            alias_from_legacy_path(&legacy_path("temp out/1✓"))
                .unwrap()
                .unwrap(),
            "temp out/1✓"
        );
        assert_eq!(
            alias_from_legacy_path("/onep:v1/stack/alias/a+b")
                .unwrap()
                .unwrap(),
            "a+b"
        );
        assert!(alias_from_legacy_path("/onep:v1/stack/alias/").is_none());
        assert!(alias_from_legacy_path("/other").is_none());
        assert!(alias_from_legacy_path("/onep:v1/stack/alias/%g0")
            .unwrap()
            .is_err());
        assert!(alias_from_legacy_path("/onep:v1/stack/alias/%+1")
            .unwrap()
            .is_err());
        assert!(alias_from_legacy_path("/onep:v1/stack/alias/%ff")
            .unwrap()
            .is_err());
    }

    #[test]
    fn large_body() {
        let mut s = String::from("alias=a");
        for i in 0..50_000 {
            s.push_str(&format!("&{i}=v{i}"));
        }
        let b = RecordBody::parse(s.as_bytes()).unwrap();
        assert_eq!(b.point_count(), 50_000);
        assert!(b.conflicts().is_empty());
    }
}
