//! The operator API: JSON under `/api/v1`, bearer-token protected (see `openapi.yaml`).

use axum::body::Body;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{HubError, HubResult};
use crate::handlers::read_body;
use crate::state::AppState;
use crate::store::DeviceRef;

pub mod content;
pub mod devices;
pub mod products;
pub mod resources;
pub mod stats;
pub mod values;

/// Parses a JSON request body (bounded like every body).
pub async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> HubResult<T> {
    let bytes = read_body(headers, body, state.config.max_body_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| HubError::BadRequest(format!("JSON body: {e}")))
}

/// The device `sn` of `product`, or 404.
pub async fn device(state: &AppState, product: &str, sn: &str) -> HubResult<DeviceRef> {
    state
        .store
        .device_by_sn(product.to_string(), sn.to_string())
        .await?
        .ok_or_else(|| HubError::NotFound(format!("device '{sn}' not found in '{product}'")))
}

/// Checks a name used as a product id, serial, alias or content id: non-empty, bounded,
/// no control characters.
pub fn check_name(what: &str, name: &str) -> HubResult<()> {
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(HubError::BadRequest(format!(
            "{what} must be 1-256 characters without control characters"
        )));
    }
    Ok(())
}
