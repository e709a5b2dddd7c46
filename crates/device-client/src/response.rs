//! The response handler: what a call returned, whatever the status.

use std::borrow::Cow;

use bytes::Bytes;
use gwe_device_api::{Form, Procedure, WireError};
use http::HeaderMap;

/// A server answer, as the original library's response handlers exposed it:
/// `success`, status and body, plus the parsed form for data calls.
#[derive(Debug, Clone)]
pub struct Response {
    /// The call.
    pub procedure: Procedure,
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
}

impl Response {
    /// True for 2xx (and 304 for long polls, where it means "nothing new").
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
            || (self.procedure == Procedure::LongPoll && self.status == 304)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body as a form (`a=1&b=2`), strictly decoded; empty for an empty body.
    pub fn form(&self) -> Result<Form, WireError> {
        Form::decode_bytes(&self.body)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.text();
        let body: String = body.chars().take(200).collect();
        write!(f, "{} -> {} {}", self.procedure, self.status, body)
    }
}
