//! The procedures of the HTTP Device API.

use crate::paths;
use http::Method;

/// One procedure of the HTTP Device API. The [`Procedure::name`] is what the audit
/// log and the usage report store, so it never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Procedure {
    /// `POST /provision/activate`.
    Activate,
    /// `POST /onep:v1/stack/alias` with a form body.
    Write,
    /// `GET /onep:v1/stack/alias?a1&a2`.
    Read,
    /// Hybrid: `POST /onep:v1/stack/alias?r1&r2` with a form body.
    WriteRead,
    /// A read of one alias with `Request-Timeout`.
    LongPoll,
    /// `POST /onep:v1/stack/record`.
    Record,
    /// `POST /onep:v1/stack/alias/<alias>` (One Platform's record form).
    RecordLegacy,
    /// `GET /provision/download` without `id`.
    ListContent,
    /// `GET /provision/download?id=..&info=true`.
    ContentInfo,
    /// `GET /provision/download?id=..`.
    Download,
    /// `GET /timestamp`.
    Timestamp,
}

impl Procedure {
    /// Every procedure, in declaration order.
    pub const ALL: [Procedure; 11] = [
        Procedure::Activate,
        Procedure::Write,
        Procedure::Read,
        Procedure::WriteRead,
        Procedure::LongPoll,
        Procedure::Record,
        Procedure::RecordLegacy,
        Procedure::ListContent,
        Procedure::ContentInfo,
        Procedure::Download,
        Procedure::Timestamp,
    ];

    /// Stable snake_case name (audit log, usage report, CLI).
    pub fn name(self) -> &'static str {
        match self {
            Procedure::Activate => "activate",
            Procedure::Write => "write",
            Procedure::Read => "read",
            Procedure::WriteRead => "write_read",
            Procedure::LongPoll => "long_poll",
            Procedure::Record => "record",
            Procedure::RecordLegacy => "record_legacy",
            Procedure::ListContent => "list_content",
            Procedure::ContentInfo => "content_info",
            Procedure::Download => "download",
            Procedure::Timestamp => "timestamp",
        }
    }

    /// Inverse of [`Procedure::name`].
    pub fn from_name(name: &str) -> Option<Procedure> {
        Procedure::ALL.into_iter().find(|p| p.name() == name)
    }

    /// HTTP method.
    pub fn method(self) -> Method {
        match self {
            Procedure::Activate
            | Procedure::Write
            | Procedure::WriteRead
            | Procedure::Record
            | Procedure::RecordLegacy => Method::POST,
            _ => Method::GET,
        }
    }

    /// Path (for [`Procedure::RecordLegacy`] the prefix; the alias follows it).
    pub fn path(self) -> &'static str {
        match self {
            Procedure::Activate => paths::ACTIVATE,
            Procedure::Write | Procedure::Read | Procedure::WriteRead | Procedure::LongPoll => {
                paths::STACK_ALIAS
            }
            Procedure::Record => paths::STACK_RECORD,
            Procedure::RecordLegacy => paths::STACK_ALIAS_PREFIX,
            Procedure::ListContent | Procedure::ContentInfo | Procedure::Download => {
                paths::DOWNLOAD
            }
            Procedure::Timestamp => paths::TIMESTAMP,
        }
    }

    /// True when re-sending the request cannot change server state, so a client may
    /// retry it after a failure at any point.
    pub fn is_idempotent(self) -> bool {
        self.method() == Method::GET
    }

    /// True when the request carries `X-Exosite-CIK`.
    pub fn needs_cik(self) -> bool {
        !matches!(self, Procedure::Activate | Procedure::Timestamp)
    }

    /// Which procedure a request is. `query` is the raw query string (without `?`),
    /// `has_request_timeout` whether a `Request-Timeout` header is present.
    /// Returns `None` for requests that are not part of the API.
    pub fn classify(
        method: &Method,
        path: &str,
        query: Option<&str>,
        has_request_timeout: bool,
    ) -> Option<Procedure> {
        let query = query.unwrap_or("");
        match (method.as_str(), path) {
            ("POST", paths::ACTIVATE) => Some(Procedure::Activate),
            ("POST", paths::STACK_RECORD) => Some(Procedure::Record),
            ("POST", paths::STACK_ALIAS) if query.is_empty() => Some(Procedure::Write),
            ("POST", paths::STACK_ALIAS) => Some(Procedure::WriteRead),
            ("GET", paths::STACK_ALIAS) if has_request_timeout => Some(Procedure::LongPoll),
            ("GET", paths::STACK_ALIAS) => Some(Procedure::Read),
            ("GET", paths::TIMESTAMP) => Some(Procedure::Timestamp),
            ("GET", paths::DOWNLOAD) => {
                let q = crate::form::decode_lossy(query);
                let has_id = q.iter().any(|(k, v)| k == "id" && !v.is_empty());
                let info = q.iter().any(|(k, v)| k == "info" && v == "true");
                Some(match (has_id, info) {
                    (false, _) => Procedure::ListContent,
                    (true, true) => Procedure::ContentInfo,
                    (true, false) => Procedure::Download,
                })
            }
            ("POST", p)
                if p.len() > paths::STACK_ALIAS_PREFIX.len()
                    && p.starts_with(paths::STACK_ALIAS_PREFIX) =>
            {
                Some(Procedure::RecordLegacy)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Procedure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Procedure::ALL {
            assert_eq!(Procedure::from_name(p.name()), Some(p));
            assert!(seen.insert(p.name()));
        }
        assert_eq!(Procedure::from_name("nope"), None);
    }

    #[test]
    fn methods_paths_and_idempotence() {
        assert_eq!(Procedure::Write.method(), Method::POST);
        assert_eq!(Procedure::Read.method(), Method::GET);
        assert_eq!(Procedure::LongPoll.path(), "/onep:v1/stack/alias");
        assert_eq!(Procedure::Activate.path(), "/provision/activate");
        assert!(Procedure::Download.is_idempotent());
        assert!(!Procedure::Record.is_idempotent());
        assert!(!Procedure::Activate.needs_cik());
        assert!(!Procedure::Timestamp.needs_cik());
        assert!(Procedure::Read.needs_cik());
    }

    #[test]
    fn classify_every_procedure() {
        let c = Procedure::classify;
        assert_eq!(
            c(&Method::POST, "/provision/activate", None, false),
            Some(Procedure::Activate)
        );
        assert_eq!(
            c(&Method::POST, "/onep:v1/stack/alias", None, false),
            Some(Procedure::Write)
        );
        assert_eq!(
            c(&Method::POST, "/onep:v1/stack/alias", Some("a&b"), false),
            Some(Procedure::WriteRead)
        );
        assert_eq!(
            c(&Method::GET, "/onep:v1/stack/alias", Some("a"), false),
            Some(Procedure::Read)
        );
        assert_eq!(
            c(&Method::GET, "/onep:v1/stack/alias", Some("a"), true),
            Some(Procedure::LongPoll)
        );
        assert_eq!(
            c(&Method::POST, "/onep:v1/stack/record", None, false),
            Some(Procedure::Record)
        );
        assert_eq!(
            c(&Method::POST, "/onep:v1/stack/alias/temp", None, false),
            Some(Procedure::RecordLegacy)
        );
        assert_eq!(
            c(
                &Method::GET,
                "/provision/download",
                Some("vendor=v&model=m"),
                false
            ),
            Some(Procedure::ListContent)
        );
        assert_eq!(
            c(
                &Method::GET,
                "/provision/download",
                Some("id=x&info=true"),
                false
            ),
            Some(Procedure::ContentInfo)
        );
        assert_eq!(
            c(&Method::GET, "/provision/download", Some("id=x"), false),
            Some(Procedure::Download)
        );
        assert_eq!(
            c(&Method::GET, "/timestamp", None, false),
            Some(Procedure::Timestamp)
        );
        assert_eq!(c(&Method::GET, "/other", None, false), None);
        assert_eq!(
            c(&Method::DELETE, "/onep:v1/stack/alias", None, false),
            None
        );
        assert_eq!(c(&Method::POST, "/onep:v1/stack/alias/", None, false), None);
    }
}
