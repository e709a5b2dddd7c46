//! The client: one entry point for every procedure, with retries and auditing.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use gwe_device_api::{
    content, header, read_query, record, token, ActivateRequest, ContentInfo, DownloadQuery, Form,
    Procedure, RecordBody, RequestTimeout,
};
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::audit::{sanitize_path, AuditLog, AuditRecord, AuditStats};
use crate::config::ClientConfig;
use crate::error::{chain, Error};
use crate::response::Response;
use crate::transport::{Connector, CounterHandle, WireBytes};

/// Result of a long poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// A new value was written.
    Updated {
        /// The value.
        value: String,
        /// `Last-Modified` as unix seconds: pass it as `since` to the next poll so
        /// no point is missed.
        last_modified: Option<u64>,
    },
    /// Nothing new before the timeout (304).
    NotModified,
}

/// A request before it is sent.
pub(crate) struct Spec {
    pub procedure: Procedure,
    pub method: Method,
    pub path_and_query: String,
    pub body: Option<Bytes>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub timeout: Duration,
}

/// Parsed base URL.
#[derive(Debug, Clone)]
struct Base {
    /// `scheme://authority[/prefix]` without trailing slash.
    prefix: String,
    /// `scheme://authority` for messages.
    server: String,
}

fn parse_base(url: &str) -> Result<(Base, bool), Error> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::Config("no server URL configured".into()));
    }
    // The original accepted `host:port`: https unless the port is 80.
    let full = if url.contains("://") {
        url.to_string()
    } else if url.ends_with(":80") {
        format!("http://{url}")
    } else {
        format!("https://{url}")
    };
    let uri: http::Uri = full
        .parse()
        .map_err(|e| Error::Config(format!("bad server URL {url:?}: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("");
    let https = match scheme {
        "https" => true,
        "http" => false,
        _ => {
            return Err(Error::Config(format!(
                "bad server URL {url:?}: scheme must be http or https"
            )))
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| Error::Config(format!("bad server URL {url:?}: no host")))?;
    if uri.query().is_some() {
        return Err(Error::Config(format!(
            "bad server URL {url:?}: no query allowed"
        )));
    }
    let path = uri.path().trim_end_matches('/');
    let server = format!("{scheme}://{authority}");
    Ok((
        Base {
            prefix: format!("{server}{path}"),
            server,
        },
        https,
    ))
}

struct Inner {
    http: Client<Connector, Full<Bytes>>,
    base: Base,
    cik: RwLock<Option<String>>,
    config: ClientConfig,
    user_agent: HeaderValue,
    audit: AuditLog,
    pid: u32,
}

/// The HTTP Device API client. Cheap to clone (shared connection pool, CIK and
/// audit log); use it from any tokio runtime.
#[derive(Clone)]
pub struct DeviceClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("server", &self.inner.base.server)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms_pub() -> i64 {
    now_ms()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl DeviceClient {
    /// Builds a client (no connection is made yet).
    pub fn new(config: ClientConfig) -> Result<DeviceClient, Error> {
        let (base, https) = parse_base(&config.base_url)?;
        let tls = if https {
            Some(tokio_rustls::TlsConnector::from(crate::tls::client_config(
                &config.tls_roots,
            )?))
        } else {
            None
        };
        let connector = Connector {
            tls,
            connect_timeout: config.connect_timeout,
        };
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(4)
            .retry_canceled_requests(true)
            .build(connector);
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            Error::Config(format!(
                "User-Agent {:?} is not a valid header value",
                config.user_agent
            ))
        })?;
        let audit = AuditLog::open(config.audit.clone());
        let cik = RwLock::new(config.cik.clone().filter(|c| !c.is_empty()));
        Ok(DeviceClient {
            inner: Arc::new(Inner {
                http,
                base,
                cik,
                config,
                user_agent,
                audit,
                pid: std::process::id(),
            }),
        })
    }

    /// `scheme://host:port` of the server.
    pub fn server(&self) -> &str {
        &self.inner.base.server
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The current CIK.
    pub fn cik(&self) -> Option<String> {
        self.inner
            .cik
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the CIK (e.g. after activation elsewhere); `None` clears it.
    pub fn set_cik(&self, cik: Option<String>) {
        *self.inner.cik.write().unwrap_or_else(|e| e.into_inner()) = cik.filter(|c| !c.is_empty());
    }

    /// Audit writer counters (written / dropped / failed rows).
    pub fn audit_stats(&self) -> &AuditStats {
        self.inner.audit.stats()
    }

    /// Waits until queued audit rows are written, at most `timeout` (blocking; call
    /// before a short-lived program exits). Returns false on timeout.
    pub fn flush_audit(&self, timeout: Duration) -> bool {
        self.inner.audit.flush(timeout)
    }

    // ----- procedures ---------------------------------------------------------------

    /// Activates `req` and stores the returned CIK in the client. 404 is
    /// [`Error::UnknownIdentity`], 409 [`Error::NotEnabled`]; an answer that is not a
    /// 40-character token is [`Error::BadResponse`].
    pub async fn activate(&self, req: &ActivateRequest) -> Result<String, Error> {
        let p = Procedure::Activate;
        let resp = self
            .call_raw(self.form_spec(p, p.path().into(), req.encode()))
            .await?;
        match resp.status {
            200 => {
                let text = resp.text();
                let cik = token::from_activation_body(&text).ok_or_else(|| Error::BadResponse {
                    procedure: p,
                    reason: format!(
                        "activation returned {} characters, expected a 40-character CIK",
                        text.trim().len()
                    ),
                })?;
                let cik = cik.to_string();
                self.set_cik(Some(cik.clone()));
                Ok(cik)
            }
            404 => Err(Error::UnknownIdentity { sn: req.sn.clone() }),
            409 => Err(Error::NotEnabled { sn: req.sn.clone() }),
            _ => Err(status_error(&resp)),
        }
    }

    /// Activates with the vendor, model and serial number of the configuration
    /// (Murano's `id=` form when vendor or model is missing).
    pub async fn activate_self(&self) -> Result<String, Error> {
        let c = &self.inner.config;
        let sn =
            c.sn.clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Config("no serial number configured".into()))?;
        let req = ActivateRequest {
            vendor: c.vendor.clone(),
            model: c.model.clone(),
            sn,
        };
        self.activate(&req).await
    }

    /// Writes `alias=value` pairs (one server timestamp for all).
    pub async fn write(&self, pairs: &[(&str, &str)]) -> Result<(), Error> {
        require(!pairs.is_empty())?;
        let body = gwe_device_api::form::encode_pairs(pairs.iter().copied());
        let p = Procedure::Write;
        let resp = self
            .call_raw(self.form_spec(p, p.path().into(), body))
            .await?;
        expect_success(resp).map(|_| ())
    }

    /// Reads the latest value of each alias; aliases without data are absent from
    /// the returned form (204 gives an empty form).
    pub async fn read<S: AsRef<str>>(&self, aliases: &[S]) -> Result<Form, Error> {
        require(aliases.iter().any(|a| !a.as_ref().is_empty()))?;
        let p = Procedure::Read;
        let path = format!("{}?{}", p.path(), read_query::format(aliases));
        let mut spec = self.spec(p, Method::GET, path, None);
        spec.headers
            .push((ACCEPT, HeaderValue::from_static(header::content_type::FORM)));
        let resp = expect_success(self.call_raw(spec).await?)?;
        parse_form(&resp)
    }

    /// Hybrid: writes `writes`, then reads `reads`, in one request.
    pub async fn write_read<S: AsRef<str>>(
        &self,
        writes: &[(&str, &str)],
        reads: &[S],
    ) -> Result<Form, Error> {
        let p = Procedure::WriteRead;
        let path = format!("{}?{}", p.path(), read_query::format(reads));
        let body = gwe_device_api::form::encode_pairs(writes.iter().copied());
        let mut spec = self.form_spec(p, path, body);
        spec.headers
            .push((ACCEPT, HeaderValue::from_static(header::content_type::FORM)));
        let resp = expect_success(self.call_raw(spec).await?)?;
        parse_form(&resp)
    }

    /// Long poll of one alias: waits up to `timeout` for a point written after
    /// `since` (unix seconds; `None` = now, server side).
    pub async fn long_poll(
        &self,
        alias: &str,
        timeout: RequestTimeout,
        since: Option<u64>,
    ) -> Result<PollOutcome, Error> {
        require(!alias.is_empty())?;
        let p = Procedure::LongPoll;
        let path = format!("{}?{}", p.path(), read_query::format(&[alias]));
        let mut spec = self.spec(p, Method::GET, path, None);
        spec.timeout = timeout.as_duration() + self.inner.config.request_timeout;
        spec.headers
            .push((ACCEPT, HeaderValue::from_static(header::content_type::FORM)));
        spec.headers.push((
            header::REQUEST_TIMEOUT_NAME,
            HeaderValue::from(timeout.as_millis()),
        ));
        if let Some(since) = since {
            spec.headers
                .push((http::header::IF_MODIFIED_SINCE, HeaderValue::from(since)));
        }
        let resp = self.call_raw(spec).await?;
        match resp.status {
            304 | 204 => Ok(PollOutcome::NotModified),
            200 => {
                let form = parse_form(&resp)?;
                let value =
                    form.get(alias)
                        .map(str::to_string)
                        .ok_or_else(|| Error::BadResponse {
                            procedure: p,
                            reason: format!("long poll answer does not contain alias {alias:?}"),
                        })?;
                let last_modified = resp
                    .header(http::header::LAST_MODIFIED.as_str())
                    .and_then(|v| gwe_device_api::time::parse_http_time(v).ok());
                Ok(PollOutcome::Updated {
                    value,
                    last_modified,
                })
            }
            _ => Err(status_error(&resp)),
        }
    }

    /// Records historical points; 409 is [`Error::RecordConflict`].
    pub async fn record(&self, body: &RecordBody) -> Result<(), Error> {
        let p = Procedure::Record;
        let resp = self
            .call_raw(self.form_spec(p, p.path().into(), body.format()))
            .await?;
        record_result(resp)
    }

    /// The legacy record form: points of one alias to `/onep:v1/stack/alias/<alias>`.
    pub async fn record_legacy(&self, alias: &str, points: &[(i64, String)]) -> Result<(), Error> {
        let p = Procedure::RecordLegacy;
        let body = RecordBody::format_legacy_points(points);
        let resp = self
            .call_raw(self.form_spec(p, record::legacy_path(alias), body))
            .await?;
        record_result(resp)
    }

    /// Lists the content ids available to the device (204 gives an empty list).
    pub async fn list_content(&self) -> Result<Vec<String>, Error> {
        let p = Procedure::ListContent;
        let q = self.download_query(None, false);
        let resp = expect_success(self.call_raw(self.spec(p, Method::GET, q, None)).await?)?;
        Ok(content::parse_list(&resp.text()))
    }

    /// Information about one content item.
    pub async fn content_info(&self, id: &str) -> Result<ContentInfo, Error> {
        let p = Procedure::ContentInfo;
        let q = self.download_query(Some(id), true);
        let resp = expect_success(self.call_raw(self.spec(p, Method::GET, q, None)).await?)?;
        ContentInfo::parse(&resp.text()).map_err(|e| Error::BadResponse {
            procedure: p,
            reason: e.to_string(),
        })
    }

    /// The server's unix time in seconds.
    pub async fn timestamp(&self) -> Result<u64, Error> {
        let p = Procedure::Timestamp;
        let resp = expect_success(
            self.call_raw(self.spec(p, Method::GET, p.path().into(), None))
                .await?,
        )?;
        let text = resp.text();
        let t = text.trim();
        let int = t.split('.').next().unwrap_or("");
        int.parse::<u64>().map_err(|_| Error::BadResponse {
            procedure: p,
            reason: format!("timestamp {:?} is not a number", truncate(t)),
        })
    }

    /// Sends a call and returns the server's answer whatever its status (the
    /// original's response handler: check [`Response::success`]). Errors are
    /// transport failures only. Retries as [`crate::RetryPolicy`] says.
    pub async fn call(&self, call: Call) -> Result<Response, Error> {
        let spec = match call {
            Call::Activate(req) => self.form_spec(
                Procedure::Activate,
                Procedure::Activate.path().into(),
                req.encode(),
            ),
            Call::Write(form) => self.form_spec(
                Procedure::Write,
                Procedure::Write.path().into(),
                form.encode(),
            ),
            Call::Read(aliases) => {
                let path = format!(
                    "{}?{}",
                    Procedure::Read.path(),
                    read_query::format(&aliases)
                );
                let mut s = self.spec(Procedure::Read, Method::GET, path, None);
                s.headers
                    .push((ACCEPT, HeaderValue::from_static(header::content_type::FORM)));
                s
            }
            Call::WriteRead { writes, reads } => {
                let path = format!(
                    "{}?{}",
                    Procedure::WriteRead.path(),
                    read_query::format(&reads)
                );
                self.form_spec(Procedure::WriteRead, path, writes.encode())
            }
            Call::Record(body) => self.form_spec(
                Procedure::Record,
                Procedure::Record.path().into(),
                body.format(),
            ),
            Call::ListContent => self.spec(
                Procedure::ListContent,
                Method::GET,
                self.download_query(None, false),
                None,
            ),
            Call::ContentInfo(id) => self.spec(
                Procedure::ContentInfo,
                Method::GET,
                self.download_query(Some(&id), true),
                None,
            ),
            Call::Timestamp => self.spec(
                Procedure::Timestamp,
                Method::GET,
                Procedure::Timestamp.path().into(),
                None,
            ),
        };
        self.call_raw(spec).await
    }

    // ----- plumbing -----------------------------------------------------------------

    pub(crate) fn download_query(&self, id: Option<&str>, info: bool) -> String {
        let c = &self.inner.config;
        let q = DownloadQuery {
            vendor: c.vendor.clone(),
            model: c.model.clone(),
            id: id.map(str::to_string),
            info,
        };
        let q = q.format();
        if q.is_empty() {
            gwe_device_api::paths::DOWNLOAD.to_string()
        } else {
            format!("{}?{q}", gwe_device_api::paths::DOWNLOAD)
        }
    }

    pub(crate) fn spec(
        &self,
        procedure: Procedure,
        method: Method,
        path_and_query: String,
        body: Option<Bytes>,
    ) -> Spec {
        Spec {
            procedure,
            method,
            path_and_query,
            body,
            headers: Vec::new(),
            timeout: self.inner.config.request_timeout,
        }
    }

    fn form_spec(&self, procedure: Procedure, path: String, body: String) -> Spec {
        let mut s = self.spec(procedure, Method::POST, path, Some(Bytes::from(body)));
        s.headers.push((
            CONTENT_TYPE,
            HeaderValue::from_static(header::content_type::FORM),
        ));
        s
    }

    /// Builds the hyper request of `spec`.
    pub(crate) fn build(&self, spec: &Spec) -> Result<Request<Full<Bytes>>, Error> {
        let uri = format!("{}{}", self.inner.base.prefix, spec.path_and_query);
        let mut builder = Request::builder()
            .method(spec.method.clone())
            .uri(uri)
            .header(USER_AGENT, self.inner.user_agent.clone());
        if spec.procedure.needs_cik() {
            let cik = self.cik().ok_or(Error::NoCik {
                procedure: spec.procedure,
            })?;
            let value = HeaderValue::from_str(&cik).map_err(|_| {
                Error::Config("the CIK contains characters not allowed in a header".into())
            })?;
            builder = builder.header(header::X_EXOSITE_CIK_NAME, value);
        }
        for (k, v) in &spec.headers {
            builder = builder.header(k, v);
        }
        builder
            .body(Full::new(spec.body.clone().unwrap_or_default()))
            .map_err(|e| {
                Error::Config(format!("cannot build request {}: {e}", spec.path_and_query))
            })
    }

    /// Sends with retries; returns the response whatever its status.
    pub(crate) async fn call_raw(&self, spec: Spec) -> Result<Response, Error> {
        let retry = &self.inner.config.retry;
        let mut attempt = 1;
        loop {
            let result = self.attempt(&spec).await;
            let again = attempt < retry.max_attempts
                && match &result {
                    Ok(r) => r.status >= 500 && spec.procedure.is_idempotent(),
                    Err(e) => may_resend(e, spec.procedure),
                };
            if !again {
                return result;
            }
            match &result {
                Ok(r) => tracing::debug!(
                    "{}: HTTP {}, retrying (attempt {attempt})",
                    spec.procedure,
                    r.status
                ),
                Err(e) => tracing::debug!("{e}; retrying (attempt {attempt})"),
            }
            tokio::time::sleep(retry.delay(attempt)).await;
            attempt += 1;
        }
    }

    /// One request on the wire, audited.
    async fn attempt(&self, spec: &Spec) -> Result<Response, Error> {
        let started = Instant::now();
        let ts_ms = now_ms();
        let (result, wire) = self.attempt_inner(spec).await;
        let (status, error) = match &result {
            Ok(r) => (Some(r.status), None),
            Err(e) => (e.status(), Some(e.to_string())),
        };
        self.audit(spec, ts_ms, started, status, wire, error);
        result
    }

    pub(crate) fn audit(
        &self,
        spec: &Spec,
        ts_ms: i64,
        started: Instant,
        status: Option<u16>,
        wire: WireBytes,
        error: Option<String>,
    ) {
        self.inner.audit.record(AuditRecord {
            ts_ms,
            agent: self.inner.config.agent.clone(),
            pid: self.inner.pid,
            procedure: spec.procedure.name().to_string(),
            method: spec.method.as_str().to_string(),
            path: sanitize_path(&spec.path_and_query),
            status,
            bytes_sent: wire.sent,
            bytes_received: wire.received,
            duration_us: started.elapsed().as_micros() as u64,
            error,
        });
    }

    /// Sends `spec` and waits for the response head, within `deadline`. Returns the
    /// response and its connection's counter (with the exchange number).
    pub(crate) async fn send_head(
        &self,
        spec: &Spec,
        deadline: tokio::time::Instant,
    ) -> Result<(http::response::Parts, Incoming, Option<CounterHandle>), (Error, WireBytes)> {
        let req = self.build(spec).map_err(|e| (e, WireBytes::default()))?;
        let p = spec.procedure;
        match tokio::time::timeout_at(deadline, self.inner.http.request(req)).await {
            Err(_) => Err((
                Error::Timeout {
                    procedure: p,
                    after: spec.timeout,
                },
                WireBytes::default(),
            )),
            Ok(Err(e)) => {
                let mut wire = WireBytes::default();
                if let Some(info) = e.connect_info() {
                    let mut ext = http::Extensions::new();
                    info.get_extras(&mut ext);
                    // The exchange that failed is the one in progress now.
                    if let Some(c) = ext.remove::<CounterHandle>() {
                        wire = c.finish();
                    }
                }
                let not_sent = e.is_connect();
                let err = Error::Network {
                    procedure: p,
                    server: self.inner.base.server.clone(),
                    message: chain(&e),
                    not_sent,
                };
                Err((err, wire))
            }
            Ok(Ok(mut res)) => {
                // Moved out, not cloned: a clone would take a new exchange number.
                let counter = res.extensions_mut().remove::<CounterHandle>();
                let (parts, body) = res.into_parts();
                Ok((parts, body, counter))
            }
        }
    }

    async fn attempt_inner(&self, spec: &Spec) -> (Result<Response, Error>, WireBytes) {
        let p = spec.procedure;
        let deadline = tokio::time::Instant::now() + spec.timeout;
        let (parts, mut body, counter) = match self.send_head(spec, deadline).await {
            Ok(x) => x,
            Err((e, wire)) => return (Err(e), wire),
        };
        let max = self.inner.config.max_body;
        let mut buf = BytesMut::new();
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Error::Network {
                    procedure: p,
                    server: self.inner.base.server.clone(),
                    message: format!("reading the response body: {}", chain(&e)),
                    not_sent: false,
                })?;
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > max {
                        return Err(Error::BadResponse {
                            procedure: p,
                            reason: format!("response body larger than {max} bytes"),
                        });
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Ok(())
        };
        let result = match tokio::time::timeout_at(deadline, read).await {
            Err(_) => Err(Error::Timeout {
                procedure: p,
                after: spec.timeout,
            }),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => {
                let status = parts.status.as_u16();
                Ok(Response {
                    procedure: p,
                    status,
                    headers: parts.headers,
                    body: buf.freeze(),
                })
            }
        };
        drop(body);
        let wire = counter.map(|c| c.finish()).unwrap_or_default();
        (result, wire)
    }
}

/// A call for [`DeviceClient::call`] (downloads and long polls have their own methods).
#[derive(Debug, Clone)]
pub enum Call {
    /// Activation.
    Activate(ActivateRequest),
    /// Write.
    Write(Form),
    /// Read of these aliases.
    Read(Vec<String>),
    /// Hybrid write/read.
    WriteRead {
        /// Written first.
        writes: Form,
        /// Then read.
        reads: Vec<String>,
    },
    /// Historical record.
    Record(RecordBody),
    /// Content list.
    ListContent,
    /// Content info.
    ContentInfo(String),
    /// Server time.
    Timestamp,
}

/// May a failed attempt be sent again? Always when it provably did not go out;
/// otherwise only for idempotent procedures.
pub(crate) fn may_resend(e: &Error, p: Procedure) -> bool {
    match e {
        Error::Network { not_sent: true, .. } => true,
        Error::Network { .. } | Error::Timeout { .. } => p.is_idempotent(),
        _ => false,
    }
}

/// Rejects calls that name no alias (they would make a meaningless request).
fn require(named_some: bool) -> Result<(), Error> {
    if named_some {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            gwe_device_api::WireError::MissingField("alias"),
        ))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(512).collect()
}

pub(crate) fn status_error(resp: &Response) -> Error {
    if resp.status == 401 {
        return Error::NeedsActivation {
            procedure: resp.procedure,
        };
    }
    Error::Status {
        procedure: resp.procedure,
        status: resp.status,
        body: truncate(resp.text().trim()),
    }
}

fn expect_success(resp: Response) -> Result<Response, Error> {
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(status_error(&resp))
    }
}

fn parse_form(resp: &Response) -> Result<Form, Error> {
    resp.form().map_err(|e| Error::BadResponse {
        procedure: resp.procedure,
        reason: e.to_string(),
    })
}

fn record_result(resp: Response) -> Result<(), Error> {
    if resp.status == 409 {
        let conflicts = record::parse_conflicts(resp.text().trim()).unwrap_or_default();
        return Err(Error::RecordConflict { conflicts });
    }
    expect_success(resp).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let (b, https) = parse_base("https://p1.m2.exosite.io/").unwrap();
        assert!(https);
        assert_eq!(b.prefix, "https://p1.m2.exosite.io");
        let (b, https) = parse_base("127.0.0.1:80").unwrap();
        assert!(!https);
        assert_eq!(b.server, "http://127.0.0.1:80");
        assert!(parse_base("192.168.10.242:443").unwrap().1);
        let (b, _) = parse_base("http://[::1]:8080/api/").unwrap();
        assert_eq!(b.prefix, "http://[::1]:8080/api");
        for bad in ["", "ftp://x", "http://", "http://x/?a=1", "http://exa mple"] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resend_rules() {
        let net = |not_sent| Error::Network {
            procedure: Procedure::Write,
            server: String::new(),
            message: String::new(),
            not_sent,
        };
        assert!(may_resend(&net(true), Procedure::Write));
        assert!(!may_resend(&net(false), Procedure::Write));
        assert!(may_resend(&net(false), Procedure::Read));
        let timeout = Error::Timeout {
            procedure: Procedure::Record,
            after: Duration::ZERO,
        };
        assert!(!may_resend(&timeout, Procedure::Record));
        assert!(may_resend(&timeout, Procedure::Download));
        assert!(!may_resend(
            &Error::NeedsActivation {
                procedure: Procedure::Read
            },
            Procedure::Read
        ));
    }
}
