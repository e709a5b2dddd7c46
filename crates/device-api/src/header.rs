//! Header names and content types used by the protocol.
//!
//! `&str` constants are lower case so they also work with `HeaderName::from_static`;
//! the `*_NAME` constants are ready-made [`http::HeaderName`]s.

use http::HeaderName;

/// The device's key (CIK / token).
pub const X_EXOSITE_CIK: &str = "x-exosite-cik";
/// GMQ's identity header `<vendor> <model> <sn>`.
pub const X_EXOSITE_VMS: &str = "x-exosite-vms";
/// Long poll timeout in milliseconds.
pub const REQUEST_TIMEOUT: &str = "request-timeout";

/// [`X_EXOSITE_CIK`] as a header name.
pub const X_EXOSITE_CIK_NAME: HeaderName = HeaderName::from_static(X_EXOSITE_CIK);
/// [`X_EXOSITE_VMS`] as a header name.
pub const X_EXOSITE_VMS_NAME: HeaderName = HeaderName::from_static(X_EXOSITE_VMS);
/// [`REQUEST_TIMEOUT`] as a header name.
pub const REQUEST_TIMEOUT_NAME: HeaderName = HeaderName::from_static(REQUEST_TIMEOUT);

/// Content types.
pub mod content_type {
    /// Bodies of data calls and read responses.
    pub const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
    /// The form type as curl sends it (no charset); servers accept both.
    pub const FORM_BARE: &str = "application/x-www-form-urlencoded";
    /// Activation and timestamp responses.
    pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
    /// Content list and content info responses.
    pub const TEXT_CSV: &str = "text/csv; charset=utf-8";

    /// True for `application/x-www-form-urlencoded` with or without parameters
    /// (case-insensitive), i.e. what a server must accept on data calls.
    pub fn is_form(value: &str) -> bool {
        let essence = value.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case(FORM_BARE)
    }
}

#[cfg(test)]
mod tests {
    use super::content_type::is_form;

    #[test]
    fn form_content_type_is_recognised_with_and_without_charset() {
        assert!(is_form("application/x-www-form-urlencoded"));
        assert!(is_form("application/x-www-form-urlencoded; charset=utf-8"));
        assert!(is_form("Application/X-WWW-Form-Urlencoded;charset=UTF-8"));
        assert!(!is_form("application/json"));
        assert!(!is_form(""));
        assert!(!is_form("application/x-www-form-urlencodedx"));
    }
}
