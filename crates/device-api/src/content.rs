//! The content area: list, info line and the `/provision/download` query.

use crate::{Form, WireError};

/// Longest content list / info body a client accepts (1 MiB); content ids are short.
pub const MAX_LISTING_BYTES: usize = 1 << 20;

/// Parses a content list body: one id per line, `\r\n` or `\n`, blank lines skipped.
pub fn parse_list(body: &str) -> Vec<String> {
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Formats a content list: ids joined with `\r\n` (CSV's line ending, so clients that
/// split on either `\r\n` or `\n` read it), no trailing newline.
pub fn format_list<S: AsRef<str>>(ids: &[S]) -> String {
    ids.iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The content info line `<content-type>,<byte-size>,<updated-timestamp>,<meta>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInfo {
    /// MIME type given at upload.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Unix seconds of the last upload.
    pub updated: i64,
    /// Free text given at upload; may contain commas (it is the rest of the line).
    pub meta: String,
}

impl ContentInfo {
    /// Formats the line (no trailing newline). Commas in the content type would shift
    /// the fields, so they are replaced by `;`; newlines anywhere become spaces.
    pub fn format(&self) -> String {
        let ct = self
            .content_type
            .replace(',', ";")
            .replace(['\r', '\n'], " ");
        let meta = self.meta.replace(['\r', '\n'], " ");
        format!("{ct},{},{},{meta}", self.size, self.updated)
    }

    /// Parses the first line of a body; `meta` is everything after the third comma.
    pub fn parse(body: &str) -> Result<ContentInfo, WireError> {
        let line = body.split('\n').next().unwrap_or("");
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut parts = line.splitn(4, ',');
        let content_type = parts.next().unwrap_or("").trim().to_string();
        let size = parts.next().ok_or(WireError::MissingField("byte-size"))?;
        let updated = parts
            .next()
            .ok_or(WireError::MissingField("updated-timestamp"))?;
        let meta = parts.next().unwrap_or("").to_string();
        let size = size
            .trim()
            .parse::<u64>()
            .map_err(|_| WireError::invalid("byte-size", size))?;
        let updated = parse_timestamp(updated)?;
        Ok(ContentInfo {
            content_type,
            size,
            updated,
            meta,
        })
    }
}

/// Integer unix seconds; a fractional part (`1500000000.25`) is truncated.
fn parse_timestamp(s: &str) -> Result<i64, WireError> {
    let t = s.trim();
    let int = t.split_once('.').map_or(t, |(i, frac)| {
        if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) {
            i
        } else {
            t
        }
    });
    int.parse::<i64>()
        .map_err(|_| WireError::invalid("updated-timestamp", s))
}

/// The query of `GET /provision/download`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadQuery {
    /// Vendor; `None` on Murano (product from the host).
    pub vendor: Option<String>,
    /// Model; `None` on Murano.
    pub model: Option<String>,
    /// Content id; `None` lists the content.
    pub id: Option<String>,
    /// `info=true`: content info instead of the blob.
    pub info: bool,
}

impl DownloadQuery {
    /// Formats the query string (no `?`); vendor/model only when both are non-empty.
    pub fn format(&self) -> String {
        let mut form = Form::new();
        if let (Some(v), Some(m)) = (self.vendor.as_deref(), self.model.as_deref()) {
            if !v.is_empty() && !m.is_empty() {
                form.push("vendor", v).push("model", m);
            }
        }
        if let Some(id) = &self.id {
            form.push("id", id.as_str());
            if self.info {
                form.push("info", "true");
            }
        }
        form.encode()
    }

    /// Strictly parses the query string; empty values count as absent, `info` is true
    /// only for `info=true` (case-insensitive).
    pub fn parse(query: &str) -> Result<DownloadQuery, WireError> {
        let form = Form::decode(query)?;
        let non_empty = |k: &str| form.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        Ok(DownloadQuery {
            vendor: non_empty("vendor"),
            model: non_empty("model"),
            id: non_empty("id"),
            info: form
                .get("info")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_splits_on_crlf_and_lf() {
        assert_eq!(
            parse_list("a.tar.gz\r\nb.tar.gz\nc\r\n\r\n"),
            vec!["a.tar.gz", "b.tar.gz", "c"]
        );
        assert!(parse_list("").is_empty());
        assert!(parse_list("\r\n\n  \n").is_empty());
        let ids = ["x", "y z"];
        assert_eq!(parse_list(&format_list(&ids)), ids);
    }

    #[test]
    fn info_meta_keeps_commas() {
        let info = ContentInfo::parse("application/x-gzip,1234,1500000000,v=1, built by ci,ok\r\n")
            .unwrap();
        assert_eq!(info.content_type, "application/x-gzip");
        assert_eq!(info.size, 1234);
        assert_eq!(info.updated, 1_500_000_000);
        assert_eq!(info.meta, "v=1, built by ci,ok");
        assert_eq!(ContentInfo::parse(&info.format()).unwrap(), info);
    }

    #[test]
    fn info_without_meta_and_fractional_time() {
        let info = ContentInfo::parse("text/plain,0,1500000000.75").unwrap();
        assert_eq!(
            (info.size, info.updated, info.meta.as_str()),
            (0, 1_500_000_000, "")
        );
        assert_eq!(ContentInfo::parse("text/plain,3,17,").unwrap().meta, "");
    }

    #[test]
    fn info_format_sanitises() {
        let info = ContentInfo {
            content_type: "a,b".into(),
            size: 1,
            updated: 2,
            meta: "x\ny".into(),
        };
        let line = info.format();
        assert_eq!(line, "a;b,1,2,x y");
        assert_eq!(ContentInfo::parse(&line).unwrap().size, 1);
    }

    #[test]
    fn info_rejects_malformed() {
        for bad in [
            "",
            "text/plain",
            "text/plain,12",
            "text/plain,-1,5",
            "t,abc,5",
            "t,1,now",
            "t,99999999999999999999999,1",
            "t,1,1.x",
        ] {
            assert!(ContentInfo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn download_query_round_trip() {
        let q = DownloadQuery {
            vendor: Some("v".into()),
            model: Some("m".into()),
            id: Some("app.v1.tar.gz".into()),
            info: true,
        };
        assert_eq!(q.format(), "vendor=v&model=m&id=app.v1.tar.gz&info=true");
        assert_eq!(DownloadQuery::parse(&q.format()).unwrap(), q);
        let murano = DownloadQuery {
            id: Some("a b".into()),
            ..Default::default()
        };
        assert_eq!(murano.format(), "id=a+b");
        assert_eq!(DownloadQuery::parse("").unwrap(), DownloadQuery::default());
        assert!(!DownloadQuery::parse("id=x&info=yes").unwrap().info);
        assert!(DownloadQuery::parse("id=%zz").is_err());
    }
}
