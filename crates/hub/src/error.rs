//! One error type for every handler, mapped to an HTTP response in one place.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// Everything a request can fail with. Handlers return `Result<_, HubError>` and use `?`;
/// [`IntoResponse`] picks the status code, so the mapping lives here only.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Malformed request (form body, query, header, range syntax, spec YAML ...).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Missing or unknown device token (`X-Exosite-CIK`): the device must re-activate.
    #[error("missing or invalid CIK")]
    InvalidCik,
    /// Missing or wrong operator bearer token.
    #[error("missing or invalid operator token")]
    Unauthorized,
    /// The caller is known but may not do this (e.g. vendor/model of another product).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Something named in the request does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with the current state (already exists, not enabled).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A record call with two timestamps of one alias under 1 s apart; the body is the
    /// form-encoded list of conflicting `alias=timestamp` pairs, sent verbatim.
    #[error("{0}")]
    RecordConflict(String),
    /// Body larger than the configured bound.
    #[error("request body too large (limit {0} bytes)")]
    PayloadTooLarge(u64),
    /// A `Range` that cannot be satisfied by a blob of `total` bytes.
    #[error("range not satisfiable (size {total})")]
    RangeNotSatisfiable {
        /// Size of the blob, sent back as `Content-Range: bytes */total`.
        total: u64,
    },
    /// The request's `Content-Type` is not one this procedure accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// Blob file handling failed.
    #[error("content file {path}: {source}")]
    Blob {
        /// The file being handled.
        path: std::path::PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => HubError::NotFound(what),
            StoreError::Conflict(what) => HubError::Conflict(what),
            other => HubError::Store(other),
        }
    }
}

impl HubError {
    /// The status code this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            HubError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HubError::InvalidCik | HubError::Unauthorized => StatusCode::UNAUTHORIZED,
            HubError::Forbidden(_) => StatusCode::FORBIDDEN,
            HubError::NotFound(_) => StatusCode::NOT_FOUND,
            HubError::Conflict(_) | HubError::RecordConflict(_) => StatusCode::CONFLICT,
            HubError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            HubError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HubError::Store(_) | HubError::Blob { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request rejected");
        }
        let body = match &self {
            // The Device API's 409 body is the list of conflicting pairs, nothing else.
            HubError::RecordConflict(pairs) => pairs.clone(),
            HubError::Store(_) | HubError::Blob { .. } => "internal server error\n".to_string(),
            other => format!("{other}\n"),
        };
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response();
        if let HubError::RangeNotSatisfiable { total } = self {
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{total}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
        if matches!(self, HubError::Unauthorized) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// Shorthand for handler results.
pub type HubResult<T> = Result<T, HubError>;
