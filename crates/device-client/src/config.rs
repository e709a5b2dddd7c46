//! Client configuration.

use std::time::Duration;

use crate::audit::AuditConfig;
use crate::tls::TlsRoots;

/// Default User-Agent of requests made through this library.
pub fn default_user_agent() -> String {
    format!("gwe-device-client/{}", env!("CARGO_PKG_VERSION"))
}

/// The executable's file name, the default audit agent.
pub fn default_agent() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// When and how often failed calls are tried again. Only idempotent calls (GET) are
/// retried after the request went out; a write is re-sent only when it provably did
/// not leave (the connection could not be made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = no retry). Default 3.
    pub max_attempts: u32,
    /// Delay before the first retry, doubled each time, with jitter. Default 200 ms.
    pub base_delay: Duration,
    /// Largest delay between attempts. Default 5 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Delay before attempt number `attempt` (1 = first retry): exponential, capped,
    /// with up to 25% random jitter so many gateways do not retry in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let jitter = rand::random::<f64>() * 0.25;
        capped.mul_f64(1.0 - jitter)
    }
}

/// Everything a [`crate::DeviceClient`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `scheme://host[:port]` (http or https), e.g. `https://<product>.m2.exosite.io`.
    pub base_url: String,
    /// The device's CIK, if activated.
    pub cik: Option<String>,
    /// Vendor (Murano: product id) for activation and content calls; optional.
    pub vendor: Option<String>,
    /// Model (Murano: product id); optional.
    pub model: Option<String>,
    /// Serial number / identity, used by [`crate::DeviceClient::activate_self`].
    pub sn: Option<String>,
    /// User-Agent header. Default [`default_user_agent`].
    pub user_agent: String,
    /// Name recorded as the audit agent. Default: the program name.
    pub agent: String,
    /// TCP connect + TLS handshake limit. Default 10 s.
    pub connect_timeout: Duration,
    /// Limit for a whole call (response head and body; for downloads, between two
    /// chunks). Long polls get their Request-Timeout on top. Default 30 s.
    pub request_timeout: Duration,
    /// Trusted CAs for https. Default bundled Mozilla roots.
    pub tls_roots: TlsRoots,
    /// Retries.
    pub retry: RetryPolicy,
    /// Audit log.
    pub audit: AuditConfig,
    /// Idle connections are closed after this. Default 60 s.
    pub pool_idle_timeout: Duration,
    /// Largest non-download response body accepted. Default 8 MiB.
    pub max_body: usize,
}

impl ClientConfig {
    /// Defaults for talking to `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            cik: None,
            vendor: None,
            model: None,
            sn: None,
            user_agent: default_user_agent(),
            agent: default_agent(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            tls_roots: TlsRoots::default(),
            retry: RetryPolicy::default(),
            audit: AuditConfig::default(),
            pool_idle_timeout: Duration::from_secs(60),
            max_body: 8 << 20,
        }
    }

    /// Sets the CIK.
    pub fn with_cik(mut self, cik: impl Into<String>) -> Self {
        self.cik = Some(cik.into());
        self
    }

    /// Sets vendor, model and serial number.
    pub fn with_identity(
        mut self,
        vendor: impl Into<String>,
        model: impl Into<String>,
        sn: impl Into<String>,
    ) -> Self {
        self.vendor = Some(vendor.into());
        self.model = Some(model.into());
        self.sn = Some(sn.into());
        self
    }

    /// Sets the audit configuration.
    pub fn with_audit(mut self, audit: AuditConfig) -> Self {
        self.audit = audit;
        self
    }

    /// Sets the audit agent name.
    pub fn with_agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = agent.into();
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the request timeout.
    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_cap() {
        let p = RetryPolicy::default();
        let d1 = p.delay(1);
        assert!(
            d1 <= Duration::from_millis(200) && d1 >= Duration::from_millis(150),
            "{d1:?}"
        );
        let d3 = p.delay(3);
        assert!(
            d3 <= Duration::from_millis(800) && d3 >= Duration::from_millis(600),
            "{d3:?}"
        );
        assert!(p.delay(40) <= Duration::from_secs(5));
    }
}
