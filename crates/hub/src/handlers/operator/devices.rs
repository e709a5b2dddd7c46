//! Device identities: `GET/POST /api/v1/products/{product}/devices`,
//! `POST /api/v1/products/{product}/devices/{sn}/enable`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::{check_name, json_body};
use crate::auth::Operator;
use crate::error::HubResult;
use crate::state::AppState;
use crate::store::Device;

/// Body of an identity creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// Serial number (Murano: identity id).
    pub sn: String,
}

/// Lists the identities of a product, with activation state and last-seen time.
pub async fn list(
    _: Operator,
    State(state): State<AppState>,
    Path(product): Path<String>,
) -> HubResult<Json<Vec<Device>>> {
    let mut devices = state.store.list_devices(product).await?;
    // Merge last-seen times not yet flushed to the store.
    for d in &mut devices {
        if let Some(t) = state.pending_seen(d.id) {
            d.last_seen = Some(d.last_seen.map_or(t, |s| s.max(t)));
        }
    }
    Ok(Json(devices))
}

/// Adds an identity enabled for activation (201); 404 product, 409 if present.
pub async fn add(
    _: Operator,
    State(state): State<AppState>,
    Path(product): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<(StatusCode, Json<Device>)> {
    let req: AddDevice = json_body(&state, &headers, body).await?;
    check_name("sn", &req.sn)?;
    let device = state.store.add_device(product, req.sn).await?;
    Ok((StatusCode::CREATED, Json(device)))
}

/// Enables an identity for activation again; its current token stops working.
pub async fn enable(
    _: Operator,
    State(state): State<AppState>,
    Path((product, sn)): Path<(String, String)>,
) -> HubResult<Json<Device>> {
    let device = state
        .store
        .enable_device(product.clone(), sn.clone())
        .await?;
    state.forget_device_tokens(&product, &sn);
    Ok(Json(device))
}
