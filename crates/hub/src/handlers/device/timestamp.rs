//! `GET /timestamp`: the server's unix time in seconds, no CIK.

use axum::response::Response;

use crate::handlers::text_response;

/// Answers the current unix time.
pub async fn get() -> Response {
    text_response(crate::clock::unix_now().to_string())
}
