//! The one error type of every parser in this crate.

/// Why a piece of wire input was rejected. A hub answers these with 400 (or 416 for
/// [`WireError::RangeNotSatisfiable`]); a client reports them as a bad server response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A `%` not followed by two hex digits.
    #[error("malformed percent escape at byte {offset} of form data")]
    BadPercentEscape {
        /// Byte offset of the `%` in the input.
        offset: usize,
    },
    /// Decoded bytes are not UTF-8.
    #[error("form data is not valid UTF-8 after percent-decoding (in {what})")]
    BadUtf8 {
        /// Which part: "name" or "value".
        what: &'static str,
    },
    /// A required field is missing or empty.
    #[error("missing or empty field `{0}`")]
    MissingField(&'static str),
    /// A field has a value that cannot be understood.
    #[error("invalid {field}: {value:?}")]
    InvalidField {
        /// The field / header / part being parsed.
        field: &'static str,
        /// The offending text (truncated to 64 characters).
        value: String,
    },
    /// A `Range` header that is syntactically invalid (a server ignores it and sends 200).
    #[error("invalid Range header: {0:?}")]
    BadRange(String),
    /// A `Range` with more than one range; this API serves single ranges only.
    #[error("multiple byte ranges are not supported")]
    MultipleRanges,
    /// A valid range that lies outside the content (a server answers 416).
    #[error("range not satisfiable for a {total}-byte content")]
    RangeNotSatisfiable {
        /// Size of the content.
        total: u64,
    },
    /// `Request-Timeout` above [`crate::timeout::MAX_REQUEST_TIMEOUT_MS`].
    #[error("Request-Timeout {0} ms exceeds the maximum of 300000 ms")]
    RequestTimeoutTooLong(u64),
}

impl WireError {
    /// Builds an [`WireError::InvalidField`], truncating the echoed value so hostile
    /// input cannot blow up logs or error bodies.
    pub fn invalid(field: &'static str, value: &str) -> Self {
        let value: String = value.chars().take(64).collect();
        WireError::InvalidField { field, value }
    }
}
