//! Request handlers, grouped by API: [`device`] speaks the Device API, [`operator`] the JSON
//! operator API. Shared body and header helpers live here.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gwe_device_api::header::content_type;
use gwe_device_api::WireError;
use http_body_util::BodyExt;

use crate::error::{HubError, HubResult};

pub mod device;
pub mod operator;

impl From<WireError> for HubError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::RangeNotSatisfiable { total } => HubError::RangeNotSatisfiable { total },
            other => HubError::BadRequest(other.to_string()),
        }
    }
}

/// Reads a whole body of at most `limit` bytes (413 beyond, checked before reading when
/// `Content-Length` says so).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> HubResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HubError::PayloadTooLarge(limit as u64));
    }
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(HubError::PayloadTooLarge(limit as u64))
        }
        Err(e) => Err(HubError::BadRequest(format!("reading the body: {e}"))),
    }
}

/// Accepts `application/x-www-form-urlencoded` with or without parameters, or no
/// `Content-Type` at all (lenient, like the docs' curl examples); anything else is 415.
pub fn require_form(headers: &HeaderMap) -> HubResult<()> {
    match headers.get(header::CONTENT_TYPE) {
        None => Ok(()),
        Some(v) => match v.to_str() {
            Ok(s) if content_type::is_form(s) => Ok(()),
            _ => Err(HubError::UnsupportedMediaType(format!(
                "{:?}; expected {}",
                String::from_utf8_lossy(v.as_bytes()),
                content_type::FORM
            ))),
        },
    }
}

/// 200 with a form body.
pub fn form_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type::FORM),
        )],
        body,
    )
        .into_response()
}

/// 200 with a `text/plain; charset=utf-8` body.
pub fn text_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type::TEXT_PLAIN),
        )],
        body,
    )
        .into_response()
}

/// The request's `Host` header.
pub fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}
