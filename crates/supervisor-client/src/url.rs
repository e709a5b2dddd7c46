//! Server URLs as supervisorctl accepts them: `unix:///path/to.sock` or
//! `http://host[:port][/...]` (port 80 when absent).

use std::fmt;
use std::path::PathBuf;

/// Where the supervisor's RPC endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerUrl {
    /// A unix domain socket (`unix:///tmp/supervisor.sock`).
    Unix(PathBuf),
    /// A TCP endpoint (`http://localhost:9001`).
    Http {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port, 80 when the URL has none.
        port: u16,
    },
}

/// A server URL that is neither `unix://` nor `http://`, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Unknown protocol or malformed serverurl {0:?} (expected unix:///path or http://host:port)"
)]
pub struct BadUrl(pub String);

impl ServerUrl {
    /// Parses a URL the way supervisorctl's transport does.
    pub fn parse(s: &str) -> Result<ServerUrl, BadUrl> {
        let bad = || BadUrl(s.to_owned());
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(ServerUrl::Unix(PathBuf::from(path)));
        }
        let rest = s.strip_prefix("http://").ok_or_else(bad)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        // Credentials in the URL are ignored, as urlparse's hostname does.
        let hostport = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            None | Some("") => 80,
            Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        };
        Ok(ServerUrl::Http {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerUrl::Unix(p) => write!(f, "unix://{}", p.display()),
            ServerUrl::Http { host, port } if host.contains(':') => {
                write!(f, "http://[{host}]:{port}")
            }
            ServerUrl::Http { host, port } => write!(f, "http://{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supervisorctl_forms() {
        assert_eq!(
            ServerUrl::parse("unix:///tmp/supervisor.sock"),
            Ok(ServerUrl::Unix("/tmp/supervisor.sock".into()))
        );
        assert_eq!(
            ServerUrl::parse("unix://relative.sock"),
            Ok(ServerUrl::Unix("relative.sock".into()))
        );
        assert_eq!(
            ServerUrl::parse("http://localhost:9001"),
            Ok(ServerUrl::Http {
                host: "localhost".into(),
                port: 9001
            })
        );
        assert_eq!(
            ServerUrl::parse("http://127.0.0.1/RPC2"),
            Ok(ServerUrl::Http {
                host: "127.0.0.1".into(),
                port: 80
            })
        );
        assert_eq!(
            ServerUrl::parse("http://user:pw@[::1]:9001/"),
            Ok(ServerUrl::Http {
                host: "::1".into(),
                port: 9001
            })
        );
        assert_eq!(
            ServerUrl::parse("http://[::1]:9001").unwrap().to_string(),
            "http://[::1]:9001"
        );
    }

    #[test]
    fn rejects_others() {
        for s in [
            "",
            "unix://",
            "https://h:1",
            "ftp://x",
            "http://",
            "http://:9001",
            "http://h:99999",
            "http://h:port",
            "http://[::1",
            "/tmp/x.sock",
        ] {
            assert!(ServerUrl::parse(s).is_err(), "{s:?} accepted");
        }
    }
}
